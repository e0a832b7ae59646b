"""The content-addressed cache: XDG location, blobs by hash, pages by URL."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bundler.fs.atomic import atomic_write_bytes
from bundler.fs.cache import Cache, DamagedEntry, default_root


def test_default_root_honours_xdg_cache_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_root() == tmp_path / "airgap-kit"


def test_blob_is_stored_under_its_hash_and_a_corrupt_one_is_dropped(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    data = b"wheel bytes"
    sha = hashlib.sha256(data).hexdigest()
    tmp = tmp_path / "incoming"
    tmp.write_bytes(data)
    stored = cache.adopt_blob(tmp, sha)
    assert stored == cache.blob_path(sha) and stored.read_bytes() == data
    assert cache.verify_blob(sha)
    stored.write_bytes(b"bit rot")
    assert not cache.verify_blob(sha)
    assert not cache.has_blob(sha)


def test_stored_blob_checks_presence_and_size_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = Cache(tmp_path)
    data = b"wheel bytes"
    sha = hashlib.sha256(data).hexdigest()
    assert cache.stored_blob(sha) is None
    (tmp_path / "incoming").write_bytes(data)
    cache.adopt_blob(tmp_path / "incoming", sha)
    monkeypatch.setattr("bundler.fs.cache.sha256_file", lambda p: pytest.fail("re-hashed"))
    assert cache.stored_blob(sha) == cache.stored_blob(sha, len(data)) == cache.blob_path(sha)
    assert cache.stored_blob(sha, len(data) + 1) is None  # damaged since: fetched again
    cache.blob_path(sha).write_bytes(b"X" * len(data))  # same size: trusted here, caught by
    assert cache.stored_blob(sha, len(data)) == cache.blob_path(sha)  # pack/verify end to end


def test_pages_round_trip_by_url(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    assert cache.get_page("https://example.invalid/simple/x/") is None
    cache.put_page("https://example.invalid/simple/x/", b"{}")
    assert cache.get_page("https://example.invalid/simple/x/") == b"{}"


def test_pages_and_facts_skip_fsync_and_a_damaged_page_is_a_miss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Re-derivable entries are written without fsync (issue #17, finding 3); what a crash
    can leave of one (empty, cut, zero-filled) reads back as a miss and is removed, while an
    entry of an older kit (no header) is still read."""
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    cache = Cache(tmp_path)
    url = "https://example.invalid/simple/x/"
    body = b'{"files": []}' * 100
    cache.put_page(url, body)
    cache.put_facts("kind-v1", "ab" * 32, {"x": 1})
    assert synced == []
    assert cache.get_page(url) == body and cache.get_facts("kind-v1", "ab" * 32) == {"x": 1}
    path = cache.page_path(url)
    whole = path.read_bytes()
    damages = (b"", whole[:40], whole[:-1], whole[:-1] + b"X", b"\0" * len(whole), body)
    for damaged in damages:
        path.write_bytes(damaged)
        with pytest.raises(DamagedEntry):
            cache.get_page(url)
        assert not path.exists()  # removed: the next fetch writes it again
        assert cache.get_page(url) is None
        cache.put_page(url, body)
    assert cache.get_page(url) == body
    atomic_write_bytes(tmp_path / "out.json", b"{}")  # outputs stay durable
    assert len(synced) == 1


@pytest.fixture
def full_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs at tmp_path/i10a-full, filled up (root only; unmounted afterwards)."""
    mnt = tmp_path / "i10a-full"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "i10a-full", str(mnt)], check=True)
    try:
        with contextlib.suppress(OSError), (mnt / "filler").open("wb") as f:
            while True:
                f.write(b"\0" * 4096)
                f.flush()
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_full_disk_at_the_close_of_an_incoming_file_keeps_the_first_error(
    full_tmpfs: Path,
) -> None:
    """CI 2026-12-01 (test_fetch_reliability's full cache): a download cancelled with bytes
    still buffered made the close's flush raise ENOSPC without a file name, which replaced the
    first error and was reported against the output folder."""
    cache = Cache(full_tmpfs / "cache")
    with pytest.raises(RuntimeError, match="the first error"), cache.incoming("x.whl") as (out, _):
        out.write(b"x" * 100)  # buffered: the flush at the close hits the full disk
        raise RuntimeError("the first error")
    with pytest.raises(OSError) as caught, cache.incoming("y.whl") as (out, tmp):
        out.write(b"y" * 100)
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(tmp)
    assert list((full_tmpfs / "cache" / "tmp").iterdir()) == []


def test_a_directory_or_unreadable_file_in_an_entrys_place_is_a_miss_and_replaced(
    tmp_path: Path,
) -> None:
    """#17 review 17b D5: a page, derived or facts entry (or a blob) that is a directory is
    not an error naming a vanished temp file: reading it is a miss (a page: damaged), it is
    removed, and writing the entry replaces it."""
    cache = Cache(tmp_path)
    url = "https://idx.example/simple/a/"
    digest = "ab" * 32
    places = [
        cache.page_path(url),
        cache.derived_path("k-v1", digest),
        cache.facts_path("k-v1", digest),
        cache.blob_path(digest),
    ]
    for place in places:
        (place / "sub").mkdir(parents=True)
    with pytest.raises(DamagedEntry):
        cache.get_page(url)
    assert cache.page_digest(url) is None
    assert cache.get_derived("k-v1", digest) is None
    assert cache.get_facts("k-v1", digest) is None
    assert cache.stored_blob(digest) is None
    (cache.page_path(url) / "sub").mkdir(parents=True)
    (cache.derived_path("k-v1", digest) / "sub").mkdir(parents=True)
    cache.put_page(url, b"body")
    cache.put_derived("k-v1", digest, b"derived")
    cache.put_facts("k-v1", digest, {"x": 1})
    tmp = tmp_path / "incoming"
    tmp.write_bytes(b"blob")
    cache.adopt_blob(tmp, digest)
    assert cache.get_page(url) == b"body"
    assert cache.get_derived("k-v1", digest) == b"derived"
    assert cache.get_facts("k-v1", digest) == {"x": 1}
    assert cache.blob_path(digest).read_bytes() == b"blob"


def test_a_cut_blob_is_named_damaged_and_removed(tmp_path: Path) -> None:
    """#17 review 17b D6: a blob of the wrong size is there but damaged, not absent."""
    cache = Cache(tmp_path)
    data = b"x" * 1000
    digest = hashlib.sha256(data).hexdigest()
    path = cache.blob_path(digest)
    path.parent.mkdir(parents=True)
    path.write_bytes(data[:500])
    assert cache.damaged_blob(digest, 1000) == path
    assert not path.exists()
    assert cache.damaged_blob(digest, 1000) is None
    path.write_bytes(data)
    assert cache.damaged_blob(digest, 1000) is None and path.exists()


@pytest.mark.parametrize("stray", ["file", "link to a file", "broken link"])
def test_a_non_directory_where_a_cache_folder_goes_is_replaced(tmp_path: Path, stray: str) -> None:
    """#17 verification review, leftover: a regular file (or a link that is not to a
    directory) where one of the cache's own folders goes made every run fail on EEXIST or
    ENOTDIR; it is removed and the folder made. A link to a directory is kept, and a file at
    the root itself stays an error."""
    cache = Cache(tmp_path / "cache")
    url = "https://idx.example/simple/a/"
    digest = "ab" * 32
    places = [
        cache.tmp,
        cache.page_path(url).parent,
        cache.derived_path("k-v1", digest).parent.parent,
        cache.facts_path("k-v1", digest).parent,
        cache.blob_path(digest).parent.parent,
    ]
    outside = tmp_path / "outside"
    outside.write_bytes(b"not the cache's")
    for place in places:
        place.parent.mkdir(parents=True, exist_ok=True)
        if stray == "file":
            place.write_bytes(b"stray")
        else:
            place.symlink_to(outside if stray == "link to a file" else tmp_path / "gone")
    cache.put_page(url, b"body")
    cache.put_derived("k-v1", digest, b"derived")
    cache.put_facts("k-v1", digest, {"x": 1})
    with cache.incoming("w-1.0.whl") as (out, tmp):
        out.write(b"blob")
        out.flush()
        cache.adopt_blob(tmp, digest)
    assert cache.get_page(url) == b"body"
    assert cache.get_derived("k-v1", digest) == b"derived"
    assert cache.get_facts("k-v1", digest) == {"x": 1}
    assert cache.blob_path(digest).read_bytes() == b"blob"
    assert all(p.is_dir() and not p.is_symlink() for p in places)
    assert outside.read_bytes() == b"not the cache's"  # a link is removed, never its target


def test_a_linked_cache_folder_is_kept_and_a_file_at_the_root_is_an_error(tmp_path: Path) -> None:
    elsewhere = tmp_path / "other-disk"
    elsewhere.mkdir()
    cache = Cache(tmp_path / "cache")
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "blobs").symlink_to(elsewhere)
    tmp = tmp_path / "incoming"
    tmp.write_bytes(b"blob")
    cache.adopt_blob(tmp, "cd" * 32)
    assert (tmp_path / "cache" / "blobs").is_symlink()
    assert (elsewhere / "sha256" / "cd" / ("cd" * 32)).read_bytes() == b"blob"
    root_file = tmp_path / "rootfile"
    root_file.write_bytes(b"user data")
    with pytest.raises(OSError):
        Cache(root_file).put_page("https://idx.example/simple/a/", b"body")
    assert root_file.read_bytes() == b"user data"
