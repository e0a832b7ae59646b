"""bundler.audit.members: which members the audit opens, spooling, facts by a known sha256.

The ELF objects are compiled here with the machine's gcc (tests/unit/audit/test_elf.py's
`gcc`); the converter's real wheels are compared with a scan of every member in
tests/e2e/test_audit_real.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bundler.audit import members
from bundler.audit import report as audit
from bundler.errors import BadInput
from bundler.fs.cache import Cache
from tests.unit.audit.test_elf import gcc, make_wheel

MANYLINUX1 = "cp36-cp36m-manylinux1_x86_64"
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def libs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A stub library with a soname, and an object that needs it (DT_NEEDED libstub.so.1)."""
    root = tmp_path_factory.mktemp("members-elf")
    stub = gcc(root / "libstub.so.1", "int stub(void) { return 1; }\n", "-Wl,-soname,libstub.so.1")
    user = gcc(root / "user.so", "int stub(void);\nint use(void) { return stub(); }\n", str(stub))
    return {"stub": stub, "user": user}


TEXT_MEMBERS: dict[str, bytes | Path] = {
    "pkg/__init__.py": b"from pkg._native import use\n" * 4,
    "pkg/py.typed": b"partial\n" * 4,
    "pkg/static/app.js": b"console.log('not an object file');\n",
    "pkg/static/logo.png": b"\x89PNG\r\n\x1a\n" + b"\0" * 64,
    "pkg/locale/de/LC_MESSAGES/pkg.mo": b"\xde\x12\x04\x95" + b"\0" * 64,
    "pkg/include/pkg.h": b"int use(void);\n" * 4,
}


def test_known_non_elf_names_are_skipped_everything_else_is_opened() -> None:
    for name in (
        "pkg/mod.py",
        "pkg/MOD.PY",  # case does not matter
        "pkg/stubs/x.pyi",
        "pkg/include/x.hpp",
        "pkg/static/app.js.map",
        "pkg/static/logo.PNG",
        "pkg-1.0.dist-info/METADATA",
        "pkg-1.0.dist-info/RECORD",
        "pkg-1.0.dist-info/LICENSE.txt",
    ):
        assert not members.may_be_elf(name), name
    for name in (
        "pkg/_native.cpython-36m-x86_64-linux-gnu.so",
        "pkg.libs/libgfortran-040039e1.so.5.0.0",  # the suffix is a version number
        "pkg.libs/libcrypto-5409cd36.so.1.1.1k",
        "pkg/bin/tool",  # an executable without a suffix
        "pkg/_native.bin",
        "pkg/blob.dat",
        "pkg/plugin.o",  # relocatable objects are ELF too
        "pkg/.py",  # a hidden file named like a suffix: no suffix at all
        "pkg/METADATA",  # only the .dist-info's own metadata files are known
        "pkg/py",
    ):
        assert members.may_be_elf(name), name


ELF_SUFFIXES = ("so", "o", "node", "ko", "elf", "bin", "out", "dat", "exe", "mod", "plugin")
"""Suffixes ELF objects are found under (shared objects, relocatables, Node addons, kernel
modules, firmware and plain binaries): the rule must never skip one."""
PARTS = st.text(st.characters(blacklist_characters="/.\0"), min_size=1, max_size=12)


@given(
    st.lists(PARTS, max_size=3),
    PARTS,
    st.one_of(st.sampled_from(ELF_SUFFIXES), st.from_regex(r"[0-9]+[a-z]{0,3}", fullmatch=True)),
)
def test_names_objects_are_found_under_are_always_opened(
    folders: list[str], stem: str, suffix: str
) -> None:
    """A soname (`lib.so.1.2.3k`), any other suffix objects carry, or no suffix at all."""
    folder = "".join(f"{f}/" for f in folders)
    assert members.may_be_elf(f"{folder}{stem}.{suffix}")
    assert members.may_be_elf(f"{folder}{stem}.so.{suffix}")
    assert members.may_be_elf(f"{folder}{stem}")
    if stem not in members.DIST_INFO_FILES:
        assert members.may_be_elf(f"{folder}{stem}-1.0.dist-info/{stem}")


def test_an_object_under_unusual_names_is_still_found(
    tmp_path: Path, libs: dict[str, Path]
) -> None:
    hidden = {
        "pkg/_native.bin": libs["user"],
        "pkg/bin/tool": libs["user"],
        "pkg/blob.dat": libs["user"],
        "pkg.libs/libstub-0a1b2c3d.so.1.2.3k": libs["stub"],
        "pkg/Native.SO": libs["user"],
    }
    whl = make_wheel(tmp_path / f"pkg-1.0-{MANYLINUX1}.whl", {**TEXT_MEMBERS, **hidden})
    found = members.read_elf_members(whl)
    assert sorted(found) == sorted(hidden)
    assert found == members.read_elf_members(whl, every_member=True)
    assert found["pkg/bin/tool"].needed == ("libstub.so.1",)
    assert found["pkg.libs/libstub-0a1b2c3d.so.1.2.3k"].soname == "libstub.so.1"


def test_the_rule_s_limit_an_object_named_like_source_is_not_seen(
    tmp_path: Path, libs: dict[str, Path]
) -> None:
    """Stated in bundler/audit/members.py: an ELF object *named* `x.py` (or `.json`, `.txt`,
    or a .dist-info RECORD) is not opened; only a scan of every member finds it."""
    disguised = {"pkg/helper.py": libs["user"], "pkg-1.0.dist-info/RECORD": libs["user"]}
    whl = make_wheel(tmp_path / f"pkg-1.0-{MANYLINUX1}.whl", {**TEXT_MEMBERS, **disguised})
    assert members.read_elf_members(whl) == {}
    assert sorted(members.read_elf_members(whl, every_member=True)) == sorted(disguised)


def test_members_not_named_like_elf_are_never_opened(
    tmp_path: Path, libs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    whl = make_wheel(
        tmp_path / f"pkg-1.0-{MANYLINUX1}.whl", {**TEXT_MEMBERS, "pkg/_n.so": libs["user"]}
    )
    opened: list[str] = []
    real_open = zipfile.ZipFile.open

    def recording(self: zipfile.ZipFile, name: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(name.filename if isinstance(name, zipfile.ZipInfo) else name)
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", recording)
    assert list(members.read_elf_members(whl)) == ["pkg/_n.so"]
    assert opened == ["pkg/_n.so"]  # the .dist-info files and every text member stay closed


def test_a_big_member_is_spooled_to_a_file(
    tmp_path: Path, libs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above SPOOL_BYTES the inflated member goes to a temporary file; the facts are the same."""
    whl = make_wheel(tmp_path / f"pkg-1.0-{MANYLINUX1}.whl", {"pkg/_n.so": libs["user"]})
    in_memory = members.read_elf_members(whl)
    rolled: list[bool] = []
    real = tempfile.SpooledTemporaryFile

    class Watched(real):  # type: ignore[misc, valid-type]
        def seek(self, *args: Any) -> int:
            rolled.append(bool(self._rolled))
            return int(super().seek(*args))

    monkeypatch.setattr(members.tempfile, "SpooledTemporaryFile", Watched)
    monkeypatch.setattr(members, "SPOOL_BYTES", 1024)
    assert libs["user"].stat().st_size > 1024
    assert members.read_elf_members(whl) == in_memory
    assert rolled and all(rolled)


RSS_PROBE = r"""
import sys
from pathlib import Path
from bundler.audit.members import read_elf_members

def peak_kib():  # this image's own high-water mark (getrusage would count the forking parent)
    with open("/proc/self/status") as status:
        return next(int(l.split()[1]) for l in status if l.startswith("VmHWM:"))

before = peak_kib()
found = read_elf_members(Path(sys.argv[1]))
print(len(found), (peak_kib() - before) // 1024)
"""


def test_peak_memory_stays_bounded_for_a_large_member(
    tmp_path: Path, libs: dict[str, Path]
) -> None:
    """A 96 MiB ELF member (a real object padded with zeros, as auditwheel's big grafts are
    mostly code) raises the peak RSS of a fresh interpreter by far less than its size."""
    padded = libs["user"].read_bytes() + b"\0" * (96 << 20)
    whl = make_wheel(tmp_path / f"big-1.0-{MANYLINUX1}.whl", {"big/_n.so": padded})
    del padded
    proc = subprocess.run(
        [sys.executable, "-c", RSS_PROBE, str(whl)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    count, grown_mib = (int(x) for x in proc.stdout.split())
    assert count == 1
    assert grown_mib < 48, f"peak RSS grew by {grown_mib} MiB for a 96 MiB member"


def test_facts_are_kept_under_a_sha256_the_caller_knows(
    tmp_path: Path, libs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given the wheel's sha256 (the fetch knows it from the download's check), the audit
    neither hashes the wheel nor, the second time, opens it."""
    whl = make_wheel(tmp_path / f"pkg-1.0-{MANYLINUX1}.whl", {"pkg/_n.so": libs["user"]})
    digest = "ab" * 32
    cache = Cache(tmp_path / "cache")

    def no_hashing(path: Path) -> str:
        raise AssertionError(f"{path.name} hashed although its sha256 was given")

    monkeypatch.setattr(members, "sha256_file", no_hashing)
    first = members.cached_elf_members(whl, cache, digest)
    stored = json.loads(cache.facts_path(members.ELF_FACTS, digest).read_text())
    assert sorted(stored) == ["pkg/_n.so"]

    def no_reading(path: Path, *, every_member: bool = False) -> None:
        raise AssertionError(f"{path.name} read again")

    monkeypatch.setattr(members, "read_elf_members", no_reading)
    assert members.cached_elf_members(whl, cache, digest) == first
    report = audit.audit_directory(tmp_path, "centos7", cache=cache, digests={whl.name: digest})
    assert report.wheels[0].system == {"libstub.so.1": ["pkg/_n.so"]}


def test_a_wheel_that_is_not_a_zip_is_named(tmp_path: Path) -> None:
    bad = tmp_path / f"bad-1.0-{MANYLINUX1}.whl"
    bad.write_bytes(b"not a zip at all")
    with pytest.raises(BadInput, match=rf"{bad.name}: corrupt wheel"):
        members.read_elf_members(bad)
