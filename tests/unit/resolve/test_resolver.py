"""bundler.resolve.resolver: the result graph, pin/yank rules, and resolution semantics over a local
find-links directory of real tiny wheels (no server; the HTTP cases are in
tests/integration/test_resolve_fakeindex.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from bundler.errors import NoMatchingVersion, NoWheelForTarget, RequirementError
from bundler.fs.cache import Cache
from bundler.index.client import Index
from bundler.models.link import DistFile
from bundler.models.metadata import Metadata
from bundler.models.target import Target
from bundler.resolve.explain import glibc_level
from bundler.resolve.model import Excluded, Pin, ProjectReq, Resolution
from bundler.resolve.provider import is_pure
from bundler.resolve.resolver import resolve
from tests.fakeindex import build_sdist, build_wheel

CP36 = Target.from_spec("3.6.15", "manylinux1")


def reqs(*lines: str) -> list[Requirement]:
    return [Requirement(x) for x in lines]


def local_index(tmp_path: Path) -> Index:
    return Index([], [str(tmp_path / "wheels")], Cache(tmp_path / "cache"))


def wheel(tmp_path: Path, name: str, version: str, **kwargs: object) -> Path:
    return build_wheel(tmp_path / "wheels", name, version, **kwargs)  # type: ignore[arg-type]


def versions(resolution: Resolution) -> dict[str, str]:
    return {name: str(pin.version) for name, pin in resolution.pins.items()}


# -- the result object ------------------------------------------------------------------------


def pin(name: str, *deps: str) -> Pin:
    file = DistFile(name, f"{name}-1.0-py3-none-any.whl", "file:///x", None, None, None, None,
                    None, None)  # fmt: skip
    meta = Metadata(name, Version("1.0"), (), None, None, None, None)
    return Pin(name, Version("1.0"), file, meta, frozenset(), tuple(sorted(deps)))


def test_resolution_graph_queries() -> None:
    res = Resolution(
        target=CP36,
        roots=tuple(reqs("app", "tool; python_version >= '3.8'")),
        pins={
            "app": pin("app", "lib", "util"),
            "lib": pin("lib", "core"),
            "util": pin("util", "core"),
            "core": pin("core"),
        },
    )
    assert res.edges() == [("app", "lib"), ("app", "util"), ("lib", "core"), ("util", "core")]
    assert res.via("core") == ["lib", "util"] and res.via("app") == []
    assert res.chain("core") == ["app", "lib", "core"]
    assert res.chain("App") == ["app"]
    assert res.root_names == ["app"]  # 'tool' does not apply to the target


@pytest.mark.parametrize(
    ("spec", "exact"),
    [("==1.0", True), ("===1.0", True), ("==1.*", False), (">=1.0", False), ("", False)],
)
def test_exact_pin(spec: str, exact: bool) -> None:
    assert ProjectReq("x", frozenset(), SpecifierSet(spec), "x").exact_pin is exact


def test_glibc_levels_and_purity() -> None:
    assert glibc_level("manylinux2014_x86_64") == (17, "manylinux2014")
    assert glibc_level("manylinux_2_28_x86_64") == (28, "manylinux_2_28")
    from packaging.tags import parse_tag

    assert is_pure(frozenset(parse_tag("py2.py3-none-any")))
    assert not is_pure(frozenset(parse_tag("py2-none-any")))
    assert not is_pure(frozenset(parse_tag("cp36-cp36m-linux_x86_64")))


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


# -- error version lists ----------------------------------------------------------------------


def test_no_wheel_lists_only_versions_the_specifier_admits(tmp_path: Path) -> None:
    """The issue's cases: `SQLAlchemy<2` listed 2.1.9; ansible-core on 3.6 listed 2.22.0rc1."""
    for version in ("1.3.24", "1.4.54", "2.1.9", "2.2.0b1"):
        wheel(tmp_path, "sa", version, tags="cp311-cp311-manylinux2014_x86_64")
    for version in ("2.11.12", "2.22.0rc1"):
        build_sdist(tmp_path / "wheels", "ac", version)
    index = local_index(tmp_path)
    with pytest.raises(NoWheelForTarget) as err:
        resolve(reqs("sa<2"), CP36, index)
    assert err.value.versions == ("1.4.54", "1.3.24")
    assert "2.1.9" not in str(err.value) and "2.2.0b1" not in str(err.value)
    with pytest.raises(NoWheelForTarget) as err:
        resolve(reqs("ac"), CP36, index)
    assert err.value.versions == ("2.11.12",) and "rc1" not in str(err.value)
    with pytest.raises(NoWheelForTarget) as err:  # asked for: shown
        resolve(reqs("ac>=2.22.0rc1"), CP36, index)
    assert err.value.versions == ("2.22.0rc1",)


def test_no_matching_version_lists_final_releases_unless_asked(tmp_path: Path) -> None:
    for version in ("1.0", "1.1", "3.0b1"):
        wheel(tmp_path, "lib", version)
    index = local_index(tmp_path)
    with pytest.raises(NoMatchingVersion) as err:
        resolve(reqs("lib==9"), CP36, index)
    assert err.value.versions == ("1.1", "1.0")
    assert str(err.value).endswith("; available: 1.1, 1.0")
    with pytest.raises(NoMatchingVersion) as err:
        resolve(reqs("lib==9.0b1"), CP36, index)
    assert err.value.versions == ("3.0b1", "1.1", "1.0")
