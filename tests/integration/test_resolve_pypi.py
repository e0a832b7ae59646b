"""Real PyPI: the field facts about resolving for CPython 3.6.15 that `pip download` gets wrong.

See /work/shared/notes/field-facts.md ("Resolving for a foreign target"): pip evaluates markers
with the host (pypa/pip#11664) and gives 5 wheels for black 22.8.0 where the complete set is
11; `--abi cp36m` hides opencv-python's cp36-abi3 wheel.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from packaging.requirements import Requirement
from packaging.tags import Tag
from packaging.utils import parse_wheel_filename
from packaging.version import Version

from bundler.fs.cache import Cache
from bundler.index.client import DEFAULT_INDEX, Index
from bundler.models.target import Target
from bundler.net.settings import NetworkSettings
from bundler.net.transport import Transport
from bundler.resolve.resolver import Resolution, resolve

pytestmark = pytest.mark.network

BLACK_SET = {
    "black",
    "click",
    "dataclasses",
    "importlib-metadata",
    "mypy-extensions",
    "pathspec",
    "platformdirs",
    "tomli",
    "typed-ast",
    "typing-extensions",
    "zipp",
}


def pypi(tmp_path: Path, **kwargs: Any) -> Index:
    return Index([DEFAULT_INDEX], [], Cache(tmp_path / "cache"), **kwargs)


def run(index: Index, target: Target, *lines: str) -> Resolution:
    return resolve([Requirement(x) for x in lines], target, index)


class NoNetwork(requests.adapters.BaseAdapter):
    """A transport that fails the test on any request: proves an offline run stayed offline."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        raise AssertionError(f"offline resolution made a request: {request.url}")

    def close(self) -> None:
        pass


def test_black_for_cp36_gets_all_eleven(tmp_path: Path) -> None:
    target = Target.from_spec("3.6.15", "manylinux2014")
    got = run(pypi(tmp_path), target, "black==22.8.0")
    assert set(got.pins) == BLACK_SET
    # The four that host-evaluated markers (a 3.11 host) drop are black's own dependencies:
    host_dropped = {"dataclasses", "typed-ast", "typing-extensions", "tomli"}
    assert host_dropped <= set(got.pins["black"].dependencies)
    assert got.chain("zipp") == ["black", "click", "importlib-metadata", "zipp"]
    for pin in got.pins.values():
        assert target.wheel_rank(pin.file.filename) is not None, pin.file.filename
        assert pin.file.sha256 and len(pin.file.sha256) == 64
    # Again with --offline from the same cache, with a transport that forbids any request.
    session = requests.Session()
    session.mount("https://", NoNetwork())
    session.mount("http://", NoNetwork())
    offline = Transport(NetworkSettings(offline=True), session=session)
    again = run(pypi(tmp_path, transport=offline), target, "black==22.8.0")
    assert {n: p.file.filename for n, p in again.pins.items()} == {
        n: p.file.filename for n, p in got.pins.items()
    }


def test_importlib_metadata_for_cp36_manylinux1(tmp_path: Path) -> None:
    got = run(pypi(tmp_path), Target.from_spec("3.6", "manylinux1"), "importlib-metadata==4.8.3")
    assert set(got.pins) == {"importlib-metadata", "typing-extensions", "zipp"}
    assert got.via("zipp") == ["importlib-metadata"]


def newest_installable(project: str, tags: set[Tag]) -> tuple[Version, str]:
    """Independent of the kit's code: (newest version, filename) of `project` on PyPI with a
    non-yanked wheel carrying one of `tags`, read straight from the JSON simple API."""
    response = requests.get(
        f"https://pypi.org/simple/{project}/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
        timeout=60,
    )
    response.raise_for_status()
    best: tuple[Version, str] | None = None
    for f in json.loads(response.content)["files"]:
        if not f["filename"].endswith(".whl") or f.get("yanked"):
            continue
        _, version, _, wheel_tags = parse_wheel_filename(f["filename"])
        if wheel_tags & tags and (best is None or version > best[0]):
            best = (version, f["filename"])
    assert best is not None, f"no {project} wheel with any of {sorted(map(str, tags))}"
    return best


def test_opencv_abi3_on_manylinux2014(tmp_path: Path) -> None:
    got = run(
        pypi(tmp_path),
        Target.from_spec(
            "3.6.15",
            "manylinux2014",
        ),
        "opencv-python",
    )
    pin = got.pins["opencv-python"]
    assert str(pin.version) == "4.6.0.66"  # field facts: the cp36-abi3 manylinux_2_17 wheel
    assert Tag("cp36", "abi3", "manylinux2014_x86_64") in parse_wheel_filename(pin.file.filename)[3]
    assert "numpy" in got.pins


def test_opencv_cp36m_on_manylinux1(tmp_path: Path) -> None:
    """What PyPI's data implies: the newest release with a wheel pip 18.1 on CentOS 7 can take
    for opencv itself (cp36-cp36m or cp36-abi3 on manylinux1); the field facts say 4.2.0.34."""
    tags = {
        Tag("cp36", "cp36m", "manylinux1_x86_64"),
        Tag("cp36", "abi3", "manylinux1_x86_64"),
    }
    version, filename = newest_installable("opencv-python", tags)
    got = run(pypi(tmp_path), Target.from_spec("3.6.15", "manylinux1"), "opencv-python")
    pin = got.pins["opencv-python"]
    assert (pin.version, pin.file.filename) == (version, filename)
    assert str(version) == "4.2.0.34"  # the field-facts value, still what PyPI implies


def test_cryptography_license_is_its_expression(tmp_path: Path) -> None:
    """ansible-core's wheelhouse for 3.11 (pinned as resolved on 2026-11-30): cryptography
    states its SPDX expression in `License`, cffi in PEP 639 `License-Expression`, pycparser in
    `License-Expression` too; none of them is left without a license."""
    target = Target.from_spec("3.11", "manylinux2014")
    index = Index([DEFAULT_INDEX], [], Cache(tmp_path / "cache"))
    roots = [Requirement(r) for r in ("cryptography==44.0.0", "cffi==2.1.1", "pycparser==3.12")]
    pins = resolve(roots, target, index).pins
    assert pins["cryptography"].metadata.spdx_license == "Apache-2.0 OR BSD-3-Clause"
    assert pins["cffi"].metadata.license_expression == "MIT-0"
    assert pins["cffi"].metadata.spdx_license == "MIT-0"
    assert pins["pycparser"].metadata.spdx_license == "BSD-3-Clause"


def test_current_pip_keeps_abi3_wheels_with_abi_cp36m(tmp_path: Path) -> None:
    """The README's dated claim about `pip download --abi cp36m` (re-checked by running the
    dev venv's pip): it keeps cp36-abi3 wheels (opencv-python 4.6.0.66), resolved from PEP 658
    metadata only (`--dry-run --report`, nothing downloaded)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
         "--report", "-", "--target", str(tmp_path / "t"), "--python-version", "3.6",
         "--platform", "manylinux2014_x86_64", "--abi", "cp36m", "--implementation", "cp",
         "--only-binary=:all:", "--no-deps", "--index-url", DEFAULT_INDEX, "opencv-python"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (item,) = json.loads(proc.stdout)["install"]
    filename = item["download_info"]["url"].rsplit("/", 1)[-1]
    assert "-cp36-abi3-" in filename, filename
