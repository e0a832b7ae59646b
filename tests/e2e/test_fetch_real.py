"""`bundler fetch` against the real PyPI, installed offline by the real target interpreters.

- cp36 / manylinux1 (the converter default, `make fetch`): opencv-python and numpy cp36m
  manylinux1 wheels; install.sh under `unshare -n` into a 3.6.15 venv; `import cv2, numpy,
  asciivideo`; and pip 18.1 itself accepts `--require-hashes -r requirements.lock`.
- cp36 / manylinux2014: pip 18.1 alone rejects the wheels (shown), install.sh bootstraps pip
  21.3.1 from the wheelhouse and then installs.
- the host's CPython 3.11 (pyenv 3.11.7) / manylinux2014.

One download cache is shared by the module's tests (a warm cache is part of what is tested).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bundler.wheelhouse import lockfile
from tests.conftest import require_python

pytestmark = [pytest.mark.network, pytest.mark.slow, pytest.mark.e2e]

REPO = Path(__file__).resolve().parents[2]
IMPORT_ALL = "import cv2, numpy, asciivideo; print(cv2.__version__, numpy.__version__)"


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fetch-cache")


def _clean_env() -> dict[str, str]:
    """This machine's pip config and PIP_* variables must not help any step of the test."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    return {**env, "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def _run(*args: str | Path, offline: bool = False) -> subprocess.CompletedProcess[str]:
    cmd = (["unshare", "-n"] if offline else []) + [str(a) for a in args]
    return subprocess.run(cmd, capture_output=True, text=True, env=_clean_env())


def _fetch(out: Path, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = _run(
        sys.executable, "-m", "bundler", "fetch", *args, "-o", out, "--cache-dir", cache
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _wheels(out: Path) -> dict[str, str]:
    """Canonical project name -> wheel filename in the wheelhouse."""
    data = json.loads((out / "manifest.json").read_text())
    return {p["name"]: p["filename"] for p in data["packages"]}


def _install(out: Path, python: Path, venv: Path) -> subprocess.CompletedProcess[str]:
    proc = _run("sh", out / "install.sh", "--python", python, "--venv", venv, offline=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _import_all(venv: Path) -> str:
    proc = _run(venv / "bin" / "python", "-c", IMPORT_ALL, offline=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def _pip18_install(out: Path, python36: Path, venv: Path) -> subprocess.CompletedProcess[str]:
    """pip 18.1 (3.6.15's ensurepip) alone: install the lock offline with hashes."""
    assert _run(python36, "-m", "venv", venv).returncode == 0
    version = _run(venv / "bin" / "python", "-m", "pip", "--version").stdout
    assert version.startswith("pip 18.1 "), version
    return _run(
        venv / "bin" / "python", "-m", "pip", "install", "--no-index", "--find-links", out,
        "--require-hashes", "-r", out / "requirements.lock", offline=True,
    )  # fmt: skip


def test_converter_cp36_manylinux1(tmp_path: Path, cache_dir: Path, python36: Path) -> None:
    assert (REPO / "converter" / "pyproject.toml").is_file(), "the converter project is missing"
    out = tmp_path / "wheelhouse"
    proc = _fetch(out, cache_dir, "--python", "3.6", "--platform", "manylinux1")
    assert "pip bootstrap: no" in proc.stdout
    # the default: fetch ends with an install rehearsal by the target's own 3.6.15
    assert f"rehearsal ({python36}, " in proc.stdout
    assert "installed offline, 3 module(s) imported" in proc.stdout
    wheels = _wheels(out)
    assert wheels["opencv-python"].endswith("-cp36-cp36m-manylinux1_x86_64.whl")
    assert wheels["numpy"].endswith("-cp36-cp36m-manylinux1_x86_64.whl")
    assert wheels["asciivideo"].endswith("-py3-none-any.whl")
    assert not (out / "bootstrap.lock").exists()
    locked = {e.name for e in lockfile.read(out / "requirements.lock")}
    assert {"asciivideo", "numpy", "opencv-python"} <= locked
    # The audit ran at the end: opencv-python's Qt needs X11 libraries from CentOS 7.
    audit = json.loads((out / "manifest.json").read_text())["audit"]
    assert {"libSM", "libX11", "glib2"} <= set(audit["system_packages"])
    assert (out / "system-packages.yml").is_file()

    _install(out, python36, tmp_path / "v")
    assert _import_all(tmp_path / "v").startswith("4.")

    direct = _pip18_install(out, python36, tmp_path / "v18")
    assert direct.returncode == 0, direct.stdout + direct.stderr
    assert _import_all(tmp_path / "v18")


def test_converter_cp36_manylinux2014_bootstraps_pip(
    tmp_path: Path, cache_dir: Path, python36: Path
) -> None:
    out = tmp_path / "wheelhouse"
    proc = _fetch(out, cache_dir, "--python", "3.6", "--platform", "manylinux2014", "--no-rehearse")
    assert "pip bootstrap: yes (pip 21.3.1, setuptools 59.6.0, wheel 0.37.1)" in proc.stdout
    boot = {e.name: e.version for e in lockfile.read(out / "bootstrap.lock")}
    assert boot == {"pip": "21.3.1", "setuptools": "59.6.0", "wheel": "0.37.1"}
    assert "manylinux2014" in _wheels(out)["opencv-python"]

    # pip 18.1 alone cannot install this wheelhouse ...
    alone = _pip18_install(out, python36, tmp_path / "v18")
    assert alone.returncode != 0
    numpy = _wheels(out)["numpy"]
    assert "manylinux2010" in numpy or "manylinux2014" in numpy
    assert "Could not find a version that satisfies the requirement numpy==" in alone.stderr
    pip18 = tmp_path / "v18" / "bin" / "python"
    direct = _run(pip18, "-m", "pip", "install", "--no-deps", out / numpy, offline=True)
    assert direct.returncode != 0
    assert "is not a supported wheel on this platform" in direct.stdout + direct.stderr
    # ... install.sh bootstraps pip 21.3.1 from the wheelhouse first, offline.
    done = _install(out, python36, tmp_path / "v")
    assert "bootstrapping pip from the wheelhouse" in done.stdout
    pip = _run(tmp_path / "v" / "bin" / "python", "-m", "pip", "--version").stdout
    assert pip.startswith("pip 21.3.1 ")
    assert _import_all(tmp_path / "v")


def test_converter_host_python_311(tmp_path: Path, cache_dir: Path) -> None:
    python311 = require_python("3.11.7")
    out = tmp_path / "wheelhouse"
    proc = _fetch(
        out, cache_dir, "--python", "3.11.7", "--platform", "manylinux2014", "--no-rehearse"
    )
    assert "pip bootstrap: no" in proc.stdout
    wheels = _wheels(out)
    assert "-cp311-cp311-" in wheels["numpy"]
    _install(out, python311, tmp_path / "v")
    assert _import_all(tmp_path / "v")
