"""`bundler fetch` end to end against the hermetic fake index: outputs, bad input, interrupts,
offline re-fetch, and the wheelhouse installed by the real Python 3.6.15 (pip 18.1) offline."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import signal
import socket
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bundler.cli import main
from bundler.fs.hashing import sha256_file
from bundler.index.client import DEFAULT_INDEX
from bundler.wheelhouse import build
from tests.childproc import DEFAULT_SIGINT
from tests.conftest import require_python
from tests.fakeindex import FakeIndex, build_wheel

NUMPYISH = "numpyish-1.19.5-cp36-cp36m-manylinux1_x86_64.whl"


@pytest.fixture
def index(tmp_path: Path) -> Iterator[FakeIndex]:
    with FakeIndex(tmp_path / "fakeindex") as fake:
        fake.add_wheel("app", "1.0", requires_dist=["lib>=1", "numpyish"], requires_python=">=3.6")
        fake.add_wheel("lib", "1.0", requires_dist=["tiny"])
        fake.add_wheel("tiny", "0.3", requires_python=">=3.6")
        fake.add_wheel("numpyish", "1.19.5", tags="cp36-cp36m-manylinux1_x86_64")
        yield fake


def _fetch(tmp_path: Path, fake: FakeIndex, *args: str) -> Result:
    base = ["fetch", "--index-url", fake.url, "--cache-dir", str(tmp_path / "cache"), "--no-audit",
            "--no-rehearse"]  # fmt: skip
    return CliRunner().invoke(main, [*base, "-o", str(tmp_path / "wh"), *args])


def _tree(root: Path) -> dict[str, str]:
    return {p.name: sha256_file(p) for p in sorted(root.iterdir())}


def test_fetch_prints_a_summary_and_writes_the_wheelhouse(tmp_path: Path, index: FakeIndex) -> None:
    result = _fetch(tmp_path, index, "app", "--python", "3.6", "--platform", "manylinux1")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "target: CPython 3.6.15 (cp36m), manylinux1_x86_64" in out
    assert "note: Python 3.6 means 3.6.15" in out
    assert "4 packages for app" in out
    assert "pip bootstrap: no" in out
    assert "rehearsal: skipped (--no-rehearse)" in out  # not "no CPython 3.6.15 here"
    assert f"wheelhouse: {(tmp_path / 'wh').resolve()} (for CPython 3.6.15 (cp36m)" in out
    assert result.stderr == ""
    wh = tmp_path / "wh"
    assert {"requirements.lock", "manifest.json", "install.sh", NUMPYISH} <= set(os.listdir(wh))
    lock = (wh / "requirements.lock").read_text()
    assert f"numpyish==1.19.5 \\\n    --hash=sha256:{sha256_file(wh / NUMPYISH)}\n" in lock


def test_requirement_file_and_bootstrap_summary(tmp_path: Path, index: FakeIndex) -> None:
    index.add_wheel("wide", "2.0", tags="cp36-cp36m-manylinux2014_x86_64")
    for name, version in (("pip", "21.3.1"), ("setuptools", "59.6.0"), ("wheel", "0.37.1")):
        index.add_wheel(name, version)
    (tmp_path / "reqs.txt").write_text("wide  # needs pip >= 19.3 on the target\n")
    result = _fetch(
        tmp_path, index, "-r", str(tmp_path / "reqs.txt"), "--platform", "manylinux2014"
    )
    assert result.exit_code == 0, result.output
    assert "pip bootstrap: yes (pip 21.3.1, setuptools 59.6.0, wheel 0.37.1)" in result.stdout
    assert "bootstrap lock:" in result.stdout
    assert (tmp_path / "wh" / "bootstrap.lock").is_file()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


BAD_INPUTS = {
    "unknown python": (["tiny", "--python", "3.5"], "unsupported Python version '3.5'"),
    "unknown python patch": (["tiny", "--python", "3.6.99"], "unknown Python version '3.6.99'"),
    "unknown platform": (["tiny", "--platform", "win_amd64"], "unknown platform 'win_amd64'"),
    "malformed requirement": (["tiny>>>1"], "malformed requirement 'tiny>>>1'"),
    "not found": (["nosuchpkg"], "no package named 'nosuchpkg'"),
    "unsatisfiable": (["tiny==0.3", "tiny==0.4"], "tiny"),
    "no version": (["tiny>=5"], "no version of tiny matches"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_one_line_exit_2_and_output_untouched(
    tmp_path: Path, index: FakeIndex, case: str
) -> None:
    assert _fetch(tmp_path, index, "lib").exit_code == 0
    before = _tree(tmp_path / "wh")
    args, message = BAD_INPUTS[case]
    result = _fetch(tmp_path, index, *args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("bundler: error: "), result.stderr
    assert message in lines[0]
    assert _tree(tmp_path / "wh") == before
    assert sorted(os.listdir(tmp_path)) == ["cache", "fakeindex", "wh"]


def test_replace_never_wipes_a_folder_that_is_not_a_wheelhouse(
    tmp_path: Path, index: FakeIndex
) -> None:
    """Review of #10/#18, defect 1, as the reviewer ran it: a project folder with its own
    manifest.json, fetched into with and without --replace."""
    proj = tmp_path / "wh"
    (proj / "src").mkdir(parents=True)
    (proj / "manifest.json").write_text('{"manifest_version":3}\n')
    (proj / "src" / "main.js").write_text("x\n")
    for extra in ((), ("--replace",)):
        result = _fetch(tmp_path, index, "lib", *extra)
        assert result.exit_code == 2, result.output
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith(f"bundler: error: -o {proj.resolve()}: not a wheelhouse ")
        assert "even with --replace" in lines[0] and "give --replace" not in lines[0]
    assert (proj / "src" / "main.js").read_text() == "x\n"


def test_unknown_distro_is_exit_2_before_any_download(tmp_path: Path, index: FakeIndex) -> None:
    result = CliRunner().invoke(
        main,
        ["fetch", "app", "--index-url", index.url, "-o", str(tmp_path / "wh"),
         "--cache-dir", str(tmp_path / "c"), "--distro", "windows95", "--no-rehearse"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.startswith("bundler: error: unknown distro 'windows95'")
    assert index.requests == []
    assert not (tmp_path / "wh").exists()


def test_audit_summary_names_the_system_packages_file(tmp_path: Path, index: FakeIndex) -> None:
    result = CliRunner().invoke(
        main,
        ["fetch", "app", "--index-url", index.url, "-o", str(tmp_path / "wh"),
         "--cache-dir", str(tmp_path / "c"), "--no-rehearse"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    yml = (tmp_path / "wh" / "system-packages.yml").resolve()
    assert f"audit (centos7): {yml}" in result.stdout
    assert "system packages the wheels need: none" in result.stdout


def test_unreachable_index_is_exit_2(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}/simple/"
    result = CliRunner().invoke(
        main,
        ["fetch", "tiny", "--index-url", url, "-o", str(tmp_path / "wh"),
         "--cache-dir", str(tmp_path / "c"), "--no-audit", "--no-rehearse"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.startswith(f"bundler: error: cannot reach {url}tiny/")
    assert not (tmp_path / "wh").exists()


def test_hash_mismatch_is_exit_2_and_output_untouched(tmp_path: Path, index: FakeIndex) -> None:
    assert _fetch(tmp_path, index, "lib").exit_code == 0
    before = _tree(tmp_path / "wh")
    index.served(NUMPYISH).tamper = True
    result = _fetch(tmp_path, index, "app")
    assert result.exit_code == 2
    assert f"bundler: error: hash mismatch for {NUMPYISH}" in result.stderr
    assert _tree(tmp_path / "wh") == before


@pytest.mark.signals
def test_sigint_during_download_leaves_the_output_untouched(
    tmp_path: Path, index: FakeIndex
) -> None:
    """A real SIGINT to a real `bundler fetch` process while a download is stalled.

    (--timeout 2 --retries 0 bound how long the stalled worker thread takes to notice.)
    """
    assert _fetch(tmp_path, index, "lib").exit_code == 0
    before = _tree(tmp_path / "wh")
    index.hang_after[NUMPYISH] = 100
    cmd = [
        *DEFAULT_SIGINT, sys.executable, "-m", "bundler", "fetch", "app", "--index-url", index.url,
        "-o", str(tmp_path / "wh"), "--cache-dir", str(tmp_path / "cache"), "--no-audit",
        "--no-rehearse", "--timeout", "2", "--retries", "0",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while f"/files/{NUMPYISH}" not in index.requests and time.monotonic() < deadline:
        time.sleep(0.05)
    assert f"/files/{NUMPYISH}" in index.requests, "the download never started"
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted; nothing partial was left in the output" in err
    assert _tree(tmp_path / "wh") == before
    assert sorted(os.listdir(tmp_path)) == ["cache", "fakeindex", "wh"]
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.name.startswith(NUMPYISH)]


@pytest.mark.signals
def test_sigterm_during_the_rehearsal_says_the_wheelhouse_was_written_not_rehearsed(
    tmp_path: Path, index: FakeIndex, python36: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """#17 review D4: the rehearsal runs after the new wheelhouse replaced -o, so a SIGTERM
    then must not claim that nothing partial was left. A real SIGTERM to this process (the CLI's
    handler turns it into `Terminated`) from inside the rehearsal step."""
    from bundler.wheelhouse import fetch as fetch_mod
    from bundler.wheelhouse import rehearse as rehearse_mod

    def sigterm(*args: object, **kwargs: object) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises here
        raise AssertionError("SIGTERM was not delivered")

    monkeypatch.setattr(rehearse_mod, "rehearse", sigterm)
    monkeypatch.setattr(fetch_mod, "_rehearse_pythons", lambda options: ())  # no venv made
    result = CliRunner().invoke(
        main,
        ["fetch", "tiny", "--index-url", index.url, "--cache-dir", str(tmp_path / "cache"),
         "--no-audit", "--rehearse", str(python36), "-o", str(tmp_path / "wh")],
    )  # fmt: skip
    assert result.exit_code == 143, result.output
    wh = tmp_path / "wh"
    assert f"bundler: terminated; the wheelhouse {wh} was written but not rehearsed" in (
        result.stderr
    )
    assert "nothing partial" not in result.stderr
    assert (wh / "manifest.json").is_file()


def test_offline_second_fetch_from_the_cache(tmp_path: Path, index: FakeIndex) -> None:
    assert _fetch(tmp_path, index, "app").exit_code == 0
    manifest = (tmp_path / "wh" / "manifest.json").read_text()
    index.stop()
    result = _fetch(tmp_path, index, "app", "--offline")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "wh" / "manifest.json").read_text() == manifest


def test_a_same_size_damaged_cache_wheel_never_reaches_the_wheelhouse(
    tmp_path: Path, index: FakeIndex
) -> None:
    """#17 review D1 (repro.sh): one byte of a cached wheel flipped, same size. Online the
    wheel is downloaded again and the wheelhouse matches its SHA256SUMS; offline the fetch
    fails naming the wheel and the cache entry, and -o is left as it was."""
    from bundler.fs import sums
    from bundler.fs.cache import Cache

    assert _fetch(tmp_path, index, "lib").exit_code == 0
    wheel = "tiny-0.3-py3-none-any.whl"
    digest = sha256_file(tmp_path / "wh" / wheel)
    blob = Cache(tmp_path / "cache").blob_path(digest)

    def damage() -> None:
        data = bytearray(blob.read_bytes())
        data[200] ^= 0xFF
        blob.write_bytes(bytes(data))

    damage()
    before = _tree(tmp_path / "wh")
    result = _fetch(tmp_path, index, "lib", "--offline")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"bundler: error: {wheel}: the cached copy {blob} ")
    assert _tree(tmp_path / "wh") == before
    assert _fetch(tmp_path, index, "lib").exit_code == 0
    assert sha256_file(tmp_path / "wh" / wheel) == digest == sha256_file(blob)
    assert sums.check_directory(tmp_path / "wh") == []
    assert index.downloads().count(wheel) == 2


def test_offline_with_a_cold_cache_names_the_missing_page(tmp_path: Path, index: FakeIndex) -> None:
    result = _fetch(tmp_path, index, "app", "--offline")
    assert result.exit_code == 2
    assert "is not in the cache (--offline)" in result.stderr
    assert not (tmp_path / "wh").exists()


# -- installing the result on the real target interpreter ---------------------------------------


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True)


@pytest.mark.slow
def test_install_sh_with_python36_offline(tmp_path: Path, index: FakeIndex, python36: Path) -> None:
    assert _fetch(tmp_path, index, "app").exit_code == 0
    wh = tmp_path / "wh"
    venv = tmp_path / "v"
    proc = _run("unshare", "-n", "dash", wh / "install.sh", "--python", python36, "--venv", venv)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Successfully installed app-1.0 lib-1.0 numpyish-1.19.5 tiny-0.3" in proc.stdout
    check = _run(venv / "bin" / "python", "-c", "import app, numpyish; print(numpyish.__version__)")
    assert check.stdout.strip() == "1.19.5"
    data = json.loads((wh / "manifest.json").read_text())
    assert data["installer"]["bundled_pip"] == "18.1"


@pytest.mark.slow
def test_pip_18_1_accepts_the_lock_directly(
    tmp_path: Path, index: FakeIndex, python36: Path
) -> None:
    assert _fetch(tmp_path, index, "app").exit_code == 0
    wh = tmp_path / "wh"
    venv = tmp_path / "v"
    assert _run(python36, "-m", "venv", venv).returncode == 0
    pip = _run(venv / "bin" / "python", "-m", "pip", "--version")
    assert pip.stdout.startswith("pip 18.1 ")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    proc = subprocess.run(
        ["unshare", "-n", str(venv / "bin" / "python"), "-m", "pip", "install", "--no-index",
         "--find-links", str(wh), "--require-hashes", "-r", str(wh / "requirements.lock")],
        capture_output=True, text=True, env={**env, "PIP_CONFIG_FILE": os.devnull},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # And the hashes are really checked: a changed byte in a wheel makes pip 18.1 refuse.
    numpyish = wh / NUMPYISH
    data = bytearray(numpyish.read_bytes())
    data[-1] ^= 0xFF
    numpyish.write_bytes(bytes(data))
    venv2 = tmp_path / "v2"
    assert _run(python36, "-m", "venv", venv2).returncode == 0
    proc = subprocess.run(
        [str(venv2 / "bin" / "python"), "-m", "pip", "install", "--no-index",
         "--find-links", str(wh), "--require-hashes", "-r", str(wh / "requirements.lock")],
        capture_output=True, text=True, env={**env, "PIP_CONFIG_FILE": os.devnull},
    )  # fmt: skip
    assert proc.returncode != 0
    assert "DO NOT MATCH THE HASHES" in proc.stdout + proc.stderr


@pytest.mark.network
@pytest.mark.slow
def test_build_pure_builds_a_pure_sdist_and_refuses_a_compiled_one(
    tmp_path: Path, index: FakeIndex
) -> None:
    """--build-pure with the real builder: a PEP 517 build of a real setuptools sdist gives a
    py3-none-any wheel that is locked and recorded as built here; an sdist with a C extension is
    refused, output untouched. The build backend (real setuptools and wheel, downloaded from
    PyPI once, hence `network`) is served only by the fake index given as --index-url: pip's
    isolated build environment must take it from there, as on a mirror-only network."""
    backend = tmp_path / "backend"
    downloaded = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--only-binary", ":all:", "--no-deps",
         "-d", str(backend), "setuptools", "wheel"],
        env=build.pip_env(index_urls=[DEFAULT_INDEX]), capture_output=True, text=True,
    )  # fmt: skip
    assert downloaded.returncode == 0, downloaded.stdout + downloaded.stderr
    for wheel in sorted(backend.glob("*.whl")):
        index.add(wheel)
    index.add_wheel("withsrc", "1.0", requires_dist=["puresrc"])
    index.add_sdist("puresrc", "2.0", requires_dist=["tiny"])
    index.add_sdist("speedy", "1.0", compiled=True)

    refused = _fetch(tmp_path, index, "withsrc")
    assert refused.exit_code == 2 and "--build-pure" in refused.stderr
    assert not (tmp_path / "wh").exists()

    result = _fetch(tmp_path, index, "withsrc", "--build-pure", "--build-python", "host")
    assert result.exit_code == 0, result.output
    wh = tmp_path / "wh"
    assert (wh / "puresrc-2.0-py3-none-any.whl").is_file()
    lock = (wh / "requirements.lock").read_text()
    assert "puresrc==2.0 \\\n    --hash=sha256:" in lock and "tiny==0.3" in lock
    rows = {p["name"]: p for p in json.loads((wh / "manifest.json").read_text())["packages"]}
    assert rows["puresrc"]["built_from"] == "puresrc-2.0.tar.gz"
    assert rows["puresrc"]["url"] is None  # built on this machine: no host path leaks
    assert rows["tiny"]["url"].startswith(index.url.rsplit("/simple", 1)[0])
    assert any(f.startswith("setuptools-") for f in index.downloads())  # the build's backend

    before = _tree(wh)
    compiled = _fetch(tmp_path, index, "speedy", "--build-pure", "--build-python", "host")
    assert compiled.exit_code == 2
    assert "compiled extension detected" in compiled.stderr
    assert len(compiled.stderr.splitlines()) == 1
    assert _tree(wh) == before


def test_progress_bar_only_on_a_terminal(tmp_path: Path, index: FakeIndex) -> None:
    """With stderr on a real pseudo-terminal the download draws a tqdm bar there (the CliRunner
    tests above show stderr stays empty when it is not a terminal)."""
    primary, secondary = pty.openpty()
    # a real terminal has a size; a fresh pseudo-terminal is 0x0, where tqdm draws nothing
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "bundler", "fetch", "app", "--index-url", index.url,
             "--cache-dir", str(tmp_path / "cache"), "--no-audit", "--no-rehearse",
             "-o", str(tmp_path / "wh")],
            stdout=subprocess.PIPE, stderr=secondary, text=True, timeout=120, check=False,
        )  # fmt: skip
        os.close(secondary)
        drawn = b""
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO: the terminal's other side is closed and drained
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(primary)
    assert proc.returncode == 0, proc.stdout
    assert b"download" in drawn and b"100%" in drawn, drawn[-800:]
    assert "download" not in proc.stdout  # the bar never goes to stdout


def test_json_errors_carry_the_fields_exit_codes_unchanged(
    tmp_path: Path, index: FakeIndex
) -> None:
    """--json: one JSON object on stderr (the error's data), exit 2 as without it."""
    index.add_wheel("needy", "1.0", requires_dist=["leaf>=1"])
    index.add_sdist("leaf", "1.2")
    result = _fetch(tmp_path, index, "needy", "--json")
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    error = json.loads(result.stderr)
    assert error["error"] == "NoWheelForTarget" and error["exit_code"] == 2
    assert error["package"] == "leaf"
    assert error["chain"] == ["needy"] and error["what_exists"] == {"1.2": "sdist"}
    assert "--build-pure" in error["hint"] and error["message"].startswith("leaf has no wheel")
    plain = _fetch(tmp_path, index, "needy")
    assert plain.exit_code == 2 and plain.stderr == f"bundler: error: {error['message']}\n"
    usage = _fetch(tmp_path, index, "needy", "--json", "--jobs", "0")
    assert usage.exit_code == 2 and json.loads(usage.stderr)["error"] == "UsageError"


def test_json_result_on_stdout(tmp_path: Path, index: FakeIndex) -> None:
    result = _fetch(tmp_path, index, "lib", "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert sorted(p["name"] for p in record["packages"]) == ["lib", "tiny"]
    assert record["requirements_lock"] == str((tmp_path / "wh" / "requirements.lock").resolve())


def test_round_trip_fetch_from_its_own_lock(tmp_path: Path, index: FakeIndex) -> None:
    """fetch -> fetch -r WH/requirements.lock (same target) -> the same locks, the same bytes.
    A better-ranked wheel published after the first fetch does not replace the locked one."""
    index.add_wheel("wide", "2.0", tags="cp36-cp36m-manylinux2014_x86_64")
    for name, version in (("pip", "21.3.1"), ("setuptools", "59.6.0"), ("wheel", "0.37.1")):
        index.add_wheel(name, version)
    target = ["--python", "3.6", "--platform", "manylinux2014"]
    first = _fetch(tmp_path, index, "app", "wide", *target)
    assert first.exit_code == 0, first.output
    wh, again = tmp_path / "wh", tmp_path / "again"
    index.add_wheel("tiny", "0.3", tags="cp36-cp36m-manylinux2014_x86_64")
    second = CliRunner().invoke(
        main,
        ["fetch", "--index-url", index.url, "--cache-dir", str(tmp_path / "cache2"),
         "--no-audit", "--no-rehearse", "-o", str(again), "-r", str(wh / "requirements.lock"),
         *target],
    )  # fmt: skip
    assert second.exit_code == 0, second.output
    for lock in ("requirements.lock", "bootstrap.lock", "pylock.toml"):
        assert (again / lock).read_text() == (wh / lock).read_text()
    wheels = {p.name: p.read_bytes() for p in wh.glob("*.whl")}
    assert len(wheels) == 8
    assert {p.name: p.read_bytes() for p in again.glob("*.whl")} == wheels


@pytest.fixture(scope="module")
def pip21_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real pip 21.3.1 wheel (the last pip for Python 3.6), downloaded from PyPI once."""
    dest = tmp_path_factory.mktemp("pip21")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--only-binary", ":all:", "--no-deps",
         "-d", str(dest), "pip==21.3.1"],
        env=build.pip_env(index_urls=[DEFAULT_INDEX]), capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return next(dest.glob("pip-21.3.1-*.whl"))


@pytest.mark.slow
@pytest.mark.parametrize("pip", ["18.1", pytest.param("21.3.1", marks=pytest.mark.network)])
def test_exclude_installed_on_python36_pip_check_tolerates_exactly_it(
    tmp_path: Path, index: FakeIndex, python36: Path, pip: str, request: pytest.FixtureRequest
) -> None:
    """--exclude of a compiled sdist: recorded, summarised, shown by inspect; install.sh on the
    real 3.6.15 (with its pip 18.1, and with pip 21.3.1) installs only the lock and its pip
    check tolerates exactly the excluded requirement: another broken requirement still fails."""
    index.add_wheel("flaskish", "1.0", requires_dist=["speedy>=1", "lib"])
    index.add_sdist("speedy", "1.1", compiled=True)
    broken = index.add_wheel("broken", "1.0", requires_dist=["nothere"])
    kit = tmp_path / "kit"
    fetched = CliRunner().invoke(
        main,
        ["fetch", "flaskish", "--exclude", "Speedy", "--index-url", index.url, "--no-audit",
         "--no-rehearse", "--cache-dir", str(tmp_path / "cache"), "-o", str(kit / "wheelhouse")],
    )  # fmt: skip
    assert fetched.exit_code == 0, fetched.output
    line = "excluded: speedy>=1 (required by flaskish; --exclude)"
    assert f"  {line}: not in the wheelhouse" in fetched.stdout
    shown = CliRunner().invoke(main, ["inspect", str(kit)])
    assert shown.exit_code == 0 and line in shown.stdout, shown.output
    venv = tmp_path / "v"
    assert _run(python36, "-m", "venv", venv).returncode == 0
    py = venv / "bin" / "python"
    if pip == "21.3.1":
        wheel = request.getfixturevalue("pip21_wheel")
        assert _run(py, "-m", "pip", "install", "--no-index", wheel).returncode == 0
    assert _run(py, "-m", "pip", "--version").stdout.startswith(f"pip {pip} ")
    # this pip cannot read the standard lock: why install.sh installs requirements.lock
    pylock = _run(py, "-m", "pip", "download", "--no-index", "-d", tmp_path / "d",
                  "-r", kit / "wheelhouse" / "pylock.toml")  # fmt: skip
    assert pylock.returncode != 0
    assert "Invalid requirement: 'lock-version = \"1.0\"'" in pylock.stdout + pylock.stderr
    install = [*("unshare", "-n", "sh"), kit / "wheelhouse" / "install.sh", "--venv", venv,
               "--python", python36]  # fmt: skip
    proc = _run(*install)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    missing = "flaskish 1.0 requires speedy, which is not installed."
    assert f"install.sh: left out on purpose, tolerated: {missing}" in proc.stdout
    check = _run(py, "-m", "pip", "check")  # pip itself does report it
    assert check.returncode == 1 and missing in check.stdout
    assert _run(py, "-m", "pip", "install", "--no-deps", broken.path).returncode == 0
    # into the venv's interpreter as such (no --venv: other packages are allowed there), pip
    # check still fails on the other broken requirement
    again = _run(*("unshare", "-n", "sh"), kit / "wheelhouse" / "install.sh", "--python", py)
    assert again.returncode == 2, again.stdout + again.stderr
    assert "broken 1.0 requires nothere, which is not installed." in again.stdout
    assert "pip check found broken requirements" in again.stderr
    # with --venv: the package the lock does not list is uninstalled, as pip-sync does (#16)
    synced = _run(*install)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    assert "the lock does not list from" in synced.stdout and ": broken" in synced.stdout


def test_yanked_pin_warning_on_stderr_and_in_inspect(tmp_path: Path, index: FakeIndex) -> None:
    index.add_wheel("tiny", "0.4", yanked="contains a security bug")
    kit = tmp_path / "kit"
    result = CliRunner().invoke(
        main,
        ["fetch", "tiny==0.4", "--index-url", index.url, "--no-audit", "--no-rehearse",
         "--cache-dir", str(tmp_path / "cache"), "-o", str(kit / "wheelhouse")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        "bundler: warning: tiny 0.4 is yanked (reason: contains a security bug); it is bundled "
        "only because it is pinned with ==\n"
    )
    shown = CliRunner().invoke(main, ["inspect", str(kit)])
    assert "    yanked: contains a security bug" in shown.stdout


@pytest.mark.slow
def test_pylock_read_by_uv_for_a_host_matching_target_and_not_by_pip_18_1(
    tmp_path: Path, index: FakeIndex, python36: Path
) -> None:
    """An independent reader: uv (`uv pip install -r pylock.toml`) installs exactly the locked
    wheels into a real CPython 3.11.7 for a host-matching target (3.11.7 / manylinux2014), and
    checks the lock's hashes (a changed byte on the index makes it refuse). The target's pip
    18.1 cannot read the file at all (it is not a requirements file)."""
    python311 = require_python("3.11.7")
    index.add_wheel("numpyish", "1.19.5", tags="cp311-cp311-manylinux2014_x86_64")
    target = ["--python", "3.11.7", "--platform", "manylinux2014"]
    assert _fetch(tmp_path, index, "app", *target).exit_code == 0
    lock = tmp_path / "wh" / "pylock.toml"
    uv = Path(sys.executable).parent / "uv"
    venv = tmp_path / "v311"
    assert _run(uv, "venv", "--quiet", "--python", python311, venv).returncode == 0
    install = (uv, "pip", "install", "--no-cache", "--python", venv / "bin" / "python", "-r", lock)
    proc = _run(*install)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for line in ("+ app==1.0", "+ lib==1.0", "+ numpyish==1.19.5", "+ tiny==0.3"):
        assert line in proc.stderr, proc.stderr
    listed = _run(uv, "pip", "list", "--python", venv / "bin" / "python", "--format", "freeze")
    assert sorted(listed.stdout.split()) == [
        "app==1.0", "lib==1.0", "numpyish==1.19.5", "tiny==0.3"
    ]  # fmt: skip
    # other bytes under the same name (a valid wheel, listed with its own new hash)
    build_wheel(index.root / "files", "lib", "1.0", requires_dist=["tiny"], summary="A test wheel")
    tampered = _run(*install[:-2], "--reinstall", "-r", lock)
    assert tampered.returncode != 0 and "hash mismatch" in tampered.stderr.lower(), tampered.stderr
    pip18 = _run(python36, "-m", "pip", "download", "--no-index", "-d", tmp_path / "d", "-r", lock)
    assert pip18.returncode != 0 and "Invalid requirement" in pip18.stdout + pip18.stderr
