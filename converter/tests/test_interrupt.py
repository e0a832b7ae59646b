"""Ctrl-C / SIGTERM / a killed parent: workers stop promptly, no orphans, no partial output.

Processes are found through /proc (psutil does not exist for the Python 3.6 target).
"""

import fcntl
import os
import signal
import subprocess
import sys
import time

import pytest

from avtestlib import DEFAULT_SIGINT, cli_env

PROMPT = 10.0  # seconds an interrupted convert may take to exit (it normally takes well under 1)


def _group_members(pgid):
    """PIDs of live (non-zombie) processes whose process group is `pgid`, from /proc."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as handle:
                stat = handle.read()
        except (IOError, OSError):
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # state ppid pgrp ...
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(entry))
    return members


def _wait_until(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def _start_convert(video, out, workers):
    """convert in its own session (its own process group), returned once workers run."""
    proc = subprocess.Popen(
        DEFAULT_SIGINT
        + [
            sys.executable,
            "-m",
            "asciivideo",
            "convert",
            video,
            "-o",
            out,
            "--workers",
            str(workers),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(),
        start_new_session=True,
    )
    started = _wait_until(lambda: len(_group_members(proc.pid)) >= 1 + workers, 30)
    assert started, "the workers never started"
    assert proc.poll() is None, "conversion finished before it could be interrupted"
    return proc


@pytest.mark.parametrize(
    "how",
    [
        pytest.param("sigint_to_parent", marks=pytest.mark.signals),
        pytest.param("sigint_to_group", marks=pytest.mark.signals),
        "sigterm_to_parent",
    ],
)
def test_interrupt_stops_everything_and_leaves_no_output(long_clip, tmp_path, how):
    outdir = tmp_path / "out"
    outdir.mkdir()
    proc = _start_convert(long_clip, str(outdir / "o.txt"), workers=4)
    if how == "sigint_to_group":  # what a terminal's Ctrl-C does
        os.killpg(proc.pid, signal.SIGINT)
    else:
        os.kill(proc.pid, signal.SIGTERM if how == "sigterm_to_parent" else signal.SIGINT)
    try:
        _, stderr = proc.communicate(timeout=PROMPT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise AssertionError("convert did not exit within %ss of the signal" % PROMPT) from None
    assert proc.returncode == 130, stderr
    assert stderr.decode().splitlines() == ["asciivideo: interrupted"]
    assert _wait_until(lambda: _group_members(proc.pid) == [], 5), "worker processes left over"
    assert os.listdir(str(outdir)) == []


def test_killed_parent_takes_its_workers_along(long_clip, tmp_path):
    """SIGKILL cannot be handled: the workers' parent-death signal must end them anyway."""
    proc = _start_convert(long_clip, str(tmp_path / "o.txt"), workers=3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=PROMPT)
    try:
        assert _wait_until(lambda: _group_members(proc.pid) == [], PROMPT), "orphaned workers"
    finally:
        for pid in _group_members(proc.pid):
            os.kill(pid, signal.SIGKILL)


def test_a_killed_conversions_temp_file_is_swept_by_the_next_run(long_clip, sample_clip, tmp_path):
    """SIGKILL leaves `.o.txt.XXXXXXXX.tmp` (nothing can run on SIGKILL); the next conversion
    to the same output removes it, and leaves alone one that a live process holds."""
    out = tmp_path / "o.txt"
    proc = _start_convert(long_clip, str(out), workers=2)
    time.sleep(0.5)  # let it write some frames into its temporary file
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=PROMPT)
    assert _wait_until(lambda: _group_members(proc.pid) == [], PROMPT), "orphaned workers"
    stale = [n for n in os.listdir(str(tmp_path)) if n.startswith(".o.txt.")]
    assert len(stale) == 1 and stale[0].endswith(".tmp"), stale
    # a temp file of a run that is still alive (here: this process holds its lock)
    live = tmp_path / ".o.txt.LiveRun1.tmp"
    live.write_bytes(b"in use")
    with open(str(live), "rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        done = subprocess.run(
            [sys.executable, "-m", "asciivideo", "convert", sample_clip, "-o", str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=cli_env(),
            timeout=120,
        )
    assert done.returncode == 0, done.stderr
    assert sorted(os.listdir(str(tmp_path))) == [live.name, "o.txt"]
