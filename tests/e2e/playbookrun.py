"""Run the kit's playbooks for real (localhost or SSH hosts) and read the result.

`ansible-playbook` runs with the default output plus a test-only callback
(tests/e2e/ansible_plugins/kit_record.py) that writes every task result, the per-host stats
(changed=0 on a re-run) and the custom stats the smoke role records to a JSON file.
Optionally the whole run is made inside a network namespace with no network at all
(`unshare -n`): then nothing it installs can have come from the network. `check=True` runs
`--check --diff`; `roles=[...]` runs roles alone from a minimal playbook (no site.yml, no
group_vars); `fault=Fault(...)` kills a step half-way (a process of the run, found by its
command line once a file exists), as a full disk or an OOM kill would.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PLAYBOOKS = REPO / "playbooks"
BIN = Path(sys.executable).parent


@dataclass
class PlayResult:
    rc: int
    stdout: str
    stderr: str
    data: dict[str, Any] = field(default_factory=dict)
    killed: list[str] = field(default_factory=list)

    def stats(self, host: str = "localhost") -> dict[str, int]:
        return dict(self.data.get("stats", {}).get(host, {}))

    def task_results(self, host: str = "localhost") -> list[tuple[str, dict[str, Any]]]:
        out = []
        for play in self.data.get("plays", []):
            for task in play.get("tasks", []):
                result = task.get("hosts", {}).get(host)
                if result is not None:
                    out.append((task["task"]["name"], result))
        return out

    def changed_tasks(self, host: str = "localhost") -> list[str]:
        return [name for name, res in self.task_results(host) if res.get("changed")]

    def failures(self, host: str = "localhost") -> list[str]:
        return [
            f"{name}: {res.get('msg', '')} {res.get('stderr', '')}".strip()
            for name, res in self.task_results(host)
            if res.get("failed") and not res.get("ignore_errors")
        ]

    def smoke_line(self, host: str = "localhost") -> str | None:
        smoke = self.data.get("global_custom_stats", {}).get("smoke", {})
        return smoke.get(host) if isinstance(smoke, dict) else None

    def describe(self) -> str:
        """A short account for assertion messages: rc, failures, stderr tail."""
        return (
            f"rc={self.rc} stats={self.data.get('stats')}\nfailed: {self.failures()}\n"
            f"changed: {self.changed_tasks()}\nstdout tail:\n{self.stdout[-3000:]}\n"
            f"stderr tail:\n{self.stderr[-2000:]}"
        )


def can_run_offline() -> bool:
    """True when `unshare -n` works here (root or user namespaces)."""
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    return probe.returncode == 0


@dataclass(frozen=True)
class Fault:
    """Kill, with SIGKILL, every process whose command line contains `command` (and its
    descendants) once `ready` (a glob) matches `matches` files; only processes below `roots`
    (the run's own ansible-playbook, plus e.g. the sshd of an SSH test host) are candidates."""

    ready: str
    command: str
    roots: tuple[int, ...] = ()
    matches: int = 1


def _parents() -> dict[int, int]:
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                out[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _below(pid: int, roots: Iterable[int], parents: dict[int, int]) -> bool:
    wanted = set(roots)
    while pid > 1:
        if pid in wanted:
            return True
        pid = parents.get(pid, 0)
    return False


def _inject(
    fault: Fault, roots: tuple[int, ...], proc: subprocess.Popen[str], timeout: float
) -> list[str]:
    """Wait for FAULT.ready, then kill the matching processes; returns their command lines."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        if len(glob.glob(fault.ready)) >= fault.matches:
            parents = _parents()
            targets = [
                pid
                for pid in parents
                if fault.command in _cmdline(pid) and _below(pid, roots, parents)
            ]
            if targets:
                victims = set(targets)
                victims |= {p for p in parents if _below(p, targets, parents)}
                killed = [_cmdline(p) for p in victims]
                for pid in victims:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                return killed
        time.sleep(0.05)
    return []


def write_inventory(path: Path, module_python: Path | str) -> Path:
    path.write_text(
        f"localhost ansible_connection=local ansible_python_interpreter={module_python}\n"
    )
    return path


def role_playbook(workdir: Path, roles: list[str]) -> Path:
    """A minimal playbook that runs ROLES alone (no site.yml, no group_vars next to it)."""
    path = workdir / f"{'-'.join(roles)}-alone.yml"
    play = [{"name": f"{', '.join(roles)} alone", "hosts": "all", "roles": roles}]
    path.write_text(json.dumps(play, indent=2))
    return path


def run_playbook(
    inventory: Path,
    extra_vars: dict[str, Any],
    workdir: Path,
    *,
    tags: list[str] | None = None,
    offline: bool = False,
    timeout: float = 1800,
    check: bool = False,
    roles: list[str] | None = None,
    env: dict[str, str] | None = None,
    fault: Fault | None = None,
    bin_dir: Path = BIN,
    playbooks: Path = PLAYBOOKS,
    limit: str | None = None,
) -> PlayResult:
    """ansible-playbook site.yml (or ROLES alone) with EXTRA_VARS (a JSON file in WORKDIR).

    `bin_dir` holds the ansible-playbook to run (default: the dev venv's; an unpacked kit's
    controller venv in tests/e2e/test_controller_real.py), `playbooks` the site.yml to run,
    `limit` is ansible-playbook's --limit."""
    workdir.mkdir(parents=True, exist_ok=True)
    vars_file = workdir / f"vars-{len(list(workdir.glob('vars-*.stdout')))}.json"
    vars_file.write_text(json.dumps(extra_vars, indent=2))
    record = vars_file.with_suffix(".result.json")
    full_env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(playbooks / "ansible.cfg"),
        "ANSIBLE_ROLES_PATH": str(playbooks / "roles"),
        "ANSIBLE_CALLBACK_PLUGINS": str(Path(__file__).parent / "ansible_plugins"),
        "ANSIBLE_CALLBACKS_ENABLED": "kit_record",
        "KIT_RECORD_FILE": str(record),
        "ANSIBLE_HOME": str(workdir / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(workdir / "ansible-local"),
        "ANSIBLE_REMOTE_TEMP": str(workdir / "ansible-remote"),
        "ANSIBLE_NOCOLOR": "1",
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        **(env or {}),
    }
    argv = [str(bin_dir / "ansible-playbook"), "-i", str(inventory), "-e", f"@{vars_file}"]
    if tags:
        argv += ["--tags", ",".join(tags)]
    if check:
        argv += ["--check", "--diff"]
    if limit:
        argv += ["--limit", limit]
    argv.append(str(role_playbook(workdir, roles) if roles else playbooks / "site.yml"))
    if offline:
        argv = ["unshare", "-n", *argv]
    out, err = workdir / f"{vars_file.stem}.stdout", workdir / f"{vars_file.stem}.stderr"
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen(
            argv, stdout=stdout, stderr=stderr, text=True, env=full_env, cwd=playbooks
        )
        killed = _inject(fault, (proc.pid, *fault.roots), proc, timeout) if fault else []
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
    try:
        data = json.loads(record.read_text())
    except (OSError, ValueError):
        data = {}
    return PlayResult(proc.returncode, out.read_text(), err.read_text(), data, killed)
