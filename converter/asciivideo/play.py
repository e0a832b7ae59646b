"""`play`: show a converted file in the terminal at its frame rate, dropping late frames."""

import os
import sys
import time

from asciivideo import textformat
from asciivideo.errors import AsciiVideoError

ENTER = b"\x1b[?1049h\x1b[?25l\x1b[2J"  # alternate screen, hide cursor, clear
LEAVE = b"\x1b[?25h\x1b[?1049l"  # show cursor, back to the normal screen
HOME = b"\x1b[H"  # cursor to the top left: redrawing in place costs microseconds


class FdWriter(object):
    """Unbuffered writes straight to a file descriptor.

    A Ctrl-C that lands inside a buffered writer's flush can lose what is still buffered, the
    screen-restoring LEAVE included; os.write has no buffer to lose.
    """

    def __init__(self, fd):
        # type: (int) -> None
        self.fd = fd

    def write(self, data):
        # type: (bytes) -> int
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]
        return len(data)

    def flush(self):
        # type: () -> None
        pass


class PlayStats(object):
    def __init__(self, shown, dropped, frames):
        # type: (int, int, int) -> None
        self.shown = shown
        self.dropped = dropped
        self.frames = frames


def play(path, fps=None, out=None, clock=time.monotonic, sleep=time.sleep):
    # type: (str, object, object, object, object) -> PlayStats
    """Frame k is due at t0 + k/fps on a monotonic clock; a frame whose successor is already due
    is dropped, so a slow terminal skips frames instead of falling behind. The terminal is
    restored however this ends (Ctrl-C included)."""
    if out is None:
        sys.stdout.flush()
        out = FdWriter(sys.stdout.fileno())
    try:
        stream = open(path, "rb")  # noqa: SIM115  (closed by the `with` below)
    except IOError as exc:
        raise AsciiVideoError("%s: cannot read: %s" % (path, exc.strerror or exc)) from None
    with stream:
        header = textformat.read_header(stream, path)
        rate = float(fps) if fps is not None else header.fps  # type: ignore
        if not rate > 0:
            raise AsciiVideoError("%s: no frame rate recorded; pass --fps" % path)
        shown = dropped = 0
        try:
            out.write(ENTER)  # type: ignore  # inside the try: a Ctrl-C right after it restores
            start = clock()  # type: ignore
            for index, frame in enumerate(textformat.iter_frames(stream, header)):
                now = clock()  # type: ignore
                if now >= start + (index + 1) / rate and index + 1 < header.frames:
                    dropped += 1
                    continue
                due = start + index / rate
                if due > now:
                    sleep(due - now)  # type: ignore
                out.write(HOME + frame[:-1])  # type: ignore  # no final newline: no scrolling
                out.flush()  # type: ignore
                shown += 1
        finally:
            out.write(LEAVE)  # type: ignore
            out.flush()  # type: ignore
    return PlayStats(shown, dropped, header.frames)
