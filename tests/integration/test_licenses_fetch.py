"""Licenses end to end: fetch records the SPDX expression (License-Expression first, then an
SPDX License field, then classifiers) in manifest.json; the SBOM and the HTML report carry it."""

from __future__ import annotations

import json
from pathlib import Path

from bundler.kit import info, pack, sbom
from bundler.models.target import Target
from bundler.wheelhouse.fetch import FetchOptions, fetch
from tests.fakeindex import build_wheel

EXPRESSION = "Apache-2.0 OR BSD-3-Clause"


def test_manifest_sbom_and_report_carry_spdx_licenses(tmp_path: Path) -> None:
    links = tmp_path / "links"
    build_wheel(
        links, "cryptoish", "44.0", requires_dist=["cffiish", "oldstyle"],
        extra_metadata=[
            "License: see LICENSE",
            "Classifier: License :: OSI Approved :: Apache Software License",
            "Classifier: License :: OSI Approved :: BSD License",
            "License-Expression: apache-2.0 OR bsd-3-clause",
        ],
    )  # fmt: skip
    build_wheel(links, "cffiish", "1.0", extra_metadata=["License: mit"])
    build_wheel(
        links, "oldstyle", "1.0",
        extra_metadata=["License: BSD", "Classifier: License :: OSI Approved :: MIT License"],
    )  # fmt: skip
    wheelhouse = tmp_path / "kit" / "wheelhouse"
    fetch(
        FetchOptions(
            target=Target.from_spec("3.6", "manylinux1"),
            requirements=("cryptoish",),
            output=wheelhouse,
            index_urls=(),
            find_links=(str(links),),
            cache_dir=tmp_path / "cache",
            audit=False,
        )
    )
    manifest = json.loads((wheelhouse / "manifest.json").read_text())
    licenses = {p["name"]: p["license"] for p in manifest["packages"]}
    assert licenses == {"cryptoish": EXPRESSION, "cffiish": "MIT", "oldstyle": "MIT"}

    doc = json.loads(sbom.render("kit-x", manifest, [], pack.DEFAULT_EPOCH))
    component = next(c for c in doc["components"] if c["name"] == "cryptoish")
    assert component["licenses"] == [{"expression": EXPRESSION}]

    html = info.render_html(info.read([tmp_path / "kit"]))
    assert f"<td>{EXPRESSION}</td>" in html
