"""Where files come from: the kinds of source a fetch reads, and what each is trusted with.

A source is named by the user (`--index-url`, `--find-links`) or made by the fetch itself (the
local project's build). Its kind decides three rules of the fetch side (issues #10 and #12):

- **Hashes.** A *remote* source (http/https) must give a sha256 for every file it lists; a
  *local* source (a directory the user named, a `file:` index or page the user named, a project
  built here) is hashed locally from the very bytes used (and a sha256 its page gives must
  match them).
- **URL schemes.** Entries of a remote page and its redirects may only lead to http(s);
  `file:` URLs are followed only for locations the user named (a `file:` index or find-links).
- **Trees.** A local source answers only from inside its own tree (`Source.root`): a `file:`
  index or page whose entry leads elsewhere -- `../` out of the tree, a symbolic link out of it,
  an absolute `file:` URL to another place, or any http(s) URL -- is refused, so a local fetch
  never reads a file the user did not point at, and never touches the network.

The `file:` index layout is pip's (a directory URL means its `index.html`, pip's
`index/collector.py`) and bandersnatch's (`simple/<project>/index.v1_json` for PEP 691 JSON
beside `index.html`, files under `packages/` next to `simple/`, linked as `../../packages/...`;
https://github.com/pypa/bandersnatch `src/bandersnatch/simple.py`). So the tree of an index
whose directory is named `simple` is the directory holding it (the mirror's web root); any
other index's tree is its own directory.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bundler.errors import BadInput


class SourceKind(enum.Enum):
    INDEX = "index"
    """A remote simple repository (PEP 503/691) over http(s)."""
    FIND_LINKS_PAGE = "find-links page"
    """A remote HTML page of links over http(s)."""
    LOCAL_DIR = "local directory"
    """A directory the user named with --find-links (plain path or file: URL)."""
    LOCAL_PAGE = "local find-links page"
    """An HTML page of links on disk the user named with --find-links (path or file: URL)."""
    LOCAL_INDEX = "local index"
    """A simple repository on disk the user named with `--index-url file:///...`."""
    LOCAL_PROJECT = "local project"
    """The directory holding a wheel this fetch built (the converter, --project)."""

    @property
    def remote(self) -> bool:
        return self in (SourceKind.INDEX, SourceKind.FIND_LINKS_PAGE)


REMOTE_SCHEMES = frozenset({"http", "https"})
HTML_SUFFIXES = (".html", ".htm")
MIRROR_SIMPLE_DIR = "simple"
"""A `file:` index directory of this name is a mirror's `simple/`: its tree is its parent."""


@dataclass(frozen=True)
class Source:
    """One place files come from: its kind and its location.

    `location` is the URL of a remote source, the URL (with a trailing '/') of a `file:`
    index, and the absolute path of any other local source.
    """

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
        """The local directory, page file or index directory; None for a remote source."""
        if self.kind.remote:
            return None
        return local_path(self.location) or Path(self.location)

    @property
    def root(self) -> Path | None:
        """The tree a local source may answer from (see the module docstring); None for a
        remote source."""
        path = self.path
        if path is None:
            return None
        if self.kind is SourceKind.LOCAL_PAGE:
            return path.parent
        if self.kind is SourceKind.LOCAL_INDEX and path.name == MIRROR_SIMPLE_DIR:
            return path.parent
        return path

    @property
    def confined(self) -> bool:
        """Whether the files of this source are named by pages it holds (a `file:` index, a
        local find-links page), which may only name files inside `root`."""
        return self.kind in (SourceKind.LOCAL_INDEX, SourceKind.LOCAL_PAGE)

    def contains(self, path: Path) -> bool:
        """Whether `path` is inside this local source's tree (`within(path, root)`)."""
        root = self.root
        return root is not None and within(path, root)

    def __str__(self) -> str:
        return self.location


def within(path: Path | str, root: Path | str) -> bool:
    """Whether `path`, every symbolic link and `..` resolved, is `root` or below it."""
    real, top = os.path.realpath(path), os.path.realpath(root)
    return os.path.commonpath([real, top]) == top


def find_links_source(text: str) -> Source:
    """The source a `--find-links` value names: a local directory, a local HTML page (a path
    or `file:` URL ending in .html/.htm that is not a directory), or a remote page."""
    scheme = urlsplit(text).scheme.lower()
    if scheme in REMOTE_SCHEMES:
        return Source(SourceKind.FIND_LINKS_PAGE, text)
    path = file_url_path(text, "--find-links") if scheme == "file" else Path(text).absolute()
    if path.suffix.lower() in HTML_SUFFIXES and not path.is_dir():
        return Source(SourceKind.LOCAL_PAGE, str(path))
    return Source(SourceKind.LOCAL_DIR, str(path))


def index_source(url: str) -> Source:
    """The source an `--index-url` names: http(s) (`INDEX`) or `file:` (`LOCAL_INDEX`).

    Raises BadInput for another scheme or a plain path (pip, too, takes only URLs here)."""
    scheme = urlsplit(url).scheme.lower()
    if scheme == "file":
        path = file_url_path(url, "--index-url")
        return Source(SourceKind.LOCAL_INDEX, path.as_uri() + "/")
    if scheme not in REMOTE_SCHEMES:
        hint = f"a simple tree on disk is {Path(url).absolute().as_uri()}/; " if not scheme else ""
        raise BadInput(
            f"--index-url {url}: only http://, https:// and file:// index URLs are supported "
            f"({hint}a directory of files goes to --find-links)"
        )
    return Source(SourceKind.INDEX, url if url.endswith("/") else url + "/")


def file_url_path(url: str, what: str) -> Path:
    """The absolute local path of a `file:` URL the user gave; BadInput for a `file:` URL on
    another host (`file://server/share`, which pip reads as a UNC path on Windows only) or a
    relative one."""
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise BadInput(f"{what} {url}: a file: URL on another host is not a local path")
    path = Path(unquote(parts.path))
    if not path.is_absolute():
        raise BadInput(f"{what} {url}: not an absolute file: URL (file:///abs/path)")
    return path


def local_path(url: str) -> Path | None:
    """The absolute filesystem path of a local `file:` URL, else None (another scheme, a
    `file:` URL naming another host, or a relative one)."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
        return None
    path = Path(unquote(parts.path))
    return path if path.is_absolute() else None
