"""scripts/run-tests.sh (`make test`) says what it is doing while it runs (issue #18).

A phase line per phase, each test's name as soon as it starts (so a test running for minutes
shows which one it is), and the slowest tests at the end. The run here is a tiny generated
test file (setup skipped with KIT_SKIP_SETUP=1, the documented way to re-run a part); its test
blocks until this test has *seen its name* on run-tests.sh's stdout, so a name printed only
after the test finished cannot pass.
"""

from __future__ import annotations

import os
import select
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SLOW_TEST = """
import os, time

def test_waits_until_its_name_was_seen():
    go = os.environ["RUN_TESTS_GO"]
    deadline = time.monotonic() + 60
    while not os.path.exists(go):
        assert time.monotonic() < deadline, "nobody saw this test's name while it ran"
        time.sleep(0.05)
"""


def test_run_tests_prints_phases_running_test_names_and_slowest(tmp_path: Path) -> None:
    (tmp_path / "test_generated.py").write_text(SLOW_TEST)
    go = tmp_path / "go"
    env = {**os.environ, "KIT_SKIP_SETUP": "1", "RUN_TESTS_GO": str(go), "CI": ""}
    proc = subprocess.Popen(
        [str(REPO / "scripts" / "run-tests.sh"), str(tmp_path / "test_generated.py"),
         "-p", "no:cacheprovider", "--rootdir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    seen = b""
    deadline = time.monotonic() + 120
    while b"test_waits_until_its_name_was_seen" not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 1.0)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            seen += chunk
    go.touch()
    rest, _ = proc.communicate(timeout=120)
    output = (seen + rest).decode()
    assert proc.returncode == 0, output
    assert "==> [" in output and "] 1/2 setup: skipped (KIT_SKIP_SETUP=1)" in output
    assert "] 2/2 tests: pytest -v" in output
    assert "test_generated.py::test_waits_until_its_name_was_seen PASSED" in output
    assert "slowest 25 durations" in output
    assert "done: pytest exit code 0 after 0m" in output
