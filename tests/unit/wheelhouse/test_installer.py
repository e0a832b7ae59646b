"""installer.py: the pip-bootstrap decision, and install.sh run for real under sh and dash."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bundler.fs import sums
from bundler.fs.hashing import sha256_file
from bundler.models.target import Target
from bundler.wheelhouse import build, installer, lockfile
from tests.localproject import make_project

NUMPY_M1 = "numpy-1.19.5-cp36-cp36m-manylinux1_x86_64.whl"
NUMPY_2010 = "numpy-1.19.5-cp36-cp36m-manylinux2010_x86_64.whl"
CV_DUAL = "opencv_python-4.6.0.66-cp36-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
CV_PEP600 = "opencv_python-4.8.0.76-cp37-abi3-manylinux_2_17_x86_64.whl"
PURE = "six-1.17.0-py2.py3-none-any.whl"
HOST = f"{sys.version_info[0]}.{sys.version_info[1]}"


def test_manylinux1_wheels_need_no_bootstrap_on_36() -> None:
    decision = installer.decide(Target.from_spec("3.6", "manylinux1"), [NUMPY_M1, PURE])
    assert not decision.needed
    assert decision.bundled_pip == "18.1" and decision.min_pip == "8.1"
    assert "reads every chosen wheel" in decision.reason


def test_manylinux2014_wheels_need_pip_19_3_on_36() -> None:
    target = Target.from_spec("3.6", "manylinux2014")
    decision = installer.decide(target, [PURE, CV_DUAL, NUMPY_2010])
    assert decision.needed
    assert decision.unreadable == (NUMPY_2010, CV_DUAL)
    assert decision.min_pip == "19.3"
    assert "pip >= 19.3 is bootstrapped" in decision.reason
    assert decision.to_dict(installer.BOOTSTRAP_PROJECTS)["bootstrap"] == [
        "pip",
        "setuptools",
        "wheel",
    ]


def test_pep600_only_tags_need_pip_20_3() -> None:
    target = Target.from_spec("3.7.2", "manylinux_2_17")
    assert target.installer_pip == "18.1"
    assert installer.min_pip(target, [CV_PEP600]).public == "20.3"


def test_modern_target_pip_reads_everything() -> None:
    target = Target.from_spec("3.11", "manylinux2014")
    decision = installer.decide(target, [CV_PEP600.replace("cp37", "cp311")])
    assert not decision.needed


# -- install.sh ---------------------------------------------------------------------------------


def _render(target: Target, decision: installer.BootstrapDecision, wheels: list[str]) -> str:
    return installer.render_install_sh(target, decision, wheels, package_count=len(wheels))


@pytest.mark.parametrize("shell", ["sh", "dash", "bash"])
def test_install_sh_is_valid_posix_sh(tmp_path: Path, shell: str) -> None:
    exe = shutil.which(shell)
    assert exe, f"{shell} is not installed"
    target = Target.from_spec("3.6", "manylinux2014")
    text = _render(target, installer.decide(target, [CV_DUAL, PURE]), [CV_DUAL, PURE])
    path = installer.write_install_sh(tmp_path, text)
    assert path.stat().st_mode & 0o111
    subprocess.run([exe, "-n", str(path)], check=True)
    assert text.startswith("#!/bin/sh\n")
    assert CV_DUAL in text and "bootstrap.lock" in text


def _host_wheelhouse(tmp_path: Path, *, force_bootstrap: bool) -> Path:
    """A real wheelhouse for the *host* Python: one tiny wheel, its lock, install.sh."""
    house = tmp_path / "house"
    wheel = build.build_wheel(make_project(tmp_path / "proj", "tiny-app"), house)
    entry = lockfile.LockEntry("tiny-app", "0.1.0", (sha256_file(wheel),))
    lockfile.write(house / installer.REQUIREMENTS_LOCK, [entry])
    target = Target.from_spec(HOST, "manylinux2014")
    decision = installer.decide(target, [wheel.name])
    if force_bootstrap:
        decision = dataclasses.replace(decision, needed=True, min_pip="19.3")
        lockfile.write(house / installer.BOOTSTRAP_LOCK, [entry])
    installer.write_install_sh(house, _render(target, decision, [wheel.name]))
    sums.write_directory(house)  # as fetch does, last
    return house


def _run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd)


@pytest.mark.slow
def test_install_sh_installs_offline_into_a_venv(tmp_path: Path) -> None:
    house = _host_wheelhouse(tmp_path, force_bootstrap=True)
    venv = tmp_path / "v"
    # From another directory: the script finds its wheelhouse by itself.
    proc = _run(
        "unshare", "-n", "dash", house / "install.sh", "--python", sys.executable, "--venv", venv,
        cwd=tmp_path / "proj",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no bootstrap needed" in proc.stdout  # the host's pip is newer than 19.3
    assert "No broken requirements found" in proc.stdout
    check = _run(venv / "bin" / "python", "-c", "import tiny_app; print(tiny_app.VALUE)")
    assert check.stdout.strip() == "0.1.0"


def test_install_sh_refuses_the_wrong_python(tmp_path: Path) -> None:
    house = tmp_path / "house"
    house.mkdir()
    target = Target.from_spec("3.6", "manylinux1")
    installer.write_install_sh(house, _render(target, installer.decide(target, [PURE]), [PURE]))
    proc = _run("dash", house / "install.sh", "--python", sys.executable)
    assert proc.returncode == 2
    assert f"is Python {HOST}, but this wheelhouse is for Python 3.6 (3.6.15)" in proc.stderr


def test_install_sh_names_a_missing_wheelhouse_file(tmp_path: Path) -> None:
    house = _host_wheelhouse(tmp_path, force_bootstrap=False)
    wheel = next(house.glob("*.whl"))
    wheel.unlink()
    proc = _run("sh", house / "install.sh", "--python", sys.executable, "--venv", tmp_path / "v")
    assert proc.returncode == 2
    assert f"missing wheelhouse file(s) in {house}: {wheel.name}" in proc.stderr
    assert not (tmp_path / "v").exists()


def test_install_sh_refuses_a_wheelhouse_that_differs_from_its_sha256sums(tmp_path: Path) -> None:
    house = _host_wheelhouse(tmp_path, force_bootstrap=False)
    lock = house / installer.REQUIREMENTS_LOCK
    lock.write_text(lock.read_text() + "# edited on the way\n")
    (house / "extra-1.0-py3-none-any.whl").write_bytes(b"not listed")
    proc = _run("sh", house / "install.sh", "--python", sys.executable, "--venv", tmp_path / "v")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "install.sh: requirements.lock: sha256 differs from SHA256SUMS" in proc.stderr
    assert "install.sh: extra-1.0-py3-none-any.whl: not listed in SHA256SUMS" in proc.stderr
    assert (
        "does not match its SHA256SUMS (damaged or altered): nothing was installed" in proc.stderr
    )
    assert not (tmp_path / "v").exists()
    (house / "SHA256SUMS").unlink()
    proc = _run("sh", house / "install.sh", "--python", sys.executable, "--venv", tmp_path / "v")
    assert proc.returncode == 2 and "SHA256SUMS is missing" in proc.stderr


def test_install_sh_rejects_unknown_arguments_and_missing_python(tmp_path: Path) -> None:
    house = _host_wheelhouse(tmp_path, force_bootstrap=False)
    proc = _run("sh", house / "install.sh", "--frobnicate")
    assert proc.returncode == 2 and "unknown argument '--frobnicate'" in proc.stderr
    proc = _run("sh", house / "install.sh", "--python", tmp_path / "no-such-python")
    assert proc.returncode == 2 and "not found" in proc.stderr


def test_install_sh_help_says_what_venv_uninstalls(tmp_path: Path) -> None:
    """#16 second review finding 6: --venv DIR uninstalls what the lock does not list; the
    usage text (-h) says so, and the packages outside DIR it leaves alone."""
    house = _host_wheelhouse(tmp_path, force_bootstrap=False)
    proc = _run("sh", house / "install.sh", "--help")
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())
    assert "packages installed in DIR that the lock does not list are UNINSTALLED" in text, text
    assert "packages outside DIR, seen through --system-site-packages, are left alone" in text
    assert text.endswith(
        "3 when an install would change it (each difference is printed), 2 on error"
    )


@pytest.fixture(scope="module")
def damaged_house(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A host wheelhouse whose wheel has a flipped byte: pip's --require-hashes refuses it, so
    the install fails after the venv was made."""
    house = _host_wheelhouse(tmp_path_factory.mktemp("damaged"), force_bootstrap=False)
    wheel = next(house.glob("*.whl"))
    data = bytearray(wheel.read_bytes())
    data[-30] ^= 0xFF
    wheel.write_bytes(bytes(data))
    # SHA256SUMS rewritten to match (install.sh would refuse it before making the venv):
    # the failure comes from pip's --require-hashes, after the venv exists
    sums.write_directory(house)
    return house


def test_a_failed_install_removes_the_venv_it_created(damaged_house: Path, tmp_path: Path) -> None:
    new, empty = tmp_path / "new-venv", tmp_path / "empty-dir"
    empty.mkdir()
    for venv in (new, empty):
        proc = _run(
            "dash", damaged_house / "install.sh", "--python", sys.executable, "--venv", venv
        )
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert f"installing {damaged_house}/requirements.lock failed" in proc.stderr
        assert f"removed the unfinished virtual environment {venv}" in proc.stderr
    assert not new.exists()
    assert empty.is_dir() and list(empty.iterdir()) == []  # as it was: there, and empty


def test_a_failed_install_leaves_a_venv_that_existed_before(
    damaged_house: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "v"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (venv / "mine.txt").write_text("the operator's\n")
    proc = _run("dash", damaged_house / "install.sh", "--python", sys.executable, "--venv", venv)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "has no pip" in proc.stderr and "removed" not in proc.stderr
    assert (venv / "bin" / "python").exists() and (venv / "mine.txt").exists()
