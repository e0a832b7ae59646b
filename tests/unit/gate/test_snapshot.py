"""gate/snapshot.py: the carried findings written, read back, and refused when malformed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bundler.errors import BadInput
from bundler.gate import osv, policy, snapshot
from tests.fakeosv import write_export

POLICY = policy.parse(b'[vulnerabilities]\ndeny_severity = "high"\n', "p.toml")
PINS = [osv.Pinned("lib", "1.0"), osv.Pinned("tiny", "0.3"), osv.Pinned("app", "1.0")]


def test_round_trip(tmp_path: Path) -> None:
    made = snapshot.gather(POLICY, PINS, vuln_db=write_export(tmp_path / "all.zip"))
    snapshot.write(tmp_path, made)
    again = snapshot.read(tmp_path)
    assert again == made
    assert [(f.id, f.package) for f in again.findings] == [
        ("GHSA-lib1-crit-0001", "lib"), ("GHSA-tiny-medi-0002", "tiny"),
    ]  # fmt: skip
    assert snapshot.read(tmp_path / "nothing-here") is None


def test_policy_without_vulnerabilities_consults_no_database() -> None:
    made = snapshot.gather(policy.parse(b"[licenses]\n", "p"), PINS)
    assert made.database.kind == "none" and made.checked == () and made.findings == ()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(schema_version=2), "schema_version"),
        (
            lambda d: d["vulnerabilities"][0].update(severity="apocalyptic"),
            "vulnerabilities/0/severity",
        ),
        (lambda d: d["vulnerabilities"][0].pop("id"), "'id' is a required property"),
        (lambda d: d["database"].update(kind="grype"), "database/kind"),
    ],
)
def test_malformed_snapshot_is_refused(tmp_path: Path, change: object, message: str) -> None:
    made = snapshot.gather(POLICY, PINS, vuln_db=write_export(tmp_path / "all.zip"))
    doc = made.to_dict()
    change(doc)  # type: ignore[operator]
    with pytest.raises(BadInput) as exc:
        snapshot.loads(json.dumps(doc).encode(), "wheelhouse/policy-findings.json")
    assert str(exc.value).startswith("wheelhouse/policy-findings.json: ")
    assert message in str(exc.value)
