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
come from the `license-expression` library (its SPDX license list).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

from license_expression import (  # no stubs: pyproject.toml's mypy override
    ExpressionError,
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
def _licensing() -> Licensing:
    return get_spdx_licensing()


def spdx_expression(text: str | None) -> str | None:
    """`text` normalised as an SPDX license expression, None when it is not one."""
    if not text or not _SPDX_CHARS.match(text.strip()):
        return None
    try:
        info = _licensing().validate(text.strip())
    except (ExpressionError, AttributeError, ValueError):  # the library can fail on odd input
        return None
    if info.errors or not info.normalized_expression:
        return None
    return str(info.normalized_expression)


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
