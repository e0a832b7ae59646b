"""The benchmark script still runs (on whatever interpreter runs the suite: the kit's and 3.6.15).

Not a timed test: it only checks that a tiny run prints every measurement and ratio the
README quotes, so the script cannot rot unnoticed. The numbers themselves are never asserted.
"""

import os
import re
import subprocess
import sys

from avtestlib import CONVERTER, cli_env, ffmpeg

SCRIPT = os.path.join(CONVERTER, "benchmarks", "bench_convert.py")


def test_tiny_run_prints_every_figure():
    ffmpeg(["-version"])  # skips with the reason when ffmpeg is missing (the bench transcodes)
    proc = subprocess.run(
        [sys.executable, SCRIPT, "--frames", "96", "--ref-frames", "8", "--repeat", "2"]
        + ["--workers", "2", "--scaling", "1,2,4"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(),
        timeout=600,
    )
    out = proc.stdout.decode()
    assert proc.returncode == 0, out + proc.stderr.decode()
    assert re.search(r"^Python 3\.\d+\.\d+, numpy \S+, OpenCV \S+$", out, re.M), out
    for name in ("decode", "ref-1", "ascii-1", "ascii-2"):
        assert re.search(r"^  %s +\d+ frames/s +\(runs: \d+, \d+\)$" % name, out, re.M), out
    for pair in ("ascii-\\d+ +/ decode", "ascii-\\d+ +/ ref-1", "decode +/ ref-1"):
        assert re.search(r"^  %s += +[\d.]+ +\[ *[\d.]+\]" % pair, out, re.M), out
    rows = re.findall(r"^  workers +(\d+): (\d+) range\(s\), +[\d.]+ CPU s/1000 frames", out, re.M)
    assert [int(w) for w, _ in rows] == [1, 2, 4]
    assert int(rows[0][1]) == 1 and int(rows[2][1]) == 4  # 96 frames: room for 4 ranges of 16+
