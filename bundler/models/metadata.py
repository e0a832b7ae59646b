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
from packaging.version import InvalidVersion, Version

from bundler.errors import IndexUnavailable, RequirementError
from bundler.models.link import parse_specifier, try_parse_filename
from bundler.policy.licenses import package_license


@dataclass(frozen=True)
class Metadata:
    """The core metadata fields the kit uses."""

    name: str
    version: Version
    requires_dist: tuple[Requirement, ...]
    requires_python: SpecifierSet | None
    summary: str | None
    license: str | None
    """The `License` field as written."""
    home_page: str | None
    requires_python_text: str | None = None
    """Requires-Python as written (compared as text with another copy of the metadata)."""
    license_expression: str | None = None
    """PEP 639 `License-Expression` as written."""
    classifiers: tuple[str, ...] = ()
    license_files: tuple[str, ...] = ()
    """PEP 639 `License-File` paths as written."""

    @property
    def spdx_license(self) -> str | None:
        """The license as one SPDX expression where possible (`policy.licenses`)."""
        return package_license(self.license_expression, self.license, self.classifiers)

    def differences(self, other: Metadata) -> list[str]:
        """The fields where `other` (e.g. the wheel's own METADATA) disagrees with this one
        (e.g. the PEP 658 file): name, version, Requires-Dist, Requires-Python, and the license
        fields (License, License-Expression, Classifier, License-File). Each compares
        meaning, not spelling: names normalised, versions and specifiers as parsed,
        requirements by `requirement_key`, the license fields as written; a difference is
        listed as written."""
        found = []
        if canonicalize_name(self.name) != canonicalize_name(other.name):
            found.append(f"Name {self.name!r} vs {other.name!r}")
        if self.version != other.version:
            found.append(f"Version {self.version} vs {other.version}")
        mine = {requirement_key(r): str(r) for r in self.requires_dist}
        theirs = {requirement_key(r): str(r) for r in other.requires_dist}
        if mine.keys() != theirs.keys():
            extra = sorted(text for key, text in mine.items() if key not in theirs)
            missing = sorted(text for key, text in theirs.items() if key not in mine)
            found.append(
                f"Requires-Dist differs (only here: {extra}, only in the wheel: {missing})"
            )
        if self.requires_python != other.requires_python:
            found.append(
                f"Requires-Python {self.requires_python_text!r} vs {other.requires_python_text!r}"
            )
        return found + self._license_differences(other)

    def _license_differences(self, other: Metadata) -> list[str]:
        """License, License-Expression, the Classifiers and License-File (PEP 639), compared
        as written (classifiers and license files as sets): what the license gate judges
        (`spdx_license`) must be the wheel's own (issue #17 review 17b, D2)."""
        found = []
        for field, mine, theirs in (
            ("License", self.license, other.license),
            ("License-Expression", self.license_expression, other.license_expression),
        ):
            if mine != theirs:
                found.append(f"{field} {_short(mine)!r} vs {_short(theirs)!r}")
        for field, many, others in (
            ("Classifier", self.classifiers, other.classifiers),
            ("License-File", self.license_files, other.license_files),
        ):
            if set(many) != set(others):
                extra = sorted(set(many) - set(others))
                missing = sorted(set(others) - set(many))
                found.append(f"{field} differs (only here: {extra}, only in the wheel: {missing})")
        return found


def requirement_key(requirement: Requirement) -> tuple[object, ...]:
    """What a requirement means, not how it is spelled: the name and extras normalised (PEP
    503, PEP 685), the specifier set as a set of specifiers (`>= 0.1, != 0.2` is `!=0.2,>=0.1`;
    packaging compares each one's version canonically), the URL, and the marker as packaging
    parses and prints it (`python_version<'3.7'` is `python_version < "3.7"`)."""
    return (
        canonicalize_name(requirement.name),
        frozenset(canonicalize_name(e) for e in requirement.extras),
        frozenset(requirement.specifier),
        requirement.url,
        str(requirement.marker) if requirement.marker is not None else None,
    )


MAX_METADATA = 8 << 20
"""Bytes of a METADATA member read from a wheel (a bigger one is refused, not inflated)."""


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
    try:
        version = Version(str(version_text))
    except InvalidVersion:
        raise IndexUnavailable(f"{origin}: invalid Version {str(version_text)[:80]!r}") from None
    requires_python = msg.get("Requires-Python")
    return Metadata(
        name=str(name),
        version=version,
        requires_dist=tuple(requires),
        requires_python=parse_specifier(requires_python),
        summary=_optional(msg.get("Summary")),
        license=_optional(msg.get("License")),
        home_page=_optional(msg.get("Home-page")),
        requires_python_text=None if requires_python is None else str(requires_python),
        license_expression=_optional(msg.get("License-Expression")),
        classifiers=tuple(str(c).strip() for c in msg.get_all("Classifier") or ()),
        license_files=tuple(str(f).strip() for f in msg.get_all("License-File") or ()),
    )


def _short(text: str | None) -> str | None:
    """`text` cut to 200 characters (a License field may hold a whole license text)."""
    return text if text is None or len(text) <= 200 else text[:200] + "..."


def _optional(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text if text and text != "UNKNOWN" else None


def read_wheel_metadata(path: Path, origin: str | None = None) -> Metadata:
    """The core metadata inside a wheel (`*.dist-info/METADATA` at the top level)."""
    return parse_metadata(wheel_metadata_body(path, origin), origin or path.name)


def wheel_metadata_body(path: Path, origin: str | None = None) -> bytes:
    """The bytes of a wheel's top-level `*.dist-info/METADATA` (the one of the project the
    file name names, when there are several), at most `MAX_METADATA`; `IndexUnavailable`
    naming `origin` when there is none or the wheel is not a readable zip."""
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
            if zf.getinfo(names[0]).file_size > MAX_METADATA:
                raise IndexUnavailable(f"{origin}: METADATA larger than {MAX_METADATA} bytes")
            body = zf.read(names[0])
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as exc:
        raise IndexUnavailable(f"{origin}: not a valid wheel ({exc})") from None
    return body
