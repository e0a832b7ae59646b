"""Run the kit's playbooks for real against localhost and read the result.

`ansible-playbook` runs with the default output plus a test-only callback
(tests/e2e/ansible_plugins/kit_record.py) that writes every task result, the per-host stats
(changed=0 on a re-run) and the custom stats the smoke role records to a JSON file.
Optionally the whole run is made inside a network namespace with no network at all
(`unshare -n`): then nothing it installs can have come from the network.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
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


def write_inventory(path: Path, module_python: Path | str) -> Path:
    path.write_text(
        f"localhost ansible_connection=local ansible_python_interpreter={module_python}\n"
    )
    return path


def run_playbook(
    inventory: Path,
    extra_vars: dict[str, Any],
    workdir: Path,
    *,
    tags: list[str] | None = None,
    offline: bool = False,
    timeout: float = 1800,
    bin_dir: Path = BIN,
    playbooks: Path = PLAYBOOKS,
) -> PlayResult:
    """ansible-playbook site.yml with EXTRA_VARS (a JSON file in WORKDIR).

    `bin_dir` holds the ansible-playbook to run (default: the dev venv's; an unpacked kit's
    controller venv in tests/e2e/test_controller_real.py), `playbooks` the site.yml to run."""
    workdir.mkdir(parents=True, exist_ok=True)
    vars_file = workdir / f"vars-{len(list(workdir.glob('vars-*.json')))}.json"
    vars_file.write_text(json.dumps(extra_vars, indent=2))
    record = vars_file.with_suffix(".result.json")
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(playbooks / "ansible.cfg"),
        "ANSIBLE_CALLBACK_PLUGINS": str(Path(__file__).parent / "ansible_plugins"),
        "ANSIBLE_CALLBACKS_ENABLED": "kit_record",
        "KIT_RECORD_FILE": str(record),
        "ANSIBLE_HOME": str(workdir / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(workdir / "ansible-local"),
        "ANSIBLE_REMOTE_TEMP": str(workdir / "ansible-remote"),
        "ANSIBLE_NOCOLOR": "1",
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    argv = [str(bin_dir / "ansible-playbook"), "-i", str(inventory), "-e", f"@{vars_file}"]
    if tags:
        argv += ["--tags", ",".join(tags)]
    argv.append(str(playbooks / "site.yml"))
    if offline:
        argv = ["unshare", "-n", *argv]
    proc = subprocess.run(
        argv, capture_output=True, text=True, env=env, cwd=playbooks, timeout=timeout
    )
    try:
        data = json.loads(record.read_text())
    except (OSError, ValueError):
        data = {}
    return PlayResult(rc=proc.returncode, stdout=proc.stdout, stderr=proc.stderr, data=data)
