"""Benchmark: one three-target `bundler fetch` versus three one-target fetches (and versus
`pex3 download` with the same three platforms), cold and warm, in the same run.

    A  bundler fetch --target T1 --target T2 --target T3      (one wheelhouse, one pool)
    B  bundler fetch --target T1; ... --target T3              (three wheelhouses, one after
                                                                the other, one shared cache)
    C  pex3 download -d DIR --platform P1 --platform P2 --platform P3 --no-build
                                                               (pex-tool/pex#2791: several
                                                                platforms in one run; no lock,
                                                                manifest, audit or installer)

Each is run cold (an empty cache of its own: bundler's --cache-dir, pex's --pex-root), then warm
(the same cache again, a new output folder). bundler runs with its audit and without the
install rehearsal (--no-rehearse: the rehearsal needs each target's interpreter, which pex has
no counterpart of). Printed: wall seconds of each, the ratios A/B and A/(B's first one-target
fetch), what bounds that ratio (the files the targets share, the wheels and pages the cold A
and the cold B1 downloaded, from their caches), and the goal of issue #16 — "three targets
cost at most 1.5x one target's cold time" — printed as met or not, never asserted. The load
average is printed: the machine may be shared (compare runs of the same day; `--runs N`
repeats and prints medians).

    .venv/bin/python benchmarks/fetch_targets.py [--runs 1] [--requirements 'numpy opencv-python']
        [--targets 3.6.15/manylinux1,3.11.7/manylinux2014,3.8.18/manylinux2010/cp38] [--work DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
TARGETS = ("3.6.15/manylinux1", "3.11.7/manylinux2014", "3.8.18/manylinux2010/cp38")
REQUIREMENTS = "numpy opencv-python"
"""The converter's own Requires-Dist (converter/pyproject.toml): what pex can be given too."""


def pex_platform(spec: str) -> str:
    """'3.6.15/manylinux1' -> 'manylinux1_x86_64-cp-3.6.15-cp36m' (pex's --platform form)."""
    parts = spec.split("/")
    version, platform = parts[0], parts[1]
    major, minor = version.split(".")[:2]
    abi = parts[2] if len(parts) > 2 else f"cp{major}{minor}{'m' if int(minor) < 8 else ''}"
    return f"{platform}_x86_64-cp-{version}-{abi}"


def env() -> dict[str, str]:
    """This environment without pip configuration (this machine's would add sources)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PEX_"))}
    return {**clean, "PIP_CONFIG_FILE": os.devnull}


def timed(argv: list[str | Path]) -> float:
    start = time.monotonic()
    proc = subprocess.run([str(a) for a in argv], capture_output=True, text=True, env=env())
    took = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(map(str, argv))}\n{proc.stderr[-2000:]}")
    return took


def bundler(out: Path, cache: Path, reqs: list[str], targets: list[str]) -> list[str | Path]:
    argv: list[str | Path] = [BIN / "bundler", "fetch", *reqs, "-o", out, "--cache-dir", cache]
    for t in targets:
        argv += ["--target", t]
    return [*argv, "--no-rehearse"]


def pex(out: Path, root: Path, reqs: list[str], targets: list[str]) -> list[str | Path]:
    argv: list[str | Path] = [BIN / "pex3", "download", "-d", out, "--no-build"]
    for t in targets:
        argv += ["--platform", pex_platform(t)]
    return [*argv, "--pex-root", root, *reqs]


def stored(cache: Path, kind: str) -> tuple[int, int]:
    """(files, bytes) under a bundler cache's `kind` folder ('blobs': every wheel downloaded,
    for its metadata or the wheelhouse, speculative ones included; 'pages': every project
    page and .metadata body): what a cold fetch downloaded, as stored."""
    sizes = [f.stat().st_size for f in (cache / kind).rglob("*") if f.is_file()]
    return len(sizes), sum(sizes)


def shared_files(wheelhouse: Path) -> tuple[int, int, int]:
    """(files in the pool, files two or more targets lock, bytes of the pool) of a
    several-target wheelhouse (its top manifest.json)."""
    packages = json.loads((wheelhouse / "manifest.json").read_text())["packages"]
    both = sum(1 for p in packages if len(p["targets"]) > 1)
    return len(packages), both, sum(p["size"] for p in packages)


def wheelhouse_files(wheelhouse: Path) -> tuple[int, int]:
    """(files, bytes) of a one-target wheelhouse (its manifest.json)."""
    packages = json.loads((wheelhouse / "manifest.json").read_text())["packages"]
    return len(packages), sum(p["size"] for p in packages)


def one_round(work: Path, reqs: list[str], targets: list[str]) -> tuple[dict[str, float], str]:
    """Cold then warm of A, B (and its first fetch alone), C; seconds by row name, and what
    the cold A and B1 downloaded (one line)."""
    got: dict[str, float] = {}
    sizes = ""
    for temp in ("cold", "warm"):
        cache_a, cache_b, cache_c = work / "cache-a", work / "cache-b", work / "cache-c"
        if temp == "cold":
            for c in (cache_a, cache_b, cache_c):
                shutil.rmtree(c, ignore_errors=True)
        out = work / temp
        shutil.rmtree(out, ignore_errors=True)
        got[f"A three targets, one fetch ({temp})"] = timed(
            bundler(out / "a", cache_a, reqs, targets)
        )
        singles = []
        for i, t in enumerate(targets):
            singles.append(timed(bundler(out / f"b{i}", cache_b, reqs, [t])))
            if temp == "cold" and i == 0:
                sizes = downloaded(out, cache_a, cache_b)
        got[f"B1 one target, one fetch ({temp})"] = singles[0]
        got[f"B three one-target fetches ({temp})"] = sum(singles)
        got[f"C pex3 download, three platforms ({temp})"] = timed(
            pex(out / "c", cache_c, reqs, targets)
        )
    return got, sizes


def downloaded(out: Path, cache_a: Path, cache_b: Path) -> str:
    """What bounds A/B1: the files the targets share, and the wheels and pages the cold A and
    the cold B1 downloaded (B1's cache holds only its own fetch when it is read)."""
    pool, both, pool_bytes = shared_files(out / "a")
    one, one_bytes = wheelhouse_files(out / "b0")
    (a_wheels, a_wheel_bytes), (a_pages, a_page_bytes) = (
        stored(cache_a, "blobs"),
        stored(cache_a, "pages"),
    )
    (b_wheels, b_wheel_bytes), (b_pages, b_page_bytes) = (
        stored(cache_b, "blobs"),
        stored(cache_b, "pages"),
    )
    return (
        f"A's pool {pool} files {mib(pool_bytes)}, {both} of them locked by 2+ targets; "
        f"B1's wheelhouse {one} files {mib(one_bytes)}; downloaded cold: "
        f"A {a_wheels} wheels {mib(a_wheel_bytes)} + {a_pages} pages {mib(a_page_bytes)}, "
        f"B1 {b_wheels} wheels {mib(b_wheel_bytes)} + {b_pages} pages {mib(b_page_bytes)}"
    )


def mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--requirements", default=REQUIREMENTS)
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    reqs = args.requirements.split()
    targets = args.targets.split(",")
    work = args.work or Path(tempfile.mkdtemp(prefix="fetch-targets-"))
    done = [one_round(work, reqs, targets) for _ in range(args.runs)]
    rounds = [r for r, _ in done]
    median = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    one, five, fifteen = os.getloadavg()
    pex_version = subprocess.run(
        [str(BIN / "pex3"), "--version"], capture_output=True, text=True
    ).stdout.strip()
    print(
        f"fetch_targets, {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"{os.cpu_count()} cores, load average {one:.2f} {five:.2f} {fifteen:.2f}, "
        f"{args.runs} run(s) (median), pex {pex_version}"
    )
    print(f"requirements: {' '.join(reqs)}; targets: {', '.join(targets)}")
    width = max(len(k) for k in median)
    for key, seconds in median.items():
        print(f"  {key:<{width}}  {seconds:7.1f} s")
    for temp in ("cold", "warm"):
        a = median[f"A three targets, one fetch ({temp})"]
        b = median[f"B three one-target fetches ({temp})"]
        b1 = median[f"B1 one target, one fetch ({temp})"]
        c = median[f"C pex3 download, three platforms ({temp})"]
        print(f"  {temp}: A/B = {a / b:.2f}x, A/B1 = {a / b1:.2f}x, A/C = {a / c:.2f}x")
    if len(rounds) > 1:  # the same round's A and B1: paired, so the load they met is alike
        paired = [
            r["A three targets, one fetch (cold)"] / r["B1 one target, one fetch (cold)"]
            for r in rounds
        ]
        print("  cold A/B1 of each run: " + ", ".join(f"{x:.2f}x" for x in paired))
    lines = [sizes for _, sizes in done]
    for sizes in dict.fromkeys(lines):
        runs = ", ".join(str(i) for i, s in enumerate(lines, 1) if s == sizes)
        print(f"  run {runs}: {sizes}")
    ratio = median["A three targets, one fetch (cold)"] / median["B1 one target, one fetch (cold)"]
    verdict = "met" if ratio <= 1.5 else "NOT met"
    print(f"goal (issue #16): three targets cost at most 1.5x one target's cold time: "
          f"{ratio:.2f}x, {verdict}")  # fmt: skip
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
