"""`selftest`: the smoke test run on each deployed host (no video file needed)."""

import os
import shutil
import tempfile
import time

from asciivideo.convert import convert
from asciivideo.sample import write_sample

SELFTEST_FRAMES = 240
SELFTEST_SIZE = (160, 120)


def selftest(workers, frames=SELFTEST_FRAMES, size=SELFTEST_SIZE):
    # type: (int, int, tuple) -> tuple
    """(ok, message): convert a fresh sample clip with 1 and `workers` workers and compare."""
    tmp = tempfile.mkdtemp(prefix="asciivideo-selftest-")
    try:
        clip = os.path.join(tmp, "sample.avi")
        write_sample(clip, frames=frames, size=size)
        one = os.path.join(tmp, "one.txt")
        many = os.path.join(tmp, "many.txt")
        convert(clip, one, workers=1, progress=False)
        started = time.monotonic()
        result = convert(clip, many, workers=workers, progress=False)
        elapsed = time.monotonic() - started
        if result.frames != frames:
            return False, "selftest FAILED: %d frames converted, expected %d" % (
                result.frames,
                frames,
            )
        with open(one, "rb") as a, open(many, "rb") as b:
            if a.read() != b.read():
                return False, "selftest FAILED: output with %d workers differs from 1 worker" % (
                    workers
                )
        message = "selftest ok: %d frames, %d workers, %.0f frames/s" % (
            frames,
            workers,
            frames / elapsed if elapsed > 0 else 0.0,
        )
        if result.note:
            message += " (decoded sequentially: %s)" % result.note
        return True, message
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
