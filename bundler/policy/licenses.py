"""A package's license as one SPDX expression where possible.

Order (PEP 639): the `License-Expression` field; else the `License` field when it is a valid
SPDX expression; else the license trove classifiers that name exactly one license
(`data/licenses.json`, each mapped to its SPDX id; several are joined with OR, as setuptools
documents several license classifiers to mean a choice); else the `License` text as written
(first line, at most 120 characters); else the names of the remaining license classifiers.
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
    """The SPDX ids of the license classifiers that name one license, joined with OR."""
    table: dict[str, str] = load_json("licenses.json")["classifiers"]
    ids = sorted({table[c] for c in classifiers if c in table})
    return " OR ".join(ids) if ids else None


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
    names = sorted(c.rsplit(" :: ", 1)[-1] for c in classifiers if c.startswith(_PREFIX))
    return " OR ".join(names) if names else None


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0].strip()
    return line if len(line) <= MAX_TEXT else line[: MAX_TEXT - 3] + "..."
