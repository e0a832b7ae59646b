"""Delta kits between two several-target kits (issue #16): v1 holds the 3.6 and 3.11 targets,
v2 adds a third; the delta carries the new target's folder and wheel plus what always travels
(every manifest, lock and SHA256SUMS, `delta.always_carried`), `unpack --onto` v1 assembles the
very v2 kit, and it verifies with all three targets."""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bundler.kit import delta, pack, unpack
from bundler.kit.pack import PackInputs
from bundler.models.target import Target
from bundler.net.settings import NetworkSettings
from bundler.wheelhouse.fetch import FetchOptions, fetch
from tests.fakeindex import FakeIndex
from tests.unit.kit.handmade_kit import handmade_inputs

T36 = Target.from_spec("3.6", "manylinux1")
T311 = Target.from_spec("3.11.7", "manylinux2014")
T38 = Target.from_spec("3.8", "manylinux2010", "cp38")


@pytest.fixture
def index(tmp_path: Path) -> Iterator[FakeIndex]:
    with FakeIndex(tmp_path / "fakeindex") as fake:
        fake.add_wheel("app", "1.0", requires_dist=["numpyish"], requires_python=">=3.6")
        fake.add_wheel("numpyish", "1.19.5", tags="cp36-cp36m-manylinux1_x86_64")
        fake.add_wheel("numpyish", "1.21.0", tags="cp38-cp38-manylinux2010_x86_64")
        fake.add_wheel("numpyish", "2.0", tags="cp311-cp311-manylinux2014_x86_64")
        yield fake


def _fetch(tmp_path: Path, fake: FakeIndex, out: Path, *targets: Target) -> Path:
    options = FetchOptions(
        target=targets[0],
        targets=targets,
        requirements=("app",),
        output=out,
        index_urls=(fake.url,),
        cache_dir=tmp_path / "cache",
        network=NetworkSettings(jobs=4),
        replace=True,
    )
    return fetch(options).output


def test_a_delta_between_several_target_kits(tmp_path: Path, index: FakeIndex) -> None:
    inputs = handmade_inputs(tmp_path / "in", with_python_source=False)
    wheelhouse = tmp_path / "wh"
    _fetch(tmp_path, index, wheelhouse, T36, T311)
    v1 = pack.pack(
        PackInputs(
            wheelhouse,
            inputs["playbooks"],
            sources_dir=inputs["sources"],
            vagrantfile=inputs["vagrantfile"],
        ),
        tmp_path / "v1" / "kit-demo.tar.gz",
    )
    _fetch(tmp_path, index, wheelhouse, T36, T311, T38)
    result = delta.pack_with_base(
        v1.archive,
        PackInputs(
            wheelhouse,
            inputs["playbooks"],
            sources_dir=inputs["sources"],
            vagrantfile=inputs["vagrantfile"],
        ),
        tmp_path / "v2" / "kit-demo.tar.gz",
    )
    with tarfile.open(result.delta.archive) as tar:
        carried = {
            m.name.split("/", 2)[2] for m in tar.getmembers() if m.isfile() and "/kit/" in m.name
        }
    folder = f"wheelhouse/targets/{T38.name}/"
    assert {
        f"{folder}install.sh",
        f"{folder}requirements.lock",
        f"{folder}manifest.json",
    } <= carried
    assert "wheelhouse/numpyish-1.21.0-cp38-cp38-manylinux2010_x86_64.whl" in carried
    for old in (T36, T311):  # their locks always travel; their wheels come from the base
        assert f"wheelhouse/targets/{old.name}/requirements.lock" in carried
    assert not any(name.startswith("wheelhouse/numpyish-2.0") for name in carried)
    assert not any(name.startswith("wheelhouse/app-") for name in carried)

    base = tmp_path / "v1-unpacked"
    base.mkdir()
    with tarfile.open(v1.archive) as tar:
        tar.extractall(base, filter="data")
    done = unpack.unpack_onto([result.delta.archive], base / "kit-demo", tmp_path / "v2-kit")
    assert done.report is not None
    for t in (T36, T311, T38):
        assert t.name in done.report.target
    assert (tmp_path / "v2-kit" / "wheelhouse" / "targets" / T38.name / "install.sh").is_file()
