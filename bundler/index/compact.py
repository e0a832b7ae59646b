"""The compact local index: a PEP 691 page kept in the form the resolver reads, by its sha256.

A warm fetch (`--offline`, or online when the index answers the same bytes) would otherwise read
every cached project page again (up to 2.5 MB of JSON each), check the structure of every file
entry (`pages.json_entries`: 31,175 entries on the 92 pages of jupyterlab 4.2.5's tree) and
group every file name by the version it claims, to then look at a few hundred of them
(benchmarks/PROFILE.md, phase 3). So once a page has been read and its structure checked, this
module stores, under `Cache.derived_path(KIND, sha256 of the page entry)`:

    {"project": canonical project name asked for, "page": sha256 of the page entry,
     "url": page URL,
     "entries": [[filename, url, sha256 | null, requires-python | null, yanked, size | null,
                  core-metadata | null], ...],             # page order; only what Link needs
     "claims": [[canonical name, version text, [entry indices]], ...]}   # pages.claim_groups

where yanked is PEP 691's `false`/`true`/reason, core-metadata PEP 714's `true`/`false`/
`{"sha256": hex}` (`dist-info-metadata` when only that was given; hashes other than sha256 are
left out, as `pages.json_link` reads none). Reading it back gives the same `Page`: each entry
a PEP 691 entry again, checked on first use exactly like an entry of a fresh answer
(`pages.entry_ok`, then `pages.json_link`: URL, scheme, base name, hashes); the claims only
pick entries, as a page's unchecked names do.

The key is the sha256 of the page entry as the cache stores it (status, content type, final URL
and body), so a changed page is a new key; the entry is checked on read (length and sha256 in
`Cache.get_derived`'s header, then its shape here, then what ties it to its page: `page` must
be the digest it was looked up by, i.e. the cached page's, and `project` the project asked
for): anything else is a miss, and the page is read and checked again. A header only proves an
entry whole, not that it belongs where it lies: entries of two projects swapped, headers and
all, are refused by those two fields (issue #17 review, D2). `KIND` carries the format
version: a kit with another format never reads these entries. Only remote JSON pages are kept
(local `file:` pages are read from disk and an HTML page has no structure to skip).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from bundler.errors import BadAnswer
from bundler.fs.cache import Cache
from bundler.index.pages import Claim, Link, Page, entry_ok, json_link
from bundler.models.source import REMOTE_SCHEMES, Source

KIND = "pep691-compact-v2"
"""The `Cache.derived_path` kind (format version included; v2 added `project` and `page`)."""

_FIELDS = 7


def store(
    cache: Cache,
    digest: str,
    project: str,
    page_url: str,
    entries: list[dict[str, Any]],
    claims: list[Claim],
) -> None:
    """Keep the compact form of `project`'s page (canonical name) whose structure was checked
    (`pages.json_entries`), under `digest` (the sha256 of the page's cache entry), recording
    both. Written without fsync."""
    rows = [_row(entry) for entry in entries]
    body = {"project": project, "page": digest, "url": page_url, "entries": rows, "claims": claims}
    data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    cache.put_derived(KIND, digest, data)


def load(cache: Cache, digest: str, project: str, source: Source) -> Page | None:
    """The `Page` kept for `project`'s page entry of sha256 `digest`, or None (absent, damaged,
    not of this format, or built from another page or for another project: read the page
    itself; such an entry is removed). Its entries are checked on first use like a fresh
    answer's (`BadAnswer` for one that is refused)."""
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

    def check(i: int) -> Link:
        entry = _entry(rows[i])
        if not entry_ok(entry):
            raise BadAnswer(
                f"{page_url}: entry {i} of the compact index {cache.derived_path(KIND, digest)} "
                "is not a PEP 691 file entry: remove it (it is rebuilt from the page)"
            )
        return json_link(entry, page_url, source)

    return Page([row[0] for row in rows], check, claims)


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


def _entry(row: list[Any]) -> dict[str, Any]:
    """The PEP 691 entry a row stands for (only the fields `pages.json_link` reads)."""
    filename, url, sha256, requires_python, yanked, size, meta = row
    entry: dict[str, Any] = {
        "filename": filename,
        "url": url,
        "hashes": {} if sha256 is None else {"sha256": sha256},
    }
    if requires_python is not None:
        entry["requires-python"] = requires_python
    if yanked is not False:
        entry["yanked"] = yanked
    if size is not None:
        entry["size"] = size
    if meta is not None:
        entry["core-metadata"] = meta
    return entry


def _shape(data: Any) -> tuple[str, list[list[Any]], list[Claim]] | None:
    """(page URL, rows, claims) if `data` has this format's shape, else None. Every row is a
    list of `_FIELDS` values with a string file name; every claim names entries that exist."""
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
