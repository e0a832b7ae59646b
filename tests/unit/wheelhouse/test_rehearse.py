"""bundler.wheelhouse.rehearse and `bundler verify --rehearse`: the real target interpreter
(CPython 3.6.15) installs each wheelhouse offline and imports it; each broken case is exit 1
with a line naming the package."""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bundler.cli import main
from bundler.fs import sums
from bundler.models.target import Target
from bundler.net.settings import NetworkSettings
from bundler.wheelhouse import rehearse
from bundler.wheelhouse.fetch import FetchOptions, fetch
from tests.conftest import require_python
from tests.fakeindex import FakeIndex, build_wheel
from tests.unit.audit.test_elf import build_elf_fixtures

pytestmark = pytest.mark.slow

T36 = Target.from_spec("3.6", "manylinux1")


def with_code(wheel: Path, module_code: str) -> Path:
    """`wheel` again, its package's __init__.py replaced by `module_code` (RECORD updated)."""
    with zipfile.ZipFile(wheel) as zf:
        init = next(n for n in zf.namelist() if n.endswith("/__init__.py"))
    return with_members(wheel, {init: module_code.encode()})


def with_members(wheel: Path, files: dict[str, bytes], *, drop: str = "") -> Path:
    """`wheel` again with `files` added or replaced, members under `drop` removed, RECORD
    rewritten."""
    with zipfile.ZipFile(wheel) as zf:
        members = {n: zf.read(n) for n in zf.namelist() if not (drop and n.startswith(drop))}
    members.update(files)
    record = next(n for n in members if n.endswith(".dist-info/RECORD"))
    lines = []
    for name, data in members.items():
        if name == record:
            continue
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        lines.append(f"{name},sha256={digest},{len(data)}")
    members[record] = ("\n".join([*lines, f"{record},,"]) + "\n").encode()
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return wheel


@pytest.fixture
def index(tmp_path: Path) -> Iterator[FakeIndex]:
    with FakeIndex(tmp_path / "fakeindex") as fake:
        fake.add_wheel("good", "1.0")
        broken = build_wheel(tmp_path / "built", "needsdc", "1.0")
        fake.add(with_code(broken, "import dataclasses\n"))  # 3.7+ stdlib: fails on 3.6
        aborts = build_wheel(tmp_path / "built", "aborter", "1.0")
        fake.add(with_code(aborts, "import os\nos.abort()\n"))  # kills the interpreter
        yield fake


def _wheelhouse(tmp_path: Path, fake: FakeIndex, *reqs: str) -> Path:
    options = FetchOptions(
        target=T36,
        requirements=reqs,
        output=tmp_path / "wh",
        index_urls=(fake.url,),
        cache_dir=tmp_path / "cache",
        audit=False,
    )
    return fetch(options).output


def test_importable_modules_come_from_the_installed_files(tmp_path: Path) -> None:
    """top_level.txt is a hint: cryptography 3.3.2 lists `_openssl` and `_padding`, which live
    in cryptography/hazmat/bindings/; RECORD's files decide (packages, modules, extensions,
    `.data/purelib|platlib`), and a namespace package's own sub-packages are imported."""
    plain = build_wheel(tmp_path, "some-thing", "1.0")
    assert rehearse.importable_modules(plain) == ["some_thing"]
    ext = "cryptography/hazmat/bindings/_openssl.abi3.so"
    crypt = with_members(
        build_wheel(tmp_path / "c", "cryptography", "3.3.2"),
        {
            "cryptography-3.3.2.dist-info/top_level.txt": b"_openssl\n_padding\ncryptography\n",
            ext: b"\x7fELF",
            "_cffi_backend.cpython-36m-x86_64-linux-gnu.so": b"\x7fELF",
            "six.py": b"",
            "cryptography-3.3.2.data/purelib/extra_mod/__init__.py": b"",
            "cryptography-3.3.2.data/scripts/tool": b"",
            "cryptography.libs/libssl-1a2b.so.1.1": b"\x7fELF",
        },
    )
    assert rehearse.importable_modules(crypt) == [
        "_cffi_backend",
        "cryptography",
        "extra_mod",
        "six",
    ]
    pep420 = with_members(
        build_wheel(tmp_path / "n", "nsx.child", "1.0"),
        {"nsx/child/__init__.py": b"", "nsx/other.py": b"", "nsx/deep/er/pkg/__init__.py": b""},
        drop="nsx_child/",
    )
    assert rehearse.importable_modules(pep420) == ["nsx.child", "nsx.deep.er.pkg", "nsx.other"]
    pkgutil = with_members(
        build_wheel(tmp_path / "z", "zope.interface", "5.0"),
        {
            "zope/__init__.py": b"__import__('pkg_resources').declare_namespace(__name__)\n",
            "zope/interface/__init__.py": b"",
            "zope/interface/_zic.cpython-36m-x86_64-linux-gnu.so": b"",
        },
        drop="zope_interface/",
    )
    assert rehearse.importable_modules(pkgutil) == ["zope.interface"]
    listed = with_members(
        build_wheel(tmp_path / "j", "jaraco.x", "1.0"),
        {
            "jaraco/__init__.py": b"",
            "jaraco/x.py": b"",
            "jaraco_x-1.0.dist-info/namespace_packages.txt": b"jaraco\n",
        },
        drop="jaraco_x/",
    )
    assert rehearse.importable_modules(listed) == ["jaraco.x"]


def test_a_shipped_test_suite_is_not_imported_unless_it_is_all_there_is(tmp_path: Path) -> None:
    """matplotlib 3.3.4's `mpl_toolkits.tests` raises OSError on import when its baseline
    images are not installed (always, from a wheel): the rehearsal imports the code beside it
    (found in the 3.6 large set of benchmarks/fetch_tools.py, 2026-11-30); `zope.testing` is
    code, and a wheel that installs only a test package still gets it imported."""
    mpl = with_members(
        build_wheel(tmp_path / "m", "matplotlib", "3.3.4"),
        {
            "mpl_toolkits/mplot3d/__init__.py": b"",
            "mpl_toolkits/tests/__init__.py": b"raise OSError('no baseline images')\n",
            "matplotlib/tests/__init__.py": b"",
            "test.py": b"",
        },
    )
    assert rehearse.importable_modules(mpl) == ["matplotlib", "mpl_toolkits.mplot3d"]
    zope = with_members(
        build_wheel(tmp_path / "z", "zope.testing", "4.0"),
        {"zope/testing/__init__.py": b""},
        drop="zope_testing/",
    )
    assert rehearse.importable_modules(zope) == ["zope.testing"]
    only = with_members(
        build_wheel(tmp_path / "o", "onlytests", "1.0"),
        {"tests/__init__.py": b""},
        drop="onlytests/",
    )
    assert rehearse.importable_modules(only) == ["tests"]


def test_a_namespace_package_is_proved_by_importing_its_own_package(tmp_path: Path) -> None:
    """`nsx.child` whose nsx/child/__init__.py needs 3.7's dataclasses fails on 3.6 (importing
    only the namespace `nsx` would pass)."""
    python36 = require_python("3.6.15")
    links = tmp_path / "links"
    built = build_wheel(links, "nsx.child", "1.0", dist_name="nsx.child")
    with_members(built, {"nsx/child/__init__.py": b"import dataclasses\n"}, drop="nsx_child/")
    options = FetchOptions(
        target=T36,
        requirements=("nsx.child",),
        output=tmp_path / "wh",
        index_urls=(),
        find_links=(str(links),),
        cache_dir=tmp_path / "cache",
        audit=False,
    )
    result = rehearse.rehearse(fetch(options).output, python36)
    (problem,) = result.problems
    assert problem.startswith("nsx.child-1.0-py3-none-any.whl: import nsx.child fails")
    assert "No module named 'dataclasses'" in problem


def test_an_import_failure_is_exit_1_naming_the_package(tmp_path: Path, index: FakeIndex) -> None:
    """Each broken wheel is a line naming it: an exception, and a crash (SIGABRT) inside an
    import, after which a new interpreter still imports the modules left."""
    python36 = require_python("3.6.15")
    wh = _wheelhouse(tmp_path, index, "needsdc", "good", "aborter")
    verify = CliRunner().invoke(main, ["verify", str(wh)])
    assert verify.exit_code == 0, verify.output  # the static checks cannot see it
    result = CliRunner().invoke(main, ["verify", str(wh), "--rehearse", str(python36)])
    assert result.exit_code == 1, result.output
    assert (
        "needsdc-1.0-py3-none-any.whl: import needsdc fails after an offline install: "
        "ModuleNotFoundError: No module named 'dataclasses'"
    ) in result.output
    assert (
        "aborter-1.0-py3-none-any.whl: import aborter fails after an offline install: "
        "the interpreter died (exit -6)"
    ) in result.output
    assert "good-1.0" not in result.output
    direct = rehearse.rehearse(wh, python36)
    assert direct.imported == ["good"]  # imported after the crash, before needsdc failed
    assert len(direct.problems) == 2


def test_a_library_only_another_wheel_loaded_first_is_missing(tmp_path: Path) -> None:
    """uselib/_u.so needs libfoo.so.1 with no RPATH; provlib ships provlib/lib/libfoo.so.1 and
    loads it. In one interpreter importing provlib first, uselib would import by luck; each
    wheel with ELF objects gets its own interpreter, so uselib fails as on the target."""
    python36 = require_python("3.6.15")
    built = build_elf_fixtures(tmp_path / "elf")
    links = tmp_path / "links"
    tags = "cp36-cp36m-manylinux1_x86_64"
    load = (
        "import ctypes, os\nfor f in {}:\n"
        "    ctypes.CDLL(os.path.join(os.path.dirname(__file__), f))\n"
    )
    with_members(
        build_wheel(links, "provlib", "1.0", tags=tags),
        {
            "provlib/__init__.py": load.format("['lib/libfoo.so.1', 'lib/libbar.so.1']").encode(),
            "provlib/lib/libfoo.so.1": built["libfoo.so.1"].read_bytes(),
            "provlib/lib/libbar.so.1": built["libbar.so.1"].read_bytes(),
        },
    )
    with_members(
        build_wheel(links, "uselib", "1.0", tags=tags, requires_dist=["provlib"]),
        {
            "uselib/__init__.py": load.format("['_u.so']").encode(),
            "uselib/_u.so": built["ext_nopath.so"].read_bytes(),
        },
    )
    options = FetchOptions(
        target=T36,
        requirements=("uselib",),
        output=tmp_path / "wh",
        index_urls=(),
        find_links=(str(links),),
        cache_dir=tmp_path / "cache",
        audit=False,
    )
    result = rehearse.rehearse(fetch(options).output, python36)
    assert result.imported == ["provlib"]
    (problem,) = result.problems
    assert problem.startswith(f"uselib-1.0-{tags}.whl: import uselib fails")
    assert "libfoo.so.1" in problem or "libbar.so.1" in problem


def test_an_install_that_old_pip_refuses_is_exit_1(tmp_path: Path) -> None:
    """The ruamel.yaml case: a lock spelled canonically makes pip 18.1 stop."""
    python36 = require_python("3.6.15")
    links = tmp_path / "links"
    build_wheel(links, "ruamel.yaml", "0.18.3", requires_dist=["ruamel.yaml.clib>=0.2.7"])
    build_wheel(links, "ruamel.yaml.clib", "0.2.8", dist_name="ruamel.yaml.clib")
    options = FetchOptions(
        target=T36,
        requirements=("ruamel.yaml",),
        output=tmp_path / "wh",
        index_urls=(),
        find_links=(str(links),),
        cache_dir=tmp_path / "cache",
        audit=False,
        rehearse=python36,
    )
    fetched = fetch(options)
    assert fetched.rehearsal is not None and fetched.rehearsal.problems == []  # a clean one
    assert sorted(fetched.rehearsal.imported) == ["ruamel_yaml", "ruamel_yaml_clib"]
    lock = fetched.output / "requirements.lock"
    lock.write_text(lock.read_text().replace("ruamel.yaml.clib==", "ruamel-yaml-clib=="))
    sums.write_directory(lock.parent)  # a lock shipped so, not altered on the way
    result = rehearse.rehearse(fetched.output, python36)
    (problem,) = result.problems
    assert problem.startswith("install.sh: the rehearsal's install failed (exit 2)")
    assert "ruamel.yaml.clib>=0.2.7" in problem  # names the package pip could not match


def test_without_unshare_a_sitecustomize_blocks_the_network(
    tmp_path: Path, index: FakeIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where `unshare -n` is not allowed, the venv's sitecustomize refuses every connection."""
    python36 = require_python("3.6.15")
    code = "import socket\nsocket.create_connection(('127.0.0.1', 9), timeout=5)\n"
    index.add(with_code(build_wheel(tmp_path / "built", "dialer", "1.0"), code))
    wh = _wheelhouse(tmp_path, index, "dialer")
    monkeypatch.setattr(rehearse, "unshare_works", lambda: False)
    result = rehearse.rehearse(wh, python36)
    assert result.offline == "sitecustomize"
    (problem,) = result.problems
    assert problem.startswith("dialer-1.0-py3-none-any.whl: import dialer fails")
    assert "network blocked by the airgap-kit rehearsal" in problem


def _descendants_in(root: Path) -> list[int]:
    """PIDs of processes whose command line mentions `root` (the test's own temp tree)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if str(root).encode() in cmdline:
            found.append(int(proc.name))
    return found


@pytest.mark.signals
def test_sigterm_during_a_rehearsal_leaves_no_venv_and_no_child(
    tmp_path: Path, index: FakeIndex
) -> None:
    """SIGTERM to `bundler verify --rehearse` while install.sh's pip runs: every child of the
    rehearsal is killed (its own process group) and the temp venv removed, for good."""
    python36 = require_python("3.6.15")
    wh = _wheelhouse(tmp_path, index, "good")
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp)}
    proc = subprocess.Popen(  # SIGINT at its default whatever this run started with
        ["env", "--default-signal=INT", sys.executable, "-m", "bundler", "verify", str(wh),
         "--rehearse", str(python36)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if any(b"pip" in Path(f"/proc/{p}/cmdline").read_bytes() for p in _alive(temp)):
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the rehearsal ended before its pip ran"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 143, err
        time.sleep(2)  # what a surviving child would recreate, it would have by now
        assert _descendants_in(temp) == []
        assert list(temp.iterdir()) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in _descendants_in(temp):  # only this test's processes (its own TMPDIR)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _alive(root: Path) -> list[int]:
    pids = []
    for pid in _descendants_in(root):
        with contextlib.suppress(OSError):
            Path(f"/proc/{pid}/cmdline").read_bytes()
            pids.append(pid)
    return pids


def test_wheels_that_need_an_excluded_requirement_are_not_imported(tmp_path: Path) -> None:
    """`--exclude speedy`: speedy is installed by other means on the target, so importing
    flaskish (which imports speedy) or what requires flaskish would fail only here. They are
    named as not imported; the rest is still imported (a review found README's own --exclude
    examples failing their rehearsal)."""
    python36 = require_python("3.6.15")
    with FakeIndex(tmp_path / "fakeindex") as fake:
        fake.add_wheel("lib", "1.0")
        needs = build_wheel(tmp_path / "built", "flaskish", "1.0", requires_dist=["speedy>=1"])
        fake.add(with_code(needs, "import speedy\n"))
        fake.add_wheel("outer", "1.0", requires_dist=["flaskish"])
        options = FetchOptions(
            target=T36,
            requirements=("outer", "lib"),
            output=tmp_path / "wh",
            index_urls=(fake.url,),
            cache_dir=tmp_path / "cache",
            audit=False,
            exclude=("speedy",),
        )
        wh = fetch(options).output
    done = rehearse.rehearse(wh, python36)
    assert done.problems == []
    assert done.imported == ["lib"]
    assert done.not_imported == ["flaskish-1.0-py3-none-any.whl", "outer-1.0-py3-none-any.whl"]


def test_a_passed_rehearsal_is_remembered_only_for_identical_inputs(
    tmp_path: Path, index: FakeIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a cache, a second rehearsal of the same wheelhouse bytes and interpreter is
    answered from the first (reused) without installing anything; a changed wheelhouse
    (SHA256SUMS differs), a damaged cache entry or a failed rehearsal run for real."""
    from bundler.fs.cache import Cache

    python36 = require_python("3.6.15")
    cache = Cache(tmp_path / "rcache")
    wh = _wheelhouse(tmp_path, index, "good")
    first = rehearse.rehearse(wh, python36, cache=cache)
    assert first.problems == [] and first.imported == ["good"] and not first.reused

    real = rehearse._rehearse
    runs: list[Path] = []

    def counted(wheelhouse: Path, *args: object) -> rehearse.Rehearsal:
        runs.append(wheelhouse)
        return real(wheelhouse, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(rehearse, "_rehearse", counted)
    again = rehearse.rehearse(wh, python36, cache=cache)
    assert again.reused and again.imported == ["good"] and again.problems == []
    assert runs == []

    # Any byte of the wheelhouse that changes its SHA256SUMS is a new rehearsal.
    with (wh / "requirements.lock").open("a") as lock:
        lock.write("# an operator's note\n")
    sums.write_directory(wh)
    changed = rehearse.rehearse(wh, python36, cache=cache)
    assert not changed.reused and runs == [wh]

    # A damaged entry is a miss, never a pass.
    key = rehearse.inputs_digest(wh, python36, changed.offline)
    assert key is not None
    cache.facts_path("rehearsal", key).write_text('{"offline": 1}')
    assert not rehearse.rehearse(wh, python36, cache=cache).reused and len(runs) == 2

    # A failed rehearsal is not remembered: the next one runs again.
    bad = _wheelhouse(tmp_path / "bad", index, "needsdc")
    assert rehearse.rehearse(bad, python36, cache=cache).problems
    assert rehearse.rehearse(bad, python36, cache=cache).problems
    assert runs.count(bad) == 2


def test_a_target_folder_of_a_several_target_wheelhouse_is_remembered_too(
    tmp_path: Path, index: FakeIndex
) -> None:
    """A target folder has no SHA256SUMS of its own: the key is the top one (which lists every
    target's files) plus the folder's path, so the two targets never share a memory."""
    from bundler.fs.cache import Cache
    from bundler.net.settings import NetworkSettings

    python36 = require_python("3.6.15")
    t311 = Target.from_spec("3.11", "manylinux2014")
    options = FetchOptions(
        target=T36,
        targets=(T36, t311),
        requirements=("good",),
        output=tmp_path / "wh",
        index_urls=(index.url,),
        cache_dir=tmp_path / "cache",
        audit=False,
        network=NetworkSettings(jobs=2),
    )
    wh = fetch(options).output
    folder = rehearse.target_folder(wh, python36)
    assert folder != wh and (wh / "SHA256SUMS").is_file()
    cache = Cache(tmp_path / "rcache")
    first = rehearse.rehearse(folder, python36, cache=cache)
    assert first.problems == [] and not first.reused
    assert rehearse.rehearse(folder, python36, cache=cache).reused
    other = next(p for p in (wh / "targets").iterdir() if p != folder)
    keys = {rehearse.inputs_digest(f, python36, first.offline) for f in (folder, other)}
    assert None not in keys and len(keys) == 2


def test_an_interpreter_that_does_not_fit_the_target_is_not_rehearsed(
    tmp_path: Path, index: FakeIndex
) -> None:
    """A debug-ABI target (cp36dm) and the non-debug 3.6.15: install.sh would refuse it, so
    the rehearsal does not run and says why (fetch: a skip; verify --rehearse: a problem),
    never "installed offline"."""
    python36 = require_python("3.6.15")
    wh = tmp_path / "wh"
    argv = ["fetch", "good", "--target", "3.6/manylinux1/cp36dm", "--index-url", index.url]
    argv += ["-o", str(wh), "--cache-dir", str(tmp_path / "cache"), "--no-audit"]
    fetched = CliRunner().invoke(main, [*argv, "--rehearse", str(python36)])
    assert fetched.exit_code == 0, fetched.output
    assert "installed offline" not in fetched.output
    assert ("rehearsal: skipped (Python 3.6.15 (cp36m, x86_64, glibc ") in fetched.output
    assert "does not fit cp36-cp36dm-manylinux1_x86_64: ABI cp36m, not cp36dm" in fetched.output
    result = CliRunner().invoke(main, ["verify", str(wh), "--rehearse", str(python36)])
    assert result.exit_code == 1, result.output
    assert "install.sh: the rehearsal with " in result.output
    assert "ABI cp36m, not cp36dm" in result.output
    assert rehearse.misfit(wh, python36) != ""
    fits = _wheelhouse(tmp_path / "fits", index, "good")
    assert rehearse.misfit(fits, python36) == ""


def test_a_prepared_venv_is_taken_or_removed(
    tmp_path: Path, index: FakeIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A venv started in the background (`ThrowawayVenv`) is the one the rehearsal installs
    into, and its work dir is gone afterwards; one made by another interpreter, or not needed
    because the cache answers, is removed unused (its process reaped)."""
    from bundler.fs.cache import Cache

    python36 = require_python("3.6.15")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    wh = _wheelhouse(tmp_path, index, "good")
    used: list[Path] = []
    real = rehearse._rehearse

    def seen(wheelhouse: Path, prepared: rehearse.ThrowawayVenv, *args: object) -> object:
        used.append(prepared.work)
        return real(wheelhouse, prepared, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(rehearse, "_rehearse", seen)
    cache = Cache(tmp_path / "rcache")
    assert not rehearse.remembered_any(cache)
    prepared = rehearse.ThrowawayVenv(python36)
    assert prepared.work.parent == tmp_path and prepared.work.is_dir()
    done = rehearse.rehearse(wh, python36, cache=cache, prepared=prepared)
    assert done.problems == [] and done.imported == ["good"]
    assert used == [prepared.work] and not prepared.work.exists()
    assert rehearse.remembered_any(cache)

    other = rehearse.ThrowawayVenv(Path(sys.executable))  # not the rehearsal's interpreter
    assert rehearse.rehearse(wh, python36, prepared=other).problems == []
    assert not other.work.exists() and used[-1] != other.work and len(used) == 2

    spare = rehearse.ThrowawayVenv(python36)  # the cache answers: never waited for
    assert rehearse.rehearse(wh, python36, cache=cache, prepared=spare).reused
    assert not spare.work.exists() and len(used) == 2
    assert _descendants_in(tmp_path) == []


def test_fetch_makes_the_venv_while_it_downloads_only_when_it_will_rehearse(
    tmp_path: Path, index: FakeIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cold fetch starts the rehearsal's venv before its downloads (it runs meanwhile); a
    warm --offline re-fetch whose rehearsal the cache remembers starts none; a re-fetch that
    downloads a new file starts it again before the download."""
    from bundler.wheelhouse import fetch as fetch_mod

    python36 = require_python("3.6.15")
    events: list[str] = []
    venv_class = rehearse.ThrowawayVenv
    download = fetch_mod.download_all

    class Counted(venv_class):  # type: ignore[misc,valid-type]
        def __init__(self, python: Path) -> None:
            events.append("venv")
            super().__init__(python)

    def counted_download(*args: Any, **kwargs: Any) -> Any:
        events.append("download")
        return download(*args, **kwargs)

    monkeypatch.setattr(rehearse, "ThrowawayVenv", Counted)
    monkeypatch.setattr(fetch_mod, "download_all", counted_download)

    def fetched(out: str, *reqs: str, **more: Any) -> Any:
        events.clear()
        options = FetchOptions(
            target=T36, requirements=reqs, output=tmp_path / out, index_urls=(index.url,),
            cache_dir=tmp_path / "cache", audit=False, rehearse=python36, **more,
        )  # fmt: skip
        return fetch(options).rehearsal

    first = fetched("cold", "good")
    assert first.problems == [] and not first.reused
    assert events == ["venv", "download"]
    again = fetched("warm", "good", network=replace(NetworkSettings(), offline=True))
    assert again.reused and events == ["download"]
    index.add_wheel("fresh", "1.0")
    grown = fetched("grown", "good", "fresh")
    assert not grown.reused and grown.imported == ["fresh", "good"]
    assert events == ["venv", "download"]


@pytest.mark.signals
def test_sigterm_while_the_background_venv_is_made_leaves_nothing(
    tmp_path: Path, index: FakeIndex
) -> None:
    """SIGTERM to `bundler fetch` while a download stalls and the rehearsal's venv is being
    made beside it: the fetch exits 143, the venv's process group is killed and reaped, its
    work dir removed."""
    python36 = require_python("3.6.15")
    index.hang_after["good-1.0-py3-none-any.whl"] = 10
    index.hang_seconds = 8.0  # a stalled read the cancellation misses still ends soon
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp)}
    proc = subprocess.Popen(  # SIGINT at its default whatever this run started with
        ["env", "--default-signal=INT", sys.executable, "-m", "bundler", "fetch", "good",
         "--python", "3.6", "--platform", "manylinux1", "--index-url", index.url,
         "--cache-dir", str(tmp_path / "cache"), "-o", str(tmp_path / "wh"), "--no-audit",
         "--rehearse", str(python36)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if any(b"venv" in Path(f"/proc/{p}/cmdline").read_bytes() for p in _alive(temp)):
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the fetch ended before its venv was started"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 143, err
        time.sleep(1)  # what a surviving child would recreate, it would have by now
        assert _descendants_in(temp) == []
        assert list(temp.iterdir()) == []
        assert not (tmp_path / "wh").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in _descendants_in(temp):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


# -- what SIGKILLed runs leave (issue #17: 77 airgap-kit-rehearse-* venvs in /tmp) -------------


def _lock_free(path: Path) -> bool:
    with open(path, "rb") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
    return True


def _owned_by(work: Path, pid: int, start: str) -> Path:
    work.mkdir()
    (work / rehearse.OWNER).write_text(f"{pid} {start}\n", encoding="ascii")
    (work / "venv" / "bin").mkdir(parents=True)
    return work


def test_sweep_removes_only_the_work_dirs_of_dead_owners_no_step_still_holds(
    tmp_path: Path,
) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    me = Path(f"/proc/{os.getpid()}/stat").read_text().rpartition(")")[2].split()[19]
    gone = _owned_by(tmp_path / "airgap-kit-rehearse-gone", dead.pid, "0")
    reused = _owned_by(tmp_path / "airgap-kit-rehearse-reused", os.getpid(), "1")
    live = _owned_by(tmp_path / "airgap-kit-rehearse-live", os.getpid(), me)
    orphan = _owned_by(tmp_path / "airgap-kit-rehearse-orphan", dead.pid, "0")
    unrecorded = tmp_path / "airgap-kit-rehearse-older"  # a kit before the record: not ours
    (unrecorded / "venv").mkdir(parents=True)
    other = _owned_by(tmp_path / "someone-else", dead.pid, "0")
    with open(orphan / rehearse.OWNER, "rb") as step:  # a step of the dead run still holds it
        fcntl.flock(step.fileno(), fcntl.LOCK_EX)
        removed = rehearse.sweep(tmp_path)
    assert sorted(p.name for p in removed) == [gone.name, reused.name]
    assert not gone.exists() and not reused.exists()
    assert live.is_dir() and orphan.is_dir() and unrecorded.is_dir() and other.is_dir()
    assert [p.name for p in rehearse.sweep(tmp_path)] == [orphan.name]  # its step ended


def test_a_sigkilled_runs_venv_is_swept_by_the_next_rehearsal_once_its_steps_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGKILL to a process making the rehearsal's venv (what a test's timeout or a killed
    fetch does: no cleanup runs) left its work dir in TMPDIR for ever, and the step, in a
    session of its own, kept running. The next rehearsal's venv sweeps it, but only once that
    orphaned step has ended (it would write into it again)."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    slow = tmp_path / "slowpython"  # a 'python -I -m venv DIR' that takes its time
    slow.write_text('#!/bin/sh\nmkdir -p "$4"\nsleep 60\n', encoding="ascii")
    slow.chmod(0o755)
    maker = (
        "import sys, time; from pathlib import Path; from bundler.wheelhouse import rehearse\n"
        "v = rehearse.ThrowawayVenv(Path(sys.argv[1])); print(v.work, flush=True); time.sleep(60)"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", maker, str(slow)],
        env={**os.environ, "TMPDIR": str(temp)}, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        work = Path(child.stdout.readline().strip())
        deadline = time.monotonic() + 10
        while not (work / "venv").is_dir() and time.monotonic() < deadline:
            time.sleep(0.02)  # the step has begun
        child.kill()
        child.wait()
        assert work.parent == temp and (work / "venv").is_dir()
        monkeypatch.setattr(tempfile, "tempdir", str(temp))
        with rehearse.ThrowawayVenv(Path("/bin/true")) as next_one:
            assert work.is_dir()  # its orphaned step still runs: kept
            assert next_one.made().returncode == 0
        for pid in _descendants_in(work):  # the orphaned step's group ends
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while not _lock_free(work / rehearse.OWNER) and time.monotonic() < deadline:
            time.sleep(0.05)  # SIGKILL is delivered; the group's last process is exiting
        with rehearse.ThrowawayVenv(Path("/bin/true")):
            assert not work.exists()
        assert list(temp.iterdir()) == []
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for pid in _descendants_in(temp):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
