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


def main():
    # type: () -> int
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=6572)
    parser.add_argument("--ref-frames", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--width", type=int, default=80, help="text columns (default 80)")
    parser.add_argument("--workers", default=None, help="comma list (default 1,2,CPUs,2*CPUs)")
    args = parser.parse_args()
    global COLUMNS, ROWS
    COLUMNS, ROWS = geometry(480, 360, args.width)
    cpus = default_workers()
    counts = (
        sorted({1, 2, cpus, 2 * cpus})
        if args.workers is None
        else [int(w) for w in args.workers.split(",")]
    )
    tmp = tempfile.mkdtemp(prefix="asciivideo-bench-")
    try:
        clip = make_clip(tmp, args.frames)
        out = os.path.join(tmp, "out.txt")
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
        print(
            "clip: %s, %d frames 480x360 -> %dx%d text; %d CPUs; median of %d runs"
            % (os.path.basename(clip), args.frames, COLUMNS, ROWS, cpus, args.repeat)
        )
        for name, _ in runs:
            print(
                "  %-10s %8.0f frames/s   (runs: %s)"
                % (name, rate[name], ", ".join("%.0f" % v for v in samples[name]))
            )
        best = "ascii-%d" % cpus
        print("ratios:")
        print(
            "  %s / decode          = %.2f   (goal >= 0.90)" % (best, rate[best] / rate["decode"])
        )
        print("  %s / ref-1           = %.1fx  (goal >= 15x)" % (best, rate[best] / rate["ref-1"]))
        print("  %s / ref-%d           = %.1fx" % (best, cpus, rate[best] / rate["ref-%d" % cpus]))
        for w in counts:
            print("  ascii-%d / ascii-1       = %.2f" % (w, rate["ascii-%d" % w] / rate["ascii-1"]))
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
