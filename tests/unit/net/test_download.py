"""bundler.net.download: verified, atomic, cached, retried, parallel downloads (fake index)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from bundler.errors import HashMismatch, IndexUnavailable
from bundler.fs.cache import Cache
from bundler.index.client import Index
from bundler.models.link import DistFile
from bundler.net.blobs import UnhashedFile
from bundler.net.download import download_all, place
from bundler.net.settings import NetworkSettings
from bundler.net.transport import Transport
from tests.fakeindex import FakeIndex, build_wheel

pytestmark = pytest.mark.usefixtures("fast_retries")


def net(**settings: object) -> Transport:
    return Transport(NetworkSettings(**settings))  # type: ignore[arg-type]


def listed(fake: FakeIndex, tmp_path: Path, *names: str) -> list[DistFile]:
    index = Index([fake.url], [], Cache(tmp_path / "cache"))
    return [f for name in names for f in index.files(name)]


def leftovers(directory: Path) -> list[str]:
    """Anything in `directory` that is not a complete file (temp names of atomic writes)."""
    return sorted(p.name for p in directory.rglob("*") if p.name.endswith(".part"))


def test_download_all_places_verified_files_in_order(fake_index: FakeIndex, tmp_path: Path) -> None:
    names = [f"pkg{i}" for i in range(6)]
    for name in names:
        fake_index.add_wheel(name, "1.0")
    files = listed(fake_index, tmp_path, *names)
    seen: list[tuple[int, int]] = []
    cache = Cache(tmp_path / "cache")
    paths = download_all(
        files, tmp_path / "out", cache, net(jobs=4), on_progress=lambda d, t: seen.append((d, t))
    )
    assert [p.name for p in paths] == [f.filename for f in files]
    for path, file in zip(paths, files, strict=True):
        assert hashlib.sha256(path.read_bytes()).hexdigest() == file.sha256
        assert file.sha256 and cache.has_blob(file.sha256)
    total = sum(f.size or 0 for f in files)
    assert seen[-1] == (total, total)
    assert leftovers(tmp_path) == []


def test_second_download_needs_no_network(fake_index: FakeIndex, tmp_path: Path) -> None:
    fake_index.add_wheel("foo", "1.0")
    files = listed(fake_index, tmp_path, "foo")
    cache = Cache(tmp_path / "cache")
    download_all(files, tmp_path / "one", cache, net())
    fake_index.stop()
    again = download_all(files, tmp_path / "two", cache, net(offline=True))
    assert again[0].read_bytes() == (tmp_path / "one" / files[0].filename).read_bytes()


def test_offline_without_cache_fails_clearly(fake_index: FakeIndex, tmp_path: Path) -> None:
    fake_index.add_wheel("foo", "1.0")
    files = listed(fake_index, tmp_path, "foo")
    with pytest.raises(IndexUnavailable, match=r"foo-1\.0-py3-none-any\.whl is not in the cache"):
        download_all(files, tmp_path / "out", Cache(tmp_path / "cache"), net(offline=True))
    assert fake_index.downloads() == []


def test_a_cache_blob_of_another_size_is_fetched_again(
    fake_index: FakeIndex, tmp_path: Path
) -> None:
    fake_index.add_wheel("foo", "1.0")
    files = listed(fake_index, tmp_path, "foo")
    cache = Cache(tmp_path / "cache")
    download_all(files, tmp_path / "one", cache, net())
    assert files[0].sha256
    blob = cache.blob_path(files[0].sha256)
    delivered = (tmp_path / "one" / files[0].filename).read_bytes()
    with blob.open("r+b") as f:  # written in place: a copy, never a hard link, stays intact
        f.write(b"corrupted")
        f.truncate(len(delivered) - 1)  # a damaged size (same size: the tests below)
    assert (tmp_path / "one" / files[0].filename).read_bytes() == delivered
    out = download_all(files, tmp_path / "two", cache, net())
    assert hashlib.sha256(out[0].read_bytes()).hexdigest() == files[0].sha256
    assert fake_index.downloads().count(files[0].filename) == 2


def test_a_cache_hit_is_hashed_once_on_its_way_out(
    fake_index: FakeIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hit of an earlier run is hashed while it is copied into the output: one pass, no
    separate re-hash; a blob this run downloaded is not hashed again."""
    fake_index.add_wheel("foo", "1.0")
    files = listed(fake_index, tmp_path, "foo")
    cache = Cache(tmp_path / "cache")
    download_all(files, tmp_path / "one", cache, net())
    real = hashlib.sha256
    fed: list[int] = []

    class Counting:
        def __init__(self, data: bytes = b"") -> None:
            self.h = real(data)

        def update(self, data: bytes) -> None:
            fed.append(len(data))
            self.h.update(data)

        def hexdigest(self) -> str:
            return self.h.hexdigest()

    def no_rehash(*args: object) -> None:
        raise AssertionError("a cached blob was hashed in a separate pass")

    monkeypatch.setattr(hashlib, "sha256", Counting)
    monkeypatch.setattr("bundler.fs.cache.sha256_file", no_rehash)
    same_run = download_all(files, tmp_path / "same", cache, net())
    assert fed == []  # adopted by this run (`Cache.adopted`): hashed as it streamed in
    next_run = download_all(files, tmp_path / "two", Cache(tmp_path / "cache"), net())
    assert next_run[0].read_bytes() == same_run[0].read_bytes()
    assert sum(fed) == files[0].size  # every byte once
    assert fake_index.downloads().count(files[0].filename) == 1


def _flip_one_byte(path: Path) -> None:
    """Same-size damage, as the #17 review did (/tmp/rev17-work/repro.sh, D1)."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_same_size_damaged_blob_is_evicted_and_fetched_again(
    fake_index: FakeIndex, tmp_path: Path
) -> None:
    fake_index.add_wheel("foo", "1.0")
    files = listed(fake_index, tmp_path, "foo")
    cache = Cache(tmp_path / "cache")
    download_all(files, tmp_path / "one", cache, net())
    assert files[0].sha256
    _flip_one_byte(cache.blob_path(files[0].sha256))
    cache = Cache(tmp_path / "cache")  # the next run
    out = download_all(files, tmp_path / "two", cache, net())
    assert hashlib.sha256(out[0].read_bytes()).hexdigest() == files[0].sha256
    assert fake_index.downloads().count(files[0].filename) == 2
    assert cache.verify_blob(files[0].sha256)  # the store holds the right bytes again
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("damage", ["flip", "cut"])
def test_a_damaged_blob_fails_offline_naming_file_and_cache(
    fake_index: FakeIndex, tmp_path: Path, damage: str
) -> None:
    """A flipped byte, and (#17 review 17b D6) a blob cut short: 'damaged', not 'absent'."""
    fake_index.add_wheel("foo", "1.0")
    files = listed(fake_index, tmp_path, "foo")
    cache = Cache(tmp_path / "cache")
    download_all(files, tmp_path / "one", cache, net())
    assert files[0].sha256
    blob = cache.blob_path(files[0].sha256)
    if damage == "flip":
        _flip_one_byte(blob)
    else:
        os.truncate(blob, 500)
    with pytest.raises(HashMismatch) as err:
        download_all(files, tmp_path / "two", Cache(tmp_path / "cache"), net(offline=True))
    message = str(err.value)
    assert files[0].filename in message and str(blob) in message and "--offline" in message
    assert not blob.exists()  # evicted: the next online fetch downloads it
    assert not (tmp_path / "two" / files[0].filename).exists()
    assert leftovers(tmp_path) == []


def test_hash_mismatch_leaves_nothing(fake_index: FakeIndex, tmp_path: Path) -> None:
    fake_index.add_wheel("good", "1.0")
    bad = fake_index.add_wheel("bad", "1.0", tamper=True)
    files = listed(fake_index, tmp_path, "good", "bad")
    cache = Cache(tmp_path / "cache")
    with pytest.raises(HashMismatch) as err:
        download_all(files, tmp_path / "out", cache, net())
    message = str(err.value)
    assert bad.filename in message and f"{fake_index.base}/files/{bad.filename}" in message
    assert not (tmp_path / "out" / bad.filename).exists()
    assert leftovers(tmp_path) == []
    assert files[1].sha256 and not cache.has_blob(files[1].sha256)


def test_connection_cut_mid_body_retries_then_fails(fake_index: FakeIndex, tmp_path: Path) -> None:
    served = fake_index.add_wheel("foo", "1.0")
    fake_index.cut_after[served.filename] = 100
    files = listed(fake_index, tmp_path, "foo")
    with pytest.raises(IndexUnavailable, match=r"cannot download .*foo-1\.0.*3 attempts"):
        download_all(files, tmp_path / "out", Cache(tmp_path / "cache"), net(retries=2))
    assert fake_index.downloads().count(served.filename) == 3
    assert list((tmp_path / "out").iterdir()) == []
    assert leftovers(tmp_path) == []


def test_server_errors_are_retried(fake_index: FakeIndex, tmp_path: Path) -> None:
    served = fake_index.add_wheel("foo", "1.0")
    fake_index.fail_times[f"/files/{served.filename}"] = 2
    files = listed(fake_index, tmp_path, "foo")
    out = download_all(files, tmp_path / "out", Cache(tmp_path / "cache"), net(retries=3))
    assert out[0].read_bytes() == served.data


def test_stalled_download_times_out(fake_index: FakeIndex, tmp_path: Path) -> None:
    served = fake_index.add_wheel("foo", "1.0")
    fake_index.hang_after[served.filename] = 50
    files = listed(fake_index, tmp_path, "foo")
    with pytest.raises(IndexUnavailable) as err:
        download_all(
            files, tmp_path / "out", Cache(tmp_path / "cache"), net(retries=0, timeout=0.5)
        )
    message = str(err.value)
    assert message.startswith(f"cannot download {files[0].url}: "), message
    assert "\n" not in message and ".part" not in message and "Errno" not in message, message
    assert "no data for 0.5 s" in message, message
    assert list((tmp_path / "out").iterdir()) == []
    assert leftovers(tmp_path) == []


def test_interrupted_download_leaves_no_partial_file(fake_index: FakeIndex, tmp_path: Path) -> None:
    """Ctrl-C mid-body, simulated: KeyboardInterrupt raised from the progress callback once the
    first chunk of a multi-chunk wheel has arrived while a small one may be complete."""
    big = fake_index.add_wheel("big", "1.0", payload=3 << 20)
    fake_index.add_wheel("small", "1.0")
    files = listed(fake_index, tmp_path, "big", "small")
    cache = Cache(tmp_path / "cache")

    def interrupt(done: int, total: int) -> None:
        if done >= 1 << 20:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        download_all(files, tmp_path / "out", cache, net(jobs=2), on_progress=interrupt)
    assert not (tmp_path / "out" / big.filename).exists()
    assert leftovers(tmp_path) == []
    assert files[0].sha256 and not cache.has_blob(files[0].sha256)
    for path in (tmp_path / "out").iterdir():  # whatever got there is complete and verified
        assert hashlib.sha256(path.read_bytes()).hexdigest() == files[1].sha256


def test_find_links_files_are_copied_and_checked(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "local", "foo", "1.0")
    index = Index([], [str(wheel.parent)], Cache(tmp_path / "cache"))
    files = index.files("foo")
    out = download_all(files, tmp_path / "out", index.cache, net(offline=True))
    assert out[0].read_bytes() == wheel.read_bytes()
    wheel.write_bytes(b"changed after listing")
    (tmp_path / "cache").rename(tmp_path / "old-cache")
    with pytest.raises(HashMismatch):
        download_all(files, tmp_path / "out2", Cache(tmp_path / "cache"), net(offline=True))


def test_unhashed_remote_file_is_refused(fake_index: FakeIndex, tmp_path: Path) -> None:
    """Hashes are mandatory for a remote index: a file listed without one is not downloaded."""
    served = fake_index.add_wheel("foo", "1.0", advertise_hash=False)
    files = listed(fake_index, tmp_path, "foo")
    with pytest.raises(
        UnhashedFile, match=rf"{served.filename} from .*no sha256.*--allow-unhashed"
    ):
        download_all(files, tmp_path / "out", Cache(tmp_path / "cache"), net())
    assert fake_index.downloads() == []


def test_unhashed_file_allowed_is_stored_under_its_own_hash(
    fake_index: FakeIndex, tmp_path: Path
) -> None:
    """--allow-unhashed: nothing to check against, so the bytes' own sha256 keys the cache
    (the lockfile then records that hash for every later install)."""
    served = fake_index.add_wheel("foo", "1.0", advertise_hash=False)
    files = listed(fake_index, tmp_path, "foo")
    assert files[0].sha256 is None and files[0].hash_source == "computed"
    cache = Cache(tmp_path / "cache")
    out = download_all(files, tmp_path / "out", cache, net(), allow_unhashed=True)
    assert out[0].read_bytes() == served.data
    assert cache.has_blob(hashlib.sha256(served.data).hexdigest())


def test_place_leaves_the_flush_to_the_stage_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No fsync per wheel (issue #17, finding 3): `Stage.commit` flushes the stage once."""
    synced: list[int] = []
    monkeypatch.setattr(os, "fsync", synced.append)
    blob = tmp_path / "blob"
    blob.write_bytes(b"x" * 100)
    placed = place(blob, tmp_path / "content", "w-1.0-py3-none-any.whl")
    assert placed.read_bytes() == b"x" * 100 and synced == []
