"""The converter's own test suite, run again on the real target interpreter, CPython 3.6.15.

Runs `.venv36/bin/python -m pytest converter/tests` (made by scripts/setup.d/30-converter.sh
with the numpy/opencv-python releases pip 18.1 installs on the target). The inner run ignores
this file (no recursion), test_packaging.py (it needs a modern pip to build the wheel) and
test_quality.py (ruff lives in the kit's venv).
"""

import os
import re
import subprocess
import sys

import pytest

from avtestlib import REPO, VENV36, require_python36

pytestmark = pytest.mark.slow


def test_converter_suite_passes_on_python36():
    require_python36()
    python = os.path.join(VENV36, "bin", "python")
    if not os.path.exists(python):
        pytest.skip("needs .venv36 (scripts/setup-dev.sh creates it from pyenv 3.6.15)")
    version = subprocess.check_output([python, "-c", "import sys; print(sys.version.split()[0])"])
    assert version.decode().strip() == "3.6.15"
    here = os.path.relpath(os.path.dirname(os.path.abspath(__file__)), REPO)
    proc = subprocess.run(
        [
            python,
            "-m",
            "pytest",
            here,
            "-p",
            "no:cacheprovider",
            "-q",
            "--ignore",
            os.path.join(here, "test_py36.py"),
            "--ignore",
            os.path.join(here, "test_packaging.py"),
            "--ignore",
            os.path.join(here, "test_quality.py"),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=900,
    )
    output = proc.stdout.decode(errors="replace")
    sys.stdout.write(output[-3000:])  # shown by pytest on failure
    summary = output.strip().splitlines()[-1]
    passed = re.search(r"(\d+) passed", summary)
    assert proc.returncode == 0, summary
    assert passed and int(passed.group(1)) > 0, summary
    assert not re.search(r"\d+ (failed|error)", summary), summary
    assert "skipped" not in summary, summary  # everything it needs is installed by setup


def test_every_converter_file_is_python36_syntax(tmp_path):
    """ruff cannot target 3.6: compile all of converter/ (benchmarks too) with 3.6.15 itself."""
    python36 = require_python36()
    converter = os.path.join(REPO, "converter")
    files = []
    for directory, _, names in os.walk(converter):
        files += [os.path.join(directory, n) for n in names if n.endswith(".py")]
    assert len(files) > 10
    script = (
        "import sys\n"
        "for path in sys.argv[1:]:\n"
        "    with open(path) as f:\n"
        "        compile(f.read(), path, 'exec')\n"
    )
    proc = subprocess.run(
        [python36, "-c", script] + files, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert proc.returncode == 0, proc.stdout.decode()
