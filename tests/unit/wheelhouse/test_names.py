"""bundler.wheelhouse.names: the lock spells each project as its dependents state it, so old
pips (safe_name + lower, dots kept) match it; verify names a lock an old pip cannot match."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bundler.errors import CheckFailed
from bundler.fs import sums
from bundler.kit import verify
from bundler.models.target import Target
from bundler.wheelhouse import lockfile
from bundler.wheelhouse.fetch import FetchOptions, fetch
from tests.fakeindex import FakeIndex

T36 = Target.from_spec("3.6", "manylinux1")


@pytest.fixture
def index(tmp_path: Path) -> Iterator[FakeIndex]:
    """ruamel.yaml's shape: the dependency is stated with dots, its canonical name has dashes."""
    with FakeIndex(tmp_path / "fakeindex") as fake:
        fake.add_wheel("ruamel.yaml", "0.18.3", requires_dist=["ruamel.yaml.clib>=0.2.7"])
        fake.add_wheel("ruamel.yaml.clib", "0.2.8", tags="cp36-cp36m-manylinux1_x86_64")
        fake.add_wheel("left", "1.0", requires_dist=["Foo.Bar>=1"])
        fake.add_wheel("right", "1.0", requires_dist=["foo_bar>=1"])
        fake.add_wheel("foo-bar", "1.0")
        for name, version in (("pip", "21.3.1"), ("setuptools", "59.6.0"), ("wheel", "0.37.1")):
            fake.add_wheel(name, version, requires_python=">=3.6")
        yield fake


def _fetch(tmp_path: Path, fake: FakeIndex, *reqs: str) -> Path:
    options = FetchOptions(
        target=T36,
        requirements=reqs,
        output=tmp_path / "wh",
        index_urls=(fake.url,),
        cache_dir=tmp_path / "cache",
        audit=False,
    )
    return fetch(options).output


def _pins(lock: Path) -> dict[str, str]:
    return {e.name: e.version for e in lockfile.read(lock)}


def test_the_lock_spells_a_dependency_as_its_dependent_states_it(
    tmp_path: Path, index: FakeIndex
) -> None:
    out = _fetch(tmp_path, index, "ruamel.yaml")
    assert _pins(out / "requirements.lock") == {
        "ruamel-yaml": "0.18.3",  # a root: nobody states it, canonical
        "ruamel.yaml.clib": "0.2.8",  # not ruamel-yaml-clib: pip 18.1 would not match that
    }
    assert not (out / "bootstrap.lock").exists()
    verify.verify([out])  # and verify agrees


def test_verify_names_a_lock_that_pip_18_cannot_match(tmp_path: Path, index: FakeIndex) -> None:
    out = _fetch(tmp_path, index, "ruamel.yaml")
    lock = out / "requirements.lock"
    lock.write_text(lock.read_text().replace("ruamel.yaml.clib==", "ruamel-yaml-clib=="))
    sums.write_directory(lock.parent)  # a lock shipped so, not altered on the way
    with pytest.raises(CheckFailed) as exc:
        verify.verify([out])
    (problem,) = exc.value.problems
    assert problem.startswith("ruamel_yaml-0.18.3-py3-none-any.whl: requires ruamel.yaml.clib")
    assert "the lock spells it 'ruamel-yaml-clib', which pip 18.1 does not match" in problem


def test_spellings_no_old_pip_can_reconcile_bootstrap_a_pip_that_can(
    tmp_path: Path, index: FakeIndex
) -> None:
    out = _fetch(tmp_path, index, "left", "right")
    assert (out / "bootstrap.lock").is_file()
    manifest = (out / "manifest.json").read_text()
    assert '"min_pip": "19.3"' in manifest
    assert "cannot match the names of foo-bar (stated as Foo.Bar, foo_bar)" in manifest
    verify.verify([out])  # pip >= 19.3 matches either spelling
