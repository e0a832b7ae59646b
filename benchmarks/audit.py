"""Benchmark: `bundler audit` on the converter's real wheelhouse, per MB of wheels.

The wheelhouse is opencv-python 4.2.0.34 + numpy 1.19.5 for cp36m / manylinux1 (~41 MB zipped,
~95 MB of ELF objects inflated), downloaded once with `pip download` (PIP_CONFIG_FILE=/dev/null)
into ~/.cache/airgap-kit-bench/audit/ unless a directory is given.

Measured in the same run, interleaved, median of --runs:
- `audit`     : bundler.audit.audit_directory (the real thing, 2 threads);
- `cached`    : the same with a warm fact cache (a re-fetch: each wheel only hashed, its parsed
                ELF facts read back by sha256);
- `audit-1`   : the same with one thread (why the audit uses two);
- `inflate`   : only reading every ELF member of every wheel into memory (the floor: the zip
                must be inflated whatever parses it);
- `readelf`   : the approach avoided: extract every ELF member to disk and run
                `readelf -dW --version-info` on each (skipped when readelf is missing).

Printed: seconds, seconds per MB of wheels, ratios to `inflate` and `readelf`, and the goal
(whole audit < 2 s on this machine) as yes/no. Nothing is asserted.

    .venv/bin/python benchmarks/audit.py [DIR] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from bundler.audit import elf
from bundler.audit import report as audit
from bundler.fs.cache import Cache

GOAL_SECONDS = 2.0
WHEELS = ["opencv-python==4.2.0.34", "numpy==1.19.5"]
TARGET = ["--platform", "manylinux1_x86_64", "--python-version", "3.6"]
TARGET += ["--implementation", "cp", "--abi", "cp36m"]


def converter_wheelhouse() -> Path:
    """The cached wheelhouse, downloaded from PyPI on first use."""
    dest = Path.home() / ".cache" / "airgap-kit-bench" / "audit"
    if len(list(dest.glob("*.whl"))) >= len(WHEELS):
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:"]
    subprocess.run([*cmd, *TARGET, "-d", str(dest), *WHEELS], env=env, check=True)
    return dest


def inflate_only(directory: Path) -> None:
    for path in sorted(directory.glob("*.whl")):
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                with archive.open(info) as member:
                    head = member.read(4)
                    if elf.is_elf(head):
                        member.read()


def extract_and_readelf(directory: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for path in sorted(directory.glob("*.whl")):
            with zipfile.ZipFile(path) as archive:
                for info in archive.infolist():
                    with archive.open(info) as member:
                        if not elf.is_elf(member.read(4)):
                            continue
                    out = Path(archive.extract(info, tmp))
                    subprocess.run(
                        ["readelf", "-dW", "--version-info", str(out)],
                        check=True,
                        stdout=subprocess.DEVNULL,
                    )


def timed(func: Callable[[], object]) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", nargs="?", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    directory = args.directory or converter_wheelhouse()
    wheels = sorted(directory.glob("*.whl"))
    megabytes = sum(p.stat().st_size for p in wheels) / 1e6
    facts = Cache(Path(tempfile.mkdtemp(prefix="audit-bench-cache-")))
    cases: dict[str, Callable[[], object]] = {
        "audit": lambda: audit.audit_directory(directory, "centos7", workers=2),
        "cached": lambda: audit.audit_directory(directory, "centos7", workers=2, cache=facts),
        "audit-1": lambda: audit.audit_directory(directory, "centos7", workers=1),
        "inflate": lambda: inflate_only(directory),
    }
    if shutil.which("readelf"):
        cases["readelf"] = lambda: extract_and_readelf(directory)
    cases["audit"]()  # warm the page cache and imports once
    cases["cached"]()  # fills the fact cache: later `cached` runs only hash the wheels
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.runs):
        for name, func in cases.items():  # interleaved: machine noise hits every case alike
            times[name].append(timed(func))
    median = {name: statistics.median(values) for name, values in times.items()}

    print(f"wheelhouse: {directory} ({len(wheels)} wheels, {megabytes:.1f} MB zipped)")
    print(f"median of {args.runs} interleaved runs on {os.cpu_count()} cores:")
    for name, seconds in median.items():
        ratios = f"{seconds / median['inflate']:.2f}x inflate"
        if "readelf" in median:
            ratios += f", {seconds / median['readelf']:.2f}x readelf"
        print(f"  {name:8} {seconds:6.3f} s  {seconds / megabytes * 1000:6.1f} ms/MB  ({ratios})")
    verdict = "yes" if median["audit"] < GOAL_SECONDS else "NO"
    print(f"goal: whole audit < {GOAL_SECONDS:.0f} s: {verdict} ({median['audit']:.3f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
