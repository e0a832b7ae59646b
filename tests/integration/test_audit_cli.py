"""`bundler audit` end to end through the CLI: tables, files written, exit codes 0/1/2.

Hermetic: the wheels are zips of ELF objects compiled with gcc in the session (stub libraries
give them the sonames and symbol versions wanted; see tests/unit/test_elf.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from bundler.cli import main
from bundler.models import manifest
from tests.unit.audit.test_elf import build_elf_fixtures, make_wheel

MANYLINUX1 = "cp36-cp36m-manylinux1_x86_64"
GUI = f"opencv_python-1.0-{MANYLINUX1}.whl"


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_elf_fixtures(tmp_path_factory.mktemp("elf-cli"))


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's default cache (platformdirs, XDG_CACHE_HOME) goes to this test's tmp_path."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


def test_default_cache_follows_xdg_cache_home(tmp_path: Path, mapped_house: Path) -> None:
    first = CliRunner().invoke(main, ["audit", str(mapped_house)])
    facts = list((tmp_path / "xdg-cache" / "airgap-kit" / "facts").rglob("*.json"))
    assert first.exit_code == 0 and len(facts) == 2
    again = CliRunner().invoke(main, ["audit", str(mapped_house), "--no-cache"])
    assert again.stdout == first.stdout


@pytest.fixture
def mapped_house(tmp_path: Path, built: dict[str, Path]) -> Path:
    """Every need maps to a package: an opencv-like wheel needing libSM.so.6, a pure wheel."""
    house = tmp_path / "wheelhouse"
    house.mkdir()
    make_wheel(house / GUI, {"cv2/gui.so": built["gui.so"]})
    make_wheel(house / "pure-1.0-py3-none-any.whl", {"pure/__init__.py": b""})
    return house


def test_all_mapped_exits_0_prints_tables_and_writes_files(mapped_house: Path) -> None:
    manifest.save(mapped_house, {"packages": []})
    result = CliRunner().invoke(main, ["audit", str(mapped_house), "--strict"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "for centos7: CentOS 7 (glibc 2.17, GCC 4.8.5)" in out
    assert f"{GUI}  libSM.so.6" in out  # wheel -> soname -> package table
    assert "(no system libraries)" in out  # the pure wheel
    assert f"libSM    {GUI}" in out  # package -> wheels table
    assert "(centos7 provides up to)" in out and "3.4.19" in out
    assert "system packages for centos7: libSM" in out
    assert "  Debian: libsm6" in out
    assert "note: opencv-python: opencv-python-headless needs none of libSM" in out
    assert 'and the "audit" section of manifest.json' in out
    assert result.stderr == ""
    doc = yaml.safe_load((mapped_house / "system-packages.yml").read_text())
    assert doc["system_packages"] == ["libSM"]
    assert manifest.load(mapped_house)["audit"]["system_packages"] == ["libSM"]


def test_unmapped_warns_exit_0_but_strict_exits_1(
    mapped_house: Path, built: dict[str, Path]
) -> None:
    make_wheel(mapped_house / f"demo-1.0-{MANYLINUX1}.whl", {"d/e.so": built["ext_runpath.so"]})
    lax = CliRunner().invoke(main, ["audit", str(mapped_house)])
    assert lax.exit_code == 0
    assert "warning: demo-1.0-" in lax.stderr and "libfoo.so.1" in lax.stderr
    assert "UNMAPPED" in lax.stdout
    assert "unmapped sonames: libbar.so.1 libfoo.so.1" in lax.stdout
    # ... and still installed on RedHat hosts, by capability (yum resolves them from the ISO)
    (line,) = [ln for ln in lax.stdout.splitlines() if ln.startswith("  RedHat, by RPM capab")]
    assert {"libbar.so.1()(64bit)", "libfoo.so.1()(64bit)"} <= set(line.split(": ")[1].split())

    strict = CliRunner().invoke(main, ["audit", str(mapped_house), "--strict"])
    assert strict.exit_code == 1
    assert "bundler: audit found 2 problem(s) for centos7" in strict.stderr
    assert "  - demo-1.0-cp36-cp36m-manylinux1_x86_64.whl: libbar.so.1" in strict.stderr
    # the machine file is still written for the playbooks, unmapped included
    doc = yaml.safe_load((mapped_house / "system-packages.yml").read_text())
    assert doc["unmapped"] == ["libbar.so.1", "libfoo.so.1"]


def test_unloadable_wheel_strict_exits_1(mapped_house: Path, built: dict[str, Path]) -> None:
    make_wheel(mapped_house / f"thr-1.0-{MANYLINUX1}.whl", {"t/t.so": built["glibc234.so"]})
    result = CliRunner().invoke(main, ["audit", str(mapped_house), "--strict"])
    assert result.exit_code == 1
    assert "needs GLIBC_2.34" in result.stderr
    assert "NO" in result.stdout.split()  # the LOADS column
    ok = CliRunner().invoke(main, ["audit", str(mapped_house), "--strict", "--distro", "debian12"])
    assert ok.exit_code == 0, ok.output
    assert "system packages for debian12: libsm6" in ok.stdout


def test_json_output(mapped_house: Path) -> None:
    result = CliRunner().invoke(main, ["audit", str(mapped_house), "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["wheels"][GUI]["needs"] == {"libSM.so.6": "libSM"}


def bad_input(tmp_path: Path, case: str) -> Path:
    if case == "missing":
        return tmp_path / "missing"
    if case == "corrupt":
        (tmp_path / f"junk-1.0-{MANYLINUX1}.whl").write_bytes(b"nope")
    return tmp_path


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "missing: not a directory"),
        ("empty", "is not a wheelhouse: it holds no .whl files"),
        ("corrupt", f"junk-1.0-{MANYLINUX1}.whl: corrupt wheel"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path: Path, case: str, message: str) -> None:
    result = CliRunner().invoke(main, ["audit", str(bad_input(tmp_path, case))])
    assert result.exit_code == 2
    assert result.stderr.startswith("bundler: error: ")
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.output


def test_unknown_distro_is_a_usage_error(mapped_house: Path) -> None:
    result = CliRunner().invoke(main, ["audit", str(mapped_house), "--distro", "centos6"])
    assert result.exit_code == 2
    assert "centos7" in result.stderr  # click lists the choices


def test_installed_entry_point(mapped_house: Path) -> None:
    """The real `bundler` script, as a user runs it."""
    exe = Path(sys.executable).parent / "bundler"
    result = subprocess.run(
        [str(exe), "audit", str(mapped_house), "--strict"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "system packages for centos7: libSM" in result.stdout
