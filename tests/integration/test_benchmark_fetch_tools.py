"""benchmarks/fetch_tools.py still runs, and its judge of a tool's set is right.

Not a timed test: a tiny run against the fake index (every tool, one target, one run) checks
that every figure the README quotes is printed; the numbers are never asserted. `check_set`,
which decides whether a tool's set is complete and correct for the target, is tested on
wheelhouses built here.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.fakeindex import FakeIndex, build_wheel

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "fetch_tools.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fetch_tools", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fetch_tools"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


ALPHA_DEPS = ['beta; python_version < "3.7"', "gamma[fast]>=1"]
"""alpha needs beta only below 3.7 (pip, judging markers on this 3.11 host, leaves it out)
and gamma with its extra 'fast', which adds delta."""


def _publish(index: FakeIndex) -> None:
    index.add_wheel("alpha", "1.0", requires_dist=ALPHA_DEPS)
    index.add_wheel("beta", "1.0")
    gamma_deps = ['delta; extra == "fast"']
    index.add_wheel("gamma", "1.0", tags="cp36-cp36m-manylinux1_x86_64", requires_dist=gamma_deps)
    index.add_wheel("delta", "2.0")


@pytest.mark.slow  # ~15 s: every tool runs cold and warm (pex bootstraps its own pip)
def test_tiny_run_prints_every_figure(fake_index: FakeIndex, tmp_path: Path) -> None:
    _publish(fake_index)
    proc = subprocess.run(
        [sys.executable, SCRIPT, "--index-url", fake_index.url, "--requirements", "alpha",
         "--targets", "3.6/manylinux1", "--runs", "1", "--help-runs", "2",
         "--work", tmp_path / "work"],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )  # fmt: skip
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert re.search(r"^== 3\.6\.15/manylinux1 \(cp36m\), set 'custom'.*: alpha$", out, re.M), out
    number = r"\d+\.\d\d"
    for label in ("pip download", "uv pip install --target", "pex3 download", "bundler fetch"):
        row = rf"^  {re.escape(label)} +{number} +{number} +[\d.]+/[\d.]+ +\d+ +\d+  \S"
        assert re.search(row, out, re.M), (label, out)
    assert re.search(rf"^  bundler fetch +{number} +{number} .* 4  complete$", out, re.M), out
    assert re.search(rf"^  bundler fetch --offline +{number} ", out, re.M), out
    for theirs in ("pip download", "uv pip install --target", "pex3 download"):
        ratio = rf"^  ratio bundler fetch / {re.escape(theirs)}: cold [\d.]+x, warm [\d.]+x$"
        assert re.search(ratio, out, re.M), out
    assert re.search(rf"^== bundler --help: median {number}\d s of 2 ", out, re.M), out
    assert "== goals of issue #17" in out
    assert not list((tmp_path / "work").glob("*-custom-0")), "the run's caches are removed"


def _house(tmp_path: Path, wheels: list[tuple[str, str, str, list[str], str | None]]) -> Path:
    house = tmp_path / "house"
    for name, version, tags, requires, requires_python in wheels:
        build_wheel(house, name, version, tags=tags, requires_dist=requires,
                    requires_python=requires_python)  # fmt: skip
    return house


def test_check_set_follows_target_markers_and_extras(bench: ModuleType, tmp_path: Path) -> None:
    house = _house(
        tmp_path,
        [
            ("alpha", "1.0", "py3-none-any", ALPHA_DEPS, None),
            ("gamma", "1.0", "cp36-cp36m-manylinux1_x86_64", ['delta; extra == "fast"'], None),
            ("delta", "2.0", "py3-none-any", [], None),
            ("unused", "1.0", "py3-none-any", [], None),
        ],
    )
    target = bench.Target("3.6.15", "manylinux1")
    verdict = bench.check_set(house, target, ["alpha"])
    assert verdict.missing == ['beta; python_version < "3.7" (via alpha)']
    assert verdict.rejected == []
    assert verdict.extra == ["unused"]
    assert not verdict.ok
    # for 3.11 beta is not needed: the same set is complete
    assert bench.check_set(house, bench.Target("3.11.15", "manylinux2014"), ["alpha"]).missing == []


def test_check_set_rejects_what_the_target_cannot_install(
    bench: ModuleType, tmp_path: Path
) -> None:
    house = _house(
        tmp_path,
        [
            ("alpha", "1.0", "py3-none-any", ["gamma<2", "beta"], None),
            ("gamma", "2.0", "cp36-cp36m-manylinux2014_x86_64", [], None),
            ("beta", "1.0", "py3-none-any", [], ">=3.7"),
        ],
    )
    verdict = bench.check_set(house, bench.Target("3.6.15", "manylinux1"), ["alpha"])
    assert verdict.missing == ["gamma<2 (via alpha; the set has 2.0)"]
    assert sorted(verdict.rejected) == [
        "beta-1.0-py3-none-any.whl (Requires-Python >=3.7)",
        "gamma-2.0-cp36-cp36m-manylinux2014_x86_64.whl (tags)",
    ]


def test_check_set_reads_an_installed_target_directory(bench: ModuleType, tmp_path: Path) -> None:
    """uv pip install --target leaves *.dist-info directories, not wheels."""
    import zipfile

    wheel = build_wheel(tmp_path / "w", "gamma", "1.0", tags="cp36-cp36m-manylinux2014_x86_64")
    installed = tmp_path / "target"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(installed)
    verdict = bench.check_set(installed, bench.Target("3.6.15", "manylinux1"), ["gamma"])
    assert list(verdict.dists) == ["gamma"]
    assert verdict.rejected == ["gamma-1.0.dist-info (tags)"]


def test_profile_fetch_counts_every_hash_pass(fake_index: FakeIndex, tmp_path: Path) -> None:
    """benchmarks/profile_fetch.py on a tiny fetch: the stages and each sha256 pass show.

    Like the index this machine reaches, the fake one serves no PEP 658 metadata here, so the
    resolver downloads each wheel for its metadata. Each wheel is hashed once, while it streams:
    the download step's cache hit of a blob this run adopted is copied as it is (a hit of an
    earlier run would be hashed while copied, and counted here) and the audit takes the known
    sha256 (benchmarks/PROFILE.md, finding 6; #17 review)."""
    fake_index.pep658 = False
    _publish(fake_index)
    proc = subprocess.run(
        [sys.executable, REPO / "benchmarks" / "profile_fetch.py", "--top", "5", "--",
         "--python", "3.6", "--index-url", fake_index.url, "--cache-dir", tmp_path / "cache",
         "-o", tmp_path / "out", "alpha"],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )  # fmt: skip
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert re.search(r"^ +[\d.]+ +resolve \(resolvelib \+ provider\)", out, re.M), out
    assert re.search(r"^ +[\d.]+ +audit +\(1 call", out, re.M), out
    # 4 wheels, each hashed once while streaming; the other whole-file passes: the
    # wheelhouse's own SHA256SUMS (#15), written last over the files fetch wrote itself (lock,
    # manifest, install.sh, ...), the wheels listed with their streamed digests (#17); and the
    # rehearsal's memo key (main e2172ef), over its own module, SHA256SUMS, the interpreter
    # and ld.so.cache — never a wheel
    passes = out.split("whole-file sha256 passes", 1)[1].split("\n\n", 1)[0].splitlines()[1:]
    rehearsal = [p for p in passes if re.match(r"^ +[1-4] x +[\d.]+ MiB  rehearse.py:", p)]
    assert len(passes) == 2 + len(rehearsal) and len(rehearsal) <= 1, out
    assert any(re.match(r"^ +4 x +[\d.]+ MiB  blobs.py:_adopt", p) for p in passes), out
    written = [
        p for p in (tmp_path / "out").iterdir() if p.suffix != ".whl" and p.name != "SHA256SUMS"
    ]
    assert written and len(list((tmp_path / "out").glob("*.whl"))) == 4
    sums_pass = rf"^ +{len(written)} x +[\d.]+ MiB  sums.py:"
    assert any(re.match(sums_pass, p) for p in passes), out


def test_spy_summary_charges_the_innermost_cost(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "spy_summary", REPO / "benchmarks" / "spy_summary.py"
    )
    assert spec is not None and spec.loader is not None
    spy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(spy)
    fetch = "fetch_cmd (bundler/cli/fetch_cmd.py:1);fetch (bundler/wheelhouse/fetch.py:2)"
    plan = "_plan (bundler/wheelhouse/fetch.py:3);Provider.releases_for (x:4)"
    wait = f"{fetch};{plan};Condition.wait (threading.py:5)"
    parse = "worker;_WorkItem.run (y:1);parse_json_page (bundler/index/pages.py:30)"
    assert spy.kind_of(wait) == "waiting (locks, futures, memo)"
    assert spy.classify(wait, spy.STAGES) == "resolve"
    assert spy.kind_of(parse) == "JSON page parsing"
    assert (
        spy.kind_of("_worker (concurrent/futures/thread.py:83)")
        == "idle pool thread (no work queued)"
    )
