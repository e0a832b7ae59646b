"""`SHA256SUMS` files in the format `sha256sum -c` reads (GNU coreutils): `<hex>  <path>` lines.

A wheelhouse carries its own (written last by `bundler fetch`, refreshed by `bundler audit`),
so `install.sh` on the far side checks every file before installing; a kit carries one over
all its files (bundler.kit.pack). `write_directory` lists the regular, non-hidden files at the
top of a directory; `check_directory` reports each difference as one line naming the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath

from bundler.fs.atomic import atomic_write_text
from bundler.fs.hashing import sha256_file

FILENAME = "SHA256SUMS"
_LINE = re.compile(r"^(?P<sha>[0-9a-f]{64}) [ *](?P<path>.+)$")
SKIP_SUFFIXES = (".asc", ".minisig")
"""Detached signatures of SHA256SUMS itself sit beside it and are not listed in it."""


def render(rows: Iterable[tuple[str, str]]) -> str:
    """SHA256SUMS text from (path, sha256) rows, sorted by path."""
    return "".join(f"{sha}  {path}\n" for path, sha in sorted(rows))


def parse(text: str, where: str = FILENAME) -> tuple[dict[str, str], list[str]]:
    """(path -> sha256, problems): lines that are not `<sha256>  <path>`, whose path is
    absolute or climbs out with '..', or that list a path again, are problems naming
    `where:line`."""
    listed: dict[str, str] = {}
    problems = []
    for lineno, line in enumerate(text.splitlines(), 1):
        m = _LINE.match(line)
        if not m:
            problems.append(f"{where}:{lineno}: not a '<sha256>  <path>' line")
            continue
        pure = PurePosixPath(m["path"])
        if pure.is_absolute() or ".." in pure.parts:
            problems.append(f"{where}:{lineno}: path {m['path']!r} points outside the directory")
            continue
        if m["path"] in listed:
            # sha256sum -c checks every line (a wrong duplicate FAILS there): never let the
            # last line silently win, or the by-hand check and ours would disagree.
            problems.append(f"{where}:{lineno}: path {m['path']!r} is listed twice")
            continue
        listed[m["path"]] = m["sha"]
    return listed, problems


def listed_files(directory: Path) -> list[Path]:
    """The files a directory's SHA256SUMS covers: regular, non-hidden, at the top level,
    not SHA256SUMS or its signatures."""
    return sorted(
        p
        for p in directory.iterdir()
        if p.is_file()
        and not p.is_symlink()
        and not p.name.startswith(".")
        and not p.name.startswith(FILENAME)
    )


def tree_files(directory: Path) -> list[str]:
    """Like `listed_files`, through every non-hidden sub-folder too (links not followed):
    '/'-separated paths relative to DIR (a several-target wheelhouse's `targets/NAME/...`)."""
    found = []
    for p in listed_files(directory):
        found.append(p.name)
    for sub in sorted(directory.iterdir()):
        if sub.is_dir() and not sub.is_symlink() and not sub.name.startswith("."):
            found += [f"{sub.name}/{rel}" for rel in tree_files(sub)]
    return sorted(found)


def write_tree(directory: Path, known: Mapping[str, str] | None = None) -> Path:
    """(Re)write DIR/SHA256SUMS over `tree_files(DIR)`, atomically; `known` as for
    `write_directory` (paths relative to DIR)."""
    given = known or {}
    rows = [(rel, given.get(rel) or sha256_file(directory / rel)) for rel in tree_files(directory)]
    path = directory / FILENAME
    atomic_write_text(path, render(rows))
    return path


def write_directory(directory: Path, known: Mapping[str, str] | None = None) -> Path:
    """(Re)write DIR/SHA256SUMS over `listed_files(DIR)`, atomically.

    `known` maps file names to the sha256 (lower-case hex) their bytes were already checked
    against while they streamed in (`bundler fetch`: each wheel's digest, checked when its blob
    was adopted into the cache, then copied): those files are listed with it, not read again
    (one hash pass per byte; benchmarks/PROFILE.md, phase 3). Every other file is hashed here.
    A copy damaged after that check is then caught by the line it fails, on the far side
    (install.sh), by `bundler verify` and by `bundler pack` (which compares with manifest.json).
    """
    given = known or {}
    rows = [(p.name, given.get(p.name) or sha256_file(p)) for p in listed_files(directory)]
    path = directory / FILENAME
    atomic_write_text(path, render(rows))
    return path


def refresh_directory(directory: Path) -> Path | None:
    """Rewrite DIR/SHA256SUMS only when DIR already has one (a tool changed a listed file)."""
    return write_directory(directory) if (directory / FILENAME).is_file() else None


def check_directory(directory: Path, prefix: str = "") -> list[str]:
    """Problems of DIR against its SHA256SUMS: missing, changed and unlisted files (each line
    starts with `prefix` + the file's name). A SHA256SUMS listing paths in sub-folders
    (`write_tree`) is checked against the whole tree."""
    path = directory / FILENAME
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return [f"{prefix}{FILENAME}: unreadable ({exc.strerror})"]
    listed, problems = parse(text, f"{prefix}{FILENAME}")
    problems = list(problems)
    for name, sha in sorted(listed.items()):
        target = directory / name
        if not target.is_file() or target.is_symlink():
            problems.append(f"{prefix}{name}: listed in {FILENAME} but missing")
        elif sha256_file(target) != sha:
            problems.append(f"{prefix}{name}: sha256 differs from {prefix}{FILENAME}")
    tree = any("/" in name for name in listed)
    present = tree_files(directory) if tree else [p.name for p in listed_files(directory)]
    for extra in present:
        if extra not in listed:
            problems.append(f"{prefix}{extra}: not listed in {prefix}{FILENAME}")
    return problems
