"""bundler.kit.archive and the kit readers on hostile archives (property-based, hypothesis).

A kit archive is untrusted input. Random archives (hostile member names and types, links,
devices, absurd sizes), random byte damage to a real kit, and real kits whose manifest.json is
mutated at a random place are given to `verify --unpack` and `inspect`: they either succeed or
raise BundlerError / CheckFailed, and nothing is ever written outside the destination.
The real kit is packed once from the HAND-MADE inputs of tests/unit/kit/handmade_kit.py.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tarfile
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bundler.errors import BadInput, BundlerError, CheckFailed
from bundler.kit import archive as kitarchive
from bundler.kit import info as kitinfo
from bundler.kit import verify
from tests.jsonmutations import JSON, mutate, paths
from tests.unit.kit.handmade_kit import handmade_inputs, pack_inputs

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
NAMES = st.sampled_from(
    [
        "kit-demo",
        "kit-demo/",
        "kit-demo/README.txt",
        "kit-demo/SHA256SUMS",
        "kit-demo/wheelhouse/manifest.json",
        "kit-demo/wheelhouse/x.whl",
        "kit-demo/../escaped",
        "kit-demo/a/../../escaped",
        "../escaped",
        "/tmp/escaped-absolute",
        "kit-demo//double",
        "kit-demo/./dot",
        "kit-demo/sub\\..\\..\\escaped",
        "other/file",
        "",
        ".",
        "kit-demo/" + "d/" * 60 + "deep",
    ]
) | st.text(min_size=1, max_size=30)
TYPES = st.sampled_from(
    [
        tarfile.REGTYPE,
        tarfile.DIRTYPE,
        tarfile.SYMTYPE,
        tarfile.LNKTYPE,
        tarfile.CHRTYPE,
        tarfile.BLKTYPE,
        tarfile.FIFOTYPE,
        tarfile.CONTTYPE,
        b"Z",
    ]
)


@pytest.fixture(scope="module")
def real_kit(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    root = tmp_path_factory.mktemp("realkit")
    archive = pack_inputs(handmade_inputs(root / "in"), root / "kit-demo.tar.gz").archive
    return archive.read_bytes()


def _members(kit: bytes) -> list[tuple[tarfile.TarInfo, bytes | None]]:
    with tarfile.open(fileobj=io.BytesIO(kit)) as tar:
        return [
            (m, tar.extractfile(m).read() if m.isfile() else None)  # type: ignore[union-attr]
            for m in tar.getmembers()
        ]


def _tar(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def _check_readers(archive_bytes: bytes) -> None:
    """verify --unpack and inspect on the archive: only the kit's own errors, and every path
    written stays inside the destination (no link, nothing beside it)."""
    with tempfile.TemporaryDirectory(prefix="i10b-archive-") as tmp:
        root = Path(tmp)
        archive = root / "kit-demo.tar.gz"
        archive.write_bytes(archive_bytes)
        dest = root / "dest"
        with contextlib.suppress(BundlerError, CheckFailed):
            verify.verify([archive], unpack_to=dest)
        with contextlib.suppress(BundlerError):
            kitinfo.read([archive]).summary()
        assert sorted(os.listdir(root)) in (["kit-demo.tar.gz"], ["dest", "kit-demo.tar.gz"])
        assert not Path("/tmp/escaped-absolute").exists()
        for path in dest.rglob("*") if dest.exists() else []:
            assert not path.is_symlink(), path
            assert path.is_dir() or path.is_file(), path
            assert path.resolve().is_relative_to(dest.resolve()), path


@SETTINGS
@given(
    entries=st.lists(
        st.tuples(NAMES, TYPES, st.binary(max_size=64), st.sampled_from(["", "/etc/passwd", ".."])),
        max_size=8,
    )
)
def test_random_archives_never_crash_nor_escape(
    entries: list[tuple[str, bytes, bytes, str]],
) -> None:
    members = []
    for name, kind, data, linkname in entries:
        info = tarfile.TarInfo(name)
        info.type = kind
        info.linkname = linkname
        regular = kind in (tarfile.REGTYPE, tarfile.CONTTYPE, b"Z")
        info.size = len(data) if regular else 0
        members.append((info, data if regular else None))
    _check_readers(_tar(members))


def test_a_gzip_header_cut_in_its_flags_is_a_damaged_archive() -> None:
    """Found by the property test below: tarfile's stream reader raised TypeError."""
    _check_readers(b"\x1f\x8b\x08")


@SETTINGS
@given(data=st.data())
def test_damaged_real_kits_never_crash_nor_escape(real_kit: bytes, data: st.DataObject) -> None:
    damaged = bytearray(real_kit)
    for _ in range(data.draw(st.integers(1, 4), label="flips")):
        at = data.draw(st.integers(0, len(damaged) - 1), label="at")
        damaged[at] = data.draw(st.integers(0, 255), label="byte")
    cut = data.draw(st.integers(1, len(damaged)), label="cut")
    _check_readers(bytes(damaged[:cut]))


@settings(SETTINGS, max_examples=25)
@given(data=st.data())
def test_real_kits_with_a_mutated_manifest_never_crash(
    real_kit: bytes, data: st.DataObject
) -> None:
    members = _members(real_kit)
    index = next(i for i, (m, _) in enumerate(members) if m.name.endswith("manifest.json"))
    doc = json.loads(members[index][1] or b"")
    path = data.draw(st.sampled_from(paths(doc)), label="path")
    value = data.draw(JSON, label="value")
    mutated = json.dumps(mutate(doc, path, value, data.draw(st.booleans()))).encode()
    info = members[index][0]
    info.size = len(mutated)
    members[index] = (info, mutated)
    _check_readers(_tar(members))


@pytest.mark.parametrize(
    "head", [b"\x1f\x8b\x08\x04", b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\x03\x05"]
)
def test_a_gzip_header_cut_in_its_extra_field_is_a_cut_archive(tmp_path: Path, head: bytes) -> None:
    """tarfile's own gzip reader raised TypeError there (CPython gh-107398); gzip's says the
    stream is cut short: one BadInput line."""
    archive = tmp_path / "kit-demo.tar.gz"
    archive.write_bytes(head)
    with pytest.raises(BadInput, match=r"^kit-demo\.tar\.gz: damaged archive \(cut short: "):
        verify.verify([archive])


@pytest.mark.parametrize(
    ("line", "name"),
    [
        ("a" * 64 + "  kit-x.tar.gz\n", "kit-x.tar.gz"),
        ("a" * 64 + " *kit-x.tar.gz\n", "kit-x.tar.gz"),  # sha256sum --binary
        ("a" * 64 + "  out/kit-x.tar.gz\n", "kit-x.tar.gz"),
        ("a" * 64 + "\n", None),
    ],
)
def test_the_sidecar_records_the_archive_name(tmp_path: Path, line: str, name: str | None) -> None:
    kit = tmp_path / "kit-y.tar.gz"
    kit.write_bytes(b"x")
    (tmp_path / "kit-y.tar.gz.sha256").write_text(line)
    found = kitarchive.recorded([kit])
    assert found is not None and found.sha256 == "a" * 64 and found.name == name
    problem = kitarchive.renamed([kit])
    assert (problem is None) == (name is None)
    if problem:
        assert "kit-y.tar.gz: its kit-y.tar.gz.sha256 names kit-x.tar.gz" in problem


def _gzip_member(tar_bytes: bytes, flush_at: int) -> tuple[bytes, int]:
    """A gzip stream (RFC 1952) of `tar_bytes` with a full flush after `flush_at` bytes, and
    the offset in it where the data up to `flush_at` is complete: a cut there decompresses to
    exactly `tar_bytes[:flush_at]`, with no end-of-stream marker."""
    import struct
    import zlib

    head = b"\x1f\x8b\x08\x00" + b"\x00" * 4 + b"\x00\x03"
    deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    first = deflate.compress(tar_bytes[:flush_at]) + deflate.flush(zlib.Z_FULL_FLUSH)
    rest = deflate.compress(tar_bytes[flush_at:]) + deflate.flush()
    trailer = struct.pack("<II", zlib.crc32(tar_bytes), len(tar_bytes) & 0xFFFFFFFF)
    return head + first + rest + trailer, len(head) + len(first)


def _two_member_tar() -> tuple[bytes, int]:
    """A kit-like tar of two files and the offset where the second member's header starts."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in (("kit-demo/a.txt", b"a" * 700), ("kit-demo/b.txt", b"b" * 300)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        second = tar.offset - 512 - 512  # header + one data block of b.txt
    return buffer.getvalue(), second


@pytest.mark.parametrize("damage", ["cut on a member boundary", "bad CRC-32", "bytes after"])
def test_gzip_damage_that_leaves_whole_tar_members_is_a_damaged_archive(
    tmp_path: Path, damage: str
) -> None:
    """A cut where the tar data ends between members reads, to tarfile's stream mode, as a
    clean shorter archive; so do a wrong CRC-32 and junk after the gzip stream (its trailer is
    never read). Reading to the end of the gzip stream catches all three."""
    tar_bytes, boundary = _two_member_tar()
    whole, cut_at = _gzip_member(tar_bytes, boundary)
    if damage == "cut on a member boundary":
        data = whole[:cut_at]
    elif damage == "bad CRC-32":
        data = whole[:-8] + bytes([whole[-8] ^ 0xFF]) + whole[-7:]
    else:
        data = whole + b"junk after the gzip stream"
    archive = tmp_path / "kit-demo.tar.gz"
    archive.write_bytes(data)
    with pytest.raises(BadInput, match=r"^kit-demo\.tar\.gz: damaged archive \("):
        kitarchive.scan([archive], hash_all=True)
    archive.write_bytes(whole)  # the undamaged stream reads whole
    assert sorted(kitarchive.scan([archive], hash_all=True).files) == ["a.txt", "b.txt"]
