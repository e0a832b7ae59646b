"""The local cache: content-addressed blobs (wheels, sdists, tarballs) and index responses.

Layout under the cache root (default: platformdirs' user cache dir for "airgap-kit", which
honours XDG_CACHE_HOME; or --cache-dir):

    blobs/sha256/ab/abcdef...      a downloaded file, stored under its own sha256
    pages/<sha256 of URL>          the body of an index page or a .metadata file, by URL, after a
                                   header with its length and sha256 (written without fsync)
    index/<kind>/ab/abcdef...      what was derived from the bytes of sha256 abcdef... (a page
                                   entry, by its header's sha256; a blob), e.g. a page's compact
                                   form for the resolver (`bundler.index.compact`) or a wheel's
                                   METADATA, after the same kind of header as a page
    facts/<kind>/ab/abcdef....json facts derived from a blob's bytes alone (e.g. the ELF
                                   objects of a wheel for `bundler audit`), by the blob's sha256
    tmp/*.part                     files being received or written, each held by a lock

Blobs are only ever added after their hash was checked, atomically; a hit checks its size
(`stored_blob`) and the bytes are hashed as they are copied out of the cache
(`net.download`): a blob damaged since is evicted, never delivered (issue #17 review, D1).
Pages are what lets `--offline` resolve again without the network; they are answers of an
index, parsed and checked like a fresh answer when read back (or, for the resolver, through
their compact form in `index/`, keyed by the page's sha256 and checked when read). Facts are
pure functions of content, so they never go stale; `kind` carries a format version. `sweep()`
removes the temp files of killed runs.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, BinaryIO

import platformdirs

from bundler.fs.atomic import atomic_write_bytes
from bundler.fs.hashing import sha256_file
from bundler.fs.staging import sweep_parts
from bundler.fs.tempnames import part_prefix

APP_NAME = "airgap-kit"
PAGE_MAGIC = b"airgap-kit-page-v1 "
"""First bytes of a page entry: then '<length> <sha256 hex>\\n' and the body."""
DERIVED_MAGIC = b"airgap-kit-derived-v1 "
"""First bytes of an `index/` entry: then '<length> <sha256 hex>\\n' and the body."""
LEGACY_PAGE = b'{"status": '
"""How a page entry of a kit before the `PAGE_MAGIC` header begins (client.py's `_Page.encode`:
a JSON head line, then the body); such entries were written with fsync, so they are whole."""
_HEAD_MAX = len(PAGE_MAGIC) + 21 + 1 + 64 + 1


class DamagedEntry(ValueError):
    """A cache entry that is not what was written (a crash before the data reached the disk,
    or a change on disk); it was removed: treat it as a miss."""


def default_root() -> Path:
    """$XDG_CACHE_HOME/airgap-kit (or ~/.cache/airgap-kit) on Linux."""
    return Path(platformdirs.user_cache_dir(APP_NAME))


class Cache:
    """A content-addressed store rooted at `root`."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()
        self.adopted: set[str] = set()
        """The sha256s of the blobs this object moved into the store (`adopt_blob`): hashed
        as they arrived, in this run, so a copy out of the store need not hash them again."""

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    def sweep(self) -> list[Path]:
        """Remove temp files that killed runs left in `tmp/` (not those of live runs)."""
        return sweep_parts(self.tmp)

    # -- blobs ----------------------------------------------------------------------------------

    def blob_path(self, sha256: str) -> Path:
        return self.root / "blobs" / "sha256" / sha256[:2] / sha256

    def has_blob(self, sha256: str) -> bool:
        return self.blob_path(sha256).is_file()

    @contextmanager
    def incoming(self, name: str) -> Iterator[tuple[BinaryIO, Path]]:
        """A locked temp file `tmp/.NAME.XXXX.part` for bytes being received, and its path.

        Removed on leaving the block unless `adopt_blob` moved it into the store first.
        Errors pass through as they are: the block names the temp file on the errors of its
        own writes (`net.blobs`); a network error (requests' are OSErrors too) must not be
        made to look like one (issue #17 review, D5). Closing flushes what the block left
        buffered: when that fails (a full disk) after the block raised, the block's error is
        the one reported; after a clean block, the close's error names the temp file.
        """
        self.make_dirs(self.tmp)
        prefix = part_prefix(name, self.tmp)  # a 255-byte wheel name leaves no room
        fd, name_ = tempfile.mkstemp(prefix=prefix, suffix=".part", dir=self.tmp)
        tmp = Path(name_)
        try:
            out = os.fdopen(fd, "wb")
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        try:
            fcntl.flock(out.fileno(), fcntl.LOCK_EX)
            try:
                yield out, tmp
            except BaseException:
                with suppress(OSError):
                    out.close()  # its flush may fail again (ENOSPC): keep the first error
                raise
            try:
                out.close()
            except OSError as exc:
                if exc.filename is None:
                    exc.filename = str(tmp)
                raise
        finally:
            if not out.closed:
                with suppress(OSError):
                    out.close()
            tmp.unlink(missing_ok=True)

    def adopt_blob(self, tmp: Path, sha256: str) -> Path:
        """Move an already hash-checked file `tmp` into the store (atomic rename)."""
        dest = self.blob_path(sha256)
        self.make_dirs(dest.parent)
        _clear_dir(dest)
        os.replace(tmp, dest)
        self.adopted.add(sha256)
        return dest

    def stored_blob(self, sha256: str, size: int | None = None) -> Path | None:
        """The blob stored under `sha256` (of `size` bytes, when given), else None. Not
        re-hashed here: a blob is renamed into place only after its hash matched
        (`adopt_blob`), but the disk (or someone) may change it since, so whoever delivers its
        bytes hashes them on the way (`fs.atomic.atomic_copy_checked`, `net.download`) and
        drops a damaged one (`evict_blob`). A blob of another size is not used (the caller
        downloads it again, replacing it)."""
        path = self.blob_path(sha256)
        try:
            found = path.stat()
        except OSError:
            return None
        if not stat.S_ISREG(found.st_mode) or (size is not None and found.st_size != size):
            return None
        return path

    def evict_blob(self, sha256: str) -> None:
        """Remove the blob stored under `sha256` (its bytes were found not to hash to it)."""
        self.adopted.discard(sha256)
        _remove(self.blob_path(sha256))

    def damaged_blob(self, sha256: str, size: int | None = None) -> Path | None:
        """The path of what is stored under `sha256` when it is not a usable blob (not a
        regular file, or not of `size` bytes: cut by a crash or a full disk), after removing
        it; None when nothing is there or the blob is usable (`stored_blob`)."""
        path = self.blob_path(sha256)
        if not os.path.lexists(path) or self.stored_blob(sha256, size) is not None:
            return None
        self.evict_blob(sha256)
        return path

    def verify_blob(self, sha256: str) -> bool:
        """Re-hash a stored blob; a corrupt one is removed so it is fetched again (a full check,
        for callers that must not trust the store; the fetch uses `stored_blob`)."""
        path = self.blob_path(sha256)
        if not path.is_file():
            return False
        if sha256_file(path) == sha256:
            return True
        path.unlink(missing_ok=True)
        return False

    # -- pages ----------------------------------------------------------------------------------

    def page_path(self, url: str) -> Path:
        key = hashlib.sha256(url.encode("utf-8")).hexdigest()
        return self.root / "pages" / key[:2] / key

    def get_page(self, url: str) -> bytes | None:
        """The body stored for `url`; None when there is none; `DamagedEntry` (the entry is
        removed first) when it is not a whole entry: a miss, which the caller words.

        Entries are written without fsync (`put_page`), so after a crash one may be empty,
        cut or zero-filled; each carries its length and sha256 after `PAGE_MAGIC`, checked
        here. A project page stored by a kit before that header (it begins `LEGACY_PAGE`, and
        was written durably) is returned as it is: the caller parses and checks it like any
        answer. Anything else without the header counts as damaged (an older kit's `.metadata`
        body too: it is fetched again, or offline read from the cached wheel).
        """
        path = self.page_path(url)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError:  # a directory, unreadable: as damaged (issue #17 review 17b, D5)
            raw = b""
        if raw.startswith(LEGACY_PAGE):
            return raw
        body = _entry_body(PAGE_MAGIC, raw)
        if body is None:
            _remove(path)
            raise DamagedEntry(f"damaged cache entry {path} for {url}")
        return body

    def page_digest(self, url: str) -> str | None:
        """The sha256 (hex) the entry for `url` says its body has, read from its header alone
        (the body is neither read nor checked); None when there is no entry, it has no
        header (an older kit's) or the header is unreadable."""
        try:
            with open(self.page_path(url), "rb") as f:
                head = f.read(_HEAD_MAX)
        except OSError:
            return None
        return _header(PAGE_MAGIC, head)

    def put_page(self, url: str, body: bytes, digest: str | None = None) -> str:
        """Store `body` for `url`, with its length and sha256 (`digest`, computed when not
        given), without fsync (re-derivable: a damaged entry is a miss for `get_page`); an
        entry that already has this digest is left as it is. Returns the sha256."""
        digest = digest or hashlib.sha256(body).hexdigest()
        if self.page_digest(url) != digest:
            self._write(self.page_path(url), _entry(PAGE_MAGIC, body, digest))
        return digest

    def drop_page(self, url: str) -> None:
        """Remove the entry for `url` (found to disagree with what it stands for)."""
        _remove(self.page_path(url))

    # -- derived from pages ---------------------------------------------------------------------

    def derived_path(self, kind: str, sha256: str) -> Path:
        return self.root / "index" / kind / sha256[:2] / sha256

    def get_derived(self, kind: str, sha256: str) -> bytes | None:
        """The body stored under `kind` for the content of sha256 `sha256`, its length and
        sha256 checked (`DERIVED_MAGIC` header); None when absent or damaged (then removed).
        `kind` carries the format's version, so another kit's entries are never read."""
        path = self.derived_path(kind, sha256)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError:  # a directory, unreadable: a miss, replaced (issue #17 review 17b, D5)
            raw = b""
        body = _entry_body(DERIVED_MAGIC, raw)
        if body is None:
            _remove(path)
        return body

    def drop_derived(self, kind: str, sha256: str) -> None:
        """Remove the `kind` entry for content `sha256` (found to disagree with its source)."""
        _remove(self.derived_path(kind, sha256))

    def put_derived(self, kind: str, sha256: str, body: bytes) -> None:
        """Store `body` under `kind` for content sha256 `sha256`, without fsync (re-derivable)."""
        data = _entry(DERIVED_MAGIC, body, hashlib.sha256(body).hexdigest())
        self._write(self.derived_path(kind, sha256), data)

    # -- facts ----------------------------------------------------------------------------------

    def facts_path(self, kind: str, sha256: str) -> Path:
        return self.root / "facts" / kind / sha256[:2] / f"{sha256}.json"

    def get_facts(self, kind: str, sha256: str) -> Any | None:
        """The JSON stored for content `sha256` under `kind`, or None (absent or unreadable)."""
        try:
            return json.loads(self.facts_path(kind, sha256).read_bytes())
        except (OSError, ValueError):
            return None

    def has_facts(self, kind: str) -> bool:
        """Whether any facts of `kind` are stored (one directory listing, no file read)."""
        try:
            return any(d.is_dir() for d in (self.root / "facts" / kind).iterdir())
        except OSError:
            return False

    def put_facts(self, kind: str, sha256: str, facts: Any) -> None:
        data = json.dumps(facts, sort_keys=True, separators=(",", ":")).encode("utf-8")
        # Re-derivable from the blob: no fsync; damaged JSON reads back as None (a miss).
        self._write(self.facts_path(kind, sha256), data)

    def _write(self, path: Path, data: bytes) -> None:
        """`data` written atomically to entry `path`, without fsync (every entry but a blob is
        re-derivable); a directory in its place (a stray `mkdir`, another tool) is removed
        first, so the entry is replaced rather than the write failing (issue #17 review 17b,
        D5)."""
        _clear_dir(path)
        self.make_dirs(path.parent)
        self.make_dirs(self.tmp)
        atomic_write_bytes(path, data, tmp_dir=self.tmp, durable=False)

    def make_dirs(self, path: Path) -> None:
        """`path`, a folder of the cache's own below `root`, made with its parents. Whatever
        is not a directory where one of them goes (a regular file, a link to a file, a broken
        link: another tool, a restore) is removed first, as `_write` replaces a directory in
        an entry's place: otherwise every run would fail on it with EEXIST or ENOTDIR (#17
        verification review, leftover). A link to a directory is kept (a folder moved to
        another disk), and `root` itself is never removed: a file at the root stays an error.
        Raises OSError."""
        try:
            path.mkdir(parents=True, exist_ok=True)
            return
        except (FileExistsError, NotADirectoryError):
            pass
        here = self.root
        for part in path.relative_to(self.root).parts:
            here = here / part
            if not here.is_dir() and (here.is_symlink() or here.exists()):
                here.unlink(missing_ok=True)  # (another run may have been first)
                break  # what was below it went with it
        path.mkdir(parents=True, exist_ok=True)


def _clear_dir(path: Path) -> None:
    """Remove a directory (not a link to one) standing where an entry goes."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)


def _remove(path: Path) -> None:
    """Remove the entry at `path`, whatever it is (a directory too); errors are ignored (a
    later write replaces it, or reports the real cause)."""
    _clear_dir(path)
    with suppress(OSError):
        path.unlink(missing_ok=True)


def _entry(magic: bytes, body: bytes, digest: str) -> bytes:
    return magic + f"{len(body)} {digest}\n".encode("ascii") + body


def _header(magic: bytes, raw: bytes) -> str | None:
    """The sha256 hex the header of entry `raw` (`magic`, length, sha256) names, else None."""
    if not raw.startswith(magic):
        return None
    head, sep, _ = raw[len(magic) :].partition(b"\n")
    size, _, digest = head.partition(b" ")
    if not sep or not size.isdigit() or len(digest) != 64:
        return None
    text = digest.decode("ascii", errors="replace")
    return text if all(c in "0123456789abcdef" for c in text) else None


def _entry_body(magic: bytes, raw: bytes) -> bytes | None:
    """The body of a `magic` entry whose length and sha256 match, else None."""
    if not raw.startswith(magic):
        return None
    head, sep, body = raw[len(magic) :].partition(b"\n")
    size, _, digest = head.partition(b" ")
    if not sep or not size.isdigit() or int(size) != len(body):
        return None
    return body if hashlib.sha256(body).hexdigest().encode("ascii") == digest else None
