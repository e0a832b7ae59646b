"""Parallel, hash-checked, atomic, cached, retried downloads.

Every file goes through the content-addressed `Cache`: a cache hit is re-hashed before use; a
miss is streamed into a temp file under the cache root while its sha256 is computed, checked
against the index's hash, and only then adopted into the cache (atomic rename). Files reach the
output folder by hardlink (or copy) into a temp name in that folder and an atomic rename, so the
output never holds a partial or unverified file, even when interrupted.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from pathlib import Path

import requests

from bundler.errors import BundlerError, HashMismatch, IndexUnavailable
from bundler.fs.cache import Cache
from bundler.fs.hashing import CHUNK
from bundler.models.link import DistFile
from bundler.net.session import (
    Cancellation,
    Cancelled,
    TransientError,
    check_status,
    local_path,
    make_session,
    with_retries,
)


def fetch_blob(
    file: DistFile,
    cache: Cache,
    *,
    session: requests.Session | None = None,
    offline: bool = False,
    retries: int = 3,
    timeout: float = 30.0,
    on_bytes: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """The verified cache blob holding `file`, downloading it first if needed.

    A cached blob is re-hashed (a corrupt one is dropped and fetched again). A file without an
    index hash (e.g. from a find-links page) is stored under the hash of what was received.
    """
    if file.sha256 and cache.verify_blob(file.sha256):
        if on_bytes:
            on_bytes(file.size or cache.blob_path(file.sha256).stat().st_size)
        return cache.blob_path(file.sha256)
    source = local_path(file.url)
    if source is None and offline:
        raise IndexUnavailable(
            f"{file.filename} is not in the cache and --offline forbids downloading it "
            f"from {file.url}"
        )
    if source is not None:
        return _adopt(file, cache, lambda: _read_local(source), on_bytes, cancel, remote=False)
    sess = session or make_session(1)

    def attempt() -> Path:
        reported = [0]

        def counted(n: int) -> None:
            reported[0] += n
            if on_bytes:
                on_bytes(n)

        if cancel is not None and cancel.is_set():
            raise Cancelled(f"download of {file.filename} cancelled")
        try:
            return _adopt(
                file,
                cache,
                lambda: _read_http(sess, file, timeout, cancel),
                counted,
                cancel,
                remote=True,
            )
        except BaseException as exc:
            if on_bytes and reported[0]:
                on_bytes(-reported[0])  # a retry starts over: take back what was counted
            if cancel is not None and cancel.is_set() and not isinstance(exc, BundlerError):
                raise Cancelled(f"download of {file.filename} cancelled") from exc
            raise

    return with_retries(attempt, retries=retries, what=f"cannot download {file.url}")


def _read_local(path: Path) -> Iterator[bytes]:
    try:
        with path.open("rb") as f:
            yield from iter(lambda: f.read(CHUNK), b"")
    except OSError as exc:
        raise IndexUnavailable(f"cannot read {path}: {exc.strerror or exc}") from exc


def _read_http(
    session: requests.Session, file: DistFile, timeout: float, cancel: threading.Event | None
) -> Iterator[bytes]:
    with session.get(file.url, stream=True, timeout=timeout) as response:
        check_status(response, f"cannot download {file.url}")
        if isinstance(cancel, Cancellation):
            with cancel.watching(response.raw):
                yield from response.iter_content(CHUNK)
        else:
            yield from response.iter_content(CHUNK)


def _adopt(
    file: DistFile,
    cache: Cache,
    chunks: Callable[[], Iterator[bytes]],
    on_bytes: Callable[[int], None] | None,
    cancel: threading.Event | None,
    *,
    remote: bool,
) -> Path:
    """Stream `chunks()` into a temp file, check size and sha256, move it into the cache.

    A remote body shorter or longer than the index said is a transient failure (retried).
    """
    tmp_dir = cache.root / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{file.filename}.", suffix=".part", dir=tmp_dir)
    tmp = Path(name)
    try:
        digest = hashlib.sha256()
        size = 0
        with os.fdopen(fd, "wb") as out:
            for block in chunks():
                if cancel is not None and cancel.is_set():
                    raise Cancelled(f"download of {file.filename} cancelled")
                out.write(block)
                digest.update(block)
                size += len(block)
                if on_bytes:
                    on_bytes(len(block))
            out.flush()
            os.fsync(out.fileno())
        got = digest.hexdigest()
        if remote and file.size is not None and size != file.size:
            raise TransientError(f"received {size} bytes of {file.filename}, expected {file.size}")
        if file.sha256 and got != file.sha256.lower():
            raise HashMismatch(
                f"hash mismatch for {file.filename} from {file.url}: "
                f"expected sha256 {file.sha256}, got {got}"
            )
        os.chmod(tmp, 0o644)
        return cache.adopt_blob(tmp, got)
    finally:
        tmp.unlink(missing_ok=True)


# -- a batch into the output folder -----------------------------------------------------------


class _Progress:
    """Thread-safe byte counter feeding the caller's `on_progress(done, total)`."""

    def __init__(self, total: int, callback: Callable[[int, int], None] | None) -> None:
        self.total = total
        self.done = 0
        self.callback = callback
        self.lock = threading.Lock()

    def add(self, n: int) -> None:
        with self.lock:
            self.done += n
            if self.callback:
                self.callback(self.done, self.total)


def download_all(
    files: Sequence[DistFile],
    dest: Path,
    cache: Cache,
    *,
    session: requests.Session | None = None,
    offline: bool = False,
    jobs: int = 8,
    retries: int = 3,
    timeout: float = 30.0,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Put every file of `files` into `dest` (verified, atomic), in parallel; paths in order.

    The first failure cancels the rest and is raised (`HashMismatch`, `IndexUnavailable`);
    `dest` then holds only complete, verified files.
    """
    dest.mkdir(parents=True, exist_ok=True)
    sess = session or make_session(max(jobs, 1))
    progress = _Progress(sum(f.size or 0 for f in files), on_progress)
    cancel = Cancellation()

    def one(file: DistFile) -> Path:
        blob = fetch_blob(
            file,
            cache,
            session=sess,
            offline=offline,
            retries=retries,
            timeout=timeout,
            on_bytes=progress.add,
            cancel=cancel,
        )
        return place(blob, dest / file.filename)

    pool = ThreadPoolExecutor(max_workers=max(jobs, 1), thread_name_prefix="download")
    futures: list[Future[Path]] = []
    try:
        futures = [pool.submit(one, f) for f in files]
        wait(futures, return_when=FIRST_EXCEPTION)
        for fut in futures:
            if fut.done() and fut.exception() is not None:
                raise _first_error(futures)
        return [fut.result() for fut in futures]
    finally:
        cancel.set()
        pool.shutdown(wait=True, cancel_futures=True)


def _first_error(futures: list[Future[Path]]) -> BaseException:
    """The most telling failure of a batch: a real error rather than a knock-on cancellation."""
    errors = [f.exception() for f in futures if f.done() and not f.cancelled() and f.exception()]
    real = [e for e in errors if e is not None and not isinstance(e, Cancelled)]
    chosen = (real or errors)[0]
    assert chosen is not None
    return chosen


def place(blob: Path, target: Path) -> Path:
    """Hardlink (or copy) `blob` to `target` through a temp name and an atomic rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        tmp.unlink()
        try:
            os.link(blob, tmp)
        except OSError:
            shutil.copyfile(blob, tmp)
            os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
