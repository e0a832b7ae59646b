"""Benchmark: `bundler fetch` against pip download, uv and pex3 download, same sets, same run.

For every target (default 3.11/manylinux2014 and 3.6/manylinux1) and every requirement set
(default: `small`, the 8 packages of issue #17; `converter`, the converter's dependencies from
converter/pyproject.toml; `large`, ~90 packages), each tool gets its own empty cache (cold run),
then runs again with that cache (warm run); `--runs N` repeats the pair N times, alternating
the order of the tools, and the medians are printed. Tools (each as a new user would run it):

    pip       python -m pip download --only-binary=:all: --platform/--python-version/--abi
              (the .venv's pip; PIP_* variables and pip config dropped)
    uv        uv pip install --target DIR --python-version --python-platform --only-binary :all:
              (resolve + download + *install*: uv has no download command, astral-sh/uv#3163)
    pex       pex3 download -d DIR --platform PLATFORM-cp-X.Y.Z-ABI --no-build
    bundler   bundler fetch (with the audit, as `make fetch` runs it)
    bundler-no-audit   bundler fetch --no-audit

Plus, with bundler's warm cache, `bundler fetch --offline` of each set, and the start-up of
`bundler --help`. Printed per run: wall seconds, CPU seconds (user+sys of the child and its
children, from wait4), peak RSS (ru_maxrss of the child or its largest descendant), and whether
the tool's set is complete and correct for the target, judged by `check_set` below (with
`packaging`, independently of bundler's own code): every file carries a tag the target accepts,
every Requires-Python admits the target's full version, and every Requires-Dist that holds on
the target (markers evaluated for the target, extras followed) is present at an admitted
version. pip evaluates markers with the host interpreter (pypa/pip#11664), so its set can be
incomplete for another Python; uv cannot target manylinux1 (its lowest --python-platform is
x86_64-manylinux2014), so for a manylinux1 target its set is judged against manylinux1.

Goals of issue #17 (printed, never asserted): cold `bundler fetch` (audit included) <= 0.5x pip
download on every set and <= 1.0x uv on the large set; warm `--offline` re-fetch of the large
set < 1.0 s; `bundler --help` < 0.15 s. The machine this runs on may be shared: the spread of
the runs is printed next to each median.

    .venv/bin/python benchmarks/fetch_tools.py [--runs 3] [--targets 3.11/manylinux2014,...]
        [--sets small,converter,large] [--tools pip,uv,pex,bundler,bundler-no-audit]
        [--requirements 'a b' (a custom set)] [--index-url URL] [--work DIR]
"""

from __future__ import annotations

import argparse
import email.parser
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import tomllib
from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag, compatible_tags, cpython_tags, parse_tag
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PYPI = "https://pypi.org/simple/"

SMALL = ["requests", "rich", "jinja2", "pyyaml", "click", "attrs", "packaging", "tomli"]
"""Issue #17's 8 small packages."""

LARGE = {
    "3.11": ["jupyterlab==4.2.5"],
    # jupyterlab 3.x cannot be resolved for 3.6 from wheels alone (anyio -> sniffio ->
    # contextvars, an sdist-only backport): the classic Notebook 6.4 with widgets and the
    # scientific stack is the nearest large, wheel-only set for 3.6 (~85 packages).
    "3.6": [
        "notebook<6.5",
        "ipywidgets",
        "pandas",
        "matplotlib",
        "scikit-learn",
        "sphinx",
        "seaborn",
    ],
}

TOOLS = ("pip", "uv", "pex", "bundler", "bundler-no-audit")
LABELS = {
    "pip": "pip download",
    "uv": "uv pip install --target",
    "pex": "pex3 download",
    "bundler": "bundler fetch",
    "bundler-no-audit": "bundler fetch --no-audit",
}


# -- targets ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """What each tool is told, and what `check_set` judges against (built here with packaging,
    not with bundler's own Target, so the judge is independent of the code it judges)."""

    python: str
    """Full version, e.g. 3.6.15 (pip's and uv's bare '3.6' would mean 3.6.0)."""
    platform: str
    """manylinux1 | manylinux2010 | manylinux2014."""

    @property
    def short(self) -> str:
        return ".".join(self.python.split(".")[:2])

    @property
    def abi(self) -> str:
        major, minor = self.short.split(".")
        return f"cp{major}{minor}" + ("m" if int(minor) < 8 else "")

    @property
    def glibc_minor(self) -> int:
        return {"manylinux1": 5, "manylinux2010": 12, "manylinux2014": 17}[self.platform]

    @property
    def platforms(self) -> list[str]:
        """Best first: manylinux_2_N down to 2_5 with the legacy aliases (PEP 600), then
        linux_x86_64 (a wheel built on the host itself)."""
        legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
        out = []
        for minor in range(self.glibc_minor, 4, -1):
            out.append(f"manylinux_2_{minor}_x86_64")
            if minor in legacy:
                out.append(f"{legacy[minor]}_x86_64")
        return [*out, "linux_x86_64"]

    @property
    def tags(self) -> set[Tag]:
        version = tuple(int(x) for x in self.short.split("."))
        return set(cpython_tags(version, [self.abi], self.platforms)) | set(
            compatible_tags(version, f"cp{self.short.replace('.', '')}", self.platforms)
        )

    @property
    def markers(self) -> dict[str, str]:
        """PEP 508 environment of CPython `python` on x86_64 Linux."""
        return {
            "implementation_name": "cpython",
            "implementation_version": self.python,
            "os_name": "posix",
            "platform_machine": "x86_64",
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_system": "Linux",
            "platform_version": "",
            "python_full_version": self.python,
            "python_version": self.short,
            "sys_platform": "linux",
        }

    def __str__(self) -> str:
        return f"{self.python}/{self.platform}"


def make_target(spec: str) -> Target:
    """'3.11/manylinux2014' -> Target with the full version bundler uses for 'X.Y' (the newest
    release its source table knows), so that every tool is given the same full version."""
    python, _, platform = spec.partition("/")
    if python.count(".") == 1:
        from bundler.models.target import Target as BundlerTarget

        python = BundlerTarget.from_spec(python, platform or "manylinux2014").python_version
    return Target(python, platform or "manylinux2014")


# -- running one tool -------------------------------------------------------------------------


@dataclass
class Run:
    tool: str
    phase: str
    """cold | warm | offline"""
    seconds: float
    cpu: float
    """user + sys seconds of the child and the descendants it waited for"""
    rss_mb: float
    """peak resident set of the child or its largest descendant (ru_maxrss)"""
    ok: bool
    log: str


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without pip/uv/pex configuration (this machine's pip config adds local
    indexes and constraints), so each tool runs with its defaults."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "PEX_", "PYTHON"))
    }
    return {
        **env,
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "UV_NO_CONFIG": "1",
        "UV_PYTHON_DOWNLOADS": "never",
        **extra,
    }


def measure(cmd: Sequence[str | Path], log: Path) -> tuple[float, float, float, int]:
    """Run `cmd` with its output in `log`: (wall s, CPU s, peak RSS MB, exit code)."""
    with log.open("w") as out:
        start = time.perf_counter()
        proc = subprocess.Popen([str(c) for c in cmd], stdout=out, stderr=subprocess.STDOUT,
                                env=clean_env(), stdin=subprocess.DEVNULL)  # fmt: skip
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, code


def command(tool: str, target: Target, reqs: Sequence[str], out: Path, cache: Path,
            index: str, offline: bool = False) -> list[str | Path]:  # fmt: skip
    """The command line of `tool` for one fetch of `reqs` into `out` with cache `cache`."""
    if tool == "pip":
        return [
            sys.executable, "-m", "pip", "download", "--dest", out, "--only-binary=:all:",
            "--platform", f"{target.platform}_x86_64",
            "--python-version", target.python, "--implementation", "cp", "--abi", target.abi,
            "--cache-dir", cache, "--progress-bar", "off", "--index-url", index, *reqs,
        ]  # fmt: skip
    if tool == "uv":
        return [
            BIN / "uv", "pip", "install", "--no-config", "--target", out,
            "--python-version", target.python, "--python-platform", "x86_64-manylinux2014",
            "--only-binary", ":all:", "--cache-dir", cache, "--index-url", index, *reqs,
        ]  # fmt: skip
    if tool == "pex":
        platform = f"{target.platform}_x86_64-cp-{target.python}-{target.abi}"
        sources = ["--pypi"] if index == PYPI else ["--no-pypi", "--index", index]
        return [BIN / "pex3", "download", "-d", out, "--platform", platform, "--no-build",
                "--pex-root", cache, *sources, *reqs]  # fmt: skip
    if tool in ("bundler", "bundler-no-audit"):
        return [
            BIN / "bundler", "fetch", "--python", target.python, "--platform", target.platform,
            "--cache-dir", cache, "-o", out, "--index-url", index,
            *(["--no-audit"] if tool == "bundler-no-audit" else []),
            *(["--offline"] if offline else []), *reqs,
        ]  # fmt: skip
    raise ValueError(tool)


# -- judging a set ----------------------------------------------------------------------------


@dataclass
class Dist:
    name: str
    version: Version
    tags: frozenset[Tag]
    requires_python: str | None
    requires_dist: list[str]
    where: str


@dataclass
class Verdict:
    """What `check_set` found in one tool's output."""

    dists: dict[str, Dist]
    missing: list[str] = field(default_factory=list)
    """requirement (via whom) that holds on the target and nothing in the set satisfies"""
    rejected: list[str] = field(default_factory=list)
    """files the target cannot install (tags, Requires-Python)"""
    extra: list[str] = field(default_factory=list)
    """projects in the set that no requirement reaches on the target (e.g. the pip bootstrap)"""

    @property
    def ok(self) -> bool:
        return not self.missing and not self.rejected

    def summary(self) -> str:
        parts = ["complete" if not self.missing else f"MISSING {', '.join(self.missing[:3])}"]
        if len(self.missing) > 3:
            parts[0] += f" (+{len(self.missing) - 3})"
        if self.rejected:
            more = f" (+{len(self.rejected) - 2})" if len(self.rejected) > 2 else ""
            parts.append(f"TARGET REJECTS {', '.join(self.rejected[:2])}{more}")
        if self.extra:
            parts.append(f"extra: {', '.join(self.extra)}")
        return "; ".join(parts)


def read_dists(out: Path) -> dict[str, Dist]:
    """Every distribution in a tool's output: wheels (pip, pex, bundler) or installed
    *.dist-info directories (uv --target)."""
    dists: dict[str, Dist] = {}
    parser = email.parser.HeaderParser()
    for wheel in sorted(out.glob("*.whl")):
        name, version, _, tags = parse_wheel_filename(wheel.name)
        with zipfile.ZipFile(wheel) as zf:
            meta_name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
            meta = parser.parsestr(zf.read(meta_name).decode("utf-8", "replace"))
        dists[name] = Dist(name, version, tags, meta.get("Requires-Python"),
                           meta.get_all("Requires-Dist") or [], wheel.name)  # fmt: skip
    for info in sorted(out.glob("*.dist-info")):
        meta = parser.parsestr((info / "METADATA").read_text(encoding="utf-8", errors="replace"))
        wheel_file = parser.parsestr((info / "WHEEL").read_text(encoding="utf-8"))
        tags = frozenset(t for line in wheel_file.get_all("Tag") or [] for t in parse_tag(line))
        name = canonicalize_name(meta["Name"])
        dists[name] = Dist(name, Version(meta["Version"]), tags, meta.get("Requires-Python"),
                           meta.get_all("Requires-Dist") or [], info.name)  # fmt: skip
    return dists


def check_set(out: Path, target: Target, roots: Sequence[str]) -> Verdict:
    """Is the set in `out` complete and correct for `target`? (see the module docstring)"""
    dists = read_dists(out)
    verdict = Verdict(dists)
    accepted = target.tags
    full = Version(target.python)
    for dist in dists.values():
        if not dist.tags & accepted:
            verdict.rejected.append(f"{dist.where} (tags)")
        elif dist.requires_python and full not in SpecifierSet(dist.requires_python):
            verdict.rejected.append(f"{dist.where} (Requires-Python {dist.requires_python})")
    extras: dict[str, set[str]] = {}
    queue = [(Requirement(r), "requested") for r in roots]
    while queue:
        req, via = queue.pop(0)
        name = canonicalize_name(req.name)
        dist = dists.get(name)
        if dist is None:
            verdict.missing.append(f"{req} (via {via})")
            continue
        if not req.specifier.contains(dist.version, prereleases=True):
            verdict.missing.append(f"{req} (via {via}; the set has {dist.version})")
        new = set(req.extras) - extras.get(name, set())
        if name in extras and not new:
            continue
        extras.setdefault(name, set()).update(new)
        for line in dist.requires_dist:
            try:
                dep = Requirement(line)
            except InvalidRequirement:
                verdict.rejected.append(f"{dist.where} (unparsable Requires-Dist {line!r})")
                continue
            if _applies(dep.marker, target, {""} | extras[name]):
                queue.append((dep, name))
    verdict.extra = sorted(set(dists) - set(extras))
    return verdict


def _applies(marker: Marker | None, target: Target, extras: Iterable[str]) -> bool:
    return marker is None or any(
        marker.evaluate({**target.markers, "extra": extra}) for extra in extras
    )


# -- the benchmark ----------------------------------------------------------------------------


@dataclass
class Cell:
    """All runs of one tool on one set for one target."""

    runs: list[Run] = field(default_factory=list)
    verdict: Verdict | None = None

    def of(self, phase: str) -> list[Run]:
        return [r for r in self.runs if r.phase == phase]

    def median(self, phase: str) -> float | None:
        ok = [r.seconds for r in self.of(phase) if r.ok]
        return statistics.median(ok) if ok else None


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.work = work
        self.tools: list[str] = args.tools

    def one_set(self, target: Target, label: str, reqs: list[str]) -> dict[str, Cell]:
        cells = {tool: Cell() for tool in self.tools}
        for rep in range(self.args.runs):
            order = self.tools if rep % 2 == 0 else self.tools[::-1]
            base = self.work / f"{target.short}-{label}-{rep}"
            for tool in order:  # cold: each tool with its own empty cache
                run = self.fetch(tool, target, reqs, base, "cold")
                cells[tool].runs.append(run)
                if cells[tool].verdict is None and run.ok:
                    cells[tool].verdict = check_set(base / tool / "cold", target, reqs)
            for tool in order[::-1]:  # warm: the same caches, the other order
                cells[tool].runs.append(self.fetch(tool, target, reqs, base, "warm"))
            if "bundler" in cells:
                cells["bundler"].runs.append(
                    self.fetch("bundler", target, reqs, base, "offline", offline=True)
                )
            shutil.rmtree(base, ignore_errors=True)
        return cells

    def fetch(self, tool: str, target: Target, reqs: Sequence[str], base: Path, phase: str,
              offline: bool = False) -> Run:  # fmt: skip
        out = base / tool / phase
        out.parent.mkdir(parents=True, exist_ok=True)
        cmd = command(tool, target, reqs, out, base / tool / "cache", self.args.index_url,
                      offline=offline)  # fmt: skip
        log = base / f"{tool}-{phase}.log"
        seconds, cpu, rss, code = measure(cmd, log)
        text = log.read_text(errors="replace")
        if code != 0:
            # printed as it happens, before its set's table: say which set and run it was
            where = f"{base.name} (target-set-run)"
            print(f"  ! {where}: {LABELS[tool]} ({phase}) exited {code}: {_last_line(text)}",
                  flush=True)  # fmt: skip
        return Run(tool, phase, seconds, cpu, rss, code == 0, text)

    def help_runs(self) -> tuple[list[float], list[float]]:
        """`bundler --help` and, alternating with it, a bare `python -c pass` (the floor)."""
        log = self.work / "help.log"
        ours, floor = [], []
        for _ in range(self.args.help_runs):
            ours.append(measure([BIN / "bundler", "--help"], log)[0])
            floor.append(measure([sys.executable, "-c", "pass"], log)[0])
        return ours, floor


# -- printing ---------------------------------------------------------------------------------


def fmt(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def spread(runs: list[Run]) -> str:
    ok = sorted(r.seconds for r in runs if r.ok)
    if len(ok) < 2:
        return ""
    return f"[{ok[0]:.2f}-{ok[-1]:.2f}]"


def report(target: Target, label: str, reqs: list[str], cells: dict[str, Cell]) -> list[str]:
    head = f"== {target} ({target.abi}), set {label!r} ({len(reqs)} requirement(s)): "
    lines = [head + " ".join(reqs)]
    lines.append(
        f"  {'tool':26}{'cold s':>7} {'(range)':13}{'warm s':>7} {'(range)':13}"
        f"{'CPU s cold/warm':>16}{'RSS MB':>8}{'dists':>6}  set for the target"
    )
    for tool, cell in cells.items():
        cold, warm = cell.of("cold"), cell.of("warm")
        cpu = "/".join(fmt(statistics.median([r.cpu for r in rs]) if rs else None, 1)
                       for rs in (cold, warm))  # fmt: skip
        rss = max((r.rss_mb for r in cell.runs), default=None)
        verdict = cell.verdict
        count = len(verdict.dists) if verdict else 0
        failed = [r for r in cell.runs if not r.ok]
        judged = verdict.summary() if verdict else f"FAILED: {_last_line(failed[0].log)}"
        if verdict and failed:
            judged += f"; {len(failed)} run(s) failed"
        lines.append(
            f"  {LABELS[tool]:26}{fmt(cell.median('cold')):>7} {spread(cold):13}"
            f"{fmt(cell.median('warm')):>7} {spread(warm):13}{cpu:>16}{fmt(rss, 0):>8}"
            f"{count:>6}  {judged if verdict or failed else '-'}"
        )
    offline = cells["bundler"].of("offline") if "bundler" in cells else []
    if offline:
        lines.append(
            f"  {'bundler fetch --offline':26}{'':21}{fmt(cells['bundler'].median('offline')):>7}"
            f" {spread(offline):13}(warm cache, audit included)"
        )
    for ours in ("bundler", "bundler-no-audit"):
        if ours not in cells:
            continue
        for theirs in ("pip", "uv", "pex"):
            if theirs not in cells:
                continue
            ratios = [
                f"{phase} {ratio(cells[ours].median(phase), cells[theirs].median(phase))}"
                for phase in ("cold", "warm")
            ]
            lines.append(f"  ratio {LABELS[ours]} / {LABELS[theirs]}: {', '.join(ratios)}")
    if "bundler" in cells and cells["bundler"].verdict:
        base = set(cells["bundler"].verdict.dists)
        for tool, cell in cells.items():
            if tool.startswith("bundler") or cell.verdict is None:
                continue
            theirs = set(cell.verdict.dists)
            if theirs != base:
                only_t = ", ".join(sorted(theirs - base)) or "-"
                only_b = ", ".join(sorted(base - theirs)) or "-"
                lines.append(
                    f"  {LABELS[tool]} vs bundler: only theirs {only_t}; only ours {only_b}"
                )
    return lines


def _last_line(log: str) -> str:
    lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
    return (lines[-1] if lines else "?")[:160]


def ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or b is None or b == 0 else f"{a / b:.2f}x"


def goals(results: dict[tuple[str, str], dict[str, Cell]], help_median: float | None) -> list[str]:
    lines = ["== goals of issue #17 (medians of this run)"]
    for (target, label), cells in results.items():
        ours = cells.get("bundler")
        if ours is None:
            continue
        for theirs, limit in (("pip", 0.5), ("uv", 1.0)):
            if theirs not in cells or (theirs == "uv" and label != "large"):
                continue
            a, b = ours.median("cold"), cells[theirs].median("cold")
            met = "met" if a is not None and b and a / b <= limit else "NOT met"
            lines.append(
                f"  {target} {label}: cold bundler fetch / {LABELS[theirs]} = {ratio(a, b)}"
                f" (goal <= {limit}x): {met}"
            )
        if label == "large" and ours.median("offline") is not None:
            off = ours.median("offline")
            met = "met" if off is not None and off < 1.0 else "NOT met"
            lines.append(
                f"  {target} large: warm --offline re-fetch {fmt(off)} s (goal < 1.0 s): {met}"
            )
    if help_median is not None:
        met = "met" if help_median < 0.15 else "NOT met"
        lines.append(f"  bundler --help: {help_median:.3f} s (goal < 0.15 s): {met}")
    return lines


def converter_requirements() -> list[str]:
    data = tomllib.loads((REPO / "converter" / "pyproject.toml").read_text(encoding="utf-8"))
    return list(data["project"]["dependencies"])


def sets_for(target: Target, args: argparse.Namespace) -> list[tuple[str, list[str]]]:
    if args.requirements:
        return [("custom", args.requirements.split())]
    table: dict[str, Callable[[], list[str]]] = {
        "small": lambda: SMALL,
        "converter": converter_requirements,
        "large": lambda: LARGE.get(target.short, []),
    }
    return [(name, table[name]()) for name in args.sets if table[name]()]


def versions() -> str:
    def first_line(cmd: list[str | Path]) -> str:
        proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                              env=clean_env())  # fmt: skip
        return (proc.stdout or proc.stderr).strip().splitlines()[0] if proc.returncode == 0 else "?"

    pip = first_line([sys.executable, "-m", "pip", "--version"]).split(" from ")[0]
    uv = first_line([BIN / "uv", "--version"])
    pex = first_line([BIN / "pex3", "--version"])
    ours = first_line([BIN / "bundler", "--version"]).replace("bundler, version", "bundler")
    return f"{pip}; {uv}; pex {pex}; {ours}"


def machine_load() -> str:
    """Load averages and, where the kernel has PSI, the share of time runnable tasks waited
    for a CPU (/proc/pressure/cpu 'some avg60'): how busy the machine is while we measure."""
    one, five, fifteen = os.getloadavg()
    text = f"load average {one:.2f} {five:.2f} {fifteen:.2f}"
    try:
        fields = Path("/proc/pressure/cpu").read_text().split()
        avg60 = next(f.split("=")[1] for f in fields if f.startswith("avg60="))
        text += f", CPU pressure {avg60}% (PSI some avg60)"
    except (OSError, StopIteration):
        pass
    return text


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="cold+warm pairs per tool (median)")
    parser.add_argument("--targets", default="3.11/manylinux2014,3.6/manylinux1")
    parser.add_argument("--sets", default="small,converter,large")
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--requirements", help="one custom set instead of --sets (space-separated)")
    parser.add_argument("--index-url", default=PYPI, help="every tool's only index")
    parser.add_argument("--help-runs", type=int, default=10, help="timed `bundler --help` runs")
    parser.add_argument("--work", type=Path, help="work directory (default: a temporary one)")
    args = parser.parse_args(argv)
    args.targets = [make_target(t) for t in args.targets.split(",") if t]
    args.sets = [s for s in args.sets.split(",") if s]
    args.tools = [t for t in args.tools.split(",") if t]
    unknown = sorted(set(args.tools) - set(TOOLS)) + sorted(
        set(args.sets) - {"small", "converter", "large"}
    )
    if unknown:
        parser.error(f"unknown tool or set: {', '.join(unknown)}")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    work_root = args.work or Path(tempfile.mkdtemp(prefix="fetch-tools-"))
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
          f"{machine_load()} (a shared machine is noisy: compare medians of alternating runs "
          "and the CPU seconds)")  # fmt: skip
    print(f"tools: {versions()}; index {args.index_url}; {args.runs} cold+warm run(s) each")
    results: dict[tuple[str, str], dict[str, Cell]] = {}
    try:
        for target in args.targets:
            for label, reqs in sets_for(target, args):
                cells = Bench(args, work_root).one_set(target, label, reqs)
                results[(str(target), label)] = cells
                print("\n".join(report(target, label, reqs, cells)), flush=True)
        helps, floor = Bench(args, work_root).help_runs() if args.help_runs else ([], [])
        help_median = statistics.median(helps) if helps else None
        if helps:
            print(f"== bundler --help: median {help_median:.3f} s of {len(helps)} "
                  f"[{min(helps):.3f}-{max(helps):.3f}]; python -c pass in the same run: "
                  f"{statistics.median(floor):.3f} s")  # fmt: skip
        print("\n".join(goals(results, help_median)))
        print(f"at the end: {machine_load()}")
    finally:
        if args.work is None:
            shutil.rmtree(work_root, ignore_errors=True)


if __name__ == "__main__":
    main()
