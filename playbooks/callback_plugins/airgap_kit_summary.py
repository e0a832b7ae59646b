"""The rollout summary of site.yml: one line per host at the end of every run.

Loaded by ansible-playbook because it lies next to site.yml (a callback plugin beside the
playbook, of type aggregate, that needs no enabling). At the end of the run it prints, for each
host of the deployment play (and the repo server), what it is now: ok / failed (with the first
failed task's message) / unreachable / not started, the application's Python version, the
number of packages installed from the lock, and the smoke test's result with its throughput
(the repo server: the URL it serves).
When a play runs in batches (serial), each batch's hosts are printed as it starts
(`AIRGAP-KIT BATCH N: host, ...`). When a batch failed (more than max_fail_percentage of it),
Ansible stops the hosts left in that batch where the failure happened and starts no further
batch: the summary then names the hosts that failed, the hosts stopped with their batch
(Ansible's own recap counts them ok) and the hosts the rollout never started.

Data: the per-host results Ansible reports to callbacks, and the custom stats the roles record
with set_stats (`rollout`: the play's hosts and batches, `wheels`: Python and packages per
host, `smoke`: the self-test line per host, `repo_server`: the server's URL, `rollout_done`:
the hosts that reached the end of the deployment play). Ansible's callback API is public; the
batch's host list is read from the play's inventory (VariableManager._inventory), restricted to
the batch by the playbook executor (ansible-core 2.16 executor/playbook_executor.py).
"""

import re

from ansible import constants as C
from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: airgap_kit_summary
    type: aggregate
    short_description: per-host summary of an airgap-kit rollout
    description:
      - Prints host, result, Python version, packages installed and the smoke test's result
        and throughput at the end of site.yml, and which hosts a stopped rollout never started.
"""

THROUGHPUT = re.compile(r"^selftest ok: \d+ frames, \d+ workers, ([\d.]+) frames/s")


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "airgap_kit_summary"
    CALLBACK_NEEDS_ENABLED = False

    def __init__(self):
        super().__init__()
        self.first_failure = {}
        self.batches = {}
        self.batched = set()  # hosts a batched (serial) play started on

    def _failed(self, result, text):
        host = result._host.get_name()
        if host not in self.first_failure:
            message = " ".join(str(text).split())[:300]
            self.first_failure[host] = f"{result._task.get_name()}: {message}"

    def v2_playbook_on_play_start(self, play):
        if not play.serial:
            return
        inventory = play.get_variable_manager()._inventory
        hosts = [h.get_name() for h in inventory.get_hosts(play.hosts, order=play.order)]
        number = self.batches[play.get_name()] = self.batches.get(play.get_name(), 0) + 1
        self.batched.update(hosts)
        self._display.display(f"AIRGAP-KIT BATCH {number}: {', '.join(hosts)}")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if not ignore_errors:
            res = result._result
            self._failed(result, res.get("msg") or res.get("stderr") or "failed")

    def v2_runner_on_unreachable(self, result):
        self._failed(result, result._result.get("msg", "unreachable"))

    @staticmethod
    def _state(stats, host, stopped):
        summary = stats.summarize(host)
        if summary["unreachable"]:
            return "unreachable"
        if summary["failures"]:
            return "failed"
        if stopped:
            return "stopped"
        return f"ok (changed={summary['changed']})"

    def rows(self, stats):
        """(host, result, python, packages, smoke) for each host, in the rollout's order."""
        custom = stats.custom.get("_run", {})
        rollout = custom.get("rollout") or {}
        wheels = custom.get("wheels") or {}
        smoke = custom.get("smoke") or {}
        served = custom.get("repo_server") or {}
        done = custom.get("rollout_done") or {}
        hosts = list(rollout.get("hosts") or [])
        hosts_of_rollout = set(hosts) if self.batched else set()
        hosts += sorted(h for h in stats.processed if h not in hosts)
        out = []
        for host in hosts:
            # The kit_verify play (hosts: all, run once on the controller) marks every host as
            # processed: a host of the rollout started only if a batch of it started.
            started = host in self.batched if host in hosts_of_rollout else True
            if host not in stats.processed or not started:
                out.append((host, "not started", "-", "-", "-"))
                continue
            line = smoke.get(host) if isinstance(smoke, dict) else None
            match = THROUGHPUT.match(line or "")
            shown = f"ok, {match.group(1)} frames/s" if match else (line or "-")
            if not line and isinstance(served, dict) and host in served:
                shown = f"serves {served[host]}"
            facts = (wheels.get(host) if isinstance(wheels, dict) else None) or {}
            python, packages = str(facts.get("python", "-")), str(facts.get("packages", "-"))
            stopped = host in (rollout.get("hosts") or []) and host not in done
            out.append((host, self._state(stats, host, stopped), python, packages, shown))
        return out

    def v2_playbook_on_stats(self, stats):
        rows = self.rows(stats)
        if not rows:
            return
        self._display.banner("AIRGAP-KIT SUMMARY")
        header = ("HOST", "RESULT", "PYTHON", "PACKAGES", "SMOKE TEST")
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            # no zip(strict=): the bootstrap's ansible-core 2.11 loads this on Python 3.6
            cells = (c.ljust(w) for c, w in zip(row, widths))  # noqa: B905 - same lengths
            self._display.display("  ".join(cells).rstrip())
        for host, state, *_rest in rows:
            if state in ("failed", "unreachable") and host in self.first_failure:
                self._display.display(f"{host}: {self.first_failure[host]}")
        # the wheels role's word on a host it left as it was or a rollback that went forward
        wheels = stats.custom.get("_run", {}).get("wheels") or {}
        for host, *_rest in rows:
            facts = wheels.get(host) if isinstance(wheels, dict) else None
            note = str((facts or {}).get("note") or "") if isinstance(facts, dict) else ""
            if note:
                self._display.display(f"note: {note}", color=C.COLOR_WARN)
        failed = [r[0] for r in rows if r[1] in ("failed", "unreachable")]
        stopped = [r[0] for r in rows if r[1] == "stopped"]
        waiting = [r[0] for r in rows if r[1] == "not started"]
        if not failed:
            return
        if stopped or waiting:
            line = f"rollout stopped: failed: {', '.join(failed)}"
            if stopped:
                line += f"; stopped with their batch: {', '.join(stopped)}"
            if waiting:
                line += f"; not started: {', '.join(waiting)}"
        else:
            line = f"rollout finished with failed hosts: {', '.join(failed)}"
        line += ". Fix the cause and run the same command again (done hosts: changed=0)."
        self._display.display(line, color=C.COLOR_ERROR)
