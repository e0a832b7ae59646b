"""Each role's README variable table, generated from its meta/argument_specs.yml.

`python -m tests.unit.playbooks.role_docs` rewrites the part of every
playbooks/roles/ROLE/README.md between the two marker lines; test_roles.py fails when a README
and its argument_specs.yml disagree.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

PLAYBOOKS = Path(__file__).resolve().parents[3] / "playbooks"
ROLES = ("kit_verify", "media_repo", "python_build", "wheels", "smoke", "repo_server")
BEGIN = "<!-- generated from meta/argument_specs.yml: begin -->"
END = "<!-- generated from meta/argument_specs.yml: end -->"


def spec(role: str) -> dict[str, Any]:
    """The role's `main` entry point of meta/argument_specs.yml."""
    data = yaml.safe_load((PLAYBOOKS / "roles" / role / "meta" / "argument_specs.yml").read_text())
    main: dict[str, Any] = data["argument_specs"]["main"]
    return main


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default(value: Any) -> str:
    shown = value if isinstance(value, str) else json.dumps(value)
    return "`" + _cell(shown.strip()) + "`" if shown.strip() else '`""`'


def table(role: str) -> str:
    """The markdown table: variable, type, default, description (with the choices)."""
    rows = ["| variable | type | default | description |", "| --- | --- | --- | --- |"]
    for name, option in spec(role)["options"].items():
        kind = option["type"] + (f" of {option['elements']}" if "elements" in option else "")
        text = option["description"]
        text = " ".join(text) if isinstance(text, list) else text
        if "choices" in option:
            text += " Choices: " + ", ".join(f"`{c}`" for c in option["choices"]) + "."
        default = _default(option.get("default", ""))
        rows.append(f"| `{name}` | {kind} | {default} | {_cell(text)} |")
    return "\n".join(rows) + "\n"


def generated_part(readme: str) -> str:
    """The text between the markers of README.md (ValueError when a marker is missing)."""
    start = readme.index(BEGIN) + len(BEGIN) + 1
    return readme[start : readme.index(END)]


def rewrite(role: str) -> None:
    path = PLAYBOOKS / "roles" / role / "README.md"
    text = path.read_text()
    head = text[: text.index(BEGIN) + len(BEGIN) + 1]
    path.write_text(head + table(role) + text[text.index(END) :])


if __name__ == "__main__":
    for name in sys.argv[1:] or ROLES:
        rewrite(name)
