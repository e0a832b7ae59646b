"""CPython built once on the repo server and served to the fleet (issue #13).

Three network-namespace hosts over real SSH with a LAN (tests/e2e/hosts.py), site.yml with a
`repo_server` group and no python_delivery set, so the defaults apply: the repo server (h1)
builds CPython with the python_build role (as the unprivileged build user, from the kit's
source tarball) and publishes the installed files as a deterministic tarball (publish); the
clients (h2, h3, modules by CPython 2.7.18 like CentOS 7's /usr/bin/python) download it from
the server's /python/ over HTTP, check it against the sha256 the server recorded (read over
SSH) and install it into the same prefix (http), then get the wheels and pass the smoke test.
- Same prefix everywhere: every host sees its own directory at one path (a bind mount in the
  host's own mount namespace, which `ip netns exec` gives its sshd), as separate machines would.
- No compiler on a client: gcc, cc and make are, in each client's mount namespace, a tripwire
  that records its call and fails; none is recorded, and no client ran a compile task.
- The re-run changes nothing on any host, nor would `--check --diff`.
- A tarball altered on the server is refused by a client (forced to install again) with one
  message naming the sha256 the server recorded; the client's interpreter is left as it was.
- A client killed while unpacking (the unpack script SIGKILLed half-way) has no completion
  record; the next plain run unpacks again and the smoke test passes.
The CPython is 3.11 (tests/e2e/conftest.py's kit311: Debian's orig tarball of python3.11 is
the only CPython source this machine can download; python.org is not reachable), built with
the quick options of test_playbooks_site.py's SSH build (-O0, no test modules).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import hosts
from tests.e2e.isofixture import MediaIso
from tests.e2e.playbookrun import Fault, PlayResult, run_playbook

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.network]

PREFIX = hosts.default_prefix()
SELFTEST = re.compile(r"^selftest ok: \d+ frames, 2 workers, [\d.]+ frames/s$")
APACHE = Path("/usr/sbin/apache2")
QUICK_BUILD = ["--disable-test-modules", "CFLAGS=-O0"]
COMPILERS = ("gcc", "cc", "make", "x86_64-linux-gnu-gcc-12")
TRIPWIRE = """#!/bin/sh
echo "$0 $*" >> {log}
exit 1
"""


@pytest.fixture
def fleet_prefix() -> Iterator[Path]:
    """The prefix path every host installs CPython into (each host mounts its own directory
    there); an empty directory on the machine itself, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}-fleetpy-", dir="/var/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def build_user() -> Iterator[str]:
    name = f"{PREFIX}-fbuild"
    yield name
    subprocess.run(["userdel", name], capture_output=True)


@pytest.fixture
def build_dir() -> Iterator[Path]:
    """The server's python_build_workdir, outside pytest's tmp (0700 above it)."""
    path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}-fbuild-", dir="/var/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _in_host(host: hosts.SshHost, *argv: str) -> None:
    """Run ARGV in the host's mount namespace (its sshd's: gone with the host's processes)."""
    namespace = f"/proc/{host.sshd_pid}/ns/mnt"
    assert os.readlink(namespace) != os.readlink("/proc/self/ns/mnt"), "no mount namespace"
    subprocess.run(["nsenter", f"--mount={namespace}", *argv], check=True, capture_output=True)


def _own_prefix(host: hosts.SshHost, prefix: Path) -> Path:
    """HOST.root/python mounted at PREFIX in the host's mount namespace; returns the former."""
    own = host.root / "python"
    own.mkdir(mode=0o755)
    _in_host(host, "mount", "--bind", str(own), str(prefix))
    return own


def _tripwire_compilers(host: hosts.SshHost) -> Path:
    """gcc, cc and make replaced, in the host's mount namespace, by a script that records its
    call in the returned log and fails."""
    log = host.root / "compiler-calls.log"
    wire = host.root / "tripwire"
    wire.write_text(TRIPWIRE.format(log=log))
    wire.chmod(0o755)
    targets = {os.path.realpath(p) for name in COMPILERS if (p := shutil.which(name))}
    assert targets, "no compiler to replace"
    for target in sorted(targets):
        _in_host(host, "mount", "--bind", str(wire), target)
    return log


def _record(publish_dir: Path) -> tuple[Path, dict[str, Any]]:
    (record,) = publish_dir.glob("cpython-*.json")
    return record.with_name(record.stem + ".tar.gz"), json.loads(record.read_text())


def _interpreter(own: Path, version: str) -> str:
    python = own / "bin" / f"python{version.rsplit('.', 1)[0]}"
    out = subprocess.run(
        [str(python), "-c", "import sys, ssl, zlib, sqlite3, ctypes; "
         "print('%d.%d.%d' % sys.version_info[:3])"],
        capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    return out.stdout.strip() or out.stderr


def _ran(result: PlayResult, host: str) -> set[str]:
    return {name for name, res in result.task_results(host) if not res.get("skipped")}


def test_the_repo_server_builds_cpython_once_and_clients_install_it_over_http(
    tmp_path: Path,
    test_media: MediaIso,
    kit311: tuple[Path, str],
    python27: Path,
    fleet_prefix: Path,
    build_user: str,
    build_dir: Path,
) -> None:
    test_iso = test_media.path
    missing = hosts.missing_tools() + [t for t in ("nsenter", "setfacl") if not shutil.which(t)]
    missing += [] if APACHE.exists() else [str(APACHE)]
    if missing:
        pytest.skip(f"missing tools (scripts/setup-dev.sh installs them): {missing}")
    kit, version = kit311
    (source,) = (kit / "sources").glob(f"Python-{version}.*")
    source_sha256 = hashlib.sha256(source.read_bytes()).hexdigest()
    with hosts.ssh_hosts(3, PREFIX, lan=True) as fleet:
        server, first, second = fleet.hosts
        clients = (first, second)
        assert server.lan_address
        own = {host.name: _own_prefix(host, fleet_prefix) for host in fleet.hosts}
        tripwires = {client.name: _tripwire_compilers(client) for client in clients}
        publish_dir = server.root / "srv" / "python"
        per_host: dict[str, dict[str, object]] = {
            server.name: {
                # the build user cannot reach pyenv's 2.7.18 under /root: Debian's python3
                "ansible_python_interpreter": "/usr/bin/python3",
                "media_repo_mode": "extract",
                "media_iso": test_iso,
                "media_repo_iso_sha256": hashlib.sha256(test_iso.read_bytes()).hexdigest(),
                "media_repo_iso_dir": server.root / "isocopy",
                "media_repo_extract_dir": server.root / "media",
                "media_repo_reposdir": server.root / "yum.repos.d",
                "repo_server_dir": server.root / "srv",
                "python_publish_dir": publish_dir,
                "repo_server_service_manager": "none",
                "repo_server_config_file": server.root / "httpd.conf",
                "repo_server_pid_file": server.root / "run" / "httpd.pid",
                "repo_server_log_dir": server.root / "log",
                "python_build_workdir": build_dir,
                "python_build_user": build_user,
                "app_venv": server.root / "venv",
            },
            **{
                client.name: {
                    "app_venv": client.root / "venv",
                    "wheels_dest": client.root / "wheelhouse",
                    "media_repo_reposdir": client.root / "yum.repos.d",
                    # the test ISO's own key, not CentOS 7's (the role's default); one
                    # fingerprint as a plain string: an inventory line has no YAML lists
                    "media_repo_gpgkey_fingerprints": test_media.key_fingerprint,
                    "media_repo_gpgkey_dir": client.root / "rpm-gpg",
                    "python_build_workdir": client.root / "download",
                }
                for client in clients
            },
        }
        groups = {"repo_server": [server.name], "intranet": [first.name, second.name]}

        def inventory(name: str) -> Path:
            return fleet.inventory(tmp_path / name, python27, groups=groups, per_host=per_host)

        extra: dict[str, Any] = {
            "kit_dir": str(kit),
            "kit_allow_unsigned": True,  # a wheelhouse + sources, not a packed kit
            "python_version": version,
            "python_prefix": str(fleet_prefix),
            "python_build_jobs": 2,
            "python_build_configure_extra": QUICK_BUILD,
            "smoke_workers": 2,
            "repo_server_address": server.lan_address,  # the clients' side of the server
        }
        env = fleet.ansible_env()
        runs = tmp_path / "runs"

        # -- 1. the whole fleet: the server builds and publishes, the clients download ---------
        one = run_playbook(inventory("hosts.ini"), extra, runs, env=env, timeout=1800)
        assert one.rc == 0, one.describe()
        server_ran = dict(one.task_results(server.name))
        assert server_ran["Compile CPython."]["changed"]
        assert server_ran["Pack the staging tree into the published tarball."]["changed"]
        tarball, record = _record(publish_dir)
        name = tarball.name
        slug = re.sub(r"[^A-Za-z0-9.]+", "-", str(fleet_prefix).strip("/"))
        assert name.startswith(f"cpython-{version}-{slug}-debian12-glibc2."), name
        assert f"-x86_64-src{source_sha256[:12]}-opt" in name, name
        assert record["sha256"] == hashlib.sha256(tarball.read_bytes()).hexdigest()
        assert record["source_sha256"] == source_sha256 and record["prefix"] == str(fleet_prefix)
        with tarfile.open(tarball) as tar:
            members = tar.getmembers()
        names = [m.name for m in members]
        assert names == sorted(names)  # sorted members, root-owned, one mtime
        assert {(m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, "", "")}
        assert len({m.mtime for m in members}) == 1
        assert f"bin/python{version.rsplit('.', 1)[0]}" in names
        assert f"bin/pip{version.rsplit('.', 1)[0]}" in names  # ensurepip's pip, altinstall
        access = (server.root / "log" / "airgap-kit-repo-access.log").read_text()
        for client in clients:
            assert SELFTEST.match(one.smoke_line(client.name) or ""), one.describe()
            ran = _ran(one, client.name)
            assert "Unpack the prebuilt CPython into the prefix." in ran, sorted(ran)
            assert not {"Compile CPython.", "Configure CPython.", "Build OpenSSL."} & ran
            assert not tripwires[client.name].exists(), tripwires[client.name].read_text()
            assert _interpreter(own[client.name], version) == version
            assert re.search(
                rf'^{re.escape(str(client.lan_address))} .*"GET /python/{re.escape(name)}'
                r' HTTP/1\.1" 200 ',
                access,
                re.M,
            ), (client.name, name)
            assert not list((client.root / "download").glob("*.tar.gz"))  # removed once in
        # the client's completion record is the server's plus the tarball's sha256 (a tarball
        # republished with another sha256 is installed again)
        server_record = (
            own[server.name] / "lib" / "python3.11" / "airgap-kit-build.txt"
        ).read_text()
        assert (own[first.name] / "lib" / "python3.11" / "airgap-kit-build.txt").read_text() == (
            f"{server_record.rstrip()} sha256={record['sha256']}\n"
        )
        assert (
            not (build_dir / "destdir").exists() and not (build_dir / f"Python-{version}").exists()
        )

        # -- 2. the same command again: nothing changes anywhere ------------------------------
        two = run_playbook(inventory("hosts.ini"), extra, runs, env=env, timeout=900)
        assert two.rc == 0, two.describe()
        for host in fleet.hosts:
            assert two.stats(host.name)["changed"] == 0, (host.name, two.changed_tasks(host.name))
        check = run_playbook(inventory("hosts.ini"), extra, runs, env=env, timeout=900, check=True)
        assert check.rc == 0, check.describe()
        for host in fleet.hosts:
            assert check.stats(host.name)["changed"] == 0, (
                host.name,
                check.changed_tasks(host.name),
            )

        # -- 3. the tarball altered on the server: a client installing it refuses it ----------
        before = (own[first.name] / "bin" / "python3.11").read_bytes()
        good = tarball.read_bytes()
        with tarball.open("ab") as handle:
            handle.write(b"\0" * 512)
        per_host[first.name]["python_build_force"] = True
        bad = run_playbook(
            inventory("hosts-forced.ini"), extra, runs, env=env, timeout=900, limit=first.name
        )
        assert bad.rc != 0, bad.describe()
        (failure,) = bad.failures(first.name)
        assert failure.startswith(
            "Stop when the download failed or does not match.: "
            f"http://{server.lan_address}:80/python/{name} does not have the sha256 the repo "
            f"server {server.name} recorded when it built it ({record['sha256']})"
        ), failure
        assert "Refused; nothing was installed." in failure, failure
        assert "Unpack the prebuilt CPython into the prefix." not in _ran(bad, first.name)
        assert (own[first.name] / "bin" / "python3.11").read_bytes() == before
        assert _interpreter(own[first.name], version) == version
        assert not list((first.root / "download").glob("*.tar.gz"))  # the bad bytes are gone
        assert not tripwires[first.name].exists()

        # -- 4. killed while unpacking: the next plain run installs again ---------------------
        tarball.write_bytes(good)
        record_file = own[first.name] / "lib" / "python3.11" / "airgap-kit-build.txt"
        stage = own[first.name] / ".airgap-kit-unpack"
        unpack = Fault(
            ready=str(stage / "lib" / "python3.11" / "*.py"),
            command="prebuilt_python.py",
            roots=(first.sshd_pid,),
            matches=50,
        )
        killed = run_playbook(
            inventory("hosts-forced.ini"), extra, runs, env=env, timeout=900, limit=first.name,
            fault=unpack,
        )  # fmt: skip
        assert killed.killed and killed.rc != 0, killed.describe()
        failed = [name for name, res in killed.task_results(first.name) if res.get("failed")]
        assert failed == ["Unpack the prebuilt CPython into the prefix."], failed
        assert stage.is_dir() and not record_file.exists()  # half-way, and known to be
        del per_host[first.name]["python_build_force"]
        resumed = run_playbook(
            inventory("hosts.ini"), extra, runs, env=env, timeout=900, limit=first.name
        )
        assert resumed.rc == 0, resumed.describe()
        assert "Unpack the prebuilt CPython into the prefix." in _ran(resumed, first.name)
        assert not stage.exists() and record_file.exists()
        assert _interpreter(own[first.name], version) == version
        assert SELFTEST.match(resumed.smoke_line(first.name) or ""), resumed.describe()
        assert not tripwires[first.name].exists()
        apache_pid = int((server.root / "run" / "httpd.pid").read_text().split()[0])
    deadline = time.monotonic() + 10
    while Path(f"/proc/{apache_pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not Path(f"/proc/{apache_pid}").exists()
