"""An output file that appears only when complete: a temporary file beside it, renamed at last.

The temporary file `.OUT.XXXXXXXX.tmp` is locked (flock) by the run writing it for as long as
that run lives; the kernel drops the lock when the process dies, even by SIGKILL. Each new
conversion to OUT first sweeps the `.OUT.*.tmp` files nobody holds a lock on: leftovers of
killed runs (flock(2): "locks are released ... when all file descriptors referring to the open
file description are closed", which the kernel does for a killed process).
"""

import errno
import fcntl
import os
import re
import stat
import tempfile

from asciivideo.errors import AsciiVideoError


class AtomicOutput(object):
    """Context manager: write to .NAME.XXXX.tmp in OUT's directory; commit() renames it to OUT.

    Leaving the block without commit() (an error, Ctrl-C) deletes the temporary file, so a
    failed run never leaves a partial OUT behind; a killed run's temporary file is swept by
    the next run (see the module docstring).
    """

    def __init__(self, path):
        # type: (str) -> None
        self.path = path
        self.tmp_path = None  # type: object
        self.file = None  # type: object

    def __enter__(self):
        # type: () -> AtomicOutput
        if os.path.isdir(self.path):
            raise AsciiVideoError("%s: is a directory" % self.path)
        directory = os.path.dirname(os.path.abspath(self.path))
        prefix = "." + os.path.basename(self.path) + "."
        try:
            sweep_stale(directory, prefix)
            fd, self.tmp_path = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=directory)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new file: nobody else holds it
        except OSError as exc:
            raise AsciiVideoError(
                "%s: cannot write output: %s" % (self.path, exc.strerror or exc)
            ) from None
        self.file = os.fdopen(fd, "w+b")
        return self

    def commit(self):
        # type: () -> None
        handle = self.file
        handle.flush()  # type: ignore
        os.fsync(handle.fileno())  # type: ignore
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self.tmp_path, 0o666 & ~umask)  # type: ignore  # mkstemp made it 0600
        try:
            os.replace(self.tmp_path, self.path)  # type: ignore  # still locked: nobody sweeps it
        except OSError as exc:
            raise AsciiVideoError(
                "%s: cannot write output: %s" % (self.path, exc.strerror or exc)
            ) from None
        handle.close()  # type: ignore
        self.tmp_path = None

    def __exit__(self, *exc_info):
        # type: (object) -> None
        if self.tmp_path is not None and os.path.exists(self.tmp_path):  # type: ignore
            os.unlink(self.tmp_path)  # type: ignore
        if self.file is not None:
            self.file.close()  # type: ignore


def sweep_stale(directory, prefix):
    # type: (str, str) -> list
    """Delete `directory`/PREFIX*.tmp files (mkstemp's 8 random characters) that no live
    process holds locked; returns their names. A locked file, or one that is not a regular
    file, is left. (A run is unlocked only between its mkstemp and its flock, a few
    microseconds: another conversion to the same OUT starting exactly then could sweep it,
    and that run then fails with "cannot write output" at the end, its output not written.)"""
    pattern = re.compile(re.escape(prefix) + r"[A-Za-z0-9_]{8}\.tmp$")
    removed = []
    for name in sorted(os.listdir(directory)):
        if pattern.match(name) and _remove_if_abandoned(os.path.join(directory, name)):
            removed.append(name)
    return removed


def _remove_if_abandoned(path):
    # type: (str) -> bool
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False  # a link, gone, or not ours to open
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                return False  # a live run is writing it
            raise
        if os.path.exists(path) and os.path.samestat(os.stat(path), info):
            os.unlink(path)
            return True
        return False
    finally:
        os.close(fd)
