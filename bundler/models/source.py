"""Where files come from: the kinds of source a fetch reads, and what each is trusted with.

A source is named by the user (`--index-url`, `--find-links`) or made by the fetch itself (the
local project's build). Its kind decides two rules of the fetch side (issue #10):

- **Hashes.** A *remote* source (http/https) must give a sha256 for every file it lists; a
  *local* source (a directory the user named, a `file:` location the user named, a project
  built here) is hashed locally from the very bytes used.
- **URL schemes.** Entries of a remote page and its redirects may only lead to http(s);
  `file:` URLs are followed only for locations the user named (a `file:` index or find-links).

`SourceKind.LOCAL_INDEX` is the model's place for a `file:` simple index (`--no-index` and
`file:` index URLs, issue #12): nothing produces it yet.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit


class SourceKind(enum.Enum):
    INDEX = "index"
    """A remote simple repository (PEP 503/691) over http(s)."""
    FIND_LINKS_PAGE = "find-links page"
    """A remote HTML page of links over http(s)."""
    LOCAL_DIR = "local directory"
    """A directory the user named with --find-links (plain path or file: URL)."""
    LOCAL_INDEX = "local index"
    """A `file:` simple repository the user named (reserved for issue #12)."""
    LOCAL_PROJECT = "local project"
    """The directory holding a wheel this fetch built (the converter, --project)."""

    @property
    def remote(self) -> bool:
        return self in (SourceKind.INDEX, SourceKind.FIND_LINKS_PAGE)


REMOTE_SCHEMES = frozenset({"http", "https"})


@dataclass(frozen=True)
class Source:
    """One place files come from: its kind and its location (URL or absolute path)."""

    kind: SourceKind
    location: str

    @property
    def remote(self) -> bool:
        return self.kind.remote

    @property
    def allows_file_urls(self) -> bool:
        """`file:` links are followed only inside a location the user named locally."""
        return not self.kind.remote

    @property
    def path(self) -> Path | None:
        """The directory of a local source, else None."""
        if self.kind.remote:
            return None
        return local_path(self.location) or Path(self.location)

    def __str__(self) -> str:
        return self.location


def find_links_source(text: str) -> Source:
    """The source a `--find-links` value names: a local directory or a remote page."""
    scheme = urlsplit(text).scheme.lower()
    if scheme in REMOTE_SCHEMES:
        return Source(SourceKind.FIND_LINKS_PAGE, text)
    if scheme == "file":
        path = local_path(text)
        assert path is not None
        return Source(SourceKind.LOCAL_DIR, str(path))
    return Source(SourceKind.LOCAL_DIR, str(Path(text).absolute()))


def index_source(url: str) -> Source:
    """The source an `--index-url` names (http/https; anything else is refused by the caller)."""
    return Source(SourceKind.INDEX, url if url.endswith("/") else url + "/")


def local_path(url: str) -> Path | None:
    """The filesystem path of a file: URL, else None."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "file":
        return None
    return Path(unquote(parts.path))
