"""The target model: versions, platform ceilings, tags (checked against real pips), markers."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from packaging.markers import Marker

from bundler.errors import UnknownTarget
from bundler.models.target import Target
from tests.conftest import require_python

PIP18_TAGS = (
    "from pip._internal import pep425tags\nfor t in pep425tags.get_supported(): print('-'.join(t))"
)
MODERN_PIP_TAGS = (
    "from pip._internal.utils.compatibility_tags import get_supported\n"
    "for t in get_supported(): print(t)"
)


def host_glibc_minor() -> int:
    out = subprocess.run(["ldd", "--version"], capture_output=True, text=True).stdout
    return int(out.splitlines()[0].rsplit(".", 1)[1])


def test_minor_version_means_newest_patch_and_says_so() -> None:
    t = Target.from_spec("3.6", "manylinux1")
    assert t.python_version == "3.6.15"
    assert any("3.6.15" in note for note in t.notes)


def test_full_version_is_kept_exactly() -> None:
    t = Target.from_spec("3.6.10", "manylinux1")
    assert t.python_version == "3.6.10"
    assert t.notes == ()
    assert t.marker_environment()["python_full_version"] == "3.6.10"


@pytest.mark.parametrize("spec", ["3.5", "2.7", "3.6.99", "banana", "4.0", "3.6.1.2"])
def test_unknown_python_versions_are_refused(spec: str) -> None:
    with pytest.raises(UnknownTarget):
        Target.from_spec(spec, "manylinux1")


@pytest.mark.parametrize("spec", ["manylinux3000", "windows", "manylinux_2_4", "linux_sparc"])
def test_unknown_platforms_are_refused(spec: str) -> None:
    with pytest.raises(UnknownTarget):
        Target.from_spec("3.6", spec)


@pytest.mark.parametrize(
    ("version", "abi"), [("3.6", "cp36m"), ("3.7", "cp37m"), ("3.8", "cp38"), ("3.12", "cp312")]
)
def test_default_abi_follows_the_version(version: str, abi: str) -> None:
    assert Target.from_spec(version, "manylinux2014").abis == (abi,)


def test_manylinux2014_expands_to_every_older_level_in_order() -> None:
    t = Target.from_spec("3.6", "manylinux2014")
    assert t.platform == "manylinux2014_x86_64"
    assert t.glibc == (2, 17)
    plats = list(t.platforms)
    assert plats[:2] == ["manylinux_2_17_x86_64", "manylinux2014_x86_64"]
    assert plats.index("manylinux2010_x86_64") < plats.index("manylinux1_x86_64")
    assert plats[-1] == "linux_x86_64"
    assert "manylinux_2_18_x86_64" not in plats


def test_pep600_ceiling_includes_legacy_aliases_below_it() -> None:
    t = Target.from_spec("3.11", "manylinux_2_28")
    assert t.platforms[0] == "manylinux_2_28_x86_64"
    assert {"manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"} <= set(t.platforms)


def test_abi3_and_none_are_accepted_and_ranked_after_the_specific_abi() -> None:
    t = Target.from_spec("3.6", "manylinux2014")
    specific = t.wheel_rank("x-1-cp36-cp36m-manylinux2014_x86_64.whl")
    abi3 = t.wheel_rank("x-1-cp36-abi3-manylinux2014_x86_64.whl")
    pure = t.wheel_rank("x-1-py3-none-any.whl")
    assert specific is not None and abi3 is not None and pure is not None
    assert specific < abi3 < pure
    assert t.wheel_rank("x-1-cp37-cp37m-manylinux2014_x86_64.whl") is None
    assert t.wheel_rank("x-1-cp36-cp36m-manylinux_2_28_x86_64.whl") is None
    assert t.wheel_rank("not-a-wheel.tar.gz") is None


def test_newer_manylinux_ranks_before_older_for_the_same_abi() -> None:
    t = Target.from_spec("3.6", "manylinux2014")
    new = t.wheel_rank("x-1-cp36-cp36m-manylinux2014_x86_64.whl")
    old = t.wheel_rank("x-1-cp36-cp36m-manylinux1_x86_64.whl")
    assert new is not None and old is not None and new < old


def test_bundled_pip_18_reads_only_manylinux1() -> None:
    t = Target.from_spec("3.6", "manylinux2014")
    assert t.installer_pip == "18.1"
    assert t.installer_reads("n-1-cp36-cp36m-manylinux1_x86_64.whl")
    assert t.installer_reads("n-1-cp36-cp36m-manylinux_2_5_x86_64.manylinux1_x86_64.whl")
    assert not t.installer_reads("n-1-cp36-cp36m-manylinux2010_x86_64.whl")
    assert not t.installer_reads("o-4.6-cp36-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")


def test_marker_environment_is_the_targets_not_the_hosts() -> None:
    t = Target.from_spec("3.6", "manylinux1")
    env = t.marker_environment()
    assert env["python_version"] == "3.6"
    assert env["sys_platform"] == "linux"
    assert env["platform_machine"] == "x86_64"
    # The host runs 3.10+; these markers must follow the target.
    assert t.evaluate(Marker('python_version < "3.8"'))
    assert not t.evaluate(Marker('python_version >= "3.7"'))
    assert t.evaluate(Marker('python_full_version >= "3.6.2"'))
    assert not t.evaluate(Marker('sys_platform == "win32"'))
    assert t.evaluate(Marker('implementation_name == "cpython" and os_name == "posix"'))
    assert t.evaluate(Marker('platform_system == "Linux"'))


def test_extras_markers_need_the_extra_requested() -> None:
    t = Target.from_spec("3.6", "manylinux1")
    marker = Marker('extra == "socks" and python_version < "3.7"')
    assert not t.evaluate(marker)
    assert t.evaluate(marker, frozenset({"socks"}))


def test_round_trip_through_dict() -> None:
    t = Target.from_spec("3.6", "manylinux2010")
    again = Target.from_dict(t.to_dict())
    assert again == t
    assert again.tags == t.tags


def test_installer_tags_equal_real_pip_18_1_on_python_3_6_15(python36: Path) -> None:
    """Our model of the target's bundled pip is exactly what pip 18.1 computes on 3.6.15."""
    real = subprocess.run(
        [str(python36), "-c", PIP18_TAGS], capture_output=True, text=True, check=True
    ).stdout.split()
    assert host_glibc_minor() >= 5  # pip 18.1 only claims manylinux1 on glibc >= 2.5 hosts
    t = Target.from_spec("3.6.15", "manylinux1")
    assert sorted(map(str, t.installer_tags)) == sorted(real)
    assert len(real) == 26


def test_tags_equal_real_modern_pip_in_order() -> None:
    """For a ceiling equal to this host's glibc, our tag list is pip's own, in the same order."""
    python311 = require_python("3.11.7")
    real = subprocess.run(
        [str(python311), "-c", MODERN_PIP_TAGS], capture_output=True, text=True, check=True
    ).stdout.split()
    t = Target.from_spec("3.11.7", f"manylinux_2_{host_glibc_minor()}")
    assert [str(tag) for tag in t.tags] == real


# -- target values are validated (policy: data/platforms.json) ---------------------------------


@pytest.mark.parametrize(
    ("python", "abi"),
    [
        ("3.6", "cp99"),
        ("3.6", "cp311"),  # another version's ABI
        ("3.6", "cp36t"),  # free-threading exists from 3.13 on
        ("3.8", "cp38m"),  # pymalloc flag dropped in 3.8
        ("3.6", "cp36mm"),
        ("3.6", "pp73"),  # another implementation
        ("3.6", "cp36x"),
    ],
)
def test_an_abi_must_belong_to_the_version_and_implementation(python: str, abi: str) -> None:
    with pytest.raises(UnknownTarget, match=f"ABI '{abi}' does not belong to CPython"):
        Target.from_spec(python, "manylinux1", abi=abi)


@pytest.mark.parametrize(
    ("python", "abi"),
    [("3.6", "cp36m"), ("3.6", "cp36dm"), ("3.6", "cp36"), ("3.8", "cp38d"), ("3.13", "cp313t"),
     ("3.6", "abi3"), ("3.11", "none")],
)  # fmt: skip
def test_abis_the_version_can_have_are_accepted(python: str, abi: str) -> None:
    assert Target.from_spec(python, "manylinux1", abi=abi).abis == (abi,)


def test_a_huge_pep600_level_fails_at_once() -> None:
    started = time.monotonic()
    with pytest.raises(UnknownTarget, match="above any plausible glibc"):
        Target.from_spec("3.6", "manylinux_2_99999999999999999999")
    with pytest.raises(UnknownTarget, match=r"up to manylinux_2_99\)"):
        Target.from_spec("3.6", "manylinux_2_100_x86_64")
    assert time.monotonic() - started < 1


def test_the_highest_plausible_level_is_accepted() -> None:
    target = Target.from_spec("3.6", "manylinux_2_99")
    assert target.platforms[0] == "manylinux_2_99_x86_64"
    assert target.platforms[-1] == "linux_x86_64"
