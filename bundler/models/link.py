"""A file an index offers (PEP 503/691 vocabulary): `DistFile`, and file-name validation.

The data model below the index client and the downloader: both import it, neither imports the
other. File names follow PEP 427 (wheels: `{name}-{version}(-{build tag})?-{python tag}-{abi
tag}-{platform tag}.whl`, each part of `[A-Za-z0-9_.]`, the build tag starting with a digit;
https://peps.python.org/pep-0427/#file-name-convention) and the sdist naming of the packaging
spec (`{name}-{version}.tar.gz`, https://packaging.python.org/en/latest/specifications/
source-distribution-format/; legacy `.zip` sdists are read too). Because a file name becomes a
path in the wheelhouse, `check_filename` refuses anything that is not a plain base name before
`packaging` ever parses it (`packaging.utils.parse_wheel_filename` accepts a build tag
`1/../../x`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag
from packaging.utils import (
    BuildTag,
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from bundler.models.source import Source

MAX_FILENAME = 255
"""Bytes in a file name on Linux filesystems (NAME_MAX)."""

WHEEL_NAME = re.compile(
    r"(?P<name>[A-Za-z0-9][A-Za-z0-9_.]*)-(?P<version>[A-Za-z0-9_.!+]+)"
    r"(?:-(?P<build>[0-9][A-Za-z0-9_.]*))?"
    r"-(?P<python>[A-Za-z0-9_.]+)-(?P<abi>[A-Za-z0-9_.]+)-(?P<platform>[A-Za-z0-9_.]+)\.whl"
)
"""PEP 427's file name convention, characters as its escaping rules leave them."""
SDIST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.!+-]*-[A-Za-z0-9_.!+]+\.(?:tar\.gz|zip)")
DIST_SUFFIXES = (".whl", ".tar.gz", ".zip")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class BadFilename(ValueError):
    """A name that must not be used as a file name in an output directory (the reason)."""


@dataclass(frozen=True)
class DistFile:
    """One downloadable file of a project (a wheel or an sdist)."""

    project: str
    """Canonical project name."""
    filename: str
    """A checked plain base name (`check_filename`)."""
    url: str
    """https://... (fragment removed), or file:///abs/path inside a user-named local source."""
    sha256: str | None
    """From the index (#sha256= or JSON hashes); computed for local files."""
    size: int | None
    requires_python: str | None
    yanked: str | None
    """None = not yanked, else the reason ('' when none given)."""
    metadata_url: str | None
    """The PEP 658/714 `.metadata` URL when the index offers one."""
    metadata_sha256: str | None
    source: Source | None = None
    """Where the file is listed; None counts as remote (a hash is required, no file: URL)."""

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")

    @property
    def version(self) -> Version:
        return parse_filename(self.filename)[1]

    @property
    def local(self) -> bool:
        """Listed by a local source the user named (or built here): hashed locally."""
        return self.source is not None and not self.source.remote

    @property
    def hash_source(self) -> str:
        """'local' (hashed here from a local source), 'index' (the index gave the sha256) or
        'computed' (a remote file without an index hash, allowed by --allow-unhashed)."""
        if self.local:
            return "local"
        return "index" if self.sha256 else "computed"

    @property
    def requires_python_spec(self) -> SpecifierSet | None:
        """`requires_python` parsed; None when absent or invalid (ignored like pip does)."""
        return parse_specifier(self.requires_python)


def check_basename(name: str) -> str:
    """`name` if it is a plain base name (no separator, no control character, not hidden, not
    '.'/'..', at most 255 bytes); BadFilename otherwise."""
    if not name:
        raise BadFilename("empty file name")
    if len(name.encode("utf-8", "surrogateescape")) > MAX_FILENAME:
        raise BadFilename(f"file name longer than {MAX_FILENAME} bytes")
    if "/" in name or "\\" in name:
        raise BadFilename("file name contains a path separator")
    if _CONTROL.search(name):
        raise BadFilename("file name contains a control character")
    if name.startswith("."):
        raise BadFilename("file name starts with '.'")
    return name


def check_filename(filename: str) -> str | None:
    """'wheel' or 'sdist' for a valid distribution file name; None for a plain base name of
    another kind (an .exe or .egg an index may list, ignored like pip ignores it).

    BadFilename when the name is not a plain base name, or ends like a wheel or sdist without
    following the convention (a build tag with '/', a '%2F', ...).
    """
    check_basename(filename)
    if filename.endswith(".whl"):
        if not WHEEL_NAME.fullmatch(filename):
            raise BadFilename("not a PEP 427 wheel file name")
        return "wheel"
    if filename.endswith((".tar.gz", ".zip")):
        if not SDIST_NAME.fullmatch(filename):
            raise BadFilename("not a valid sdist file name")
        return "sdist"
    return None


def path_in(directory: Path, filename: str) -> Path:
    """`directory / filename` for a checked base name: never a path outside `directory`."""
    check_basename(filename)
    path = directory / filename
    if path.parent != directory:
        raise BadFilename("file name leaves its directory")
    return path


@lru_cache(maxsize=1 << 16)
def parse_filename(filename: str) -> tuple[str, Version]:
    """(canonical name, version) of a wheel or sdist file name; ValueError otherwise.

    The name is checked first (`check_filename`). Memoised: a project page lists thousands
    of files, asked about again and again."""
    kind = check_filename(filename)
    if kind == "wheel":
        parts = wheel_parts(filename)
        if parts is None:
            parse_wheel_filename(filename)  # raises what packaging says is wrong with it
            raise BadFilename("not a wheel file name")
        return parts[0], parts[1]
    if kind == "sdist":
        name, version = parse_sdist_filename(filename)
        return name, version
    raise BadFilename("not a wheel or sdist file name")


WheelParts = tuple[NormalizedName, Version, BuildTag, frozenset[Tag]]
"""(canonical name, version, PEP 427 build tag, tags) of a wheel file name."""


@lru_cache(maxsize=1 << 16)
def wheel_parts(filename: str) -> WheelParts | None:
    """`packaging.utils.parse_wheel_filename(filename)`, once per name and process: the name
    and version (`parse_filename`), the tags (`Target.wheel_rank`, `installer_reads`) and the
    build tag (the resolver's order of a version's wheels) all come from this one parse. None
    when it is not a valid wheel name. Does not check the name as a path (`check_filename`)."""
    try:
        return parse_wheel_filename(filename)
    except (InvalidWheelFilename, InvalidVersion):
        return None


def try_parse_filename(filename: str) -> tuple[str, Version] | None:
    try:
        return parse_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion, ValueError):
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
