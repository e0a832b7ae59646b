"""License rules: an SPDX expression judged against the policy's allow and deny lists.

`OR` is a choice (the user may take either license), `AND` a conjunction (every license
applies), following the SPDX specification, Annex D "SPDX License Expressions"
(https://spdx.github.io/spdx-spec/v2.3/SPDX-license-expressions/). Expressions are parsed with
`license-expression` (the SPDX list it bundles); nothing is parsed by hand here.

    verdict("Apache-2.0 OR BSD-3-Clause", rules with allow=["BSD-3-Clause"]) -> ALLOWED
    verdict("MIT AND GPL-3.0-only", rules with deny=["GPL-3.0-only"])        -> DENIED
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from license_expression import (
    AND,
    OR,
    LicenseExpression,
    LicenseSymbol,
    LicenseWithExceptionSymbol,
)

from bundler.gate.policy import LICENSING, LicenseRules, parse_expression


class Verdict(str, Enum):
    ALLOWED = "allowed"
    DENIED = "denied"
    """At least one license that must apply is on the deny list."""
    NOT_ALLOWED = "not allowed"
    """Not denied, but no choice of licenses is covered by the allow list."""
    UNKNOWN = "unknown"
    """No license, or a text that is not an SPDX expression."""


@dataclass(frozen=True)
class LicenseFinding:
    """One package's license as the gate saw it."""

    package: str
    version: str
    text: str | None
    """The license as recorded in manifest.json (None: none)."""
    expression: str | None
    """The normalised SPDX expression, None when `text` is not one."""
    verdict: Verdict
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "version": self.version,
            "license": self.text,
            "expression": self.expression,
            "verdict": self.verdict.value,
            "detail": self.detail,
        }


def judge(package: str, version: str, text: str | None, rules: LicenseRules) -> LicenseFinding:
    """The verdict for one package's license text (an SPDX expression, ideally)."""
    if text is None or not text.strip():
        return LicenseFinding(package, version, None, None, Verdict.UNKNOWN, "no license recorded")
    try:
        expression = parse_expression(text.strip())
    except ValueError as exc:
        return LicenseFinding(
            package, version, text, None, Verdict.UNKNOWN, f"not an SPDX expression ({exc})"
        )
    verdict = verdict_of(expression, rules)
    return LicenseFinding(package, version, text, str(expression), verdict, _detail(verdict))


def verdict_of(expression: LicenseExpression, rules: LicenseRules) -> Verdict:
    """OR: allowed when any side is; denied only when every side is. AND: denied when any side
    is; allowed only when every side is. An allow entry that is itself an expression matches an
    equivalent expression (`Licensing.is_equivalent`)."""
    if any(_equivalent(expression, entry) for entry in rules.deny):
        return Verdict.DENIED
    if any(_equivalent(expression, entry) for entry in rules.allow):
        return Verdict.ALLOWED
    if isinstance(expression, OR):
        sides = [verdict_of(a, rules) for a in expression.args]
        if Verdict.ALLOWED in sides:
            return Verdict.ALLOWED
        return Verdict.DENIED if all(s == Verdict.DENIED for s in sides) else Verdict.NOT_ALLOWED
    if isinstance(expression, AND):
        sides = [verdict_of(a, rules) for a in expression.args]
        if Verdict.DENIED in sides:
            return Verdict.DENIED
        return Verdict.ALLOWED if all(s == Verdict.ALLOWED for s in sides) else Verdict.NOT_ALLOWED
    return _symbol_verdict(expression, rules)


def _symbol_verdict(symbol: LicenseExpression, rules: LicenseRules) -> Verdict:
    keys = {str(symbol)}
    if isinstance(symbol, LicenseWithExceptionSymbol):
        # an exception only grants more: the bare license's rule applies too
        keys.add(str(symbol.license_symbol))
    elif not isinstance(symbol, LicenseSymbol):  # pragma: no cover - parse gives only these
        return Verdict.UNKNOWN
    if keys & set(rules.deny):
        return Verdict.DENIED
    if not rules.allow or keys & set(rules.allow):
        return Verdict.ALLOWED
    return Verdict.NOT_ALLOWED


def _equivalent(expression: LicenseExpression, entry: str) -> bool:
    if " " not in entry:  # a bare id: the symbol rules handle it
        return False
    return bool(LICENSING.is_equivalent(expression, entry))


def _detail(verdict: Verdict) -> str:
    return {
        Verdict.ALLOWED: "allowed by the policy",
        Verdict.DENIED: "a license that must apply is denied",
        Verdict.NOT_ALLOWED: "no choice of licenses is on the allow list",
        Verdict.UNKNOWN: "unknown",
    }[verdict]
