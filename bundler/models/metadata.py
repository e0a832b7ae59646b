"""Core metadata (the METADATA / PKG-INFO / PEP 658 `.metadata` fields the kit uses)."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from bundler.errors import IndexUnavailable, RequirementError
from bundler.models.link import parse_specifier, try_parse_filename


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
