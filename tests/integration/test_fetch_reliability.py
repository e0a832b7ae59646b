"""The output promises of `bundler fetch`, `fetch-source` and `verify --unpack` under kills,
full disks, read-only places and mount points (issue #10).

- SIGKILL / SIGINT at random points of a fetch over a previous wheelhouse: afterwards `-o` is
  the old or the new wheelhouse, complete; the next run leaves no `.part` file or work dir.
- A small tmpfs as `-o` (a mount point: staged inside it) and as the cache; read-only ones:
  exit 2, one line naming the path, `-o` unchanged, nothing half-written.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bundler.cli import main
from bundler.fs import sums
from bundler.fs.hashing import sha256_file
from bundler.models.target import Target
from bundler.net.settings import NetworkSettings
from bundler.wheelhouse.fetch import FetchOptions, fetch
from tests.childproc import DEFAULT_SIGINT
from tests.fakeindex import FakeIndex
from tests.unit.kit.handmade_kit import handmade_inputs, pack_inputs

REPO = Path(__file__).resolve().parents[2]
T36 = Target.from_spec("3.6", "manylinux1")
NAMES = [f"pkg{i}" for i in range(6)]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeIndex]:
    """Six 300 kB wheels (a download phase long enough to be hit) and a tiny one."""
    with FakeIndex(tmp_path_factory.mktemp("reliability") / "fakeindex") as fake:
        for name in NAMES:
            fake.add_wheel(name, "1.0", payload=300_000)
        fake.add_wheel("tiny", "0.3")
        yield fake


def _options(out: Path, cache: Path, url: str, *reqs: str) -> FetchOptions:
    return FetchOptions(
        target=T36,
        requirements=reqs,
        output=out,
        index_urls=(url,),
        cache_dir=cache,
        network=NetworkSettings(jobs=2, retries=0),
        audit=False,
    )


def _complete(wheelhouse: Path) -> set[str]:
    """The wheelhouse's package names, after checking it is complete (every file of its
    manifest present with its sha256, nothing else but the fixed files)."""
    manifest = json.loads((wheelhouse / "manifest.json").read_text())
    files = {p["filename"]: p["sha256"] for p in manifest["packages"]}
    for name, digest in files.items():
        assert sha256_file(wheelhouse / name) == digest, name
    fixed = {"manifest.json", "requirements.lock", "pylock.toml", "install.sh", sums.FILENAME}
    assert {p.name for p in wheelhouse.iterdir()} == set(files) | fixed
    assert sums.check_directory(wheelhouse) == []  # written last: it covers this fetch's files
    return {p["name"] for p in manifest["packages"]}


def _litter(root: Path) -> list[str]:
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.name.endswith(".part") or ".stage-" in p.name or ".fetch-" in p.name
    )


_CHILD = "import sys; from bundler.cli import main; sys.exit(main())"


@pytest.mark.parametrize(
    ("how", "seed"),
    [
        (signal.SIGKILL, 1),
        (signal.SIGKILL, 2),
        (signal.SIGKILL, 3),
        # tests/test_signals.py re-runs one SIGINT seed with SIGINT ignored (each costs ~10 s;
        # all three start the child the same way, through DEFAULT_SIGINT: only the moment differs)
        pytest.param(signal.SIGINT, 4, marks=pytest.mark.signals),
        (signal.SIGINT, 5),
        (signal.SIGINT, 6),
    ],
)
def test_a_kill_leaves_the_old_or_the_new_wheelhouse(
    tmp_path: Path, index: FakeIndex, how: int, seed: int
) -> None:
    out, cache = tmp_path / "wh", tmp_path / "cache"
    fetch(_options(out, cache, index.url, "tiny"))
    args = ["fetch", *NAMES, "--index-url", index.url, "--cache-dir", str(tmp_path / "c2")]
    args += ["--no-audit", "-o", str(out), "--jobs", "2"]
    child = subprocess.Popen(  # SIGINT at its default in the child (tests/childproc.py)
        [*DEFAULT_SIGINT, sys.executable, "-c", _CHILD, *args],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for_the_stage(tmp_path, child)
        time.sleep(random.Random(seed).uniform(0.0, 1.6))
        child.send_signal(how)
        _, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert b"Traceback" not in err
    assert _complete(out) in ({"tiny"}, set(NAMES))
    again = fetch(_options(out, tmp_path / "c2", index.url, *NAMES))
    assert _complete(again.output) == set(NAMES)
    assert _litter(tmp_path) == []


def _wait_for_the_stage(root: Path, child: subprocess.Popen[bytes]) -> None:
    """Until the child's fetch has made its stage (the random point is then inside the fetch,
    not in the interpreter's start-up, where Ctrl-C is Python's own traceback), at most 60 s."""
    deadline = time.monotonic() + 60
    while not any(".stage-" in p.name for p in root.iterdir()) and child.poll() is None:
        assert time.monotonic() < deadline, "the child's fetch never made its stage"
        time.sleep(0.01)


# -- full and read-only places ----------------------------------------------------------------


@pytest.fixture
def mount(tmp_path: Path) -> Iterator[object]:
    """mount(name, size, ro=False) -> a fresh tmpfs at tmp_path/name (unmounted afterwards)."""
    mounted: list[Path] = []

    def make(name: str, size: str, ro: bool = False, fill: Path | None = None) -> Path:
        where = tmp_path / name
        where.mkdir()
        options = f"size={size}"
        subprocess.run(["mount", "-t", "tmpfs", "-o", options, "i10a-t", str(where)], check=True)
        mounted.append(where)
        if fill is not None:
            shutil.copytree(fill, where, dirs_exist_ok=True)
        if ro:
            subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)
        return where

    yield make
    for where in reversed(mounted):
        subprocess.run(["umount", "-l", str(where)], check=False)


def _cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _one_line(result: Result, *needles: str) -> str:
    assert result.exit_code == 2, (result.output, result.exception)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bundler: error: "), lines
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): sha256_file(p) for p in root.rglob("*") if p.is_file()}


def _fetch_args(index: FakeIndex, out: Path, cache: Path, *reqs: str) -> list[str]:
    return ["fetch", *reqs, "--index-url", index.url, "--cache-dir", str(cache), "--no-audit",
            "-o", str(out), "--retries", "0"]  # fmt: skip


def test_a_mount_point_as_output_is_filled_then_replaced(
    tmp_path: Path, index: FakeIndex, mount: object
) -> None:
    usb = mount("i10a-usb", "4m")  # type: ignore[operator]
    first = _cli(*_fetch_args(index, usb, tmp_path / "cache", "tiny"))
    assert first.exit_code == 0, first.output
    assert _complete(usb) == {"tiny"}
    second = _cli(*_fetch_args(index, usb, tmp_path / "cache", "pkg0"))
    assert second.exit_code == 0, second.output
    assert _complete(usb) == {"pkg0"}


def test_a_full_output_disk_is_one_line_and_keeps_the_old_wheelhouse(
    tmp_path: Path, index: FakeIndex, mount: object
) -> None:
    usb = mount("i10a-usb", "1m")  # type: ignore[operator]
    assert _cli(*_fetch_args(index, usb, tmp_path / "cache", "tiny")).exit_code == 0
    before = _tree(usb)
    result = _cli(*_fetch_args(index, usb, tmp_path / "cache", *NAMES))
    _one_line(result, str(usb), "No space left on device (ENOSPC)")
    assert _tree(usb) == before and _litter(usb) == []


def test_a_full_cache_is_one_line(tmp_path: Path, index: FakeIndex, mount: object) -> None:
    cache = mount("i10a-cache", "512k")  # type: ignore[operator]
    result = _cli(*_fetch_args(index, tmp_path / "wh", cache, *NAMES))
    _one_line(result, str(cache), "No space left on device (ENOSPC)")
    assert not (tmp_path / "wh").exists() and _litter(tmp_path) == []
    for blob in (cache / "blobs").rglob("*"):
        assert not blob.is_file() or sha256_file(blob) == blob.name


def test_read_only_output_and_cache_are_one_line(
    tmp_path: Path, index: FakeIndex, mount: object
) -> None:
    good = _cli(*_fetch_args(index, tmp_path / "wh", tmp_path / "cache", "tiny"))
    assert good.exit_code == 0
    ro_out = mount("i10a-ro-out", "1m", ro=True, fill=tmp_path / "wh")  # type: ignore[operator]
    before = _tree(ro_out)
    result = _cli(*_fetch_args(index, ro_out, tmp_path / "cache", "tiny"))
    _one_line(result, str(ro_out), "Read-only file system (EROFS)")
    assert _tree(ro_out) == before
    ro_parent = mount("i10a-ro-parent", "1m", ro=True)  # type: ignore[operator]
    result = _cli(*_fetch_args(index, ro_parent / "wh", tmp_path / "cache", "tiny"))
    _one_line(result, str(ro_parent), "Read-only file system (EROFS)")
    ro_cache = mount("i10a-ro-cache", "1m", ro=True)  # type: ignore[operator]
    result = _cli(*_fetch_args(index, tmp_path / "wh2", ro_cache, "tiny"))
    _one_line(result, str(ro_cache), "Read-only file system (EROFS)")
    assert not (tmp_path / "wh2").exists()


def test_fetch_source_into_full_or_read_only_places(tmp_path: Path, mount: object) -> None:
    tarball = tmp_path / "Python-9.9.9.tgz"
    tarball.write_bytes(random.Random(0).randbytes(700_000))
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    args = ["fetch-source", "python", "9.9.9", "--from", str(tarball), "--sha256", digest]
    full = mount("i10a-src-full", "256k")  # type: ignore[operator]
    _one_line(_cli(*args, "-o", str(full / "sources")), "No space left on device (ENOSPC)")
    assert _litter(full) == [] and not list(full.rglob("*.tgz"))
    ro = mount("i10a-src-ro", "256k", ro=True)  # type: ignore[operator]
    _one_line(_cli(*args, "-o", str(ro / "sources")), str(ro), "Read-only file system (EROFS)")
    ok = _cli(*args, "-o", str(tmp_path / "sources"))
    assert ok.exit_code == 0 and sha256_file(tmp_path / "sources" / tarball.name) == digest


def test_verify_unpack_into_full_or_read_only_places(tmp_path: Path, mount: object) -> None:
    kit = pack_inputs(handmade_inputs(tmp_path / "in"), tmp_path / "out" / "kit-demo.tar.gz")
    full = mount("i10a-unpack-full", "16k")  # type: ignore[operator]
    result = _cli("verify", str(kit.archive), "--unpack", str(full / "kits"))
    _one_line(result, str(full), "No space left on device (ENOSPC)")
    assert list(full.iterdir()) == []
    ro = mount("i10a-unpack-ro", "1m", ro=True)  # type: ignore[operator]
    result = _cli("verify", str(kit.archive), "--unpack", str(ro / "kits"))
    _one_line(result, str(ro), "Read-only file system (EROFS)")


def test_verify_unpack_of_a_truncated_archive_leaves_nothing(tmp_path: Path) -> None:
    kit = pack_inputs(handmade_inputs(tmp_path / "in"), tmp_path / "out" / "kit-demo.tar.gz")
    data = kit.archive.read_bytes()
    cut = tmp_path / "cut" / "kit-demo.tar.gz"
    cut.parent.mkdir()
    cut.write_bytes(data[: len(data) * 2 // 3])
    result = _cli("verify", str(cut), "--unpack", str(tmp_path / "dest" / "kits"))
    assert result.exit_code != 0 and list((tmp_path / "dest").iterdir()) == []
    _one_line(result, "damaged archive")
