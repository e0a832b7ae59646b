"""Session-wide fixtures of the playbook end-to-end tests (built once, shared by every module).

`test_iso`: the signed stand-in CentOS 7 ISO (tests/e2e/isofixture.py); `kit36`: a kit_dir
whose wheelhouse is the converter for CPython 3.6.15 / manylinux1, fetched from PyPI; `kit311`:
a kit_dir with sources/Python-3.11.X.<ext> (Debian's orig tarball of python3.11, byte-identical
to upstream's, the only CPython source this machine can download) and a cp311 wheelhouse, for
the tests that build CPython (test_playbooks_site.py, test_playbooks_fleet_python.py).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.isofixture import MediaIso, build_test_iso, missing_tools
from tests.e2e.playbookrun import REPO

DEBIAN_SOURCES = """\
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""


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
def test_media(tmp_path_factory: pytest.TempPathFactory) -> MediaIso:
    """The stand-in ISO with its tree and its signing key's fingerprint."""
    require_playbook_host()
    return build_test_iso(tmp_path_factory.mktemp("iso"))


@pytest.fixture(scope="session")
def test_iso(test_media: MediaIso) -> Path:
    return test_media.path


@pytest.fixture(scope="session")
def kit36(tmp_path_factory: pytest.TempPathFactory) -> Path:
    kit = tmp_path_factory.mktemp("kit36")
    fetch_wheelhouse(kit / "wheelhouse", "3.6.15", "manylinux1")
    return kit


def _apt_source_cpython(workdir: Path) -> Path:
    """`apt-get source --download-only python3.11` with a private deb-src list (the host's
    apt configuration is left alone); apt checks the download against the signed index."""
    apt = workdir / "apt"
    (apt / "lists" / "partial").mkdir(parents=True)
    (apt / "cache").mkdir()
    (apt / "src.sources").write_text(DEBIAN_SOURCES)
    opts = [
        "-o",
        f"Dir::Etc::SourceList={apt / 'src.sources'}",
        "-o",
        "Dir::Etc::SourceParts=/dev/null",
        "-o",
        f"Dir::State::Lists={apt / 'lists'}",
        "-o",
        f"Dir::Cache={apt / 'cache'}",
    ]
    subprocess.run(["apt-get", *opts, "-qq", "update"], check=True, capture_output=True)
    dl = workdir / "dl"
    dl.mkdir()
    subprocess.run(
        ["apt-get", *opts, "-qq", "source", "--download-only", "python3.11"],
        check=True,
        capture_output=True,
        cwd=dl,
    )
    (orig,) = dl.glob("python3.11_*.orig.tar.*")
    return orig


@pytest.fixture(scope="session")
def kit311(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A kit_dir with sources/Python-3.11.X.<ext> (upstream name) and a cp311 wheelhouse."""
    require_playbook_host()
    kit = tmp_path_factory.mktemp("kit311")
    orig = _apt_source_cpython(tmp_path_factory.mktemp("apt"))
    match = re.match(r"python3\.11_(3\.11\.\d+)\.orig\.(tar\.gz|tar\.xz)$", orig.name)
    assert match, orig.name
    version, ext = match.groups()
    (kit / "sources").mkdir()
    shutil.move(orig, kit / "sources" / f"Python-{version}.{'tgz' if ext == 'tar.gz' else ext}")
    fetch_wheelhouse(kit / "wheelhouse", version, "manylinux2014")
    return kit, version
