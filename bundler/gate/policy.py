"""The policy file (`--policy FILE`, TOML): typed, validated, with its own sha256 as its source.

    [licenses]
    allow = ["MIT", "BSD-3-Clause", "Apache-2.0", "GPL-2.0-only WITH Classpath-exception-2.0"]
    deny = ["AGPL-3.0-only", "GPL-3.0-or-later"]
    unknown = "deny"                  # a package with no (readable) license: deny | warn | allow

    [[licenses.exception]]            # a package accepted whatever its license, until `expires`
    package = "somepkg"
    reason = "legal approved ticket LEGAL-123"
    expires = 2027-06-30

    [vulnerabilities]
    deny_severity = "high"            # a finding at or above fails: low | medium | high | critical
    unknown_severity = "deny"         # a finding with no severity in the database: deny | warn
    osv_url = "https://api.osv.dev"   # the OSV API base URL (POST /v1/querybatch)
    max_vuln_db_age_days = 7          # fail when the database is older than this on the day
                                      # the gate runs (the far side's clock, or --as-of);
                                      # the age of an export is its newest advisory's

    [[vulnerabilities.ignore]]        # an accepted finding: OSV id or any alias (any case),
    id = "GHSA-xxxx-xxxx-xxxx"        # until `expires`
    package = "lib"                   # optional: for this package only
    reason = "the vulnerable parser is never called by the payload"
    expires = 2027-01-31

    [size]
    max_kit = "4G"                    # the kit archive (bytes, or 700M, 4G, 4GB...)

Every table is optional; an absent table checks nothing. Unknown keys, unknown SPDX ids,
ignore entries without a reason or an expiry date are refused (`BadInput`, exit 2). License ids
and expressions are SPDX (https://spdx.org/licenses/, parsed with `license-expression`);
severities are the CVSS v3/v4 qualitative ratings (FIRST, CVSS v3.1 specification section 5:
low 0.1-3.9, medium 4.0-6.9, high 7.0-8.9, critical 9.0-10.0).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from license_expression import AND, OR, LicenseExpression
from packaging.utils import canonicalize_name

from bundler.errors import BadInput
from bundler.policy.licenses import parse_spdx, spdx_licensing

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SEVERITIES = ("low", "medium", "high", "critical")
"""CVSS qualitative ratings, lowest first (FIRST CVSS v3.1 specification, section 5)."""
RATINGS = ("none", *SEVERITIES)
"""A finding's possible ratings: 'none' (base score 0.0, same section) is below every
threshold, so it is not a policy's deny_severity."""
RULES = ("deny", "warn", "allow")
DEFAULT_OSV_URL = "https://api.osv.dev"
_SIZE = re.compile(r"^\s*(\d+)\s*([KMGT]?)(i?B?)\s*$", re.IGNORECASE)
LICENSING = spdx_licensing()
"""The SPDX license list as bundled by license-expression (ids, exceptions, aliases)."""


@dataclass(frozen=True)
class Ignore:
    """An accepted finding: a vulnerability id (or alias), or a package's license."""

    key: str
    """The OSV id or alias (vulnerabilities), or the canonical package name (licenses)."""
    reason: str
    expires: dt.date
    package: str | None = None
    """A vulnerability ignore's optional `package` (canonical name): it then silences the id
    for that package only, not for another package whose advisory lists the same alias."""

    def expired(self, today: dt.date) -> bool:
        """True from the day after `expires` on (the expiry day itself is still accepted)."""
        return today > self.expires

    def to_dict(self) -> dict[str, str]:
        out = {"key": self.key, "reason": self.reason, "expires": self.expires.isoformat()}
        return out | ({"package": self.package} if self.package else {})


@dataclass(frozen=True)
class LicenseRules:
    allow: tuple[str, ...] = ()
    """SPDX ids or expressions; empty: every license not denied is allowed."""
    deny: tuple[str, ...] = ()
    unknown: str = "deny"
    exceptions: tuple[Ignore, ...] = ()


@dataclass(frozen=True)
class VulnerabilityRules:
    deny_severity: str = "high"
    unknown_severity: str = "deny"
    osv_url: str = DEFAULT_OSV_URL
    ignore: tuple[Ignore, ...] = ()
    max_vuln_db_age_days: int | None = None
    """The oldest the database may be, in days, on the day the gate runs (None: no limit)."""


@dataclass(frozen=True)
class Policy:
    """One policy file, validated. `None` sections check nothing."""

    source: str
    """Where it came from: 'FILE (sha256 ...)'."""
    sha256: str
    licenses: LicenseRules | None = None
    vulnerabilities: VulnerabilityRules | None = None
    max_kit_bytes: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)
    """The TOML document as read (dates as ISO strings), carried in the findings snapshot."""

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "sha256": self.sha256, "document": self.raw}


def load(path: Path) -> Policy:
    """Read and validate the policy file at `path` (BadInput naming the file and the key)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"--policy {path}: cannot read ({exc.strerror})") from None
    return parse(data, str(path))


def parse(data: bytes, where: str) -> Policy:
    """The Policy in TOML bytes `data` (`where` names it in errors)."""
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BadInput(f"{where}: not a TOML policy file ({exc})") from None
    sha = hashlib.sha256(data).hexdigest()
    name = Path(where).name  # the source carried in the kit names no host directory
    return build(doc, where, f"{name} (sha256 {sha[:16]})", sha)


def from_dict(carried: Any, where: str) -> Policy:
    """A policy carried as JSON (the snapshot's `policy`: source, sha256, document), validated
    again; it keeps the source and sha256 of the file it was first read from."""
    if not isinstance(carried, dict) or not isinstance(carried.get("document"), dict):
        raise BadInput(f"{where}: no policy document")
    return build(
        carried["document"], where, str(carried.get("source", where)), str(carried.get("sha256"))
    )


def build(doc: dict[str, Any], where: str, source: str, sha256: str) -> Policy:
    """The Policy of a parsed document (TOML tables, or the same as JSON with ISO dates)."""
    _only(doc, {"licenses", "vulnerabilities", "size"}, where)
    return Policy(
        source=source,
        sha256=sha256,
        licenses=_licenses(doc["licenses"], f"{where}: [licenses]") if "licenses" in doc else None,
        vulnerabilities=(
            _vulnerabilities(doc["vulnerabilities"], f"{where}: [vulnerabilities]")
            if "vulnerabilities" in doc
            else None
        ),
        max_kit_bytes=_size_table(doc["size"], f"{where}: [size]") if "size" in doc else None,
        raw=_jsonable(doc),
    )


def parse_bytes(text: str) -> int:
    """'700M', '4G', '4GB', '1000000' -> bytes (K, M, G, T, KiB... are 1024-based; KB... 1000).

    Raises ValueError on anything else."""
    m = _SIZE.match(text)
    if not m:
        raise ValueError(f"cannot read size {text!r}: expected e.g. 700M, 4G, 4GB or a byte count")
    number, unit, rest = int(m[1]), m[2].upper(), m[3]
    base = 1000 if rest.upper() == "B" and unit else 1024
    power = " KMGT".index(unit) if unit else 0
    return int(number * base**power)


def parse_expression(text: str) -> LicenseExpression:
    """An SPDX license expression, validated against the SPDX list, `LicenseRef-` references
    accepted (ValueError otherwise): `bundler.policy.licenses.parse_spdx`."""
    return parse_spdx(text)


# -- sections ------------------------------------------------------------------------------------


def _licenses(table: Any, where: str) -> LicenseRules:
    _only(table, {"allow", "deny", "unknown", "exception"}, where)
    return LicenseRules(
        allow=_spdx_list(table.get("allow", []), f"{where} allow"),
        deny=_spdx_list(table.get("deny", []), f"{where} deny", terms_only=True),
        unknown=_choice(table.get("unknown", "deny"), RULES, f"{where} unknown"),
        exceptions=_exceptions(table.get("exception", []), "package", f"{where} exception"),
    )


def _vulnerabilities(table: Any, where: str) -> VulnerabilityRules:
    _only(
        table,
        {"deny_severity", "unknown_severity", "osv_url", "ignore", "max_vuln_db_age_days"},
        where,
    )
    age = table.get("max_vuln_db_age_days")
    if age is not None and (not isinstance(age, int) or isinstance(age, bool) or age < 0):
        raise BadInput(f"{where} max_vuln_db_age_days: expected a number of days, got {age!r}")
    url = table.get("osv_url", DEFAULT_OSV_URL)
    if not isinstance(url, str) or not re.match(r"^https?://[^\s/]+", url):
        raise BadInput(f"{where} osv_url: expected an http(s) URL, got {url!r}")
    return VulnerabilityRules(
        deny_severity=_choice(
            table.get("deny_severity", "high"), SEVERITIES, f"{where} deny_severity"
        ),
        unknown_severity=_choice(
            table.get("unknown_severity", "deny"), ("deny", "warn"), f"{where} unknown_severity"
        ),
        osv_url=url.rstrip("/"),
        ignore=_exceptions(table.get("ignore", []), "id", f"{where} ignore"),
        max_vuln_db_age_days=age,
    )


def _size_table(table: Any, where: str) -> int | None:
    _only(table, {"max_kit"}, where)
    value = table.get("max_kit")
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str):
        try:
            return parse_bytes(value)
        except ValueError as exc:
            raise BadInput(f"{where} max_kit: {exc}") from None
    raise BadInput(f"{where} max_kit: expected a byte count or a size like '4G', got {value!r}")


def _exceptions(entries: Any, key: str, where: str) -> tuple[Ignore, ...]:
    if not isinstance(entries, list):
        raise BadInput(f"{where}: expected an array of tables ([[...]])")
    out = []
    for n, entry in enumerate(entries, 1):
        here = f"{where} #{n}"
        if not isinstance(entry, dict):
            raise BadInput(f"{here}: expected a table")
        _only(entry, {key, "reason", "expires", *(("package",) if key == "id" else ())}, here)
        package = entry.get("package") if key == "id" else None
        if package is not None and (not isinstance(package, str) or not package.strip()):
            raise BadInput(f'{here}: package = "..." names the package the ignore is for')
        value, reason = entry.get(key), entry.get("reason")
        if not isinstance(value, str) or not value.strip():
            raise BadInput(f'{here}: needs {key} = "..."')
        if not isinstance(reason, str) or not reason.strip():
            raise BadInput(f'{here} ({value}): needs a reason = "..." (why it is accepted)')
        expires = entry.get("expires")
        if isinstance(expires, str):
            try:
                expires = dt.date.fromisoformat(expires)
            except ValueError:
                expires = None
        if isinstance(expires, dt.datetime):
            expires = expires.date()
        if not isinstance(expires, dt.date):
            raise BadInput(f"{here} ({value}): needs expires = YYYY-MM-DD (a date)")
        normal = _canon(value) if key == "package" else value.strip()
        out.append(Ignore(normal, reason.strip(), expires, _canon(package) if package else None))
    return tuple(out)


def _spdx_list(values: Any, where: str, terms_only: bool = False) -> tuple[str, ...]:
    """Normalised SPDX expressions; with `terms_only` (deny), each must be one license (a `WITH`
    or `-or-later` form or a `LicenseRef-` included): a denied `A AND B` or `A OR B` has no
    meaning the gate could apply without guessing, so it is refused, naming the entry."""
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise BadInput(f"{where}: expected an array of SPDX ids or expressions")
    out = []
    for value in values:
        try:
            parsed = parse_expression(value)
        except ValueError as exc:
            raise BadInput(f"{where}: {value!r} is not an SPDX expression ({exc})") from None
        if terms_only and isinstance(parsed, AND | OR):
            raise BadInput(
                f"{where}: {value!r} is an expression: deny lists license ids "
                "(deny each one that must not be used)"
            )
        out.append(str(parsed))
    return tuple(out)


def _choice(value: Any, allowed: tuple[str, ...], where: str) -> str:
    if not isinstance(value, str) or value.lower() not in allowed:
        raise BadInput(f"{where}: expected one of {', '.join(allowed)}, got {value!r}")
    return value.lower()


def _only(table: Any, keys: set[str], where: str) -> None:
    if not isinstance(table, dict):
        raise BadInput(f"{where}: expected a table")
    unknown = sorted(set(table) - keys)
    if unknown:
        raise BadInput(
            f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(keys))})"
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    return value


def _canon(name: str) -> str:
    return str(canonicalize_name(name.strip()))
