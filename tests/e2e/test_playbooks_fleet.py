"""A fleet for real: one repo server feeds two clients over a LAN, rolled out in batches.

Three network-namespace hosts reached over real SSH (tests/e2e/hosts.py: key authentication,
known_hosts checked, a non-root user with sudo, every module run by CPython 2.7.18 like CentOS
7's /usr/bin/python), joined by a LAN inside the first one's namespace that the controller is
not on; no host has a default route. site.yml with the inventory group `repo_server`:
- the repo server (h1) extracts the signed test ISO and serves it, the cp36/manylinux1
  wheelhouse and its page of links with Debian's Apache (the repo_server role, its own
  instance, `repo_server_service_manager: none`: no systemd here) on its LAN address only;
- the clients (h2, h3: media_repo_mode http by default) get a repo file naming the server
  (gpgcheck on, the key from the server: dnf run inside a client's namespace installs a signed
  package and refuses an unsigned one through it), only install.sh and the lock files (no ISO,
  no wheel), and install the wheels into CPython 3.6.15 from the server's URL with pip 18.1
  (`--find-links URL --require-hashes`, the access log shows each client fetching each wheel);
  the smoke test passes; the summary names each host's Python, packages and throughput;
- a second run changes nothing on any host;
- with the web server stopped, a fresh client fails with one message naming the server's URL,
  and nothing was made;
- with `rollout_serial: 1` and the first client broken, the rollout stops after its batch:
  the summary names the failed host and the one never started, which Ansible never touched.
Every process the test started (the sshds, Apache in the server's namespace) and every
namespace is gone at the end.
"""

from __future__ import annotations

import configparser
import hashlib
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import hosts
from tests.e2e.isofixture import MediaIso, dnf_install
from tests.e2e.playbookrun import PlayResult, run_playbook

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.network]

PREFIX = hosts.default_prefix()
SELFTEST = re.compile(r"^selftest ok: \d+ frames, 2 workers, [\d.]+ frames/s$")
APACHE = Path("/usr/sbin/apache2")
REQUIRED_MODULES = ["ssl", "_hashlib", "zlib", "bz2", "lzma", "sqlite3", "ctypes", "readline"]


def _importable(python: Path, modules: list[str]) -> list[str]:
    return [
        m
        for m in modules
        if subprocess.run([str(python), "-c", f"import {m}"], capture_output=True).returncode == 0
    ]


def _pins(lock: Path) -> list[str]:
    found = re.findall(r"(?m)^([A-Za-z0-9][\w.-]*==[^\s;\\]+)", lock.read_text())
    return sorted(re.sub(r"[-_.]+(?=.*==)", "-", pin.lower()) for pin in found)


def _freeze(python: Path) -> list[str]:
    out = subprocess.run(
        [str(python), "-I", "-m", "pip", "--isolated", "freeze"],
        capture_output=True,
        text=True,
        env={"PIP_CONFIG_FILE": os.devnull, "PATH": "/usr/bin:/bin"},
    ).stdout
    return sorted(re.sub(r"[-_.]+(?=.*==)", "-", line.lower()) for line in out.splitlines())


def _summary_rows(result: PlayResult) -> dict[str, list[str]]:
    """The summary callback's table: host -> its cells (split on runs of 2+ spaces)."""
    text = result.stdout.split("AIRGAP-KIT SUMMARY", 1)[1]
    rows = {}
    for line in text.splitlines()[1:]:
        cells = re.split(r"\s{2,}", line.strip())
        if cells and cells[0].startswith(f"{PREFIX}-h"):
            rows[cells[0]] = cells[1:]
    return rows


def _server_pid(pid_file: Path) -> int:
    return int(pid_file.read_text().split()[0])


def _stop_server(namespace: str, config: Path, pid_file: Path) -> None:
    pid = _server_pid(pid_file)
    subprocess.run(
        ["ip", "netns", "exec", namespace, str(APACHE), "-f", str(config), "-k", "stop"],
        check=True,
        capture_output=True,
    )
    deadline = time.monotonic() + 30
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not Path(f"/proc/{pid}").exists(), "apache2 did not stop"


def test_a_repo_server_feeds_clients_in_batches_and_a_failed_batch_stops_the_rollout(
    tmp_path: Path, test_media: MediaIso, kit36: Path, python36: Path, python27: Path
) -> None:
    test_iso = test_media.path
    missing = hosts.missing_tools() + ([] if APACHE.exists() else [str(APACHE)])
    if missing:
        pytest.skip(f"missing tools (scripts/setup-dev.sh installs them): {missing}")
    namespaces = [f"{PREFIX}-h{i}" for i in (1, 2, 3)]
    with hosts.ssh_hosts(3, PREFIX, lan=True) as fleet:
        server, first, second = fleet.hosts
        assert server.lan_address
        conf, pid_file = server.root / "httpd.conf", server.root / "run" / "httpd.pid"
        per_host: dict[str, dict[str, object]] = {
            server.name: {
                "media_repo_mode": "extract",
                "media_iso": test_iso,
                "media_repo_iso_sha256": hashlib.sha256(test_iso.read_bytes()).hexdigest(),
                "media_repo_iso_dir": server.root / "isocopy",
                "media_repo_extract_dir": server.root / "media",
                "media_repo_reposdir": server.root / "yum.repos.d",
                "repo_server_dir": server.root / "srv",
                "repo_server_service_manager": "none",
                "repo_server_config_file": conf,
                "repo_server_pid_file": pid_file,
                "repo_server_log_dir": server.root / "log",
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
                }
                for client in (first, second)
            },
        }
        groups = {"repo_server": [server.name], "intranet": [first.name, second.name]}

        def inventory(name: str) -> Path:
            return fleet.inventory(
                tmp_path / name, python27, groups=groups, per_host=per_host,
                python_interpreter=python36,
            )  # fmt: skip

        extra: dict[str, Any] = {
            "kit_dir": str(kit36),
            "kit_allow_unsigned": True,  # a wheelhouse + sources, not a packed kit
            "python_build": False,
            "python_version": "3.6.15",
            "python_build_required_modules": _importable(python36, REQUIRED_MODULES),
            "smoke_workers": 2,
            "repo_server_address": server.lan_address,  # the clients' side of the server
        }
        env = fleet.ansible_env()
        runs = tmp_path / "runs"
        url = f"http://{server.lan_address}:80"

        # -- 1. the whole fleet, default batches (a canary, then a quarter at a time) ----------
        one = run_playbook(inventory("hosts.ini"), extra, runs, env=env, timeout=1200)
        assert one.rc == 0, one.describe()
        lock = kit36 / "wheelhouse" / "requirements.lock"
        wheels = sorted(w.name for w in (kit36 / "wheelhouse").glob("*.whl"))
        rows = _summary_rows(one)
        access = (server.root / "log" / "airgap-kit-repo-access.log").read_text()
        for client in (first, second):
            assert SELFTEST.match(one.smoke_line(client.name) or ""), one.describe()
            assert _freeze(client.root / "venv" / "bin" / "python") == _pins(lock)
            # only install.sh, the locks and the files SHA256SUMS vouches for came to the
            # client: no wheel, no ISO anywhere
            assert sorted(p.name for p in (client.root / "wheelhouse").iterdir()) == [
                "SHA256SUMS",
                "install.sh",
                "manifest.json",
                "pylock.toml",
                "requirements.lock",
                "system-packages.yml",
            ]
            assert not [*client.root.rglob("*.whl"), *client.root.rglob("*.iso")]
            install = dict(one.task_results(client.name))[
                "Install the wheelhouse with its install.sh."
            ]
            assert f"--find-links {url}/wheelhouse/" in " ".join(install["cmd"])
            for wheel in wheels:  # each client fetched each wheel from the server itself
                assert re.search(
                    rf'^{re.escape(str(client.lan_address))} .*"GET /wheelhouse/{re.escape(wheel)}'
                    r' HTTP/1\.1" 200 ',
                    access,
                    re.M,
                ), (client.name, wheel)
            repo = configparser.ConfigParser()
            repo.read(client.root / "yum.repos.d" / "c7-media.repo")
            assert repo["c7-media"]["baseurl"] == f"{url}/c7-media/"
            assert repo["c7-media"]["gpgcheck"] == "1"
            key = client.root / "rpm-gpg" / "RPM-GPG-KEY-CentOS-7-c7-media"
            assert repo["c7-media"]["gpgkey"] == f"file://{key}"  # checked, then written
            assert key.read_bytes() == (test_media.tree / "RPM-GPG-KEY-CentOS-7").read_bytes()
            cells = rows[client.name]
            assert cells[0].startswith("ok") and cells[1] == "3.6.15", cells
            assert cells[2] == str(len(_pins(lock))), cells
            assert re.fullmatch(r"ok, [\d.]+ frames/s", cells[3]), cells
        # The yum repo through the server, from inside a client's namespace (dnf, gpgcheck on:
        # the key is the client's checked local copy).
        root = tmp_path / "dnfroot"
        signed = dnf_install(
            first.root / "yum.repos.d", ["c7-media"], root, "airgap-probe", first.namespace
        )
        assert signed.returncode == 0, signed.stdout + signed.stderr
        unsigned = dnf_install(
            first.root / "yum.repos.d", ["c7-media"], root, "airgap-unsigned", first.namespace
        )
        assert unsigned.returncode != 0 and "is not signed" in unsigned.stdout + unsigned.stderr
        # The server listens on its LAN address only, not on the controller's side.
        listening = subprocess.run(
            ["ip", "netns", "exec", server.namespace, "ss", "-Hltn"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert re.search(rf"\s{re.escape(server.lan_address)}:80\s", listening), listening
        assert not re.search(rf"\s({re.escape(server.address)}|0\.0\.0\.0|\*):80\s", listening)

        # -- 2. the same command again: nothing changes anywhere ------------------------------
        two = run_playbook(inventory("hosts.ini"), extra, runs, env=env, timeout=900)
        assert two.rc == 0, two.describe()
        for host in fleet.hosts:
            assert two.stats(host.name)["changed"] == 0, (host.name, two.changed_tasks(host.name))
        assert _summary_rows(two)[server.name] == ["ok (changed=0)", "-", "-", f"serves {url}"]

        # -- 3. the server stopped: a fresh client fails at once, with one message ------------
        _stop_server(server.namespace, conf, pid_file)
        fresh = second.root / "venv-fresh"
        per_host[second.name]["app_venv"] = fresh
        down = run_playbook(
            inventory("hosts-down.ini"), extra, runs, env=env, timeout=600, limit=second.name
        )
        assert down.rc != 0, down.describe()
        (failure,) = down.failures(second.name)
        expected = f"The repo server does not serve {url}/c7-media/repodata/repomd.xml"
        assert failure.startswith(f"Check that the repo server answers.: {expected}"), failure
        assert "Nothing was changed on this host." in failure
        assert down.changed_tasks(second.name) == [] and not fresh.exists()
        assert server.name not in down.data.get("stats", {})  # --limit: the server untouched
        per_host[second.name]["app_venv"] = second.root / "venv"

        # -- 4. one host per batch, the first client broken: the rollout stops there ----------
        per_host[first.name]["python_interpreter"] = first.root / "no-such-python3.6"
        before = _freeze(second.root / "venv" / "bin" / "python")
        three = run_playbook(
            inventory("hosts-broken.ini"),
            {**extra, "rollout_serial": 1},
            runs,
            env=env,
            timeout=900,
        )
        assert three.rc != 0, three.describe()
        assert three.stats(server.name)["failures"] == 0  # the server play restarted Apache
        assert three.stats(first.name)["failures"] == 1, three.describe()
        # in the recap only through the kit_verify play (run once, on the controller): the
        # deploy play, which gathers facts first, never ran there
        ran = dict(three.task_results(second.name))
        assert "Gathering Facts" not in ran, f"the next batch ran: {sorted(ran)}"
        rows = _summary_rows(three)
        assert (
            rows[first.name][0] == "failed at deploy" and rows[second.name][0] == "not started"
        ), rows
        assert (
            f"rollout stopped: failed: {first.name}; not started: {second.name}." in three.stdout
        ), three.stdout[-3000:]
        assert (
            f"{first.name}: python_build : Check that the given interpreter runs.: python_build "
            "is false, but python_interpreter " in three.stdout
        ), three.stdout[-3000:]
        assert _freeze(second.root / "venv" / "bin" / "python") == before
        apache_pid = _server_pid(pid_file)  # running again: the cleanup must end it
        assert Path(f"/proc/{apache_pid}").exists()
    # Everything the test made is gone: Apache in the server's namespace, the namespaces.
    deadline = time.monotonic() + 10
    while Path(f"/proc/{apache_pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not Path(f"/proc/{apache_pid}").exists()
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not set(namespaces) & {line.split()[0] for line in listed.splitlines() if line}
