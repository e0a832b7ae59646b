"""bundler.resolve.explain: which error, and the versions it lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from bundler.errors import NoMatchingVersion, NoWheelForTarget
from bundler.resolve.explain import glibc_level
from bundler.resolve.resolver import resolve
from tests.fakeindex import build_sdist
from tests.unit.resolve.localindex import CP36, local_index, reqs, wheel


def test_glibc_levels() -> None:
    assert glibc_level("manylinux2014_x86_64") == (17, "manylinux2014")
    assert glibc_level("manylinux_2_28_x86_64") == (28, "manylinux_2_28")
    assert glibc_level("manylinux1_x86_64") == (5, "manylinux1")


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
