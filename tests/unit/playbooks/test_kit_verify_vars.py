"""kit_verify's fixed settings: role vars (not inputs), the operator list of bundler verify.

Role vars outrank inventory and play group_vars (Ansible 2.16 variable precedence,
docs.ansible.com/ansible/2.16/playbook_guide/playbooks_variables.html): what is checked and
with which tool cannot be changed by a file in group_vars, only by -e.
"""

from __future__ import annotations

from typing import Any

import yaml

from bundler.kit import layout
from tests.unit.playbooks import role_docs

ROLE = role_docs.PLAYBOOKS / "roles" / "kit_verify"
FIXED = (
    "kit_verify_gpg",
    "kit_verify_gpgconf",
    "kit_verify_minisign",
    "kit_verify_sha256sum",
    "kit_verify_operator_files",
    "kit_verify_operator_dirs",
    "kit_verify_sums_files",
    "kit_verify_unlisted_allowed",
)


def _load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((ROLE / name / "main.yml").read_text())
    assert isinstance(data, dict)
    return data


def test_tool_paths_and_what_is_checked_are_role_vars_not_defaults() -> None:
    defaults, role_vars = _load("defaults"), _load("vars")
    for name in FIXED:
        assert name in role_vars, name
        assert name not in defaults, f"{name} in defaults/ can be overridden by group_vars"
    assert "kit_verify_read_dirs" not in defaults | role_vars  # every file is checked now


def test_the_operator_files_are_bundler_verifys() -> None:
    role_vars = _load("vars")
    assert tuple(role_vars["kit_verify_operator_files"]) == layout.OPERATOR_FILES
    assert tuple(role_vars["kit_verify_operator_dirs"]) == layout.OPERATOR_DIRS
