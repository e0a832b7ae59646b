"""Simple-repository client: what files a project has, and their core metadata.

Sources, in the order given: index URLs (PEP 691 JSON preferred, PEP 503 HTML fallback, both
with PEP 592 yanked flags, `Requires-Python`, and PEP 658/714 metadata links) and find-links
sources (a local directory of wheels/sdists, or an HTML page of links).

Every index response is kept in the `Cache` by URL (404s too), so that `offline=True` answers
from the cache alone; metadata comes from the PEP 658 `.metadata` file when the index offers
one (hash-checked), else from the wheel's own `*.dist-info/METADATA` (the wheel is downloaded
into the blob cache, where the later download finds it).
"""

from __future__ import annotations

import json
import threading
import zipfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from email.parser import BytesParser
from functools import lru_cache, partial
from hashlib import sha256
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import requests
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from bundler.cache import Cache
from bundler.download import (
    Cancellation,
    check_status,
    fetch_blob,
    local_path,
    make_session,
    with_retries,
)
from bundler.errors import HashMismatch, IndexUnavailable, PackageNotFound, RequirementError
from bundler.fsutil import sha256_file

T = TypeVar("T")

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
ACCEPT = f"{JSON_TYPE}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1"
DEFAULT_INDEX = "https://pypi.org/simple/"


@dataclass(frozen=True)
class DistFile:
    """One downloadable file of a project (a wheel or an sdist)."""

    project: str
    """Canonical project name."""
    filename: str
    url: str
    """https://... (fragment removed), or file:///abs/path for a find-links directory."""
    sha256: str | None
    """From the index (#sha256= or JSON hashes); computed for local files."""
    size: int | None
    requires_python: str | None
    yanked: str | None
    """None = not yanked, else the reason ('' when none given)."""
    metadata_url: str | None
    """The PEP 658/714 `.metadata` URL when the index offers one."""
    metadata_sha256: str | None

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")

    @property
    def version(self) -> Version:
        return parse_filename(self.filename)[1]

    @property
    def requires_python_spec(self) -> SpecifierSet | None:
        """`requires_python` parsed; None when absent or invalid (ignored like pip does)."""
        return parse_specifier(self.requires_python)


@dataclass(frozen=True)
class Metadata:
    """The core metadata fields the kit uses."""

    name: str
    version: Version
    requires_dist: tuple[Requirement, ...]
    requires_python: SpecifierSet | None
    summary: str | None
    license: str | None
    home_page: str | None


@lru_cache(maxsize=1 << 16)
def parse_filename(filename: str) -> tuple[str, Version]:
    """(canonical name, version) of a wheel or sdist filename; ValueError otherwise.

    Memoised: a project page lists thousands of files, asked about again and again."""
    if filename.endswith(".whl"):
        name, version, _, _ = parse_wheel_filename(filename)
        return name, version
    name, version = parse_sdist_filename(filename)
    return name, version


def try_parse_filename(filename: str) -> tuple[str, Version] | None:
    try:
        return parse_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename, ValueError):
        return None


@lru_cache(maxsize=4096)
def parse_specifier(text: str | None) -> SpecifierSet | None:
    """A Requires-Python value parsed (memoised: pages repeat the same few values)."""
    if not text or not text.strip():
        return None
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return None


def parse_metadata(body: bytes, origin: str) -> Metadata:
    """Parse a METADATA / PKG-INFO / .metadata body (RFC 822 headers); `origin` names it."""
    msg = BytesParser().parsebytes(body, headersonly=True)
    name = msg.get("Name")
    version_text = msg.get("Version")
    if not name or not version_text:
        raise IndexUnavailable(f"{origin}: metadata without Name/Version")
    requires: list[Requirement] = []
    for line in msg.get_all("Requires-Dist") or []:
        try:
            requires.append(Requirement(str(line)))
        except InvalidRequirement as exc:
            raise RequirementError(f"{origin}: invalid Requires-Dist {line!r}: {exc}") from None
    return Metadata(
        name=str(name),
        version=Version(str(version_text)),
        requires_dist=tuple(requires),
        requires_python=parse_specifier(msg.get("Requires-Python")),
        summary=_optional(msg.get("Summary")),
        license=_optional(msg.get("License")),
        home_page=_optional(msg.get("Home-page")),
    )


def _optional(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text if text and text != "UNKNOWN" else None


def read_wheel_metadata(path: Path, origin: str | None = None) -> Metadata:
    """The core metadata inside a wheel (`*.dist-info/METADATA` at the top level)."""
    origin = origin or path.name
    try:
        with zipfile.ZipFile(path) as zf:
            names = [
                n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")
            ]
            if not names:
                raise IndexUnavailable(f"{origin}: no .dist-info/METADATA in the wheel")
            project = try_parse_filename(path.name)
            if project and len(names) > 1:
                names.sort(key=lambda n: canonicalize_name(n.split("-")[0]) != project[0])
            body = zf.read(names[0])
    except zipfile.BadZipFile as exc:
        raise IndexUnavailable(f"{origin}: not a valid wheel ({exc})") from None
    return parse_metadata(body, origin)


# -- page parsing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Link:
    filename: str
    url: str
    sha256: str | None
    size: int | None
    requires_python: str | None
    yanked: str | None
    metadata: bool | str | None
    """True (offered, no hash), a sha256 hex string (offered, hashed), or None."""


def parse_json_page(body: bytes, base_url: str) -> list[_Link]:
    """The files of a PEP 691 JSON project page."""
    try:
        data = json.loads(body)
        files = data["files"]
    except (ValueError, KeyError, TypeError) as exc:
        raise IndexUnavailable(f"{base_url}: unreadable JSON simple page ({exc})") from None
    links = []
    for entry in files:
        url, frag_hash = _split_url(urljoin(base_url, entry["url"]))
        hashes = entry.get("hashes") or {}
        yanked = entry.get("yanked", False)
        meta = entry.get("core-metadata", entry.get("dist-info-metadata"))
        links.append(
            _Link(
                filename=entry["filename"],
                url=url,
                sha256=hashes.get("sha256") or frag_hash,
                size=entry.get("size"),
                requires_python=entry.get("requires-python"),
                yanked=None if yanked is False else ("" if yanked is True else str(yanked)),
                metadata=_metadata_flag(meta),
            )
        )
    return links


def _metadata_flag(value: Any) -> bool | str | None:
    if isinstance(value, dict):
        return str(value["sha256"]) if value.get("sha256") else True
    if value is True:
        return True
    if isinstance(value, str) and value:
        return _hash_attr(value) or True
    return None


def _hash_attr(value: str) -> str | None:
    """'sha256=abc' -> 'abc'."""
    algo, _, digest = value.partition("=")
    return digest if algo == "sha256" and digest else None


def _split_url(url: str) -> tuple[str, str | None]:
    """(url without fragment, sha256 from a '#sha256=...' fragment)."""
    parts = urlsplit(url)
    digest = _hash_attr(parts.fragment) if parts.fragment else None
    return urlunsplit(parts._replace(fragment="")), digest


class _AnchorParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[dict[str, str | None]] = []
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.anchors.append(dict(attrs))
        elif tag == "base" and self.base is None:
            self.base = dict(attrs).get("href")


def parse_html_page(body: bytes, base_url: str) -> list[_Link]:
    """The files linked from a PEP 503 HTML page (also a find-links page)."""
    parser = _AnchorParser()
    parser.feed(body.decode("utf-8", errors="replace"))
    base = urljoin(base_url, parser.base) if parser.base else base_url
    links = []
    for attrs in parser.anchors:
        href = attrs.get("href")
        if not href:
            continue
        url, digest = _split_url(urljoin(base, href))
        filename = url.rsplit("/", 1)[-1]
        meta_attr = attrs.get("data-core-metadata", attrs.get("data-dist-info-metadata"))
        meta: bool | str | None = None
        if meta_attr is not None and meta_attr != "false":
            meta = _hash_attr(meta_attr) or True
        yanked = attrs.get("data-yanked")
        links.append(
            _Link(
                filename=unquote(filename),
                url=url,
                sha256=digest,
                size=None,
                requires_python=attrs.get("data-requires-python"),
                yanked=None if "data-yanked" not in attrs else (yanked or ""),
                metadata=meta,
            )
        )
    return links


# -- the client -------------------------------------------------------------------------------


class _Memo:
    """Compute each key once, even when several threads ask at the same time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._futures: dict[str, Future[Any]] = {}

    def get(self, key: str, compute: Callable[[], T]) -> T:
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

    def encode(self) -> bytes:
        head = json.dumps({"status": self.status, "type": self.content_type, "url": self.url})
        return head.encode("utf-8") + b"\n" + self.body

    @classmethod
    def decode(cls, raw: bytes) -> _Page:
        head, _, body = raw.partition(b"\n")
        meta = json.loads(head)
        return cls(int(meta["status"]), str(meta["type"]), str(meta["url"]), body)


class Index:
    """Files and metadata of projects, from index URLs and find-links sources.

    A project named in `local_projects` (e.g. the converter, built into a wheel by fetch) is
    answered from its own directory only: index URLs and find-links are not asked about it, so
    a file of the same name on PyPI can never replace the local build.
    """

    def __init__(
        self,
        index_urls: Sequence[str],
        find_links: Sequence[str],
        cache: Cache,
        *,
        offline: bool = False,
        session: requests.Session | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        local_projects: Mapping[str, str | Path] | None = None,
    ) -> None:
        self.index_urls = [u if u.endswith("/") else u + "/" for u in index_urls]
        self.find_links = list(find_links)
        self.local_projects: dict[str, str] = {
            str(canonicalize_name(name)): str(source)
            for name, source in (local_projects or {}).items()
        }
        """Project name -> the directory (or find-links source) that alone answers for it: a
        project built here is never shadowed by a file of the same name on an index."""
        self.cache = cache
        self.offline = offline
        self.session = session or make_session()
        self.timeout = timeout
        self.retries = retries
        self.cancel = Cancellation()
        """Set to abort the wheel downloads in flight (resolve() does on Ctrl-C)."""
        self._files = _Memo()
        self._pages = _Memo()
        self._metadata = _Memo()
        self._local_hashes = _Memo()
        self._listings = _Memo()

    # -- files ------------------------------------------------------------------------------

    def describe_sources(self) -> str:
        sources = self.index_urls + self.find_links + sorted(set(self.local_projects.values()))
        return ", ".join(sources) if sources else "no index or find-links source"

    def files(self, project: str) -> list[DistFile]:
        """Every wheel/sdist of `project` from every source, first source first.

        `PackageNotFound` when no source knows the project; `IndexUnavailable` when a source
        cannot be read (or, offline, was never cached).
        """
        name = canonicalize_name(project)
        return list(self._files.get(name, lambda: self._collect(project, name)))

    def _collect(self, project: str, name: str) -> list[DistFile]:
        found = False
        by_filename: dict[str, DistFile] = {}
        local = self.local_projects.get(name)
        if local is not None:
            listing = self._listings.get(local, partial(self._find_links, local))
            self._add(by_filename, name, listing)
            if not by_filename:
                raise PackageNotFound(f"no file of the local project {project!r} in {local}")
            return list(by_filename.values())
        for index_url in self.index_urls:
            links = self._project_page(urljoin(index_url, name + "/"))
            if links is None:
                continue
            found = True
            self._add(by_filename, name, links)
        for source in self.find_links:
            links = self._listings.get(source, partial(self._find_links, source))
            matching = [x for x in links if (p := try_parse_filename(x.filename)) and p[0] == name]
            if matching:
                found = True
                self._add(by_filename, name, matching)
        if not found:
            raise PackageNotFound(f"no package named {project!r} on {self.describe_sources()}")
        return list(by_filename.values())

    def _add(self, into: dict[str, DistFile], name: str, links: list[_Link]) -> None:
        for link in links:
            parsed = try_parse_filename(link.filename)
            if parsed is None or parsed[0] != name or link.filename in into:
                continue
            meta = link.metadata
            into[link.filename] = DistFile(
                project=name,
                filename=link.filename,
                url=link.url,
                sha256=link.sha256.lower() if link.sha256 else None,
                size=link.size,
                requires_python=link.requires_python,
                yanked=link.yanked,
                metadata_url=link.url + ".metadata" if meta else None,
                metadata_sha256=meta if isinstance(meta, str) else None,
            )

    def _project_page(self, url: str) -> list[_Link] | None:
        page = self._get(url)
        if page is None:
            return None
        if page.content_type.split(";")[0].strip() == JSON_TYPE:
            return parse_json_page(page.body, page.url)
        return parse_html_page(page.body, page.url)

    def _find_links(self, source: str) -> list[_Link]:
        path = local_path(source)
        if path is None and "://" not in source:
            path = Path(source)
        if path is not None:
            return self._scan_dir(path)
        page = self._get(source)
        if page is None:
            raise IndexUnavailable(f"find-links page {source} not found (HTTP 404)")
        return parse_html_page(page.body, page.url)

    def _scan_dir(self, path: Path) -> list[_Link]:
        if not path.is_dir():
            raise IndexUnavailable(f"find-links directory {path} does not exist")
        links = []
        for entry in sorted(path.iterdir()):
            if not entry.is_file() or try_parse_filename(entry.name) is None:
                continue
            resolved = entry.resolve()
            digest = self._local_hashes.get(str(resolved), partial(sha256_file, resolved))
            links.append(
                _Link(
                    filename=entry.name,
                    url=resolved.as_uri(),
                    sha256=digest,
                    size=resolved.stat().st_size,
                    requires_python=None,
                    yanked=None,
                    metadata=None,
                )
            )
        return links

    # -- HTTP with the page cache ------------------------------------------------------------

    def _get(self, url: str) -> _Page | None:
        """The page at `url` (None for 404), from the cache when offline."""
        page: _Page = self._pages.get(url, lambda: self._get_uncached(url))
        return None if page.status == 404 else page

    def _get_uncached(self, url: str) -> _Page:
        if self.offline:
            raw = self.cache.get_page(url)
            if raw is None:
                raise IndexUnavailable(
                    f"{url} is not in the cache (--offline): fetch once with the network first"
                )
            return _Page.decode(raw)

        def attempt() -> _Page:
            try:
                response = self.session.get(url, headers={"Accept": ACCEPT}, timeout=self.timeout)
            except requests.exceptions.InvalidURL as exc:
                raise IndexUnavailable(f"invalid index URL {url}: {exc}") from None
            if response.status_code == 404:
                return _Page(404, "", response.url, b"")
            check_status(response, f"index page {url}")
            ctype = response.headers.get("Content-Type", "text/html")
            return _Page(200, ctype, response.url, response.content)

        page = with_retries(attempt, retries=self.retries, what=f"cannot reach {url}")
        self.cache.put_page(url, page.encode())
        return page

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
                return meta
        if not file.is_wheel:
            raise RequirementError(
                f"{file.filename}: an sdist's metadata needs a build (--build-pure)"
            )
        blob = fetch_blob(
            file,
            self.cache,
            session=self.session,
            offline=self.offline,
            retries=self.retries,
            timeout=self.timeout,
            cancel=self.cancel,
        )
        meta = read_wheel_metadata(blob, file.filename)
        self._check_identity(meta, file)
        return meta

    def _metadata_body(self, file: DistFile) -> bytes | None:
        """The .metadata body (None when the index lists it but serves 404)."""
        assert file.metadata_url is not None
        url = file.metadata_url
        cached = self.cache.get_page(url)
        if cached is not None and _hash_ok(cached, file.metadata_sha256):
            return cached
        if self.offline:
            if file.sha256 and self.cache.has_blob(file.sha256):
                return None  # the wheel itself is cached: read METADATA from it
            raise IndexUnavailable(
                f"{url} is not in the cache (--offline): fetch once with the network first"
            )
        body = self._fetch_raw(url)
        if body is None:
            return None
        if not _hash_ok(body, file.metadata_sha256):
            raise HashMismatch(
                f"hash mismatch for {file.filename}.metadata from {url}: expected sha256 "
                f"{file.metadata_sha256}, got {sha256(body).hexdigest()}"
            )
        self.cache.put_page(url, body)
        return body

    def _fetch_raw(self, url: str) -> bytes | None:
        def attempt() -> bytes | None:
            response = self.session.get(url, timeout=self.timeout)
            if response.status_code == 404:
                return None
            check_status(response, f"metadata {url}")
            return response.content

        return with_retries(attempt, retries=self.retries, what=f"cannot reach {url}")

    @staticmethod
    def _check_identity(meta: Metadata, file: DistFile) -> None:
        name, version = parse_filename(file.filename)
        if canonicalize_name(meta.name) != name or meta.version != version:
            raise IndexUnavailable(
                f"{file.filename}: its metadata says {meta.name} {meta.version}, "
                "not what the filename says"
            )


def _hash_ok(body: bytes, expected: str | None) -> bool:
    return expected is None or sha256(body).hexdigest() == expected.lower()
