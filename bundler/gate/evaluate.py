"""The gate's decision: a policy, the wheelhouse's packages and a findings snapshot, on a date.

`evaluate` is pure (no network, no clock: `today` is given), so the connected side and the far
side reach the same verdict from the same inputs, and an ignore that expired since fetch fails
on the far side. One line per violation, each naming the package and the rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from packaging.utils import canonicalize_name

from bundler.gate import licenses as license_rules
from bundler.gate import osv
from bundler.gate import policy as policy_mod
from bundler.gate.policy import SEVERITIES, Ignore, Policy
from bundler.gate.snapshot import FILENAME, Finding, Snapshot

LICENSE_FIELDS = ("license_expression", "license")
"""manifest.json package fields read for the license, first present wins."""


@dataclass(frozen=True)
class PackageLicense:
    name: str
    version: str
    license: str | None

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> PackageLicense:
        """From a manifest.json package record (see bundler/models/manifest.py)."""
        text = next((record[k] for k in LICENSE_FIELDS if record.get(k)), None)
        return cls(str(record.get("name", "?")), str(record.get("version", "?")), text)


@dataclass(frozen=True)
class VulnStatus:
    """One finding and what the policy makes of it."""

    finding: Finding
    status: str
    """'violation' | 'ignored' | 'warning' | 'below threshold'."""
    detail: str
    ignore: Ignore | None = None


@dataclass
class GateResult:
    """Everything a reviewer reads first."""

    policy: Policy
    today: dt.date
    violations: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    licenses: list[license_rules.LicenseFinding] = field(default_factory=list)
    license_exceptions: list[tuple[Ignore, str]] = field(default_factory=list)
    """(exception, 'used' | 'unused' | 'expired')."""
    vulnerabilities: list[VulnStatus] = field(default_factory=list)
    ignores: list[tuple[Ignore, str]] = field(default_factory=list)
    """(ignore entry, 'used' | 'unused' | 'expired')."""
    database: osv.Database | None = None
    kit_bytes: int | None = None

    @property
    def unknown_licenses(self) -> list[license_rules.LicenseFinding]:
        return [f for f in self.licenses if f.verdict == license_rules.Verdict.UNKNOWN]

    @property
    def ok(self) -> bool:
        return not self.violations


def evaluate(
    policy: Policy,
    packages: Iterable[PackageLicense],
    snapshot: Snapshot | None,
    today: dt.date,
    kit_bytes: int | None = None,
    measured: str = "the kit",
) -> GateResult:
    """The verdict of `policy` on `packages` and the carried `snapshot` as of `today`;
    `kit_bytes` (the size of what `measured` names: the archive, or at fetch the wheelhouse,
    a lower bound of the kit) is checked against the size budget when given."""
    packages = sorted(packages, key=lambda p: _canon(p.name))
    result = GateResult(policy, today, kit_bytes=kit_bytes)
    if policy.licenses is not None:
        _check_licenses(result, packages)
    if policy.vulnerabilities is not None:
        _check_vulnerabilities(result, packages, snapshot)
    if snapshot is not None:
        result.database = snapshot.database
    budget = policy.max_kit_bytes
    if budget is not None and kit_bytes is not None and kit_bytes > budget:
        result.violations.append(
            f"size: {measured} is {kit_bytes:,} bytes, over the budget of {budget:,} bytes "
            "([size] max_kit)"
        )
    return result


def _check_licenses(result: GateResult, packages: list[PackageLicense]) -> None:
    rules = result.policy.licenses
    assert rules is not None
    exceptions = {e.key: e for e in rules.exceptions}
    used: set[str] = set()
    for package in packages:
        finding = license_rules.judge(package.name, package.version, package.license, rules)
        result.licenses.append(finding)
        failing = finding.verdict in (
            license_rules.Verdict.DENIED,
            license_rules.Verdict.NOT_ALLOWED,
        )
        rule = rules.unknown if finding.verdict == license_rules.Verdict.UNKNOWN else None
        if not failing and rule != "deny" and rule != "warn":
            continue
        line = f"license: {package.name} {package.version}: {_license_text(finding)}"
        exception = exceptions.get(_canon(package.name))
        if exception is not None:
            used.add(exception.key)
            if not exception.expired(result.today):
                continue
            result.violations.append(
                f"{line}; its exception expired on {exception.expires} ({exception.reason})"
            )
        elif failing or rule == "deny":
            result.violations.append(line)
        else:
            result.warnings.append(line)
    for exception in rules.exceptions:
        state = _state(exception, exception.key in used, result.today)
        result.license_exceptions.append((exception, state))
        if state == "unused":
            result.warnings.append(
                f"license exception for {exception.key} matches no package in the wheelhouse"
            )


def _license_text(finding: license_rules.LicenseFinding) -> str:
    if finding.verdict == license_rules.Verdict.UNKNOWN:
        return f"license unknown ({finding.detail}{_shown(finding.text)})"
    return f"{finding.expression}: {finding.detail}"


def _shown(text: str | None) -> str:
    if not text:
        return ""
    first = text.strip().splitlines()[0]
    return f": {first[:60]!r}"


def _check_vulnerabilities(
    result: GateResult, packages: list[PackageLicense], snapshot: Snapshot | None
) -> None:
    rules = result.policy.vulnerabilities
    assert rules is not None
    if snapshot is None or snapshot.database.kind == "none":
        result.violations.append(
            "vulnerabilities: the wheelhouse carries no vulnerability snapshot "
            "(run bundler fetch --policy with --vuln-db FILE or the OSV API)"
        )
        return
    _check_database(result, snapshot.database, rules.max_vuln_db_age_days)
    checked = {(_canon(p.name), p.version) for p in snapshot.checked}
    for package in packages:
        if (_canon(package.name), package.version) not in checked:
            result.violations.append(
                f"vulnerabilities: {package.name} {package.version} was not looked up in the "
                "snapshot's database (the wheelhouse changed since fetch --policy)"
            )
    threshold = SEVERITIES.index(rules.deny_severity)
    used: set[str] = set()
    for finding in snapshot.findings:
        names = {_id_key(n) for n in finding.names}
        ignore = next(
            (
                i
                for i in rules.ignore
                if _id_key(i.key) in names and i.package in (None, _canon(finding.package))
            ),
            None,
        )
        status = _vuln_status(finding, ignore, threshold, rules.unknown_severity, result.today)
        result.vulnerabilities.append(status)
        if ignore is not None:
            used.add(ignore.key)
        line = f"vulnerability: {finding.package} {finding.version}: {finding.id} {status.detail}"
        if status.status == "violation":
            result.violations.append(line)
        elif status.status == "warning":
            result.warnings.append(line)
    for ignore in rules.ignore:
        state = _state(ignore, ignore.key in used, result.today)
        result.ignores.append((ignore, state))
        if state == "unused":
            result.warnings.append(f"ignore {ignore.key} matches no finding in the snapshot")


def _id_key(osv_id: str) -> str:
    """An OSV id or alias as compared: case-folded. The OSV schema's ids are `<DB>-<ENTRYID>`
    strings (https://ossf.github.io/osv-schema/#id-modified-fields) that databases and people
    write in either case (GitHub shows `GHSA-xxxx-xxxx-xxxx` with a lowercase suffix, NVD
    `CVE-2026-0001`; `cve-2026-0001` names the same advisory in practice)."""
    return osv_id.casefold()


def _check_database(result: GateResult, database: osv.Database, max_age: int | None) -> None:
    """Rejected entries (a violation when the entry names a pinned package or no package can be
    read from it, else a warning: `osv.Rejected`) and the database's age against
    `max_vuln_db_age_days`, counted in whole days to `result.today` (the clock of the side
    that evaluates, or its --as-of)."""
    for entry in database.rejected:
        line = f"vulnerabilities: database entry {entry.describe()}"
        (result.violations if entry.problem else result.warnings).append(line)
    if max_age is None:
        return
    current = database.current_as_of
    try:
        day = dt.date.fromisoformat(current[:10])
    except ValueError:
        result.violations.append(
            f"vulnerabilities: the database's date {current[:40]!r} cannot be read, so its "
            f"age cannot be checked against max_vuln_db_age_days = {max_age}"
        )
        return
    if current[:19] > database.retrieved[:19]:
        result.violations.append(
            f"vulnerabilities: the database's date {current[:40]} is after it was read "
            f"({database.retrieved[:40]}), so its age cannot be checked against "
            f"max_vuln_db_age_days = {max_age}"
        )
        return
    age = (result.today - day).days
    if age > max_age:
        result.violations.append(
            f"vulnerabilities: the database ({database.kind}, current as of {day}) is {age} "
            f"days old on {result.today}, over max_vuln_db_age_days = {max_age}: fetch again "
            "with a newer database"
        )


def _vuln_status(
    finding: Finding, ignore: Ignore | None, threshold: int, unknown: str, today: dt.date
) -> VulnStatus:
    severity = finding.severity or "unknown severity"
    fixed = f"; fixed in {', '.join(finding.fixed)}" if finding.fixed else "; no fixed version"
    if ignore is not None:
        if ignore.expired(today):
            return VulnStatus(
                finding,
                "violation",
                f"({severity}{fixed}): its ignore expired on {ignore.expires} ({ignore.reason})",
                ignore,
            )
        return VulnStatus(
            finding,
            "ignored",
            f"({severity}) ignored until {ignore.expires}: {ignore.reason}",
            ignore,
        )
    if finding.severity is None:
        status = "violation" if unknown == "deny" else "warning"
        return VulnStatus(finding, status, f"(severity unknown{fixed})")
    if finding.severity in SEVERITIES and SEVERITIES.index(finding.severity) >= threshold:
        return VulnStatus(
            finding,
            "violation",
            f"({finding.severity}, at or above {SEVERITIES[threshold]}{fixed})",
        )
    return VulnStatus(finding, "below threshold", f"({finding.severity}{fixed})")


def _state(entry: Ignore, used: bool, today: dt.date) -> str:
    if entry.expired(today):
        return "expired"
    return "used" if used else "unused"


def _canon(name: str) -> str:
    return str(canonicalize_name(name))


def evaluate_carried(
    policy: Policy | None,
    manifest: Mapping[str, Any],
    carried: Snapshot | None,
    today: dt.date,
    kit_bytes: int | None = None,
    measured: str = "the kit",
    targets: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> GateResult | None:
    """The verdict on a wheelhouse as carried: its manifest.json and policy-findings.json.

    With `policy` None, the policy recorded in the snapshot at fetch is used; None when there
    is neither (no gate). `targets` (a several-target wheelhouse: each target's name -> its
    manifest's package records) judges every target's packages and names them in each finding
    as `bundler fetch --policy` does (`evaluate_targets`). Raises BadInput when the carried
    policy is malformed."""
    if policy is None:
        if carried is None:
            return None
        policy = policy_mod.from_dict(carried.policy, f"the policy carried in {FILENAME}")
    if targets is not None and len(targets) > 1:
        return evaluate_targets(policy, targets, carried, today, kit_bytes, measured)
    records = manifest.get("packages") or []
    packages = [PackageLicense.from_record(r) for r in records if isinstance(r, Mapping)]
    return evaluate(policy, packages, carried, today, kit_bytes, measured)


def evaluate_targets(
    policy: Policy,
    targets: Mapping[str, Sequence[Mapping[str, Any]]],
    snapshot: Snapshot | None,
    today: dt.date,
    kit_bytes: int | None = None,
    measured: str = "the kit",
) -> GateResult:
    """The verdict on a several-target wheelhouse: `targets` maps each target's name
    ('cp36-manylinux1_x86_64') to its manifest.json package records. The policy is judged on
    the union of the packages (each name and version once) and the size of what `measured`
    names; each license or vulnerability line then names the targets whose packages it
    concerns, ' (target NAME)' or ' (targets NAME, NAME)', the wording `bundler fetch --policy`
    and `bundler verify --policy` share (#16 second review finding 11)."""
    union: dict[tuple[str, str], Mapping[str, Any]] = {}
    for rows in targets.values():
        for r in rows:
            if isinstance(r, Mapping):
                union.setdefault((_canon(str(r.get("name", "?"))), str(r.get("version"))), r)
    licenses = [PackageLicense.from_record(r) for r in union.values()]
    whole = evaluate(policy, licenses, snapshot, today, kit_bytes, measured)
    per: dict[str, GateResult] = {}
    for name, rows in targets.items():  # each target: its packages, their findings only
        records = [r for r in rows if isinstance(r, Mapping)]
        own = {(_canon(str(r.get("name", "?"))), str(r.get("version"))) for r in records}
        mine = snapshot
        if snapshot is not None:
            kept = tuple(f for f in snapshot.findings if (_canon(f.package), f.version) in own)
            mine = replace(snapshot, findings=kept)
        per[name] = evaluate(policy, [PackageLicense.from_record(r) for r in records], mine, today)

    def named(line: str, kind: str) -> str:
        """A package's finding with the targets that hold the package."""
        if not line.startswith(("license: ", "vulnerability: ")):
            return line
        holders = [n for n, one in per.items() if line in getattr(one, kind)]
        plural = "s" if len(holders) > 1 else ""
        return f"{line} (target{plural} {', '.join(holders)})" if holders else line

    whole.violations = [named(v, "violations") for v in whole.violations]
    whole.warnings = [named(w, "warnings") for w in whole.warnings]
    return whole
