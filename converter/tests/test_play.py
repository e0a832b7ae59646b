"""play: frame scheduling, dropping late frames, restoring the terminal."""

import io
import os
import signal
import subprocess
import sys
import time

import pytest

from asciivideo import textformat
from asciivideo.play import ENTER, HOME, LEAVE, play
from avtestlib import DEFAULT_SIGINT, cli_env, run_cli


def _write_file(path, frames, fps=10.0, columns=4, rows=2):
    header = textformat.Header(fps, columns, rows, frames, "ab")
    with open(str(path), "wb") as handle:
        handle.write(textformat.encode_header(header))
        for index in range(frames):
            line = (b"%04d" % index)[:columns].ljust(columns) + b"\n"
            handle.write(line * rows)
    return str(path)


class FakeClock(object):
    """Simulated time: sleep() advances it; writing a frame costs `write_cost` seconds."""

    def __init__(self, write_cost):
        self.now = 100.0
        self.write_cost = write_cost
        self.slept = 0.0

    def clock(self):
        return self.now

    def sleep(self, seconds):
        assert seconds > 0
        self.now += seconds
        self.slept += seconds


class SlowTerminal(io.BytesIO):
    def __init__(self, fake):
        io.BytesIO.__init__(self)
        self.fake = fake

    def write(self, data):
        if data.startswith(HOME):
            self.fake.now += self.fake.write_cost
        return io.BytesIO.write(self, data)


def test_fast_terminal_shows_every_frame_on_schedule(tmp_path):
    fake = FakeClock(write_cost=0.001)
    out = SlowTerminal(fake)
    stats = play(_write_file(tmp_path / "f.txt", 50), out=out, clock=fake.clock, sleep=fake.sleep)
    assert (stats.shown, stats.dropped, stats.frames) == (50, 0, 50)
    assert fake.now - 100.0 == pytest.approx(49 / 10.0 + 0.001)  # last frame due at 4.9 s
    data = out.getvalue()
    assert data.startswith(ENTER) and data.endswith(LEAVE)
    assert data.count(HOME) == 50
    assert HOME + b"0049\n0049" in data  # frames without their final newline: no scrolling


def test_simulated_slow_terminal_drops_frames_to_stay_in_sync(tmp_path):
    """Simulated: each frame takes 0.25 s to draw at 10 fps, so only ~1 in 2.5 can be shown."""
    fake = FakeClock(write_cost=0.25)
    out = SlowTerminal(fake)
    stats = play(_write_file(tmp_path / "f.txt", 100), out=out, clock=fake.clock, sleep=fake.sleep)
    assert stats.shown + stats.dropped == 100
    assert 30 <= stats.shown <= 50
    assert fake.now - 100.0 < 100 / 10.0 + 0.5  # finishes on time instead of after 25 s
    assert out.getvalue().endswith(LEAVE)


def test_fps_override(tmp_path):
    fake = FakeClock(write_cost=0.0)
    play(
        _write_file(tmp_path / "f.txt", 11),
        fps=100.0,
        out=SlowTerminal(fake),
        clock=fake.clock,
        sleep=fake.sleep,
    )
    assert fake.now - 100.0 == pytest.approx(0.1)


def test_terminal_is_restored_when_interrupted(tmp_path):
    class Interrupting(io.BytesIO):
        writes = 0

        def write(self, data):
            Interrupting.writes += 1
            if Interrupting.writes == 3:
                raise KeyboardInterrupt()
            return io.BytesIO.write(self, data)

    out = Interrupting()
    with pytest.raises(KeyboardInterrupt):
        play(_write_file(tmp_path / "f.txt", 10), fps=1000.0, out=out)
    assert out.getvalue().endswith(LEAVE)


def test_no_frame_rate_needs_fps(tmp_path):
    proc = run_cli(["play", _write_file(tmp_path / "f.txt", 3, fps=0.0)])
    assert proc.returncode == 2
    assert b"--fps" in proc.stderr


@pytest.mark.parametrize(
    "sig", [pytest.param(signal.SIGINT, marks=pytest.mark.signals), signal.SIGTERM]
)
def test_ctrl_c_during_play_restores_the_terminal(tmp_path, sig):
    path = _write_file(tmp_path / "f.txt", 1000, fps=20.0)
    proc = subprocess.Popen(
        DEFAULT_SIGINT + [sys.executable, "-m", "asciivideo", "play", path],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(),
        bufsize=0,
    )
    first = b""
    while len(first) < len(ENTER):  # unbuffered, so communicate() below sees everything else
        chunk = proc.stdout.read(len(ENTER) - len(first))
        assert chunk, "play exited before starting"
        first += chunk
    assert first == ENTER  # playback has started
    os.kill(proc.pid, sig)
    rest, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 130
    assert rest.endswith(LEAVE)
    assert stderr == b"asciivideo: interrupted\n"


def test_play_in_a_real_terminal(tmp_path, sample_clip):
    """tmux gives `play` a real pty: the frame shows on screen, and after Ctrl-C the normal
    screen and the shell prompt are back."""
    if subprocess.call(["sh", "-c", "command -v tmux"], stdout=subprocess.DEVNULL) != 0:
        pytest.skip("needs tmux (scripts/setup-dev.sh installs it)")
    out = str(tmp_path / "o.txt")
    assert run_cli(["convert", sample_clip, "-o", out, "--width", "40"]).returncode == 0
    session = "asciivideo-test-%d" % os.getpid()
    socket = str(tmp_path / "tmux.sock")
    tmux = ["tmux", "-S", socket]
    env = cli_env()
    command = "%s -m asciivideo play %s --fps 5; echo EXIT=$?; sleep 30" % (sys.executable, out)
    subprocess.check_call(
        tmux + ["new-session", "-d", "-s", session, "-x", "100", "-y", "40", command], env=env
    )
    try:

        def screen():
            return subprocess.check_output(tmux + ["capture-pane", "-p", "-t", session]).decode()

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "@" not in screen() and "#" not in screen():
            time.sleep(0.1)
        playing = screen()
        assert any(c in playing for c in "@#%"), playing
        subprocess.check_call(tmux + ["send-keys", "-t", session, "C-c"])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "EXIT=" not in screen():
            time.sleep(0.1)
        after = screen()
        assert "EXIT=130" in after, after
        assert not any(c in after for c in "@#%"), after  # back on the normal screen
    finally:
        subprocess.call(tmux + ["kill-server"], stderr=subprocess.DEVNULL)
