"""bundler.resolve.resolver: resolution semantics over a local find-links directory of real
tiny wheels (no server; the HTTP cases are in tests/integration/test_resolve_fakeindex.py)."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import pytest

from bundler.errors import MetadataMismatch, NoWheelForTarget, RequirementError
from bundler.fs.cache import Cache
from bundler.index.client import Index
from bundler.models.link import DistFile
from bundler.models.target import Target
from bundler.net.settings import NetworkSettings
from bundler.resolve.model import Excluded
from bundler.resolve.provider import Provider
from bundler.resolve.resolver import resolve
from tests.fakeindex import build_sdist, build_wheel
from tests.hostileindex import HostileIndex
from tests.unit.resolve.localindex import CP36, local_index, reqs, versions, wheel

# -- semantics --------------------------------------------------------------------------------


def test_markers_are_evaluated_for_the_target_not_the_host(tmp_path: Path) -> None:
    """The host runs Python 3.11; the target is 3.6.15: `python_version < '3.7'` must hold."""
    wheel(
        tmp_path,
        "app",
        "1.0",
        requires_dist=[
            "backport; python_version < '3.7'",
            "modern; python_version >= '3.8'",
            "fullver; python_full_version >= '3.6.10'",
            "linuxonly; sys_platform == 'linux' and platform_system == 'Linux'",
            "winonly; sys_platform == 'win32' or os_name == 'nt'",
            "armonly; platform_machine == 'aarch64'",
            "cpy; implementation_name == 'cpython' and platform_python_implementation == 'CPython'",
        ],
    )
    for name in ("backport", "modern", "fullver", "linuxonly", "winonly", "armonly", "cpy"):
        wheel(tmp_path, name, "1.0")
    got = resolve(reqs("app"), CP36, local_index(tmp_path))
    assert sorted(got.pins) == ["app", "backport", "cpy", "fullver", "linuxonly"]
    on_311 = resolve(reqs("app"), Target.from_spec("3.11", "manylinux2014"), local_index(tmp_path))
    assert sorted(on_311.pins) == ["app", "cpy", "fullver", "linuxonly", "modern"]
    arm = Target.from_spec("3.6.15", "manylinux2014_aarch64")
    assert "armonly" in resolve(reqs("app"), arm, local_index(tmp_path)).pins


def test_root_markers_use_the_target(tmp_path: Path) -> None:
    wheel(tmp_path, "a", "1.0")
    wheel(tmp_path, "b", "1.0")
    got = resolve(reqs("a; python_version < '3.7'", "b; python_version >= '3.7'"), CP36,
                  local_index(tmp_path))  # fmt: skip
    assert sorted(got.pins) == ["a"]


def test_python_full_version_is_the_targets(tmp_path: Path) -> None:
    """Requires-Python is checked against 3.6.15, not 3.6 (= 3.6.0 in pip's --python-version)."""
    wheel(tmp_path, "lib", "2.0", requires_python=">=3.6.16")
    wheel(tmp_path, "lib", "1.5", requires_python=">=3.6.10")
    wheel(tmp_path, "lib", "1.0")
    assert versions(resolve(reqs("lib"), CP36, local_index(tmp_path))) == {"lib": "1.5"}
    old = Target.from_spec("3.6.5", "manylinux1")
    assert versions(resolve(reqs("lib"), old, local_index(tmp_path))) == {"lib": "1.0"}


def test_prereleases_only_when_asked_or_alone(tmp_path: Path) -> None:
    wheel(tmp_path, "a", "1.0")
    wheel(tmp_path, "a", "2.0b1")
    wheel(tmp_path, "solo", "0.1a1")
    index = local_index(tmp_path)
    assert versions(resolve(reqs("a"), CP36, index)) == {"a": "1.0"}
    assert versions(resolve(reqs("a>=2.0b1"), CP36, index)) == {"a": "2.0b1"}
    assert versions(resolve(reqs("solo"), CP36, index)) == {"solo": "0.1a1"}


def test_extras_pull_their_dependencies_and_pin_the_same_version(tmp_path: Path) -> None:
    wheel(tmp_path, "web", "2.0", requires_dist=["fast; extra == 'speed'", "core"])
    wheel(tmp_path, "web", "1.0", requires_dist=["core"])
    wheel(tmp_path, "fast", "1.0")
    wheel(tmp_path, "core", "1.0")
    wheel(tmp_path, "app", "1.0", requires_dist=["web[speed]", "web<3"])
    got = resolve(reqs("app"), CP36, local_index(tmp_path))
    assert versions(got) == {"app": "1.0", "web": "2.0", "fast": "1.0", "core": "1.0"}
    assert got.pins["web"].extras == frozenset({"speed"})
    assert got.pins["web"].dependencies == ("core", "fast")
    plain = resolve(reqs("web"), CP36, local_index(tmp_path))
    assert sorted(plain.pins) == ["core", "web"] and plain.pins["web"].extras == frozenset()


def test_metadata_requires_python_backtracks(tmp_path: Path) -> None:
    """A find-links file advertises no Requires-Python: the wheel's own metadata decides."""
    wheel(tmp_path, "lib", "2.0", requires_python=">=3.7")
    wheel(tmp_path, "lib", "1.0", requires_python=">=3.6")
    assert versions(resolve(reqs("lib"), CP36, local_index(tmp_path))) == {"lib": "1.0"}


def test_metadata_requires_python_nothing_fits(tmp_path: Path) -> None:
    wheel(tmp_path, "lib", "2.0", requires_python=">=3.7")
    with pytest.raises(NoWheelForTarget, match=r"lib 2\.0 requires Python >=3\.7"):
        resolve(reqs("lib"), CP36, local_index(tmp_path))


def test_direct_url_requirements_are_refused(tmp_path: Path) -> None:
    with pytest.raises(RequirementError, match="direct URL"):
        resolve(reqs("x @ https://example.invalid/x.whl"), CP36, local_index(tmp_path))


def test_build_pure_with_a_simulated_builder(tmp_path: Path) -> None:
    """The builder is simulated (it writes a wheel with build_wheel instead of running a PEP 517
    build): what is tested is how resolve uses its result."""
    wheel(tmp_path, "app", "1.0", requires_dist=["puresrc"])
    build_sdist(tmp_path / "wheels", "puresrc", "1.0", requires_dist=["dep"])
    wheel(tmp_path, "dep", "1.0")
    built: list[str] = []

    def simulated_builder(sdist: DistFile) -> Path:
        built.append(sdist.filename)
        return build_wheel(tmp_path / "built", "puresrc", "1.0", requires_dist=["dep"])

    with pytest.raises(NoWheelForTarget, match="--build-pure"):
        resolve(reqs("app"), CP36, local_index(tmp_path))
    got = resolve(reqs("app"), CP36, local_index(tmp_path), build_pure=True,
                  builder=simulated_builder)  # fmt: skip
    pin = got.pins["puresrc"]
    assert pin.built_from == "puresrc-1.0.tar.gz" and built == ["puresrc-1.0.tar.gz"]
    assert pin.file.filename == "puresrc-1.0-py3-none-any.whl" and pin.file.url.startswith("file:")
    assert pin.dependencies == ("dep",) and "dep" in got.pins


def test_build_pure_refuses_compiled_results(tmp_path: Path) -> None:
    """Simulated builder returning a platform wheel, as building a C extension would."""
    build_sdist(tmp_path / "wheels", "speedy", "1.0", compiled=True)

    def simulated_builder(sdist: DistFile) -> Path:
        return build_wheel(tmp_path / "built", "speedy", "1.0", tags="cp36-cp36m-linux_x86_64")

    with pytest.raises(NoWheelForTarget, match="needs a compiler"):
        resolve(reqs("speedy"), CP36, local_index(tmp_path), build_pure=True,
                builder=simulated_builder)  # fmt: skip


# -- leaving projects out ---------------------------------------------------------------------


def test_exclude_drops_the_project_and_records_each_requirement(tmp_path: Path) -> None:
    wheel(tmp_path, "app", "1.0", requires_dist=["lib>=1", "native>=2; python_version < '3.7'"])
    wheel(tmp_path, "lib", "1.0", requires_dist=["native", "tiny"])
    wheel(tmp_path, "tiny", "1.0")
    index = local_index(tmp_path)  # no file of 'native' anywhere: it must never be looked up
    got = resolve(reqs("app", "native; python_version >= '3.8'"), CP36, index,
                  exclude=["Native"])  # fmt: skip
    assert sorted(got.pins) == ["app", "lib", "tiny"]
    assert [e.to_dict() for e in got.excluded] == [
        {"name": "native", "specifier": ">=2", "required_by": "app", "reason": "--exclude"},
        {"name": "native", "specifier": "", "required_by": "lib", "reason": "--exclude"},
    ]
    assert got.pins["lib"].dependencies == ("tiny",)
    root = resolve(reqs("app", "native==2"), CP36, index, exclude=["native"])
    assert Excluded("native", "==2", None, "--exclude") == root.excluded[0]
    assert len(root.excluded) == 3


def test_no_deps_resolves_only_the_roots(tmp_path: Path) -> None:
    wheel(tmp_path, "app", "1.0", requires_dist=["lib>=1", "tiny"])
    wheel(tmp_path, "lib", "1.0", requires_dist=["tiny"])
    wheel(tmp_path, "tiny", "1.0")
    got = resolve(reqs("app", "tiny"), CP36, local_index(tmp_path), no_deps=True)
    assert sorted(got.pins) == ["app", "tiny"]
    assert got.pins["app"].dependencies == ()
    assert [(e.name, e.specifier, e.required_by, e.reason) for e in got.excluded] == [
        ("lib", ">=1", "app", "--no-deps")  # tiny is installed: nothing to tolerate
    ]


# -- PEP 427 build tags -----------------------------------------------------------------------


def _with_build_tags(tmp_path: Path, tags: str, *builds: str) -> None:
    """Copies of one real wheel under `name-1.0-<build>-<tags>.whl` names in wheels/."""
    built = build_wheel(tmp_path / "src", "bt", "1.0", tags=tags)
    for build in builds:
        target = tmp_path / "wheels" / built.name.replace("-1.0-", f"-1.0-{build}-")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(built.read_bytes())


def test_the_highest_build_tag_wins_like_pip(tmp_path: Path) -> None:
    _with_build_tags(tmp_path, "py3-none-any", "1", "2", "10")
    wheel(tmp_path, "bt", "1.0")  # no build tag: the lowest of all
    chosen = resolve(reqs("bt"), CP36, local_index(tmp_path)).pins["bt"].file.filename
    assert chosen == "bt-1.0-10-py3-none-any.whl"


def test_build_2_beats_build_1(tmp_path: Path) -> None:
    _with_build_tags(tmp_path, "py3-none-any", "1", "2")
    chosen = resolve(reqs("bt"), CP36, local_index(tmp_path)).pins["bt"].file.filename
    assert chosen == "bt-1.0-2-py3-none-any.whl"


def test_a_better_tag_beats_a_higher_build_tag(tmp_path: Path) -> None:
    _with_build_tags(tmp_path, "py3-none-any", "7")
    _with_build_tags(tmp_path, "cp36-cp36m-manylinux1_x86_64", "1")
    chosen = resolve(reqs("bt"), CP36, local_index(tmp_path)).pins["bt"].file.filename
    assert chosen == "bt-1.0-1-cp36-cp36m-manylinux1_x86_64.whl"


# -- a PEP 658 lie behind a failure (review of #10/#18, defect 4) -----------------------------


def _hostile_index(hostile: HostileIndex, tmp_path: Path) -> Index:
    return Index([hostile.url], [], Cache(tmp_path / "cache"), settings=NetworkSettings(retries=0))


@pytest.mark.parametrize(
    ("mode", "said", "failure"),
    [
        ("pep658-extra", r"\['gamma'\]", r"no package named 'gamma' on .* \(required by alpha\)"),
        ("pep658-ver", r"\['beta<0\.5'\]", r"no version of beta matches beta<0\.5"),
    ],
)
def test_a_failure_caused_by_a_pep658_lie_names_the_lie_first(
    tmp_path: Path, mode: str, said: str, failure: str
) -> None:
    with HostileIndex(tmp_path / "hostile", mode=mode) as hostile:
        with pytest.raises(MetadataMismatch) as err:
            resolve(reqs("alpha"), CP36, _hostile_index(hostile, tmp_path))
        assert "/files/alpha-1.0-py3-none-any.whl" in hostile.requests  # the wheel was read
    message = str(err.value)
    assert re.match(
        r"alpha-1\.0-py3-none-any\.whl: the index's PEP 658 metadata \(http://\S+\.metadata\) "
        rf"disagrees with the wheel's own METADATA: Requires-Dist differs \(only here: {said}, "
        rf"only in the wheel: \[.*\]\); resolving with what it said failed: {failure}",
        message,
    ), message


def test_a_real_failure_with_honest_pep658_metadata_is_reported_as_it_is(tmp_path: Path) -> None:
    """The check does not invent a lie: alpha's .metadata is true, beta<0.5 really is missing."""
    with (
        HostileIndex(tmp_path / "hostile", mode="honest") as hostile,
        pytest.raises(RequirementError) as err,
    ):
        resolve(reqs("alpha", "beta<0.5"), CP36, _hostile_index(hostile, tmp_path))
    assert not isinstance(err.value, MetadataMismatch)
    assert "beta<0.5" in str(err.value) and "PEP 658" not in str(err.value)


# -- an interruption leaves no thread behind (issue #17: a SIGTERM'd fetch that never exited) -


def test_an_interruption_while_the_roots_are_prefetched_shuts_the_prefetch_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM (the CLI's `Terminated`, a KeyboardInterrupt) arriving while the roots' prefetch
    is submitted: the pool's worker already started must end. Before the fix the prefetch ran
    outside the `try` whose `finally` shuts the pool: the idle worker, a non-daemon thread,
    then kept `bundler fetch` from exiting (threading._shutdown joins it) for ever."""
    wheel(tmp_path, "a", "1.0")
    wheel(tmp_path, "b", "1.0")
    real = Provider.prefetch
    calls: list[str] = []

    def interrupted(self: Provider, name: str, specifier: Any = None) -> None:
        calls.append(name)
        if len(calls) > 1:
            raise KeyboardInterrupt  # the signal, after the first root started a worker
        real(self, name, specifier)

    monkeypatch.setattr(Provider, "prefetch", interrupted)
    before = set(threading.enumerate())
    with pytest.raises(KeyboardInterrupt):
        resolve(reqs("a", "b"), CP36, local_index(tmp_path))
    started = [t for t in set(threading.enumerate()) - before if t.name.startswith("prefetch")]
    for thread in started:
        thread.join(timeout=10)
    assert calls == ["a", "b"]
    assert [t.name for t in started if t.is_alive()] == []
