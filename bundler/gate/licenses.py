"""License rules: an SPDX expression judged against the policy's allow and deny lists.

`OR` is a choice (the user may take either license), `AND` a conjunction (every license
applies), following the SPDX specification, Annex D "SPDX License Expressions"
(https://spdx.github.io/spdx-spec/v2.3/SPDX-license-expressions/). Expressions are parsed with
`license-expression` (the SPDX list it bundles, plus `LicenseRef-` references, see
`bundler.gate.policy.parse_expression`); nothing is parsed by hand here.

The expression is read as its ways of being satisfied (`choices`: each a set of `Term`s that all
apply; `A OR B` two ways, `A AND B` one way holding both). Then:

- deny wins: a way holding a denied term is never taken; when every way holds one, the package
  is DENIED, whatever the allow list says (an allow entry `MIT AND GPL-3.0-only` does not
  override `deny = ["GPL-3.0-only"]`);
- a way is allowed when each of its terms is on the allow list (a bare license also allows it
  `WITH` an exception: an exception only grants more), or when it holds every term of one way of
  an allow entry that is an expression and the rest is allowed one by one; ALLOWED when some way
  is, else NOT_ALLOWED. An empty allow list allows every way without a denied term.
- `-or-later` (and `+`, which license-expression reads as `-or-later`) stands for each version
  of that license from the one named on, as the SPDX list license-expression bundles knows them
  (`GPL-2.0-or-later` = `GPL-2.0-only OR GPL-3.0-only`), in expressions and in allow/deny
  entries alike: `deny = ["GPL-2.0-or-later"]` denies GPL 2.0 and 3.0; `GPL-2.0-or-later` with
  GPL-3.0-only denied is still allowed under GPL-2.0-only. A version SPDX does not list yet is
  not a way (the list is the universe).
- A term `X WITH E` is denied when `X WITH E` or `X` is denied; ids compare case-insensitively
  (SPDX 2.3 Annex D.2), `LicenseRef-` references included.

    verdict("Apache-2.0 OR BSD-3-Clause", rules with allow=["BSD-3-Clause"]) -> ALLOWED
    verdict("MIT AND GPL-3.0-only", rules with deny=["GPL-3.0-only"])        -> DENIED
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import cache
from itertools import product
from typing import Any

from license_expression import (
    AND,
    OR,
    LicenseExpression,
    LicenseSymbol,
    LicenseWithExceptionSymbol,
)

from bundler.gate.policy import LICENSING, LicenseRules, parse_expression

MAX_CHOICES = 4096
"""Ways of satisfying one expression the gate enumerates; more is judged unknown (real package
expressions have a handful)."""
_VERSIONED = re.compile(
    r"^(?P<family>.+?)-(?P<version>\d+(?:\.\d+)*)(?P<variant>-(?:no-)?invariants)?"
    r"-(?P<kind>only|or-later)$"
)
"""`X-V-only` / `X-V-or-later`, and the GFDL's `X-V-invariants-...` / `X-V-no-invariants-...`
(SPDX license list 3.x: GFDL-1.3-invariants-or-later...)."""


class Verdict(str, Enum):
    ALLOWED = "allowed"
    DENIED = "denied"
    """Every way of satisfying the expression takes a license on the deny list."""
    NOT_ALLOWED = "not allowed"
    """Not denied, but no way of satisfying it is covered by the allow list."""
    UNKNOWN = "unknown"
    """No license, or a text that is not an SPDX expression."""


@dataclass(frozen=True)
class Term:
    """One license that applies: the license id and the exception (None: none), both as
    written by license-expression; compared by `key` (case-insensitive)."""

    license: str
    exception: str | None = None

    @property
    def key(self) -> tuple[str, str | None]:
        return self.license.casefold(), self.exception.casefold() if self.exception else None

    @property
    def bare(self) -> tuple[str, None]:
        return self.license.casefold(), None

    def __str__(self) -> str:
        return f"{self.license} WITH {self.exception}" if self.exception else self.license


Choice = frozenset[Term]


class TooComplex(ValueError):
    """An expression with more than MAX_CHOICES ways of being satisfied."""


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
        verdict = verdict_of(expression, rules)
    except TooComplex as exc:
        return LicenseFinding(package, version, text, None, Verdict.UNKNOWN, f"unknown ({exc})")
    except ValueError as exc:
        return LicenseFinding(
            package, version, text, None, Verdict.UNKNOWN, f"not an SPDX expression ({exc})"
        )
    return LicenseFinding(package, version, text, str(expression), verdict, _detail(verdict))


def verdict_of(expression: LicenseExpression, rules: LicenseRules) -> Verdict:
    """The verdict on a parsed expression (see the module docstring). Raises TooComplex."""
    denied = _denied_keys(rules.deny)
    allowed, combinations = _allowed(rules.allow)
    open_ways = [c for c in choices(expression) if not any(_is_denied(t, denied) for t in c)]
    if not open_ways:
        return Verdict.DENIED
    if not rules.allow:
        return Verdict.ALLOWED
    for way in open_ways:
        if _way_allowed(way, allowed, combinations):
            return Verdict.ALLOWED
    return Verdict.NOT_ALLOWED


def choices(expression: LicenseExpression) -> list[Choice]:
    """The ways of satisfying `expression`: each a set of terms that all apply (`-or-later`
    expanded to the versions SPDX lists). Raises TooComplex past MAX_CHOICES."""
    if isinstance(expression, OR):
        out: list[Choice] = []
        for arg in expression.args:
            out += choices(arg)
            _bound(len(out))
        return list(dict.fromkeys(out))
    if isinstance(expression, AND):
        ways: list[Choice] = [frozenset()]
        for arg in expression.args:
            sides = choices(arg)
            _bound(len(ways) * len(sides))
            ways = [a | b for a, b in product(ways, sides)]
        return list(dict.fromkeys(ways))
    if isinstance(expression, LicenseWithExceptionSymbol):
        exception = str(expression.exception_symbol)
        return [
            frozenset({Term(lic, exception)}) for lic in versions(str(expression.license_symbol))
        ]
    if isinstance(expression, LicenseSymbol):
        return [frozenset({Term(lic)}) for lic in versions(str(expression))]
    raise ValueError(f"unexpected expression part {expression!r}")  # pragma: no cover


def versions(license_id: str) -> tuple[str, ...]:
    """`X-V-or-later` -> each `X-W-only` of the SPDX list with W >= V; any other id itself."""
    m = _VERSIONED.match(license_id)
    if m is None or m["kind"] == "only":
        return (license_id,)
    variant = m["variant"] or ""
    known = _families().get((m["family"] + variant).casefold(), ())
    later = [
        f"{family}-{v}{variant}-only" for family, v in known if _vkey(v) >= _vkey(m["version"])
    ]
    return tuple(later) or (license_id,)


@cache
def _families() -> dict[str, tuple[tuple[str, str], ...]]:
    """License family and variant (casefolded, e.g. 'gpl', 'gfdl-invariants') -> ((family as
    spelled, version), ...) from the `-only` ids of the SPDX list license-expression bundles
    (GPL: 1.0, 2.0, 3.0; LGPL: 2.0, 2.1, 3.0; GFDL-invariants: 1.1, 1.2, 1.3...)."""
    out: dict[str, list[tuple[str, str]]] = {}
    for key in LICENSING.known_symbols:
        m = _VERSIONED.match(str(key))
        if m is not None and m["kind"] == "only":
            family = (m["family"] + (m["variant"] or "")).casefold()
            out.setdefault(family, []).append((m["family"], m["version"]))
    return {k: tuple(sorted(v, key=lambda fv: _vkey(fv[1]))) for k, v in out.items()}


def _vkey(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def _bound(count: int) -> None:
    if count > MAX_CHOICES:
        raise TooComplex(f"more than {MAX_CHOICES} ways of satisfying the expression")


def _denied_keys(entries: tuple[str, ...]) -> frozenset[tuple[str, str | None]]:
    """Every term a deny entry names (entries are single terms: bundler.gate.policy)."""
    out: set[tuple[str, str | None]] = set()
    for entry in entries:
        for way in choices(parse_expression(entry)):
            out |= {t.key for t in way}
    return frozenset(out)


def _allowed(
    entries: tuple[str, ...],
) -> tuple[frozenset[tuple[str, str | None]], tuple[frozenset[tuple[str, str | None]], ...]]:
    """(terms allowed one by one, combinations allowed together) of the allow list: an entry
    with one way of one term allows that term; any other way is a combination."""
    single: set[tuple[str, str | None]] = set()
    combos: list[frozenset[tuple[str, str | None]]] = []
    for entry in entries:
        for way in choices(parse_expression(entry)):
            keys = frozenset(t.key for t in way)
            if len(keys) == 1:
                single |= keys
            else:
                combos.append(keys)
    return frozenset(single), tuple(combos)


def _is_denied(term: Term, denied: frozenset[tuple[str, str | None]]) -> bool:
    return term.key in denied or term.bare in denied


def _way_allowed(
    way: Choice,
    allowed: frozenset[tuple[str, str | None]],
    combinations: tuple[frozenset[tuple[str, str | None]], ...],
) -> bool:
    def alone(term: Term) -> bool:
        return term.key in allowed or term.bare in allowed

    keys = {t.key for t in way} | {t.bare for t in way}
    rest = [t for t in way if not alone(t)]
    if not rest:
        return True
    return any(
        combo <= keys and all(t.key in combo or t.bare in combo for t in rest)
        for combo in combinations
    )


def _detail(verdict: Verdict) -> str:
    return {
        Verdict.ALLOWED: "allowed by the policy",
        Verdict.DENIED: "every way of satisfying it takes a denied license",
        Verdict.NOT_ALLOWED: "no way of satisfying it is on the allow list",
        Verdict.UNKNOWN: "unknown",
    }[verdict]
