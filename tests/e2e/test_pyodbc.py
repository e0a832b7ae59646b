"""pyodbc for CPython 3.6 / manylinux2014 from the real PyPI: every system library accounted for.

The issue's case: the fetch used to say "system packages the wheels need: none" with
libodbc.so.2 unmapped, and `import pyodbc` failed on the target. Now the audit names
libodbc.so.2 (CentOS 7 unixODBC, Debian 12 libodbc2) and its RPM capability, the fetch's own
rehearsal imports pyodbc on the real 3.6.15 (libodbc2 is installed here), and with libodbc.so.2
hidden (a private mount namespace bind-mounts /dev/null over it) `verify --rehearse` exits 1
with a line naming the wheel and the library.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bundler.models.target import Target
from bundler.wheelhouse.fetch import FetchOptions, FetchResult, fetch

pytestmark = [pytest.mark.network, pytest.mark.slow, pytest.mark.e2e]

PYODBC = "pyodbc-4.0.39-cp36-cp36m-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"


@pytest.fixture(scope="module")
def fetched(python36: Path, tmp_path_factory: pytest.TempPathFactory) -> FetchResult:
    root = tmp_path_factory.mktemp("pyodbc")
    options = FetchOptions(
        target=Target.from_spec("3.6", "manylinux2014"),
        requirements=("pyodbc==4.0.39",),
        output=root / "wh",
        cache_dir=root / "cache",
        rehearse=python36,
    )
    return fetch(options)


def test_the_audit_names_libodbc_and_its_capability(fetched: FetchResult) -> None:
    report = fetched.audit
    assert report is not None
    (wheel,) = [w for w in report.wheels if w.filename == PYODBC]
    assert wheel.needs == {"libodbc.so.2": "unixODBC"}
    assert report.system_packages == ["unixODBC"]
    assert report.unmapped == []
    assert report.packages_by_family()["Debian"] == ["libodbc2"]
    assert report.capabilities_by_family()["RedHat"] == ["libodbc.so.2()(64bit)"]


def test_the_fetch_rehearsal_imports_pyodbc(fetched: FetchResult) -> None:
    assert fetched.rehearsal is not None
    assert fetched.rehearsal.problems == []
    assert fetched.rehearsal.imported == ["pyodbc"]


def _library(soname: str) -> str:
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.split() and line.split()[0] == soname and "x86-64" in line:
            return line.split()[-1]
    pytest.fail(f"{soname} is not installed here (scripts/setup-dev.sh installs libodbc2)")


def test_without_libodbc_the_rehearsal_fails_naming_pyodbc(
    fetched: FetchResult, python36: Path
) -> None:
    if os.geteuid() != 0:
        pytest.skip("hiding a system library needs root (a private mount namespace)")
    hider = ["sh", "-c", 'mount --bind /dev/null "$1" && shift && exec "$@"', "sh"]
    verify = [sys.executable, "-m", "bundler", "verify", str(fetched.output),
              "--rehearse", str(python36)]  # fmt: skip
    proc = subprocess.run(
        ["unshare", "-m", *hider, _library("libodbc.so.2"), *verify],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"{PYODBC}: import pyodbc fails after an offline install: ImportError: " in proc.stderr
    assert "libodbc.so.2" in proc.stderr
