"""Shared fixtures: the real target interpreters, and the CI rule that a skip is a failure."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bundler.net import transport
from tests.fakeindex import FakeIndex, serving

REPO = Path(__file__).resolve().parents[1]


def pyenv_python(version: str) -> Path | None:
    """$(pyenv root)/versions/X.Y.Z/bin/pythonX.Y if installed, else None."""
    root = os.environ.get("PYENV_ROOT")
    if not root and shutil.which("pyenv"):
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
    if not root:
        return None
    short = ".".join(version.split(".")[:2])
    exe = Path(root) / "versions" / version / "bin" / f"python{short}"
    return exe if exe.exists() else None


def require_python(version: str) -> Path:
    exe = pyenv_python(version)
    if exe is None:
        pytest.skip(f"needs the real Python {version} (pyenv install {version})")
    return exe


@pytest.fixture(scope="session")
def python36() -> Path:
    """The real target interpreter, CPython 3.6.15."""
    return require_python("3.6.15")


@pytest.fixture(scope="session")
def python27() -> Path:
    """CPython 2.7.18: stands in for CentOS 7's /usr/bin/python (Ansible's module interpreter)."""
    return require_python("2.7.18")


@pytest.fixture
def fake_index(tmp_path: Path) -> Iterator[FakeIndex]:
    """A PEP 503/691/658 index of tiny wheels served on 127.0.0.1 (tests/fakeindex.py)."""
    yield from serving(tmp_path / "fakeindex")


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry backoff of 10 ms, so tests of retried downloads stay fast."""
    monkeypatch.setattr(transport, "BACKOFF", 0.01)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """With KIT_STRICT_SKIPS=1 (set in CI by scripts/run-tests.sh) a skip fails the test.

    CI installs every prerequisite, so a skip there means something did not run that the
    README says is verified.
    """
    outcome = yield
    report = outcome.get_result()
    if (
        os.environ.get("KIT_STRICT_SKIPS") == "1"
        and report.skipped
        and not hasattr(report, "wasxfail")
    ):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped in CI (KIT_STRICT_SKIPS=1), which counts as a failure: {reason}"
