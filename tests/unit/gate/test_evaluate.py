"""gate/evaluate.py: the verdict on packages and a snapshot, as of a given day."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from bundler.errors import BadInput
from bundler.gate import osv, policy, snapshot
from bundler.gate.evaluate import PackageLicense, evaluate, evaluate_carried

DAY = dt.date(2027, 1, 31)
POLICY = policy.parse(
    b"""
[licenses]
allow = ["MIT", "BSD-3-Clause"]
unknown = "deny"
[[licenses.exception]]
package = "odd-license"
reason = "legal: LEGAL-7"
expires = 2027-01-31
[vulnerabilities]
deny_severity = "high"
[[vulnerabilities.ignore]]
id = "CVE-1"
reason = "parser not used"
expires = 2027-01-31
[[vulnerabilities.ignore]]
id = "CVE-unused"
reason = "left over"
expires = 2030-01-01
[size]
max_kit = 1000
""",
    "p.toml",
)
PACKAGES = [
    PackageLicense("app", "1.0", "MIT OR Apache-2.0"),
    PackageLicense("lib", "2.0", "BSD-3-Clause"),
    PackageLicense("odd-license", "1.0", "GPL-3.0-only"),
    PackageLicense("nolicense", "0.1", None),
]


def _finding(
    vuln_id: str, package: str, version: str, severity: str | None, *aliases: str
) -> snapshot.Finding:
    return snapshot.Finding(
        vuln_id, aliases, "", package, version, severity, None, None, ("<9",), ("9",), "", None
    )


def _snapshot(*findings: snapshot.Finding) -> snapshot.Snapshot:
    return snapshot.Snapshot(
        created="2027-01-01T00:00:00Z",
        policy=POLICY.to_dict(),
        database=osv.Database("osv-export", "all.zip", "2027-01-01", "2027-01-01"),
        checked=tuple(osv.Pinned(p.name, p.version) for p in PACKAGES),
        findings=findings,
    )


SNAP = _snapshot(
    _finding("GHSA-1", "lib", "2.0", "critical", "CVE-1"),
    _finding("GHSA-2", "app", "1.0", "medium"),
    _finding("GHSA-3", "app", "1.0", None),
)


def test_verdict_on_the_day_the_ignores_expire() -> None:
    result = evaluate(POLICY, PACKAGES, SNAP, DAY, kit_bytes=999)
    assert result.violations == [
        "license: nolicense 0.1: license unknown (no license recorded)",
        "vulnerability: app 1.0: GHSA-3 (severity unknown; fixed in 9)",
    ]
    assert [(v.finding.id, v.status) for v in result.vulnerabilities] == [
        ("GHSA-1", "ignored"), ("GHSA-2", "below threshold"), ("GHSA-3", "violation"),
    ]  # fmt: skip
    assert [(i.key, state) for i, state in result.ignores] == [
        ("CVE-1", "used"), ("CVE-unused", "unused"),
    ]  # fmt: skip
    assert "ignore CVE-unused matches no finding in the snapshot" in result.warnings
    assert [f.package for f in result.unknown_licenses] == ["nolicense"]


def test_an_ignore_matches_an_id_or_alias_in_any_case() -> None:
    lower = policy.parse(
        b'[[vulnerabilities.ignore]]\nid = "cve-1"\nreason = "r"\nexpires = 2030-01-01\n'
        b'[[vulnerabilities.ignore]]\nid = "ghsa-2"\nreason = "r"\nexpires = 2030-01-01\n',
        "p.toml",
    )
    result = evaluate(lower, PACKAGES, SNAP, DAY)
    statuses = {v.finding.id: v.status for v in result.vulnerabilities}
    assert statuses["GHSA-1"] == statuses["GHSA-2"] == "ignored", result.violations
    assert [state for _, state in result.ignores] == ["used", "used"]


def test_a_cvss_score_of_zero_is_below_every_threshold() -> None:
    lowest = policy.parse(b'[vulnerabilities]\ndeny_severity = "low"\n', "p.toml")
    result = evaluate(lowest, PACKAGES, _snapshot(_finding("GHSA-0", "app", "1.0", "none")), DAY)
    assert [v.status for v in result.vulnerabilities] == ["below threshold"], result.violations
    with pytest.raises(BadInput, match="deny_severity"):
        policy.parse(b'[vulnerabilities]\ndeny_severity = "none"\n', "p.toml")


def test_an_ignore_tied_to_a_package_silences_only_that_package() -> None:
    """Two advisories sharing an alias (review #15): the ignore names the package it is for."""
    tied = policy.parse(
        b'[vulnerabilities]\ndeny_severity = "high"\n[[vulnerabilities.ignore]]\n'
        b'id = "CVE-9"\npackage = "Lib"\nreason = "r"\nexpires = 2030-01-01\n',
        "p.toml",
    )
    shared = _snapshot(
        _finding("GHSA-L", "lib", "2.0", "critical", "CVE-9"),
        _finding("GHSA-A", "app", "1.0", "critical", "CVE-9"),
    )
    result = evaluate(tied, PACKAGES, shared, DAY)
    statuses = {v.finding.id: v.status for v in result.vulnerabilities}
    assert statuses == {"GHSA-L": "ignored", "GHSA-A": "violation"}, result.violations
    again = policy.from_dict(tied.to_dict(), "carried")  # carried across the gap
    assert again.vulnerabilities is not None and again.vulnerabilities.ignore[0].package == "lib"
    with pytest.raises(BadInput, match="package"):
        policy.parse(
            b'[[vulnerabilities.ignore]]\nid = "X"\npackage = 3\nreason = "r"\n'
            b"expires = 2030-01-01\n",
            "p.toml",
        )


def test_the_day_after_expiry_fails_with_the_reason() -> None:
    result = evaluate(POLICY, PACKAGES, SNAP, DAY + dt.timedelta(days=1), kit_bytes=1001)
    assert (
        "vulnerability: lib 2.0: GHSA-1 (critical; fixed in 9): its ignore expired on "
        "2027-01-31 (parser not used)"
    ) in result.violations
    assert (
        "license: odd-license 1.0: GPL-3.0-only: no way of satisfying it is on the allow list; "
        "its exception expired on 2027-01-31 (legal: LEGAL-7)"
    ) in result.violations
    assert "size: the kit is 1,001 bytes, over the budget of 1,000 bytes ([size] max_kit)" in (
        result.violations
    )


def test_unknown_severity_can_be_a_warning_and_warned_licenses_do_not_fail() -> None:
    lenient = policy.parse(
        b'[licenses]\nunknown = "warn"\n[vulnerabilities]\nunknown_severity = "warn"\n', "l"
    )
    result = evaluate(lenient, PACKAGES, SNAP, DAY)
    assert result.violations == [
        "vulnerability: lib 2.0: GHSA-1 (critical, at or above high; fixed in 9)"
    ]  # no ignore in this policy; the unknown license and severity are only warned about
    assert "vulnerability: app 1.0: GHSA-3 (severity unknown; fixed in 9)" in result.warnings
    assert "license: nolicense 0.1: license unknown (no license recorded)" in result.warnings


def test_missing_snapshot_or_unchecked_package_is_a_violation() -> None:
    assert (
        evaluate(POLICY, PACKAGES, None, DAY)
        .violations[-1]
        .startswith("vulnerabilities: the wheelhouse carries no vulnerability snapshot")
    )
    more = [*PACKAGES, PackageLicense("stowaway", "6.6", "MIT")]
    assert (
        "vulnerabilities: stowaway 6.6 was not looked up in the snapshot's database (the "
        "wheelhouse changed since fetch --policy)"
    ) in evaluate(POLICY, more, SNAP, DAY).violations


def test_carried_policy_is_used_when_none_is_given() -> None:
    manifest = {"packages": [{"name": p.name, "version": p.version, "license": p.license}
                             for p in PACKAGES]}  # fmt: skip
    carried = evaluate_carried(None, manifest, SNAP, DAY)
    assert carried is not None and carried.policy.source == POLICY.source
    assert carried.violations == evaluate(POLICY, PACKAGES, SNAP, DAY).violations
    assert evaluate_carried(None, manifest, None, DAY) is None


def test_license_expression_field_wins_over_the_license_text() -> None:
    record = {"name": "x", "version": "1", "license": "BSD License", "license_expression": "MIT"}
    assert PackageLicense.from_record(record).license == "MIT"


# -- rejected database entries and the database's age (issue #15 review) --------------------------


def _with_database(database: osv.Database) -> snapshot.Snapshot:
    return snapshot.Snapshot(SNAP.created, SNAP.policy, database, SNAP.checked, SNAP.findings)


def test_rejected_entries_are_violations_or_warnings_as_recorded() -> None:
    database = osv.Database(
        "osv-export", "all.zip", "2027-01-01", "2027-01-01",
        (osv.Rejected("A.json", "not JSON", None, True),
         osv.Rejected("B.json", "bad", ("other",), False)),
    )  # fmt: skip
    result = evaluate(POLICY, PACKAGES, _with_database(database), DAY)
    assert (
        "vulnerabilities: database entry A.json rejected (not JSON; names no readable package)"
        in result.violations
    )
    assert "vulnerabilities: database entry B.json rejected (bad; names other)" in result.warnings
    # carried across the gap and read back: the same verdict
    again = snapshot.loads(json.dumps(_with_database(database).to_dict()).encode(), "x")
    assert again.database.rejected == database.rejected


@pytest.mark.parametrize(
    ("kind", "date", "retrieved", "ok"),
    [
        ("osv-export", "2027-01-24T10:00:00Z", "2027-01-31T00:00:00Z", True),  # 7 days: ok
        ("osv-export", "2027-01-23T23:59:59Z", "2027-01-31T00:00:00Z", False),  # 8 days
        ("osv-api", "2026-01-01T00:00:00Z", "2027-01-30T00:00:00Z", True),  # live: answer time
        ("osv-api", "2027-01-30T00:00:00Z", "2027-01-20T00:00:00Z", False),
        ("osv-export", "garbage", "2027-01-31", False),
        ("osv-export", "2099-01-01T00:00:00Z", "2027-01-31T00:00:00Z", False),  # after read
    ],
)
def test_the_database_may_be_at_most_max_vuln_db_age_days_old(
    kind: str, date: str, retrieved: str, ok: bool
) -> None:
    strict = policy.parse(b"[vulnerabilities]\nmax_vuln_db_age_days = 7\n", "p.toml")
    database = osv.Database(kind, "all.zip", date, retrieved)
    result = evaluate(strict, PACKAGES, _with_database(database), DAY)
    aged = [v for v in result.violations if "max_vuln_db_age_days = 7" in v]
    assert (not aged) == ok, result.violations
    no_limit = evaluate(POLICY, PACKAGES, _with_database(database), DAY)
    assert not any("max_vuln_db_age_days" in v for v in no_limit.violations)


@pytest.mark.parametrize("bad", ["-1", '"7"', "true", "1.5"])
def test_max_vuln_db_age_days_must_be_a_day_count(bad: str) -> None:
    with pytest.raises(BadInput, match="max_vuln_db_age_days"):
        policy.parse(f"[vulnerabilities]\nmax_vuln_db_age_days = {bad}\n".encode(), "p.toml")
