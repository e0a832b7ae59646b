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


# -- deny wins; -or-later; LicenseRef (issue #15 review) ------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from bundler.errors import BadInput  # noqa: E402
from bundler.gate import policy as policy_mod  # noqa: E402

# The reference: an expression is a tree; a license term is taken when the evaluator's
# predicate holds for it; OR is any, AND all. `-or-later` is every version SPDX lists from that
# one on (GPL: 1.0, 2.0, 3.0 -- https://spdx.org/licenses/, stable since 2018).
LATER = {
    "GPL-1.0-or-later": ("GPL-1.0-only", "GPL-2.0-only", "GPL-3.0-only"),
    "GPL-2.0-or-later": ("GPL-2.0-only", "GPL-3.0-only"),
    "GPL-3.0-or-later": ("GPL-3.0-only",),
}
IDS = ["MIT", "Apache-2.0", "BSD-3-Clause", "GPL-2.0-only", "GPL-3.0-only", *LATER,
       "LicenseRef-Proprietary"]  # fmt: skip
EXCEPTION = "Classpath-exception-2.0"

Tree = tuple  # ("id", X) | ("with", X) | ("and", [..]) | ("or", [..])
leaves = st.sampled_from(IDS).map(lambda x: ("id", x)) | st.sampled_from(IDS[:6]).map(
    lambda x: ("with", x)
)
trees = st.recursive(
    leaves,
    lambda sub: st.tuples(st.sampled_from(["and", "or"]), st.lists(sub, min_size=2, max_size=3)),
    max_leaves=8,
)


def render(tree: Tree) -> str:
    kind, body = tree
    if kind == "id":
        return body
    if kind == "with":
        return f"{body} WITH {EXCEPTION}"
    return "(" + f" {kind.upper()} ".join(render(t) for t in body) + ")"


def holds(tree: Tree, takeable) -> bool:  # type: ignore[no-untyped-def]
    kind, body = tree
    if kind in ("id", "with"):
        exception = EXCEPTION if kind == "with" else None
        return any(takeable(v, exception) for v in LATER.get(body, (body,)))
    parts = [holds(t, takeable) for t in body]
    return any(parts) if kind == "or" else all(parts)


def expand(ids: list[str]) -> set[str]:
    return {v.lower() for i in ids for v in LATER.get(i, (i,))}


def reference(tree: Tree, allow: list[str], deny: list[str]) -> Verdict:
    denied, allowed = expand(deny), expand(allow)

    def free(lic: str, exception: str | None) -> bool:
        return lic.lower() not in denied

    def ok(lic: str, exception: str | None) -> bool:
        with_form = f"{lic} WITH {exception}".lower() if exception else None
        listed = not allow or lic.lower() in allowed or with_form in allowed
        return free(lic, exception) and listed

    if not holds(tree, free):
        return Verdict.DENIED
    return Verdict.ALLOWED if holds(tree, ok) else Verdict.NOT_ALLOWED


@settings(max_examples=300, deadline=None)
@given(
    trees,
    st.lists(st.sampled_from([*IDS, f"GPL-2.0-only WITH {EXCEPTION}"]), max_size=3),
    st.lists(st.sampled_from(IDS), max_size=2),
)
def test_verdict_equals_the_reference(tree: Tree, allow: list[str], deny: list[str]) -> None:
    rules = LicenseRules(allow=tuple(allow), deny=tuple(deny))
    assert judge("p", "1", render(tree), rules).verdict == reference(tree, allow, deny)


@settings(max_examples=200, deadline=None)
@given(trees, st.lists(trees, min_size=1, max_size=3), st.lists(st.sampled_from(IDS), min_size=1))
def test_deny_wins_over_any_allow_expression(
    tree: Tree, allow: list[Tree], deny: list[str]
) -> None:
    """Whatever the allow list holds (expressions included), a package whose every way of
    being satisfied takes a denied license is denied."""
    rules = LicenseRules(allow=tuple(render(a) for a in allow), deny=tuple(deny))
    verdict = judge("p", "1", render(tree), rules).verdict
    if reference(tree, [], deny) == Verdict.DENIED:
        assert verdict == Verdict.DENIED
    else:
        assert verdict != Verdict.DENIED


def test_an_allow_expression_does_not_override_a_deny() -> None:
    """The review's case: allow=["MIT AND GPL-3.0-only"], deny=["GPL-3.0-only"]."""
    rules = LicenseRules(allow=("MIT AND GPL-3.0-only",), deny=("GPL-3.0-only",))
    assert judge("p", "1", "MIT AND GPL-3.0-only", rules).verdict == Verdict.DENIED
    assert judge("p", "1", "MIT AND GPL-2.0-only", rules).verdict == Verdict.NOT_ALLOWED


@pytest.mark.parametrize(
    ("text", "deny", "verdict"),
    [
        ("GPL-2.0-or-later", "GPL-3.0-only", Verdict.ALLOWED),  # GPL-2.0-only may be taken
        ("GPL-2.0+", "GPL-3.0-only", Verdict.ALLOWED),
        ("GPL-3.0-or-later", "GPL-3.0-only", Verdict.DENIED),  # no later GPL exists
        ("GPL-3.0-only", "GPL-2.0-or-later", Verdict.DENIED),  # the deny covers 2.0 and 3.0
        ("GPL-2.0-only WITH Classpath-exception-2.0", "GPL-2.0-only", Verdict.DENIED),
        ("GPL-2.0-only", "GPL-2.0-only WITH Classpath-exception-2.0", Verdict.ALLOWED),
        ("LGPL-2.1-or-later", "LGPL-2.1-only", Verdict.ALLOWED),  # LGPL-3.0-only remains
    ],
)
def test_or_later_forms(text: str, deny: str, verdict: Verdict) -> None:
    assert judge("p", "1", text, LicenseRules(deny=(deny,))).verdict == verdict


def test_license_refs_are_accepted_and_compared_without_case() -> None:
    """SPDX 2.3 Annex D.2: `LicenseRef-` idstring; ids match case-insensitively."""
    rules = policy_mod.parse(
        b'[licenses]\nallow = ["MIT", "licenseref-Proprietary"]\n'
        b'deny = ["DocumentRef-legal:LicenseRef-Banned"]\n',
        "policy.toml",
    ).licenses
    assert rules is not None
    assert rules.allow == ("MIT", "LicenseRef-Proprietary")
    assert rules.deny == ("DocumentRef-legal:LicenseRef-Banned",)
    found = judge("p", "1", "LicenseRef-PROPRIETARY AND mit", rules)
    assert found.verdict == Verdict.ALLOWED and found.expression == "LicenseRef-PROPRIETARY AND MIT"
    banned = "MIT AND documentref-legal:licenseref-banned"
    assert judge("p", "1", banned, rules).verdict == Verdict.DENIED
    assert judge("p", "1", "LicenseRef-Other", rules).verdict == Verdict.NOT_ALLOWED


@pytest.mark.parametrize("bad", ["LicenseRef-", "LicenseRef-a b", "LicenseRef-x_y", "Proprietary"])
def test_malformed_license_refs_are_refused(bad: str) -> None:
    with pytest.raises(BadInput, match="is not an SPDX expression"):
        policy_mod.parse(f'[licenses]\nallow = ["{bad}"]\n'.encode(), "policy.toml")


def test_a_deny_entry_must_be_one_license() -> None:
    with pytest.raises(BadInput, match="deny lists license ids"):
        policy_mod.parse(b'[licenses]\ndeny = ["MIT AND GPL-3.0-only"]\n', "policy.toml")


def test_an_expression_with_too_many_ways_is_unknown_not_a_hang() -> None:
    text = " AND ".join(f"(MIT OR Apache-2.0 OR BSD-{n}-Clause)" for n in (2, 3) for _ in range(7))
    finding = judge("p", "1", text, LicenseRules(deny=("GPL-3.0-only",)))
    assert finding.verdict == Verdict.UNKNOWN and "more than 4096 ways" in finding.detail


def test_gfdl_invariants_or_later_is_expanded_like_any_or_later() -> None:
    """SPDX's GFDL-1.2-invariants-or-later covers GFDL-1.3-invariants-only (review #15)."""
    rules = LicenseRules(deny=("GFDL-1.2-invariants-or-later",))
    assert judge("p", "1", "GFDL-1.3-invariants-only", rules).verdict == Verdict.DENIED
    assert judge("p", "1", "GFDL-1.3-no-invariants-only", rules).verdict == Verdict.ALLOWED
    no_inv = LicenseRules(deny=("GFDL-1.3-no-invariants-only",))
    assert judge("p", "1", "GFDL-1.2-no-invariants-or-later", no_inv).verdict == Verdict.ALLOWED
    assert judge("p", "1", "GFDL-1.3-no-invariants-or-later", no_inv).verdict == Verdict.DENIED
