"""Session-wide fixtures of the playbook end-to-end tests (built once, shared by every module).

`test_iso`: the signed stand-in CentOS 7 ISO (tests/e2e/isofixture.py); `kit36`: a kit_dir
whose wheelhouse is the converter for CPython 3.6.15 / manylinux1, fetched from PyPI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.isofixture import build_test_iso, missing_tools
from tests.e2e.playbookrun import REPO


def require_playbook_host() -> None:
    """Skip (a failure in CI) unless this is a host the playbook tests can run on."""
    if os.geteuid() != 0:
        pytest.skip("the playbook e2e runs as root (apt build dependencies, like CI)")
    missing = missing_tools() + [t for t in ("apt-get", "gcc", "make") if not shutil.which(t)]
    if missing:
        pytest.skip(f"missing tools (scripts/setup-dev.sh installs them): {missing}")


def fetch_wheelhouse(out: Path, python: str, platform: str) -> None:
    """`bundler fetch --python PYTHON --platform PLATFORM -o OUT --no-rehearse` (the converter,
    from PyPI)."""
    bundler = REPO / ".venv" / "bin" / "bundler"
    # --no-rehearse: the playbook's own install and smoke test prove the wheelhouse here
    argv = [str(bundler), "fetch", "--python", python, "--platform", platform, "-o", str(out)]
    proc = subprocess.run([*argv, "--no-rehearse"], capture_output=True, text=True)
    assert proc.returncode == 0, f"bundler fetch failed:\n{proc.stdout}\n{proc.stderr}"
    assert (out / "requirements.lock").is_file()


@pytest.fixture(scope="session")
def test_iso(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_playbook_host()
    return build_test_iso(tmp_path_factory.mktemp("iso")).path


@pytest.fixture(scope="session")
def kit36(tmp_path_factory: pytest.TempPathFactory) -> Path:
    kit = tmp_path_factory.mktemp("kit36")
    fetch_wheelhouse(kit / "wheelhouse", "3.6.15", "manylinux1")
    return kit
