"""python_build's files/prebuilt_python.py: the tarball of a CPython built once for the fleet.

`pack` must give the same bytes for the same tree (sorted members, owners 0, one mtime, the
timestamp of .pyc headers set to it); `install` must refuse a tarball whose sha256 is not the
recorded one before it writes anything, refuse members that leave the tree, recover from the
stage a killed run left, and replace files by rename. Run with this venv's Python and with
2.7.18 (CentOS 7's /usr/bin/python runs it on the hosts).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import json
import os
import posixpath
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.playbooks.role_docs import PLAYBOOKS

SCRIPT = PLAYBOOKS / "roles" / "python_build" / "files" / "prebuilt_python.py"
EPOCH = 315532800


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("prebuilt_python", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


prebuilt = _load()


def _pyc(mtime: int, source_size: int = 5) -> bytes:
    # 3.11's header: magic (3495), flags 0 (timestamp-based), mtime, source size, then code
    return struct.pack("<H", 3495) + b"\r\n" + struct.pack("<III", 0, mtime, source_size) + b"X"


def _tree(root: Path) -> Path:
    (root / "bin").mkdir(parents=True)
    (root / "lib" / "python3.11" / "__pycache__").mkdir(parents=True)
    python = root / "bin" / "python3.11"
    python.write_bytes(b"\x7fELF interpreter")
    python.chmod(0o755)
    (root / "lib" / "python3.11" / "os.py").write_text("x = 1\n")
    (root / "lib" / "python3.11" / "__pycache__" / "os.cpython-311.pyc").write_bytes(
        _pyc(1_700_000_000)
    )
    (root / "lib" / "libpython3.11.so.1.0").write_bytes(b"lib")
    (root / "lib" / "libpython3.11.so").symlink_to("libpython3.11.so.1.0")
    return root


def _run(python: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([python, str(SCRIPT), *argv], capture_output=True, text=True)


def _pack(python: str, root: Path, out: Path, name: str = "t") -> dict[str, object]:
    proc = _run(
        python, "pack", "--root", str(root), "--out", str(out), "--name", name,
        "--epoch", str(EPOCH), "--meta", json.dumps({"version": "3.11.2"}),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout)
    return result


@pytest.fixture(params=["venv", "python27"])
def python(request: pytest.FixtureRequest) -> str:
    if request.param == "venv":
        return sys.executable
    return str(request.getfixturevalue("python27"))


def test_pack_is_reproducible_and_normalised(tmp_path: Path, python: str) -> None:
    root = _tree(tmp_path / "stage")
    first = _pack(python, root, tmp_path / "one")
    os.utime(root / "bin" / "python3.11", (time.time(), time.time()))  # a later mtime
    second = _pack(python, root, tmp_path / "two")
    one, two = tmp_path / "one" / "t.tar.gz", tmp_path / "two" / "t.tar.gz"
    assert one.read_bytes() == two.read_bytes()
    assert first["sha256"] == hashlib.sha256(one.read_bytes()).hexdigest() == second["sha256"]
    record = json.loads((tmp_path / "one" / "t.json").read_text())
    assert record["sha256"] == first["sha256"] and record["version"] == "3.11.2"
    assert record["file"] == "t.tar.gz" and record["size"] == one.stat().st_size
    raw = one.read_bytes()
    assert raw[4:8] == b"\0\0\0\0"  # gzip mtime 0
    with tarfile.open(one) as tar:
        members = tar.getmembers()
        names = [m.name for m in members]
        assert names == sorted(names)
        assert {(m.uid, m.gid, m.uname, m.gname, m.mtime) for m in members} == {
            (0, 0, "", "", EPOCH)
        }
        modes = {m.name: m.mode for m in members if m.isreg()}
        assert modes["bin/python3.11"] == 0o755 and modes["lib/python3.11/os.py"] == 0o644
        link = tar.getmember("lib/libpython3.11.so")
        assert link.issym() and link.linkname == "libpython3.11.so.1.0"
        pyc = tar.extractfile("lib/python3.11/__pycache__/os.cpython-311.pyc")
        assert pyc is not None
        assert struct.unpack("<I", pyc.read()[8:12])[0] == EPOCH  # matches os.py's mtime


def test_pyc_header_rules() -> None:
    stamped = prebuilt.pyc_with_epoch(_pyc(5), EPOCH)
    assert struct.unpack("<I", stamped[8:12])[0] == EPOCH and stamped[12:] == _pyc(5)[12:]
    hashed = struct.pack("<H", 3495) + b"\r\n" + struct.pack("<III", 1, 7, 7) + b"X"
    assert prebuilt.pyc_with_epoch(hashed, EPOCH) == hashed  # PEP 552 hash-based: kept
    old = struct.pack("<H", 3379) + b"\r\n" + struct.pack("<II", 5, 9) + b"XYZW"  # 3.6
    assert struct.unpack("<I", prebuilt.pyc_with_epoch(old, EPOCH)[4:8])[0] == EPOCH
    assert prebuilt.pyc_with_epoch(b"not a pyc", EPOCH) == b"not a pyc"


def test_install_checks_the_sha256_first_then_replaces_files_by_rename(
    tmp_path: Path, python: str
) -> None:
    result = _pack(python, _tree(tmp_path / "stage"), tmp_path / "out")
    tarball = tmp_path / "out" / "t.tar.gz"
    prefix = tmp_path / "prefix"
    wrong = _run(python, "install", "--tarball", str(tarball), "--sha256", "0" * 64,
                 "--prefix", str(prefix))  # fmt: skip
    assert wrong.returncode == 3, wrong.stderr
    assert wrong.stderr.startswith("prebuilt_python: ") and "refused" in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1
    assert not prefix.exists()
    # an older interpreter and a killed run's stage are there
    (prefix / "bin").mkdir(parents=True)
    (prefix / "bin" / "python3.11").write_text("old")
    (prefix / "bin" / "other-tool").write_text("kept")
    old_inode = (prefix / "bin" / "python3.11").stat().st_ino
    (prefix / prebuilt.STAGE / "bin").mkdir(parents=True)
    (prefix / prebuilt.STAGE / "bin" / "half").write_text("half")
    sha = str(result["sha256"])
    ok = _run(
        python, "install", "--tarball", str(tarball), "--sha256", sha, "--prefix", str(prefix)
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout) == {"files": 5}  # 4 files and a link
    assert (prefix / "bin" / "python3.11").read_bytes() == b"\x7fELF interpreter"
    assert (prefix / "bin" / "python3.11").stat().st_ino != old_inode  # renamed, not rewritten
    assert (prefix / "bin" / "other-tool").read_text() == "kept"
    assert os.readlink(prefix / "lib" / "libpython3.11.so") == "libpython3.11.so.1.0"
    assert not (prefix / prebuilt.STAGE).exists() and not (prefix / "bin" / "half").exists()
    again = _run(
        python, "install", "--tarball", str(tarball), "--sha256", sha, "--prefix", str(prefix)
    )
    assert again.returncode == 0, again.stderr


def _hostile(path: Path, member: tarfile.TarInfo, data: bytes = b"") -> str:
    with tarfile.open(path, "w:gz") as tar:
        member.size = len(data) if member.isreg() else 0
        tar.addfile(member, io.BytesIO(data) if member.isreg() else None)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _link(name: str, target: str) -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type, member.linkname = tarfile.SYMTYPE, target
    return member


def _special(name: str, kind: bytes) -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type = kind
    return member


@pytest.mark.parametrize(
    "member",
    [
        tarfile.TarInfo("../escape"),
        tarfile.TarInfo("/etc/passwd"),
        tarfile.TarInfo("lib/../../escape"),
        _link("lib/evil", "/etc/shadow"),
        _link("lib/evil", "../../outside"),
        _special("dev/null", tarfile.CHRTYPE),
        _special("fifo", tarfile.FIFOTYPE),
        _special("hard", tarfile.LNKTYPE),
    ],
    ids=[
        "dotdot",
        "absolute",
        "dotdot-inside",
        "abs-link",
        "escaping-link",
        "device",
        "fifo",
        "hardlink",
    ],
)
def test_install_refuses_members_that_leave_the_tree(
    tmp_path: Path, member: tarfile.TarInfo
) -> None:
    tarball = tmp_path / "bad.tar.gz"
    sha = _hostile(tarball, member, b"x")
    prefix = tmp_path / "prefix"
    proc = _run(sys.executable, "install", "--tarball", str(tarball), "--sha256", sha,
                "--prefix", str(prefix))  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert f"member {member.name!r}" in proc.stderr
    assert not (tmp_path / "escape").exists() and not (tmp_path / "outside").exists()
    assert list(prefix.iterdir()) == []  # no file moved, and the stage removed (#13 review 2)


_parts = st.lists(st.sampled_from(["a", "b", "..", ".", ""]), min_size=1, max_size=6)


@given(name=_parts, target=_parts)
def test_a_link_stays_inside_exactly_when_its_resolved_path_does(
    name: list[str], target: list[str]
) -> None:
    link = "/".join(p for p in name if p not in ("", ".", "..")) or "x"
    goal = "/".join(target)
    resolved = posixpath.normpath(posixpath.join("/root", posixpath.dirname(link), goal))
    # a path that climbs above the tree at any step leaves it, even when it comes back
    climbs = False
    depth = len(link.split("/")) - 1
    for part in goal.split("/"):
        depth += -1 if part == ".." else (0 if part in ("", ".") else 1)
        climbs |= depth < 0
    expected = not goal.startswith("/") and not climbs and resolved.startswith("/root")
    assert prebuilt._inside(link, goal) == expected


def _tarball(path: Path, members: list[tarfile.TarInfo]) -> str:
    with tarfile.open(path, "w:gz") as tar:
        for member in members:
            data = b"x" if member.isreg() else b""
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data) if member.isreg() else None)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _outside_is_untouched(top: Path, prefix: Path) -> None:
    """Nothing but PREFIX below TOP, and every link below PREFIX resolves below it."""
    assert sorted(p.name for p in top.iterdir()) == sorted(["t.tar.gz", prefix.name])
    real_prefix = os.path.realpath(prefix)
    for path in prefix.rglob("*"):
        if path.is_symlink():
            real = os.path.realpath(path)
            assert real == real_prefix or real.startswith(real_prefix + os.sep), path


def test_install_refuses_a_path_through_a_chain_of_links(tmp_path: Path, python: str) -> None:
    # the review's tarball (2026-12-01): each link alone points inside, the chain leaves it
    members = [_link("a/b", ".."), _link("a/b/c", ".."), _link("a/b/c/d", "..")]
    members.append(tarfile.TarInfo("a/b/c/d/outside/PWNED"))
    sha = _tarball(tmp_path / "t.tar.gz", members)
    prefix = tmp_path / "prefix"
    proc = _run(python, "install", "--tarball", str(tmp_path / "t.tar.gz"), "--sha256", sha,
                "--prefix", str(prefix))  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "goes through the link member 'a/b'" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "outside").exists()
    _outside_is_untouched(tmp_path, prefix)
    assert list(prefix.iterdir()) == []  # nor the stage left


def test_install_refuses_a_link_whose_chain_leaves_the_tree(tmp_path: Path) -> None:
    # a/up points at the top (inside), a/x -> up/.. looks inside as text: the kernel
    # resolves up first, then .. leaves the tree
    members = [_link("a/up", ".."), _link("a/x", "up/..")]
    sha = _tarball(tmp_path / "t.tar.gz", members)
    prefix = tmp_path / "prefix"
    with pytest.raises(prebuilt.Refused, match=r"member 'a/x': a link to 'up/\.\.', outside"):
        prebuilt.install(str(tmp_path / "t.tar.gz"), sha, str(prefix))
    assert list(prefix.iterdir()) == []  # nor the stage left


# a path a/b/..., links at some of its prefixes (a chain: a -> .., a/b -> .., ...), a file at
# its end, and a few members of any kind from a small alphabet
_steps = st.lists(st.sampled_from(["a", "b"]), min_size=1, max_size=4)
_hops = st.lists(st.sampled_from([None, "..", "..", "../..", "a", "."]), min_size=4, max_size=4)
_names = st.lists(st.sampled_from(["a", "b", "c", "."]), min_size=1, max_size=5)
_targets = st.lists(st.sampled_from(["..", "a", "."]), min_size=1, max_size=2)
_entries = st.lists(
    st.tuples(st.sampled_from(["file", "dir", "link"]), _names, _targets), max_size=3
)


@settings(max_examples=200, deadline=None)
@given(steps=_steps, hops=_hops, entries=_entries)
def test_no_tarball_of_links_and_files_writes_outside_the_prefix(
    steps: list[str], hops: list[str | None], entries: list[tuple[str, list[str], list[str]]]
) -> None:
    chain = [
        _link("/".join(steps[: i + 1]), hop) for i, hop in enumerate(hops[: len(steps)]) if hop
    ]
    with tempfile.TemporaryDirectory(prefix="i13e-chain-") as top_name:
        top = Path(top_name)
        members = [*chain, tarfile.TarInfo("/".join([*steps, "x"]))]
        for kind, name, target in entries:
            member = tarfile.TarInfo("/".join(name))
            if kind == "dir":
                member.type = tarfile.DIRTYPE
            elif kind == "link":
                member.type, member.linkname = tarfile.SYMTYPE, "/".join(target)
            members.append(member)
        sha = _tarball(top / "t.tar.gz", members)
        prefix = top / "prefix"
        with contextlib.suppress(prebuilt.Refused, OSError):
            prebuilt.install(str(top / "t.tar.gz"), sha, str(prefix))
        _outside_is_untouched(top, prefix)


@pytest.mark.parametrize("umask", [0o077, 0o022])
def test_install_creates_directories_0755_whatever_the_umask(
    tmp_path: Path, python: str, umask: int
) -> None:
    result = _pack(python, _tree(tmp_path / "stage"), tmp_path / "out")
    prefix = tmp_path / "deep" / "prefix"
    # the umask set by a shell, not a preexec_fn (unsafe with threads; tests/test_signals.py)
    proc = subprocess.run(
        ["sh", "-c", f'umask {umask:03o} && exec "$@"', "sh",
         python, str(SCRIPT), "install", "--tarball", str(tmp_path / "out" / "t.tar.gz"),
         "--sha256", str(result["sha256"]), "--prefix", str(prefix)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    for directory in [tmp_path / "deep", prefix, prefix / "bin", prefix / "lib" / "python3.11"]:
        assert directory.stat().st_mode & 0o777 == 0o755, directory
    assert (prefix / "bin" / "python3.11").stat().st_mode & 0o777 == 0o755
    assert (prefix / "lib" / "python3.11" / "os.py").stat().st_mode & 0o777 == 0o644


def test_install_follows_a_directory_link_in_the_prefix(tmp_path: Path) -> None:
    # the review's case: PREFIX/lib -> ../elsewhere must stay a link, its files kept
    result = _pack(sys.executable, _tree(tmp_path / "stage"), tmp_path / "out")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "other.so").write_text("keep")
    prefix = tmp_path / "p2"
    prefix.mkdir()
    (prefix / "lib").symlink_to("../elsewhere")
    prebuilt.install(str(tmp_path / "out" / "t.tar.gz"), str(result["sha256"]), str(prefix))
    assert os.readlink(prefix / "lib") == "../elsewhere"
    assert (tmp_path / "elsewhere" / "other.so").read_text() == "keep"
    assert (tmp_path / "elsewhere" / "python3.11" / "os.py").read_text() == "x = 1\n"
    # a plain file where the tarball has a directory: refused, not replaced
    other = tmp_path / "p3"
    other.mkdir()
    (other / "bin").write_text("a file")
    with pytest.raises(prebuilt.Refused, match="bin is not a directory"):
        prebuilt.install(str(tmp_path / "out" / "t.tar.gz"), str(result["sha256"]), str(other))
    assert (other / "bin").read_text() == "a file"
