"""Throughput of `asciivideo convert` against its ceiling and against the original design.

Not a test: it prints frames/s and ratios measured in one run on this machine (medians of
interleaved repeats, since a shared machine is noisy). Usage, from the repository root:

    .venv/bin/python converter/benchmarks/bench_convert.py [--frames 6572] [--repeat 3]

Measures, on a synthetic 480x360 clip (`asciivideo sample`, transcoded to H.264 with
B-frames by ffmpeg when it is installed, like the original Bad Apple file):
  decode      cap.read() of every frame in one process: the ceiling
  ref-1       the original design: per-pixel Python brightness -> character loop, 1 process
  ref-N       the same with N processes, the parent decoding and pickling full frames to them
  ascii-W     asciivideo convert with W workers (1, 2, ..., the default = CPUs, and more)
The per-pixel reference is measured on the first --ref-frames frames only (it is ~50x slower).
"""

import argparse
import multiprocessing
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import asciivideo  # noqa: E402, F401, I001  (first: sets OpenCV/BLAS thread env before cv2)
import cv2  # noqa: E402
import numpy  # noqa: E402
from asciivideo.charmap import DEFAULT_CHARSET, geometry  # noqa: E402
from asciivideo.convert import convert, default_workers  # noqa: E402
from asciivideo.sample import write_sample  # noqa: E402

COLUMNS, ROWS = 80, 30  # --width 80 on a 480x360 clip (rows: auto), set in main()


def make_clip(directory, frames):
    # type: (str, int) -> str
    mjpg = os.path.join(directory, "sample.avi")
    write_sample(mjpg, frames=frames, size=(480, 360))
    if shutil.which("ffmpeg") is None:
        return mjpg
    h264 = os.path.join(directory, "sample.mp4")
    subprocess.check_call(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-y",
            "-i",
            mjpg,
            "-c:v",
            "libx264",
            "-preset",
            "fast",
            "-bf",
            "3",
            "-pix_fmt",
            "yuv420p",
            h264,
        ]
    )
    return h264


def decode_only(path, limit=None):
    # type: (str, object) -> int
    cap = cv2.VideoCapture(path)
    count = 0
    while limit is None or count < limit:
        ok, _ = cap.read()
        if not ok:
            break
        count += 1
    cap.release()
    return count


def reference_frame(frame):
    # type: (object) -> str
    """The original design, as such scripts are usually written: gray, resize, then a Python
    loop indexing every pixel of the numpy array and concatenating characters."""
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)  # type: ignore
    small = cv2.resize(gray, (COLUMNS, ROWS))
    text = ""
    for y in range(ROWS):
        for x in range(COLUMNS):
            text += DEFAULT_CHARSET[int(small[y, x] / 256 * len(DEFAULT_CHARSET))]
        text += "\n"
    return text


def reference(path, limit, processes):
    # type: (str, int, int) -> int
    cap = cv2.VideoCapture(path)

    def frames():
        for _ in range(limit):
            ok, frame = cap.read()
            if not ok:
                return
            yield frame

    count = 0
    if processes == 1:
        for frame in frames():
            reference_frame(frame)
            count += 1
    else:
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            for _ in pool.imap(reference_frame, frames(), chunksize=8):
                count += 1
    cap.release()
    return count


def measure(run):
    # type: (object) -> float
    started = time.monotonic()
    frames = run()  # type: ignore
    return frames / (time.monotonic() - started)


def cpu_seconds():
    # type: () -> float
    """CPU time of this process (with FFmpeg's threads) and of its reaped children (workers)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def versions():
    # type: () -> str
    return "Python %s, numpy %s, OpenCV %s" % (
        platform.python_version(),
        numpy.__version__,
        cv2.__version__,
    )


def throughput(clip, out, args, cpus, counts):
    # type: (str, str, argparse.Namespace, int, list) -> None
    runs = [("decode", lambda: decode_only(clip))]
    runs.append(("ref-1", lambda: reference(clip, args.ref_frames, 1)))
    runs.append(("ref-%d" % cpus, lambda: reference(clip, args.ref_frames, cpus)))
    for w in counts:
        runs.append(
            (
                "ascii-%d" % w,
                lambda w=w: convert(clip, out, width=COLUMNS, workers=w, progress=False).frames,
            )
        )
    samples = {name: [] for name, _ in runs}  # type: dict
    for _ in range(args.repeat):
        for name, run in runs:  # interleaved, so machine noise hits every variant alike
            samples[name].append(measure(run))
    rate = {name: statistics.median(values) for name, values in samples.items()}
    for name, _ in runs:
        print(
            "  %-10s %8.0f frames/s   (runs: %s)"
            % (name, rate[name], ", ".join("%.0f" % v for v in samples[name]))
        )

    def paired(a, b):
        # type: (str, str) -> float
        """Median of per-round ratios: each round ran a and b back to back, so a slow patch
        of the machine hits both; steadier than a ratio of medians."""
        return statistics.median(x / y for x, y in zip(samples[a], samples[b]))

    best = "ascii-%d" % cpus
    print("ratios (median of per-round ratios; ratio of medians in brackets):")
    for a, b, goal in (
        (best, "decode", "goal >= 0.90"),
        (best, "ref-1", "goal >= 15x"),
        (best, "ref-%d" % cpus, ""),
        ("decode", "ref-1", "single-process decode-only; N workers can go past it"),
    ):
        print("  %-8s / %-7s = %6.2f  [%6.2f]  %s" % (a, b, paired(a, b), rate[a] / rate[b], goal))
    for w in counts:
        name = "ascii-%d" % w
        print(
            "  %-8s / ascii-1 = %6.2f  [%6.2f]"
            % (name, paired(name, "ascii-1"), rate[name] / rate["ascii-1"])
        )


def scaling(clip, out, workers_list):
    # type: (str, str, list) -> None
    """What more workers cost in CPU: each extra range means one more seek, and a seek decodes
    from the keyframe before it. On a host with W free cores, W workers can be at most
    W / inflation times faster than one (memory bandwidth aside): that is the projection."""
    print("scaling (CPU seconds per 1000 frames, all processes; a host with W cores can run")
    print("W workers at most W / inflation times faster than 1: projected, not measured there):")
    base = None
    for w in workers_list:
        before = cpu_seconds()
        result = convert(clip, out, width=COLUMNS, workers=w, progress=False)
        per_k = (cpu_seconds() - before) * 1000.0 / result.frames
        base = per_k if base is None else base
        inflation = per_k / base
        print(
            "  workers %3d: %d range(s), %5.2f CPU s/1000 frames, inflation %.2f,"
            " projected <= %.1fx of 1 worker on %d cores"
            % (w, result.ranges, per_k, inflation, w / inflation, w)
        )


def main():
    # type: () -> int
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=6572)
    parser.add_argument("--ref-frames", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--width", type=int, default=80, help="text columns (default 80)")
    parser.add_argument("--workers", default=None, help="comma list (default 1,2,CPUs,2*CPUs)")
    parser.add_argument(
        "--scaling",
        default="1,2,4,8,16,32",
        help="worker counts for the CPU-cost table ('' to skip; default 1,2,4,8,16,32)",
    )
    args = parser.parse_args()
    global COLUMNS, ROWS
    COLUMNS, ROWS = geometry(480, 360, args.width)
    cpus = default_workers()
    counts = (
        sorted({1, 2, cpus, 2 * cpus})
        if args.workers is None
        else sorted({1, cpus} | {int(w) for w in args.workers.split(",")})
    )
    tmp = tempfile.mkdtemp(prefix="asciivideo-bench-")
    try:
        clip = make_clip(tmp, args.frames)
        out = os.path.join(tmp, "out.txt")
        print(versions())
        print(
            "clip: %s, %d frames 480x360 -> %dx%d text; %d CPUs; median of %d interleaved rounds"
            % (os.path.basename(clip), args.frames, COLUMNS, ROWS, cpus, args.repeat)
        )
        throughput(clip, out, args, cpus, counts)
        if args.scaling:
            scaling(clip, out, [int(w) for w in args.scaling.split(",")])
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
