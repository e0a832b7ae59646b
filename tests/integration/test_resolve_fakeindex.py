"""Index + resolve + download against the hermetic fake index (tests/fakeindex.py) on 127.0.0.1.

Cases from the issue: target markers vs host markers, abi3, manylinux fallback order,
Requires-Python, yanked, extras, conflicts, sdist-only, hash mismatch, offline re-resolution,
only the chosen wheels downloaded, clear errors for unknown packages and unreachable indexes.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from bundler.errors import (
    HashMismatch,
    IndexUnavailable,
    NoWheelForTarget,
    PackageNotFound,
    RequirementError,
    ResolutionConflict,
)
from bundler.fs.cache import Cache
from bundler.index.client import Index
from bundler.models.target import Target
from bundler.net.download import download_all
from bundler.net.settings import NetworkSettings
from bundler.net.transport import Transport
from bundler.resolve.model import Resolution
from bundler.resolve.provider import Provider
from bundler.resolve.resolver import resolve
from tests.childproc import DEFAULT_SIGINT
from tests.fakeindex import FakeIndex

CP36_ML1 = Target.from_spec("3.6.15", "manylinux1")
CP36_ML2014 = Target.from_spec("3.6.15", "manylinux2014")


pytestmark = pytest.mark.usefixtures("fast_retries")


def run(
    fake: FakeIndex, tmp_path: Path, target: Target, *lines: str, offline: bool = False
) -> Resolution:
    index = Index(
        [fake.url],
        [],
        Cache(tmp_path / "cache"),
        settings=NetworkSettings(offline=offline, retries=1),
    )
    return resolve([Requirement(x) for x in lines], target, index)


def chosen(res: Resolution) -> dict[str, str]:
    return {name: pin.file.filename for name, pin in res.pins.items()}


def test_target_markers_not_host_markers(fake_index: FakeIndex, tmp_path: Path) -> None:
    """black 22.8.0's shape: on 3.6 it needs dataclasses/typed-ast/typing-extensions, which a
    3.11 host (what `pip download --python-version 3.6` evaluates, pypa/pip#11664) drops."""
    fake_index.add_wheel(
        "black",
        "22.8.0",
        requires_dist=[
            "click>=8.0.0",
            "dataclasses>=0.6; python_version < '3.7'",
            "typed-ast>=1.4.2; python_version < '3.8' and implementation_name == 'cpython'",
            "typing-extensions>=3.10.0.0; python_version < '3.10'",
            "tomli>=1.1.0; python_full_version < '3.11.0a7'",
            "colorama>=0.4.3; extra == 'colorama'",
            "pywin32; sys_platform == 'win32' or platform_system == 'Windows'",
        ],
    )
    fake_index.add_wheel(
        "click", "8.0.4", requires_dist=["importlib-metadata; python_version < '3.8'"]
    )
    for name, version in [("dataclasses", "0.8"), ("tomli", "1.2.3"), ("colorama", "0.4.6"),
                          ("typing-extensions", "4.1.1"), ("importlib-metadata", "4.8.3"),
                          ("pywin32", "306")]:  # fmt: skip
        fake_index.add_wheel(name, version)
    fake_index.add_wheel("typed-ast", "1.5.5", tags="cp36-cp36m-manylinux1_x86_64")
    got = run(fake_index, tmp_path, CP36_ML1, "black==22.8.0")
    assert sorted(got.pins) == [
        "black",
        "click",
        "dataclasses",
        "importlib-metadata",
        "tomli",
        "typed-ast",
        "typing-extensions",
    ]
    assert got.chain("importlib-metadata") == ["black", "click", "importlib-metadata"]
    assert got.via("typing-extensions") == ["black"]


def test_abi3_wheel_for_cp36(fake_index: FakeIndex, tmp_path: Path) -> None:
    """opencv-python's shape: the newest release has only a cp36-abi3 manylinux2014 wheel."""
    fake_index.add_wheel("cv", "4.6", tags="cp36-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64")
    fake_index.add_wheel("cv", "4.5", tags="cp36-cp36m-manylinux2014_x86_64")
    fake_index.add_wheel("cv", "4.2", tags="cp36-cp36m-manylinux1_x86_64")
    fake_index.add_wheel("cv", "4.7", tags="cp37-abi3-manylinux2014_x86_64")  # needs >= 3.7
    got = run(fake_index, tmp_path, CP36_ML2014, "cv")
    assert chosen(got) == {"cv": "cv-4.6-cp36-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"}
    got = run(fake_index, tmp_path / "ml1", CP36_ML1, "cv")
    assert chosen(got) == {"cv": "cv-4.2-cp36-cp36m-manylinux1_x86_64.whl"}


def test_manylinux_fallback_order(fake_index: FakeIndex, tmp_path: Path) -> None:
    for tags in [
        "cp36-cp36m-manylinux1_x86_64",
        "cp36-cp36m-manylinux2010_x86_64",
        "cp36-cp36m-manylinux2014_x86_64",
        "py3-none-any",
    ]:
        fake_index.add_wheel("np", "1.19", tags=tags)
    fake_index.add_wheel("np", "1.20", tags="cp36-cp36m-manylinux_2_28_x86_64")
    fake_index.add_wheel("np", "1.21", tags="cp36-cp36m-manylinux2014_aarch64")
    ml2010 = Target.from_spec("3.6.15", "manylinux2010")
    expect = {
        CP36_ML2014: "np-1.19-cp36-cp36m-manylinux2014_x86_64.whl",
        ml2010: "np-1.19-cp36-cp36m-manylinux2010_x86_64.whl",
        CP36_ML1: "np-1.19-cp36-cp36m-manylinux1_x86_64.whl",
        Target.from_spec(
            "3.6.15", "manylinux_2_28"
        ): "np-1.20-cp36-cp36m-manylinux_2_28_x86_64.whl",
        Target.from_spec("3.6.15", "linux_x86_64"): "np-1.19-py3-none-any.whl",
    }
    for i, (target, filename) in enumerate(expect.items()):
        assert chosen(run(fake_index, tmp_path / str(i), target, "np")) == {"np": filename}


def test_requires_python_from_the_index(fake_index: FakeIndex, tmp_path: Path) -> None:
    fake_index.add_wheel("lib", "3.0", requires_python=">=3.7")
    fake_index.add_wheel("lib", "2.1", requires_python=">=3.6.16")  # the full version matters
    fake_index.add_wheel("lib", "2.0", requires_python=">=3.6, <4")
    assert chosen(run(fake_index, tmp_path, CP36_ML1, "lib")) == {"lib": "lib-2.0-py3-none-any.whl"}
    with pytest.raises(NoWheelForTarget, match=r"lib>=3.*excluded: requires Python >=3\.7"):
        run(fake_index, tmp_path, CP36_ML1, "lib>=3")


def test_requires_python_only_in_metadata(fake_index: FakeIndex, tmp_path: Path) -> None:
    """The index does not advertise it: the resolver learns it from metadata and backtracks."""
    fake_index.add_wheel("lib", "3.0", requires_python=">=3.7", advertise_requires_python=False)
    fake_index.add_wheel("lib", "2.0", requires_python=">=3.6")
    assert chosen(run(fake_index, tmp_path, CP36_ML1, "lib")) == {"lib": "lib-2.0-py3-none-any.whl"}


def test_yanked_only_when_pinned_exactly(fake_index: FakeIndex, tmp_path: Path) -> None:
    fake_index.add_wheel("lib", "2.0", yanked="broken build")
    fake_index.add_wheel("lib", "1.0")
    assert run(fake_index, tmp_path, CP36_ML1, "lib").pins["lib"].version.public == "1.0"
    pinned = run(fake_index, tmp_path, CP36_ML1, "lib==2.0").pins["lib"]
    assert pinned.version.public == "2.0" and pinned.file.yanked == "broken build"
    with pytest.raises(RequirementError, match=r"only yanked releases of lib match lib>=1\.5"):
        run(fake_index, tmp_path, CP36_ML1, "lib>=1.5")


def test_extras_over_http(fake_index: FakeIndex, tmp_path: Path) -> None:
    fake_index.add_wheel("req", "2.0", requires_dist=["socks>=1; extra == 'socks'", "idna"])
    fake_index.add_wheel("socks", "1.7")
    fake_index.add_wheel("idna", "3.0")
    got = run(fake_index, tmp_path, CP36_ML1, "Req[SOCKS]")
    assert sorted(got.pins) == ["idna", "req", "socks"]
    assert got.pins["req"].extras == frozenset({"socks"})
    assert got.edges() == [("req", "idna"), ("req", "socks")]


def test_conflict_names_both_sides(fake_index: FakeIndex, tmp_path: Path) -> None:
    fake_index.add_wheel("a", "1.0", requires_dist=["shared<2"])
    fake_index.add_wheel("b", "1.0", requires_dist=["shared>=2"])
    fake_index.add_wheel("shared", "1.5")
    fake_index.add_wheel("shared", "2.5")
    with pytest.raises(ResolutionConflict) as err:
        run(fake_index, tmp_path, CP36_ML1, "a", "b")
    message = str(err.value)
    assert "shared<2 (from a 1.0)" in message and "shared>=2 (from b 1.0)" in message
    assert "\n" not in message


def test_conflict_resolved_by_backtracking(fake_index: FakeIndex, tmp_path: Path) -> None:
    fake_index.add_wheel("a", "2.0", requires_dist=["shared<2"])
    fake_index.add_wheel("a", "1.0", requires_dist=["shared"])
    fake_index.add_wheel("b", "1.0", requires_dist=["shared>=2"])
    fake_index.add_wheel("shared", "1.5")
    fake_index.add_wheel("shared", "2.5")
    got = run(fake_index, tmp_path, CP36_ML1, "a", "b")
    assert {n: str(p.version) for n, p in got.pins.items()} == {
        "a": "1.0",
        "b": "1.0",
        "shared": "2.5",
    }


def test_sdist_only_names_the_chain_and_what_exists(fake_index: FakeIndex, tmp_path: Path) -> None:
    fake_index.add_wheel("app", "1.0", requires_dist=["mid"])
    fake_index.add_wheel("mid", "1.0", requires_dist=["leaf>=1"])
    fake_index.add_sdist("leaf", "1.2")
    fake_index.add_wheel("leaf", "1.2", tags="cp36-cp36m-manylinux2014_x86_64")
    fake_index.add_wheel("leaf", "1.2", tags="cp311-cp311-manylinux_2_17_x86_64")
    with pytest.raises(NoWheelForTarget) as err:
        run(fake_index, tmp_path, CP36_ML1, "app")
    message = str(err.value)
    assert message.startswith("leaf has no wheel for the target (CPython 3.6.15 (cp36m)")
    assert "required by app -> mid" in message
    assert "1.2 (sdist; wheels for cp36-cp36m, cp311-cp311 on" in message
    assert "try --platform manylinux2014" in message and "--build-pure" in message


def test_package_not_found_with_chain(fake_index: FakeIndex, tmp_path: Path) -> None:
    fake_index.add_wheel("app", "1.0", requires_dist=["ghost"])
    with pytest.raises(PackageNotFound, match=r"no package named 'ghost' .*required by app"):
        run(fake_index, tmp_path, CP36_ML1, "app")
    with pytest.raises(PackageNotFound, match=r"^no package named 'nothing' on http://127"):
        run(fake_index, tmp_path, CP36_ML1, "nothing")


def test_no_version_matches(fake_index: FakeIndex, tmp_path: Path) -> None:
    fake_index.add_wheel("lib", "1.0")
    with pytest.raises(
        RequirementError, match=r"no version of lib matches lib==9 .*available: 1\.0"
    ):
        run(fake_index, tmp_path, CP36_ML1, "lib==9")


def test_unreachable_index(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/simple/"
    index = Index(
        [url], [], Cache(tmp_path / "cache"), settings=NetworkSettings(retries=0, timeout=2)
    )
    with pytest.raises(IndexUnavailable, match=f"cannot reach {url}lib/"):
        resolve([Requirement("lib")], CP36_ML1, index)


def test_hash_mismatch_on_the_chosen_wheel(fake_index: FakeIndex, tmp_path: Path) -> None:
    fake_index.add_wheel("lib", "1.0", tamper=True)
    got = run(fake_index, tmp_path, CP36_ML1, "lib")  # PEP 658 metadata is intact
    with pytest.raises(HashMismatch, match=r"lib-1\.0-py3-none-any\.whl"):
        download_all(
            [p.file for p in got.pins.values()],
            tmp_path / "out",
            Cache(tmp_path / "c"),
            Transport(NetworkSettings()),
        )
    assert not (tmp_path / "out" / "lib-1.0-py3-none-any.whl").exists()


@pytest.mark.parametrize("pep658", [True, False], ids=["pep658", "wheel-metadata"])
def test_only_chosen_wheels_are_downloaded_and_offline_repeats(
    fake_index: FakeIndex, tmp_path: Path, pep658: bool
) -> None:
    fake_index.pep658 = pep658
    fake_index.add_wheel("app", "1.0", requires_dist=["lib"])
    for version in ("1.0", "2.0"):
        for tags in ("py3-none-any", "cp36-cp36m-manylinux1_x86_64", "cp311-cp311-win_amd64"):
            fake_index.add_wheel("lib", version, tags=tags)
    online = run(fake_index, tmp_path, CP36_ML1, "app")
    want = {"app": "app-1.0-py3-none-any.whl", "lib": "lib-2.0-cp36-cp36m-manylinux1_x86_64.whl"}
    assert chosen(online) == want
    assert sorted(fake_index.downloads()) == ([] if pep658 else sorted(want.values()))
    fake_index.stop()
    offline = run(fake_index, tmp_path, CP36_ML1, "app", offline=True)
    assert chosen(offline) == want and offline.edges() == online.edges()


@pytest.mark.parametrize("pep658", [True, False], ids=["pep658", "wheel-metadata"])
def test_speculation_fetches_the_likely_tree_before_the_resolver_asks(
    fake_index: FakeIndex, tmp_path: Path, pep658: bool
) -> None:
    """Provider.prefetch alone (no resolver running) walks app -> lib -> tiny in the background:
    each project's page, then its newest usable wheel's metadata (the PEP 658 file, or the wheel
    itself when the index has none), then the dependencies that apply to the target only."""
    fake_index.pep658 = pep658
    fake_index.add_wheel("app", "1.0", requires_dist=["lib", 'winonly; sys_platform == "win32"'])
    fake_index.add_wheel("lib", "1.0", requires_dist=["tiny"])
    fake_index.add_wheel("lib", "2.0", requires_dist=["tiny"])
    fake_index.add_wheel("tiny", "0.3")
    fake_index.add_wheel("winonly", "1.0")
    index = Index(
        [fake_index.url], [], Cache(tmp_path / "cache"), settings=NetworkSettings(retries=1)
    )
    with ThreadPoolExecutor(max_workers=4) as pool:
        provider = Provider(CP36_ML1, index, build_pure=False, builder=None, pool=pool)
        provider.prefetch("app")
        deadline = time.monotonic() + 20
        wanted = {"app-1.0", "lib-2.0", "tiny-0.3"}
        while time.monotonic() < deadline:
            fetched = {
                "-".join(p.rsplit("/", 1)[-1].split("-")[:2])
                for p in fake_index.requests
                if p.endswith(".metadata" if pep658 else ".whl")
            }
            if wanted <= fetched:
                break
            time.sleep(0.05)
    assert fetched == wanted  # lib 1.0 never looked at; winonly's marker is false for the target
    assert not any("/winonly/" in p for p in fake_index.requests)


CHILD = """
import sys
from pathlib import Path
from bundler.fs.cache import Cache
from bundler.net.download import download_all
from bundler.index.client import Index
from bundler.net.settings import NetworkSettings

url, out, cache = sys.argv[1:4]
index = Index([url], [], Cache(Path(cache)))
files = index.files("big") + index.files("small")
index = Index([url], [], Cache(Path(cache)), settings=NetworkSettings(jobs=2, timeout=600))
download_all(files, Path(out), index.cache, index.transport)
"""


@pytest.mark.signals
def test_ctrl_c_during_a_download_leaves_no_partial_file(
    fake_index: FakeIndex, tmp_path: Path
) -> None:
    """A real SIGINT to a process downloading a wheel whose body stalls half-way.

    The read timeout is 600 s and the server stalls for 60 s: the child only ends within the
    30 s `communicate` bound because cancelling interrupts the stalled read.
    """
    big = fake_index.add_wheel("big", "1.0", payload=1 << 20)
    small = fake_index.add_wheel("small", "1.0")
    fake_index.hang_after[big.filename] = 300_000
    out, cache = tmp_path / "out", tmp_path / "cache"
    child = subprocess.Popen(
        [*DEFAULT_SIGINT, sys.executable, "-c", CHILD, fake_index.url, str(out), str(cache)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(400):
            if f"/files/{big.filename}" in fake_index.requests:
                break
            time.sleep(0.025)
        time.sleep(0.3)  # let the first 300 kB arrive into the cache's temp file
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=30)
    finally:
        child.kill()
    assert child.returncode != 0 and "KeyboardInterrupt" in stderr
    assert not (out / big.filename).exists()
    assert sorted(p.name for p in tmp_path.rglob("*.part")) == []
    for path in out.iterdir() if out.exists() else []:
        assert path.name == small.filename and path.read_bytes() == small.data
