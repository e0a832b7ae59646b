"""Ctrl-C / SIGTERM / a killed parent: workers stop promptly, no orphans, no partial output.

Processes are found through /proc (psutil does not exist for the Python 3.6 target).

Deadlines: nothing here is timed; a wait has a deadline only so that a hung converter fails the
test instead of hanging the suite, and it scales with the machine's load. The converter's stderr
goes to a file, not a pipe, so waiting for it to exit does not also wait for its workers (which
inherit stderr); they are waited for by their process group. The wait after a signal is
EXIT_FACTOR times what this very run took to start its workers (interpreter start, numpy and
OpenCV imports, probing the video, forking: more work than stopping them), and at least
EXIT_FLOOR seconds, so a loaded machine stretches both alike while a hang still fails.
"""

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import time

import pytest

from avtestlib import DEFAULT_SIGINT, TESTS, cli_env

START_LIMIT = 60.0  # s to start the workers (~0.5 s on an idle machine): beyond that, hung
EXIT_FLOOR = 10.0  # s, the least an interrupted run gets to exit (it needs well under 1 s idle)
EXIT_FACTOR = 3.0  # times the run's own start-up time
HELD_START = os.path.join(TESTS, "held_start.py")


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


class Conversion(object):
    """One `asciivideo convert` in its own session (process group = its pid), SIGINT at its
    default, stderr in a file."""

    def __init__(self, tmp_path, command, pass_fds=()):
        self.began = time.monotonic()
        self.startup = None  # seconds until its workers were seen (or held)
        self.stderr_path = str(tmp_path / "stderr.txt")
        with open(self.stderr_path, "wb") as stderr:
            self.proc = subprocess.Popen(
                DEFAULT_SIGINT + [sys.executable] + command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env=cli_env(),
                start_new_session=True,
                pass_fds=pass_fds,
            )
        self.pid = self.proc.pid

    def started(self):
        self.startup = time.monotonic() - self.began

    def stderr(self):
        with open(self.stderr_path, "rb") as handle:
            return handle.read().decode(errors="replace")

    def exit_deadline(self):
        return max(EXIT_FLOOR, EXIT_FACTOR * self.startup)

    def wait_exit(self):
        """The converter's exit status, once it has exited (within exit_deadline)."""
        try:
            return self.proc.wait(timeout=self.exit_deadline())
        except subprocess.TimeoutExpired:
            raise AssertionError(
                "convert did not exit within %.0fs (%.1fx its start-up)\n%s"
                % (self.exit_deadline(), EXIT_FACTOR, self.stderr())
            ) from None

    def wait_group_gone(self):
        return _wait_until(lambda: _group_members(self.pid) == [], self.exit_deadline())

    def kill_leftovers(self):
        """SIGKILL whatever is left of its process group (a failed test must not leave any)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pid in _group_members(self.pid):
            with contextlib.suppress(OSError):  # gone meanwhile
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def conversions(tmp_path):
    """Starts Conversion()s; kills what is left of them at teardown, failed test or not."""
    started = []

    def start(command, pass_fds=()):
        run = Conversion(tmp_path, command, pass_fds)
        started.append(run)
        return run

    yield start
    for run in started:
        run.kill_leftovers()


def _convert_args(video, out, workers):
    return ["convert", video, "-o", out, "--workers", str(workers)]


def _start_convert(conversions, video, out, workers):
    """convert, returned once its workers run."""
    run = conversions(["-m", "asciivideo"] + _convert_args(video, out, workers))
    started = _wait_until(
        lambda: len(_group_members(run.pid)) >= 1 + workers or run.proc.poll() is not None,
        START_LIMIT,
    )
    assert started, "the workers never started (%ss)" % START_LIMIT
    assert run.proc.poll() is None, "conversion finished before it could be interrupted"
    run.started()
    return run


@pytest.mark.parametrize(
    "how",
    [
        pytest.param("sigint_to_parent", marks=pytest.mark.signals),
        pytest.param("sigint_to_group", marks=pytest.mark.signals),
        "sigterm_to_parent",
    ],
)
def test_interrupt_stops_everything_and_leaves_no_output(long_clip, tmp_path, conversions, how):
    outdir = tmp_path / "out"
    outdir.mkdir()
    run = _start_convert(conversions, long_clip, str(outdir / "o.txt"), workers=4)
    if how == "sigint_to_group":  # what a terminal's Ctrl-C does
        os.killpg(run.pid, signal.SIGINT)
    else:
        os.kill(run.pid, signal.SIGTERM if how == "sigterm_to_parent" else signal.SIGINT)
    assert run.wait_exit() == 130, run.stderr()
    assert run.stderr().splitlines() == ["asciivideo: interrupted"]
    assert run.wait_group_gone(), "worker processes left over"
    assert os.listdir(str(outdir)) == []


def test_killed_parent_takes_its_workers_along(long_clip, tmp_path, conversions):
    """SIGKILL cannot be handled: the workers' parent-death signal must end them anyway."""
    run = _start_convert(conversions, long_clip, str(tmp_path / "o.txt"), workers=3)
    os.kill(run.pid, signal.SIGKILL)
    assert run.wait_exit() == -signal.SIGKILL
    assert run.wait_group_gone(), "orphaned workers"


@pytest.mark.parametrize(
    "how", [pytest.param("sigint_to_group", marks=pytest.mark.signals), "sigkill_to_parent"]
)
def test_a_signal_while_the_workers_start(sample_clip, tmp_path, conversions, how):
    """Each worker is held between its fork and the pool's initializer while the signal comes:
    the window where a forked child still has its parent's handlers (Ctrl-C, or the SIGTERM of
    Pool.terminate(), raised KeyboardInterrupt there, with a traceback from _after_fork or
    _bootstrap) and no parent-death signal yet (a parent killed then left it orphaned)."""
    workers = 2
    outdir = tmp_path / "out"
    outdir.mkdir()
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    try:
        run = conversions(
            [HELD_START, str(ready_w), str(go_r)]
            + _convert_args(sample_clip, str(outdir / "o.txt"), workers),
            pass_fds=(ready_w, go_r),
        )
        os.close(ready_w)
        os.close(go_r)
        fcntl.fcntl(ready_r, fcntl.F_SETFL, os.O_NONBLOCK)
        held = []
        _wait_until(lambda: len(held) >= workers or _read_into(ready_r, held), START_LIMIT)
        assert len(held) == workers, "%d of %d workers started\n%s" % (
            len(held),
            workers,
            run.stderr(),
        )
        run.started()
        if how == "sigint_to_group":
            starting = [pid for pid in _group_members(run.pid) if pid != run.pid]
            os.killpg(run.pid, signal.SIGINT)
            # A starting worker blocks it: pending until the worker has set its dispositions
            # (one that took it raised KeyboardInterrupt, or was about to).
            pending = _wait_until(
                lambda: all(_signal_pending(pid, signal.SIGINT) for pid in starting),
                run.exit_deadline(),
            )
            assert pending, "SIGINT not pending in every starting worker %s" % starting
        else:
            os.kill(run.pid, signal.SIGKILL)
            assert run.wait_exit() == -signal.SIGKILL  # dead before its workers go on
    finally:
        os.close(go_w)  # release the workers
        os.close(ready_r)
    if how == "sigint_to_group":
        assert run.wait_exit() == 130, run.stderr()
        assert run.stderr().splitlines() == ["asciivideo: interrupted"]
    assert run.wait_group_gone(), "worker processes left over"
    if how == "sigkill_to_parent":  # orphans would decode on and fail to send (EPIPE tracebacks)
        assert run.stderr() == ""
    left = os.listdir(str(outdir))  # SIGKILL leaves its temp file (for the next run to sweep)
    assert left == [] if how == "sigint_to_group" else "o.txt" not in left, left


def _signal_pending(pid, signum):
    """True if process `pid` is alive with `signum` blocked and pending, from /proc (proc(5)):
    a signal not blocked is pending too, but only until the process next runs."""
    try:
        with open("/proc/%d/status" % pid) as handle:
            fields = dict(line.split(":", 1) for line in handle.read().splitlines())
    except (IOError, OSError):
        return False
    if fields["State"].split()[0] in ("Z", "X"):
        return False
    bit = 1 << (signum - 1)
    pending = int(fields["SigPnd"], 16) | int(fields["ShdPnd"], 16)
    return bool(int(fields["SigBlk"], 16) & bit and pending & bit)


def _read_into(fd, bytes_read):
    """Append what `fd` (non-blocking) has to `bytes_read`; True at end of file."""
    try:
        data = os.read(fd, 64)
    except BlockingIOError:
        return False
    bytes_read.extend(data)
    return data == b""


def test_a_killed_conversions_temp_file_is_swept_by_the_next_run(
    long_clip, sample_clip, tmp_path, conversions
):
    """SIGKILL leaves `.o.txt.XXXXXXXX.tmp` (nothing can run on SIGKILL); the next conversion
    to the same output removes it, and leaves alone one that a live process holds."""
    outdir = tmp_path / "out"
    outdir.mkdir()
    out = outdir / "o.txt"
    run = _start_convert(conversions, long_clip, str(out), workers=2)  # temp file made first
    os.killpg(run.pid, signal.SIGKILL)
    run.wait_exit()
    assert run.wait_group_gone(), "orphaned workers"
    stale = [n for n in os.listdir(str(outdir)) if n.startswith(".o.txt.")]
    assert len(stale) == 1 and stale[0].endswith(".tmp"), stale
    # a temp file of a run that is still alive (here: this process holds its lock)
    live = outdir / ".o.txt.LiveRun1.tmp"
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
    assert sorted(os.listdir(str(outdir))) == [live.name, "o.txt"]
