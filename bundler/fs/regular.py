"""Opening files that must be regular files: no link followed, no fifo waited on, bounded reads.

Inputs the kit reads from a folder it did not make (pack's inputs, an unpacked kit) may hold a
symbolic link to any file of the machine, a fifo that blocks a reader forever, or a device
that never ends. `open_regular` opens with O_NOFOLLOW (unless the caller follows a path the
user named) and O_NONBLOCK, then checks with fstat that the descriptor is a regular file, so
the check and the read are about the same file (no race between them).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

from bundler.errors import BadInput

_KINDS = (
    (stat.S_ISLNK, "symbolic link"),
    (stat.S_ISDIR, "directory"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
    (stat.S_ISFIFO, "fifo"),
    (stat.S_ISSOCK, "socket"),
)


class NotRegular(BadInput):
    """The path is a link, device, fifo, socket or directory where a regular file must be."""


def kind(mode: int) -> str:
    """'regular file', 'symbolic link', 'fifo', ... for an st_mode."""
    if stat.S_ISREG(mode):
        return "regular file"
    return next((name for test, name in _KINDS if test(mode)), "special file")


def open_regular(path: Path, follow: bool = False) -> BinaryIO:
    """`path` opened for reading, if it is a regular file. Raises NotRegular naming it (a
    link when `follow` is false, or anything but a regular file), BadInput for other
    OSErrors (permission, I/O) with the system's reason."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP and not follow:
            raise NotRegular(f"{path}: symbolic link refused (only regular files)") from None
        raise BadInput(f"{path}: cannot read ({exc.strerror or exc})") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise NotRegular(f"{path}: {kind(mode)} refused (only regular files)")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def read_regular(path: Path, limit: int, follow: bool = False) -> bytes:
    """The bytes of regular file `path`, at most `limit` + 1 (so a caller can tell "too
    large" from "exactly the limit"). Errors as `open_regular`."""
    with open_regular(path, follow) as f:
        try:
            return f.read(limit + 1)
        except OSError as exc:
            raise BadInput(f"{path}: cannot read ({exc.strerror or exc})") from None
