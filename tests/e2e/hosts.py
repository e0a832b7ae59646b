"""Test hosts reached over real SSH: one network namespace per host, for the playbook tests.

`ssh_hosts(count, prefix, workdir)` (a context manager) makes COUNT hosts, each with
- its own network namespace `PREFIX-hN` joined to the root namespace by a veth pair
  (`PREFIX-hNa` outside, `PREFIX-hNb` inside) on a free 10.x.y.0/30 subnet;
- its own sshd (`/usr/sbin/sshd -D` inside the namespace, its own host key, key authentication
  only, no PAM), listening on the namespace's address, port 22;
- one non-root login user `PREFIX-deploy` (shared by the hosts: namespaces share /etc/passwd)
  with passwordless sudo (`/etc/sudoers.d/PREFIX-deploy`), the way an operator's Ansible
  account on CentOS 7 is set up;
- its own directory (`host.root`): namespaces share the file system, so every path a test
  deploys to must be per host.
The controller's key and known_hosts (`StrictHostKeyChecking=yes`) are in WORKDIR.
With `lan=True` the hosts also share a LAN that the controller is not on: a bridge
`PREFIX-lan` inside the first host's namespace (the repo server of the fleet tests), with each
other host's `PREFIX-hNl` veth joined to it (`PREFIX-hNm` on the bridge side), addresses
172.31.N.x/24 (`host.lan_address`); no host has a default route, so the LAN is the only
network a host reaches besides its SSH link.
`inventory(...)` writes an Ansible inventory; modules should run with CPython 2.7.18
(`python27` fixture), standing in for CentOS 7's /usr/bin/python.

Everything is removed at exit, also after a failure: the sshd processes (by the PIDs started
here), every process still running inside one of the namespaces (a daemon a play started there,
such as the repo server's web server), the namespaces and veth devices, the sudoers file, the
user. Names carry PREFIX so that
parallel users of one machine do not collide; callers pass their own (the tests use
`default_prefix()`: $KIT_TEST_PREFIX, else the checkout directory's name). Needs root,
iproute2, openssh-server, sudo, and acl when a play becomes an unprivileged user other than the
login user (scripts/setup-dev.sh installs them).
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

TOOLS = ("ip", "ssh", "ssh-keygen", "sudo", "visudo", "useradd", "userdel")
SSHD = Path("/usr/sbin/sshd")


def missing_tools() -> list[str]:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    return missing + ([] if SSHD.exists() else [str(SSHD)])


def default_prefix() -> str:
    """A short name for this checkout (interface names have at most 15 characters):
    $KIT_TEST_PREFIX when set (two checkouts of one name on a machine), else the checkout
    directory's name."""
    given = os.environ.get("KIT_TEST_PREFIX", "")
    base = given or Path(__file__).resolve().parents[2].name
    name = re.sub(r"[^a-z0-9]", "", base.lower())
    return (name or "kit")[:6]


@dataclass(frozen=True)
class SshHost:
    name: str
    namespace: str
    address: str
    root: Path
    sshd_pid: int
    lan_address: str | None = None


@dataclass
class SshHosts:
    hosts: list[SshHost]
    user: str
    key: Path
    known_hosts: Path
    workdir: Path

    def ansible_env(self) -> dict[str, str]:
        """Settings for ansible-playbook: a short ControlPath directory (sockets are limited to
        108 bytes), remote temp files in the login user's home."""
        return {
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(self.workdir / "cp"),
            "ANSIBLE_REMOTE_TEMP": "~/.ansible/tmp",
        }

    def inventory(
        self,
        path: Path,
        module_python: Path | str,
        *,
        groups: dict[str, list[str]] | None = None,
        per_host: dict[str, dict[str, object]] | None = None,
        **host_vars: object,
    ) -> Path:
        """An inventory of every host: SSH as the login user, become root with sudo; HOST_VARS
        on every host's line, PER_HOST[name] on that host's; GROUPS (name -> host names) as
        [group] sections after the ungrouped hosts."""
        ssh_args = (
            f"-o UserKnownHostsFile={self.known_hosts} -o StrictHostKeyChecking=yes "
            "-o IdentitiesOnly=yes"
        )
        lines = {}
        for host in self.hosts:
            own = {**host_vars, **(per_host or {}).get(host.name, {})}
            extra = " ".join(f"{k}={v}" for k, v in own.items())
            lines[host.name] = (
                f"{host.name} ansible_host={host.address} ansible_user={self.user} "
                f"ansible_ssh_private_key_file={self.key} ansible_become=true "
                f"ansible_python_interpreter={module_python} "
                f"ansible_ssh_common_args='{ssh_args}' {extra}".rstrip()
            )
        grouped = {name for names in (groups or {}).values() for name in names}
        out = [line for name, line in lines.items() if name not in grouped]
        for group, names in (groups or {}).items():
            out += ["", f"[{group}]", *(lines[name] for name in names)]
        path.write_text("\n".join(out) + "\n")
        return path

    def pids(self) -> list[int]:
        return [h.sshd_pid for h in self.hosts]


def _run(*argv: str | Path) -> str:
    proc = subprocess.run([str(a) for a in argv], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))}: {proc.stderr.strip()}")
    return proc.stdout


def _used_networks() -> list[ipaddress.IPv4Network]:
    out = _run("ip", "-4", "-o", "addr", "show") + _run("ip", "-4", "route", "show")
    found = re.findall(r"\b(\d+\.\d+\.\d+\.\d+(?:/\d+)?)", out)
    return [ipaddress.ip_network(a, strict=False) for a in found]


def _descendants(roots: list[int]) -> list[int]:
    """Every live process below ROOTS (by /proc's parent links)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: list[int] = []
    frontier = set(roots)
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        found += children
        frontier = set(children)
    return found


def _netns_pids(name: str) -> list[int]:
    """The processes whose network namespace is NAME (`ip netns pids`)."""
    proc = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True)
    return [int(p) for p in proc.stdout.split() if p.isdigit()]


def _end_namespace_processes(names: list[str]) -> None:
    """SIGTERM, then SIGKILL, every process left inside the namespaces NAMES."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = [pid for name in names for pid in _netns_pids(name)]
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_netns_pids(n) for n in names):
            time.sleep(0.1)


def _make_lan(prefix: str, hosts: list[SshHost], seed: int) -> list[SshHost]:
    """A bridge in the first host's namespace and a veth from each other host to it."""
    server = hosts[0].namespace
    net = ipaddress.ip_network(f"172.31.{seed % 250}.0/24")
    addresses = [str(a) for a in list(net.hosts())[: len(hosts)]]
    bridge = f"{prefix}-lan"
    _run("ip", "-n", server, "link", "add", bridge, "type", "bridge")
    _run("ip", "-n", server, "addr", "add", f"{addresses[0]}/24", "dev", bridge)
    _run("ip", "-n", server, "link", "set", bridge, "up")
    out = [dataclasses.replace(hosts[0], lan_address=addresses[0])]
    for index, host in enumerate(hosts[1:], start=2):
        inside, port = f"{prefix}-h{index}l", f"{prefix}-h{index}m"
        _run("ip", "-n", host.namespace, "link", "add", inside, "type", "veth", "peer", "name",
             port, "netns", server)  # fmt: skip
        _run("ip", "-n", server, "link", "set", port, "master", bridge)
        _run("ip", "-n", server, "link", "set", port, "up")
        _run("ip", "-n", host.namespace, "addr", "add", f"{addresses[index - 1]}/24", "dev", inside)
        _run("ip", "-n", host.namespace, "link", "set", inside, "up")
        out.append(dataclasses.replace(host, lan_address=addresses[index - 1]))
    return out


def _free_subnet(seed: int) -> ipaddress.IPv4Network:
    used = _used_networks()
    for step in range(4096):
        n = (seed + step) % (200 * 64)
        net = ipaddress.ip_network(f"10.{40 + n // 64}.0.{(n % 64) * 4}/30")
        if not any(net.overlaps(u) for u in used):
            return net
    raise RuntimeError("no free 10.x.y.0/30 subnet for a test host")


def _wait_for_port(address: str, deadline: float) -> None:
    while True:
        with contextlib.suppress(OSError), socket.create_connection((address, 22), timeout=1):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"sshd on {address}:22 did not start")
        time.sleep(0.1)


SSHD_CONFIG = """\
ListenAddress {address}
Port 22
HostKey {hostkey}
PidFile {root}/sshd.pid
AuthorizedKeysFile {workdir}/authorized_keys/%u
AllowUsers {user}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin no
StrictModes no
Subsystem sftp internal-sftp
LogLevel ERROR
"""


@contextlib.contextmanager
def ssh_hosts(
    count: int, prefix: str, workdir: Path | None = None, *, lan: bool = False
) -> Iterator[SshHosts]:
    """COUNT SSH hosts named PREFIX-h1..N (see the module docstring), with a LAN between them
    when LAN; removed at exit."""
    if os.geteuid() != 0:
        raise RuntimeError("network-namespace SSH hosts need root")
    base = Path(tempfile.mkdtemp(prefix=f"{prefix}-hosts-", dir=workdir))
    base.chmod(0o755)  # the login user's home is in here
    user = f"{prefix}-deploy"
    sudoers = Path(f"/etc/sudoers.d/{prefix}-deploy")
    namespaces: list[str] = []
    sshds: list[subprocess.Popen[bytes]] = []
    user_made = False
    try:
        home = base / "home"
        # A run killed before its cleanup may have left this prefix's user or namespaces.
        subprocess.run(["userdel", user], capture_output=True)
        _end_namespace_processes([f"{prefix}-h{index}" for index in range(1, count + 1)])
        for index in range(1, count + 1):
            subprocess.run(["ip", "link", "del", f"{prefix}-h{index}a"], capture_output=True)
            subprocess.run(["ip", "netns", "del", f"{prefix}-h{index}"], capture_output=True)
        _run("useradd", "--create-home", "--home-dir", home, "--shell", "/bin/sh", user)
        user_made = True
        _run("usermod", "-p", "*", user)  # no password, but not locked (sshd without PAM)
        rule = base / "sudoers"
        rule.write_text(f"{user} ALL=(ALL) NOPASSWD: ALL\n")
        _run("visudo", "-cf", rule)
        shutil.copy(rule, sudoers)
        sudoers.chmod(0o440)
        key = base / "id_ed25519"
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{prefix}-controller", "-f", key)
        (base / "authorized_keys").mkdir()
        (base / "authorized_keys" / user).write_text(key.with_suffix(".pub").read_text())
        (base / "cp").mkdir()
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation dir
        known = []
        hosts = []
        seed = sum(map(ord, prefix)) * 7 + os.getpid() % 97
        for index in range(1, count + 1):
            name = f"{prefix}-h{index}"
            root = base / name
            root.mkdir()
            net = _free_subnet(seed + index)
            outside, inside = (str(a) for a in list(net.hosts())[:2])
            _run("ip", "netns", "add", name)
            namespaces.append(name)
            _run("ip", "link", "add", f"{name}a", "type", "veth", "peer", "name", f"{name}b")
            _run("ip", "link", "set", f"{name}b", "netns", name)
            _run("ip", "addr", "add", f"{outside}/30", "dev", f"{name}a")
            _run("ip", "link", "set", f"{name}a", "up")
            _run("ip", "-n", name, "addr", "add", f"{inside}/30", "dev", f"{name}b")
            _run("ip", "-n", name, "link", "set", f"{name}b", "up")
            _run("ip", "-n", name, "link", "set", "lo", "up")
            hostkey = root / "ssh_host_ed25519_key"
            _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", hostkey)
            config = root / "sshd_config"
            config.write_text(
                SSHD_CONFIG.format(
                    address=inside, hostkey=hostkey, root=root, workdir=base, user=user
                )
            )
            _run(SSHD, "-t", "-f", config)
            sshd = subprocess.Popen(
                ["ip", "netns", "exec", name, str(SSHD), "-D", "-e", "-f", str(config)],
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=open(root / "sshd.log", "wb"),  # noqa: SIM115 - closed with the process
            )
            sshds.append(sshd)
            _wait_for_port(inside, time.monotonic() + 20)
            kind, blob = hostkey.with_suffix(".pub").read_text().split()[:2]
            known.append(f"{inside} {kind} {blob}")
            hosts.append(SshHost(name, name, inside, root, sshd.pid))
        known_hosts = base / "known_hosts"
        known_hosts.write_text("\n".join(known) + "\n")
        if lan:
            hosts = _make_lan(prefix, hosts, seed)
        yield SshHosts(hosts, user, key, known_hosts, base)
    finally:
        # The controller's ControlPersist masters (ansible's ssh), then each sshd with every
        # process below it: its connections run in sessions of their own (setsid), so killing
        # the daemon's process group would leave them, and with them the login user.
        for socket_path in (base / "cp").glob("*"):
            subprocess.run(
                ["ssh", "-o", f"ControlPath={socket_path}", "-O", "exit", "placeholder"],
                capture_output=True,
                timeout=30,
            )
        started = [sshd.pid for sshd in sshds]
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in _descendants(started) + started:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + 10
            while any(s.poll() is None for s in sshds) and time.monotonic() < deadline:
                time.sleep(0.1)
            if not _descendants(started) and all(s.poll() is not None for s in sshds):
                break
        for sshd in sshds:
            sshd.wait()
        _end_namespace_processes(namespaces)
        for name in namespaces:
            subprocess.run(["ip", "link", "del", f"{name}a"], capture_output=True)
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
        sudoers.unlink(missing_ok=True)
        if user_made:
            subprocess.run(["userdel", user], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
