"""gate/policy.py: the TOML policy file read into typed records, or refused naming the key."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bundler.errors import BadInput
from bundler.gate import policy

FULL = b"""
[licenses]
allow = ["mit", "Apache-2.0 OR BSD-3-Clause", "GPL-2.0-only WITH Classpath-exception-2.0"]
deny = ["AGPL-3.0-only"]
unknown = "warn"

[[licenses.exception]]
package = "Some_Pkg"
reason = "legal approved"
expires = 2027-06-30

[vulnerabilities]
deny_severity = "Medium"
unknown_severity = "warn"
osv_url = "http://127.0.0.1:9/"

[[vulnerabilities.ignore]]
id = "GHSA-aaaa-bbbb-cccc"
reason = "not reachable"
expires = 2027-01-31

[size]
max_kit = "4G"
"""


def test_full_policy_is_typed_and_normalised(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_bytes(FULL)
    p = policy.load(path)
    assert p.source.startswith("policy.toml (sha256 ") and str(tmp_path) not in p.source
    assert p.licenses is not None and p.vulnerabilities is not None
    assert p.licenses.allow == (
        "MIT",
        "Apache-2.0 OR BSD-3-Clause",
        "GPL-2.0-only WITH Classpath-exception-2.0",
    )
    assert p.licenses.deny == ("AGPL-3.0-only",) and p.licenses.unknown == "warn"
    assert p.licenses.exceptions == (
        policy.Ignore("some-pkg", "legal approved", dt.date(2027, 6, 30)),
    )
    assert p.vulnerabilities.deny_severity == "medium"
    assert p.vulnerabilities.osv_url == "http://127.0.0.1:9"
    assert p.vulnerabilities.ignore[0].key == "GHSA-aaaa-bbbb-cccc"
    assert p.max_kit_bytes == 4 << 30
    # carried as JSON in the snapshot and read back: the same rules, the same source
    again = policy.from_dict(p.to_dict(), "snapshot")
    assert again.licenses == p.licenses and again.vulnerabilities == p.vulnerabilities
    assert again.source == p.source and again.max_kit_bytes == p.max_kit_bytes


def test_empty_policy_checks_nothing() -> None:
    p = policy.parse(b"", "empty.toml")
    assert p.licenses is None and p.vulnerabilities is None and p.max_kit_bytes is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"[licence]\n", "unknown key(s) licence"),
        (b"[licenses]\nallow = ['Not-A-License']\n", "'Not-A-License' is not an SPDX expression"),
        (b"[licenses]\nunknown = 'maybe'\n", "unknown: expected one of deny, warn, allow"),
        (b"[vulnerabilities]\ndeny_severity = 'severe'\n", "deny_severity: expected one of"),
        (b"[vulnerabilities]\nosv_url = 'ftp://x'\n", "osv_url: expected an http(s) URL"),
        (
            b"[[vulnerabilities.ignore]]\nid = 'X-1'\nexpires = 2027-01-01\n",
            "ignore #1 (X-1): needs a reason",
        ),
        (
            b"[[vulnerabilities.ignore]]\nid = 'X-1'\nreason = 'because'\n",
            "ignore #1 (X-1): needs expires = YYYY-MM-DD",
        ),
        (
            b"[[vulnerabilities.ignore]]\nid = 'X-1'\nreason = 'r'\nexpires = 'soon'\n",
            "needs expires = YYYY-MM-DD",
        ),
        (b"[[licenses.exception]]\nreason = 'r'\nexpires = 2027-01-01\n", "needs package ="),
        (b"[size]\nmax_kit = '4 parsecs'\n", "max_kit: cannot read size"),
        (b"this is = = not toml", "not a TOML policy file"),
    ],
)
def test_bad_policies_are_refused_naming_the_key(text: bytes, message: str) -> None:
    with pytest.raises(BadInput) as exc:
        policy.parse(text, "p.toml")
    assert message in str(exc.value) and str(exc.value).startswith("p.toml")


def test_ignore_is_accepted_on_its_expiry_day_and_not_after() -> None:
    entry = policy.Ignore("X", "r", dt.date(2027, 1, 31))
    assert not entry.expired(dt.date(2027, 1, 31))
    assert entry.expired(dt.date(2027, 2, 1))


@pytest.mark.parametrize(
    ("text", "size"), [("700M", 700 << 20), ("4GB", 4 * 10**9), ("1000", 1000), ("2KiB", 2048)]
)
def test_sizes(text: str, size: int) -> None:
    assert policy.parse_bytes(text) == size
