"""Test-only Ansible callback: record every task result and the stats as JSON.

ansible-core has no json stdout callback (it lives in the ansible.posix collection, which the
kit does not use), so the playbook tests enable this small aggregate callback next to the
default human-readable output: ANSIBLE_CALLBACK_PLUGINS=<this dir>,
ANSIBLE_CALLBACKS_ENABLED=kit_record, KIT_RECORD_FILE=<path of the JSON written at the end>.
"""

from __future__ import annotations

import json
import os
from typing import Any

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: kit_record
    type: aggregate
    short_description: write task results and stats to $KIT_RECORD_FILE as JSON
    description: Test helper of airgap-kit (tests/e2e/playbookrun.py).
"""


class CallbackModule(CallbackBase):  # type: ignore[misc]
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "kit_record"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self.tasks: list[dict[str, Any]] = []

    def _task(self, task: Any) -> dict[str, Any]:
        if not self.tasks or self.tasks[-1]["_uuid"] != task._uuid:
            self.tasks.append(
                {
                    "_uuid": task._uuid,
                    "task": {
                        "name": task.name or task.get_name(),
                        "role": task._role.get_name() if task._role else None,
                    },
                    "hosts": {},
                }
            )
        return self.tasks[-1]

    def _record(self, result: Any, **flags: bool) -> None:
        entry = self._task(result._task)
        data = dict(result._result)
        data.update(flags)
        entry["hosts"][result._host.get_name()] = json.loads(json.dumps(data, default=str))

    def v2_runner_on_ok(self, result: Any) -> None:
        self._record(result)

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._record(result, failed=True, ignore_errors=ignore_errors)

    def v2_runner_on_skipped(self, result: Any) -> None:
        self._record(result, skipped=True)

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._record(result, unreachable=True, failed=True)

    def v2_playbook_on_stats(self, stats: Any) -> None:
        hosts = sorted(stats.processed)
        out = {
            "plays": [{"tasks": self.tasks}],
            "stats": {h: stats.summarize(h) for h in hosts},
            "global_custom_stats": stats.custom.get("_run", {}),
        }
        path = os.environ.get("KIT_RECORD_FILE")
        if path:
            with open(path, "w", encoding="utf-8") as fh:
                json.dump(out, fh, default=str)
