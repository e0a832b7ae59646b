"""The downloader: a batch of files into an output folder, in parallel, hash-checked, atomic.

Every file goes through the content-addressed cache. A cache hit (`Cache.stored_blob`, the
size checked) is copied out with every byte hashed on its way (`fs.atomic.atomic_copy_checked`:
one pass, the bytes hashed are the bytes written) and compared with the index's sha256; a blob
that no longer matches (damaged on disk, or changed by someone) is evicted and downloaded again,
or, `--offline`, is an error naming the file and the cache (issue #17 review, D1). A miss is
streamed and hash-checked into the cache by `bundler.net.blobs.fetch_blob`, then copied (a
reflink where the filesystem can: those bytes were hashed as they arrived), as is a blob this
run adopted before (`Cache.adopted`). Files reach the
output folder as copies, never hard links, so a byte flipped in the cache later cannot change
a delivered wheel; each copy is written under a temp name and renamed, at a path
that cannot leave the folder (`models.link.path_in`). The folder itself is a staging area
(`bundler.fs.staging`): the caller swaps it into place when everything is there.

Nothing here interprets an index's answer: entries were checked by `bundler.index.pages` (names,
URLs, hashes), the wire is bounded by `bundler.net.transport` (redirects, sizes, deadlines) and
the bytes by `bundler.net.blobs` (sha256, size, `file:` only from local sources).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from pathlib import Path

from bundler.errors import HashMismatch
from bundler.fs.atomic import CopyMismatch, atomic_copy, atomic_copy_checked
from bundler.fs.cache import Cache
from bundler.models.link import DistFile, path_in
from bundler.net.blobs import fetch_blob
from bundler.net.transport import Cancellation, Cancelled, Transport


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
    transport: Transport,
    *,
    allow_unhashed: bool | Collection[str] = False,
    on_progress: Callable[[int, int], None] | None = None,
    on_file: Callable[[Path, str], None] | None = None,
) -> list[Path]:
    """Put every file of `files` into `dest` (verified, atomic), in parallel; paths in order.

    `on_file(path, sha256)` is called on the download thread as soon as one file is in `dest`
    (its bytes checked against `sha256`); it must not raise (a caller starts work on the file
    early, e.g. the audit's reading of its ELF members).

    `allow_unhashed`: True takes every remote file without an index sha256; a collection of
    file names takes only those (the caller checks their bytes some other way).

    `transport.settings.jobs` downloads run at once. The first failure cancels the rest and
    is raised (`HashMismatch`, `UnhashedFile`, `IndexUnavailable`, ...); `dest` then holds only
    complete, verified files. They are not fsynced one by one (`place`): `dest` is a stage's
    content, which `Stage.commit` flushes before the swap.
    """
    dest.mkdir(parents=True, exist_ok=True)
    jobs = max(transport.settings.jobs, 1)
    progress = _Progress(sum(f.size or 0 for f in files), on_progress)
    cancel = Cancellation()

    def one(file: DistFile) -> Path:
        placed = _place_cached(file, cache, dest, offline=transport.settings.offline)
        if placed is not None:
            progress.add(file.size or placed.stat().st_size)
            if on_file is not None:
                on_file(placed, file.sha256 or placed.name)
            return placed
        blob = fetch_blob(
            file,
            cache,
            transport,
            allow_unhashed=(
                allow_unhashed
                if isinstance(allow_unhashed, bool)
                else file.filename in allow_unhashed
            ),
            on_bytes=progress.add,
            cancel=cancel,
        )
        placed = place(blob, dest, file.filename)  # hashed as it was received, just now
        if on_file is not None:
            on_file(placed, file.sha256 or blob.name)
        return placed

    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="download")
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


def _place_cached(file: DistFile, cache: Cache, dest: Path, *, offline: bool) -> Path | None:
    """`file` copied from the cache into `dest`, its bytes hashed on the way and matching its
    sha256; None when the cache has no blob of it (or had a damaged one, now evicted, and the
    network may replace it). Offline, a damaged blob is `HashMismatch` naming the file, the
    cache entry (removed) and what to do. A blob this run adopted (`Cache.adopted`: hashed as
    it streamed in, e.g. by the resolver for its METADATA) is left to `fetch_blob` and copied
    as it is: one hash pass per byte on a cold fetch too."""
    if not file.sha256 or file.sha256 in cache.adopted:
        return None
    blob = cache.stored_blob(file.sha256, file.size)
    if blob is None:
        return None
    try:
        return atomic_copy_checked(blob, path_in(dest, file.filename), file.sha256, durable=False)
    except CopyMismatch as exc:
        cache.evict_blob(file.sha256)
        if not offline:
            return None
        raise HashMismatch(
            f"{file.filename}: the cached copy {blob} does not match its sha256 {file.sha256} "
            f"(got {exc.got}); removed from the cache, and --offline cannot download it again "
            f"from {file.url}: fetch once with the network"
        ) from None


def place(blob: Path, directory: Path, filename: str) -> Path:
    """Copy `blob` to `directory/filename` (a checked base name) atomically; the path.

    `directory` is a stage's content: no fsync per file, `Stage.commit` flushes them all."""
    return atomic_copy(blob, path_in(directory, filename), durable=False)
