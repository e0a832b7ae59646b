"""A file an index offers (PEP 503/691 vocabulary): `DistFile`, and filename/specifier parsing.

The data model below the index client and the downloader: both import it, neither imports the
other. Filenames follow PEP 427 (wheels) and the sdist naming of the packaging spec
(`packaging.utils.parse_wheel_filename` / `parse_sdist_filename`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version


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
