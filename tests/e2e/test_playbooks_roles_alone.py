"""The python_build role alone (a minimal playbook without site.yml or its group_vars).

With python_build_enabled false it only checks the given interpreter: fast, nothing built.
The refusal of an interpreter that lacks a required module must name the remedy that applies
to an interpreter used as it is (issue #18): python_build_required_modules, not
python_build_force (which only rebuilds what the role builds).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.playbookrun import PlayResult, run_playbook, write_inventory

pytestmark = pytest.mark.e2e

PYTHON = "/usr/bin/python3"  # Debian's, with ssl and zlib


def _play(tmp_path: Path, modules: list[str]) -> PlayResult:
    extra = {
        "python_build_enabled": False,
        "python_build_interpreter": PYTHON,
        "python_build_required_modules": modules,
    }
    inventory = write_inventory(tmp_path / "hosts.ini", PYTHON)
    return run_playbook(inventory, extra, tmp_path / "run", roles=["python_build"], timeout=300)


def test_python_build_alone_accepts_an_interpreter_with_the_modules(tmp_path: Path) -> None:
    result = _play(tmp_path, ["ssl", "zlib"])
    assert result.rc == 0, result.describe()
    assert result.stats()["changed"] == 0


def test_missing_module_of_a_given_interpreter_names_the_module_list(tmp_path: Path) -> None:
    result = _play(tmp_path, ["ssl", "airgap_kit_no_such_module"])
    assert result.rc != 0
    (failure,) = result.failures()
    assert f"{PYTHON} cannot import airgap_kit_no_such_module" in failure, failure
    assert "python_build is false" in failure
    assert """-e '{"python_build_required_modules": ["ssl"]}'""" in failure, failure
    assert "python_build_force" not in failure
