"""Known vulnerabilities from OSV: advisories parsed into typed records and matched to pins.

Two sources, one record type:
- an OSV export zip (`--vuln-db FILE`, e.g. https://osv-vulnerabilities.storage.googleapis.com/
  PyPI/all.zip): one `ID.json` advisory per member; reproducible and offline;
- the OSV API at a base URL (https://google.github.io/osv.dev/post-v1-querybatch/):
  `POST /v1/querybatch` with one query per pinned (name, version), which answers advisory ids
  only (paged with `next_page_token`), then `GET /v1/vulns/{id}` for each advisory.

Advisories follow the OSV schema (https://ossf.github.io/osv-schema/); a pinned version is
affected when it is listed in `affected[].versions` or falls in an `ECOSYSTEM` range by the
schema's evaluation rule (events sorted; `introduced` opens, `fixed` and `last_affected` close),
with PEP 440 ordering (`packaging.version`), the PyPI ecosystem's. Severity: the highest CVSS
vector in `severity` (v4, v3, v2; scored by the `cvss` library), else the advisory's
`database_specific.severity` (GitHub's LOW/MODERATE/HIGH/CRITICAL), else unknown. Withdrawn
advisories are dropped. An entry that is not an advisory (not JSON, not the schema's types, too
large) is rejected alone and listed in `Database.rejected` (`Rejected`: a problem when it names a
pinned package or its package cannot be read, else a note), so one bad entry never hides the
rest of the database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zipfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cvss import CVSS2, CVSS3, CVSS4, CVSSError
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from bundler.errors import BadInput, IndexUnavailable
from bundler.gate.policy import RATINGS
from bundler.models.schema import jsonschema

if TYPE_CHECKING:  # the HTTP stack is imported by the API calls only (verify reads no API)
    import requests

ECOSYSTEM = "PyPI"
MAX_ADVISORY = 4 << 20
"""Bytes one advisory may take (zip member or API answer); the largest PyPI ones are ~100 KB."""
MAX_EXPORT = 2 << 30
"""Uncompressed bytes an export zip may hold in all (PyPI's all.zip: ~100 MB in 2026)."""
BATCH = 1000
"""Queries per querybatch request (the API's documented maximum)."""
_GITHUB_SEVERITY = {"low": "low", "moderate": "medium", "medium": "medium", "high": "high"}
_GITHUB_SEVERITY["critical"] = "critical"


@dataclass(frozen=True)
class Pinned:
    """One pinned package to look up."""

    name: str
    version: str


@dataclass(frozen=True)
class Advisory:
    """One OSV advisory, reduced to what the gate and the SBOM need."""

    id: str
    aliases: tuple[str, ...]
    summary: str
    modified: str
    published: str | None
    severity: str | None
    """'low' | 'medium' | 'high' | 'critical', None when the database gives none."""
    score: float | None
    vector: str | None
    affected: tuple[dict[str, Any], ...]
    """The `affected` entries for the PyPI ecosystem, as in the advisory."""

    def matches(self, pin: Pinned) -> bool:
        """True when `pin` is an affected version of an affected package."""
        return any(_entry_matches(entry, pin) for entry in self.affected)

    def ranges_for(self, name: str) -> tuple[list[str], list[str]]:
        """(affected ranges as text like '>=1.0, <1.4.2', fixed versions) for package `name`."""
        ranges: list[str] = []
        fixed: list[str] = []
        for entry in self.affected:
            if _canon(str(entry.get("package", {}).get("name", ""))) != _canon(name):
                continue
            for rng in entry.get("ranges") or []:
                if rng.get("type") not in ("ECOSYSTEM", "SEMVER"):
                    continue
                text, fixes = _range_text(rng.get("events") or [])
                ranges += text
                fixed += fixes
            versions = [str(v) for v in entry.get("versions") or []]
            if versions and not ranges:
                shown = versions[:12]
                more = f" (and {len(versions) - 12} more)" if len(versions) > 12 else ""
                ranges.append("==" + ", ==".join(shown) + more)
        return ranges, list(dict.fromkeys(fixed))


@dataclass(frozen=True)
class Database:
    """Where the advisories came from and how fresh they are."""

    kind: str
    """'osv-export' (a zip) or 'osv-api'."""
    source: str
    """The zip's file name and sha256, or the API base URL."""
    date: str
    """The newest `modified` time among the advisories read (ISO 8601, UTC), ignoring any
    later than `retrieved` (a future-dated entry would make an old export look fresh)."""
    retrieved: str
    """When this run read them (ISO 8601, UTC)."""
    rejected: tuple[Rejected, ...] = ()
    """Entries that could not be read as advisories (each rejected alone, see `Rejected`)."""

    @property
    def current_as_of(self) -> str:
        """The time the database is known to be current to (ISO 8601): an export's newest
        advisory (when it was exported, give or take hours: the zip may be old), the API's
        answer time (it is live)."""
        return self.retrieved if self.kind == "osv-api" else self.date


@dataclass(frozen=True)
class Rejected:
    """One entry of the database that is not a usable advisory, rejected alone.

    `problem` is True when the gate cannot rule it out: it names a pinned package, or no
    package can be read from it (it could be about any); False (a note) when it names only
    packages that are not pinned: whatever it says, it says nothing about this wheelhouse."""

    file: str
    """The zip member's name, or the API URL of the advisory."""
    reason: str
    packages: tuple[str, ...] | None
    """The PyPI package names read from it, None when none can be read."""
    problem: bool

    def describe(self) -> str:
        names = ", ".join(self.packages) if self.packages else "no readable package"
        return f"{self.file} rejected ({self.reason}; names {names})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "reason": self.reason,
            "packages": list(self.packages) if self.packages is not None else None,
            "problem": self.problem,
        }


# -- parsing -----------------------------------------------------------------------------------


_STRINGS = {"type": "array", "items": {"type": "string"}}
_EVENT = {
    "type": "object",
    "minProperties": 1,
    "maxProperties": 1,
    "additionalProperties": {"type": "string"},
}
_SEVERITY = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["type", "score"],
        "properties": {"type": {"type": "string"}, "score": {"type": "string"}},
    },
}
ADVISORY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id"],
    "properties": {
        "id": {"type": "string", "minLength": 1},
        "modified": {"type": "string"},
        "published": {"type": "string"},
        "withdrawn": {"type": "string"},
        "summary": {"type": "string"},
        "details": {"type": "string"},
        "aliases": _STRINGS,
        "severity": _SEVERITY,
        "database_specific": {"type": "object"},
        "affected": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "package": {
                        "type": "object",
                        "properties": {
                            "ecosystem": {"type": "string"},
                            "name": {"type": "string"},
                        },
                    },
                    "versions": _STRINGS,
                    "severity": _SEVERITY,
                    "ranges": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["type", "events"],
                            "properties": {
                                "type": {"type": "string"},
                                "events": {"type": "array", "items": _EVENT},
                            },
                        },
                    },
                },
            },
        },
    },
}
"""The parts of the OSV schema (https://ossf.github.io/osv-schema/) the gate reads, typed."""
_VALIDATOR = jsonschema.Draft202012Validator(ADVISORY_SCHEMA)


def parse_advisory(data: Any, where: str) -> Advisory | None:
    """The Advisory in an OSV JSON document; None if withdrawn or not about PyPI; BadInput
    naming the field when the parts read do not have the OSV schema's types."""
    error = jsonschema.exceptions.best_match(_VALIDATOR.iter_errors(data))
    if error is not None:
        field = "/".join(str(p) for p in error.absolute_path) or "(top)"
        raise BadInput(f"{where}: not an OSV advisory ({field}: {error.message[:120]})")
    if data.get("withdrawn"):
        return None
    affected = tuple(
        e
        for e in data.get("affected") or []
        if (e.get("package") or {}).get("ecosystem") == ECOSYSTEM
    )
    if not affected:
        return None
    aliases = data.get("aliases") or []
    score, vector, severity = _severity(data, affected)
    return Advisory(
        id=data["id"],
        aliases=tuple(str(a) for a in aliases if isinstance(a, str)),
        summary=str(data.get("summary") or data.get("details") or "")[:300],
        modified=str(data.get("modified") or ""),
        published=str(data["published"]) if data.get("published") else None,
        severity=severity,
        score=score,
        vector=vector,
        affected=affected,
    )


def _severity(
    data: dict[str, Any], affected: Iterable[dict[str, Any]]
) -> tuple[float | None, str | None, str | None]:
    """(score, vector, qualitative) from the CVSS vectors, else GitHub's database severity."""
    entries = list(data.get("severity") or [])
    for entry in affected:
        entries += entry.get("severity") or []
    best: tuple[float, str] | None = None
    for entry in entries:
        scored = _score(entry) if isinstance(entry, dict) else None
        if scored is not None and (best is None or scored[0] > best[0]):
            best = scored
    if best is not None:
        return best[0], best[1], rating(best[0])
    text = str((data.get("database_specific") or {}).get("severity") or "").lower()
    return None, None, _GITHUB_SEVERITY.get(text)


def _score(entry: dict[str, Any]) -> tuple[float, str] | None:
    vector = entry.get("score")
    kind = {"CVSS_V4": CVSS4, "CVSS_V3": CVSS3, "CVSS_V2": CVSS2}.get(str(entry.get("type")))
    if kind is None or not isinstance(vector, str):
        return None
    try:
        parsed = kind(vector)
    except (CVSSError, ValueError, KeyError):
        return None
    base = parsed.base_score if kind is CVSS4 else parsed.scores()[0]
    return float(base), vector


def rating(score: float) -> str | None:
    """CVSS qualitative rating of a base score (FIRST CVSS v3.1 specification, section 5)."""
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    if score > 0:
        return "low"
    return "none" if score == 0 else None


def _entry_matches(entry: dict[str, Any], pin: Pinned) -> bool:
    if _canon(str((entry.get("package") or {}).get("name", ""))) != _canon(pin.name):
        return False
    listed = [str(v) for v in entry.get("versions") or []]
    if pin.version in listed:
        return True
    try:
        version = Version(pin.version)
    except InvalidVersion:
        return False
    if any(_same_version(text, version) for text in listed):
        return True
    return any(
        _in_range(version, rng.get("events") or [])
        for rng in entry.get("ranges") or []
        if isinstance(rng, dict) and rng.get("type") in ("ECOSYSTEM", "SEMVER")
    )


def _same_version(text: str, version: Version) -> bool:
    """PEP 440 equality of a listed version with the pin ('1.0.0' == '1.0': zero padding of the
    release segment, packaging.version); a listed string that is not a PEP 440 version is
    skipped (only an exact string match, above, can match it)."""
    try:
        return Version(text) == version
    except InvalidVersion:
        return False


def _in_range(version: Version, events: list[Any]) -> bool:
    """The OSV schema's evaluation of one range for one version."""
    affected = False
    for kind, at in _sorted_events(events):
        if kind == "introduced" and (at is None or version >= at):
            affected = True
        elif at is not None and (
            (kind == "fixed" and version >= at) or (kind == "last_affected" and version > at)
        ):
            affected = False
    return affected


def _sorted_events(events: list[Any]) -> list[tuple[str, Version | None]]:
    """(kind, version) sorted by version; introduced '0' is None (before everything)."""
    out: list[tuple[str, Version | None]] = []
    for event in events:
        if not isinstance(event, dict) or len(event) != 1:
            continue
        ((kind, value),) = event.items()
        if kind not in ("introduced", "fixed", "last_affected"):
            continue
        if kind == "introduced" and str(value) == "0":
            out.append((kind, None))
            continue
        try:
            out.append((kind, Version(str(value))))
        except InvalidVersion:
            continue
    return sorted(out, key=lambda e: (e[1] is not None, e[1] or Version("0")))


def _range_text(events: list[Any]) -> tuple[list[str], list[str]]:
    texts: list[str] = []
    fixed: list[str] = []
    low: str | None = None
    for kind, at in _sorted_events(events):
        if kind == "introduced":
            low = f">={at}" if at is not None else ""
        elif kind in ("fixed", "last_affected") and at is not None:
            high = f"<{at}" if kind == "fixed" else f"<={at}"
            texts.append(", ".join(t for t in (low, high) if t))
            low = None
            if kind == "fixed":
                fixed.append(str(at))
    if low is not None:
        texts.append(low or "all versions")
    return texts, fixed


# -- the export zip --------------------------------------------------------------------------


MAX_REJECTED = 1000
"""Entries an export may have rejected before the whole file is refused as not an OSV export."""


def read_export(path: Path, pins: Iterable[Pinned]) -> tuple[Database, list[Advisory]]:
    """The advisories in an OSV export zip that affect any of `pins`, and the database record.

    Each `.json` member is parsed into an `Advisory` or rejected alone (not JSON, not the OSV
    schema's types, larger than MAX_ADVISORY): `Database.rejected` lists it with its reason,
    a problem when it names a pinned package or no package can be read from it (see
    `Rejected`). Raises BadInput when the file is not a zip, exceeds MAX_EXPORT, rejects more
    than MAX_REJECTED entries or holds no PyPI advisory at all."""
    wanted = {_canon(p.name) for p in pins}
    found: list[Advisory] = []
    rejected: list[Rejected] = []
    newest = ""
    seen = 0
    read_at = _now()
    total = 0
    digest = hashlib.sha256()
    try:
        with path.open("rb") as raw:
            for block in iter(lambda: raw.read(1 << 20), b""):
                digest.update(block)
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if info.is_dir() or not info.filename.endswith(".json"):
                    continue
                total += min(info.file_size, MAX_ADVISORY)
                if total > MAX_EXPORT:
                    raise BadInput(f"{path}: more than {MAX_EXPORT} bytes of advisories")
                try:
                    advisory = _member_advisory(zf, info, f"{path.name}:{info.filename}")
                except _Unusable as exc:
                    rejected.append(_rejected(info.filename, exc, wanted))
                    if len(rejected) > MAX_REJECTED:
                        raise BadInput(
                            f"--vuln-db {path}: more than {MAX_REJECTED} entries are not OSV "
                            f"advisories (the first: {rejected[0].describe()})"
                        ) from None
                    continue
                if advisory is None:
                    continue
                seen += 1
                if advisory.modified[:19] <= read_at[:19]:  # a future date says nothing
                    newest = max(newest, advisory.modified)
                names = {_canon(str(e["package"].get("name", ""))) for e in advisory.affected}
                if names & wanted:
                    found.append(advisory)
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise BadInput(f"--vuln-db {path}: not a readable OSV export zip ({exc})") from None
    if not seen:
        raise BadInput(f"--vuln-db {path}: no OSV advisory for the {ECOSYSTEM} ecosystem in it")
    source = f"{path.name} (sha256 {digest.hexdigest()})"
    database = Database("osv-export", source, newest, read_at, tuple(rejected))
    return database, found


class _Unusable(Exception):
    """One entry that is not a usable advisory: the reason, and the JSON when it parsed."""

    def __init__(self, reason: str, document: Any = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.document = document


def _member_advisory(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> Advisory | None:
    if info.file_size > MAX_ADVISORY:
        raise _Unusable(f"{info.file_size} bytes, over {MAX_ADVISORY}")
    try:
        with zf.open(info) as member:
            data = member.read(MAX_ADVISORY + 1)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise _Unusable(f"cannot be read from the zip ({exc})") from None
    if len(data) > MAX_ADVISORY:
        raise _Unusable(f"over {MAX_ADVISORY} bytes")
    return _advisory_from_bytes(data, where)


def _advisory_from_bytes(data: bytes, where: str) -> Advisory | None:
    try:
        document = json.loads(data)
    except ValueError as exc:
        raise _Unusable(f"not JSON: {str(exc)[:80]}") from None
    try:
        return parse_advisory(document, where)
    except BadInput as exc:
        raise _Unusable(str(exc).removeprefix(f"{where}: ")[:200], document) from None


def _rejected(file: str, exc: _Unusable, wanted: set[str]) -> Rejected:
    packages = _loose_names(exc.document)
    problem = packages is None or bool({_canon(n) for n in packages} & wanted)
    return Rejected(file, exc.reason, packages, problem)


def _loose_names(document: Any) -> tuple[str, ...] | None:
    """The PyPI package names a malformed advisory names where they can be read
    (`affected[].package.name` with ecosystem PyPI), None when none can be."""
    if not isinstance(document, dict) or not isinstance(document.get("affected"), list):
        return None
    names = []
    for entry in document["affected"]:
        package = entry.get("package") if isinstance(entry, dict) else None
        if not isinstance(package, dict) or not isinstance(package.get("name"), str):
            return None  # an entry whose package cannot be read could be about any
        if package.get("ecosystem") == ECOSYSTEM:
            names.append(package["name"][:100])
    return tuple(sorted(set(names))) if names else None


# -- the API -------------------------------------------------------------------------------------


def query_api(
    base_url: str,
    pins: Iterable[Pinned],
    *,
    timeout: float = 30.0,
    retries: int = 3,
    session: requests.Session | None = None,
) -> tuple[Database, list[Advisory]]:
    """Every advisory affecting `pins` from the OSV API at `base_url` (IndexUnavailable naming
    the URL when it cannot be reached or answers something unusable)."""
    pins = list(pins)
    from bundler.net.transport import make_session

    session = session or make_session(8)
    base = base_url.rstrip("/")
    ids: set[str] = set()
    for start in range(0, len(pins), BATCH):
        ids |= _batch_ids(session, base, pins[start : start + BATCH], timeout, retries)
    with ThreadPoolExecutor(8, thread_name_prefix="osv") as pool:
        documents = list(
            pool.map(lambda i: _get_json(session, f"{base}/v1/vulns/{i}", None, timeout, retries),
                     sorted(ids))
        )  # fmt: skip
    advisories = []
    rejected = []
    for vuln_id, document in zip(sorted(ids), documents, strict=True):
        url = f"{base}/v1/vulns/{vuln_id}"
        try:
            advisory = parse_advisory(document, url)
        except BadInput as exc:
            # the API named this id for a pinned package: never a mere note
            reason = str(exc).removeprefix(f"{url}: ")[:200]
            rejected.append(Rejected(url, reason, _loose_names(document), True))
            continue
        if advisory is not None:
            advisories.append(advisory)
    newest = max((a.modified for a in advisories), default="")
    retrieved = _now()
    database = Database("osv-api", base, newest or retrieved, retrieved, tuple(rejected))
    return database, advisories


MAX_PAGES = 100
"""Most `querybatch` rounds (pages) one fetch asks for; the API pages at 1,000 vulnerability
ids per query (https://google.github.io/osv.dev/post-v1-querybatch/), far fewer than any real
package has. A server that pages on is refused instead of followed for ever."""


def _batch_ids(
    session: requests.Session, base: str, pins: list[Pinned], timeout: float, retries: int
) -> set[str]:
    url = f"{base}/v1/querybatch"
    ids: set[str] = set()
    pending: list[tuple[Pinned, str | None]] = [(p, None) for p in pins]
    seen: set[tuple[str, str, str]] = set()
    for _round in range(MAX_PAGES + 1):
        if not pending:
            return ids
        if _round == MAX_PAGES:
            break
        queries = []
        for pin, token in pending:
            query: dict[str, Any] = {
                "package": {"name": pin.name, "ecosystem": ECOSYSTEM},
                "version": pin.version,
            }
            if token:
                query["page_token"] = token
            queries.append(query)
        answer = _get_json(session, url, {"queries": queries}, timeout, retries)
        results = answer.get("results") if isinstance(answer, dict) else None
        if not isinstance(results, list) or len(results) != len(queries):
            raise IndexUnavailable(f"{url}: answered {len(queries)} queries with no usable results")
        following: list[tuple[Pinned, str | None]] = []
        for (pin, _), result in zip(pending, results, strict=True):
            result = result if isinstance(result, dict) else {}
            for vuln in result.get("vulns") or []:
                if isinstance(vuln, dict) and isinstance(vuln.get("id"), str):
                    ids.add(vuln["id"])
            token = result.get("next_page_token")
            if isinstance(token, str) and token:
                if (pin.name, pin.version, token) in seen:
                    raise IndexUnavailable(
                        f"{url}: page token {token[:40]!r} for {pin.name} {pin.version} "
                        "came back again (the answer loops): refusing it"
                    )
                seen.add((pin.name, pin.version, token))
                following.append((pin, token))
        pending = following
    raise IndexUnavailable(
        f"{url}: still paging after {MAX_PAGES} pages of results: refusing an endless answer"
    )


def _get_json(
    session: requests.Session,
    url: str,
    body: dict[str, Any] | None,
    timeout: float,
    retries: int,
) -> Any:
    from bundler.net.transport import check_status, with_retries

    def attempt() -> Any:
        if body is None:
            response = session.get(url, timeout=timeout, stream=True)
        else:
            response = session.post(url, json=body, timeout=timeout, stream=True)
        with response:
            check_status(response, url)
            data = response.raw.read(MAX_ADVISORY * 8 + 1, decode_content=True)
        if len(data) > MAX_ADVISORY * 8:
            raise IndexUnavailable(f"{url}: answer larger than {MAX_ADVISORY * 8} bytes")
        try:
            return json.loads(data)
        except ValueError as exc:
            raise IndexUnavailable(f"{url}: answered something that is not JSON ({exc})") from None

    return with_retries(attempt, retries=retries, what=url)


# -- matching -----------------------------------------------------------------------------------


def match(pins: Iterable[Pinned], advisories: Iterable[Advisory]) -> list[tuple[Pinned, Advisory]]:
    """(pin, advisory) for every pin an advisory affects; advisories that are aliases of each
    other (a GHSA and a PYSEC for one CVE) count once per pin, the one with a severity kept."""
    advisories = list(advisories)
    out = []
    for pin in sorted(pins, key=lambda p: (_canon(p.name), p.version)):
        hits = [a for a in advisories if a.matches(pin)]
        out += [(pin, a) for a in _merge_aliases(hits)]
    return out


def _merge_aliases(hits: list[Advisory]) -> list[Advisory]:
    kept: list[Advisory] = []
    for advisory in sorted(hits, key=_preference):
        names = {advisory.id, *advisory.aliases}
        if any(names & {k.id, *k.aliases} for k in kept):
            continue
        kept.append(advisory)
    return sorted(kept, key=lambda a: a.id)


def _preference(advisory: Advisory) -> tuple[int, int, str]:
    rank = RATINGS.index(advisory.severity) if advisory.severity else -1
    return (-rank, 0 if advisory.id.startswith("GHSA-") else 1, advisory.id)


def _now() -> str:
    return (
        dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    )


def _canon(name: str) -> str:
    return str(canonicalize_name(name))
