"""The local cache: content-addressed blobs (wheels, sdists, tarballs) and index responses.

Layout under the cache root (default: platformdirs' user cache dir for "airgap-kit", which
honours XDG_CACHE_HOME; or --cache-dir):

    blobs/sha256/ab/abcdef...      a downloaded file, stored under its own sha256
    pages/<sha256 of URL>          the body of an index page or a .metadata file, by URL
    facts/<kind>/ab/abcdef....json facts derived from a blob's bytes alone (e.g. the ELF
                                   objects of a wheel for `bundler audit`), by the blob's sha256

Blobs are only ever added after their hash was checked, atomically, so a blob present under a
name *is* that content. Pages are what lets `--offline` resolve again without the network.
Facts are pure functions of content, so they never go stale; `kind` carries a format version.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import platformdirs

from bundler.fs.atomic import atomic_write_bytes
from bundler.fs.hashing import sha256_file

APP_NAME = "airgap-kit"


def default_root() -> Path:
    """$XDG_CACHE_HOME/airgap-kit (or ~/.cache/airgap-kit) on Linux."""
    return Path(platformdirs.user_cache_dir(APP_NAME))


class Cache:
    """A content-addressed store rooted at `root`."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()

    # -- blobs ----------------------------------------------------------------------------------

    def blob_path(self, sha256: str) -> Path:
        return self.root / "blobs" / "sha256" / sha256[:2] / sha256

    def has_blob(self, sha256: str) -> bool:
        return self.blob_path(sha256).is_file()

    def adopt_blob(self, tmp: Path, sha256: str) -> Path:
        """Move an already hash-checked file `tmp` into the store (atomic rename)."""
        dest = self.blob_path(sha256)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, dest)
        return dest

    def verify_blob(self, sha256: str) -> bool:
        """Re-hash a stored blob; a corrupt one is removed so it is fetched again."""
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
        path = self.page_path(url)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None

    def put_page(self, url: str, body: bytes) -> None:
        atomic_write_bytes(self.page_path(url), body)

    # -- facts ----------------------------------------------------------------------------------

    def facts_path(self, kind: str, sha256: str) -> Path:
        return self.root / "facts" / kind / sha256[:2] / f"{sha256}.json"

    def get_facts(self, kind: str, sha256: str) -> Any | None:
        """The JSON stored for content `sha256` under `kind`, or None (absent or unreadable)."""
        try:
            return json.loads(self.facts_path(kind, sha256).read_bytes())
        except (OSError, ValueError):
            return None

    def put_facts(self, kind: str, sha256: str, facts: Any) -> None:
        data = json.dumps(facts, sort_keys=True, separators=(",", ":")).encode("utf-8")
        atomic_write_bytes(self.facts_path(kind, sha256), data)
