"""Policy data: every data file says where its facts come from, and the lookups use it."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from packaging.version import Version

from bundler.policy.tables import bundled_pip, known_python_versions, load_json, pip_feature_version


def data_files() -> list[str]:
    folder = resources.files("bundler").joinpath("data")
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".json"))


@pytest.mark.parametrize("name", data_files())
def test_every_data_file_cites_its_source(name: str) -> None:
    doc = load_json(name)
    assert isinstance(doc, dict)
    assert doc.get("_source"), f"{name} has no _source"


def test_sources_table_is_valid_json_with_sha256_for_each_file() -> None:
    text = resources.files("bundler").joinpath("data").joinpath("sources.json").read_text()
    table = json.loads(text)
    for version, files in table["python"].items():
        for filename, entry in files.items():
            assert filename.startswith(f"Python-{version}.")
            assert len(entry["sha256"]) == 64
            assert entry["url"].endswith("/" + filename)


def test_known_versions_include_the_real_targets() -> None:
    known = known_python_versions()
    assert Version("3.6.15") in known
    assert Version("3.6.10") in known
    assert known == sorted(known)


@pytest.mark.parametrize(
    ("python", "pip"),
    [("3.6.15", "18.1"), ("3.6.10", "18.1"), ("3.6.0", "9.0.1"), ("3.7.16", "22.0.4")],
)
def test_bundled_pip_per_release(python: str, pip: str) -> None:
    assert bundled_pip(Version(python)) == Version(pip)


def test_pip_feature_versions() -> None:
    assert pip_feature_version("manylinux2014") == Version("19.3")
    assert pip_feature_version("manylinux_x_y") > pip_feature_version("manylinux2014")
