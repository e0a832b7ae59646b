"""callback_plugins/airgap_kit_summary.py: a failed host's line names the most specific cause.

Issue #13, second review: the summary preferred `msg`, so a template whose validate command
refused the file said only `failed to validate` (not apache's stderr), a module that crashed on
the host `MODULE FAILURE See stdout/stderr` and a loop `One or more items failed`. Real
ansible-playbook, real modules, on localhost (three inventory aliases, one failure each).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.unit.playbooks.role_docs import PLAYBOOKS


def test_each_failed_host_shows_the_cause_not_the_generic_message(tmp_path: Path) -> None:
    crash = tmp_path / "crashing-python"
    crash.write_text("#!/bin/sh\necho 'ImportError: No module named rpm' >&2\nexit 1\n")
    crash.chmod(0o755)
    (tmp_path / "conf.j2").write_text("Listen {{ inventory_hostname }}\n")
    validate = "sh -c 'echo AH00526: Syntax error on line 8 of %s >&2; exit 1'"
    tasks = [
        {"name": "Write the config", "when": "inventory_hostname == 'h1'",
         "ansible.builtin.template": {"src": str(tmp_path / "conf.j2"),
                                      "dest": str(tmp_path / "conf"), "validate": validate}},
        {"name": "Run a module", "when": "inventory_hostname == 'h2'",
         "ansible.builtin.command": {"argv": ["true"]},
         "vars": {"ansible_python_interpreter": str(crash)}},
        {"name": "Run each", "when": "inventory_hostname == 'h3'", "loop": [0, 3],
         "ansible.builtin.command": {"argv": ["sh", "-c", "echo item $0 broke >&2; exit $0",
                                              "{{ item }}"]}},
    ]  # fmt: skip
    play = tmp_path / "play.yml"
    play.write_text(
        yaml.safe_dump(
            [{"hosts": "all", "gather_facts": False, "tasks": tasks,
              "vars": {"airgap_kit_summary_stage": "deploy"}}]
        )
    )  # fmt: skip
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(
        "".join(
            f"{h} ansible_connection=local ansible_python_interpreter={sys.executable}\n"
            for h in ("h1", "h2", "h3")
        )
    )
    env = {
        **os.environ,
        "ANSIBLE_CALLBACK_PLUGINS": str(PLAYBOOKS / "callback_plugins"),
        "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
        "ANSIBLE_NOCOLOR": "1",
    }
    argv = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(play)]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=180)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    summary = proc.stdout.split("AIRGAP-KIT SUMMARY")[-1]
    lines = {
        line.split(":")[0]: line
        for line in summary.splitlines()
        if line[:3] in {"h1:", "h2:", "h3:"}
    }
    assert lines["h1"].startswith("h1: Write the config: failed to validate: AH00526: Syntax")
    assert lines["h2"] == "h2: Run a module: MODULE FAILURE: ImportError: No module named rpm"
    assert lines["h3"] == "h3: Run each: item 3: non-zero return code: item 3 broke"
