"""Filters of the wheels role: the bookkeeping of blue/green application venvs.

The role installs each kit into its own venv, `VENVS_DIR/NAME`, NAME = the first 16 hex digits
of the sha256 of the kit's requirements.lock (its kit id), or `ID-N` (N = 1, 2, ...) for a
venv of the same kit built beside a damaged live one (`wheels_repair`: the live venv is never
changed in place), or `legacy` for an app venv an earlier kit made in place, moved aside by
the migration. `VENVS_DIR/history` is the ordered record of the venvs
that passed their smoke test and were made current, oldest first, one NAME a line (`#`
comments allowed). The symlink app_venv says which venv is current; the record says which
came before, for `app_rollback` and for retiring old venvs.

Pure functions of their arguments (strings and lists of strings), run on the controller: the
unit tests are tests/unit/playbooks/test_wheels_venvs.py.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from typing import Any

from ansible.errors import AnsibleFilterError

VENV_NAME = re.compile(r"^(?:[0-9a-f]{16}(?:-[1-9][0-9]{0,3})?|legacy)$")


def venv_history(text: str, source: str = "history") -> list[str]:
    """The record's text -> its venv names, oldest first, each once (the newest place wins).

    Raises AnsibleFilterError naming SOURCE and the line for a line that is not a venv name:
    a hand-edited or damaged record stops the role before it switches or removes anything."""
    names: dict[str, None] = {}  # ordered; a repeated name moves to the end (linear time)
    for number, raw in enumerate(str(text).splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not VENV_NAME.match(line):
            raise AnsibleFilterError(
                f"{source} line {number}: {_shown(line)} is not a venv name "
                "(16 hex digits of a lock's sha256, optionally -N, or legacy)"
            )
        names.pop(line, None)
        names[line] = None
    return list(names)


def _shown(line: str) -> str:
    """LINE quoted for a message: its first 80 characters, anything but printable ASCII escaped
    (a binary record's bytes arrive as surrogate escapes; #16 review rev16z L2)."""
    text = line[:80].encode("utf-8", "surrogateescape").decode("ascii", "backslashreplace")
    return repr("".join(c if c.isprintable() else repr(c)[1:-1] for c in text))


def history_problem(text: str) -> str:
    """Why the record's TEXT cannot be read ('' when it can): the first line that is not a
    venv name, as venv_history names it. A record that cannot be read is treated as lost: the
    role rebuilds it from the host instead of stopping every run (#16 fresh review 2)."""
    try:
        venv_history(text, "")
    except AnsibleFilterError as exc:
        return str(exc).rpartition(" (16 hex digits")[0].strip()
    return ""


def venv_entry_problems(entries: Any) -> list[str]:
    """The entries of VENVS_DIR named like a venv (the find results, file_type any, lstat'ed:
    dicts with path, isdir, islnk) that are not a real directory, each 'PATH (what it is)'. A
    symlink there (to a venv elsewhere, to another venv, a hand-made NAME-N) would take the
    live venv out of every guard that compares device and inode with the venvs listed, and
    install.sh would then sync or rebuild a venv through it (#16 fresh review 1); a file there
    is no venv. The role refuses such an entry before it writes anything."""
    problems: list[str] = []
    for entry in entries or []:
        if not isinstance(entry, dict):
            continue
        if entry.get("islnk"):
            kind = "a symlink"
        elif not entry.get("isdir"):
            kind = "a regular file" if entry.get("isreg") else "not a directory"
        else:
            continue
        problems.append(f"{entry.get('path', '?')} ({kind})")
    return sorted(problems)


def installed_pattern(name: str) -> str:
    """The regex (the find module's `contains`, matched at each line's start) of the line of
    VENVS_DIR/NAME/.airgap-kit-installed that records a requirements.lock whose sha256 starts
    with NAME's kit id: a venv whose install record holds another lock's digest is not this
    NAME's complete venv (#16 fresh review 4). Never matches for `legacy` (no kit id)."""
    ident = kit_id(name)
    if not re.fullmatch(r"[0-9a-f]{16}", ident):
        return r"(?!)"
    return rf"^requirements\.lock {ident}[0-9a-f]{{48}}\s*$"


def history_push(history: Iterable[str], names: Iterable[str]) -> list[str]:
    """HISTORY with NAMES moved (or added) to its end, in the order given ('' ignored)."""
    wanted = list(dict.fromkeys(name for name in names if name))
    moved = set(wanted)
    return [n for n in dict.fromkeys(history) if n not in moved] + wanted


def switched_history(
    history: Iterable[str], current: str, target: str, migrated: Any = False
) -> list[str]:
    """The record after a switch from CURRENT (the venv app_venv pointed to: '' for none) to
    TARGET: CURRENT, then `legacy` when MIGRATED (an in-place venv moved aside), then TARGET
    moved (or added) to the end. CURRENT goes before TARGET even when HISTORY lists it
    elsewhere: a rollback stopped after its switch leaves [v1, v2] with v1 running, and an
    upgrade to v4 must record [v2, v1, v4], whose rollback returns to v1, the venv that ran
    before v4, not [v1, v2, v4], which returned to v2 and retired v1 (#16 review rev16w)."""
    legacy = ["legacy"] if migrated is True or str(migrated).lower() == "true" else []
    return history_push(history, [str(current), *legacy, str(target)])


def render_history(history: Iterable[str]) -> str:
    """The record's text for HISTORY (what venv_history reads back)."""
    header = (
        "# airgap-kit wheels role: venvs that passed their smoke test and were made current,\n"
        "# oldest first (app_rollback returns to the newest one other than the kit's).\n"
    )
    return header + "".join(f"{name}\n" for name in history)


def kit_id(name: str) -> str:
    """The kit id of a venv NAME: ID for ID and ID-N (a repaired venv of the same lock)."""
    return str(name).partition("-")[0]


def render_rolled_back(names: Iterable[str]) -> str:
    """The text of VENVS_DIR/rolled-back for NAMES (read back by venv_history)."""
    header = (
        "# airgap-kit wheels role: venvs an app_rollback switched away from, oldest first (a\n"
        "# rollback to one of them is reported: it returns to a newer kit; a deploy forgets it).\n"
    )
    return header + "".join(f"{name}\n" for name in names)


def rollback_target(history: Iterable[str], kit: str, existing: Iterable[str]) -> str:
    """The previous good venv: the newest name of HISTORY that is not a venv of KIT (the kit
    being rolled back: ID or ID-N) and is still on the host (EXISTING); '' when there is none."""
    present = set(existing)
    for name in reversed(list(history)):
        if kit_id(name) != kit_id(kit) and name in present:
            return name
    return ""


def repair_name(
    kit: str, existing: Iterable[str], current: str = "", history: Iterable[str] = ()
) -> str:
    """The venv name for KIT's lock beside its damaged venv: an ID-N of EXISTING that no record
    (HISTORY) lists and that is not CURRENT, the one with the highest N (kept by an earlier
    repair whose install or smoke test failed: the role checks it with install.sh --check and
    reuses it or builds it afresh, so failed repairs do not pile up venvs, #16 verification
    review 2); else a new ID-N, the smallest N >= 1 that is neither in EXISTING nor CURRENT."""
    present = list(existing)
    recorded = set(history)
    base = kit_id(kit)
    kept = [
        name
        for name in present
        if name != current
        and name not in recorded
        and kit_id(name) == base
        and name != base
        and VENV_NAME.match(name)
    ]
    if kept:
        return max(kept, key=lambda name: int(name.rpartition("-")[2]))
    taken = {*present, current}
    number = 1
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def retired(
    existing: Iterable[str],
    history: Iterable[str],
    current: str,
    keep: Any,
    also_keep: Iterable[str] = (),
) -> list[str]:
    """The venvs of EXISTING to remove, sorted: every one but CURRENT, ALSO_KEEP (the venv
    app_venv pointed to before this run: kept even when a lost or damaged record does not
    list it, #16 review finding 3) and, for each of the KEEP newest kits of HISTORY with a
    venv on the host (never fewer than 2: the current and the previous one), its newest venv
    there. A kit's venvs (ID and its repairs ID-N) are one place: a repair never pushes the
    previous kit out (#16 second review finding 2). A venv that is in no record (an install
    or a smoke test that failed and whose removal was interrupted) is removed too: the next
    run of its kit makes it again from scratch."""
    try:
        count = int(keep)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"wheels_keep_venvs must be an integer, not {keep!r}") from exc
    count = max(count, 2)
    present = list(existing)
    recorded = history_push([], reversed(list(history)))[::-1]  # each once, at its newest place
    kept: list[str] = []
    kits: list[str] = []
    for name in reversed(recorded):
        if name in present and kit_id(name) not in kits and len(kits) < count:
            kits.append(kit_id(name))
            kept.append(name)
    kept += [name for name in [current, *also_keep] if name]
    return sorted(name for name in set(present) if name not in kept and VENV_NAME.match(name))


def _file_name(entry: Any) -> str:
    """The venv NAME of a find result ENTRY for VENVS_DIR/NAME/MARKER ('' when not one)."""
    path = str(entry.get("path", "")) if isinstance(entry, dict) else ""
    name = posixpath.basename(posixpath.dirname(path))
    return name if VENV_NAME.match(name) else ""


def rebuilt_history(complete: Any, installed: Any, current: str, legacy: Any = False) -> list[str]:
    """The record rebuilt from the host when it does not list CURRENT (the venv app_venv points
    to: the record was lost or damaged), #16 verification review 1. COMPLETE and INSTALLED are
    the find results (dicts with path and mtime) of VENVS_DIR/NAME/.airgap-kit-venv saying
    `complete` and of VENVS_DIR/NAME/.airgap-kit-installed recording a lock's sha256: every
    venv with both is a complete kit venv. They are listed oldest install first (the install
    record's mtime, install.sh writes it last; the name breaks a tie), CURRENT last (it is the
    one that runs, complete or not). INSTALLED holds only records of the lock whose digest
    names the venv (`installed_pattern`). LEGACY true (VENVS_DIR/legacy is a real directory with
    a pyvenv.cfg: a migrated in-place venv, which has no markers) puts `legacy` first, the
    oldest (#16 fresh review 3). So the newest other complete venv is the rollback target, and
    the run that rebuilds the record removes none of them (the role keeps them all)."""
    done = {_file_name(entry) for entry in (complete or [])} - {""}
    times: dict[str, float] = {}
    for entry in installed or []:
        name = _file_name(entry)
        if name in done:
            try:
                times[name] = float(entry.get("mtime", 0))
            except (TypeError, ValueError):
                times[name] = 0.0
    ordered = sorted(times, key=lambda name: (times[name], name))
    if legacy is True or str(legacy).lower() == "true":
        ordered = ["legacy", *[name for name in ordered if name != "legacy"]]
    return history_push(ordered, [str(current)])


def venv_name(path: str, venvs_dir: str) -> str:
    """NAME when PATH is VENVS_DIR/NAME (a venv of the role), else ''."""
    parent, _, name = str(path).rstrip("/").rpartition("/")
    if parent.rstrip("/") == str(venvs_dir).rstrip("/") and VENV_NAME.match(name):
        return name
    return ""


def layout_problem(app_venv: str, venvs_dir: str) -> str:
    """Why APP_VENV (the symlink the role switches) and VENVS_DIR (where the venvs live) cannot
    work together, '' when they can: each must be an absolute path without a trailing slash
    (`/x/app/` would put the venvs inside the link, `/x/app/venvs`), and neither may be the
    other or lie inside it. Checked before the role writes anything (#16 finding 7)."""
    app, venvs = str(app_venv), str(venvs_dir)
    for setting, path in (("app_venv", app), ("wheels_venvs_dir", venvs)):
        if not path.startswith("/"):
            return f"{setting} {path!r} is not an absolute path"
        if len(path) > 1 and path.endswith("/"):
            return f"{setting} {path!r} ends with '/': give the path without it"
        if "\n" in path:
            return f"{setting} {path!r} holds a newline"
    if posixpath.basename(app) in (".", ".."):
        return f"app_venv {app!r} ends with {posixpath.basename(app)!r}: name the link itself"
    app_n, venvs_n = posixpath.normpath(app), posixpath.normpath(venvs)
    if app_n == venvs_n:
        return f"app_venv {app!r} is the venvs directory (wheels_venvs_dir) itself"
    if venvs_n.startswith(app_n.rstrip("/") + "/"):
        return f"wheels_venvs_dir {venvs!r} lies inside app_venv {app!r}"
    if app_n.startswith(venvs_n.rstrip("/") + "/"):
        return f"app_venv {app!r} lies inside the venvs directory (wheels_venvs_dir) {venvs!r}"
    return _spelling_problem("app_venv", app) or _spelling_problem("wheels_venvs_dir", venvs)


def _spelling_problem(setting: str, path: str) -> str:
    """Why PATH is not written in normal form ('' when it is): a `..`, `.`, `//` or trailing
    `/` makes the role's own path comparisons (the pruning's kept list, the venv names) and the
    host's resolution disagree: a wheels_dest of `/h/wh/` had every file of the copy pruned, a
    venvs directory `/h/app/../venvs` made app_venv a link through itself (#16 verification
    review, 2 and 3). Checked after the overlap checks, so their messages come first."""
    normal = posixpath.normpath(path)
    if path != normal or path.startswith("//"):
        return (
            f"{setting} {path!r} is not written in normal form: give it without '..', '.', "
            f"'//' or a trailing '/' (here {normal.replace('//', '/', 1)!r}, if that is the "
            "place meant)"
        )
    return ""


def _within(inner: str, outer: str) -> bool:
    """INNER is OUTER or lies inside it (normalised absolute paths)."""
    return inner == outer or inner.startswith(outer.rstrip("/") + "/")


def dest_problem(wheels_dest: str, app_venv: str, venvs_dir: str) -> str:
    """Why WHEELS_DEST (the host's wheelhouse copy, whose stale files the role removes) cannot
    sit where it is, '' when it can: it must be an absolute path, and neither APP_VENV (the
    application's venv) nor VENVS_DIR (the role's venvs and their record) may be it, lie inside
    it or hold it. Otherwise a re-run would prune the live venv's files as files the wheelhouse
    does not list, or copy wheels into a venv (#16 second review finding 1). The message names
    both settings and their values."""
    dest = str(wheels_dest)
    if not dest.startswith("/"):
        return f"wheels_dest {dest!r} is not an absolute path"
    dest_n = posixpath.normpath(dest)
    for setting, path in (("app_venv", str(app_venv)), ("wheels_venvs_dir", str(venvs_dir))):
        path_n = posixpath.normpath(path)
        if dest_n == path_n:
            return f"wheels_dest {dest!r} is {setting} {path!r}"
        if _within(path_n, dest_n):
            return f"{setting} {path!r} lies inside wheels_dest {dest!r}"
        if _within(dest_n, path_n):
            return f"wheels_dest {dest!r} lies inside {setting} {path!r}"
    return _spelling_problem("wheels_dest", dest)


def realpath_argv(wheels_dest: str, app_venv: str, venvs_dir: str) -> list[str]:
    """The host's probe of the three paths' real locations: `realpath -m` (GNU coreutils >=
    8.15, whose NEWS adds the realpath program; CentOS 7.9 ships coreutils-8.22-24.el7 per its
    package list, not run here: no CentOS host) resolves every symlink, `.`, `..` and `//` of
    the part of a path that exists and appends the rest (paths that do not exist yet are
    resolved from their nearest existing parent). app_venv is the link the role replaces, so its
    parent is resolved, never the link itself (it points into the venvs directory)."""
    app = str(app_venv)
    paths = [str(wheels_dest), posixpath.dirname(app) or "/", str(venvs_dir)]
    return ["timeout", "60", "realpath", "-m", "--", *paths]  # a link loop must not hang the play


def _real_overlap(a: tuple[str, str, str], b: tuple[str, str, str]) -> str:
    """Why A and B (each (setting, path as given, real path on the host)) overlap, ''."""
    (a_set, a_text, a_real), (b_set, b_text, b_real) = a, b
    a_said = f"{a_set} {a_text!r} (on the host {a_real})"
    b_said = f"{b_set} {b_text!r} (on the host {b_real})"
    if a_real == b_real:
        return f"{a_said} is {b_said}"
    if _within(b_real, a_real):
        return f"{b_said} lies inside {a_said}"
    if _within(a_real, b_real):
        return f"{a_said} lies inside {b_said}"
    return ""


def real_layout_problem(
    probe: Any, wheels_dest: str, app_venv: str, venvs_dir: str, dest_checked: bool = True
) -> str:
    """Why the three paths overlap on the host, '' when they do not: PROBE is the stdout
    lines of `realpath_argv` (the real wheels_dest, app_venv's parent, wheels_venvs_dir);
    app_venv's real place is its parent's real path joined with its own name. The checks of
    `layout_problem` and `dest_problem` (DEST_CHECKED false: the first only), on real paths,
    so a symlink, `//x`, `/x/./y` or `..` through the app link cannot hide an overlap (#16
    third review D4). Each message names both settings, as given and as resolved."""
    lines = [str(line) for line in (probe or [])]
    if len(lines) != 3 or not all(line.startswith("/") for line in lines):
        return f"realpath printed {lines!r}, not the three absolute paths asked for"
    dest_real, app_parent, venvs_real = (posixpath.normpath(line) for line in lines)
    app_real = posixpath.join(app_parent, posixpath.basename(str(app_venv)))
    dest = ("wheels_dest", str(wheels_dest), dest_real)
    app = ("app_venv", str(app_venv), app_real)
    venvs = ("wheels_venvs_dir", str(venvs_dir), venvs_real)
    pairs = [(app, venvs)] + ([(dest, app), (dest, venvs)] if dest_checked else [])
    for a, b in pairs:
        problem = _real_overlap(a, b)
        if problem:
            return problem
    return ""


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "wheels_venv_history": venv_history,
            "wheels_history_push": history_push,
            "wheels_switched_history": switched_history,
            "wheels_render_history": render_history,
            "wheels_rollback_target": rollback_target,
            "wheels_retired": retired,
            "wheels_venv_name": venv_name,
            "wheels_kit_id": kit_id,
            "wheels_render_rolled_back": render_rolled_back,
            "wheels_repair_name": repair_name,
            "wheels_rebuilt_history": rebuilt_history,
            "wheels_history_problem": history_problem,
            "wheels_venv_entry_problems": venv_entry_problems,
            "wheels_installed_pattern": installed_pattern,
            "wheels_layout_problem": layout_problem,
            "wheels_dest_problem": dest_problem,
            "wheels_realpath_argv": realpath_argv,
            "wheels_real_layout_problem": real_layout_problem,
        }
