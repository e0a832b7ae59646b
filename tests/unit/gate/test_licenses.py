"""gate/licenses.py: SPDX expressions judged with OR as a choice and AND as a conjunction."""

from __future__ import annotations

import pytest

from bundler.gate.licenses import Verdict, judge
from bundler.gate.policy import LicenseRules

RULES = LicenseRules(
    allow=("BSD-3-Clause", "MIT", "GPL-2.0-only WITH Classpath-exception-2.0"),
    deny=("GPL-3.0-only",),
)


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("Apache-2.0 OR BSD-3-Clause", Verdict.ALLOWED),  # either side allowed: allowed
        ("BSD-3-Clause OR Apache-2.0", Verdict.ALLOWED),
        ("Apache-2.0 AND BSD-3-Clause", Verdict.NOT_ALLOWED),  # both apply: Apache is not listed
        ("MIT AND BSD-3-Clause", Verdict.ALLOWED),
        ("MIT AND GPL-3.0-only", Verdict.DENIED),
        ("GPL-3.0-only OR MIT", Verdict.ALLOWED),  # the user may take MIT
        ("GPL-3.0-only OR Apache-2.0", Verdict.NOT_ALLOWED),
        ("GPL-3.0-only OR GPL-3.0-only", Verdict.DENIED),
        ("(MIT OR Apache-2.0) AND BSD-3-Clause", Verdict.ALLOWED),
        ("(MIT OR Apache-2.0) AND GPL-3.0-only", Verdict.DENIED),
        ("mit", Verdict.ALLOWED),  # ids are case-insensitive in SPDX
        ("GPL-2.0-only WITH Classpath-exception-2.0", Verdict.ALLOWED),
        ("GPL-2.0-only", Verdict.NOT_ALLOWED),
        ("BSD", Verdict.UNKNOWN),  # not an SPDX id
        ("Apache 2.0", Verdict.UNKNOWN),
        ("", Verdict.UNKNOWN),
        (None, Verdict.UNKNOWN),
    ],
)
def test_verdicts(text: str | None, verdict: Verdict) -> None:
    assert judge("pkg", "1.0", text, RULES).verdict == verdict


def test_no_allow_list_allows_everything_not_denied() -> None:
    rules = LicenseRules(deny=("GPL-3.0-only",))
    assert judge("p", "1", "Apache-2.0", rules).verdict == Verdict.ALLOWED
    assert judge("p", "1", "GPL-3.0-only", rules).verdict == Verdict.DENIED


def test_an_allowed_compound_expression_matches_an_equivalent_one() -> None:
    rules = LicenseRules(allow=("Apache-2.0 AND MIT",))
    assert judge("p", "1", "MIT AND Apache-2.0", rules).verdict == Verdict.ALLOWED
    assert judge("p", "1", "MIT", rules).verdict == Verdict.NOT_ALLOWED


def test_finding_records_the_normalised_expression() -> None:
    finding = judge("p", "1", "mit OR apache-2.0", RULES)
    assert finding.expression == "MIT OR Apache-2.0"
    assert finding.to_dict()["verdict"] == "allowed"


@pytest.mark.parametrize(
    "text",
    ["BSD, see LICENSE", "classifiers: MIT, PSF-2.0 (no license expression declared)"],
)
def test_free_text_with_a_comma_is_unknown_not_a_crash(text: str) -> None:
    """license-expression raises inside its own error handler on these (AttributeError)."""
    finding = judge("keyring", "23.4.1", text, LicenseRules(deny=("PSF-2.0",)))
    assert finding.verdict == Verdict.UNKNOWN and finding.expression is None
