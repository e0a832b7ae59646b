"""The findings snapshot carried in the wheelhouse: `policy-findings.json`.

Written by `bundler fetch --policy` (connected side), read offline by `pack`, `verify --policy`,
`inspect` and the SBOM, so the far side re-evaluates exactly what was found, with its own date
(an ignore that expired since fetch fails there). Schema (version 1):

    {"schema_version": 1,
     "tool": {"name": "airgap-kit", "version": "0.1.0"},
     "created": "2026-11-30T17:00:00Z",
     "policy": {"source": "policy.toml (sha256 ...)", "sha256": "...", "document": {...}},
     "database": {"kind": "osv-export" | "osv-api" | "none", "source": "all.zip (sha256 ...)",
                  "date": "<newest advisory modified>", "retrieved": "<when read>",
                  "rejected": [{"file", "reason", "packages" (or null), "problem"}]},
                  # entries of the database that were not advisories (osv.Rejected; optional)
     "checked": [{"name": "numpy", "version": "1.19.5"}, ...],   # every pin looked up
     "vulnerabilities": [{"id", "aliases", "summary", "package", "version", "severity",
                          "score", "vector", "affected", "fixed", "modified", "published"}]}

The file is untrusted input on the far side: it is checked against `SCHEMA` (jsonschema) and
turned into typed records, or rejected with `BadInput` naming it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bundler import __version__
from bundler.fs.atomic import atomic_write_text
from bundler.gate import osv
from bundler.gate.policy import RATINGS, Policy
from bundler.models.schema import validated_json

FILENAME = "policy-findings.json"
SCHEMA_VERSION = 1
_STR_LIST = {"type": "array", "items": {"type": "string"}}
_NULL_STR = {"type": ["string", "null"]}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["schema_version", "created", "policy", "database", "checked", "vulnerabilities"],
    "properties": {
        "schema_version": {"const": SCHEMA_VERSION},
        "created": {"type": "string"},
        "policy": {
            "type": "object",
            "required": ["source", "sha256", "document"],
            "properties": {"document": {"type": "object"}},
        },
        "database": {
            "type": "object",
            "required": ["kind", "source", "date", "retrieved"],
            "properties": {
                "kind": {"enum": ["osv-export", "osv-api", "none"]},
                "source": {"type": "string"},
                "date": {"type": "string"},
                "retrieved": {"type": "string"},
                "rejected": {
                    "type": "array",
                    "maxItems": osv.MAX_REJECTED,
                    "items": {
                        "type": "object",
                        "required": ["file", "reason", "packages", "problem"],
                        "properties": {
                            "file": {"type": "string", "maxLength": 4096},
                            "reason": {"type": "string", "maxLength": 4096},
                            "packages": {"type": ["array", "null"], "items": {"type": "string"}},
                            "problem": {"type": "boolean"},
                        },
                    },
                },
            },
        },
        "checked": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "version"],
                "properties": {"name": {"type": "string"}, "version": {"type": "string"}},
            },
        },
        "vulnerabilities": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "id",
                    "aliases",
                    "package",
                    "version",
                    "severity",
                    "affected",
                    "fixed",
                ],
                "properties": {
                    "id": {"type": "string", "minLength": 1},
                    "aliases": _STR_LIST,
                    "summary": {"type": "string"},
                    "package": {"type": "string"},
                    "version": {"type": "string"},
                    "severity": {"enum": [*RATINGS, None]},
                    "score": {"type": ["number", "null"]},
                    "vector": _NULL_STR,
                    "affected": _STR_LIST,
                    "fixed": _STR_LIST,
                    "modified": {"type": "string"},
                    "published": _NULL_STR,
                },
            },
        },
    },
}


@dataclass(frozen=True)
class Finding:
    """One advisory affecting one pinned package."""

    id: str
    aliases: tuple[str, ...]
    summary: str
    package: str
    version: str
    severity: str | None
    score: float | None
    vector: str | None
    affected: tuple[str, ...]
    """Affected ranges for this package, e.g. ('>=1.0, <1.4.2',)."""
    fixed: tuple[str, ...]
    modified: str
    published: str | None

    @property
    def names(self) -> frozenset[str]:
        """The id and every alias (what an ignore entry may name)."""
        return frozenset({self.id, *self.aliases})

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "aliases": list(self.aliases),
            "summary": self.summary,
            "package": self.package,
            "version": self.version,
            "severity": self.severity,
            "score": self.score,
            "vector": self.vector,
            "affected": list(self.affected),
            "fixed": list(self.fixed),
            "modified": self.modified,
            "published": self.published,
        }


@dataclass(frozen=True)
class Snapshot:
    """What fetch found, as carried across the gap."""

    created: str
    policy: dict[str, Any]
    database: osv.Database
    checked: tuple[osv.Pinned, ...]
    findings: tuple[Finding, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "airgap-kit", "version": __version__},
            "created": self.created,
            "policy": self.policy,
            "database": {
                "kind": self.database.kind,
                "source": self.database.source,
                "date": self.database.date,
                "retrieved": self.database.retrieved,
                "rejected": [r.to_dict() for r in self.database.rejected],
            },
            "checked": [{"name": p.name, "version": p.version} for p in self.checked],
            "vulnerabilities": [f.to_dict() for f in self.findings],
        }


def build(
    policy: Policy,
    pins: Iterable[osv.Pinned],
    database: osv.Database | None,
    advisories: Iterable[osv.Advisory],
) -> Snapshot:
    """The snapshot of `advisories` matched against `pins` (database None: none consulted)."""
    pins = tuple(sorted(pins, key=lambda p: (p.name.lower(), p.version)))
    findings = []
    for pin, advisory in osv.match(pins, advisories):
        affected, fixed = advisory.ranges_for(pin.name)
        findings.append(
            Finding(
                id=advisory.id,
                aliases=advisory.aliases,
                summary=advisory.summary,
                package=pin.name,
                version=pin.version,
                severity=advisory.severity,
                score=advisory.score,
                vector=advisory.vector,
                affected=tuple(affected),
                fixed=tuple(fixed),
                modified=advisory.modified,
                published=advisory.published,
            )
        )
    created = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    return Snapshot(
        created=created.replace("+00:00", "Z"),
        policy=policy.to_dict(),
        database=database or osv.Database("none", "no vulnerability database consulted", "", ""),
        checked=pins if database else (),
        findings=tuple(findings),
    )


def write(directory: Path, snapshot: Snapshot) -> Path:
    """directory/policy-findings.json (atomic)."""
    path = directory / FILENAME
    atomic_write_text(path, json.dumps(snapshot.to_dict(), indent=2, sort_keys=True) + "\n")
    return path


def read(directory: Path) -> Snapshot | None:
    """The snapshot in `directory`, None when there is none; BadInput when it is malformed."""
    path = directory / FILENAME
    if not path.is_file():
        return None
    return loads(path.read_bytes(), str(path))


def loads(data: bytes, where: str) -> Snapshot:
    """A snapshot from its JSON bytes, validated (BadInput naming `where` and the field)."""
    doc = validated_json(data, where, SCHEMA)
    db = doc["database"]
    return Snapshot(
        created=doc["created"],
        policy=doc["policy"],
        database=osv.Database(
            db["kind"],
            db["source"],
            db["date"],
            db["retrieved"],
            tuple(
                osv.Rejected(
                    r["file"],
                    r["reason"],
                    tuple(r["packages"]) if r["packages"] is not None else None,
                    r["problem"],
                )
                for r in db.get("rejected", [])
            ),
        ),
        checked=tuple(osv.Pinned(c["name"], c["version"]) for c in doc["checked"]),
        findings=tuple(
            Finding(
                id=v["id"],
                aliases=tuple(v["aliases"]),
                summary=v.get("summary", ""),
                package=v["package"],
                version=v["version"],
                severity=v["severity"],
                score=v.get("score"),
                vector=v.get("vector"),
                affected=tuple(v["affected"]),
                fixed=tuple(v["fixed"]),
                modified=v.get("modified", ""),
                published=v.get("published"),
            )
            for v in doc["vulnerabilities"]
        ),
    )


def gather(
    policy: Policy,
    pins: Iterable[osv.Pinned],
    *,
    vuln_db: Path | None = None,
    osv_url: str | None = None,
    timeout: float = 30.0,
    retries: int = 3,
) -> Snapshot:
    """Look every pin up (the export zip `vuln_db`, else the OSV API at `osv_url` or the
    policy's) when the policy has a [vulnerabilities] table; the snapshot of what was found."""
    pins = list(pins)
    if policy.vulnerabilities is None:
        return build(policy, pins, None, [])
    if vuln_db is not None:
        database, advisories = osv.read_export(vuln_db, pins)
    else:
        url = osv_url or policy.vulnerabilities.osv_url
        database, advisories = osv.query_api(url, pins, timeout=timeout, retries=retries)
    return build(policy, pins, database, advisories)
