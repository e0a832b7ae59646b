"""`bundler target`, and the CLI's error contract: one line on stderr, exit 2."""

from __future__ import annotations

import json

from click.testing import CliRunner

from bundler.cli import main


def test_target_json_lists_tags_best_first() -> None:
    result = CliRunner().invoke(main, ["target", "--python", "3.6", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["python_version"] == "3.6.15"
    assert data["tags"][0] == "cp36-cp36m-manylinux_2_5_x86_64"


def test_target_marks_tags_the_bundled_pip_cannot_read() -> None:
    result = CliRunner().invoke(main, ["target", "--python", "3.6", "--platform", "manylinux2014"])
    assert result.exit_code == 0
    assert "cp36-cp36m-manylinux2014_x86_64   (needs pip newer than 18.1)" in result.stdout
    assert "3.6 means 3.6.15" in result.stderr


def test_bad_target_is_one_line_exit_2() -> None:
    result = CliRunner().invoke(main, ["target", "--python", "3.5"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("bundler: error: unsupported Python version '3.5'")
    assert "Traceback" not in result.output


def test_an_abi_of_another_version_is_refused_by_the_cli() -> None:
    for argv in (["--abi", "cp99"], ["--python", "3.6", "--abi", "cp311"]):
        result = CliRunner().invoke(main, ["target", *argv])
        assert result.exit_code == 2, result.output
        assert "does not belong to CPython 3.6" in result.stderr


def test_an_absurd_manylinux_level_is_refused_by_the_cli() -> None:
    result = CliRunner().invoke(main, ["target", "--platform", "manylinux_2_99999999999999999999"])
    assert result.exit_code == 2
    assert "above any plausible glibc" in result.stderr
