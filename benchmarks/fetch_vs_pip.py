"""Benchmark: `bundler fetch` against `pip download` for the same requirements and target.

Both tools run in the same session, each with its own fresh cache (cold), then again with that
cache warm; pip runs with PIP_CONFIG_FILE=/dev/null and no PIP_* variables (this machine's pip
config adds local indexes and constraints). Printed: wall times and ratios (bundler / pip), how
many packages each got, and whether each set installs offline on the real target interpreter
(pip's set is installed with the same bootstrapped pip, so only its *content* differs: pip
evaluates environment markers with the host interpreter, pypa/pip#11664). Also the warm
re-fetch of the converter's own tree (`bundler fetch` with no requirement).

The comparison with pip runs `bundler fetch --no-audit` (pip download has no audit); the
converter re-fetches include the audit, as `make fetch` does.

Goals (printed, never asserted): cold fetch <= 0.5x pip download; warm converter re-fetch < 2 s.

    .venv/bin/python benchmarks/fetch_vs_pip.py [--python 3.6] [--platform manylinux2014]
        [--runs 3] [--no-install] [--pip-first]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bundler.models.target import Target

REPO = Path(__file__).resolve().parents[1]
BUNDLER = [sys.executable, "-m", "bundler"]
# The converter's tree (numpy, opencv-python) plus common packages; black 22.8.0 has
# python_version markers that pip evaluates for the host instead of the target.
REQUIREMENTS = [
    "numpy",
    "opencv-python",
    "requests",
    "click",
    "PyYAML",
    "Jinja2",
    "attrs",
    "python-dateutil",
    "tqdm",
    "packaging",
    "black==22.8.0",
]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    return {**env, "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1", **extra}


def timed(
    cmd: Sequence[str | Path], **kw: object
) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)  # type: ignore[call-overload]
    return time.perf_counter() - start, proc


def pyenv_python(version: str) -> Path | None:
    root = (
        os.environ.get("PYENV_ROOT")
        or subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
    )
    short = ".".join(version.split(".")[:2])
    exe = Path(root) / "versions" / version / "bin" / f"python{short}"
    return exe if exe.exists() else None


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.bundler_cache = work / "bundler-cache"
        self.pip_cache = work / "pip-cache"
        self.runs = 0

    def bundler(
        self, out: str, *extra: str, audit: bool = False
    ) -> tuple[float, subprocess.CompletedProcess[str]]:
        """`bundler fetch`; without the audit unless asked (pip download has none)."""
        target = ["--python", self.args.python, "--platform", self.args.platform]
        cmd = [*BUNDLER, "fetch", *extra, *target, "-o", self.work / out]
        cmd += ["--cache-dir", self.bundler_cache, *([] if audit else ["--no-audit"])]
        seconds, proc = timed(cmd, env=clean_env())
        check(proc, "bundler fetch")
        return seconds, proc

    def pip(self, out: str) -> tuple[float, subprocess.CompletedProcess[str]]:
        # The same full version bundler targets (pip's own '3.6' would mean 3.6.0).
        target = Target.from_spec(self.args.python, self.args.platform)
        version, abi = target.python_version, target.abis[0]
        cmd = [
            sys.executable, "-m", "pip", "download", "--dest", self.work / out,
            "--only-binary=:all:", "--platform", f"{self.args.platform}_x86_64",
            "--python-version", version, "--implementation", "cp", "--abi", abi,
            "--cache-dir", self.pip_cache, "--progress-bar", "off", *REQUIREMENTS,
        ]  # fmt: skip
        seconds, proc = timed(cmd, env=clean_env())
        check(proc, "pip download")
        return seconds, proc


def check(proc: subprocess.CompletedProcess[str], what: str) -> None:
    if proc.returncode != 0:
        sys.exit(f"{what} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


def count_wheels(directory: Path) -> int:
    return len(list(directory.glob("*.whl")))


def installs(bench: Bench, python: Path) -> tuple[str, str]:
    """(bundler's set, pip's set): 'yes' or the reason it does not install offline."""
    work = bench.work
    bundler_venv = work / "venv-bundler"
    proc = subprocess.run(
        ["unshare", "-n", "sh", str(work / "b-cold" / "install.sh"), "--python", str(python),
         "--venv", str(bundler_venv)],
        capture_output=True, text=True, env=clean_env(),
    )  # fmt: skip
    ours = "yes" if proc.returncode == 0 else "no: " + last_line(proc)
    # pip's set with the same (bootstrapped) pip: only the content of the set differs.
    pip_venv = work / "venv-pip"
    subprocess.run([str(python), "-m", "venv", str(pip_venv)], check=True)
    boot = work / "b-cold" / "bootstrap.lock"
    if boot.exists():
        subprocess.run(
            ["unshare", "-n", str(pip_venv / "bin" / "python"), "-m", "pip", "install", "-q",
             "--no-index", "--find-links", str(work / "b-cold"), "--require-hashes",
             "-r", str(boot)],
            capture_output=True, text=True, env=clean_env(), check=True,
        )  # fmt: skip
    proc = subprocess.run(
        ["unshare", "-n", str(pip_venv / "bin" / "python"), "-m", "pip", "install",
         "--no-index", "--find-links", str(work / "p-cold"), *REQUIREMENTS],
        capture_output=True, text=True, env=clean_env(),
    )  # fmt: skip
    theirs = "yes" if proc.returncode == 0 else "no: " + last_line(proc)
    return ours, theirs


def last_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [ln.strip() for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]
    errors = [ln for ln in lines if "ERROR" in ln or "error" in ln or "Could not" in ln]
    return (errors or lines or ["?"])[0][:160]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default="3.6")
    parser.add_argument("--platform", default="manylinux2014")
    parser.add_argument("--runs", type=int, default=3, help="warm runs (median is reported)")
    parser.add_argument("--no-install", action="store_true", help="skip the install checks")
    parser.add_argument("--pip-first", action="store_true", help="run pip's cold fetch first")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="fetch-vs-pip-") as tmp:
        bench = Bench(args, Path(tmp))
        target = Target.from_spec(args.python, args.platform)
        print(f"target: --python {args.python} --platform {args.platform}: {target.describe()}")
        print(f"requirements ({len(REQUIREMENTS)}): {' '.join(REQUIREMENTS)}")
        order = ["pip", "bundler"] if args.pip_first else ["bundler", "pip"]
        cold: dict[str, float] = {}
        for tool in order:  # both caches start empty
            if tool == "bundler":
                cold[tool] = bench.bundler("b-cold", *REQUIREMENTS)[0]
            else:
                cold[tool] = bench.pip("p-cold")[0]
        warm_b, warm_p = [], []
        for i in range(args.runs):  # interleaved, each tool with its own warm cache
            warm_b.append(bench.bundler(f"b-warm{i}", *REQUIREMENTS)[0])
            warm_p.append(bench.pip(f"p-warm{i}")[0])
        conv: list[float] = []
        conv_offline: list[float] = []
        if (REPO / "converter" / "pyproject.toml").is_file():
            # builds the converter once (cached by source digest); the re-fetches are what
            # `make fetch` does again: with the audit
            bench.bundler("c-first", audit=True)
            for i in range(args.runs):
                conv.append(bench.bundler(f"c-warm{i}", audit=True)[0])
                conv_offline.append(bench.bundler(f"c-off{i}", "--offline", audit=True)[0])

        nb, np_ = count_wheels(bench.work / "b-cold"), count_wheels(bench.work / "p-cold")
        boot = bench.work / "b-cold" / "bootstrap.lock"
        nboot = (
            len([ln for ln in boot.read_text().splitlines() if "==" in ln]) if boot.exists() else 0
        )
        print()
        print(f"{'':24}{'bundler fetch':>16}{'pip download':>16}{'ratio':>8}")
        print(f"{'cold (s)':24}{cold['bundler']:>16.1f}{cold['pip']:>16.1f}"
              f"{cold['bundler'] / cold['pip']:>8.2f}   goal <= 0.50")  # fmt: skip
        mb, mp = statistics.median(warm_b), statistics.median(warm_p)
        print(f"{'warm, median (s)':24}{mb:>16.1f}{mp:>16.1f}{mb / mp:>8.2f}")
        print(f"{'wheels':24}{nb:>16}{np_:>16}   (bundler: {nboot} of them the pip bootstrap)")
        for label, runs in (("", conv), (" --offline", conv_offline)):
            if runs:
                print(f"warm re-fetch of the converter's tree{label}: median "
                      f"{statistics.median(runs):.2f} s (runs: "
                      f"{', '.join(f'{c:.2f}' for c in runs)})   goal < 2 s")  # fmt: skip
        if not args.no_install:
            python = pyenv_python("3.6.15") if args.python.startswith("3.6") else None
            if python is None:
                print("install check: skipped (needs pyenv 3.6.15 and --python 3.6)")
            else:
                ours, theirs = installs(bench, python)
                print(f"installs offline on {python.name} 3.6.15: bundler: {ours}")
                print(f"{'':36}pip download: {theirs}")
        only_pip = sorted(
            {p.name.split("-")[0].lower() for p in (bench.work / "p-cold").glob("*.whl")}
            ^ {p.name.split("-")[0].lower() for p in (bench.work / "b-cold").glob("*.whl")}
        )
        print(f"projects in only one of the two sets: {', '.join(only_pip) or 'none'}")


if __name__ == "__main__":
    main()
