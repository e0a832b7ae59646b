"""Filters of the wheels role: the bookkeeping of blue/green application venvs.

The role installs each kit into its own venv, `VENVS_DIR/NAME`, NAME = the first 16 hex digits
of the sha256 of the kit's requirements.lock (`legacy` for an app venv an earlier kit made in
place, moved aside by the migration). `VENVS_DIR/history` is the ordered record of the venvs
that passed their smoke test and were made current, oldest first, one NAME a line (`#`
comments allowed). The symlink app_venv says which venv is current; the record says which
came before, for `app_rollback` and for retiring old venvs.

Pure functions of their arguments (strings and lists of strings), run on the controller: the
unit tests are tests/unit/playbooks/test_wheels_venvs.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ansible.errors import AnsibleFilterError

VENV_NAME = re.compile(r"^(?:[0-9a-f]{16}|legacy)$")


def venv_history(text: str, source: str = "history") -> list[str]:
    """The record's text -> its venv names, oldest first, each once (the newest place wins).

    Raises AnsibleFilterError naming SOURCE and the line for a line that is not a venv name:
    a hand-edited or damaged record stops the role before it switches or removes anything."""
    names: list[str] = []
    for number, raw in enumerate(str(text).splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not VENV_NAME.match(line):
            raise AnsibleFilterError(
                f"{source} line {number}: {line[:80]!r} is not a venv name "
                "(16 hex digits of a lock's sha256, or legacy)"
            )
        names = [n for n in names if n != line] + [line]
    return names


def history_push(history: Iterable[str], names: Iterable[str]) -> list[str]:
    """HISTORY with NAMES moved (or added) to its end, in the order given ('' ignored)."""
    wanted = [name for name in names if name]
    pushed = [n for n in history if n not in wanted]
    for name in wanted:
        if name not in pushed:
            pushed.append(name)
    return pushed


def render_history(history: Iterable[str]) -> str:
    """The record's text for HISTORY (what venv_history reads back)."""
    header = (
        "# airgap-kit wheels role: venvs that passed their smoke test and were made current,\n"
        "# oldest first (app_rollback returns to the newest one other than the kit's).\n"
    )
    return header + "".join(f"{name}\n" for name in history)


def rollback_target(history: Iterable[str], kit: str, existing: Iterable[str]) -> str:
    """The previous good venv: the newest name of HISTORY that is not KIT (the venv of the kit
    being rolled back) and is still on the host (EXISTING); '' when there is none."""
    present = set(existing)
    for name in reversed(list(history)):
        if name != kit and name in present:
            return name
    return ""


def retired(existing: Iterable[str], history: Iterable[str], current: str, keep: Any) -> list[str]:
    """The venvs of EXISTING to remove, sorted: every one but CURRENT and the KEEP newest of
    HISTORY that are on the host (never fewer than 2: the current and the previous one). A
    venv that is in no record (an install or a smoke test that failed and whose removal was
    interrupted) is removed too: the next run of its kit makes it again from scratch."""
    try:
        count = int(keep)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"wheels_keep_venvs must be an integer, not {keep!r}") from exc
    count = max(count, 2)
    present = list(existing)
    recorded = history_push([], reversed(list(history)))[::-1]  # each once, at its newest place
    kept = [name for name in recorded if name in present][-count:]
    if current:
        kept.append(current)
    return sorted(name for name in set(present) if name not in kept and VENV_NAME.match(name))


def venv_name(path: str, venvs_dir: str) -> str:
    """NAME when PATH is VENVS_DIR/NAME (a venv of the role), else ''."""
    parent, _, name = str(path).rstrip("/").rpartition("/")
    if parent.rstrip("/") == str(venvs_dir).rstrip("/") and VENV_NAME.match(name):
        return name
    return ""


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "wheels_venv_history": venv_history,
            "wheels_history_push": history_push,
            "wheels_render_history": render_history,
            "wheels_rollback_target": rollback_target,
            "wheels_retired": retired,
            "wheels_venv_name": venv_name,
        }
