"""Each role's typed inputs (meta/argument_specs.yml) against its defaults and its README.

Ansible validates a role's variables against meta/argument_specs.yml before the role runs; the
README's variable table is generated from it (tests/unit/playbooks/role_docs.py). These tests
fail when the three disagree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.playbooks import role_docs

ROLES = role_docs.ROLES
TYPES = {"str", "path", "bool", "int", "list", "dict", "raw", "float"}


def _defaults(role: str) -> dict[str, Any]:
    path = role_docs.PLAYBOOKS / "roles" / role / "defaults" / "main.yml"
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("role", ROLES)
def test_argument_specs_type_and_describe_every_default(role: str) -> None:
    options = role_docs.spec(role)["options"]
    defaults = _defaults(role)
    assert list(options) == list(defaults), "same names, same order as defaults/main.yml"
    for name, option in options.items():
        assert option["type"] in TYPES, name
        assert option["default"] == defaults[name], f"{role}: {name}'s documented default"
        assert len(option["description"]) > 10, name
        if option["type"] == "list":
            assert "elements" in option, name


@pytest.mark.parametrize("role", ROLES)
def test_readme_table_is_generated_from_the_argument_specs(role: str) -> None:
    readme = (role_docs.PLAYBOOKS / "roles" / role / "README.md").read_text()
    assert role_docs.generated_part(readme) == role_docs.table(role), (
        f"roles/{role}/README.md is out of date: python -m tests.unit.playbooks.role_docs"
    )


def test_table_renders_types_choices_and_defaults() -> None:
    table = role_docs.table("media_repo")
    assert "| `media_repo_mode` | str | `mount` |" in table
    assert "Choices: `mount`, `extract`, `http`, `none`." in table
    assert '| `media_repo_extract_tools` | list of str | `["xorriso", "bsdtar", "7z"]` |' in table


@pytest.mark.parametrize("role", ROLES)
def test_choices_in_the_spec_hold_the_default(role: str) -> None:
    for name, option in role_docs.spec(role)["options"].items():
        if "choices" in option:
            assert option["default"] in option["choices"], name


def test_os_vars_fall_back_by_first_found() -> None:
    """python_build loads DISTRIBUTION-MAJOR, OS_FAMILY-MAJOR, OS_FAMILY, then default.yml."""
    tasks = yaml.safe_load(
        (role_docs.PLAYBOOKS / "roles" / "python_build" / "tasks" / "main.yml").read_text()
    )
    files = tasks[0]["vars"]["python_build_vars_files"]["files"]
    assert files[-1] == "default.yml" and files[-2] == "{{ ansible_os_family }}.yml"
    vars_dir = Path(role_docs.PLAYBOOKS / "roles" / "python_build" / "vars")
    default = yaml.safe_load((vars_dir / "default.yml").read_text())
    for family in ("RedHat", "Debian"):
        assert set(yaml.safe_load((vars_dir / f"{family}.yml").read_text())) == set(default)
