"""Names of hidden temp files and work directories that always fit the filesystem's limit.

A temp file is named after its destination (`.NAME.XXXXXXXX.part`, a work directory
`.NAME.stage-XXXXXXXX`) so that a later sweep knows whose it is. A destination name may already
be as long as a name can be: 255 bytes on Linux's ext4, XFS, btrfs and tmpfs (`NAME_MAX` in
<linux/limits.h>; `pathconf(dir, _PC_NAME_MAX)` tells the directory's own), and a valid wheel
name can reach it. `hidden_prefix` keeps `.NAME` whole when it fits with what is added after
it, and otherwise cuts NAME and appends `~` plus 8 hex digits of the full name's sha256, so two
long names that share a beginning still give different prefixes (a sweep never takes one's
leftovers for the other's). Making and sweeping call it with the same arguments, so they agree.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

NAME_MAX = 255
"""Bytes in one file name on Linux's common filesystems; used when `pathconf` cannot tell."""
RANDOM_CHARS = 8
"""Characters `tempfile.mkstemp`/`mkdtemp` put between prefix and suffix (CPython's
`tempfile._RandomNameSequence`)."""
_TAG = 1 + 8
"""`~` and 8 hex digits of sha256 that stand for a cut-off part of a name."""


def name_max(directory: Path) -> int:
    """The longest file name, in bytes, that `directory` accepts (`NAME_MAX` if unknown)."""
    try:
        limit = os.pathconf(directory, "PC_NAME_MAX")
    except (OSError, ValueError):
        return NAME_MAX
    return limit if limit > 0 else NAME_MAX


def hidden_prefix(name: str, room: int, directory: Path) -> str:
    """`.NAME`, cut (plus `~` and a hash of NAME) so that `room` more bytes still make a name
    `directory` accepts. Raises ValueError if even a cut name cannot leave that much room."""
    full = os.fsencode("." + name)
    limit = name_max(directory) - room
    if len(full) <= limit:
        return "." + name
    keep = limit - _TAG
    if keep < 2:
        raise ValueError(f"no room for a temp name in {directory} (limit {limit + room})")
    tag = "~" + hashlib.sha256(full).hexdigest()[:8]
    return os.fsdecode(full[:keep]) + tag


def part_prefix(name: str, directory: Path, suffix: str = ".part") -> str:
    """The `mkstemp` prefix of a temp file for `name` in `directory` (`.NAME.`), sized so
    that the random part and `suffix` fit."""
    room = 1 + RANDOM_CHARS + len(os.fsencode(suffix))
    return hidden_prefix(name, room, directory) + "."
