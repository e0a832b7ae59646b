"""Benchmark: a delta kit's size (and time) against the full kit, and against a generic binary diff.

Two kits of the real payload for CPython 3.6.15 / manylinux1, packed with the repository's
playbooks and Vagrantfile (`--no-controller`; `--sources DIR` adds a sources/ folder, e.g. one
made by `bundler fetch-source python 3.6.15`):

- v1: the converter 0.1.0 with numpy and opencv-python (what `make fetch` bundles);
- v2, scenario `app` (default): the converter as its next release, 0.1.1, now also requiring
  `six` -- one upgrade, one extra package (the e2e test's pair);
- v2, scenario `opencv` (`--scenario opencv` or `all`): the converter unchanged but
  opencv-python pinned to another release (4.1.2.30): the largest wheel changes, so the delta
  cannot save much -- the honest worst case.

Printed per scenario: the full v2 archive and the delta (bytes, ratio, saved), `pack` vs
`pack --base` and `unpack` of the full kit vs `unpack --onto` (median wall seconds of --runs),
and the yardstick measured in the same run: `xdelta3 -9 -e -s v1 v2` (VCDIFF, RFC 3284) of the
two compressed archives and of the two uncompressed tar streams (the best a generic binary
diff can do, if the far side keeps the old tar). Goal (printed, never asserted): the `app`
delta <= 5% of the full kit.

    .venv/bin/python benchmarks/delta_size.py [--scenario app|opencv|all] [--runs 3]
        [--sources DIR] [--cache-dir DIR]

Needs the network (PyPI) unless the cache already holds the wheels; xdelta3 from Debian's
package of that name (scripts/setup-dev.sh installs it).
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUNDLER = [sys.executable, "-m", "bundler"]
TARGET = ["--python", "3.6.15", "--platform", "manylinux1"]
OPENCV_OTHER = "opencv-python==4.1.2.30"
"""Another opencv-python release with a cp36m manylinux1 wheel (v1 gets 4.2.0.34)."""


def run(cmd: Sequence[str | Path], cwd: Path | None = None) -> float:
    """Wall seconds of one command (it must succeed)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    start = time.perf_counter()
    proc = subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, cwd=cwd,
        env={**env, "PIP_CONFIG_FILE": os.devnull},
    )  # fmt: skip
    took = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(map(str, cmd))}\n{proc.stdout}\n{proc.stderr}")
    return took


def converter_011(dest: Path) -> Path:
    """The converter as its next release: 0.1.1, `six` added to its dependencies."""
    junk = shutil.ignore_patterns(
        "tests", "benchmarks", ".*", "__pycache__", "*.pyc", "*.egg-info", "build", "dist"
    )
    shutil.copytree(REPO / "converter", dest, ignore=junk)
    pyproject = dest / "pyproject.toml"
    text = pyproject.read_text().replace('version = "0.1.0"', 'version = "0.1.1"')
    pyproject.write_text(
        text.replace('["numpy", "opencv-python"]', '["numpy", "opencv-python", "six"]')
    )
    return dest


def pack_args(wheelhouse: Path, sources: Path, output: Path) -> list[str | Path]:
    return [
        *BUNDLER, "pack", "--wheelhouse", wheelhouse, "--sources", sources,
        "--playbooks", REPO / "playbooks", "--vagrantfile", REPO / "Vagrantfile",
        "--no-controller", "-o", output,
    ]  # fmt: skip


def median(values: list[float]) -> float:
    return statistics.median(values)


def xdelta(old: Path, new: Path, out: Path) -> int:
    """Bytes of `xdelta3 -9 -e -s OLD NEW` (VCDIFF)."""
    run(["xdelta3", "-f", "-9", "-e", "-s", old, new, out])
    return out.stat().st_size


def gunzip(src: Path, dest: Path) -> Path:
    with gzip.open(src, "rb") as f, dest.open("wb") as out:
        shutil.copyfileobj(f, out, 1 << 20)
    return dest


def mib(n: int) -> str:
    return f"{n / (1 << 20):.2f} MiB"


def scenario(name: str, work: Path, v1: Path, sources: Path, cache: list[str], runs: int) -> None:
    wh2 = work / f"wh2-{name}"
    if name == "app":
        project = converter_011(work / "converter-0.1.1")
        run([*BUNDLER, "fetch", *TARGET, "--no-rehearse", *cache, "--project", project, "-o", wh2])
    else:
        local = work / "local-wheel"
        run([*BUNDLER, "fetch", *TARGET, "--no-rehearse", *cache, "-o", work / "wh-tmp"])
        local.mkdir(exist_ok=True)
        for wheel in (work / "wh-tmp").glob("asciivideo-*.whl"):
            shutil.copy2(wheel, local)
        run([
            *BUNDLER, "fetch", *TARGET, "--no-rehearse", *cache, "--find-links", local, "-o", wh2,
            "asciivideo==0.1.0", OPENCV_OTHER,
        ])  # fmt: skip
    full_times, delta_times, unpack_full, unpack_delta = [], [], [], []
    full = delta = work / "none"
    for i in range(runs):
        out = work / f"{name}-{i}"
        full = out / "full" / "kit-converter.tar.gz"
        full_times.append(run(pack_args(wh2, sources, full)))
        with_base = out / "base" / "kit-converter.tar.gz"
        delta_times.append(run([*pack_args(wh2, sources, with_base), "--base", v1]))
        delta = with_base.with_name("kit-converter.delta.tar.gz")
        unpack_full.append(run([*BUNDLER, "unpack", full, "-o", out / "far-full"]))
        unpack_delta.append(
            run([*BUNDLER, "unpack", delta, "--onto", work / "far-v1", "-o", out / "far-delta"])
        )
    full_size, delta_size = full.stat().st_size, delta.stat().st_size
    x_gz = xdelta(v1, full, work / f"{name}.gz.vcdiff")
    x_tar = xdelta(
        gunzip(v1, work / "v1.tar"), gunzip(full, work / f"{name}.tar"), work / f"{name}.vcdiff"
    )
    print(f"\n== scenario {name}: v1 -> v2 "
          f"({'converter 0.1.1 + six' if name == 'app' else OPENCV_OTHER})")  # fmt: skip
    saved = 100 * (1 - delta_size / full_size)
    print(f"full v2 kit:        {full_size:>11} bytes ({mib(full_size)})")
    print(f"delta kit:          {delta_size:>11} bytes ({mib(delta_size)}): ", end="")
    print(f"{delta_size / full_size:.4f}x the full kit, {saved:.1f}% saved")
    print(f"xdelta3 of .tar.gz: {x_gz:>11} bytes ({x_gz / full_size:.4f}x)  [yardstick]")
    print(f"xdelta3 of .tar:    {x_tar:>11} bytes ({x_tar / full_size:.4f}x)  ", end="")
    print("[yardstick; the far side must keep the old uncompressed .tar]")
    print(f"pack: {median(full_times):.2f} s; ", end="")
    print(f"pack --base (full + delta): {median(delta_times):.2f} s")
    print(f"unpack full kit: {median(unpack_full):.2f} s; ", end="")
    print(f"unpack --onto v1: {median(unpack_delta):.2f} s")
    if name == "app":
        ratio = delta_size / full_size
        verdict = "met" if ratio <= 0.05 else "NOT met"
        print(f"goal: app delta <= 5% of the full kit: {ratio:.2%} -> {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=["app", "opencv", "all"], default="app")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sources", type=Path, default=None)
    parser.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args()
    if shutil.which("xdelta3") is None:
        sys.exit("xdelta3 is missing (apt-get install xdelta3; scripts/setup-dev.sh does)")
    cache = ["--cache-dir", str(args.cache_dir)] if args.cache_dir else []
    with tempfile.TemporaryDirectory(prefix="airgap-kit-bench-delta-") as tmp:
        work = Path(tmp)
        sources = args.sources or work / "no-sources"
        sources.mkdir(exist_ok=True)
        run([*BUNDLER, "fetch", *TARGET, "--no-rehearse", *cache, "-o", work / "wh1"])
        v1 = work / "v1" / "kit-converter.tar.gz"
        run(pack_args(work / "wh1", sources, v1))
        run([*BUNDLER, "unpack", v1, "-o", work / "far-v1"])
        names = ["app", "opencv"] if args.scenario == "all" else [args.scenario]
        print(f"v1 kit: {v1.stat().st_size} bytes ({mib(v1.stat().st_size)}); runs: {args.runs}")
        for name in names:
            scenario(name, work, v1, sources, cache, args.runs)


if __name__ == "__main__":
    main()
