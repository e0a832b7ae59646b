"""manifest.json: schema check, typed records, canonical text, atomic section update.

The property-based tests mutate a real manifest (the hand-made kit's, for a real `Target`) at a
random place with random JSON: `parse` either returns typed records whose file names stay
inside the wheelhouse, or raises BadManifest; never anything else.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bundler.errors import BadInput
from bundler.models import manifest
from bundler.models.target import Target
from tests.jsonmutations import JSON, mutate, paths

TARGET = Target.from_spec("3.6.15", "manylinux1")
SHA = "ab" * 32


def valid() -> dict[str, Any]:
    """A complete schema_version 1 manifest, as `bundler fetch` writes it."""
    return {
        "schema": manifest.SCHEMA,
        "schema_version": 1,
        "tool": {"name": "airgap-kit", "version": "0.1.0"},
        "target": TARGET.to_dict(),
        "target_notes": [],
        "tags": [str(t) for t in TARGET.tags],
        "requirements": ["app==1.0"],
        "installer": {"bundled_pip": "18.1", "min_pip": "18.1", "bootstrap": [], "reason": "-"},
        "packages": [
            {
                "name": "app",
                "version": "1.0",
                "filename": "app-1.0-py3-none-any.whl",
                "sha256": SHA,
                "size": 10,
                "url": None,
                "role": "app",
                "requires": ["lib>=1"],
                "via": [],
                "license": "MIT",
                "summary": "an app",
                "built_from": "app-1.0.tar.gz",
            },
            {
                "name": "lib",
                "version": "2.0",
                "filename": "lib-2.0-py3-none-any.whl",
                "sha256": SHA,
            },
        ],
        "edges": [["app", "lib"]],
        "audit": {"distro": "centos7"},
    }


def test_save_load_update(tmp_path: Path) -> None:
    manifest.save(tmp_path, valid())
    manifest.update(tmp_path, "audit", {"distro": "debian12"})
    data = manifest.load(tmp_path)
    assert data["audit"] == {"distro": "debian12"}
    assert data["schema_version"] == manifest.SCHEMA_VERSION
    text = (tmp_path / "manifest.json").read_text()
    assert text == manifest.dumps(data)


def test_read_gives_typed_records(tmp_path: Path) -> None:
    manifest.save(tmp_path, valid())
    m = manifest.read(tmp_path)
    assert m.target == TARGET
    assert [p.key for p in m.app] == ["app", "lib"] and m.bootstrap == ()
    app = m.packages[0]
    assert (app.size, app.requires, app.built_from) == (10, ("lib>=1",), "app-1.0.tar.gz")
    lib = m.packages[1]  # optional fields take their defaults
    assert (lib.role, lib.size, lib.url, lib.via, lib.license) == (
        manifest.Role.APP,
        None,
        None,
        (),
        None,
    )
    assert all(isinstance(p.role, manifest.Role) for p in m.packages)  # parsed once, here


def test_a_package_role_is_parsed_once_and_an_unknown_one_refused(tmp_path: Path) -> None:
    """`packages[].role` is the Role enum (#16 review16d finding 4): 'bootstrap' reads as
    BOOTSTRAP (its lock bootstrap.lock), an absent role as APP, and a role the schema does not
    know is one BadManifest line, by the reader and by `Role.parse` (dict-reading callers)."""
    data = valid()
    data["packages"][1]["role"] = "bootstrap"
    manifest.save(tmp_path, data)
    m = manifest.read(tmp_path)
    assert [p.role for p in m.packages] == [manifest.Role.APP, manifest.Role.BOOTSTRAP]
    assert m.bootstrap[0].role.lock == "bootstrap.lock" and m.app[0].role.lock == (
        "requirements.lock"
    )
    assert manifest.Role.parse(None) is manifest.Role.APP
    with pytest.raises(manifest.BadManifest, match="unknown package role 'controller'"):
        manifest.Role.parse("controller", "x/manifest.json")
    data["packages"][1]["role"] = "controller"
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(manifest.BadManifest, match="role"):
        manifest.read(tmp_path)
    assert m.edges == (("app", "lib"),) and m.installer.bundled_pip == "18.1"


@pytest.mark.parametrize(
    "content",
    [
        None,
        "not json",
        '{"schema": "other"}',
        '{"schema": "airgap-kit/manifest", "schema_version": 99}',
        "[]",
        "\xff\xfe",
    ],
)
def test_bad_manifests_are_bad_input(tmp_path: Path, content: str | None) -> None:
    if content is not None:
        (tmp_path / "manifest.json").write_bytes(content.encode("latin-1"))
    with pytest.raises(BadInput):
        manifest.read(tmp_path)


def _with(path: str, value: object) -> dict[str, Any]:
    """valid() with the value at a dotted path ('packages.0.version') replaced."""
    doc = valid()
    *parents, last = path.split(".")
    node: Any = doc
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    node[int(last) if isinstance(node, list) else last] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "line"),
    [
        ("packages", "abc", "packages: expected array, got string"),
        ("packages", 5, "packages: expected array, got number"),
        ("packages.0.version", "1" * 5000, "packages[0].version: longer than 128 characters"),
        ("packages.0.version", 1, "packages[0].version: expected string, got number"),
        ("packages.0.filename", "../../etc/passwd", "packages[0].filename: "),
        ("packages.0.filename", ".hidden.whl", "packages[0].filename: "),
        ("packages.0.sha256", "x", "packages[0].sha256: "),
        ("packages.1", [], "packages[1]: expected object, got array"),
        ("target.python_version", "3.6." + "1" * 5000, "target.python_version: "),
        ("target.glibc", [2, "5"], "target.glibc"),
        ("requirements", 5, "requirements: expected array, got number"),
        ("installer", "x", "installer: expected object, got string"),
        ("edges.0", ["app"], "edges[0]: fewer than 2 items"),
    ],
)
def test_each_wrong_type_is_one_line_naming_the_field(path: str, value: object, line: str) -> None:
    with pytest.raises(manifest.BadManifest) as exc:
        manifest.parse(_with(path, value), "wheelhouse/manifest.json")
    message = str(exc.value)
    assert message.startswith(f"wheelhouse/manifest.json: {line}"), message
    assert "\n" not in message and len(message) < 300  # the value is never printed in full


def test_a_whole_document_of_the_wrong_kind() -> None:
    with pytest.raises(manifest.BadManifest, match="not an airgap-kit manifest"):
        manifest.parse([])
    with pytest.raises(
        manifest.BadManifest, match=r"neither a target.s manifest \(target, name, pool\)"
    ):
        manifest.parse({"schema": manifest.SCHEMA, "schema_version": 1, "packages": []})


def test_a_huge_file_is_refused_before_parsing(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_bytes(b" " * (manifest.MAX_BYTES + 1))
    with pytest.raises(manifest.BadManifest, match="larger than"):
        manifest.read(tmp_path)


def test_a_fifo_or_link_is_not_read(tmp_path: Path) -> None:
    import os

    os.mkfifo(tmp_path / "manifest.json")  # a plain open() would block forever
    with pytest.raises(manifest.BadManifest, match="fifo refused"):
        manifest.read(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    manifest.save(tmp_path / "elsewhere", valid())
    (other / "manifest.json").symlink_to(tmp_path / "elsewhere" / "manifest.json")
    with pytest.raises(manifest.BadManifest, match="symbolic link refused"):
        manifest.read(other)


# -- property-based: random mutations of a valid manifest ------------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_manifests_parse_or_fail_cleanly(data: st.DataObject) -> None:
    doc = valid()
    doc["packages"][0]["license"] = "MIT\n" + "x" * 100
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        all_paths = paths(doc)
        path = data.draw(st.sampled_from(all_paths), label="path")
        value = data.draw(JSON, label="value")
        delete = data.draw(st.booleans(), label="delete")
        doc = mutate(copy.deepcopy(doc), path, value, delete)  # type: ignore[arg-type]
        if not isinstance(doc, dict):
            break
    text = json.dumps(doc)
    try:
        m = manifest.parse(manifest.decode(text.encode()), "manifest.json")
    except manifest.BadManifest as exc:
        assert str(exc).startswith("manifest.json: ") and "\n" not in str(exc)
        return
    house = Path("/nonexistent/wheelhouse")
    for package in m.packages:  # typed records keep every file inside the wheelhouse
        assert (house / package.filename).resolve().parent == house.resolve()
    m.target.describe()
    for package in m.packages:
        m.target.wheel_rank(package.filename)
        m.target.installer_reads(package.filename)


# -- schema_version 2: the migration from 1 and the several-target top manifest ---------------

_TARGETS = st.sampled_from(
    [
        Target.from_spec("3.6.15", "manylinux1"),
        Target.from_spec("3.8", "manylinux2010", "cp38"),
        Target.from_spec("3.11.7", "manylinux2014"),
        Target.from_spec("3.12", "manylinux_2_28"),
    ]
)
_NAMES = st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    target=_TARGETS,
    names=st.lists(_NAMES, max_size=5, unique=True),
    sha=st.binary(min_size=32, max_size=32),
)
def test_a_version_1_manifest_reads_as_version_2(
    target: Target, names: list[str], sha: bytes
) -> None:
    """Any version 1 document (what fetch wrote before several targets) is migrated: the same
    typed records, its target's name, its files beside it (pool '.')."""
    old = valid()
    old["target"] = target.to_dict()
    old["packages"] = [
        {"name": n, "version": "1.0", "filename": f"{n}-1.0-py3-none-any.whl", "sha256": sha.hex()}
        for n in names
    ]
    got = manifest.parse(copy.deepcopy(old))
    assert got.target == target
    assert got.name == target.name and got.pool == manifest.FLAT_POOL
    assert [p.filename for p in got.packages] == [p["filename"] for p in old["packages"]]
    assert got.data["schema_version"] == manifest.SCHEMA_VERSION == 2
    assert old["schema_version"] == 1  # the caller's document is not changed


def test_save_writes_version_2_with_a_name_and_pool(tmp_path: Path) -> None:
    manifest.save(tmp_path, {k: v for k, v in valid().items() if k != "schema_version"})
    data = json.loads((tmp_path / manifest.FILENAME).read_text())
    assert (data["schema_version"], data["name"], data["pool"]) == (2, TARGET.name, ".")
    assert manifest.read(tmp_path).name == "cp36-manylinux1_x86_64"


def test_an_unknown_schema_version_is_named() -> None:
    for version in (0, 3, "2", True):
        with pytest.raises(manifest.BadManifest, match=r"schema_version .* is not one of 1, 2"):
            manifest.parse({**valid(), "schema_version": version})


def _index(*targets: Target) -> dict[str, Any]:
    return {
        "schema": manifest.SCHEMA,
        "schema_version": 2,
        "targets": [
            {"name": t.name, "dir": f"targets/{t.name}", "target": t.to_dict()} for t in targets
        ],
        "packages": [
            {
                "name": "app",
                "version": "1.0",
                "filename": "app-1.0-py3-none-any.whl",
                "sha256": SHA,
                "targets": [t.name for t in targets],
            }
        ],
    }


def test_a_several_target_top_manifest_is_typed_by_parse_any() -> None:
    second = Target.from_spec("3.11.7", "manylinux2014")
    found = manifest.parse_any(_index(TARGET, second))
    assert isinstance(found, manifest.TargetsIndex)
    assert [r.name for r in found.targets] == [TARGET.name, second.name]
    assert found.packages[0].targets == (TARGET.name, second.name)
    with pytest.raises(manifest.BadManifest, match=r"several targets .*cp311-manylinux2014"):
        manifest.parse(_index(TARGET, second))  # a one-target reader is told so


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["targets"].append(copy.deepcopy(d["targets"][0])), "listed twice"),
        (lambda d: d["targets"][0].update(dir="targets/other"), "not the target's name"),
        (lambda d: d["packages"][0]["targets"].append("nobody"), "unknown target nobody"),
        (lambda d: d["targets"][0].update(dir="../../etc"), r"targets\[0\]\.dir"),
        (lambda d: d.update(target=TARGET.to_dict()), "neither a target's manifest"),
    ],
)
def test_a_bad_several_target_manifest_is_one_line(change: Any, message: str) -> None:
    document = _index(TARGET)
    change(document)
    with pytest.raises(manifest.BadManifest, match=message):
        manifest.parse_any(document)
