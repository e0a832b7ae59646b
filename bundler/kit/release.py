"""The kit's release record, `kit-NAME/kit-release.json`, and the far side's freshness check.

Against replay and rollback (an older, validly signed kit offered again), the signed part of a
kit says when it was made and where it stands in the series, as TUF's metadata carries a
`version` that a client never lets go down (TUF specification, "rollback attack"; "the version
number ... MUST be ... greater than or equal to the trusted version",
https://theupdateframework.github.io/specification/latest/#update-root) and apt's Release file
carries a `Date` (https://wiki.debian.org/DebianRepository/Format#Date.2C_Valid-Until):

    {"schema_version": 1, "name": "kit-app", "sequence": 1764547200,
     "created": "2026-12-01T00:00:00Z"}

`pack --sign` (or `--sequence N`) writes it; it is listed in SHA256SUMS, so SHA256SUMS.asc
covers it. `sequence` is `--sequence N`, else the creation time in seconds since the epoch
(which grows from one pack to the next as long as the packing machine's clock does);
`created` is SOURCE_DATE_EPOCH when set, else the time of packing (UTC).

The far side (`verify --min-sequence N --not-before DATE --state FILE [--allow-downgrade]`):
the sequence must be at least N, the creation time not before DATE, and, with a state file,
not lower than the last kit accepted there (recorded in FILE, JSON, when a verify passes
completely); the same sequence with other contents (another SHA256SUMS) is refused too.
`--allow-downgrade` turns the state file's refusal into a note. What the check does not do:
without a state file or a minimum, an older kit still verifies (the far side has nothing to
compare with); a kit carries no expiry (Valid-Until) of its own, the vulnerability database's
age is the policy's `max_vuln_db_age_days`; and all of it is as strong as the signature: an
unsigned kit's record can be forged with the rest.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bundler.errors import BadInput
from bundler.fs.atomic import atomic_write_text
from bundler.fs.regular import read_regular
from bundler.models.schema import validated_json

FILENAME = "kit-release.json"
STATE_SCHEMA_VERSION = 1
_MAX = 64 << 10
_TIME = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["schema_version", "name", "sequence", "created"],
    "properties": {
        "schema_version": {"const": 1},
        "name": {"type": "string", "minLength": 1, "maxLength": 255},
        "sequence": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
        "created": {"type": "string", "pattern": _TIME},
    },
}
STATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["schema_version", "accepted"],
    "properties": {
        "schema_version": {"const": STATE_SCHEMA_VERSION},
        "accepted": {
            "type": "object",
            "required": ["name", "sequence", "created", "sums_sha256"],
            "properties": {
                **SCHEMA["properties"],
                "sums_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                "accepted_at": {"type": "string"},
            },
        },
    },
}


@dataclass(frozen=True)
class Release:
    """One kit's place in the series: `sequence` (never lower for a newer kit) and `created`."""

    name: str
    sequence: int
    created: dt.datetime
    """UTC, whole seconds."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": 1,
            "name": self.name,
            "sequence": self.sequence,
            "created": _iso(self.created),
        }

    def describe(self) -> str:
        return f"{self.name} sequence {self.sequence}, created {_iso(self.created)}"


@dataclass(frozen=True)
class Freshness:
    """What the far side requires of the kit's release record (all optional)."""

    min_sequence: int | None = None
    not_before: dt.datetime | None = None
    """UTC."""
    state_file: Path | None = None
    """The last kit accepted on this side (JSON), read before and written after a pass."""
    allow_downgrade: bool = False

    @property
    def active(self) -> bool:
        return (
            self.min_sequence is not None
            or self.not_before is not None
            or self.state_file is not None
        )


def make(name: str, sequence: int | None, created: dt.datetime) -> Release:
    """The release record pack writes (sequence: `--sequence`, else `created` in seconds)."""
    created = created.astimezone(dt.timezone.utc).replace(microsecond=0)
    if sequence is not None and not 0 <= sequence < 2**63:
        raise BadInput(f"--sequence {sequence}: expected a whole number from 0 to 2**63-1")
    return Release(name, int(created.timestamp()) if sequence is None else sequence, created)


def render(release: Release) -> bytes:
    return (json.dumps(release.to_dict(), indent=2, sort_keys=True) + "\n").encode()


def parse(data: bytes, where: str) -> Release:
    """A release record from its JSON bytes (BadInput naming `where` and the field)."""
    doc = _json(data, where, SCHEMA)
    return Release(doc["name"], doc["sequence"], _time(doc["created"]))


def read(kit: Path) -> Release | None:
    """kit/kit-release.json, None when the kit has none (BadInput when it is malformed)."""
    path = kit / FILENAME
    if not path.exists() and not path.is_symlink():
        return None
    try:
        data = read_regular(path, _MAX)
    except (BadInput, OSError, ValueError) as exc:
        raise BadInput(f"{FILENAME}: cannot be read ({exc})") from None
    return parse(data, FILENAME)


def check(
    release: Release | None, freshness: Freshness, sums_sha256: str
) -> tuple[list[str], list[str]]:
    """(problems, notes) of `release` against `freshness` (see the module docstring)."""
    problems: list[str] = []
    notes: list[str] = []
    if not freshness.active:
        return problems, notes
    if release is None:
        problems.append(
            f"{FILENAME}: missing, so the kit's age and sequence cannot be checked "
            "(pack it with --sign or --sequence)"
        )
        return problems, notes
    if freshness.min_sequence is not None and release.sequence < freshness.min_sequence:
        problems.append(
            f"{FILENAME}: sequence {release.sequence} is below --min-sequence "
            f"{freshness.min_sequence}: an older kit than required"
        )
    if freshness.not_before is not None and release.created < freshness.not_before:
        problems.append(
            f"{FILENAME}: created {_iso(release.created)}, before --not-before "
            f"{_iso(freshness.not_before)}: an older kit than required"
        )
    if freshness.state_file is not None:
        last = read_state(freshness.state_file)
        if last is not None:
            found = _against_last(release, last, sums_sha256, freshness.state_file)
            if found and freshness.allow_downgrade:
                notes += [f"{f} (accepted: --allow-downgrade)" for f in found]
            else:
                problems += found
    return problems, notes


@dataclass(frozen=True)
class Accepted:
    release: Release
    sums_sha256: str


def _against_last(release: Release, last: Accepted, sums_sha256: str, state: Path) -> list[str]:
    if release.sequence < last.release.sequence:
        return [
            f"{FILENAME}: {release.describe()} is older than the last kit accepted here "
            f"({last.release.describe()}, recorded in {state}): refusing a downgrade "
            "(--allow-downgrade accepts it)"
        ]
    if release.sequence == last.release.sequence and sums_sha256 != last.sums_sha256:
        return [
            f"{FILENAME}: sequence {release.sequence} was accepted here before with other "
            f"contents (SHA256SUMS sha256 {last.sums_sha256[:16]}..., recorded in {state}): "
            "a kit that reuses a sequence is refused"
        ]
    return []


def read_state(path: Path) -> Accepted | None:
    """The last kit accepted, from the state file (None when it does not exist yet)."""
    if not path.exists():
        return None
    try:
        data = read_regular(path, _MAX)
    except (BadInput, OSError, ValueError) as exc:
        raise BadInput(f"--state {path}: cannot be read ({exc})") from None
    doc = _json(data, f"--state {path}", STATE_SCHEMA)["accepted"]
    release = Release(doc["name"], doc["sequence"], _time(doc["created"]))
    return Accepted(release, doc["sums_sha256"])


def record(path: Path, release: Release, sums_sha256: str, now: dt.datetime) -> bool:
    """Write `release` as the last kit accepted into the state file (atomically, 0644);
    a lower sequence than the one recorded is never written (a downgrade accepted with
    --allow-downgrade does not lower the bar). True when written, False when the file was
    left as it was."""
    last = read_state(path)
    if last is not None and last.release.sequence > release.sequence:
        return False
    accepted = {k: v for k, v in release.to_dict().items() if k != "schema_version"}
    accepted.update(sums_sha256=sums_sha256, accepted_at=_iso(now))
    doc = {"schema_version": STATE_SCHEMA_VERSION, "accepted": accepted}
    try:
        atomic_write_text(path, json.dumps(doc, indent=2, sort_keys=True) + "\n")
    except OSError as exc:
        raise BadInput(f"--state {path}: cannot write ({exc.strerror or exc})") from None
    return True


def _json(data: bytes, where: str, schema: dict[str, Any]) -> dict[str, Any]:
    return dict(validated_json(data, where, schema))


def _time(text: str) -> dt.datetime:
    try:
        return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        raise BadInput(f"{FILENAME}: created {text!r} is not a time") from None


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
