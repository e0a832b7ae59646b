"""The media_repo role alone (a minimal playbook, no site.yml or group_vars) on localhost.

Real ISO (tests/e2e/isofixture.py: real rpmbuild/rpmsign/createrepo_c/xorriso), real rpm
databases. The "host" rpm database is a private one (media_repo_rpm_dbpath) holding stand-in
openssl-libs/krb5-libs packages, since the CI host is Debian; the check script runs with
Debian's /usr/bin/python3 (python3-rpm), as it would with /usr/bin/python on CentOS 7.
Mount mode and extract mode without an extraction tool need a loop mount of an iso9660 image,
which this kernel cannot mount (no iso9660 driver): the same tree as an ext2 image
(`mke2fs -d`) stands in, with media_repo_iso_fstype=ext2; the role's steps are the same.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.hosts import default_prefix
from tests.e2e.isofixture import (
    ISO_KRB5_EVR,
    ISO_OPENSSL_EVR,
    PATCHED_KRB5_EVR,
    PATCHED_OPENSSL_EVR,
    MediaIso,
    build_test_iso,
    dnf_install,
    install_into_rpmdb,
    krb5_pair,
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
        "media_repo_iso": str(iso.path),
        "media_repo_extract_dir": str(tmp / "media"),
        "media_repo_iso_dir": str(tmp / "isocopy"),
        "media_repo_reposdir": str(tmp / "yum.repos.d"),
        "media_repo_check_patched": True,
        "media_repo_check_python": str(RPM_PYTHON),
        "media_repo_check_packages": ["openssl-devel"],
        "kit_allow_unsigned": True,  # no kit here: the repository checkout
        **more,
    }


def _host_with_openssl_libs(tmp: Path, evr: tuple[str, str, str]) -> Path:
    libs, _devel = openssl_pair(tmp / "host-rpms", evr)
    dbpath = tmp / "rpmdb"
    install_into_rpmdb(dbpath, libs)
    return dbpath


def _play(tmp: Path, extra: dict[str, Any], *, check: bool = False) -> Any:
    inventory = write_inventory(tmp / "hosts.ini", RPM_PYTHON)
    return run_playbook(
        inventory, extra, tmp / "run", roles=["media_repo"], check=check, timeout=300
    )


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


def test_patched_transitive_dependency_fails_naming_the_chain(
    tmp_path: Path, iso: MediaIso
) -> None:
    """openssl-devel itself matches the host; krb5-devel, which it pulls in, does not."""
    dbpath = _host_with_openssl_libs(tmp_path, ISO_OPENSSL_EVR)
    krb5_libs, _devel = krb5_pair(tmp_path / "host-krb5", PATCHED_KRB5_EVR)
    install_into_rpmdb(dbpath, krb5_libs)
    result = _play(tmp_path, _vars(tmp_path, iso, media_repo_rpm_dbpath=str(dbpath)))
    assert result.rc != 0
    (failure,) = result.failures()
    evr = f"{ISO_KRB5_EVR[1]}-{ISO_KRB5_EVR[2]}"
    assert (
        f"krb5-libs 0:1.15.1-55.el7_9 is installed, newer than the 0:{evr} that krb5-devel on "
        "the media requires (needed by openssl-devel)"
    ) in failure, failure
    assert "krb5-devel-1.15.1-55.el7_9" in failure
    assert "openssl-libs" not in failure


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
    extra = {**_vars(tmp_path, iso), "media_repo_iso": str(tmp_path / "no-such.iso")}
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


def test_a_complete_extraction_needs_the_iso_no_more(tmp_path: Path, iso: MediaIso) -> None:
    """Extract mode: once repodata/repomd.xml is in place the ISO is neither looked for nor
    copied again (issue #13: a 10 GB copy on every run), so a run without it passes."""
    first = _play(tmp_path, _vars(tmp_path, iso, media_repo_check_patched=False))
    assert first.rc == 0, first.describe()
    gone = {**_vars(tmp_path, iso, media_repo_check_patched=False)}
    gone["media_repo_iso"] = str(tmp_path / "moved-away.iso")
    again = _play(tmp_path, gone)
    assert again.rc == 0, again.describe()
    assert again.stats()["changed"] == 0, again.changed_tasks()
    ran = {name for name, res in again.task_results() if not res.get("skipped")}
    assert not {"Look for the ISO on the host.", "Copy the ISO from the controller.",
                "Extract the ISO."} & ran, ran  # fmt: skip


@contextlib.contextmanager
def _served(tree: Path, workdir: Path) -> Iterator[str]:
    """TREE served as http://127.0.0.1:PORT/c7-media/ (Python's http.server in a thread)."""
    www = workdir / "www"
    www.mkdir()
    (www / "c7-media").symlink_to(tree)
    handler = functools.partial(_QuietHandler, directory=str(www))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _http_vars(tmp: Path, url: str, dbpath: Path, fingerprint: str) -> dict[str, Any]:
    return {
        "media_repo_mode": "http",
        "media_repo_server_url": url,
        "media_repo_gpgkey_fingerprints": [fingerprint],
        "media_repo_gpgkey_dir": str(tmp / "rpm-gpg"),
        "media_repo_reposdir": str(tmp / "yum.repos.d"),
        "media_repo_check_patched": True,
        "media_repo_check_python": str(RPM_PYTHON),
        "media_repo_check_packages": ["openssl-devel"],
        "media_repo_rpm_dbpath": str(dbpath),
    }


def test_http_mode_uses_the_servers_repo_and_checks_the_host_over_http(
    tmp_path: Path, iso: MediaIso
) -> None:
    """media_repo_mode http: the repo file names the server (gpgcheck on, the key fetched from
    the server only after its fingerprint matched the pinned one, and named as a local file),
    dnf installs through it, the patched-host check reads the server's repodata; nothing of
    the ISO is on the host. A key that is not the pinned one (the default, CentOS 7's official
    key, against the test ISO's key) stops the play before any repo file is written."""
    fingerprint = iso.key_fingerprint
    with _served(iso.tree, tmp_path) as url:
        matching = _host_with_openssl_libs(tmp_path / "ok", ISO_OPENSSL_EVR)
        result = _play(tmp_path / "ok", _http_vars(tmp_path / "ok", url, matching, fingerprint))
        assert result.rc == 0, result.describe()
        reposdir = tmp_path / "ok" / "yum.repos.d"
        text = (reposdir / "c7-media.repo").read_text()
        assert f"baseurl = {url}/c7-media/" in text and "gpgcheck = 1" in text, text
        key = tmp_path / "ok" / "rpm-gpg" / "RPM-GPG-KEY-CentOS-7-c7-media"
        assert f"gpgkey = file://{key}\n" in text, text
        assert key.read_bytes() == (iso.tree / "RPM-GPG-KEY-CentOS-7").read_bytes()
        ok = dnf_install(reposdir, ["c7-media"], tmp_path / "dnfroot", "airgap-probe")
        assert ok.returncode == 0, ok.stdout + ok.stderr
        (tmp_path / "pinned").mkdir()
        official = _http_vars(tmp_path / "pinned", url, matching, fingerprint)
        del official["media_repo_gpgkey_fingerprints"]  # the role's default: CentOS 7's key
        wrong = _play(tmp_path / "pinned", official)
        assert wrong.rc != 0
        (failure,) = wrong.failures()
        assert (
            f"holds the key {fingerprint}, not the pinned 6341AB2753D78A78A7C27BB124C6A8A7F4A80EB5"
            in (failure)
        )
        assert not (tmp_path / "pinned" / "yum.repos.d" / "c7-media.repo").exists()
        assert not list((tmp_path / "pinned" / "rpm-gpg").iterdir())
        patched = _host_with_openssl_libs(tmp_path / "patched", PATCHED_OPENSSL_EVR)
        refused = _play(
            tmp_path / "patched", _http_vars(tmp_path / "patched", url, patched, fingerprint)
        )
        assert refused.rc != 0
        (failure,) = refused.failures()
        assert "openssl-libs 1:1.0.2k-26.el7_9 is installed, newer than the 1:1.0.2k-19.el7" in (
            failure
        )
    assert not list((tmp_path / "ok").rglob("*.iso")) and not (tmp_path / "ok" / "media").exists()
    (tmp_path / "down").mkdir()
    down = _play(tmp_path / "down", _http_vars(tmp_path / "down", url, matching, fingerprint))
    assert down.rc != 0
    (failure,) = down.failures()
    assert f"The repo server does not serve {url}/c7-media/repodata/repomd.xml" in failure
    assert not (tmp_path / "down" / "yum.repos.d").exists()


PREFIX = default_prefix()


@pytest.fixture
def ext2_image(iso: MediaIso) -> Iterator[Path]:
    """The test ISO's tree as an ext2 image under /var/tmp (see the module docstring)."""
    where = Path(tempfile.mkdtemp(prefix=f"{PREFIX}-media-", dir="/var/tmp"))
    image = where / "CentOS-7-x86_64-test.img"
    subprocess.run(
        ["mke2fs", "-q", "-t", "ext2", "-d", str(iso.tree), str(image), "16M"], check=True
    )
    yield image
    shutil.rmtree(where, ignore_errors=True)


@pytest.fixture
def unmount(tmp_path: Path) -> Iterator[Path]:
    """The mount point; whatever the role mounted there is unmounted afterwards."""
    point = tmp_path / "cdrom"
    yield point
    subprocess.run(["umount", str(point)], capture_output=True)


def _mount_vars(tmp: Path, iso: MediaIso, media: str, point: Path) -> dict[str, Any]:
    return _vars(
        tmp,
        iso,
        media_repo_mode="mount",
        media_repo_iso=media,
        media_repo_iso_fstype="ext2",
        media_repo_mount_point=str(point),
        media_repo_fstab=str(tmp / "fstab"),
        media_repo_tmpfiles_dir=str(tmp),
        media_repo_check_patched=False,
    )


def _source(point: Path) -> str:
    return subprocess.run(
        ["findmnt", "--noheadings", "--output", "SOURCE", "--mountpoint", str(point)],
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.fixture
def loop_device(ext2_image: Path) -> Iterator[str]:
    """A read-only loop block device over the image: a DVD drive stand-in (like /dev/sr0)."""
    device = subprocess.run(
        ["losetup", "--find", "--show", "--read-only", str(ext2_image)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    yield device
    subprocess.run(["losetup", "-d", device], capture_output=True)


def test_mount_mode_from_a_block_device_checks_its_sha256_and_is_idempotent(
    tmp_path: Path, iso: MediaIso, ext2_image: Path, loop_device: str, unmount: Path
) -> None:
    extra = _mount_vars(tmp_path, iso, loop_device, unmount)
    extra["media_repo_iso_sha256"] = hashlib.sha256(ext2_image.read_bytes()).hexdigest()
    (tmp_path / "yum.repos.d").mkdir()  # as /etc/yum.repos.d exists on every host
    check = _play(tmp_path, extra, check=True)
    assert check.rc == 0, check.describe()
    assert check.stats()["changed"] > 0 and not _source(unmount)  # --check mounts nothing
    # --diff shows the fstab line and the repo file that a real run would write.
    assert f"+{loop_device} {unmount} ext2 ro,nofail 0 0" in check.stdout, check.stdout[-3000:]
    assert f"+baseurl = file://{unmount}/" in check.stdout, check.stdout[-3000:]
    assert not (tmp_path / "yum.repos.d" / "c7-media.repo").exists()
    first = _play(tmp_path, extra)
    assert first.rc == 0, first.describe()
    assert _source(unmount) == loop_device
    fstab = (tmp_path / "fstab").read_text()
    assert f"{loop_device} {unmount} ext2 ro,nofail 0 0" in fstab  # a device: no loop option
    check = _play(tmp_path, extra, check=True)
    assert check.rc == 0 and check.stats()["changed"] == 0, check.describe()
    second = _play(tmp_path, extra)
    assert second.rc == 0 and second.stats()["changed"] == 0, second.changed_tasks()
    _assert_repo_root(tmp_path, unmount)

    # The mount is explicit, not `mount POINT` (which reads /etc/fstab, not media_repo_fstab):
    # unmounted (a reboot with the DVD missing, say), the next run mounts it again.
    subprocess.run(["umount", str(unmount)], check=True)
    third = _play(tmp_path, extra)
    assert third.rc == 0 and third.changed_tasks() == ["Mount the ISO."], third.describe()
    wrong = {**extra, "media_repo_iso_sha256": "0" * 64}
    refused = _play(tmp_path, wrong)
    assert refused.rc != 0 and f"{loop_device} has sha256" in refused.failures()[0]


def _assert_repo_root(tmp: Path, root: Path) -> None:
    repo = (tmp / "yum.repos.d" / "c7-media.repo").read_text()
    assert f"baseurl = file://{root}/" in repo


def test_mount_mode_from_var_tmp_exempts_the_iso_from_tmpfiles_ageing(
    tmp_path: Path, iso: MediaIso, ext2_image: Path, unmount: Path
) -> None:
    extra = _mount_vars(tmp_path, iso, str(ext2_image), unmount)
    result = _play(tmp_path, extra)
    assert result.rc == 0, result.describe()
    assert _source(unmount).startswith("/dev/loop")
    assert f"{ext2_image} {unmount} ext2 ro,loop,nofail 0 0" in (tmp_path / "fstab").read_text()
    rule = (tmp_path / "airgap-kit-media.conf").read_text().splitlines()
    assert f"x {ext2_image}" in rule  # tmpfiles.d(5): never aged


def test_extract_mode_without_an_extraction_tool_loop_mounts_and_copies(
    tmp_path: Path, iso: MediaIso, ext2_image: Path
) -> None:
    extra = _vars(
        tmp_path,
        iso,
        media_repo_iso=str(ext2_image),
        media_repo_iso_fstype="ext2",
        media_repo_extract_tools=[],
        media_repo_check_patched=False,
    )
    result = _play(tmp_path, extra)
    assert result.rc == 0, result.describe()
    media = tmp_path / "media"
    assert (media / "repodata" / "repomd.xml").is_file()
    assert sorted(p.name for p in (media / "Packages").iterdir()) == sorted(
        p.name for p in (iso.tree / "Packages").iterdir()
    )
    attached = subprocess.run(["losetup", "-j", str(ext2_image)], capture_output=True, text=True)
    assert attached.stdout == ""  # the temporary loop mount is gone again
    got = dnf_install(tmp_path / "yum.repos.d", ["c7-media"], tmp_path / "root", "airgap-probe")
    assert got.returncode == 0, got.stdout + got.stderr


def _fake_getenforce(directory: Path, answer: str) -> dict[str, str]:
    """A PATH whose getenforce prints ANSWER (SELinux is not enabled on this machine)."""
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "getenforce"
    script.write_text(f"#!/bin/sh\necho {answer}\n")
    script.chmod(0o755)
    return {"PATH": f"{directory}:{os.environ['PATH']}"}


@pytest.mark.parametrize(("answer", "context"), [("Enforcing", True), ("Disabled", False)])
def test_mount_mode_gives_the_isos_files_a_context_where_selinux_is_on(
    tmp_path: Path, iso: MediaIso, ext2_image: Path, unmount: Path, answer: str, context: bool
) -> None:
    """iso9660 has no labels (restorecon cannot set one): with media_repo_mount_context set (the
    repo server's default) and getenforce saying Enforcing, fstab and the mount get
    context=...; with SELinux disabled no such option (a kernel without SELinux rejects it).
    --check --diff shows the fstab line (this kernel mounts no iso9660 and has no SELinux)."""
    label = "system_u:object_r:httpd_sys_content_t:s0"
    extra = {
        **_mount_vars(tmp_path, iso, str(ext2_image), unmount),
        "media_repo_mount_context": label,
    }
    (tmp_path / "yum.repos.d").mkdir()
    inventory = write_inventory(tmp_path / "hosts.ini", RPM_PYTHON)
    env = _fake_getenforce(tmp_path / "bin", answer)
    check = run_playbook(
        inventory, extra, tmp_path / "run", roles=["media_repo"], check=True, timeout=300, env=env
    )
    assert check.rc == 0, check.describe()
    options = "ro,loop,nofail" + (f",context={label}" if context else "")
    assert f"+{ext2_image} {unmount} ext2 {options} 0 0\n" in check.stdout, check.stdout[-3000:]
