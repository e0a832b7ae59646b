"""`bundler audit` on the real wheels from PyPI, and proof that what it names matters.

- The converter's cp36 / manylinux1 wheelhouse (opencv-python 4.2.0.34 + numpy 1.19.5, the
  wheels a cp36m/manylinux1 fetch picks) needs exactly the X11/glib set for opencv-python and
  nothing system-level for numpy.
- opencv-python-headless 4.2.0.34 needs none of the X11 libraries (the data's "alternatives").
- A manylinux_2_28 wheel (bcrypt 4.2.0) is flagged for centos7.
- The audit's member-name rule misses no ELF object of those real wheels.
- In a real Python 3.6.15 venv with those wheels installed offline, `import cv2` fails with an
  ImportError naming each library the audit lists when that one library is hidden (a private
  mount namespace bind-mounts /dev/null over it), and works with the Debian packages the audit
  names installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from bundler.audit import members
from bundler.audit import report as audit
from bundler.policy.tables import load_json

OPENCV = "opencv_python-4.2.0.34-cp36-cp36m-manylinux1_x86_64.whl"
NUMPY = "numpy-1.19.5-cp36-cp36m-manylinux1_x86_64.whl"
HEADLESS = "opencv_python_headless-4.2.0.34-cp36-cp36m-manylinux1_x86_64.whl"
BCRYPT_228 = "bcrypt-4.2.0-cp39-abi3-manylinux_2_28_x86_64.whl"
OPENCV_NEEDS = {
    "libSM.so.6": "libSM",
    "libICE.so.6": "libICE",
    "libXrender.so.1": "libXrender",
    "libXext.so.6": "libXext",
    "libX11.so.6": "libX11",
    "libgthread-2.0.so.0": "glib2",
    "libglib-2.0.so.0": "glib2",
}
CP36_MANYLINUX1 = (
    "--platform", "manylinux1_x86_64", "--python-version", "3.6",
    "--implementation", "cp", "--abi", "cp36m",
)  # fmt: skip


def pip_env() -> dict[str, str]:
    """pip without this machine's global config (extra indexes, constraints): PyPI only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def pip_download(dest: Path, *args: str) -> None:
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:"]
    result = subprocess.run([*cmd, "-d", str(dest), *args], env=pip_env(), text=True,
                            capture_output=True)  # fmt: skip
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="session")
def converter_wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real cp36m / manylinux1 wheels of the converter's native dependencies."""
    dest = tmp_path_factory.mktemp("converter-wheelhouse")
    pip_download(dest, *CP36_MANYLINUX1, "opencv-python==4.2.0.34", "numpy==1.19.5")
    assert sorted(p.name for p in dest.glob("*.whl")) == [NUMPY, OPENCV]
    return dest


@pytest.mark.network
def test_converter_wheelhouse_needs_exactly_x11_and_glib(converter_wheelhouse: Path) -> None:
    report = audit.run(converter_wheelhouse, "centos7")
    wheels = {w.filename: w for w in report.wheels}
    assert wheels[OPENCV].needs == OPENCV_NEEDS
    assert wheels[NUMPY].needs == {}
    assert wheels[NUMPY].elf_objects > 0  # it was really looked at
    assert report.system_packages == ["glib2", "libICE", "libSM", "libX11", "libXext", "libXrender"]
    assert report.packages_by_family()["Debian"] == [
        "libglib2.0-0", "libice6", "libsm6", "libx11-6", "libxext6", "libxrender1",
    ]  # fmt: skip
    assert all(w.loadable for w in report.wheels)
    assert report.problems(strict=True) == []
    assert any("opencv-python-headless" in note for note in report.notes)
    assert (converter_wheelhouse / "system-packages.yml").exists()


@pytest.mark.network
def test_members_skipped_by_name_hold_no_elf_object(converter_wheelhouse: Path) -> None:
    """The audit's name rule (bundler/audit/members.py) finds exactly what opening every member
    finds, on the converter's real wheels: numpy's .so files and opencv's cv2 + grafted
    libraries (sonames with version suffixes such as libavcodec-....so.58.65.103)."""
    for wheel in sorted(converter_wheelhouse.glob("*.whl")):
        with zipfile.ZipFile(wheel) as archive:
            names = [i.filename for i in archive.infolist() if not i.is_dir()]
            skipped = [n for n in names if not members.may_be_elf(n)]
            hidden = [n for n in skipped if archive.open(n).read(4) == b"\x7fELF"]
        assert hidden == [], wheel.name
        assert len(skipped) > len(names) / 2, wheel.name  # the rule does spare most members
        assert len(members.read_elf_members(wheel)) > 0, wheel.name


@pytest.mark.network
def test_headless_alternative_needs_no_x11(tmp_path: Path, converter_wheelhouse: Path) -> None:
    """The "alternatives" row is what the two real wheels show."""
    pip_download(tmp_path, *CP36_MANYLINUX1, "opencv-python-headless==4.2.0.34")
    headless = audit.audit_wheel(tmp_path / HEADLESS, audit.load_profile("centos7"))
    assert headless.needs == {"libgthread-2.0.so.0": "glib2", "libglib-2.0.so.0": "glib2"}
    avoided = set(OPENCV_NEEDS) - set(headless.needs)
    assert set(load_json("sonames.json")["alternatives"]["opencv-python"]["avoids"]) == avoided


@pytest.mark.network
def test_manylinux_2_28_wheel_is_flagged_for_centos7(tmp_path: Path) -> None:
    pip_download(
        tmp_path, "--platform", "manylinux_2_28_x86_64", "--python-version", "3.11",
        "--implementation", "cp", "bcrypt==4.2.0",
    )  # fmt: skip
    centos = audit.audit_directory(tmp_path, "centos7")
    (result,) = centos.wheels
    assert result.filename == BCRYPT_228
    assert not result.loadable
    problems = centos.problems(strict=False)
    assert any("tagged for glibc 2.28 or newer but centos7 has glibc 2.17" in p for p in problems)
    assert any("needs GLIBC_2.28" in p for p in problems)
    assert audit.audit_directory(tmp_path, "debian12").problems(strict=True) == []


# -- prove it matters ------------------------------------------------------------------------


def _root_or_userns(*flags: str) -> list[str]:
    """`unshare FLAGS`, adding a user namespace (-r) when not root."""
    return ["unshare", *flags] if os.geteuid() == 0 else ["unshare", "-r", *flags]


@pytest.fixture(scope="session")
def cv2_venv(
    python36: Path, converter_wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A real Python 3.6.15 venv with opencv-python and numpy installed with no network."""
    venv = tmp_path_factory.mktemp("cv2-venv") / "venv"
    subprocess.run([str(python36), "-m", "venv", str(venv)], check=True)
    install = [
        str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index",
        "--find-links", str(converter_wheelhouse), "opencv-python==4.2.0.34", "numpy==1.19.5",
    ]  # fmt: skip
    result = subprocess.run(
        [*_root_or_userns("-n"), *install], env=pip_env(), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return venv


def _system_path(soname: str) -> str:
    """Where this machine's loader finds `soname` (ldconfig's cache)."""
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        fields = line.split()
        if fields and fields[0] == soname and "x86-64" in line:
            return fields[-1]
    pytest.fail(f"{soname} is not installed here (scripts/setup-dev.sh installs it)")


def _import_cv2(venv: Path, hide: str | None = None) -> subprocess.CompletedProcess[str]:
    probe = [str(venv / "bin" / "python"), "-c", "import cv2; print(cv2.__version__)"]
    if hide is None:
        return subprocess.run([*_root_or_userns("-n"), *probe], capture_output=True, text=True)
    hider = ["sh", "-c", 'mount --bind /dev/null "$1" && shift && exec "$@"', "sh", hide]
    return subprocess.run(
        [*_root_or_userns("-n", "-m"), *hider, *probe], capture_output=True, text=True
    )


@pytest.mark.network
@pytest.mark.slow
@pytest.mark.e2e
@pytest.mark.parametrize("soname", sorted(OPENCV_NEEDS))
def test_import_cv2_fails_when_a_library_the_audit_names_is_hidden(
    cv2_venv: Path, converter_wheelhouse: Path, soname: str
) -> None:
    """Each soname the audit lists really is loaded by `import cv2`: hide it, the import fails
    naming it (here as 'file too short': an empty file stands where the library was)."""
    report = audit.audit_directory(converter_wheelhouse, "centos7")
    assert soname in {s for w in report.wheels for s in w.needs}
    result = _import_cv2(cv2_venv, hide=_system_path(soname))
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: ") and soname in last, result.stderr


@pytest.mark.network
@pytest.mark.slow
@pytest.mark.e2e
def test_import_cv2_works_with_the_debian_packages_the_audit_names(
    cv2_venv: Path, converter_wheelhouse: Path
) -> None:
    report = audit.audit_directory(converter_wheelhouse, "centos7")
    debian = report.packages_by_family()["Debian"]
    assert debian  # the audit does name some
    for package in debian:
        status = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True
        ).stdout
        assert status == "install ok installed", f"{package}: {status!r}"
    result = _import_cv2(cv2_venv)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "4.2.0"
