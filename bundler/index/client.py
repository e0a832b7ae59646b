"""Simple-repository client: what files a project has, and their core metadata.

Sources, in the order given: index URLs (PEP 691 JSON preferred, PEP 503 HTML fallback, both
with PEP 592 yanked flags, `Requires-Python`, and PEP 658/714 metadata links) and find-links
sources (a local directory of wheels/sdists, or an HTML page of links).

Every index response is kept in the `Cache` by URL (404s too), so that `offline=True` answers
from the cache alone; metadata comes from the PEP 658 `.metadata` file when the index offers
one (hash-checked), else from the wheel's own `*.dist-info/METADATA` (the wheel is downloaded
into the blob cache, where the later download finds it).

Untrusted answers are checked in one place: every page (fresh or from the cache) goes through
`bundler.index.pages` before a `DistFile` is made of it; every byte of a file through
`bundler.net.blobs.fetch_blob`; every request through `bundler.net.transport`. A local
directory the user named is listed here and hashed locally.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from functools import lru_cache, partial
from hashlib import sha256
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from bundler.errors import (
    BadAnswer,
    BadInput,
    BundlerError,
    HashMismatch,
    IndexUnavailable,
    MetadataMismatch,
    PackageNotFound,
    RequirementError,
)
from bundler.fs.cache import Cache, DamagedEntry
from bundler.fs.hashing import CHUNK
from bundler.fs.regular import NotRegular, open_regular, read_regular
from bundler.index import compact
from bundler.index.pages import (
    Link,
    Page,
    claimed,
    json_entries,
    json_page,
    read_html_page,
    read_json_page,
)
from bundler.models.link import DistFile, check_filename, parse_filename, try_parse_filename
from bundler.models.metadata import (
    Metadata,
    parse_metadata,
    read_wheel_metadata,
    wheel_metadata_body,
)
from bundler.models.source import (
    REMOTE_SCHEMES,
    Source,
    SourceKind,
    find_links_source,
    index_source,
    local_path,
)
from bundler.net.blobs import fetch_blob
from bundler.net.settings import NetworkSettings
from bundler.net.transport import Cancellation, Transport

T = TypeVar("T")

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
ACCEPT = f"{JSON_TYPE}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1"
DEFAULT_INDEX = "https://pypi.org/simple/"
WHEEL_METADATA = "wheel-metadata-v1"
"""The `Cache.get_derived` kind of a wheel's METADATA bytes, by the wheel's sha256."""
LOCAL_PAGE_FILES = (("index.v1_json", True), ("index.html", False), ("index.v1_html", False))
"""A `file:` index's project page, first found wins: PEP 691 JSON as bandersnatch names it
(`src/bandersnatch/simple.py`: pip has no name for JSON on disk), then PEP 503 HTML as pip
reads a `file:` directory URL (its `index.html`, pip's `index/collector.py`)."""


class _Memo:
    """Compute each key once, even when several threads ask at the same time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._futures: dict[Hashable, Future[Any]] = {}

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            fut = self._futures.get(key)
            owner = fut is None
            if fut is None:
                fut = self._futures[key] = Future()
        if owner:
            try:
                fut.set_result(compute())
            except BaseException as exc:
                fut.set_exception(exc)
        result: T = fut.result()
        return result


@dataclass(frozen=True)
class _Page:
    status: int
    content_type: str
    url: str
    body: bytes
    digest: str = ""
    """sha256 (hex) of `encode()`: the page cache entry's, which keys its compact form."""

    def encode(self) -> bytes:
        head = json.dumps({"status": self.status, "type": self.content_type, "url": self.url})
        return head.encode("utf-8") + b"\n" + self.body

    @classmethod
    def decode(cls, raw: bytes, url: str) -> _Page:
        """A cached answer read back; BadAnswer (naming `url`) if it is not one of ours."""
        head, sep, body = raw.partition(b"\n")
        try:
            meta = json.loads(head)
            status, ctype, page_url = int(meta["status"]), str(meta["type"]), str(meta["url"])
            page = cls(status, ctype, page_url, body, sha256(raw).hexdigest())
        except (ValueError, KeyError, TypeError, RecursionError):
            page = None
        if page is None or not sep or page.status not in (200, 404):
            raise _damaged(url)
        if urlsplit(page.url).scheme.lower() not in REMOTE_SCHEMES:
            raise BadAnswer(f"{url}: the cached answer names a non-http URL {page.url[:200]!r}")
        return page


class ProjectFiles:
    """The files of one project from every source, grouped by the version their names claim.

    `versions` (newest first) come from the entries' file names alone (split on '-', the
    version parsed once per distinct string); `files(version)` checks that version's entries
    (`Page.link`: every check of `bundler.index.pages`, `BadAnswer` on the first rejected one)
    and turns them into `DistFile`s, once, on first use. An entry whose checked name is not
    the project at that version is left out, as are entries of other projects and file kinds
    (an `.exe`); the first source listing a file name wins. `all()` is every entry checked,
    in source and page order (what `Index.files` gives).
    """

    def __init__(self, name: str, pages: list[tuple[Source, Page]]) -> None:
        self.name = name
        self._pages = pages
        groups: dict[Version, list[tuple[int, int]]] = {}
        for p, (_, page) in enumerate(pages):
            for claim_name, text, indices in page.claims():
                version = _version(text) if claim_name == name else None
                if version is not None:
                    groups.setdefault(version, []).extend((p, i) for i in indices)
        for entries in groups.values():
            entries.sort()  # page order, also where two texts claim one version ("1.0", "1")
        self._groups = groups
        self.versions: list[Version] = sorted(groups, reverse=True)
        """Every version some entry's file name claims, newest first."""
        self._files = _Memo()

    def files(self, version: Version) -> list[DistFile]:
        """The checked files of `version` (empty when no entry claims it)."""
        return list(self._files.get(version, partial(self._check, version)))

    def _check(self, version: Version) -> list[DistFile]:
        by_filename: dict[str, DistFile] = {}
        for p, i in self._groups.get(version, []):
            source, page = self._pages[p]
            _add(by_filename, self.name, [page.link(i)], source, version)
        return list(by_filename.values())

    def all(self) -> list[DistFile]:
        """Every entry of every source checked (the first rejected one raises), in order."""
        by_filename: dict[str, DistFile] = {}
        for source, page in self._pages:
            _add(by_filename, self.name, page.links(), source)
        return list(by_filename.values())


class Index:
    """Files and metadata of projects, from index URLs and find-links sources.

    A project named in `local_projects` (e.g. the converter, built into a wheel by fetch) is
    answered from its own directory only: index URLs and find-links are not asked about it, so
    a file of the same name on PyPI can never replace the local build.

    Every answer is checked by `bundler.index.pages` (remote pages) or here (local
    directories); every file's bytes come through `bundler.net.blobs.fetch_blob`.
    """

    def __init__(
        self,
        index_urls: Sequence[str],
        find_links: Sequence[str],
        cache: Cache,
        *,
        settings: NetworkSettings | None = None,
        transport: Transport | None = None,
        local_projects: Mapping[str, str | Path] | None = None,
        allow_unhashed: bool = False,
        on_wheel: Callable[[Path, str], None] | None = None,
    ) -> None:
        self.sources = [index_source(u) for u in index_urls]
        self.find_links = [find_links_source(x) for x in find_links]
        self.local_projects: dict[str, Source] = {
            str(canonicalize_name(name)): Source(SourceKind.LOCAL_PROJECT, str(source))
            for name, source in (local_projects or {}).items()
        }
        """Project name -> the directory that alone answers for it: a project built here is
        never shadowed by a file of the same name on an index."""
        self.cache = cache
        self.transport = transport or Transport(settings or NetworkSettings())
        self.settings = self.transport.settings
        self.allow_unhashed = allow_unhashed
        """Remote files without an index sha256 may be downloaded (hash computed here)."""
        self.on_wheel = on_wheel
        """Called (on the calling thread, must not raise) with the cache path and sha256 of
        each wheel this index downloads for its metadata (not one the cache had): work on the
        wheel may start before the resolution ends (fetch's early audit reading)."""
        self.cancel = Cancellation()
        """Set to abort the requests in flight (resolve() does on Ctrl-C)."""
        self._files = _Memo()
        self._pages = _Memo()
        self._metadata = _Memo()
        self._local_hashes = _Memo()
        self._listings = _Memo()
        self._pep658_lock = threading.Lock()
        self.warnings: list[str] = []
        """One-line warnings about the answers read (a newer minor simple API version: PEP
        629), in the order met; appended from any thread."""
        self._pep658: set[str] = set()
        """URLs of the wheels whose metadata came from their PEP 658 file (not the wheel)."""
        self._kept: set[str] = set()
        """URLs of the wheels whose metadata came from the cache's `WHEEL_METADATA` entry."""

    @property
    def index_urls(self) -> list[str]:
        return [s.location for s in self.sources]

    @property
    def offline(self) -> bool:
        return self.settings.offline

    # -- files ------------------------------------------------------------------------------

    def describe_sources(self) -> str:
        sources = [str(s) for s in self.sources + self.find_links]
        sources += sorted({str(s) for s in self.local_projects.values()})
        return ", ".join(sources) if sources else "no source (no index, no find-links)"

    def files(self, project: str) -> list[DistFile]:
        """Every wheel/sdist of `project` from every source, first source first, each entry
        checked (`project(name).all()`).

        `PackageNotFound` when no source knows the project; `IndexUnavailable` when a source
        cannot be read (or, offline, was never cached); `BadAnswer` when it answers something
        that breaks the rules (see `bundler.index.pages`).
        """
        return self.project(project).all()

    def project(self, project: str) -> ProjectFiles:
        """The files of `project` grouped by version, each version's entries checked on first
        use (`ProjectFiles`); memoised, one per project for every thread. Raises as `files`
        does, for a page that cannot be had or whose structure is refused."""
        name = canonicalize_name(project)
        return self._files.get(name, lambda: self._collect(project, name))

    def _collect(self, project: str, name: str) -> ProjectFiles:
        local = self.local_projects.get(name)
        if local is not None:
            listing = self._listings.get(str(local), partial(self._find_links, local))
            files = ProjectFiles(name, [(local, listing)])
            if not files.versions:
                raise PackageNotFound(f"no file of the local project {project!r} in {local}")
            return files
        pages: list[tuple[Source, Page]] = []
        found = False
        for source in self.sources:
            if source.kind is SourceKind.LOCAL_INDEX:
                page = self._local_project_page(source, name)
            else:
                page = self._project_page(urljoin(source.location, name + "/"), name, source)
            if page is None:
                continue
            found = True
            pages.append((source, page))
        for source in self.find_links:
            listing = self._listings.get(str(source), partial(self._find_links, source))
            pages.append((source, listing))
        files = ProjectFiles(name, pages)
        if not found and not files.versions:
            raise PackageNotFound(f"no package named {project!r} on {self.describe_sources()}")
        return files

    def _project_page(self, url: str, name: str, source: Source) -> Page | None:
        """A remote index's page for a project (None: 404). A JSON page comes from its compact
        form (`bundler.index.compact`) when one is kept for the same bytes: offline found by
        the cache entry's header alone, before the page is read; else the page is read, its
        structure checked, and its compact form kept for the next run. `name`: the canonical
        project name, which the compact form must have been built for. Each entry used is read
        from the page itself (online the fresh answer, offline the cached page) and compared
        with the compact form's row (`compact.load`)."""
        if self.offline:
            digest = self.cache.page_digest(url)
            if digest is not None:
                kept = compact.load(self.cache, digest, name, source, partial(self._answer, url))
                if kept is not None:
                    return kept
        page = self._get(url)
        if page is None:
            return None
        if page.content_type.split(";")[0].strip() != JSON_TYPE:
            return read_html_page(page.body, page.url, source)
        answer = (page.digest, page.url, page.body)
        kept = compact.load(self.cache, page.digest, name, source, lambda: answer)
        if kept is not None:
            return kept
        entries = json_entries(page.body, page.url, name, self.warnings.append)
        read = json_page(entries, page.url, source)
        compact.store(self.cache, page.digest, name, page.url, page.body, entries, read.claims())
        return read

    def _answer(self, url: str) -> compact.Answer | None:
        """The page at `url` (offline: the cached page, its header checked) as `compact.load`
        compares its entries with it; None for 404."""
        page = self._get(url)
        return None if page is None else (page.digest, page.url, page.body)

    def _find_links(self, source: Source) -> Page:
        path = source.path
        if source.kind is SourceKind.LOCAL_PAGE:
            assert path is not None
            if not path.is_file():
                raise IndexUnavailable(f"find-links page {path} does not exist")
            return read_html_page(self._read_local_page(path, source), path.as_uri(), source)
        if path is not None:
            return Page.of_links(self._scan_dir(path, source))
        page = self._get(source.location)
        if page is None:
            raise IndexUnavailable(f"find-links page {source} not found (HTTP 404)")
        return read_html_page(page.body, page.url, source)

    def _scan_dir(self, path: Path, source: Source) -> list[Link]:
        """The wheels and sdists of a local directory, each hashed here.

        Only regular files are read: an entry named like a distribution that is a symbolic
        link (which could lead anywhere on the machine, e.g. `/etc/passwd`) is refused with
        `BadInput` naming it, and the files are opened without following links
        (`bundler.fs.regular`), so one swapped for a link after this scan is refused too.
        """
        if not path.is_dir():
            raise IndexUnavailable(f"find-links directory {path} does not exist")
        links = []
        try:
            entries = sorted(path.iterdir())
        except OSError as exc:
            raise IndexUnavailable(f"cannot list {path}: {exc.strerror or exc}") from None
        for entry in entries:
            if try_parse_filename(entry.name) is None:
                continue
            if entry.is_symlink():
                raise BadInput(
                    f"find-links directory {path}: {entry.name} is a symbolic link (to "
                    f"{_link_target(entry)}); only regular files are read from a find-links "
                    "directory (copy the file in)"
                )
            if not entry.is_file():
                continue
            check_filename(entry.name)
            resolved = path.resolve() / entry.name
            size, digest = self._local_hashes.get(str(resolved), partial(_hash_local, resolved))
            links.append(
                Link(
                    filename=entry.name,
                    url=resolved.as_uri(),
                    sha256=digest,
                    size=size,
                    requires_python=None,
                    yanked=None,
                    metadata=None,
                )
            )
        return links

    # -- file: indexes and pages ---------------------------------------------------------------

    def _local_project_page(self, source: Source, name: str) -> Page | None:
        """The checked entries of `name`'s page in a `file:` index (None: the index has no
        such project). The page is `<index>/<name>/` + the first of `LOCAL_PAGE_FILES`."""
        assert source.path is not None
        if not source.path.is_dir():
            raise IndexUnavailable(f"file: index {source.path} is not a directory")
        project = source.path / name
        if not project.is_dir():
            return None
        for filename, is_json in LOCAL_PAGE_FILES:
            page = project / filename
            if not os.path.lexists(page):
                continue
            body = self._read_local_page(page, source)
            if is_json:
                return read_json_page(body, page.as_uri(), source, name, self.warnings.append)
            return read_html_page(body, page.as_uri(), source)
        return None

    def _read_local_page(self, path: Path, source: Source) -> bytes:
        """The bytes of a page of a local source: a regular file inside its tree, at most
        `max_page_bytes`; `BadAnswer` otherwise, `IndexUnavailable` when unreadable."""
        real = Path(os.path.realpath(path))
        if not source.contains(real):
            raise BadAnswer(f"{path}: leads outside the local source's tree {source.root}")
        limit = self.settings.max_page_bytes
        try:
            body = read_regular(real, limit)
        except NotRegular as exc:
            raise BadAnswer(str(exc)) from None
        except BadInput as exc:
            raise IndexUnavailable(str(exc)) from None
        if len(body) > limit:
            raise BadAnswer(f"{path}: larger than {limit} bytes: not an index page")
        return body

    # -- HTTP with the page cache ------------------------------------------------------------

    def _get(self, url: str) -> _Page | None:
        """The page at `url` (None for 404), from the cache when offline."""
        page: _Page = self._pages.get(url, lambda: self._get_uncached(url))
        return None if page.status == 404 else page

    def _get_uncached(self, url: str) -> _Page:
        if self.offline:
            try:
                raw = self.cache.get_page(url)
            except DamagedEntry:  # a miss, and offline nothing replaces it
                raise _damaged(url) from None
            if raw is None:
                raise IndexUnavailable(
                    f"{url} is not in the cache (--offline): fetch once with the network first"
                )
            return _Page.decode(raw, url)
        response = self.transport.get(
            url,
            what=f"cannot reach {url}",
            limit=self.settings.max_page_bytes,
            accept=ACCEPT,
            cancel=self.cancel,
        )
        ctype = response.content_type or "text/html"
        page = _Page(response.status, ctype, response.url, response.body)
        raw = page.encode()
        digest = self.cache.put_page(url, raw, sha256(raw).hexdigest())
        return _Page(page.status, page.content_type, page.url, page.body, digest)

    # -- metadata ---------------------------------------------------------------------------

    def metadata(self, file: DistFile) -> Metadata:
        """The core metadata of wheel `file`: PEP 658 file (hash-checked) or the wheel itself."""
        return self._metadata.get(file.url, lambda: self._load_metadata(file))

    def _load_metadata(self, file: DistFile) -> Metadata:
        if file.metadata_url:
            body = self._metadata_body(file)
            if body is not None:
                meta = parse_metadata(body, file.metadata_url)
                self._check_identity(meta, file)
                with self._pep658_lock:
                    self._pep658.add(file.url)
                return meta
        if not file.is_wheel:
            raise RequirementError(
                f"{file.filename}: an sdist's metadata needs a build (--build-pure)"
            )
        fresh = file.sha256 is None or not self.cache.has_blob(file.sha256)
        blob = fetch_blob(
            file,
            self.cache,
            self.transport,
            allow_unhashed=self.allow_unhashed,
            cancel=self.cancel,
        )
        if fresh and self.on_wheel is not None:
            self.on_wheel(blob, file.sha256 or blob.name)
        return self._wheel_metadata(file, blob)

    def _wheel_metadata(self, file: DistFile, blob: Path) -> Metadata:
        """The METADATA of wheel `file`, stored in `blob` (hash-checked): kept in the cache
        under `WHEEL_METADATA` by the wheel's sha256 the first time (a pure function of the
        wheel's bytes), so a warm run opens no wheel for its metadata (benchmarks/PROFILE.md,
        phase 3: this index serves no PEP 658 files). A kept entry that cannot be parsed or
        names another project or version than the file name is removed and the wheel read
        again (issue #17 review 17b, D4a): the wheel, not the cache, decides."""
        key = file.sha256
        kept = None if key is None else self.cache.get_derived(WHEEL_METADATA, key)
        if kept is not None and key is not None:
            try:
                meta = parse_metadata(kept, file.filename)
                self._check_identity(meta, file)
            except BundlerError:
                self.cache.drop_derived(WHEEL_METADATA, key)
            else:
                with self._pep658_lock:
                    self._kept.add(file.url)
                return meta
        body = wheel_metadata_body(blob, file.filename)
        meta = parse_metadata(body, file.filename)
        self._check_identity(meta, file)
        if key is not None:
            self.cache.put_derived(WHEEL_METADATA, key, body)
        return meta

    def pep658_lie(self, file: DistFile) -> MetadataMismatch | None:
        """What the PEP 658 file of wheel `file` said that its own METADATA does not, once the
        wheel is downloaded (hash-checked, into the cache) and read; None when they agree or
        when `file`'s metadata came from the wheel itself in this run (not from a PEP 658
        file, nor from the METADATA kept in the cache: `metadata_lie`, which removes a lying
        cache entry).

        For a resolution that failed on that metadata: the failure may be the index's lie, not
        a real conflict. Raises what `fetch_blob` and `read_wheel_metadata` raise.
        """
        with self._pep658_lock:
            if file.url not in self._pep658 and file.url not in self._kept:
                return None
        said = self.metadata(file)
        blob = fetch_blob(
            file,
            self.cache,
            self.transport,
            allow_unhashed=self.allow_unhashed,
            cancel=self.cancel,
        )
        return metadata_lie(self.cache, file, said, read_wheel_metadata(blob, file.filename))

    def _metadata_body(self, file: DistFile) -> bytes | None:
        """The .metadata body (None when the index lists it but serves 404)."""
        assert file.metadata_url is not None
        url = file.metadata_url
        if file.local:
            return self._local_metadata_body(file)
        try:
            cached = self.cache.get_page(url)
        except DamagedEntry:  # a miss: fetched again (or, offline, read from the wheel)
            cached = None
        if cached is not None and _hash_ok(cached, file.metadata_sha256):
            return cached
        if self.offline:
            if file.sha256 and self.cache.has_blob(file.sha256):
                return None  # the wheel itself is cached: read METADATA from it
            raise IndexUnavailable(
                f"{url} is not in the cache (--offline): fetch once with the network first"
            )
        response = self.transport.get(
            url,
            what=f"cannot reach {url}",
            limit=self.settings.max_metadata_bytes,
            cancel=self.cancel,
        )
        if response.status == 404:
            return None
        body = response.body
        if not _hash_ok(body, file.metadata_sha256):
            raise HashMismatch(
                f"hash mismatch for {file.filename}.metadata from {url}: expected sha256 "
                f"{file.metadata_sha256}, got {sha256(body).hexdigest()}"
            )
        self.cache.put_page(url, body)
        return body

    def _local_metadata_body(self, file: DistFile) -> bytes | None:
        """A local source's PEP 658 file, read like its pages (None when it is absent: the
        wheel's own METADATA is read instead), sha256-checked when the page gave one."""
        assert file.metadata_url is not None and file.source is not None
        path = local_path(file.metadata_url)
        if path is None or not os.path.lexists(path):
            return None
        body = self._read_local_page(path, file.source)
        if len(body) > self.settings.max_metadata_bytes:
            raise BadAnswer(f"{path}: larger than {self.settings.max_metadata_bytes} bytes")
        if not _hash_ok(body, file.metadata_sha256):
            raise HashMismatch(
                f"hash mismatch for {file.filename}.metadata at {path}: expected sha256 "
                f"{file.metadata_sha256}, got {sha256(body).hexdigest()}"
            )
        return body

    @staticmethod
    def _check_identity(meta: Metadata, file: DistFile) -> None:
        name, version = parse_filename(file.filename)
        if canonicalize_name(meta.name) != name or meta.version != version:
            raise BadAnswer(
                f"{file.filename}: its metadata says {meta.name} {meta.version}, "
                "not what the filename says"
            )


def metadata_lie(
    cache: Cache, file: DistFile, said: Metadata, own: Metadata
) -> MetadataMismatch | None:
    """`pep658_mismatch` naming where `said` came from, and removing the cache entry that may
    have said it, so that the next run derives it again (issue #17 review 17b, D4): a wheel
    with a PEP 658 file was told by the index, or, when the index gives no hash for that file,
    perhaps by the copy kept in the cache (removed: the next run asks the index again); a
    wheel without one by the METADATA kept in the cache under its sha256 (removed: the next
    run reads the wheel)."""
    said_by = None
    if file.metadata_url and file.metadata_sha256 is None and not file.local:
        said_by = (
            f"the index's PEP 658 metadata ({file.metadata_url}), or its copy kept in the cache "
            f"({cache.page_path(file.metadata_url)}; the index gives no hash to check it: "
            "removed, the next run asks the index again),"
        )
    elif not file.metadata_url and file.sha256 is not None:
        kept = cache.derived_path(WHEEL_METADATA, file.sha256)
        said_by = f"the METADATA kept in the cache ({kept}; removed, the next run reads the wheel)"
    lie = pep658_mismatch(file, said, own, said_by)
    if lie is not None and file.metadata_url and file.metadata_sha256 is None and not file.local:
        cache.drop_page(file.metadata_url)
    elif lie is not None and not file.metadata_url and file.sha256 is not None:
        cache.drop_derived(WHEEL_METADATA, file.sha256)
    return lie


def pep658_mismatch(
    file: DistFile, said: Metadata, own: Metadata, said_by: str | None = None
) -> MetadataMismatch | None:
    """The error for a wheel whose metadata the resolver used (`said`) disagrees with its own
    METADATA (`own`) on name, version, Requires-Dist, Requires-Python or the license fields
    (`Metadata.differences`), or None when they agree. `said_by` words where `said` came from
    (default: the index's PEP 658 file, `file.metadata_url`)."""
    differences = said.differences(own)
    if not differences:
        return None
    origin = said_by or f"the index's PEP 658 metadata ({file.metadata_url})"
    return MetadataMismatch(
        f"{file.filename}: {origin} disagrees with the wheel's own METADATA: "
        f"{'; '.join(differences)}"
    )


def _add(
    into: dict[str, DistFile],
    name: str,
    links: list[Link],
    source: Source,
    version: Version | None = None,
) -> None:
    """Checked `links` of project `name` (at `version`, if given) as `DistFile`s in `into`,
    keyed by file name, the first one listed kept."""
    for link in links:
        parsed = try_parse_filename(link.filename)
        if parsed is None or parsed[0] != name or link.filename in into:
            continue
        if version is not None and parsed[1] != version:
            continue
        meta = link.metadata
        into[link.filename] = DistFile(
            project=name,
            filename=link.filename,
            url=link.url,
            sha256=link.sha256,
            size=link.size,
            requires_python=link.requires_python,
            yanked=link.yanked,
            metadata_url=link.url + ".metadata" if meta else None,
            metadata_sha256=meta if isinstance(meta, str) else None,
            source=source,
        )


def claimed_dist(filename: str) -> tuple[str, Version] | None:
    """(canonical name, version) an unchecked file name claims, or None: the wheel's first two
    '-'-separated fields (PEP 427), an sdist's name and version around its last '-' (as
    `packaging.utils.parse_sdist_filename`). Only for picking entries: `Page.link` checks
    the name before any `DistFile` is made of it."""
    claim = claimed(filename)
    parsed = None if claim is None else _version(claim[1])
    return None if claim is None or parsed is None else (claim[0], parsed)


@lru_cache(maxsize=1 << 16)
def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _damaged(url: str) -> BadAnswer:
    return BadAnswer(
        f"{url}: the cached answer is unreadable (damaged cache entry): fetch once "
        "with the network to replace it"
    )


def _hash_local(path: Path) -> tuple[int, str]:
    """(size, sha256) of regular file `path`, read without following a link (`NotRegular`)."""
    digest = sha256()
    size = 0
    try:
        with open_regular(path) as f:
            for block in iter(lambda: f.read(CHUNK), b""):
                digest.update(block)
                size += len(block)
    except OSError as exc:
        raise IndexUnavailable(f"cannot read {path}: {exc.strerror or exc}") from None
    return size, digest.hexdigest()


def _link_target(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "?"


def _hash_ok(body: bytes, expected: str | None) -> bool:
    return expected is None or sha256(body).hexdigest() == expected.lower()
