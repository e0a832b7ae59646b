"""A package's license as one SPDX expression where possible.

Order (PEP 639): the `License-Expression` field; else the `License` field when it is a valid
SPDX expression; else one license trove classifier that names exactly one license
(`data/licenses.json`, mapped to its SPDX id); else the `License` text as written (first line,
at most 120 characters); else the license classifiers as a list. Several license classifiers
declare no expression: PEP 639 ("Deprecate license classifiers") calls them ambiguous, so
neither a choice (OR) nor a conjunction (AND) is invented; they are recorded as
`classifiers: MIT, PSF-2.0 (no license expression declared)` (mapped ones by SPDX id, the
others by name, none dropped), a text that is not an SPDX expression, so the policy gate
(bundler/gate/licenses.py) judges it `unknown` rather than allowing either license.
SPDX parsing and normalisation ('mit' -> 'MIT', 'apache-2.0 or mit' -> 'Apache-2.0 OR MIT')
come from the `license-expression` library (its SPDX license list); SPDX custom references
(`LicenseRef-Proprietary`, `DocumentRef-X:LicenseRef-Y`, SPDX 2.3 Annex D.2) are accepted too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

from license_expression import (  # no stubs: pyproject.toml's mypy override
    ExpressionError,
    LicenseExpression,
    LicenseWithExceptionSymbol,
    Licensing,
    get_spdx_licensing,
)

from bundler.policy.tables import load_json

MAX_TEXT = 120
"""Longest License text kept as is (some projects put the whole license text there)."""
_PREFIX = "License :: "
_SPDX_CHARS = re.compile(r"^[A-Za-z0-9.+:()\- ]+$")
"""What an SPDX expression is made of (SPDX spec, annex D); anything else is free text."""


@cache
def spdx_licensing() -> Licensing:
    """The SPDX license list license-expression bundles (ids, exceptions, aliases), built once."""
    return get_spdx_licensing()


LICENSE_REF = re.compile(r"^(?:DocumentRef-[A-Za-z0-9.\-]+:)?LicenseRef-[A-Za-z0-9.\-]+$")
"""An SPDX custom license reference: `["DocumentRef-" idstring ":"] "LicenseRef-" idstring`,
idstring = 1*(ALPHA / DIGIT / "-" / "."), SPDX 2.3 Annex D.2 (e.g. `LicenseRef-Proprietary`)."""
_REF_PREFIX = re.compile(r"(?i)(?<![A-Za-z0-9.\-])(documentref-|licenseref-)")


def parse_spdx(text: str) -> LicenseExpression:
    """An SPDX license expression, validated against the SPDX list (ValueError otherwise).

    SPDX ids and exceptions come out in the list's case; `LicenseRef-...` references (also
    `DocumentRef-...:LicenseRef-...`) are accepted with their prefixes in SPDX's case and their
    idstring as written (compared case-insensitively by the gate: SPDX 2.3 Annex D.2, "License
    identifiers ... should be matched in a case-insensitive manner"); any other id the list does
    not know is refused."""
    licensing = spdx_licensing()
    text = _REF_PREFIX.sub(lambda m: _PREFIX_CASE[m[1].lower()], text)
    try:
        parsed = licensing.parse(text)
    except (ExpressionError, AttributeError, TypeError) as exc:
        # license-expression 30.x: a comma in free text ('BSD, see LICENSE') makes the parser
        # raise ExpressionError, whose handler then fails with AttributeError (found by f11)
        raise ValueError(f"not an SPDX expression ({type(exc).__name__})") from None
    if parsed is None:
        raise ValueError("empty license expression")
    unknown = [
        str(k) for k in licensing.unknown_license_keys(parsed) if not LICENSE_REF.match(str(k))
    ]
    if unknown:
        raise ValueError(f"Unknown license key(s): {', '.join(unknown)}")
    for symbol in licensing.license_symbols(parsed, decompose=False):
        if isinstance(symbol, LicenseWithExceptionSymbol):
            exception = licensing.known_symbols.get(str(symbol.exception_symbol))
            if exception is None or not exception.is_exception:
                raise ValueError(f"{symbol.exception_symbol} is not an SPDX license exception")
            known = licensing.known_symbols.get(str(symbol.license_symbol))
            if known is not None and known.is_exception:
                raise ValueError(f"{symbol.license_symbol} is an exception, not a license")
        else:
            known = licensing.known_symbols.get(str(symbol))
            if known is not None and known.is_exception:
                raise ValueError(f"{symbol} is an exception: only valid after WITH")
    return parsed


_PREFIX_CASE = {"documentref-": "DocumentRef-", "licenseref-": "LicenseRef-"}


def spdx_expression(text: str | None) -> str | None:
    """`text` normalised as an SPDX license expression, None when it is not one."""
    if not text or not _SPDX_CHARS.match(text.strip()):
        return None
    try:
        return str(parse_spdx(text.strip()))
    except ValueError:
        return None


def classifier_expression(classifiers: Sequence[str]) -> str | None:
    """The SPDX id of the one license classifier when it names one license, else None."""
    table: dict[str, str] = load_json("licenses.json")["classifiers"]
    licenses = sorted({c for c in classifiers if c.startswith(_PREFIX)})
    if len(licenses) == 1 and licenses[0] in table:
        return table[licenses[0]]
    return None


def classifier_list(classifiers: Sequence[str]) -> str | None:
    """Every license classifier, by SPDX id when mapped, else by its last part, sorted and
    unique: the name alone for one, `classifiers: A, B (no license expression declared)` for
    several (no operator invented); None when there is none."""
    table: dict[str, str] = load_json("licenses.json")["classifiers"]
    names = sorted(
        {table.get(c) or c.rsplit(" :: ", 1)[-1] for c in classifiers if c.startswith(_PREFIX)}
    )
    if len(names) <= 1:
        return names[0] if names else None
    return f"classifiers: {', '.join(names)} (no license expression declared)"


def package_license(
    expression: str | None, license_text: str | None, classifiers: Sequence[str] = ()
) -> str | None:
    """The best license string for a package's metadata fields (see the module docstring)."""
    for candidate in (
        spdx_expression(expression),
        spdx_expression(license_text),
        classifier_expression(classifiers),
    ):
        if candidate:
            return candidate
    if expression and expression.strip():
        return _first_line(expression)
    if license_text and license_text.strip() and license_text.strip() != "UNKNOWN":
        return _first_line(license_text)
    return classifier_list(classifiers)


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0].strip()
    return line if len(line) <= MAX_TEXT else line[: MAX_TEXT - 3] + "..."
