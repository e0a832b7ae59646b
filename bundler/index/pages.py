"""The one model of an index answer: every entry a typed, checked `Link`, or one-line rejection.

Index answers are untrusted (a compromised mirror, a proxy, a typo-squatted `--index-url`). This
module is where they are checked, once, before anything downstream sees them:

- PEP 691 JSON pages are validated against `PEP691_SCHEMA` (jsonschema; the v1 fields of
  https://peps.python.org/pep-0691/, `size`/`upload-time` of PEP 700, `core-metadata` of
  PEP 714); PEP 503 HTML pages (and find-links pages) are parsed into anchors.
- Every entry: its URL is joined to the page URL and must be http(s) for a remote source; a
  local source the user named (a `file:` index or page, `Source.allows_file_urls`) may only
  link to `file:` URLs inside its own tree (`Source.root`; checked on the real path, so neither
  `../` nor a symbolic link leads out of it, and no http(s) URL leads to the network). Its file name
  must be a plain base name equal to the URL's last path segment and a valid wheel/sdist name
  (`models.link.check_filename`). A sha256 (JSON `hashes`, or a `#sha256=` fragment) must be 64
  hex digits; so must a PEP 658 metadata hash.
- A JSON page's head: `meta.api-version` is required (PEP 691) and read as PEP 629 says: a
  major version other than 1 is refused, a minor newer than `API_VERSION` gives a warning;
  `name`, required too, must be the project asked for (normalised): a page of another project
  is refused (issue #17 review, D7).
- Anything else raises `BadAnswer`, one line naming the page URL and the entry.

Entries for other kinds of file (an `.exe`, an `.egg`) pass the URL and base-name checks and are
then ignored by the client, as pip ignores them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from packaging.utils import canonicalize_name

from bundler.errors import BadAnswer
from bundler.models.link import BadFilename, check_filename
from bundler.models.schema import jsonschema
from bundler.models.source import REMOTE_SCHEMES, Source, local_path

API_VERSION = (1, 4)
"""The newest simple API version whose fields this kit knows of: 1.0 (PEP 691), 1.1 (PEP 700),
1.2 (PEP 708), 1.3 (PEP 740), 1.4 (PEP 792; pypi-simple 1.7.0's SUPPORTED_REPOSITORY_VERSION,
2025-07-28). https://packaging.python.org/en/latest/specifications/simple-repository-api/"""
_API_VERSION_TEXT = re.compile(r"([0-9]{1,6})\.([0-9]{1,6})")

SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
MAX_URL = 8192
MAX_FIELD = 4096

_HASH_VALUES = {"type": "string", "maxLength": 256}
_HASHES = {"type": "object", "additionalProperties": _HASH_VALUES}
_METADATA_FLAG = {"type": ["boolean", "object"], "additionalProperties": _HASH_VALUES}
PEP691_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["files"],
    "properties": {
        "meta": {
            "type": "object",
            "properties": {"api-version": {"type": "string", "maxLength": 32}},
        },
        "name": {"type": "string", "maxLength": MAX_FIELD},
        "files": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["filename", "url", "hashes"],
                "properties": {
                    "filename": {"type": "string", "minLength": 1, "maxLength": MAX_FIELD},
                    "url": {"type": "string", "minLength": 1, "maxLength": MAX_URL},
                    "hashes": _HASHES,
                    "requires-python": {"type": ["string", "null"], "maxLength": MAX_FIELD},
                    "yanked": {"type": ["boolean", "string"], "maxLength": MAX_FIELD},
                    "size": {"type": "integer", "minimum": 0},
                    "upload-time": {"type": "string", "maxLength": 64},
                    "core-metadata": _METADATA_FLAG,
                    "dist-info-metadata": _METADATA_FLAG,
                },
            },
        },
    },
}
"""PEP 691 v1 project page (with PEP 700 and PEP 714 fields): the parts the kit reads."""
_VALIDATOR = jsonschema.Draft202012Validator(PEP691_SCHEMA)


@dataclass(frozen=True)
class Link:
    """One checked entry of an index or find-links answer."""

    filename: str
    """A plain base name equal to the URL's last path segment (`check_filename`)."""
    url: str
    """Absolute, fragment removed; http(s), or file: inside a user-named local source."""
    sha256: str | None
    """Lower-case hex; None when the answer gave none."""
    size: int | None
    requires_python: str | None
    yanked: str | None
    metadata: bool | str | None
    """True (offered, no hash), a sha256 hex string (offered, hashed), or None."""


class Page:
    """A project (or find-links) page whose structure is checked, its entries checked lazily.

    Reading a page checks what the whole answer must be (PEP 691: `PEP691_SCHEMA`; PEP 503:
    parsable HTML, a checked `<base href>`); `names` are the file names the entries *claim*
    (JSON `filename`, or the unquoted last segment of an anchor's `href`), unchecked, which a
    reader may only use to pick entries (e.g. by the version the name claims). `link(i)` runs
    every check of entry `i` (URL, scheme, base name, hashes: see the module docstring) and
    gives its `Link`, or raises `BadAnswer`; nothing else of an entry is reachable. So a
    resolution checks the entries of the versions it looks at, not the thousands of files of
    versions it never considers (pip's lazy `FoundCandidates` does the same with its links).
    """

    def __init__(
        self,
        names: list[str],
        check: Callable[[int], Link],
        claims: list[Claim] | None = None,
    ) -> None:
        self.names = names
        self._check = check
        self._links: dict[int, Link] = {}
        self._claims = claims

    def claims(self) -> list[Claim]:
        """The entries grouped by the (canonical name, version text) their names claim
        (`claim_groups(self.names)`, or what the page was made with), unchecked: for picking."""
        if self._claims is None:
            self._claims = claim_groups(self.names)
        return self._claims

    def __len__(self) -> int:
        return len(self.names)

    def link(self, i: int) -> Link:
        """Entry `i`, checked (once; a rejected entry raises `BadAnswer` every time)."""
        link = self._links.get(i)
        if link is None:
            link = self._links[i] = self._check(i)
        return link

    def links(self) -> list[Link]:
        """Every entry, checked, in page order (the first rejected one raises)."""
        return [self.link(i) for i in range(len(self.names))]

    @classmethod
    def of_links(cls, links: list[Link]) -> Page:
        """A page of entries already checked (a scanned local directory)."""
        return cls([x.filename for x in links], links.__getitem__)


def parse_json_page(body: bytes, page_url: str, source: Source) -> list[Link]:
    """The checked entries of a PEP 691 JSON project page; BadAnswer otherwise."""
    return read_json_page(body, page_url, source).links()


def parse_html_page(body: bytes, page_url: str, source: Source) -> list[Link]:
    """The checked entries linked from a PEP 503 HTML page (also a find-links page)."""
    return read_html_page(body, page_url, source).links()


def read_json_page(
    body: bytes,
    page_url: str,
    source: Source,
    project: str | None = None,
    warn: Callable[[str], None] | None = None,
) -> Page:
    """A PEP 691 JSON project page, its structure checked (`PEP691_SCHEMA`), entries lazily;
    `project` and `warn` as for `json_entries`."""
    return json_page(json_entries(body, page_url, project, warn), page_url, source)


def json_entries(
    body: bytes,
    page_url: str,
    project: str | None = None,
    warn: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """The `files` of a PEP 691 JSON page whose structure matches `PEP691_SCHEMA` (each entry
    a dict of the checked types; URLs, names and hashes not checked yet); BadAnswer otherwise.

    When `project` (a normalised name) is given, the page's head is checked too
    (`check_head`): `warn` gets the one-line warning for a newer minor API version."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise BadAnswer(f"{page_url}: not a JSON simple page ({_short(exc)})") from None
    error = None if _obviously_valid(data) else next(iter(_VALIDATOR.iter_errors(data)), None)
    if error is not None:
        path = list(error.absolute_path)
        if len(path) >= 2 and path[0] == "files":
            field = "/".join(str(p) for p in path[2:]) or "the entry"
            raise _reject(page_url, data["files"][path[1]], f"{field}: {error.message}")
        where = "/".join(str(p) for p in path) or "the page"
        message = f"{page_url}: not a PEP 691 page: {where}: {_short(error.message)}"
        raise BadAnswer(_oneline(message))
    if project is not None:
        warning = check_head(data, page_url, project)
        if warning is not None and warn is not None:
            warn(warning)
    entries: list[dict[str, Any]] = data["files"]
    return entries


def check_head(data: dict[str, Any], page_url: str, project: str) -> str | None:
    """Check the head of a structure-checked PEP 691 project page asked for `project`
    (normalised name): `meta.api-version` present (PEP 691: "MUST"), of major version 1 (PEP
    629: a client MUST fail on a major version it does not know), and `name` present and
    normalising to `project`. Returns a warning (one line) for a minor version newer than
    `API_VERSION` (PEP 629: SHOULD warn), else None; raises `BadAnswer` naming the URL."""
    meta = data.get("meta")
    text = meta.get("api-version") if isinstance(meta, dict) else None
    if text is None:
        raise BadAnswer(f"{page_url}: not a PEP 691 page: no meta.api-version (PEP 691)")
    found = _API_VERSION_TEXT.fullmatch(text)
    if found is None:
        raise BadAnswer(_oneline(f"{page_url}: unreadable meta.api-version {text[:32]!r}"))
    version = (int(found[1]), int(found[2]))
    if version[0] != API_VERSION[0]:
        raise BadAnswer(
            f"{page_url}: simple API version {text}: this kit reads version "
            f"{API_VERSION[0]}.x only (PEP 629: an unknown major version is refused)"
        )
    name = data.get("name")
    if name is None:
        raise BadAnswer(f"{page_url}: not a PEP 691 project page: no name")
    if canonicalize_name(name) != project:
        raise BadAnswer(
            _oneline(f"{page_url}: the page is for project {name[:200]!r}, not {project!r}")
        )
    if version[1] > API_VERSION[1]:
        return (
            f"{page_url}: simple API version {text} is newer than "
            f"{API_VERSION[0]}.{API_VERSION[1]}, the newest this kit knows: fields added "
            "since are ignored (PEP 629)"
        )
    return None


def json_page(
    entries: list[dict[str, Any]], page_url: str, source: Source, claims: list[Claim] | None = None
) -> Page:
    """The `Page` of structure-checked JSON `entries` (`json_entries`): each checked by
    `_json_link` on first use."""

    def check(i: int) -> Link:
        return _json_link(entries[i], page_url, source)

    return Page([entry["filename"] for entry in entries], check, claims)


def json_link(entry: dict[str, Any], page_url: str, source: Source) -> Link:
    """The `Link` of one structure-checked JSON entry, after every check of the module
    docstring (URL, scheme, base name, hashes); `BadAnswer` otherwise."""
    return _json_link(entry, page_url, source)


def entry_ok(entry: Any) -> bool:
    """Whether one JSON entry has the structure `PEP691_SCHEMA` gives a file (for entries read
    back from somewhere else than a page just checked, e.g. `bundler.index.compact`)."""
    return _entry_ok(entry)


Claim = tuple[str, str, list[int]]
"""(canonical project name, version text, indices of the entries whose names claim them)."""


def claimed(filename: str) -> tuple[str, str] | None:
    """(canonical name, version text) an unchecked file name claims, or None: the wheel's
    first two '-'-separated fields (PEP 427), an sdist's name and version around its last '-'
    (as `packaging.utils.parse_sdist_filename`). The version text is not parsed here."""
    if filename.endswith(".whl"):
        parts = filename.split("-", 2)
        if len(parts) < 3:
            return None
        return _canonical(parts[0]), parts[1]
    for suffix in (".tar.gz", ".zip"):
        if filename.endswith(suffix):
            name, _, version = filename[: -len(suffix)].rpartition("-")
            return _canonical(name), version
    return None


def claim_groups(names: list[str]) -> list[Claim]:
    """`names` grouped by what they claim (`claimed`), in order of first appearance, each
    group's indices ascending; names that claim nothing are left out."""
    groups: dict[tuple[str, str], list[int]] = {}
    for i, name in enumerate(names):
        claim = claimed(name)
        if claim is not None:
            groups.setdefault(claim, []).append(i)
    return [(name, version, indices) for (name, version), indices in groups.items()]


@lru_cache(maxsize=1 << 12)
def _canonical(name: str) -> str:
    return str(canonicalize_name(name))


def _json_link(entry: dict[str, Any], page_url: str, source: Source) -> Link:
    url, fragment_hash, segment = _join(page_url, entry["url"], source, entry)
    hashes = entry["hashes"]
    sha256 = hashes.get("sha256", fragment_hash)
    yanked = entry.get("yanked", False)
    meta = entry.get("core-metadata", entry.get("dist-info-metadata"))
    return Link(
        filename=_filename(entry["filename"], segment, page_url, entry),
        url=url,
        sha256=_sha256(sha256, page_url, entry),
        size=entry.get("size"),
        requires_python=entry.get("requires-python"),
        yanked=None if yanked is False else ("" if yanked is True else yanked),
        metadata=_metadata_flag(meta, page_url, entry),
    )


def read_html_page(body: bytes, page_url: str, source: Source) -> Page:
    """A PEP 503 HTML page (or find-links page): anchors parsed and `<base href>` checked
    now, each anchor's entry checked lazily."""
    parser = _AnchorParser()
    try:
        parser.feed(body.decode("utf-8", errors="replace"))
        parser.close()
    except (AssertionError, ValueError) as exc:  # html.parser on broken markup
        raise BadAnswer(f"{page_url}: unreadable HTML page ({_short(exc)})") from None
    base = page_url
    if parser.base:
        base, _, _ = _join(page_url, parser.base, source, "<base href>")
    anchors = [(attrs, href) for attrs in parser.anchors if (href := attrs.get("href"))]

    def check(i: int) -> Link:
        attrs, href = anchors[i]
        return _html_link(attrs, href, base, page_url, source)

    return Page([_claimed_segment(href) for _, href in anchors], check)


def _html_link(
    attrs: dict[str, str | None], href: str, base: str, page_url: str, source: Source
) -> Link:
    entry = f'<a href="{href}">'
    url, digest, segment = _join(base, href, source, entry)
    meta_attr = attrs.get("data-core-metadata", attrs.get("data-dist-info-metadata"))
    meta: bool | str | None = None
    if meta_attr is not None and meta_attr != "false":
        meta = _metadata_flag(_hash_attr(meta_attr) or True, page_url, entry)
    yanked = attrs.get("data-yanked")
    return Link(
        filename=_filename(segment, segment, page_url, entry),
        url=url,
        sha256=_sha256(digest, page_url, entry),
        size=None,
        requires_python=_bounded(attrs.get("data-requires-python")),
        yanked=None if "data-yanked" not in attrs else _bounded(yanked) or "",
        metadata=meta,
    )


def _claimed_segment(href: str) -> str:
    """The file name an href claims (its path's last segment, unquoted), unchecked."""
    path = href.split("#", 1)[0].split("?", 1)[0]
    return unquote(path.rsplit("/", 1)[-1])


# -- the checks --------------------------------------------------------------------------------


def _join(base: str, ref: str, source: Source, entry: Any) -> tuple[str, str | None, str]:
    """(absolute URL without fragment, sha256 from a '#sha256=' fragment, the URL's last path
    segment unquoted), scheme checked."""
    if len(ref) > MAX_URL:
        raise _reject(base, entry, "URL too long")
    try:
        absolute = ref if ref.startswith(("https://", "http://")) else urljoin(base, ref)
        parts = urlsplit(absolute)
    except ValueError as exc:
        raise _reject(base, entry, f"malformed URL ({_short(exc)})") from None
    scheme = parts.scheme.lower()
    if scheme == "file":
        _check_local(parts.geturl(), source, base, entry)
    elif source.allows_file_urls:
        raise _reject(
            base, entry, f"{scheme or 'scheme-less'} URL refused (a local source may only link "
            f"inside its tree {source.root})"
        )  # fmt: skip
    elif scheme not in REMOTE_SCHEMES:
        raise _reject(base, entry, f"URL scheme {scheme or 'none'!r} refused (only http/https)")
    elif not parts.hostname:
        raise _reject(base, entry, "URL without a host")
    digest = _hash_attr(parts.fragment) if parts.fragment else None
    url = urlunsplit(parts._replace(fragment="")) if "#" in absolute else absolute
    return url, digest, unquote(parts.path.rsplit("/", 1)[-1])


def _check_local(url: str, source: Source, base: str, entry: Any) -> None:
    """A file: URL is followed only inside the tree of a local source the user named."""
    root = source.root
    if not source.allows_file_urls or root is None:
        raise _reject(base, entry, "file: URL refused from a remote source")
    path = local_path(url)
    if path is None:
        raise _reject(base, entry, "file: URL naming another host (or no absolute path)")
    if not source.contains(path):
        raise _reject(base, entry, f"file: URL outside the local source's tree {root}")


def _filename(filename: str, segment: str, page_url: str, entry: Any) -> str:
    try:
        check_filename(filename)
    except BadFilename as exc:
        raise _reject(page_url, entry, f"file name {filename[:120]!r} refused: {exc}") from None
    if filename != segment:
        raise _reject(
            page_url, entry, f"file name {filename!r} is not the URL's last segment {segment!r}"
        )
    return filename


def _sha256(value: str | None, page_url: str, entry: Any) -> str | None:
    if value is None:
        return None
    if not SHA256_HEX.fullmatch(value):
        raise _reject(page_url, entry, "sha256 is not 64 hex digits")
    return value.lower()


def _metadata_flag(value: Any, page_url: str, entry: Any) -> bool | str | None:
    """PEP 658/714 metadata: True (offered), a checked sha256, or None (not offered)."""
    if isinstance(value, dict):
        return _sha256(value.get("sha256"), page_url, entry) or True
    if value is True:
        return True
    if isinstance(value, str) and value:
        return _sha256(value, page_url, entry)
    return None


def _hash_attr(value: str) -> str | None:
    """'sha256=abc' -> 'abc'."""
    algo, _, digest = value.partition("=")
    return digest if algo == "sha256" and digest else None


def _bounded(value: str | None) -> str | None:
    return None if value is None else value[:MAX_FIELD]


def _reject(page_url: str, entry: Any, reason: str) -> BadAnswer:
    return BadAnswer(_oneline(f"{page_url}: entry {_short(entry)} rejected: {reason}"))


def _oneline(text: str) -> str:
    """`text` with control characters (an answer's newlines) shown escaped: one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _short(thing: Any) -> str:
    """One bounded line showing `thing` (an entry, a message, an exception)."""
    if isinstance(thing, str):
        text = thing
    elif isinstance(thing, BaseException):
        text = str(thing)
    else:
        text = json.dumps(thing, ensure_ascii=True)
    text = " ".join(text.split())
    return text if len(text) <= 160 else text[:157] + "..."


def _obviously_valid(data: Any) -> bool:
    """A fast check that implies `PEP691_SCHEMA` validity (jsonschema costs ~0.1 ms an entry,
    seconds on a big page). When it says no, jsonschema decides and words the error;
    tests/unit/index/test_pages.py checks on random pages that it never says yes wrongly."""
    if type(data) is not dict or type(data.get("files")) is not list:
        return False
    meta = data.get("meta", {})
    if type(meta) is not dict or not _str_or_absent(meta, "api-version", 32):
        return False
    if not _str_or_absent(data, "name", MAX_FIELD):
        return False
    return all(_entry_ok(entry) for entry in data["files"])


def _entry_ok(entry: Any) -> bool:
    if type(entry) is not dict:
        return False
    filename, url, hashes = entry.get("filename"), entry.get("url"), entry.get("hashes")
    if type(filename) is not str or not 1 <= len(filename) <= MAX_FIELD:
        return False
    if type(url) is not str or not 1 <= len(url) <= MAX_URL or not _hash_map(hashes):
        return False
    size = entry.get("size", 0)
    yanked = entry.get("yanked", False)
    return (
        type(size) is int
        and size >= 0
        and (
            yanked is True or yanked is False or (type(yanked) is str and len(yanked) <= MAX_FIELD)
        )
        and (
            entry.get("requires-python") is None
            or _str_or_absent(entry, "requires-python", MAX_FIELD)
        )
        and _str_or_absent(entry, "upload-time", 64)
        and all(_metadata_ok(entry, key) for key in ("core-metadata", "dist-info-metadata"))
    )


def _str_or_absent(mapping: dict[str, Any], key: str, limit: int) -> bool:
    if key not in mapping:
        return True
    value = mapping[key]
    return type(value) is str and len(value) <= limit


def _hash_map(value: Any) -> bool:
    return type(value) is dict and all(type(v) is str and len(v) <= 256 for v in value.values())


def _metadata_ok(entry: dict[str, Any], key: str) -> bool:
    if key not in entry:
        return True
    value = entry[key]
    return value is True or value is False or _hash_map(value)


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
