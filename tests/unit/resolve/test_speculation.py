"""bundler.resolve.speculation: the prefetch follows the specifiers known when it starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement

from bundler.fs.cache import Cache
from bundler.index.client import Index
from bundler.models.target import Target
from bundler.resolve.resolver import resolve
from tests.fakeindex import FakeIndex

CP311 = Target.from_spec("3.11", "manylinux2014")


@pytest.mark.parametrize("pep658", [True, False])
def test_prefetch_skips_versions_the_specifiers_exclude(
    fake_index: FakeIndex, tmp_path: Path, pep658: bool
) -> None:
    """`app==1.0` speculates on app 1.0 (not the newest app, whose new dependency `newdep`
    would be fetched for nothing), and app 1.0's `dep<2` on dep 1.5, not dep 2.0; without
    PEP 658 files that speculation would download the wrong wheels (issue #17, finding 4)."""
    fake_index.pep658 = pep658
    fake_index.add_wheel("app", "1.0", requires_dist=["dep<2"])
    fake_index.add_wheel("app", "2.0", requires_dist=["dep", "newdep"])
    fake_index.add_wheel("dep", "1.5")
    fake_index.add_wheel("dep", "2.0", requires_dist=["newdep"])
    fake_index.add_wheel("newdep", "1.0")
    index = Index([fake_index.url], [], Cache(tmp_path / "cache"))
    got = resolve([Requirement("app==1.0")], CP311, index)
    assert {n: str(p.version) for n, p in got.pins.items()} == {"app": "1.0", "dep": "1.5"}
    asked = fake_index.requests  # the resolver's prefetch pool is shut down when it returns
    assert not [p for p in asked if "newdep" in p], asked
    assert not [p for p in asked if "app-2.0" in p or "dep-2.0" in p], asked


def test_an_offline_resolution_speculates_on_nothing(
    fake_index: FakeIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """#17 phase 5: offline every answer is in the cache, so fetching ahead overlaps no round
    trip and the prefetch threads only take the GIL from the resolver: the resolver asks for
    every page and metadata itself, on its own thread, and gets the same pins."""
    import threading

    from bundler.net.settings import NetworkSettings

    fake_index.add_wheel("app", "1.0", requires_dist=["dep<2", "other"])
    fake_index.add_wheel("dep", "1.5")
    fake_index.add_wheel("other", "3.0")
    askers: list[str] = []
    for method in ("project", "metadata"):
        real = getattr(Index, method)

        def spy(self: Index, *args: object, _real: object = real) -> object:
            askers.append(threading.current_thread().name)
            return _real(self, *args)  # type: ignore[operator]

        monkeypatch.setattr(Index, method, spy)
    cache = Cache(tmp_path / "cache")
    online = resolve([Requirement("app==1.0")], CP311, Index([fake_index.url], [], cache))
    assert any(name.startswith("prefetch") for name in askers), askers  # the spy sees threads
    askers.clear()
    offline_index = Index([fake_index.url], [], cache, settings=NetworkSettings(offline=True))
    offline = resolve([Requirement("app==1.0")], CP311, offline_index)
    assert askers and set(askers) == {threading.main_thread().name}, askers
    assert {n: p.file for n, p in offline.pins.items()} == {
        n: p.file for n, p in online.pins.items()
    }
