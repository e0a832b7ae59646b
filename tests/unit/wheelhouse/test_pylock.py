"""pylock.py: the wheelhouse's pylock.toml, read back by PyPA's own reader (packaging.pylock,
which implements the specification's validation and install-time selection) for the target."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.pylock import Pylock, PylockSelectError

from bundler.models.target import Target
from bundler.wheelhouse import lockfile, pylock
from bundler.wheelhouse.fetch import FetchOptions, fetch
from tests.fakeindex import FakeIndex

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the dev venv runs 3.11
    import tomli as tomllib

T36 = Target.from_spec("3.6.15", "manylinux1")


@pytest.fixture
def index(tmp_path: Path) -> Iterator[FakeIndex]:
    with FakeIndex(tmp_path / "fakeindex") as fake:
        fake.add_wheel("app", "1.0", requires_dist=["lib>=1", "numpyish"], requires_python=">=3.6")
        fake.add_wheel("lib", "1.0")
        fake.add_wheel("numpyish", "1.19.5", tags="cp36-cp36m-manylinux1_x86_64")
        fake.add_wheel("numpyish", "1.19.5", tags="py3-none-any")
        yield fake


def _read(path: Path) -> Pylock:
    return Pylock.from_dict(tomllib.loads(path.read_text(encoding="utf-8")))


def test_pylock_is_valid_and_selects_the_locked_wheels_for_the_target(
    tmp_path: Path, index: FakeIndex
) -> None:
    options = FetchOptions(
        target=T36,
        requirements=("app",),
        output=tmp_path / "wh",
        index_urls=(index.url,),
        cache_dir=tmp_path / "c",
        audit=False,
    )
    result = fetch(options)
    lock = _read(result.pylock)
    assert str(lock.requires_python) == "==3.6.15" and lock.created_by == "airgap-kit"
    chosen = {
        package.name: (package.version and str(package.version), wheel.name, wheel.hashes)
        for package, wheel in lock.select(environment=T36.marker_environment(), tags=T36.tags)
    }
    expected = {
        e.name: (e.version, r.filename, {"sha256": e.hashes[0]})
        for e in lockfile.read(tmp_path / "wh" / "requirements.lock")
        for r in result.packages
        if r.name == e.name
    }
    assert chosen == expected
    assert chosen["numpyish"][1] == "numpyish-1.19.5-cp36-cp36m-manylinux1_x86_64.whl"
    app = next(p for p in lock.packages if p.name == "app")
    assert [d["name"] for d in app.dependencies or ()] == ["lib", "numpyish"]
    host = Target.from_spec("3.11.7", "manylinux2014")
    with pytest.raises(PylockSelectError, match=r"3\.11\.7"):  # the lock is for 3.6.15 only
        list(lock.select(environment=host.marker_environment(), tags=host.tags))


def test_a_wheel_built_here_is_a_path_beside_the_lock(tmp_path: Path) -> None:
    wheel = pylock.LockedWheel("my-app", "0.2.0", "my_app-0.2.0-py3-none-any.whl", "0" * 64,
                               123, None, ">=3.6", ())  # fmt: skip
    path = pylock.write(tmp_path, T36, [wheel])
    (tmp_path / wheel.filename).write_bytes(b"")
    lock = _read(path)
    assert lock.packages[0].wheels is not None
    assert lock.packages[0].wheels[0].path == "./my_app-0.2.0-py3-none-any.whl"
    assert lock.packages[0].wheels[0].url is None
    assert path.read_text() == pylock.render(T36, [wheel])  # stable text
    found = dataclasses.replace(wheel, url="file:///home/me/wheels/my_app-0.2.0-py3-none-any.whl")
    assert pylock.render(T36, [found]) == pylock.render(T36, [wheel])  # no host path


def test_a_several_target_lock_points_at_the_pool() -> None:
    """In targets/NAME/ the wheels are two folders up (bundler.wheelhouse.model)."""
    from bundler.models.target import Target as _T

    wheel = pylock.LockedWheel(
        "app", "1.0", "app-1.0-py3-none-any.whl", "a" * 64, 1, None, None, ()
    )
    text = pylock.render(_T.from_spec("3.6", "manylinux1"), [wheel], pool="../..")
    assert 'path = "../../app-1.0-py3-none-any.whl"' in text
