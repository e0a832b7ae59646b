"""tempnames.py: temp and work-directory names fit the name limit, whatever the destination's
name, and the sweep still recognises them (review of #10/#18, defect 7: a valid 255-byte
wheel name failed with ENAMETOOLONG)."""

from __future__ import annotations

import fcntl
import os
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bundler.fs import staging
from bundler.fs.atomic import atomic_write_bytes
from bundler.fs.cache import Cache
from bundler.fs.tempnames import hidden_prefix, name_max, part_prefix

LONGEST = "a" * 200 + "-1.0-" + "b" * 33 + "-py3-none-any.whl"  # 255 bytes


def test_a_255_byte_name_can_be_written_atomically_and_received_into_the_cache(
    tmp_path: Path,
) -> None:
    assert len(LONGEST.encode()) == 255 == name_max(tmp_path)
    atomic_write_bytes(tmp_path / LONGEST, b"wheel")
    assert (tmp_path / LONGEST).read_bytes() == b"wheel"
    cache = Cache(tmp_path / "cache")
    with cache.incoming(LONGEST) as (out, tmp):
        out.write(b"x")
        assert len(tmp.name.encode()) <= 255 and tmp.name.endswith(".part")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([LONGEST, "cache"])
    assert [p.name for p in cache.tmp.iterdir()] == []


def test_a_255_byte_destination_is_staged_and_its_abandoned_stage_swept(tmp_path: Path) -> None:
    dest = tmp_path / LONGEST
    with staging.staging(dest) as stage:
        (stage.content / "f").write_text("new")
        stage.commit()
    assert (dest / "f").read_text() == "new"
    # what a SIGKILLed run leaves: an unlocked work directory and an unlocked .part file
    work = Path(tempfile.mkdtemp(prefix=staging.work_prefix(dest, tmp_path), dir=tmp_path))
    fd, part = tempfile.mkstemp(prefix=part_prefix(LONGEST, tmp_path), suffix=".part", dir=tmp_path)
    os.close(fd)
    assert sorted(staging.sweep(dest)) == sorted([work, Path(part)])
    assert sorted(p.name for p in tmp_path.iterdir()) == [LONGEST]


def test_long_names_that_share_a_beginning_get_different_prefixes(tmp_path: Path) -> None:
    first, second = "x" * 250 + "1", "x" * 250 + "2"
    assert hidden_prefix(first, 20, tmp_path) != hidden_prefix(second, 20, tmp_path)
    assert hidden_prefix("short", 20, tmp_path) == ".short"


def test_a_live_stage_of_another_long_name_is_not_swept(tmp_path: Path) -> None:
    other = tmp_path / ("x" * 250 + "2")
    work = Path(tempfile.mkdtemp(prefix=staging.work_prefix(other, tmp_path), dir=tmp_path))
    fd = os.open(work, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert staging.sweep(tmp_path / ("x" * 250 + "1")) == []
        assert staging.sweep(other) == []  # its own, but held by a live run
    finally:
        os.close(fd)
    assert staging.sweep(other) == [work]


@settings(max_examples=40, deadline=None)
@given(
    name=st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"),
        min_size=1,
        max_size=255,
    ).filter(lambda n: n not in (".", "..") and len(n.encode()) <= 254),
    room=st.integers(0, 30),
)
def test_any_name_gives_a_prefix_that_fits(name: str, room: int) -> None:
    directory = Path(tempfile.gettempdir())
    prefix = hidden_prefix(name, room, directory)
    assert len(os.fsencode(prefix)) + room <= 255
    assert prefix.startswith(".")
    if len(os.fsencode("." + name)) + room <= 255:
        assert prefix == "." + name
