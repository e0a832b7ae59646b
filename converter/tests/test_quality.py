"""House style for converter/: ruff lint and format, with converter/pyproject.toml's settings
(the repository's own ruff run excludes this tree, which must stay Python 3.6 code)."""

import os
import shutil
import subprocess
import sys

import pytest

from avtestlib import CONVERTER


def _ruff():
    exe = os.path.join(os.path.dirname(sys.executable), "ruff")
    if not os.path.exists(exe):
        exe = shutil.which("ruff")
    if exe is None:
        pytest.skip("needs ruff (the kit's .venv has it: pip install -e '.[dev]')")
    return exe


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]])
def test_ruff_is_clean(command):
    proc = subprocess.run(
        [_ruff()] + command + ["."],
        cwd=CONVERTER,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.returncode == 0, proc.stdout.decode()
