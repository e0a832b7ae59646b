"""The output folder of `bundler fetch` (`-o DIR`): what may be replaced, and what never is.

A fetch replaces DIR as a whole (`bundler.fs.staging`), so whatever DIR held is gone after the
swap. DIR is therefore replaced only when it holds nothing, or nothing but a wheelhouse this kit
wrote:

- **absent or empty**: the fetch creates or fills it. Empty ignores `KEPT_FILES` (regular
  files carried over into the new wheelhouse), the work directories of the staging primitive
  and, when DIR is a mount point, the filesystem's own `lost+found`.
- **a wheelhouse** (`recognise`): its manifest.json passes the manifest's JSON Schema
  (`bundler.models.manifest.read`) AND every other entry of DIR is a regular file the kit
  writes into a wheelhouse: a file named in the manifest's `packages`, or one of
  `WHEELHOUSE_FILES`. A wheelhouse for the same target is replaced; one for another target
  only with `--replace` (issue #18: never silently).
- **anything else** (a `manifest.json` of another tool, a wheelhouse someone added a file to,
  a sub-directory, a link): `NotAWheelhouse`, even with `--replace`. The kit never deletes
  what it did not write; the message names the first entry (or manifest problem) that makes
  DIR something else.

A wheelhouse missing some of its own files (a wheel deleted by hand) is still one: replacing
it deletes only files the kit wrote. The download cache may not be DIR or lie inside it
(`check_cache`): every fetch would silently discard it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from bundler.errors import BadInput
from bundler.fs import sums
from bundler.fs.staging import JOURNAL, PRESERVED, STAGE_MARK
from bundler.models import manifest
from bundler.models.target import Target
from bundler.wheelhouse import installer, model, pylock

SYSTEM_PACKAGES_FILE = "system-packages.yml"
"""What the audit at the end of a fetch writes (`bundler.audit.report.SYSTEM_PACKAGES_FILE`),
named here so that `fetch --no-audit` does not import the audit (yaml, pyelftools)."""

POLICY_FINDINGS_FILE = "policy-findings.json"
"""What the policy gate of a fetch (`--policy`) writes (`bundler.gate.snapshot.FILENAME`)."""

KEPT_FILES = (".gitkeep", ".gitignore")
"""Files an output folder may hold besides a wheelhouse; they survive a fetch into it."""

WHEELHOUSE_FILES = frozenset(
    {
        manifest.FILENAME,
        installer.REQUIREMENTS_LOCK,
        installer.BOOTSTRAP_LOCK,
        installer.INSTALL_SH,
        pylock.FILENAME,
        SYSTEM_PACKAGES_FILE,
        POLICY_FINDINGS_FILE,
        sums.FILENAME,
    }
)
"""The files a fetch (and the audit it runs) writes into a wheelhouse besides its wheels
(SHA256SUMS: `bundler.fs.sums`, written last)."""


class NotAWheelhouse(BadInput):
    """`-o DIR` is not empty and not a wheelhouse this kit wrote: never replaced.

    `reason` is why, in a few words (`manifest.json: not an airgap-kit manifest`,
    `src is a directory`)."""

    def __init__(self, directory: Path, reason: str) -> None:
        super().__init__(
            f"-o {directory}: not a wheelhouse ({reason}): refusing to replace it, even with "
            "--replace (a fetch replaces -o as a whole and never deletes what the kit did not "
            "write); remove what it holds yourself, or choose another -o"
        )
        self.directory = directory
        self.reason = reason

    def fields(self) -> dict[str, Any]:
        return {"directory": str(self.directory), "reason": self.reason}


class OtherTarget(BadInput):
    """`-o DIR` holds a wheelhouse for another target (replaced only with `--replace`)."""


def check_output(
    output: Path, target: Target, *, replace: bool = False, targets: Sequence[Target] = ()
) -> None:
    """Raise unless a fetch for `target` (or for all of `targets`, a several-target fetch) may
    replace `output` (see the module docstring): the same targets, in any order.

    Raises `BadInput` (`output` is not a directory), `NotAWheelhouse`, `OtherTarget`.
    """
    if not output.is_dir():
        if os.path.lexists(output):
            raise BadInput(f"-o {output}: exists and is not a directory")
        return
    if not _entries(output):
        return
    found = recognise_wheelhouse(output)
    wanted = list(targets) or [target]
    have = sorted(_target_key(v.target) for v in found.targets)
    if replace or have == sorted(_target_key(t) for t in wanted):
        return
    raise OtherTarget(
        f"-o {output} holds a wheelhouse for {_describe(v.target for v in found.targets)}; "
        f"this fetch is for {_describe(wanted)}: refusing to replace it (give --replace, or "
        "another -o)"
    )


def _describe(targets: Iterable[Target]) -> str:
    return " + ".join(t.describe() for t in targets)


def check_cache(output: Path, cache_root: Path) -> None:
    """Refuse a cache at `output` or inside it (`BadInput`): a fetch replaces `output` as a
    whole, so such a cache would be thrown away, silently, on every run. Paths are compared
    after resolving links (`os.path.realpath`)."""
    out = Path(os.path.realpath(output))
    cache = Path(os.path.realpath(cache_root))
    if cache == out or out in cache.parents:
        where = "is" if cache == out else "lies inside"
        raise BadInput(
            f"--cache-dir {cache_root} {where} -o {output}: a fetch replaces -o as a whole, so "
            "the cache would be thrown away on every run; choose a cache outside -o"
        )


def recognise(directory: Path) -> manifest.Manifest:
    """The manifest of the one-target wheelhouse in `directory` (`recognise_wheelhouse`; a
    several-target one is `NotAWheelhouse` here)."""
    found = recognise_wheelhouse(directory)
    if found.several:
        raise NotAWheelhouse(directory, "it holds several targets")
    return found.targets[0].manifest


def recognise_wheelhouse(directory: Path) -> model.Wheelhouse:
    """The wheelhouse in `directory`, if it is one this kit wrote: its manifest(s) valid
    against the schema (`model.open_wheelhouse`), every other entry a regular file named in
    it or one of the model's own files (a several-target one: `targets/NAME/` folders holding
    only `model.TARGET_FILES`). Raises `NotAWheelhouse` naming the first reason it is not."""
    if not os.path.lexists(directory / manifest.FILENAME):
        raise NotAWheelhouse(directory, f"no {manifest.FILENAME}")
    try:
        found = model.open_wheelhouse(directory)
    except manifest.BadManifest as exc:
        where = Path(exc.path)
        shown = where.relative_to(directory) if where.is_relative_to(directory) else where
        raise NotAWheelhouse(directory, f"{shown}: {exc.detail}") from None
    known = set(WHEELHOUSE_FILES) | {p.filename for p in found.packages}
    folders = {v.rel.rstrip("/") for v in found.targets if v.rel}
    for name, mode in sorted(_entries(directory).items()):
        if name == model.TARGETS_DIR and found.several and stat.S_ISDIR(mode):
            _check_targets_dir(directory, folders)
            continue
        if name not in known:
            raise NotAWheelhouse(directory, f"{name} is not a file a fetch writes")
        if not stat.S_ISREG(mode):
            raise NotAWheelhouse(directory, f"{name} is not a regular file")
    return found


def _check_targets_dir(directory: Path, folders: set[str]) -> None:
    """`targets/` of a several-target wheelhouse: only its targets' folders, each holding only
    the files a fetch writes there."""
    for entry in os.scandir(directory / model.TARGETS_DIR):
        rel = f"{model.TARGETS_DIR}/{entry.name}"
        if rel not in folders or not entry.is_dir(follow_symlinks=False):
            raise NotAWheelhouse(directory, f"{rel} is not a folder a fetch writes")
        for inner in os.scandir(entry.path):
            if inner.name not in model.TARGET_FILES or not inner.is_file(follow_symlinks=False):
                raise NotAWheelhouse(directory, f"{rel}/{inner.name} is not a file a fetch writes")


def _entries(directory: Path) -> dict[str, int]:
    """DIR's entries (name -> lstat mode) but those a fetch ignores: `KEPT_FILES` that are
    regular files, staging work directories and journal, and a mount point's `lost+found`."""
    mount = os.path.ismount(directory)
    found: dict[str, int] = {}
    with os.scandir(directory) as it:
        for entry in it:
            mode = entry.stat(follow_symlinks=False).st_mode
            if entry.name in KEPT_FILES and stat.S_ISREG(mode):
                continue
            if entry.name.startswith(".") and STAGE_MARK in entry.name:
                continue
            if entry.name == JOURNAL or (mount and entry.name in PRESERVED):
                continue
            found[entry.name] = mode
    return found


def _target_key(target: Target) -> tuple[object, ...]:
    return (
        target.implementation,
        target.python_version,
        tuple(target.abis),
        tuple(target.platforms),
        target.machine,
    )
