"""The media_repo role alone (`--tags media_repo`) on localhost: checks that fail early.

Real ISO (tests/e2e/isofixture.py: real rpmbuild/rpmsign/createrepo_c/xorriso), real rpm
databases. The "host" rpm database is a private one (media_repo_rpm_dbpath) holding stand-in
openssl-libs packages, since the CI host is Debian; the check script runs with Debian's
/usr/bin/python3 (python3-rpm), as it would with /usr/bin/python on CentOS 7.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.isofixture import (
    ISO_OPENSSL_EVR,
    PATCHED_OPENSSL_EVR,
    MediaIso,
    build_test_iso,
    dnf_install,
    install_into_rpmdb,
    missing_tools,
    openssl_pair,
    sign,
)
from tests.e2e.playbookrun import run_playbook, write_inventory

pytestmark = pytest.mark.e2e

RPM_PYTHON = Path("/usr/bin/python3")


@pytest.fixture(scope="module")
def iso(tmp_path_factory: pytest.TempPathFactory) -> MediaIso:
    missing = missing_tools()
    if missing:
        pytest.skip(f"missing tools (scripts/setup-dev.sh installs them): {missing}")
    if subprocess.run([str(RPM_PYTHON), "-c", "import rpm"], capture_output=True).returncode:
        pytest.skip("needs Debian's python3-rpm (scripts/setup-dev.sh installs it)")
    return build_test_iso(tmp_path_factory.mktemp("iso"))


def _vars(tmp: Path, iso: MediaIso, **more: Any) -> dict[str, Any]:
    return {
        "media_repo_mode": "extract",
        "media_iso": str(iso.path),
        "media_repo_extract_dir": str(tmp / "media"),
        "media_repo_iso_dir": str(tmp / "isocopy"),
        "media_repo_reposdir": str(tmp / "yum.repos.d"),
        "media_repo_check_patched": True,
        "media_repo_check_python": str(RPM_PYTHON),
        **more,
    }


def _host_with_openssl_libs(tmp: Path, evr: tuple[str, str, str]) -> Path:
    libs, _devel = openssl_pair(tmp / "host-rpms", evr)
    dbpath = tmp / "rpmdb"
    install_into_rpmdb(dbpath, libs)
    return dbpath


def _play(tmp: Path, extra: dict[str, Any]) -> Any:
    inventory = write_inventory(tmp / "hosts.ini", RPM_PYTHON)
    return run_playbook(inventory, extra, tmp / "run", tags=["media_repo"], timeout=300)


def test_host_with_the_isos_versions_passes(tmp_path: Path, iso: MediaIso) -> None:
    dbpath = _host_with_openssl_libs(tmp_path, ISO_OPENSSL_EVR)
    result = _play(tmp_path, _vars(tmp_path, iso, media_repo_rpm_dbpath=str(dbpath)))
    assert result.rc == 0, result.describe()
    assert (tmp_path / "media" / "repodata" / "repomd.xml").is_file()
    assert (tmp_path / "yum.repos.d" / "c7-media.repo").is_file()


def test_host_patched_past_the_iso_fails_early_with_instructions(
    tmp_path: Path, iso: MediaIso
) -> None:
    dbpath = _host_with_openssl_libs(tmp_path, PATCHED_OPENSSL_EVR)
    result = _play(tmp_path, _vars(tmp_path, iso, media_repo_rpm_dbpath=str(dbpath)))
    assert result.rc != 0
    (failure,) = result.failures()
    assert "This host is patched past the ISO" in failure
    assert "openssl-libs 1:1.0.2k-26.el7_9 is installed, newer than the 1:1.0.2k-19.el7" in failure
    assert "openssl-devel-1.0.2k-26.el7_9" in failure  # what to download
    assert "media_repo_updates_dir" in failure  # where to put it


def test_matching_updates_repo_satisfies_the_check(tmp_path: Path, iso: MediaIso) -> None:
    """The fix the failure message describes: matching RPMs in a createrepo_c directory."""
    dbpath = _host_with_openssl_libs(tmp_path, PATCHED_OPENSSL_EVR)
    updates = tmp_path / "updates"
    updates.mkdir()
    for rpm in openssl_pair(tmp_path / "vault", PATCHED_OPENSSL_EVR):
        shutil.copy2(rpm, updates / rpm.name)
    sign(sorted(updates.glob("*.rpm")), iso.gnupg)  # CentOS signs updates with the ISO's key
    subprocess.run(["createrepo_c", "--quiet", str(updates)], check=True)
    extra = _vars(tmp_path, iso, media_repo_rpm_dbpath=str(dbpath))
    extra["media_repo_updates_dir"] = str(updates)
    result = _play(tmp_path, extra)
    assert result.rc == 0, result.describe()
    repos = tmp_path / "yum.repos.d"
    assert (repos / "c7-media-updates.repo").is_file()
    got = dnf_install(repos, ["c7-media", "c7-media-updates"], tmp_path / "root", "openssl-devel")
    assert got.returncode == 0, got.stdout + got.stderr
    installed = subprocess.run(
        ["rpm", "--root", str(tmp_path / "root"), "-q", "openssl-devel"],
        capture_output=True,
        text=True,
    ).stdout
    assert installed.strip() == "openssl-devel-1.0.2k-26.el7_9.x86_64"


def test_wrong_iso_checksum_fails(tmp_path: Path, iso: MediaIso) -> None:
    wrong = hashlib.sha256(b"not the iso").hexdigest()
    result = _play(tmp_path, _vars(tmp_path, iso, media_repo_iso_sha256=wrong))
    assert result.rc != 0
    (failure,) = result.failures()
    assert f"not the expected {wrong}" in failure
    assert not (tmp_path / "media").exists()  # nothing extracted from a wrong ISO


def test_iso_missing_everywhere_fails_with_a_clear_message(tmp_path: Path, iso: MediaIso) -> None:
    extra = {**_vars(tmp_path, iso), "media_iso": str(tmp_path / "no-such.iso")}
    result = _play(tmp_path, extra)
    assert result.rc != 0
    (failure,) = result.failures()
    assert "is neither on localhost nor on the controller" in failure


def test_none_mode_writes_nothing(tmp_path: Path, iso: MediaIso) -> None:
    result = _play(tmp_path, {**_vars(tmp_path, iso), "media_repo_mode": "none"})
    assert result.rc == 0, result.describe()
    assert not (tmp_path / "yum.repos.d").exists()
    assert not (tmp_path / "media").exists()
    ran = [name for name, res in result.task_results() if not res.get("skipped")]
    assert "Check the media repo settings." in ran, ran
