"""What one worker does: decode a contiguous frame range itself and return its text in one blob.

Each worker opens its own capture and seeks once, so the parent only receives small text blobs
(no decoded frames are pickled). A chunk also reports fingerprints of the frame where it landed
after seeking and of the frame that follows its range (decoded sequentially), so the parent can
prove that the seek landed exactly on a frame boundary (see plan.check_boundary).
"""

import collections
import contextlib
import ctypes
import hashlib
import signal

import cv2
import numpy as np

from asciivideo.charmap import FrameRenderer
from asciivideo.video import open_capture

PROGRESS_EVERY = 16  # frames between updates of the shared progress counter

# index: position in the plan; start/stop: frame range; last: read on to the end of the video
# (the container's frame count may be an estimate); lut: bytes of the 256-entry character table.
Job = collections.namedtuple("Job", "index path start stop last columns rows lut")
# first: fingerprint of the first frame decoded (after the seek); following: of the frame after
# the range, or None; count: frames decoded; text: their text frames concatenated.
ChunkResult = collections.namedtuple("ChunkResult", "index start count text first following")

_progress = None  # multiprocessing.Value shared with the parent, set by init_worker
_on_progress = None  # in-process runs: called with the running total


def init_progress(progress, callback=None):
    # type: (object, object) -> None
    global _progress, _on_progress
    _progress = progress
    _on_progress = callback


def init_worker(progress):
    # type: (object) -> None
    """Pool initializer: leave Ctrl-C to the parent, die with it, report progress to it."""
    init_progress(progress)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and terminates us
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # (the parent's handler was inherited by fork)
    _die_with_parent()


def _load_libc():
    # type: () -> object
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


_LIBC = _load_libc()  # loaded in the parent: no dlopen() in a freshly forked child


def _die_with_parent():
    # type: () -> None
    """Linux: get SIGTERM when the parent dies, even by SIGKILL, so no worker is orphaned."""
    pr_set_pdeathsig = 1
    with contextlib.suppress(AttributeError):  # no libc handle, or no prctl (not Linux)
        _LIBC.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)  # type: ignore


def fingerprint(cap, frame):
    # type: (cv2.VideoCapture, np.ndarray) -> tuple
    """(presentation time in ms, hash of the decoded pixels) of the frame just read."""
    digest = hashlib.blake2b(frame.tobytes(), digest_size=16).hexdigest()
    return (round(cap.get(cv2.CAP_PROP_POS_MSEC), 3), digest)


def _report(frames):
    # type: (int) -> None
    if _progress is not None and frames:
        with _progress.get_lock():  # type: ignore
            _progress.value += frames  # type: ignore
            total = _progress.value  # type: ignore
        if _on_progress is not None:
            _on_progress(total)  # type: ignore


def run_chunk(job):
    # type: (Job) -> ChunkResult
    cap = open_capture(job.path)
    try:
        if job.start > 0:
            cap.set(cv2.CAP_PROP_POS_FRAMES, job.start)
        renderer = FrameRenderer(job.columns, job.rows, np.frombuffer(job.lut, dtype=np.uint8))
        wanted = None if job.last else job.stop - job.start
        parts = []
        first = None
        unreported = 0
        while wanted is None or len(parts) < wanted:
            ok, frame = cap.read()
            if not ok or frame is None:
                break
            if not parts:
                first = fingerprint(cap, frame)
            parts.append(renderer.render(frame))
            unreported += 1
            if unreported == PROGRESS_EVERY:
                _report(unreported)
                unreported = 0
        _report(unreported)
        following = None
        if wanted is not None and len(parts) == wanted:
            ok, frame = cap.read()
            if ok and frame is not None:
                following = fingerprint(cap, frame)
        return ChunkResult(job.index, job.start, len(parts), b"".join(parts), first, following)
    finally:
        cap.release()
