"""Parsing index answers: PEP 691 JSON and PEP 503 HTML project pages (also find-links pages).

Each entry becomes a `Link` record; PEP 592 yanked flags, `Requires-Python` and PEP 658/714
metadata flags are kept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from bundler.errors import IndexUnavailable


@dataclass(frozen=True)
class Link:
    filename: str
    url: str
    sha256: str | None
    size: int | None
    requires_python: str | None
    yanked: str | None
    metadata: bool | str | None
    """True (offered, no hash), a sha256 hex string (offered, hashed), or None."""


def parse_json_page(body: bytes, base_url: str) -> list[Link]:
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
            Link(
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


def parse_html_page(body: bytes, base_url: str) -> list[Link]:
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
            Link(
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
