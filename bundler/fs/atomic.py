"""Atomic file writes: nothing half-written is left where a later step trusts it.

Temp files are named `.NAME.XXXXXXXX.part` next to their destination (NAME cut to fit the
filesystem's name limit: `bundler.fs.tempnames`) and held under an exclusive `flock` while
written, so `bundler.fs.staging.sweep` removes only abandoned ones.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

from bundler.fs.tempnames import part_prefix

_FICLONE = 0x40049409
"""ioctl(2) FICLONE (<linux/fs.h>): share the extents of another file (btrfs, XFS, ...)."""


@contextmanager
def atomic_open(
    path: Path, mode: int = 0o644, *, tmp_dir: Path | None = None, durable: bool = True
) -> Iterator[BinaryIO]:
    """Write `path` through a locked temp file, renamed into place on success.

    The temp file lies next to `path`, or in `tmp_dir` (same filesystem). On any exception it
    is removed and `path` is untouched. Raises OSError; one without a file name (a write that
    hit a full disk) gets `path` as its `filename`, so the caller can name it.

    `durable=True` fsyncs the data before the rename, so after a crash `path` is the old or
    the new content. `durable=False` skips that fsync (the rename is still atomic for every
    other process): for re-derivable caches only, whose readers check what they read and
    treat a damaged entry as a miss (a crash may leave an empty or partly written file; see
    the ext4 `auto_da_alloc` notes in ext4(5)). An fsync costs milliseconds on a busy disk
    and made every page wait for it (issue #17, benchmarks/PROFILE.md finding 3).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    where = tmp_dir if tmp_dir is not None else path.parent
    where.mkdir(parents=True, exist_ok=True)
    prefix = part_prefix(path.name, where)  # a 255-byte name leaves no room for more
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".part", dir=where)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = str(path)
        raise


def atomic_write_bytes(
    path: Path,
    data: bytes,
    mode: int = 0o644,
    *,
    tmp_dir: Path | None = None,
    durable: bool = True,
) -> None:
    with atomic_open(path, mode, tmp_dir=tmp_dir, durable=durable) as f:
        f.write(data)


def atomic_write_text(path: Path, text: str, mode: int = 0o644) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode)


def atomic_copy(
    src: Path,
    dest: Path,
    mode: int = 0o644,
    *,
    tmp_dir: Path | None = None,
    durable: bool = True,
) -> Path:
    """Copy `src` to `dest` atomically: a reflink where the filesystem can, else a byte copy.

    Never a hard link: the copy has its own inode, so a later change to `src` (a cache blob
    flipped on disk) cannot reach `dest`. `durable=False` (see `atomic_open`): for a copy into
    a stage, whose commit flushes the filesystem once (`fs.staging.flush_filesystem`).
    Raises OSError.
    """
    with atomic_open(dest, mode, tmp_dir=tmp_dir, durable=durable) as out, src.open("rb") as inp:
        if not _reflink(inp.fileno(), out.fileno()):
            shutil.copyfileobj(inp, out, 1 << 20)
    return dest


class CopyMismatch(ValueError):
    """The bytes `atomic_copy_checked` read do not have the expected sha256; nothing was
    written. `got` is the sha256 (hex) of what was read."""

    def __init__(self, src: Path, expected: str, got: str) -> None:
        super().__init__(f"{src}: sha256 {got}, expected {expected}")
        self.src = src
        self.expected = expected
        self.got = got


def atomic_copy_checked(
    src: Path,
    dest: Path,
    sha256: str,
    mode: int = 0o644,
    *,
    tmp_dir: Path | None = None,
    durable: bool = True,
) -> Path:
    """Copy `src` to `dest` atomically, hashing every byte on its way (one read pass: the
    bytes hashed are the bytes written); `dest` appears only if their sha256 is `sha256`
    (hex, any case), else `CopyMismatch` and `dest` is untouched. No reflink: the copy must
    read the bytes to vouch for them. Raises OSError as `atomic_copy`."""
    digest = hashlib.sha256()
    with atomic_open(dest, mode, tmp_dir=tmp_dir, durable=durable) as out, src.open("rb") as inp:
        view = memoryview(bytearray(1 << 20))
        while n := inp.readinto(view):
            digest.update(view[:n])
            out.write(view[:n])
        got = digest.hexdigest()
        if got != sha256.lower():
            raise CopyMismatch(src, sha256, got)
    return dest


def _reflink(src_fd: int, dest_fd: int) -> bool:
    with suppress(OSError):
        fcntl.ioctl(dest_fd, _FICLONE, src_fd)
        return True
    return False
