"""install.sh's resumable steps and its --check mode, run for real (what the wheels role uses).

The role runs `sh install.sh --check` as its probe (0: the environment equals the lock, 3: an
install would change it, 2: error) and `sh install.sh` when it says 3. Completion markers:
VENV/.airgap-kit-venv ("creating", then "complete" once the venv runs and imports pip),
PREFIX/.airgap-kit-installed (the lock's sha256, written after `pip check`).
"""

from __future__ import annotations

import ensurepip
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bundler.fs import sums
from bundler.fs.hashing import sha256_file
from bundler.models.target import Target
from bundler.wheelhouse import build, installer, lockfile
from tests import fakeindex
from tests.conftest import require_python
from tests.localproject import make_project

HOST = f"{sys.version_info[0]}.{sys.version_info[1]}"
BUNDLED = Path(ensurepip.__file__).parent / "_bundled"


def _wheelhouse(tmp_path: Path, *, with_pip_wheel: bool = False) -> Path:
    """A real wheelhouse for the host Python: one tiny wheel, its lock, install.sh; optionally
    the host's own bundled pip wheel with a bootstrap.lock pinning it (the pip-from-wheel path)."""
    house = tmp_path / "house"
    wheel = build.build_wheel(make_project(tmp_path / "proj", "tiny-app"), house)
    entry = lockfile.LockEntry("tiny-app", "0.1.0", (sha256_file(wheel),))
    lockfile.write(house / installer.REQUIREMENTS_LOCK, [entry])
    wheels = [wheel.name]
    target = Target.from_spec(HOST, "manylinux2014")
    decision = installer.decide(target, wheels)
    if with_pip_wheel:
        (pip_wheel,) = BUNDLED.glob("pip-*.whl")
        shutil.copy(pip_wheel, house / pip_wheel.name)
        version = pip_wheel.name.split("-")[1]
        pin = lockfile.LockEntry("pip", version, (sha256_file(pip_wheel),))
        lockfile.write(house / installer.BOOTSTRAP_LOCK, [pin])
        wheels.append(pip_wheel.name)
        decision = installer.BootstrapDecision(True, decision.bundled_pip, "19.3")
    text = installer.render_install_sh(target, decision, wheels, package_count=1)
    installer.write_install_sh(house, text)
    sums.write_directory(house)  # as fetch does, last (install.sh checks it first)
    return house


def _sh(house: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    argv = ["sh", str(house / "install.sh"), "--python", sys.executable, *map(str, args)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=300)


def _check(house: Path, venv: Path) -> subprocess.CompletedProcess[str]:
    return _sh(house, "--venv", venv, "--check")


@pytest.mark.slow
def test_check_reports_then_install_then_check_is_clean(tmp_path: Path) -> None:
    house = _wheelhouse(tmp_path)
    venv = tmp_path / "v"
    fresh = _check(house, venv)
    assert fresh.returncode == 3, fresh.stdout + fresh.stderr
    assert f"would create the virtual environment {venv}" in fresh.stdout
    assert not venv.exists()  # --check changes nothing
    done = _sh(house, "--venv", venv)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (venv / ".airgap-kit-venv").read_text() == "complete\n"
    marker = (venv / ".airgap-kit-installed").read_text()
    assert sha256_file(house / "requirements.lock") in marker
    clean = _check(house, venv)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "already equals the lock" in clean.stdout

    # Drift: a locked package removed by hand is reported, and a plain run puts it back.
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "uninstall", "-y", "tiny-app"], check=True
    )
    drift = _check(house, venv)
    assert drift.returncode == 3
    assert "would install tiny-app==0.1.0" in drift.stdout
    assert _sh(house, "--venv", venv).returncode == 0
    assert _check(house, venv).returncode == 0

    # Another lock (same pins, other bytes): the marker no longer matches.
    lock = house / "requirements.lock"
    lock.write_text(lock.read_text() + "# a comment changes the lock's sha256\n")
    sums.write_directory(house)  # a new lock shipped as such, not one altered on the way
    changed = _check(house, venv)
    assert changed.returncode == 3
    assert "does not record this lock's sha256" in changed.stdout


@pytest.mark.slow
def test_a_package_installed_by_hand_into_the_venv_is_reported_then_uninstalled(
    tmp_path: Path,
) -> None:
    """pip-sync's equality (#16 review finding 13): a package the lock does not list, installed
    by hand, makes --check say 3 naming it; an install uninstalls it (as pip-sync does) and the
    venv equals the lock again; pip itself (the venv's tooling) is never extra."""
    house = _wheelhouse(tmp_path)
    venv = tmp_path / "v"
    assert _sh(house, "--venv", venv).returncode == 0
    assert _check(house, venv).returncode == 0  # pip, and setuptools where seeded, are not extra
    stray = build.build_wheel(make_project(tmp_path / "stray", "stray_pkg"), tmp_path / "strays")
    python = str(venv / "bin" / "python")
    subprocess.run(
        [python, "-m", "pip", "install", "--no-index", "-q", str(stray)],
        check=True, capture_output=True,
    )  # fmt: skip
    check = _check(house, venv)
    assert check.returncode == 3, check.stdout + check.stderr
    assert f"would uninstall from {venv} package(s) the lock does not list: " in (check.stdout)
    # NAME==VERSION, the name as pip lists it: `stray_pkg` (pip 23: the METADATA's Name),
    # `stray-pkg` (pip 18.1: pkg_resources' safe_name)
    assert re.search(r"does not list: stray[-_]pkg==0\.1\.0$", check.stdout, re.M), check.stdout
    assert "pip==" not in check.stdout
    synced = _sh(house, "--venv", venv)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert re.search(r"the lock does not list from .*: stray[-_]pkg$", synced.stdout, re.M), (
        synced.stdout
    )
    gone = subprocess.run([python, "-c", "import stray_pkg"], capture_output=True)
    assert gone.returncode != 0
    assert _check(house, venv).returncode == 0


@pytest.mark.slow
def test_an_interrupted_venv_is_removed_and_made_again(tmp_path: Path) -> None:
    """What a SIGKILL during ensurepip leaves (no trap runs): a venv without pip whose marker
    still says "creating"."""
    house = _wheelhouse(tmp_path)
    venv = tmp_path / "v"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (venv / ".airgap-kit-venv").write_text("creating\n")
    (venv / "leftover").write_text("from the interrupted run")
    check = _check(house, venv)
    assert check.returncode == 3
    assert "would remove the incomplete virtual environment" in check.stdout
    run = _sh(house, "--venv", venv)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "removing the incomplete virtual environment" in run.stdout
    assert not (venv / "leftover").exists()
    assert _check(house, venv).returncode == 0


@pytest.mark.slow
def test_a_venv_made_elsewhere_is_used_as_it_is(tmp_path: Path) -> None:
    """No marker: not this script's venv. It is installed into, never removed or marked."""
    house = _wheelhouse(tmp_path)
    venv = tmp_path / "v"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    (venv / "mine.txt").write_text("the operator's")
    assert _check(house, venv).returncode == 3
    run = _sh(house, "--venv", venv)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "creating the virtual environment" not in run.stdout
    assert (venv / "mine.txt").exists() and not (venv / ".airgap-kit-venv").exists()
    assert _check(house, venv).returncode == 0


def test_a_directory_that_is_not_a_venv_is_never_removed(tmp_path: Path) -> None:
    house = _wheelhouse(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    (data / "precious").write_text("keep me")
    run = _sh(house, "--venv", data)
    assert run.returncode == 2
    assert f"{data} exists and is not a virtual environment" in run.stderr
    assert (data / "precious").read_text() == "keep me"


@pytest.mark.slow
def test_pip_is_installed_from_its_wheel_into_an_interpreter_without_pip(tmp_path: Path) -> None:
    house = _wheelhouse(tmp_path, with_pip_wheel=True)
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    python = bare / "bin" / "python"
    argv = ["sh", str(house / "install.sh"), "--python", str(python)]
    check = subprocess.run([*argv, "--check"], capture_output=True, text=True)
    assert check.returncode == 3 and "would install pip into" in check.stdout
    run = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "installing pip from its wheel pip-" in run.stdout
    assert (bare / ".airgap-kit-installed").is_file()  # PREFIX = the interpreter's sys.prefix
    again = subprocess.run([*argv, "--check"], capture_output=True, text=True)
    assert again.returncode == 0, again.stdout + again.stderr


def test_a_venv_path_with_a_dollar_is_refused_before_anything_is_made(tmp_path: Path) -> None:
    """Issue #13, second review: `--venv 'DIR$x'` failed late with "the venv module is a
    separate package" (Python 3.6's ensurepip dies in distutils' subst_vars)."""
    house = _wheelhouse(tmp_path)
    venv = tmp_path / "app$x"
    run = _sh(house, "--venv", venv)
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip() == (
        f"install.sh: error: --venv '{venv}': the path holds a '$', which Python's distutils"
        " (ensurepip, pip) reads as a variable: choose a directory without one"
    )
    assert not venv.exists()


def _wheelhouse_for(tmp_path: Path, version: str) -> Path:
    """`_wheelhouse` for the Python VERSION (X.Y) instead of the host's."""
    house = tmp_path / "house"
    wheel = build.build_wheel(make_project(tmp_path / "proj", "tiny-app"), house)
    lockfile.write(
        house / installer.REQUIREMENTS_LOCK,
        [lockfile.LockEntry("tiny-app", "0.1.0", (sha256_file(wheel),))],
    )
    target = Target.from_spec(version, "manylinux2014")
    decision = installer.decide(target, [wheel.name])
    text = installer.render_install_sh(target, decision, [wheel.name], package_count=1)
    installer.write_install_sh(house, text)
    sums.write_directory(house)
    return house


def _sh_with(python: Path, house: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    argv = ["sh", str(house / "install.sh"), "--python", str(python), *map(str, args)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
@pytest.mark.parametrize("version", ["3.6.15", "3.11.7"])
def test_extra_packages_are_uninstalled_by_the_name_pip_printed(
    tmp_path: Path, version: str
) -> None:
    """#16 second review finding 3: pip 18.1's keys keep dots, so `pip uninstall my-dotted`
    skipped my.dotted "as it is not installed" and install.sh said ok; the name pip printed
    works on pip 18.1 (3.6.15) and pip 23 (3.11.7), and what is left after pip uninstall is an
    error naming it."""
    python = require_python(version)
    short = version.rpartition(".")[0]
    house = _wheelhouse_for(tmp_path, short)
    venv = tmp_path / "v"
    made = _sh_with(python, house, "--venv", venv)
    assert made.returncode == 0, made.stdout + made.stderr
    dotted = fakeindex.build_wheel(tmp_path / "extra", "my.dotted", "1.0", dist_name="my.dotted")
    vpython = str(venv / "bin" / "python")
    subprocess.run(
        [vpython, "-m", "pip", "install", "--no-index", "-q", str(dotted)],
        check=True, capture_output=True,
    )  # fmt: skip
    check = _sh_with(python, house, "--venv", venv, "--check")
    assert check.returncode == 3 and "my.dotted==1.0" in check.stdout, check.stdout
    synced = _sh_with(python, house, "--venv", venv)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert "Skipping" not in synced.stdout + synced.stderr
    gone = subprocess.run([vpython, "-I", "-c", "import my_dotted"], capture_output=True)
    assert gone.returncode != 0
    clean = _sh_with(python, house, "--venv", venv, "--check")
    assert clean.returncode == 0, clean.stdout + clean.stderr


@pytest.mark.slow
def test_an_editable_install_without_version_control_is_uninstalled(tmp_path: Path) -> None:
    """#16 second review finding 4: pip >= 21 freezes an editable install without version
    control as `-e /path` (no name): install.sh ran `pip uninstall -y -e /path` ("no such
    option: -e", exit 2). The name comes from `pip list --format=freeze`."""
    python = require_python("3.11.7")
    house = _wheelhouse_for(tmp_path, "3.11")
    venv = tmp_path / "v"
    assert _sh_with(python, house, "--venv", venv).returncode == 0
    project = tmp_path / "edit"
    (project / "my_edit").mkdir(parents=True)
    (project / "my_edit" / "__init__.py").write_text("")
    (project / "setup.py").write_text(
        "from setuptools import setup\n"
        "setup(name='My_Edit.Pkg', version='2.0', packages=['my_edit'])\n"
    )
    vpython = str(venv / "bin" / "python")
    # the editable install pip makes without a `wheel` to build with: an .egg-link (pip's
    # legacy editable mode); pip 23.2.1 freezes it as `-e /path` under a comment
    subprocess.run(
        [vpython, "setup.py", "-q", "develop"], cwd=project, check=True, capture_output=True
    )
    frozen = subprocess.run(
        [vpython, "-I", "-m", "pip", "freeze"], capture_output=True, text=True, check=True
    )
    assert f"-e {project}" in frozen.stdout.splitlines()  # the line install.sh could not read
    check = _sh_with(python, house, "--venv", venv, "--check")
    assert check.returncode == 3, check.stdout + check.stderr
    assert "does not list: My-Edit.Pkg==2.0" in check.stdout, check.stdout
    synced = _sh_with(python, house, "--venv", venv)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    gone = subprocess.run(
        [vpython, "-I", "-c", "import my_edit"], capture_output=True, cwd=tmp_path
    )
    assert gone.returncode != 0
    assert _sh_with(python, house, "--venv", venv, "--check").returncode == 0


@pytest.mark.slow
def test_packages_outside_the_venv_are_never_extra(tmp_path: Path) -> None:
    """#16 second review finding 6: a venv that sees packages outside its prefix (as
    --system-site-packages does; here a .pth line) made install.sh try to uninstall them (pip
    refuses: "outside environment"), say ok, and --check exit 3 forever: only what lies in the
    venv's prefix is compared (`pip list --local`)."""
    python = require_python("3.11.7")
    house = _wheelhouse_for(tmp_path, "3.11")
    venv = tmp_path / "v"
    assert _sh_with(python, house, "--venv", venv).returncode == 0
    outside = tmp_path / "outside"
    stray = fakeindex.build_wheel(tmp_path / "extra", "global-pkg", "1.0")
    subprocess.run(
        [str(python), "-I", "-m", "pip", "install", "--no-index", "-q", "--target",
         str(outside), str(stray)],
        check=True, capture_output=True,
    )  # fmt: skip
    (site,) = (venv / "lib").glob("python3.*/site-packages")
    (site / "outside.pth").write_text(f"{outside}\n")
    vpython = str(venv / "bin" / "python")
    seen = subprocess.run([vpython, "-I", "-c", "import global_pkg"], capture_output=True)
    assert seen.returncode == 0  # the venv imports it, as it would a system site package
    check = _sh_with(python, house, "--venv", venv, "--check")
    assert check.returncode == 0, check.stdout + check.stderr
    synced = _sh_with(python, house, "--venv", venv)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert "uninstalling" not in synced.stdout
    assert (outside / "global_pkg").is_dir()
