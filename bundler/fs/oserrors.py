"""Operating-system errors a user can cause, turned into one `FilesystemError` line.

A full disk (ENOSPC, EDQUOT), a read-only filesystem (EROFS), a missing permission (EACCES,
EPERM), a busy mount point (EBUSY), a missing or wrong-kind path (ENOENT, ENOTDIR, EISDIR,
ENOTEMPTY, EEXIST) are the user's environment, not a bug: they are reported as
`PATH: No space left on device (ENOSPC); ...` instead of a traceback. Other errnos (EIO, EBADF,
...) stay OSErrors: they are worth a traceback.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bundler.errors import FilesystemError

USER_ERRNOS = frozenset(
    {
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EROFS,
        errno.EACCES,
        errno.EPERM,
        errno.EBUSY,
        errno.ENOENT,
        errno.ENOTDIR,
        errno.EISDIR,
        errno.ENOTEMPTY,
        errno.EEXIST,
        errno.EXDEV,
        errno.ENAMETOOLONG,
        errno.ELOOP,
    }
)


def describe(
    exc: OSError, fallback: Path | str | None = None, hide: Path | None = None
) -> FilesystemError | None:
    """The `FilesystemError` for `exc` (naming its path, else `fallback`), or None when the
    errno is not one a user causes. A path inside `hide` (a stage the user never sees) is
    shown as `fallback`, with the file being written."""
    if exc.errno not in USER_ERRNOS:
        return None
    path = exc.filename if exc.filename is not None else fallback
    if hide is not None and path is not None and _inside(Path(path), hide):
        path = f"{fallback} (writing {Path(path).name})"
    name = errno.errorcode.get(exc.errno, str(exc.errno))
    reason = exc.strerror or os.strerror(exc.errno)
    where = f"{path}: " if path is not None else ""
    hint = _HINTS.get(exc.errno, "")
    return FilesystemError(
        f"{where}{reason} ({name}){hint}",
        path=None if path is None else str(path),
        errno=exc.errno,
    )


_HINTS = {
    errno.ENOSPC: "; free some space or choose another place (nothing partial was kept)",
    errno.EDQUOT: "; over the disk quota (nothing partial was kept)",
    errno.EROFS: "; the filesystem is read-only: choose a writable place",
    errno.EACCES: "; no permission: choose a place you can write",
    errno.EPERM: "; not permitted: choose a place you can write",
}


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


@contextmanager
def user_errors(fallback: Path | str | None = None, hide: Path | None = None) -> Iterator[None]:
    """Turn an OSError a user can cause into `FilesystemError` (see `describe`)."""
    try:
        yield
    except OSError as exc:
        if getattr(exc, "response", None) is not None or getattr(exc, "request", None):
            raise  # an HTTP library's exception (requests' are OSErrors): not a path problem
        error = describe(exc, fallback, hide)
        if error is None:
            raise
        raise error from None
