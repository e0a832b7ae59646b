"""`convert`: video -> one text file, with workers that each decode their own frame range."""

import multiprocessing
import os
import time

from asciivideo import plan, textformat, worker
from asciivideo.charmap import DEFAULT_CHARSET, DEFAULT_WIDTH, check_charset, geometry, make_lut
from asciivideo.errors import AsciiVideoError
from asciivideo.output import AtomicOutput
from asciivideo.progress import ProgressBar
from asciivideo.video import probe
from asciivideo.workerset import WorkerSet

STRATEGY_SEQUENTIAL = "sequential"
STRATEGY_RANGES = "ranges"


class ConvertResult(object):
    def __init__(self, frames, columns, rows, fps, strategy, note, seconds, ranges=1):
        # type: (int, int, int, float, str, object, float, int) -> None
        self.frames = frames
        self.columns = columns
        self.rows = rows
        self.fps = fps
        self.strategy = strategy  # how the frames were decoded in the end
        self.note = note  # why the range plan was abandoned, or None
        self.seconds = seconds
        self.ranges = ranges  # frame ranges decoded separately (1: one sequential decode)


class SeekNotExact(Exception):
    """A range boundary did not check out: fall back to a sequential decode."""


def default_workers():
    # type: () -> int
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _thread_count():
    # type: () -> int
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 0  # unknown


def _mp_context():
    # type: () -> object
    """fork when this process has a single thread: workers start at once. That is the normal
    case: OpenCV's pool is off (video.py), BLAS pools too (__init__.py), every capture is
    released (its FFmpeg threads joined) before forking, and WorkerSet starts no thread.
    Forking a process with other threads can deadlock the child, so otherwise use a fork server
    (a clean, single-threaded parent)."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and _thread_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("spawn")


def convert(
    video,
    out,
    width=DEFAULT_WIDTH,
    height=None,
    charset=DEFAULT_CHARSET,
    invert=False,
    workers=None,
    progress=None,
):
    # type: (str, str, int, object, str, bool, object, object) -> ConvertResult
    """Convert `video` to the text file `out` (see textformat.py); progress: None = auto."""
    started = time.monotonic()
    check_charset(charset)
    geometry(100, 100, width, height)  # option errors before touching any file
    workers = default_workers() if workers is None else workers
    if workers < 1:
        raise AsciiVideoError("--workers must be at least 1, got %d" % workers)
    check_not_input(video, out)
    info = probe(video)
    columns, rows = geometry(info.width, info.height, width, height)
    lut = make_lut(charset, invert)
    used_charset = charset[::-1] if invert else charset
    header = textformat.Header(info.fps, columns, rows, 0, used_charset)
    header_bytes = textformat.encode_header(header)
    bar = ProgressBar(info.frame_count, enabled=progress)
    with AtomicOutput(out) as output:
        handle = output.file
        handle.write(header_bytes)  # type: ignore
        ranges = plan.plan_ranges(info.frame_count, workers)
        note = None
        frames = None
        strategy = STRATEGY_RANGES
        if len(ranges) > 1:
            try:
                frames = _convert_ranges(video, ranges, columns, rows, lut, workers, handle, bar)
            except SeekNotExact as exc:
                note = str(exc)
                handle.seek(len(header_bytes))  # type: ignore
                handle.truncate()  # type: ignore
        if frames is None:
            strategy = STRATEGY_SEQUENTIAL
            frames = _convert_sequential(video, columns, rows, lut, handle, bar)
        bar.close(frames)
        handle.seek(textformat.frames_field_offset(header_bytes))  # type: ignore
        handle.write(b"%0*d" % (textformat.FRAMES_WIDTH, frames))  # type: ignore
        output.commit()
    return ConvertResult(
        frames,
        columns,
        rows,
        info.fps,
        strategy,
        note,
        time.monotonic() - started,
        len(ranges) if strategy == STRATEGY_RANGES else 1,
    )


def check_not_input(video, out):
    # type: (str, str) -> None
    """Refuse an output that is the input video itself: the same path, the same file through
    another path or a symbolic link, or a hard link to it (same device and inode)."""
    try:
        same = os.path.samefile(video, out)
    except OSError:  # one of them does not exist (yet): they cannot be the same file
        same = False
    if same:
        raise AsciiVideoError(
            "%s: is the input video %s itself; choose another output file" % (out, video)
        )


def _convert_sequential(video, columns, rows, lut, handle, bar):
    # type: (str, int, int, np.ndarray, object, ProgressBar) -> int
    """One decode of the whole video in this process (no seeking at all)."""
    worker.init_progress([0], 0, bar.update)
    job = worker.Job(0, video, 0, 0, True, columns, rows, lut.tobytes())
    result = worker.run_chunk(job)
    handle.write(result.text)  # type: ignore
    bar.update(result.count, force=True)
    return int(result.count)


def _convert_ranges(video, ranges, columns, rows, lut, workers, handle, bar):
    # type: (str, list, int, int, np.ndarray, int, object, ProgressBar) -> int
    """Workers decode their own ranges; the parent checks each boundary and writes in order."""
    context = _mp_context()
    jobs = [
        worker.Job(i, video, start, stop, i == len(ranges) - 1, columns, rows, lut.tobytes())
        for i, (start, stop) in enumerate(ranges)
    ]
    count = min(workers, len(jobs))
    progress = context.Array("l", count, lock=False)  # type: ignore  # slot k: worker k's frames
    previous = None
    total = 0
    with WorkerSet(context, jobs, count, progress) as crew:
        for result in crew.results(on_wait=lambda: bar.update(sum(progress))):  # type: ignore
            if previous is not None:
                planned = jobs[result.index - 1].stop - jobs[result.index - 1].start
                reason = plan.check_boundary(previous, result, planned)
                if reason is not None:
                    raise SeekNotExact(reason)
            handle.write(result.text)  # type: ignore
            total += result.count
            previous = result
    return total
