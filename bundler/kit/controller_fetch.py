"""`bundler fetch-controller`: the controller wheelhouse, made by the kit's fetch pipeline.

Kept apart from `bundler.kit.controller` (the policy and `ControllerInfo`, which pack, verify
and inspect read) because it imports the whole fetch pipeline (requests, resolvelib, jinja2, the
audit), which only this command needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bundler.kit.controller import policy
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
) -> fetch_mod.FetchResult:
    """Fetch the controller wheelhouse into `output` with the kit's fetch pipeline.

    The policy's requirements for `target` (from `controller_target`), audited for CentOS 7 (the
    controller may be one). Staged and swapped like every fetch: `output` changes only when the
    whole fetch succeeded. Raises what `bundler.wheelhouse.fetch.fetch` raises.
    """
    options = fetch_mod.FetchOptions(
        target=target,
        requirements=tuple(policy().requirement_texts()),
        output=output,
        index_urls=tuple(index_urls),
        find_links=tuple(find_links),
        cache_dir=cache_dir,
        network=NetworkSettings(offline=offline, jobs=jobs, timeout=timeout, retries=retries),
        audit=True,
        distro="centos7",
        on_step=on_step,
    )
    return fetch_mod.fetch(options)
