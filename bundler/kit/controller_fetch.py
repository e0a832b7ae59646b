"""`bundler fetch-controller`: the controller wheelhouse, made by the kit's fetch pipeline.

Kept apart from `bundler.kit.controller` (the policy and `ControllerInfo`, which pack, verify
and inspect read) because it imports the whole fetch pipeline (requests, resolvelib, jinja2, the
audit), which only this command needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bundler.kit.controller import ControllerPolicy, policy
from bundler.models.target import Target
from bundler.net.settings import NetworkSettings
from bundler.wheelhouse import fetch as fetch_mod


def fetch_wheelhouse(
    output: Path,
    target: Target,
    *,
    index_urls: Sequence[str],
    find_links: Sequence[str] = (),
    cache_dir: Path | None = None,
    offline: bool = False,
    jobs: int = 8,
    timeout: float = 30.0,
    retries: int = 3,
    on_step: fetch_mod.StepCallback | None = None,
    rules: ControllerPolicy | None = None,
    build_python: Path | None = None,
) -> fetch_mod.FetchResult:
    """Fetch the controller wheelhouse into `output` with the kit's fetch pipeline.

    The requirements of `rules` (default: the main policy, ansible-core 2.16; the bootstrap
    policy: ansible-core 2.11) for `target` (from `controller_target`), audited for CentOS 7
    (the controller may be one). `build_python` (a CPython of the target's X.Y) builds the
    projects published as sdists only (ansible-core 2.11) for the target (`--build-pure`
    machinery); None builds nothing. Staged and swapped like every fetch: `output` changes only
    when the whole fetch succeeded. Raises what `bundler.wheelhouse.fetch.fetch` raises.
    """
    rules = rules or policy()
    options = fetch_mod.FetchOptions(
        target=target,
        requirements=tuple(rules.requirement_texts()),
        output=output,
        index_urls=tuple(index_urls),
        find_links=tuple(find_links),
        cache_dir=cache_dir,
        network=NetworkSettings(offline=offline, jobs=jobs, timeout=timeout, retries=retries),
        audit=True,
        distro="centos7",
        build_pure=build_python is not None,
        build_python=build_python,
        on_step=on_step,
    )
    return fetch_mod.fetch(options)
