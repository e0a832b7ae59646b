"""--build-pure builds sdists for the target: with the target interpreter (CPython 3.6.15), or on
the host only when the sdist's metadata is static (PEP 643).

The sdist here is the issue's case: its setup.py adds `dataclasses` when
`sys.version_info < (3, 7)`, and its PKG-INFO (Metadata-Version 2.1) says nothing binding. It
also has `setup_requires=["six"]`, which only the backend's get_requires_for_build_wheel hook
reveals (its build_py imports six; the build env has no index to fetch it from). Built
by 3.6.15 (build requirements setuptools/wheel/pip resolved for 3.6 from PyPI: network) the
wheel requires dataclasses and the lock pins it; with only a host build possible, fetch refuses
it in one line naming the sdist and --build-python.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from bundler.cli import main
from bundler.wheelhouse import lockfile
from tests.conftest import require_python

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SETUP_PY = """\
import sys
from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPy(build_py):
    def run(self):
        import six  # from setup_requires: there only if the backend's hook was asked

        build_py.run(self)


setup(
    name="dynsdist",
    version="1.0",
    packages=["dynsdist"],
    install_requires=["dataclasses"] if sys.version_info < (3, 7) else [],
    setup_requires=["six"],
    cmdclass={"build_py": BuildPy},
)
"""


def dynamic_sdist(folder: Path) -> Path:
    """dynsdist-1.0.tar.gz: dependencies decided by setup.py at build time (no pyproject)."""
    files = {
        "PKG-INFO": "Metadata-Version: 2.1\nName: dynsdist\nVersion: 1.0\n\n",
        "setup.py": SETUP_PY,
        "dynsdist/__init__.py": "import dataclasses\n",
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "dynsdist-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"dynsdist-1.0/{name}")
            info.size, info.mtime, info.mode = len(data), 1577836800, 0o644
            tar.addfile(info, io.BytesIO(data))
    return path


def _fetch(tmp_path: Path, *args: str) -> object:
    links = tmp_path / "links"
    dynamic_sdist(links)
    argv = [
        "fetch", "dynsdist", "--python", "3.6", "--build-pure", "--find-links", str(links),
        "--cache-dir", str(tmp_path / "cache"), "-o", str(tmp_path / "wh"), "--no-audit", *args,
    ]  # fmt: skip
    return CliRunner().invoke(main, argv)


def test_a_dynamic_sdist_is_refused_when_only_a_host_build_is_possible(tmp_path: Path) -> None:
    result = _fetch(tmp_path, "--build-python", "host", "--no-rehearse")
    assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
    stderr = result.stderr  # type: ignore[attr-defined]
    assert stderr.count("\n") == 1
    assert stderr.startswith("bundler: error: ") and "dynsdist-1.0.tar.gz" in stderr
    assert "not static (Metadata-Version 2.1" in stderr and "--build-python PATH" in stderr
    assert not (tmp_path / "wh").exists()


@pytest.mark.network
def test_built_by_the_target_interpreter_it_declares_dataclasses(tmp_path: Path) -> None:
    python36 = require_python("3.6.15")
    result = _fetch(
        tmp_path, "--index-url", "https://pypi.org/simple", "--build-python", str(python36),
        "--rehearse", str(python36),
    )  # fmt: skip
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    wh = tmp_path / "wh"
    pins = {e.name: e.version for e in lockfile.read(wh / "requirements.lock")}
    assert pins == {"dataclasses": "0.8", "dynsdist": "1.0"}
    (wheel,) = wh.glob("dynsdist-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        metadata = zf.read("dynsdist-1.0.dist-info/METADATA").decode()
    assert "Requires-Dist: dataclasses" in metadata
    assert "rehearsal" in result.output and "imported" in result.output  # type: ignore[attr-defined]
