"""bundler.models.schema: jsonschema without paying for `rfc3987_syntax` until a format needs it,
with the same format checks (benchmarks/PROFILE.md, phase 3)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]

SAMPLES = [
    "http://example.com/a",
    "http://example.com/é",
    "http://a b",
    "relative/path",
    "//host/x?q#f",
    "ht!tp://x",
    "",
    "urn:isbn:0451450523",
]
"""Strings checked as `iri` and `iri-reference`: valid and invalid ones."""

PROBE = r"""
import json, sys
first = sys.argv[1]
if first == "real":
    import rfc3987_syntax  # the real module before jsonschema: no stand-in is entered
    from jsonschema import FormatChecker
else:
    from bundler.models.schema import jsonschema
    FormatChecker = jsonschema.FormatChecker
before = sorted(m for m in ("lark", "rfc3987_syntax.syntax_helpers") if m in sys.modules)
checker = FormatChecker()
formats = ("iri", "iri-reference")
results = {
    f: [checker.conforms(s, f) if f in checker.checkers else None for s in json.loads(sys.argv[2])]
    for f in formats
}
print(json.dumps({"loaded_before_check": before, "results": results,
                  "registered": [f for f in formats if f in checker.checkers]}))
"""


def _probe(first: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, first, json.dumps(SAMPLES)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(out.stdout)
    return result


def test_rfc3987_syntax_loads_only_when_a_format_needs_it_and_checks_the_same() -> None:
    real, deferred = _probe("real"), _probe("deferred")
    assert real["registered"] == ["iri", "iri-reference"]  # setup installs rfc3987_syntax
    assert deferred["loaded_before_check"] == []  # its ~35 Lark parsers were not built
    assert deferred["registered"] == real["registered"]
    assert deferred["results"] == real["results"]
    assert False in real["results"]["iri"] and True in real["results"]["iri"]  # type: ignore[index]


def test_every_jsonschema_import_of_the_kit_goes_through_bundler_models_schema() -> None:
    direct = []
    for path in sorted((REPO / "bundler").rglob("*.py")):
        if path.name == "schema.py" and path.parent.name == "models":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            if any(n == "jsonschema" or n.startswith("jsonschema.") for n in names):
                direct.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert direct == []


def test_every_schema_the_kit_ships_is_a_valid_2020_12_schema() -> None:
    """The validators (`_validator()` of manifest, system_packages, delta) take the kit's own
    schema files as they are (#17 phase 5: `check_schema` cost 15 ms a schema at every run);
    this keeps each file a valid Draft 2020-12 schema, and each validator using one."""
    from bundler.models import delta, manifest, system_packages
    from bundler.models.schema import Draft202012Validator
    from bundler.policy.tables import load_json

    data = Path(__file__).resolve().parents[3] / "bundler" / "data"
    files = sorted(p.name for p in data.glob("*.schema.json"))
    used = sorted(m.SCHEMA_FILE for m in (delta, manifest, system_packages))
    assert files == used, (files, used)
    for name in files:
        Draft202012Validator.check_schema(load_json(name))
    for module in (delta, manifest, system_packages):
        assert module._validator().schema == load_json(module.SCHEMA_FILE)
