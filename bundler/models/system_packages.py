"""system-packages.yml as kit readers see it: schema-checked, then typed.

`bundler audit` writes the document (bundler/audit/report.py, docs/DESIGN.md); inside a kit it
is untrusted input. `parse` checks the fields the readers use against
`bundler/data/system-packages.schema.json` and returns a `SystemPackages`; anything else is
one BadInput line naming the first offending field. Other keys are allowed and not read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import yaml

from bundler.errors import BadInput
from bundler.models.manifest import describe_error
from bundler.models.schema import Draft202012Validator, best_match
from bundler.policy.tables import load_json

FILENAME = "system-packages.yml"
SCHEMA_FILE = "system-packages.schema.json"
MAX_BYTES = 16 << 20


@dataclass(frozen=True)
class WheelNeeds:
    """One wheel's row: soname -> package (None: unmapped), and why it cannot load."""

    needs: Mapping[str, str | None]
    problems: tuple[str, ...]


@dataclass(frozen=True)
class SystemPackages:
    """The audit's answer for one distro profile (empty when there is no document)."""

    distro: str | None = None
    packages: tuple[str, ...] = ()
    unmapped: tuple[str, ...] = ()
    by_family: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    wheels: Mapping[str, WheelNeeds] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.distro is not None or bool(self.packages or self.wheels)


def loads(raw: bytes, where: str = FILENAME) -> SystemPackages:
    """YAML bytes -> SystemPackages; BadInput naming `where` for anything unusable."""
    if len(raw) > MAX_BYTES:
        raise BadInput(f"{where}: larger than {MAX_BYTES} bytes")
    try:
        doc = yaml.safe_load(raw)
    except (yaml.YAMLError, RecursionError, UnicodeDecodeError, ValueError) as exc:
        text = str(exc).replace("\n", " ")[:200]
        raise BadInput(f"{where}: unreadable ({text})") from None
    return parse(doc, where)


def parse(doc: object, where: str = FILENAME) -> SystemPackages:
    """A decoded document -> SystemPackages (None: no document, an empty one)."""
    if doc is None:
        return SystemPackages()
    errors = list(_validator().iter_errors(doc))
    if errors:
        raise BadInput(f"{where}: {describe_error(best_match(errors))}")
    assert isinstance(doc, dict)
    checked: dict[str, Any] = doc
    wheels = {
        str(name): WheelNeeds(dict(row.get("needs") or {}), tuple(row.get("problems") or ()))
        for name, row in (checked.get("wheels") or {}).items()
    }
    return SystemPackages(
        distro=checked.get("distro"),
        packages=tuple(checked.get("system_packages") or ()),
        unmapped=tuple(checked.get("unmapped") or ()),
        by_family={
            str(k): tuple(v) for k, v in (checked.get("system_packages_by_family") or {}).items()
        },
        wheels=wheels,
    )


@cache
def _validator() -> Draft202012Validator:
    """The validator of SCHEMA_FILE. The schema is the kit's own file, checked against the
    2020-12 meta-schema by tests/unit/models/test_schema.py, not at every run (15 ms a schema)."""
    return Draft202012Validator(load_json(SCHEMA_FILE))
