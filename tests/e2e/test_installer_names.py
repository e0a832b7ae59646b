"""Installer-true names with the real pips on the real target interpreter (CPython 3.6.15).

- A wheelhouse fetched for ruamel.yaml's shape (a dependency stated as `ruamel.yaml.clib`)
  installs through install.sh under `unshare -n` with the bundled pip 18.1 and with pip 9.0.3;
  the same wheelhouse with the lock spelled canonically (`ruamel-yaml-clib`, what the kit wrote
  before) fails under pip 18.1 (tests/unit/wheelhouse/test_rehearse.py), so the test can fail.
- The issue's real case: ruamel.yaml 0.18.3 from PyPI, rehearsed offline with pip 18.1.
- The facts behind data/installers.json "name_matching": pips 9.0.3 / 18.1 / 19.2.3 refuse a
  dashed lock line for a dotted requirement, 19.3.1 accepts it (old pips from PyPI: network).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from bundler.models.target import Target
from bundler.wheelhouse.fetch import FetchOptions, fetch
from tests.conftest import require_python
from tests.e2e.playbookrun import can_run_offline
from tests.fakeindex import build_wheel

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

T36 = Target.from_spec("3.6", "manylinux1")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    return {**env, "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fetched wheelhouse (from a find-links folder) for ruamel.yaml's naming shape."""
    root = tmp_path_factory.mktemp("names")
    links = root / "links"
    build_wheel(links, "ruamel.yaml", "0.18.3", requires_dist=["ruamel.yaml.clib>=0.2.7"])
    build_wheel(  # named like the real 0.2.8 wheels: dots in the file and .dist-info names
        links, "ruamel.yaml.clib", "0.2.8", tags="cp36-cp36m-manylinux1_x86_64",
        dist_name="ruamel.yaml.clib",
    )  # fmt: skip
    options = FetchOptions(
        target=T36,
        requirements=("ruamel.yaml",),
        output=root / "wh",
        index_urls=(),
        find_links=(str(links),),
        cache_dir=root / "cache",
        audit=False,
    )
    return fetch(options).output


@pytest.fixture(scope="module")
def old_pips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pip 9.0.3, 19.2.3 and 19.3.1 wheels from PyPI (the 18.1 is 3.6.15's own)."""
    dest = tmp_path_factory.mktemp("pips")
    pins = ["pip==9.0.3", "pip==19.2.3", "pip==19.3.1"]
    for pin in pins:
        proc = subprocess.run(
            [shutil.which("python3") or "python3", "-m", "pip", "download", "--no-deps",
             "--index-url", "https://pypi.org/simple", "-d", str(dest), pin],
            capture_output=True, text=True, env=_env(),
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    return dest


def _venv(python36: Path, where: Path, pip_wheel: Path | None) -> Path:
    subprocess.run([str(python36), "-m", "venv", str(where)], check=True, env=_env())
    if pip_wheel is not None:
        subprocess.run(
            [str(where / "bin/python"), "-m", "pip", "install", "-q", "--no-index", str(pip_wheel)],
            check=True, env=_env(),
        )  # fmt: skip
    return where


def _install_sh(wheelhouse: Path, python36: Path, venv: Path) -> subprocess.CompletedProcess[str]:
    argv = ["sh", str(wheelhouse / "install.sh"), "--python", str(python36), "--venv", str(venv)]
    if can_run_offline():
        argv = ["unshare", "-n", *argv]
    return subprocess.run(argv, capture_output=True, text=True, env=_env())


def test_pip_18_1_installs_the_fetched_lock_offline(wheelhouse: Path, tmp_path: Path) -> None:
    python36 = require_python("3.6.15")
    assert "ruamel.yaml.clib==0.2.8" in (wheelhouse / "requirements.lock").read_text()
    venv = tmp_path / "venv"
    proc = _install_sh(wheelhouse, python36, venv)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pip = subprocess.run([str(venv / "bin/python"), "-m", "pip", "--version"],
                         capture_output=True, text=True).stdout  # fmt: skip
    assert pip.startswith("pip 18.1 ")
    listed = subprocess.run([str(venv / "bin/python"), "-m", "pip", "list"],
                            capture_output=True, text=True, env=_env()).stdout  # fmt: skip
    assert "ruamel.yaml.clib 0.2.8" in " ".join(listed.split())


@pytest.mark.network
def test_pip_9_0_3_installs_the_fetched_lock_offline(
    wheelhouse: Path, old_pips: Path, tmp_path: Path
) -> None:
    python36 = require_python("3.6.15")
    venv = _venv(python36, tmp_path / "venv", next(old_pips.glob("pip-9.0.3-*.whl")))
    proc = _install_sh(wheelhouse, python36, venv)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (
        "pip 9.0.3"
        in subprocess.run(
            [str(venv / "bin/python"), "-m", "pip", "--version"], capture_output=True, text=True
        ).stdout
    )


@pytest.mark.network
@pytest.mark.parametrize(("pip", "dashes_match"), [("19.2.3", False), ("19.3.1", True)])
def test_where_pip_starts_matching_names_canonically(
    wheelhouse: Path, old_pips: Path, tmp_path: Path, pip: str, dashes_match: bool
) -> None:
    """The boundary data/installers.json states (name_matching: 19.3 -> pep503)."""
    python36 = require_python("3.6.15")
    venv = _venv(python36, tmp_path / "venv", next(old_pips.glob(f"pip-{pip}-*.whl")))
    lock = tmp_path / "dashed.lock"
    text = (wheelhouse / "requirements.lock").read_text()
    lock.write_text(text.replace("ruamel.yaml.clib==", "ruamel-yaml-clib=="))
    proc = subprocess.run(
        [str(venv / "bin/python"), "-m", "pip", "install", "--no-index", "--find-links",
         str(wheelhouse), "--require-hashes", "-r", str(lock)],
        capture_output=True, text=True, env=_env(),
    )  # fmt: skip
    assert (proc.returncode == 0) is dashes_match, proc.stdout + proc.stderr


@pytest.mark.network
def test_the_real_ruamel_yaml_from_pypi_installs_with_pip_18_1_offline(tmp_path: Path) -> None:
    """The issue's own case, from the real PyPI: the lock spells the dependency as ruamel.yaml
    states it and the fetch's rehearsal (install.sh under pip 18.1, offline) imports it."""
    python36 = require_python("3.6.15")
    options = FetchOptions(
        target=T36,
        requirements=("ruamel.yaml==0.18.3",),
        output=tmp_path / "wh",
        cache_dir=tmp_path / "cache",
        audit=False,
        rehearse=python36,
    )
    fetched = fetch(options)
    lock = (fetched.output / "requirements.lock").read_text()
    assert "\nruamel.yaml.clib==0.2.8 " in lock and "ruamel-yaml-clib" not in lock
    assert fetched.rehearsal is not None
    assert fetched.rehearsal.problems == []
    assert "_ruamel_yaml" in fetched.rehearsal.imported  # the clib's extension module
