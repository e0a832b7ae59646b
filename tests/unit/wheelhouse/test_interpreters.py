"""bundler.wheelhouse.interpreters: `--build-python PATH` must be the target's X.Y."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bundler.cli import main
from bundler.errors import BadInput
from bundler.wheelhouse.interpreters import check_interpreter
from tests.conftest import require_python


def test_check_interpreter_same_x_y_or_one_line_error(tmp_path: Path) -> None:
    python36 = require_python("3.6.15")
    python37 = require_python("3.7.16")
    assert check_interpreter(python36, "3.6.15") is None
    warning = check_interpreter(python36, "3.6.8")
    assert warning is not None and "is Python 3.6.15, the target is 3.6.8" in warning
    with pytest.raises(BadInput, match=r"it is Python 3\.7\.16, the target is 3\.6\.15"):
        check_interpreter(python37, "3.6.15")
    with pytest.raises(BadInput, match="not a runnable Python interpreter"):
        check_interpreter(tmp_path / "nope", "3.6.15")


def test_fetch_refuses_a_build_python_of_another_version(tmp_path: Path) -> None:
    python37 = require_python("3.7.16")
    result = CliRunner().invoke(
        main,
        ["fetch", "anything", "--python", "3.6", "--build-pure", "--build-python", str(python37),
         "--no-index", "--find-links", str(tmp_path), "-o", str(tmp_path / "wh"),
         "--cache-dir", str(tmp_path / "cache")],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("bundler: error: --build-python ")
    assert result.stderr.count("\n") == 1 and "the target is 3.6.15" in result.stderr
    assert not (tmp_path / "wh").exists()
