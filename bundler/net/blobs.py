"""One file into the content-addressed cache, hash-checked: the only way bytes of a
distribution file enter the kit.

Used by the index client (a wheel's METADATA when there is no PEP 658 file) and by the
downloader (`bundler.net.download`); it imports only the transport, the model and the cache.

- A cached blob of the right size is returned as it is (`Cache.stored_blob`): blobs are
  renamed into the store only after their hash matched; one of another size is fetched again.
  Whoever delivers a hit's bytes hashes them on the way (`bundler.net.download` into the
  output), so damage that keeps the size is caught there, and the blob evicted.
- A remote file must have a sha256 from its index (`DistFile.sha256`) unless the caller allows
  unhashed files (`--allow-unhashed`): then it is stored under the hash of what was received.
- A local file (a `file:` URL) is read only when it was listed by a local source the user named
  (`DistFile.local`), only if it is a regular file, and -- for a `file:` index or page -- only
  if its real path is inside that source's tree (checked again when it is opened); it is
  hashed here, and a sha256 or size its page gave must match.
- A remote body is streamed through a locked `.part` file under the cache's `tmp/`, bounded in
  size and time (`Transport.stream`), checked against the advertised size and sha256, and only
  then renamed into the store.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from bundler.errors import BadAnswer, BadInput, BundlerError, HashMismatch, IndexUnavailable
from bundler.fs.cache import Cache
from bundler.fs.hashing import CHUNK
from bundler.fs.regular import open_regular
from bundler.models.link import DistFile
from bundler.models.source import SourceKind, local_path
from bundler.net.transport import Cancelled, TransientError, Transport, check_status, with_retries


class UnhashedFile(BadAnswer):
    """A remote index listed a file without a sha256 (refused unless --allow-unhashed)."""


def fetch_blob(
    file: DistFile,
    cache: Cache,
    transport: Transport,
    *,
    allow_unhashed: bool = False,
    on_bytes: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """The verified cache blob holding `file`, downloading (or reading) it first if needed.

    Raises `HashMismatch`, `UnhashedFile`, `BadAnswer` (a file: URL from a remote source, a
    body over the size limit), `IndexUnavailable` (unreachable, offline and not cached,
    deadline), `Cancelled`; OSError from the cache (named by the caller).
    """
    settings = transport.settings
    cached = cache.stored_blob(file.sha256, file.size) if file.sha256 else None
    if cached is not None:
        if on_bytes:
            on_bytes(file.size or cached.stat().st_size)
        return cached
    if file.local:
        return _adopt(file, cache, lambda: _read_local(file), on_bytes, cancel, remote=False)
    if local_path(file.url) is not None:
        raise BadAnswer(f"{file.filename}: file: URL {file.url} from a remote source refused")
    if not file.sha256 and not allow_unhashed:
        raise UnhashedFile(
            f"{file.filename} from {file.url}: the index gives no sha256 for it "
            "(refused; --allow-unhashed takes it with a hash computed from the download)"
        )
    if settings.offline:
        damaged = cache.damaged_blob(file.sha256, file.size) if file.sha256 else None
        if damaged is not None:  # issue #17 review 17b, D6: there, but cut (or not a file)
            raise HashMismatch(
                f"{file.filename}: the cached copy {damaged} is damaged (not a file of "
                f"{file.size} bytes); removed from the cache, and --offline cannot download it "
                f"again from {file.url}: fetch once with the network"
            )
        raise IndexUnavailable(
            f"{file.filename} is not in the cache and --offline forbids downloading it "
            f"from {file.url}"
        )

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
                file, cache, lambda: _read_http(transport, file, cancel), counted, cancel,
                remote=True,
            )  # fmt: skip
        except BaseException as exc:
            if on_bytes and reported[0]:
                on_bytes(-reported[0])  # a retry starts over: take back what was counted
            if cancel is not None and cancel.is_set() and not isinstance(exc, BundlerError):
                raise Cancelled(f"download of {file.filename} cancelled") from exc
            raise

    return with_retries(attempt, retries=settings.retries, what=f"cannot download {file.url}")


def _read_local(file: DistFile) -> Iterator[bytes]:
    path = local_path(file.url)
    if path is None:
        raise BadAnswer(f"{file.filename}: {file.url} is not a local file: URL")
    real = Path(os.path.realpath(path))
    source = file.source
    if source is not None and source.confined and not source.contains(real):
        raise BadAnswer(f"{file.filename}: {path} leads outside the local source's tree")
    # a find-links directory's files were listed as regular files (links refused): open the
    # listed path without following one, so a file swapped for a link since is refused too
    listed = source is not None and source.kind is SourceKind.LOCAL_DIR
    try:
        f = open_regular(path if listed else real)
    except BadInput as exc:
        raise IndexUnavailable(str(exc)) from None
    try:
        with f:
            yield from iter(lambda: f.read(CHUNK), b"")
    except OSError as exc:
        raise IndexUnavailable(f"cannot read {path}: {exc.strerror or exc}") from None


def _read_http(
    transport: Transport, file: DistFile, cancel: threading.Event | None
) -> Iterator[bytes]:
    settings = transport.settings
    limit = settings.max_file_bytes
    if file.size is not None:
        limit = min(file.size, limit)
    what = f"cannot download {file.url}"

    def budget(received: int) -> float:
        return settings.deadline + max(received, 0) / settings.min_rate

    with transport.stream(file.url, what=what, limit=limit, budget=budget, cancel=cancel) as body:
        check_status(body.response, what)
        yield from body.chunks()


def _adopt(
    file: DistFile,
    cache: Cache,
    chunks: Callable[[], Iterator[bytes]],
    on_bytes: Callable[[int], None] | None,
    cancel: threading.Event | None,
    *,
    remote: bool,
) -> Path:
    """Stream `chunks()` into a cache temp file, check size and sha256, move it into the store.

    A remote body shorter or longer than the index said is a transient failure (retried).
    """
    with cache.incoming(file.filename) as (out, tmp):
        digest = hashlib.sha256()
        size = 0
        for block in chunks():
            if cancel is not None and cancel.is_set():
                raise Cancelled(f"download of {file.filename} cancelled")
            _write(out, block, tmp)
            digest.update(block)
            size += len(block)
            if on_bytes:
                on_bytes(len(block))
        _write(out, b"", tmp, flush=True)
        got = digest.hexdigest()
        if remote and file.size is not None and size != file.size:
            raise TransientError(f"received {size} bytes of {file.filename}, expected {file.size}")
        if file.sha256 and got != file.sha256.lower():
            raise HashMismatch(
                f"hash mismatch for {file.filename} from {file.url}: "
                f"expected sha256 {file.sha256}, got {got}"
            )
        if file.size is not None and size != file.size:  # a local file: not transient
            raise BadAnswer(f"{file.url} has {size} bytes; its index says {file.size}")
        tmp.chmod(0o644)
        return cache.adopt_blob(tmp, got)


def _write(out: BinaryIO, block: bytes, tmp: Path, *, flush: bool = False) -> None:
    """Write (and optionally flush) to the cache's temp file; an OSError without a file name
    (ENOSPC) gets `tmp`'s, so the caller can say where the disk filled up. Only here: a
    network error raised while reading the body is worded by the transport."""
    try:
        out.write(block)
        if flush:
            out.flush()
    except OSError as exc:
        if exc.filename is None:
            exc.filename = str(tmp)
        raise
