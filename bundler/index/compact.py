"""The compact local index: a PEP 691 page kept in the form the resolver reads, by its sha256.

A warm fetch (`--offline`, or online when the index answers the same bytes) would otherwise check
the structure of every file entry of every cached project page (`pages.json_entries`: 31,175
entries on the 92 pages of jupyterlab 4.2.5's tree) and group every file name by the version it
claims, to then look at a few hundred of them (benchmarks/PROFILE.md, phase 3). So once a page
has been read and its structure checked, this module stores, under
`Cache.derived_path(KIND, sha256 of the page entry)`:

    {"project": canonical project name asked for, "page": sha256 of the page entry,
     "url": page URL,
     "entries": [[filename, url, sha256 | null, requires-python | null, yanked, size | null,
                  core-metadata | null, start | null, end | null], ...],     # page order
     "claims": [[canonical name, version text, [entry indices]], ...]}   # pages.claim_groups

where yanked is PEP 691's `false`/`true`/reason, core-metadata PEP 714's `true`/`false`/
`{"sha256": hex}` (`dist-info-metadata` when only that was given; hashes other than sha256 are
left out), and `start`/`end` the span (in characters of the UTF-8 decoded body) of the entry's
JSON object in the page body (null when the body could not be walked, `entry_spans`).

The compact form only *picks* entries: its names and claims group them by version. It never
supplies what a file is. When the resolver looks at entry `i` (`Page.link(i)`), the entry is read
from the page body itself: the fresh answer online, the cached page offline (its header's length
and sha256 checked, `Cache.get_page`), at the row's span, a few hundred bytes parsed (issue #17
review 17b, D1). The row must say exactly what that entry says (file name, URL, sha256, size,
Requires-Python, yanked, metadata flag) and the page's final URL must be the row's `url`;
otherwise the compact entry is removed, the whole page is read and checked again
(`pages.json_entries`), a new compact entry stored from it, and the entry of that file name
taken from the page (`BadAnswer` when the page has no such file). Either way the `Link` is made
from the page's entry, checked like an entry of a fresh answer (`pages.entry_ok`, then
`pages.json_link`: URL, scheme, base name, hashes).

The key is the sha256 of the page entry as the cache stores it (status, content type, final URL
and body), so a changed page is a new key; the entry is checked on read (length and sha256 in
`Cache.get_derived`'s header, then its shape here, then what ties it to its page: `page` must
be the digest it was looked up by, i.e. the cached page's, and `project` the project asked
for): anything else is a miss, and the page is read and checked again. `KIND` carries the
format version: a kit with another format never reads these entries. Only remote JSON pages
are kept (local `file:` pages are read from disk and an HTML page has no structure to skip).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from bundler.errors import BadAnswer
from bundler.fs.cache import Cache
from bundler.index.pages import Claim, Link, Page, claim_groups, entry_ok, json_entries, json_link
from bundler.models.source import REMOTE_SCHEMES, Source

KIND = "pep691-compact-v3"
"""The `Cache.derived_path` kind (format version included; v2 added `project` and `page`, v3
each entry's span in the page body)."""

_FIELDS = 9
_SCAN: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
"""`json`'s scanner (set by `JSONDecoder.__init__`; typeshed leaves it out): the value at an
index and where it ends, `StopIteration` when there is none."""
_WS = re.compile(r"[ \t\n\r]*")

Answer = tuple[str, str, bytes]
"""A page as the index answered it: (sha256 of its cache entry, final URL, body)."""


def store(
    cache: Cache,
    digest: str,
    project: str,
    page_url: str,
    body: bytes,
    entries: list[dict[str, Any]],
    claims: list[Claim],
) -> None:
    """Keep the compact form of `project`'s page (canonical name) of `body`, whose structure was
    checked (`pages.json_entries` gave `entries`), under `digest` (the sha256 of the page's
    cache entry), recording both and each entry's span in the body. Written without fsync."""
    spans: list[tuple[int, int] | tuple[None, None]] = list(entry_spans(body) or [])
    if len(spans) != len(entries):
        spans = [(None, None)] * len(entries)
    rows = [[*_row(entry), *span] for entry, span in zip(entries, spans, strict=True)]
    doc = {"project": project, "page": digest, "url": page_url, "entries": rows, "claims": claims}
    data = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    cache.put_derived(KIND, digest, data)


def load(
    cache: Cache,
    digest: str,
    project: str,
    source: Source,
    answer: Callable[[], Answer | None],
) -> Page | None:
    """The `Page` kept for `project`'s page entry of sha256 `digest`, or None (absent, damaged,
    not of this format, or built from another page or for another project: read the page
    itself; such an entry is removed). `answer` gives the page it was built from (None: 404),
    called once, when the first entry is used: each entry used is read from that page and
    compared with its row (see the module docstring); `BadAnswer` for a refused entry."""
    raw = cache.get_derived(KIND, digest)
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        data = None
    shape = _shape(data)
    if shape is None or data.get("page") != digest or data.get("project") != project:
        cache.drop_derived(KIND, digest)  # whole, but not this page's: rebuilt from the page
        return None
    page_url, rows, claims = shape
    checked = _Checked(cache, digest, project, page_url, rows, answer)

    def check(i: int) -> Link:
        url, entry = checked.entry(i)
        return json_link(entry, url, source)

    return Page([row[0] for row in rows], check, claims)


class _Checked:
    """The entries of one compact form, each read from its page when first used."""

    def __init__(
        self,
        cache: Cache,
        digest: str,
        project: str,
        page_url: str,
        rows: list[list[Any]],
        answer: Callable[[], Answer | None],
    ) -> None:
        self._cache, self._digest, self._project = cache, digest, project
        self._page_url, self._rows, self._answer = page_url, rows, answer
        self._lock = threading.Lock()
        self._page: tuple[str, str, str, bytes] | None = None  # digest, URL, text, body
        self._by_name: dict[str, dict[str, Any]] | None = None

    def entry(self, i: int) -> tuple[str, dict[str, Any]]:
        """(page URL, the page's own entry for row `i`'s file name)."""
        with self._lock:
            digest, url, text, body = self._read()
            row = self._rows[i]
            entry = None
            if digest == self._digest and url == self._page_url:
                entry = _entry_at(text, row[7], row[8])
            if entry is None or not entry_ok(entry) or [*_row(entry), row[7], row[8]] != row:
                entry = self._rebuilt(digest, url, body).get(row[0])
            if entry is None:
                raise BadAnswer(
                    f"{url}: the compact index {self._cache.derived_path(KIND, self._digest)} "
                    f"names {row[0][:200]!r}, which the page does not list: removed (rebuilt "
                    "from the page)"
                )
            return url, entry

    def _read(self) -> tuple[str, str, str, bytes]:
        if self._page is None:
            answer = self._answer()
            if answer is None:
                raise BadAnswer(f"{self._page_url}: no page (HTTP 404) for its compact index")
            digest, url, body = answer
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                text = ""
            self._page = (digest, url, text, body)
        return self._page

    def _rebuilt(self, digest: str, url: str, body: bytes) -> dict[str, dict[str, Any]]:
        """The page's entries by file name (first listed wins), read and checked whole once;
        the compact form that disagreed with them is replaced by one built from them."""
        if self._by_name is None:
            self._cache.drop_derived(KIND, self._digest)
            entries = json_entries(body, url, self._project)
            claims = claim_groups([e["filename"] for e in entries])
            store(self._cache, digest, self._project, url, body, entries, claims)
            self._by_name = {}
            for entry in entries:
                self._by_name.setdefault(entry["filename"], entry)
        return self._by_name


def entry_spans(body: bytes) -> list[tuple[int, int]] | None:
    """The span (start, end; characters of the UTF-8 decoded `body`) of each element of the
    top-level object's `files` array, as `json.loads` reads it (the last `files` key wins), or
    None when `body` is not such a JSON document. Values are skipped with `json`'s own scanner."""
    try:
        text = body.decode("utf-8")
        return _walk(text)
    except (UnicodeDecodeError, StopIteration, IndexError, ValueError, RecursionError):
        return None


def _walk(text: str) -> list[tuple[int, int]] | None:
    scan = _SCAN
    i = _skip(text, 0)
    if text[i] != "{":
        return None
    i = _skip(text, i + 1)
    spans: list[tuple[int, int]] | None = None
    while text[i] != "}":
        key, i = scan(text, i)
        i = _skip(text, i)
        if type(key) is not str or text[i] != ":":
            return None
        i = _skip(text, i + 1)
        if key == "files" and text[i] == "[":
            spans, i = _elements(text, i + 1)
        else:
            _, i = scan(text, i)
        i = _skip(text, i)
        if text[i] == ",":
            i = _skip(text, i + 1)
        elif text[i] != "}":
            return None
    return spans


def _elements(text: str, i: int) -> tuple[list[tuple[int, int]], int]:
    """The spans of the elements of the array whose '[' ends before `i`, and where it ends."""
    scan = _SCAN
    spans: list[tuple[int, int]] = []
    i = _skip(text, i)
    if text[i] == "]":
        return spans, i + 1
    while True:
        start = i
        _, i = scan(text, i)
        spans.append((start, i))
        i = _skip(text, i)
        if text[i] == "]":
            return spans, i + 1
        if text[i] != ",":
            raise ValueError("not an array")
        i = _skip(text, i + 1)


def _skip(text: str, i: int) -> int:
    """Where the JSON whitespace at `text[i:]` ends."""
    found = _WS.match(text, i)
    return i if found is None else found.end()


def _entry_at(text: str, start: Any, end: Any) -> Any:
    """The JSON value at `text[start:end]`, or None."""
    if type(start) is not int or type(end) is not int or not 0 <= start < end <= len(text):
        return None
    try:
        return json.loads(text[start:end])
    except (ValueError, RecursionError):
        return None


def _row(entry: dict[str, Any]) -> list[Any]:
    meta = entry.get("core-metadata", entry.get("dist-info-metadata"))
    if isinstance(meta, dict):
        meta = {"sha256": meta["sha256"]} if "sha256" in meta else {}
    return [
        entry["filename"],
        entry["url"],
        entry["hashes"].get("sha256"),
        entry.get("requires-python"),
        entry.get("yanked", False),
        entry.get("size"),
        meta,
    ]


def _shape(data: Any) -> tuple[str, list[list[Any]], list[Claim]] | None:
    """(page URL, rows, claims) if `data` has this format's shape, else None. Every row is a
    list of `_FIELDS` values with a string file name; every claim names entries that exist.
    What a row says of its file is compared with the page when the entry is used."""
    if type(data) is not dict:
        return None
    page_url, rows, claims = data.get("url"), data.get("entries"), data.get("claims")
    if type(page_url) is not str or type(rows) is not list or type(claims) is not list:
        return None
    try:
        scheme = urlsplit(page_url).scheme.lower()
    except ValueError:
        return None
    if scheme not in REMOTE_SCHEMES:
        return None
    if not all(type(r) is list and len(r) == _FIELDS and type(r[0]) is str for r in rows):
        return None
    n = len(rows)
    checked: list[Claim] = []
    for claim in claims:
        if type(claim) is not list or len(claim) != 3:
            return None
        name, version, indices = claim
        if type(name) is not str or type(version) is not str or type(indices) is not list:
            return None
        if not all(type(i) is int and 0 <= i < n for i in indices):
            return None
        checked.append((name, version, indices))
    return page_url, rows, checked
