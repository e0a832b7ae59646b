"""The rollout summary of site.yml: one line per host at the end of every run.

Loaded by ansible-playbook because it lies next to site.yml (a callback plugin beside the
playbook, of type aggregate, that needs no enabling). At the end of the run it prints, for every
host of the inventory (`--limit` applied), what it is now: `ok (changed=N)` (done), `failed at
STAGE` / `unreachable at STAGE` (with the first failed task's cause()), `stopped` (its batch
failed and Ansible stopped it mid-play; Ansible's own recap counts it ok) or `not started`, the
application's Python version, the number of packages installed from the lock, and the smoke
test's result with its throughput (the repo server: the URL it serves). STAGE is the play's
`airgap_kit_summary_stage` variable (site.yml: `controller`, `repo server`, `deploy`). The kit
check runs once on the controller; Ansible reports its failure on the play's first host, which
it never touched: the summary reports it as the controller's (`controller: TASK: MESSAGE`) and
every host as not started. When a play runs in batches (serial), each batch's hosts are printed
as it starts (`AIRGAP-KIT BATCH N: host, ...`). Ansible's exit status is not changed.

Data: the per-host results Ansible reports to callbacks, and the custom stats the roles record
with set_stats (`wheels`: Python and packages per host, `smoke`: the self-test line per host,
`repo_server`: the server's URL, `rollout_done`: the hosts that reached the end of the
deployment play). Ansible's callback API is public; the host lists are read from the play's
inventory (VariableManager._inventory): `get_hosts("all", ignore_restrictions=True)` for the
run's hosts, and without ignore_restrictions for the batch, which the playbook executor
restricts the inventory to before it starts the play (ansible-core 2.16
executor/playbook_executor.py, which also ends the run when a whole batch failed).
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
# Each play of site.yml names its stage in this play variable; failures are reported by stage.
STAGE_VAR = "airgap_kit_summary_stage"
CONTROLLER = "controller"  # the kit check: runs once on the controller, touches no host
DEPLOY = "deploy"  # the batched play: a host that did not reach its end was stopped


# Messages that name no cause: the cause is in the result's stderr (the template module's
# `validate` command, a command's rc), module_stderr/module_stdout (a module that crashed or
# printed no JSON: ansible-core's "MODULE FAILURE\nSee stdout/stderr for the exact error") or in
# the failed item of a loop ("One or more items failed").
GENERIC = ("failed to validate", "MODULE FAILURE", "non-zero return code", "One or more items")
CAUSE_KEYS = ("stderr", "module_stderr", "module_stdout", "stdout")


def _last_line(text):
    lines = [line.strip() for line in str(text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def cause(result):
    """The most specific one-line cause of a failed task's RESULT (a module's result dict).

    A loop's: its first failed item's cause, after `item LABEL: `. A message that names no
    cause (GENERIC) is followed by the last line of the first of stderr, module_stderr,
    module_stdout, stdout that has one: `failed to validate: AH00526: Syntax error on line 8 ...`.
    """
    items = [r for r in result.get("results") or [] if isinstance(r, dict) and r.get("failed")]
    if items:
        label = items[0].get("_ansible_item_label", items[0].get("item"))
        return f"item {' '.join(str(label).split())[:60]}: {cause(items[0])}"
    msg = " ".join(str(result.get("msg") or "").split())
    detail = next((_last_line(result[k]) for k in CAUSE_KEYS if _last_line(result.get(k))), "")
    if not msg:
        return detail or "failed"
    if detail and msg.startswith(GENERIC):
        return f"{msg.split(' See ')[0].strip()}: {detail}"
    return msg


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "airgap_kit_summary"
    CALLBACK_NEEDS_ENABLED = False

    def __init__(self):
        super().__init__()
        self.hosts = []  # every host of the run (the inventory, --limit applied), in order
        self.stage = ""  # the stage of the play running now (STAGE_VAR)
        self.started = {}  # host -> the last stage a batch of it started in
        self.failed_at = {}  # host -> (stage, "failed" | "unreachable", "task: message")
        self.controller_failure = ""
        self.batches = {}

    def _add_hosts(self, names):
        self.hosts += [name for name in names if name not in self.hosts]

    def _failed(self, result, kind, text):
        message = f"{result._task.get_name()}: {' '.join(str(text).split())[:300]}"
        if self.stage == CONTROLLER:
            # run_once on the controller: Ansible reports it on the play's first host, which
            # the check never touched
            self.controller_failure = self.controller_failure or message
            return
        self.failed_at.setdefault(result._host.get_name(), (self.stage, kind, message))

    def v2_playbook_on_play_start(self, play):
        inventory = play.get_variable_manager()._inventory
        self._add_hosts(h.get_name() for h in inventory.get_hosts("all", ignore_restrictions=True))
        self.stage = str(play.vars.get(STAGE_VAR) or play.get_name())
        if self.stage == CONTROLLER:
            return
        # the playbook executor restricts the inventory to the batch before the play starts
        batch = [h.get_name() for h in inventory.get_hosts(play.hosts, order=play.order)]
        self.started.update(dict.fromkeys(batch, self.stage))
        if play.serial:
            number = self.batches[play.get_name()] = self.batches.get(play.get_name(), 0) + 1
            self._display.display(f"AIRGAP-KIT BATCH {number}: {', '.join(batch)}")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if not ignore_errors:
            res = result._result
            self._failed(result, "failed", cause(res))

    def v2_runner_on_unreachable(self, result):
        self._failed(result, "unreachable", result._result.get("msg", "unreachable"))

    def _state(self, stats, host, done):
        if host not in self.started:
            return "not started"
        summary = stats.summarize(host)
        stage, kind, _message = self.failed_at.get(host, ("", "", ""))
        if kind == "unreachable" and summary["unreachable"]:
            return f"unreachable at {stage}"
        if kind == "failed" and summary["failures"]:
            return f"failed at {stage}"
        if self.started[host] == DEPLOY and host not in done:
            # its batch failed beyond max_fail_percentage: Ansible stopped it mid-play (its own
            # recap counts it ok)
            return "stopped"
        return f"ok (changed={summary['changed']})"

    def rows(self, stats):
        """(host, result, python, packages, smoke) for each host of the run, in inventory order.

        result: `not started` | `failed at STAGE` | `unreachable at STAGE` | `stopped` |
        `ok (changed=N)`, where STAGE is the play's `airgap_kit_summary_stage` (`repo server`,
        `deploy`). A failure of the controller's kit check is the controller's (see
        controller_failure), never a host's: every host is then `not started`.
        """
        custom = stats.custom.get("_run", {})
        wheels = custom.get("wheels") or {}
        smoke = custom.get("smoke") or {}
        served = custom.get("repo_server") or {}
        done = custom.get("rollout_done") or {}
        out = []
        for host in self.hosts:
            state = self._state(stats, host, done)
            if state == "not started":
                out.append((host, state, "-", "-", "-"))
                continue
            line = smoke.get(host) if isinstance(smoke, dict) else None
            match = THROUGHPUT.match(line or "")
            shown = f"ok, {match.group(1)} frames/s" if match else (line or "-")
            if not line and isinstance(served, dict) and host in served:
                shown = f"serves {served[host]}"
            facts = (wheels.get(host) if isinstance(wheels, dict) else None) or {}
            python, packages = str(facts.get("python", "-")), str(facts.get("packages", "-"))
            out.append((host, state, python, packages, shown))
        return out

    def v2_playbook_on_stats(self, stats):
        rows = self.rows(stats)
        if not rows and not self.controller_failure:
            return
        self._display.banner("AIRGAP-KIT SUMMARY")
        header = ("HOST", "RESULT", "PYTHON", "PACKAGES", "SMOKE TEST")
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            # no zip(strict=): the bootstrap's ansible-core 2.11 loads this on Python 3.6
            cells = (c.ljust(w) for c, w in zip(row, widths))  # noqa: B905 - same lengths
            self._display.display("  ".join(cells).rstrip())
        failed = [r[0] for r in rows if r[1].startswith(("failed", "unreachable"))]
        for host in failed:
            self._display.display(f"{host}: {self.failed_at[host][2]}")
        # the wheels role's word on a host it left as it was or a rollback that went forward
        wheels = stats.custom.get("_run", {}).get("wheels") or {}
        for host, *_rest in rows:
            facts = wheels.get(host) if isinstance(wheels, dict) else None
            note = str((facts or {}).get("note") or "") if isinstance(facts, dict) else ""
            if note:
                self._display.display(f"note: {note}", color=C.COLOR_WARN)
        stopped = [r[0] for r in rows if r[1] == "stopped"]
        waiting = [r[0] for r in rows if r[1] == "not started"]
        if self.controller_failure:
            self._display.display(f"controller: {self.controller_failure}")
            line = (
                "rollout not started: the kit check on the controller failed; no host was touched."
            )
            self._display.display(
                f"{line} Fix the cause and run the same command again.", color=C.COLOR_ERROR
            )
            return
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
