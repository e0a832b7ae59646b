"""Atomic writes leave either the old file or the whole new one, never a part."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from bundler.fs.atomic import atomic_copy, atomic_open, atomic_write_text
from bundler.fs.hashing import sha256_file


def test_atomic_write_replaces_content(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "f.txt"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["f.txt"]


def test_failed_write_leaves_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_open(target) as f:
        f.write(b"half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_sha256_file_matches_hashlib(tmp_path: Path) -> None:
    data = b"x" * (3 * 1024 * 1024 + 7)
    f = tmp_path / "big"
    f.write_bytes(data)
    assert sha256_file(f) == hashlib.sha256(data).hexdigest()


def test_atomic_copy_is_a_separate_file(tmp_path: Path) -> None:
    """A copy, never a hard link: flipping a byte of the source leaves the copy alone."""
    src = tmp_path / "blob"
    src.write_bytes(b"wheel bytes" * 1000)
    dest = atomic_copy(src, tmp_path / "out" / "a.whl")
    assert dest.read_bytes() == src.read_bytes()
    assert dest.stat().st_ino != src.stat().st_ino
    with src.open("r+b") as f:
        f.write(b"X")
    assert dest.read_bytes().startswith(b"wheel")
    assert [p.name for p in dest.parent.iterdir()] == ["a.whl"]
