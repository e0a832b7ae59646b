"""The one staging primitive: every output is built in a work directory and swapped into place.

Like pex's `AtomicDirectory` (pex/atomic_directory.py), an output DEST is never written in
place. `staging(DEST)` makes a private work directory next to it (same filesystem, so the final
step is a rename), hands out `Stage.content` (what becomes DEST) and `Stage.scratch` (anything
else), and on `Stage.commit()` swaps `content` into DEST. Whatever happens before the commit (an
exception, Ctrl-C, SIGTERM, SIGKILL, a full disk), DEST is left as it was:

    parent/.DEST.stage-XXXXXXXX/          the work directory, locked (flock) while its owner runs
        content/                          becomes DEST on commit
        scratch/                          temporary files of the run (downloads, builds)
        previous/                         only in the fallback swap: the old DEST, for a moment

- **The swap** is one `renameat2(RENAME_EXCHANGE)` (Linux >= 3.15, glibc >= 2.28, called through
  ctypes; `man 2 rename`) when DEST exists: at every instant DEST is the old or the new tree,
  complete. Where the filesystem or libc cannot exchange (EINVAL/ENOSYS), the fallback is two
  renames (DEST -> previous, content -> DEST) whose gap is repaired by the next run's sweep
  (`previous` goes back when DEST is missing). SIGINT and SIGTERM are deferred across the swap.
- **A mount point as DEST** (`-o /media/usb`) cannot be renamed (EBUSY): the work directory is
  made *inside* it and the commit moves entries one by one under a journal
  (`DEST/.airgap-kit-swap`, written before the first move), so an interrupted commit is rolled
  forward by the next run. Each entry is replaced atomically; the whole is complete once the
  journal is gone.
- **Leftovers** of killed runs (work directories whose lock is free, legacy `.DEST.fetch-*`
  directories, `*.part` files nobody holds a lock on) are swept by the next `staging(DEST)` or
  `sweep(...)` call. A run never sweeps a work directory another live process holds.

`lock_file(fd)` is the lock every temp file and work directory is held by: `flock(2)` is
released by the kernel when its owner dies, even by SIGKILL, so "unlocked" means "abandoned".
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import json
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType
from typing import Any

from bundler.fs.tempnames import RANDOM_CHARS, hidden_prefix, part_prefix

STAGE_MARK = ".stage-"
"""Work directories are named `.<dest name>.stage-<random>`."""
LEGACY_MARKS = (".fetch-",)
"""Work directories of airgap-kit versions before the staging primitive (never locked)."""
PART_SUFFIX = ".part"
OWNED = "owner"
"""Written into a work directory once its lock is held. Another run's sweep may remove a work
directory in the instant between its `mkdtemp` and its `flock`; the owner then finds it gone
when writing this file, and makes another (`_new_work_dir`)."""
PRESERVED = ("lost+found",)
"""Entries of a mount point a commit never removes (a filesystem's own, e.g. ext4's)."""
JOURNAL = ".airgap-kit-swap"
"""In a mount-point DEST: the name of the work directory whose content is being moved in."""

_RENAME_EXCHANGE = 2  # <linux/fs.h>
_AT_FDCWD = -100
_DEFERRED = (signal.SIGINT, signal.SIGTERM)


class Stage:
    """A locked work directory for one output; see the module docstring.

    `content` is created empty and becomes `dest` on `commit()`; `scratch` is for temporary
    files (same filesystem as `dest`, removed with the stage).
    """

    def __init__(self, dest: Path, work: Path, lock_fd: int, *, inside: bool) -> None:
        self.dest = dest
        self.work = work
        self.inside = inside
        """True when `dest` is a mount point and the work directory lies inside it."""
        self._lock_fd = lock_fd
        self.committed = False
        self.content.mkdir()
        self.scratch.mkdir()

    @property
    def content(self) -> Path:
        return self.work / "content"

    @property
    def scratch(self) -> Path:
        return self.work / "scratch"

    def commit(self, keep: Iterable[str] = ()) -> None:
        """Swap `content` into `dest` (old or new, never a mixture; see the module docstring).

        Files named in `keep` that the old `dest` holds and `content` does not are carried over
        (e.g. a placeholder `.gitkeep`). Raises OSError (the caller names the path).
        """
        for name in keep:
            old = self.dest / name
            if old.is_file() and not old.is_symlink() and not (self.content / name).exists():
                shutil.copy2(old, self.content / name)
        flush_filesystem(self.work)  # what was written without fsync reaches the disk first
        with deferred_signals():
            if self.inside:
                _journal_commit(self.dest, self.work)
            else:
                _swap(self.content, self.dest, self.work / "previous")
            self.committed = True

    def commit_file(self, src: Path) -> None:
        """Rename file `src` (in `scratch`) to `dest` (a file destination), signals deferred."""
        with deferred_signals():
            os.replace(src, self.dest)
            self.committed = True

    def close(self) -> None:
        """Remove the work directory (whatever it holds) and release its lock.

        A removal that fails (the disk went away) leaves it to the next run's sweep rather than
        hiding the error that is on its way out.
        """
        try:
            with suppress(OSError):
                _rmtree(self.work)
        finally:
            os.close(self._lock_fd)


@contextmanager
def staging(dest: Path) -> Iterator[Stage]:
    """A `Stage` for output `dest`; leftovers of earlier runs are swept first.

    The work directory is removed on leaving the block, committed or not (an exception, Ctrl-C,
    or SIGTERM turned into an exception). Raises OSError when the work directory cannot be
    made (read-only, full, missing permission: the caller names the path).
    """
    dest = Path(os.path.abspath(dest))
    inside = dest.is_dir() and os.path.ismount(dest)
    sweep(dest)
    parent = dest if inside else dest.parent
    parent.mkdir(parents=True, exist_ok=True)
    work, fd = _new_work_dir(parent, work_prefix(dest, parent))
    try:
        stage = Stage(dest, work, fd, inside=inside)
    except BaseException:
        _rmtree(work)
        os.close(fd)
        raise
    try:
        yield stage
    finally:
        stage.close()


def work_prefix(dest: Path, parent: Path) -> str:
    """`.DEST.stage-`: the `mkdtemp` prefix of `dest`'s work directories in `parent` (DEST cut
    to fit the name limit, `bundler.fs.tempnames`); sweeps recognise them by it."""
    room = len(STAGE_MARK) + RANDOM_CHARS
    return hidden_prefix(dest.name, room, parent) + STAGE_MARK


def _new_work_dir(parent: Path, prefix: str) -> tuple[Path, int]:
    """A fresh work directory in `parent`, locked, with its OWNED mark; (path, lock fd)."""
    for _ in range(10):
        work = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
        fd = -1
        try:
            fd = os.open(work, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            fcntl.flock(fd, fcntl.LOCK_EX)
            (work / OWNED).write_text(f"{os.getpid()}\n", encoding="ascii")
            return work, fd
        except FileNotFoundError:
            pass  # swept by another run before it was locked: make another
        except BaseException:
            _rmtree(work)
            if fd >= 0:
                os.close(fd)
            raise
        if fd >= 0:
            os.close(fd)
    raise OSError(errno.EAGAIN, "work directory keeps vanishing", str(parent))


# -- sweeping what killed runs left ------------------------------------------------------------


def sweep(dest: Path) -> list[Path]:
    """Remove abandoned work directories and `.part` files of output `dest`; what was removed.

    Looks next to `dest` and, when `dest` is a directory, inside it (a mount point's work
    directories live there, and an interrupted journal commit is rolled forward first). Only
    entries no live process holds a lock on are touched; a work directory whose `previous`
    holds the old `dest` (a fallback swap cut short) gives it back first.
    """
    dest = Path(os.path.abspath(dest))
    removed: list[Path] = []
    if dest.is_dir() and (dest / JOURNAL).is_file():
        _roll_forward(dest, check_lock=True)
    places = [dest.parent, dest] if dest.is_dir() else [dest.parent]
    for place in places:
        removed += _sweep_in(place, dest)
    return removed


def sweep_parts(directory: Path) -> list[Path]:
    """Remove the `*.part` files in `directory` that no live process holds; what was removed."""
    removed: list[Path] = []
    with suppress(OSError):
        for entry in os.scandir(directory):
            path = Path(entry.path)
            if (
                entry.name.endswith(PART_SUFFIX)
                and entry.is_file(follow_symlinks=False)
                and _unlocked_file(path)
            ):
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed


def _sweep_in(place: Path, dest: Path) -> list[Path]:
    removed: list[Path] = []
    try:
        entries = list(os.scandir(place))
    except OSError:
        return removed
    works = (work_prefix(dest, place), *(f".{dest.name}{mark}" for mark in LEGACY_MARKS))
    parts = part_prefix(dest.name, place)
    for entry in entries:
        name = entry.name
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False) and name.startswith(works):
            if _abandon_dir(path, dest):
                removed.append(path)
        elif (
            entry.is_file(follow_symlinks=False)
            and name.startswith(parts)
            and name.endswith(PART_SUFFIX)
            and _unlocked_file(path)
        ):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _abandon_dir(work: Path, dest: Path) -> bool:
    """Remove `work` if no process holds it; restore `previous` to a missing `dest` first."""
    try:
        fd = os.open(work, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # a live run owns it
        previous = work / "previous"
        if previous.is_dir() and not os.path.lexists(dest):
            os.rename(previous, dest)
        _rmtree(work)
        return True
    finally:
        os.close(fd)


def _unlocked_file(path: Path) -> bool:
    """True if nobody holds a lock on `path` (a file or a directory)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def lock_file(fd: int) -> None:
    """Hold an exclusive `flock` on an open temp file, so `sweep` knows it is in use."""
    fcntl.flock(fd, fcntl.LOCK_EX)


# -- the swap ----------------------------------------------------------------------------------


def exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two existing paths (renameat2 RENAME_EXCHANGE); False if unsupported.

    Other failures raise OSError naming `b`.
    """
    func = _renameat2()
    if func is None:
        return False
    ret = func(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if ret == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def flush_filesystem(path: Path) -> None:
    """Write back the filesystem holding `path` (syncfs(2), Linux >= 2.6.39; `os.sync()` where
    libc lacks it), so files put into a stage without an fsync each (`atomic_copy(...,
    durable=False)`: the wheels, 91 fsyncs on a large set) are on disk before the swap makes
    them DEST. One write-back instead of one journal commit per file (issue #17,
    benchmarks/PROFILE.md finding 3). Raises OSError naming `path`.
    """
    func = _libc_function("syncfs", [ctypes.c_int])
    if func is None:
        os.sync()
        return
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if func(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), str(path))
    finally:
        os.close(fd)


_FUNCTIONS: dict[str, Any] = {}


def _libc_function(name: str, argtypes: list[Any]) -> Any | None:
    """libc's `name` with these argument types (returning int), or None when it has none."""
    if name not in _FUNCTIONS:
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            func: Any = getattr(libc, name)
            func.argtypes = argtypes
            func.restype = ctypes.c_int
        except (OSError, AttributeError):
            func = None
        _FUNCTIONS[name] = func
    return _FUNCTIONS[name]


_LIBC: list[Any] = []


def _renameat2() -> Any | None:
    if not _LIBC:
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            func: Any = libc.renameat2
            func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
            func.argtypes += [ctypes.c_uint]
            func.restype = ctypes.c_int
        except (OSError, AttributeError):
            func = None
        _LIBC.append(func)
    return _LIBC[0]


def _swap(content: Path, dest: Path, previous: Path) -> None:
    """Put `content` at `dest`; the old `dest` ends up at `content`'s path (or `previous`)."""
    if not os.path.lexists(dest):
        os.rename(content, dest)
        return
    if not dest.is_dir() or dest.is_symlink():
        raise NotADirectoryError(errno.ENOTDIR, "exists and is not a directory", str(dest))
    if exchange(content, dest):
        return
    os.rename(dest, previous)
    try:
        os.rename(content, dest)
    except BaseException:
        os.rename(previous, dest)
        raise


def _journal_commit(dest: Path, work: Path) -> None:
    """Move `work/content`'s entries into mount point `dest`, under a journal.

    The journal names the work directory and every incoming entry, so that a later roll
    forward knows which entries of `dest` are new (already moved) and which are old.
    """
    entries = sorted(p.name for p in (work / "content").iterdir())
    tmp = dest / (JOURNAL + PART_SUFFIX)
    tmp.write_text(json.dumps({"work": work.name, "entries": entries}), encoding="utf-8")
    os.replace(tmp, dest / JOURNAL)
    _roll_forward(dest)


def _roll_forward(dest: Path, *, check_lock: bool = False) -> None:
    """Finish a journal commit into mount point `dest` (idempotent).

    With `check_lock`, a commit whose work directory a live process still holds is left to it.
    A journal that is not one of ours is removed without acting on it.
    """
    journal = dest / JOURNAL
    try:
        doc = json.loads(journal.read_text(encoding="utf-8"))
        name, entries = str(doc["work"]), {str(e) for e in doc["entries"]}
    except (ValueError, KeyError, TypeError):
        journal.unlink()
        return
    if (
        "/" in name
        or not name.startswith(work_prefix(dest, dest))
        or any("/" in e or e in ("", ".", "..") for e in entries)
    ):
        journal.unlink()
        return
    if check_lock and (dest / name).is_dir() and not _unlocked_file(dest / name):
        return
    content = dest / name / "content"
    for old in list(dest.iterdir()):
        if old.name in entries or old.name in (JOURNAL, name, *PRESERVED):
            continue
        if old.name.startswith(".") and STAGE_MARK in old.name:
            continue  # a work directory (this run's or another's)
        _remove(old)
    if content.is_dir():
        for entry in sorted(content.iterdir(), key=lambda p: p.name == "manifest.json"):
            if entry.name not in entries:
                continue
            target = dest / entry.name
            if os.path.lexists(target) and (target.is_dir() or entry.is_dir()):
                _remove(target)
            os.replace(entry, target)
    journal.unlink()


# -- signals -----------------------------------------------------------------------------------


@contextmanager
def deferred_signals(signals: Iterable[signal.Signals] = _DEFERRED) -> Iterator[None]:
    """Hold SIGINT/SIGTERM until the block is done, then deliver them (main thread only).

    Elsewhere (a worker thread cannot install handlers) the block simply runs.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        pending.append(signum)

    previous: dict[signal.Signals, Any] = {}
    try:
        for sig in signals:
            previous[sig] = signal.signal(sig, hold)
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for signum in dict.fromkeys(pending):
            signal.raise_signal(signum)


# -- helpers -----------------------------------------------------------------------------------


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        _rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _rmtree(path: Path) -> None:
    with suppress(FileNotFoundError):
        shutil.rmtree(path, onerror=_make_writable_and_retry)


def _make_writable_and_retry(func: Any, path: str, exc_info: Any) -> None:
    """A read-only directory inside a stage (a wheel unpacked with 0555) must still go."""
    parent = os.path.dirname(path)
    with suppress(OSError):
        os.chmod(parent, 0o700)
    with suppress(FileNotFoundError):
        func(path)
