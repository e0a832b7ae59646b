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
import os
import pickle
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

_progress = None  # frame counters shared with the parent (one slot per worker), see init_progress
_slot = 0  # this process's counter in _progress
_on_progress = None  # in-process runs: called with the running total


def init_progress(progress, slot=0, callback=None):
    # type: (object, int, object) -> None
    """Count decoded frames in progress[slot] (a shared array slot written by this process
    only, so no lock: the parent just reads); callback(total) after each update, if given."""
    global _progress, _slot, _on_progress
    _progress = progress
    _slot = slot
    _on_progress = callback


# What a starting worker must not act on before init_worker has set its own dispositions
# (workerset.startup_signals_blocked blocks them in the parent while it forks workers).
STARTUP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def init_worker(progress, slot, parent_pid):
    # type: (object, int, int) -> None
    """First thing in a worker, entered with STARTUP_SIGNALS blocked: leave Ctrl-C to the
    parent, die with it (`parent_pid`, the converter), report progress to it."""
    init_progress(progress, slot)
    # The parent handles Ctrl-C and stops us. Ignoring a pending signal discards it
    # (POSIX.1-2017 XSH 2.4.3 "Signal Actions", SIG_IGN).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # how the parent stops us; not its handler
    _die_with_parent(parent_pid)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STARTUP_SIGNALS)  # a pending SIGTERM ends us here


def serve(jobs, pipe, progress, slot, parent_pid):
    # type: (list, object, object, int, int) -> None
    """A worker process (workerset.WorkerSet): init_worker, then run each job in order and send
    ("ok", ChunkResult) on `pipe`, or ("error", the exception) and stop at the first failure."""
    init_worker(progress, slot, parent_pid)
    for job in jobs:
        try:
            message = ("ok", run_chunk(job))
        except Exception as exc:
            message = ("error", _transferable(exc))
        pipe.send(message)  # type: ignore
        if message[0] == "error":
            break
    pipe.close()  # type: ignore


def _transferable(exc):
    # type: (Exception) -> Exception
    """`exc` itself if it survives pickling, else a RuntimeError naming it."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError("%s: %s" % (type(exc).__name__, exc))
    return exc


def _load_libc():
    # type: () -> object
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


_LIBC = _load_libc()  # loaded in the parent: no dlopen() in a freshly forked child


def _die_with_parent(parent_pid):
    # type: (int) -> None
    """Linux: get SIGTERM when the parent dies, even by SIGKILL, so no worker is orphaned.

    PR_SET_PDEATHSIG (prctl(2)) only fires for a parent that dies after the call. One killed
    since the fork (a SIGKILL while workers start) has already left us re-parented, waiting
    for tasks that never come: then end now, by the very signal it would have sent."""
    pr_set_pdeathsig = 1
    with contextlib.suppress(AttributeError):  # no libc handle, or no prctl (not Linux)
        _LIBC.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)  # type: ignore
    if _parent_gone(parent_pid):
        os.kill(os.getpid(), signal.SIGTERM)  # pending while blocked, then default: we end


def _parent_gone(parent_pid):
    # type: (int) -> bool
    if os.getppid() == parent_pid:
        return False  # forked by it and alive now, so the death signal covers it from here on
    # Re-parented because it died, or started by a fork server: the converter is our grandparent
    # (the server ends, and its death signal reaches us, once it reads EOF from the converter).
    return _exited(parent_pid)


def _exited(pid):
    # type: (int) -> bool
    """True if `pid` has ended: no such process, or a zombie its parent has not reaped yet (a
    zombie still answers kill(pid, 0)). Read from /proc/PID/stat (proc(5): state Z or X)."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as handle:
            stat = handle.read()
    except FileNotFoundError:
        return True
    except OSError:
        return False  # cannot tell: the death signal, if any, has to do
    state = stat[stat.rindex(b")") + 2 :].split(b" ", 1)[0]
    return state in (b"Z", b"X")


def fingerprint(cap, frame):
    # type: (cv2.VideoCapture, np.ndarray) -> tuple
    """(presentation time in ms, hash of the decoded pixels) of the frame just read."""
    digest = hashlib.blake2b(frame.tobytes(), digest_size=16).hexdigest()
    return (round(cap.get(cv2.CAP_PROP_POS_MSEC), 3), digest)


def _report(frames):
    # type: (int) -> None
    if _progress is not None and frames:
        _progress[_slot] += frames  # type: ignore
        if _on_progress is not None:
            _on_progress(_progress[_slot])  # type: ignore


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
