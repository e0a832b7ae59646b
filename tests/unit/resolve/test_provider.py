"""bundler.resolve.provider: purity of built wheels, and the file chosen per version."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from packaging.tags import parse_tag

from bundler.fs.cache import Cache
from bundler.index import pages
from bundler.index.client import Index
from bundler.models.target import Target
from bundler.resolve.provider import Provider, is_pure
from bundler.resolve.resolver import resolve
from tests.fakeindex import FakeIndex
from tests.unit.resolve.localindex import CP36, local_index, reqs, wheel

CP311 = Target.from_spec("3.11", "manylinux2014")


def test_purity() -> None:
    assert is_pure(frozenset(parse_tag("py2.py3-none-any")))
    assert not is_pure(frozenset(parse_tag("py2-none-any")))
    assert not is_pure(frozenset(parse_tag("cp36-cp36m-linux_x86_64")))


def test_a_listed_hash_beats_a_better_tag(tmp_path: Path) -> None:
    """pip's hash-filtered candidates: with --hash of the py3 wheel, that file is chosen even
    though the cp36m wheel ranks higher for the target; without hashes, the best tag wins."""
    pure = wheel(tmp_path, "lib", "1.0")
    wheel(tmp_path, "lib", "1.0", tags="cp36-cp36m-manylinux1_x86_64")
    index = local_index(tmp_path)
    best = resolve(reqs("lib==1.0"), CP36, index).pins["lib"].file.filename
    assert best == "lib-1.0-cp36-cp36m-manylinux1_x86_64.whl"
    listed = frozenset({hashlib.sha256(pure.read_bytes()).hexdigest()})
    got = resolve(reqs("lib==1.0"), CP36, index, prefer_hashes={"lib": listed})
    assert got.pins["lib"].file.filename == pure.name
    other = resolve(reqs("lib==1.0"), CP36, index, prefer_hashes={"lib": frozenset({"0" * 64})})
    assert other.pins["lib"].file.filename == best  # nothing listed matches: checked later


def test_only_the_versions_looked_at_are_checked_and_ranked(
    fake_index: FakeIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lazy candidates (issue #17, finding 1): of a project with 40 files over 20 versions,
    the resolution checks (`Page.link`) and ranks (`Provider._release`) only the version it
    picks; the others are known by their file names alone."""
    for minor in range(20):
        fake_index.add_wheel("lib", f"1.{minor}")
        fake_index.add_wheel("lib", f"1.{minor}", tags="cp311-cp311-manylinux2014_x86_64")
    fake_index.add_wheel("lib", "2.0")
    checked: list[str] = []
    ranked: list[str] = []
    real_link, real_release = pages._json_link, Provider._release

    def link(entry: dict[str, Any], *args: Any) -> Any:
        checked.append(entry["filename"])
        return real_link(entry, *args)

    def release(self: Provider, version: Any, *args: Any) -> Any:
        ranked.append(str(version))
        return real_release(self, version, *args)

    monkeypatch.setattr(pages, "_json_link", link)
    monkeypatch.setattr(Provider, "_release", release)
    index = Index([fake_index.url], [], Cache(tmp_path / "cache"))
    got = resolve(reqs("lib<2"), CP311, index)
    assert got.pins["lib"].file.filename == "lib-1.19-cp311-cp311-manylinux2014_x86_64.whl"
    assert sorted(checked) == [
        "lib-1.19-cp311-cp311-manylinux2014_x86_64.whl",
        "lib-1.19-py3-none-any.whl",
    ]
    assert ranked == ["1.19"]
    assert len(index.files("lib")) == 41  # and every entry is there, checked, when asked
