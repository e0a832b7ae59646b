"""bundler.kit.sbom: a schema-valid CycloneDX 1.6 document with wheels, tarballs and edges."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from bundler.kit import pack, sbom
from tests.unit.kit.handmade_kit import handmade_inputs, pack_inputs

MANIFEST: dict[str, Any] = {
    "tool": {"name": "airgap-kit", "version": "0.1.0"},
    "target": {"python_version": "3.6.15", "abis": ["cp36m"], "platform": "manylinux1_x86_64"},
    "requirements": ["asciivideo==0.1.0"],
    "packages": [
        {
            "name": "asciivideo",
            "version": "0.1.0",
            "filename": "asciivideo-0.1.0-py3-none-any.whl",
            "sha256": "a" * 64,
            "url": None,
            "role": "app",
            "license": "MIT",
            "summary": "video to ASCII",
            "built_from": "converter/ (local project)",
        },
        {
            "name": "NumPy",
            "version": "1.19.5",
            "filename": "numpy-1.19.5-cp36-cp36m-manylinux1_x86_64.whl",
            "sha256": "b" * 64,
            "url": "https://files.pythonhosted.org/packages/numpy-1.19.5.whl",
            "role": "app",
            "license": "BSD",
        },
        {
            "name": "pip",
            "version": "21.3.1",
            "filename": "pip-21.3.1-py3-none-any.whl",
            "sha256": "c" * 64,
            "url": "https://files.pythonhosted.org/packages/pip-21.3.1.whl",
            "role": "bootstrap",
            "license": "Copyright (c) 2008-2021 The pip developers\n"
            + "Permission is hereby " * 40,
        },
    ],
    "edges": [["asciivideo", "numpy"]],
}
SOURCES = [
    sbom.SourceEntry(
        "Python-3.6.15.tgz",
        "d" * 64,
        "python",
        "3.6.15",
        "https://www.python.org/ftp/python/3.6.15/Python-3.6.15.tgz",
    )
]


def _doc() -> dict[str, Any]:
    return json.loads(sbom.render("kit-demo", MANIFEST, SOURCES, pack.DEFAULT_EPOCH))


def test_valid_cyclonedx_1_6() -> None:
    text = sbom.render("kit-demo", MANIFEST, SOURCES, pack.DEFAULT_EPOCH)
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    doc = json.loads(text)
    assert doc["bomFormat"] == "CycloneDX" and doc["specVersion"] == "1.6"
    assert doc["metadata"]["component"]["name"] == "kit-demo"
    assert doc["metadata"]["timestamp"].startswith("1980-01-01T00:00:00")


def test_wheel_components_carry_hash_license_and_origin() -> None:
    comps = {c["bom-ref"]: c for c in _doc()["components"]}
    numpy = comps["pypi:numpy"]
    assert numpy["name"] == "NumPy" and numpy["version"] == "1.19.5"
    assert numpy["hashes"] == [{"alg": "SHA-256", "content": "b" * 64}]
    assert numpy["licenses"] == [{"license": {"name": "BSD"}}]
    assert numpy["purl"] == (
        "pkg:pypi/numpy@1.19.5?file_name=numpy-1.19.5-cp36-cp36m-manylinux1_x86_64.whl"
    )
    [ref] = numpy["externalReferences"]
    assert ref["type"] == "distribution" and ref["url"].startswith("https://files.pythonhosted")
    app = comps["pypi:asciivideo"]
    assert app["licenses"] == [{"license": {"id": "MIT"}}]
    assert {"name": "airgap-kit:built_from", "value": "converter/ (local project)"} in app[
        "properties"
    ]
    pip_license = comps["pypi:pip"]["licenses"][0]["license"]["name"]
    assert pip_license == "Copyright (c) 2008-2021 The pip developers"


def test_source_tarballs_and_dependency_edges() -> None:
    doc = _doc()
    comps = {c["bom-ref"]: c for c in doc["components"]}
    python = comps["source:Python-3.6.15.tgz"]
    assert python["hashes"][0]["content"] == "d" * 64
    assert python["purl"].startswith("pkg:generic/python@3.6.15?download_url=")
    deps = {d["ref"]: sorted(d.get("dependsOn", [])) for d in doc["dependencies"]}
    assert deps["pypi:asciivideo"] == ["pypi:numpy"]
    assert deps["pypi:numpy"] == []
    assert deps["kit:kit-demo"] == ["pypi:asciivideo", "source:Python-3.6.15.tgz"]


def test_same_inputs_same_bytes_other_inputs_other_serial() -> None:
    a = sbom.render("kit-demo", MANIFEST, SOURCES, pack.DEFAULT_EPOCH)
    assert a == sbom.render("kit-demo", MANIFEST, SOURCES, pack.DEFAULT_EPOCH)
    changed = {**MANIFEST, "packages": [{**MANIFEST["packages"][0], "sha256": "e" * 64}]}
    b = sbom.render("kit-demo", changed, SOURCES, pack.DEFAULT_EPOCH)
    assert json.loads(a)["serialNumber"] != json.loads(b)["serialNumber"]


def test_every_kit_carries_its_sbom(tmp_path: Path) -> None:
    inputs = handmade_inputs(tmp_path / "in")
    result = pack_inputs(inputs, tmp_path / "kit-demo.tar.gz")
    with tarfile.open(result.archive) as tar:
        f = tar.extractfile("kit-demo/sbom.cdx.json")
        assert f is not None
        text = f.read().decode()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    refs = {c["bom-ref"] for c in json.loads(text)["components"]}
    assert refs == {
        "pypi:demoapp",
        "pypi:demolib",
        "source:Python-3.6.15.tgz",
        "source:zlib-9.9.tar.gz",
    }
