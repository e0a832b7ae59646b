"""DELTA.json: schema check, the checks a schema cannot make, typed records, canonical text.

The property-based test mutates a valid record at a random place with random JSON: `parse`
either returns records whose paths stay inside the kit (relative, no '..', no empty part), or
raises BadDelta; never anything else.
"""

from __future__ import annotations

import copy
import json
from pathlib import PurePosixPath
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bundler.errors import BadInput
from bundler.models import delta
from tests.jsonmutations import JSON, mutate, paths

SUMS_SHA = "5" * 64


def valid() -> dict[str, Any]:
    """A complete schema_version 1 record, as `bundler pack --base` writes it."""
    return {
        "schema": delta.SCHEMA,
        "schema_version": 1,
        "kit": {
            "name": "kit-app",
            "archive": "kit-app.tar.gz",
            "sha256": "a" * 64,
            "size": 1000,
            "sums_sha256": SUMS_SHA,
            "epoch": 315532800,
        },
        "base": {"name": "kit-app", "archive_sha256": None, "sums_sha256": "b" * 64},
        "files": [
            {
                "path": "SHA256SUMS",
                "sha256": SUMS_SHA,
                "size": 10,
                "executable": False,
                "source": "delta",
            },
            {
                "path": "wheelhouse/install.sh",
                "sha256": "c" * 64,
                "size": 5,
                "executable": True,
                "source": "base",
                "base_path": "wheelhouse/install.sh",
            },
            {
                "path": "wheelhouse/new.whl",
                "sha256": "d" * 64,
                "size": 7,
                "executable": False,
                "source": "delta",
            },
        ],
        "sidecars": [{"name": "kit-app.tar.gz.sha256", "sha256": "e" * 64, "size": 81}],
    }


def test_parse_gives_typed_records_and_dumps_round_trips() -> None:
    record = delta.parse(valid())
    assert record.kit.name == "kit-app" and record.kit.size == 1000
    assert record.base.archive_sha256 is None
    assert [f.path for f in record.carried] == ["SHA256SUMS", "wheelhouse/new.whl"]
    assert [(f.path, f.base_path, f.executable) for f in record.from_base] == [
        ("wheelhouse/install.sh", "wheelhouse/install.sh", True)
    ]
    text = delta.dumps(record)
    assert json.loads(text) == valid()
    assert delta.parse(delta.decode(text.encode())) == record
    assert delta.dumps(delta.parse(json.loads(text))) == text  # canonical: stable bytes


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["files"][2].update(path="../../etc/passwd"), r"files\[2\]\.path"),
        (lambda d: d["files"][2].update(path="/etc/passwd"), r"files\[2\]\.path"),
        (lambda d: d["files"][2].update(path="wheelhouse//x"), r"files\[2\]\.path"),
        (lambda d: d["files"][2].update(path="wheelhouse/./x"), r"files\[2\]\.path"),
        (lambda d: d["files"][2].update(path="wheelhouse\\x"), r"files\[2\]\.path"),
        (lambda d: d["files"][2].update(path="wheelhouse/"), r"files\[2\]\.path"),
        (lambda d: d["files"][1].update(base_path="../x"), r"files\[1\]\.base_path"),
        (lambda d: d["files"][2].update(path="wheelhouse/install.sh"), "appears twice"),
        (lambda d: d["files"][2].update(path="wheelhouse/install.sh/x"), "file and a folder"),
        (lambda d: d["files"][1].pop("base_path"), "base_path is given exactly"),
        (lambda d: d["files"][2].update(base_path="x"), "base_path is given exactly"),
        (lambda d: d["files"][2].update(path="DELTA.json"), "the delta's own record"),
        (lambda d: d["files"][0].update(source="base", base_path="x"), "must be carried"),
        (lambda d: d["kit"].update(sums_sha256="f" * 64), "differs from kit.sums_sha256"),
        (lambda d: d["kit"].update(archive="other.tar.gz"), "not named after kit"),
        (lambda d: d["sidecars"][0].update(name="kit-app.tar.gz.evil"), r"sidecars\[0\]\.name"),
        (lambda d: d["sidecars"][0].update(name="../x"), r"sidecars\[0\]\.name"),
        (lambda d: d["sidecars"].clear(), r"sidecars: kit-app\.tar\.gz\.sha256 is missing"),
        (lambda d: d["kit"].update(sha256="A" * 64), r"kit\.sha256"),
        (lambda d: d["kit"].update(size=-1), r"kit\.size"),
        (lambda d: d.update(schema_version=2), "made by another version"),
        (lambda d: d.update(schema="airgap-kit/manifest"), "not an airgap-kit delta record"),
        (lambda d: d.pop("base"), "missing base"),
    ],
)
def test_each_bad_record_is_one_line_naming_the_field(change: Any, message: str) -> None:
    doc = valid()
    change(doc)
    with pytest.raises(delta.BadDelta, match=message) as info:
        delta.parse(doc, "kit-app.delta.tar.gz: DELTA.json")
    assert isinstance(info.value, BadInput)  # exit 2, one line
    assert "\n" not in str(info.value)
    assert str(info.value).startswith("kit-app.delta.tar.gz: DELTA.json: ")


def test_undecodable_and_oversized_records_are_refused() -> None:
    with pytest.raises(delta.BadDelta, match="unreadable delta record"):
        delta.decode(b"\xff{")
    with pytest.raises(delta.BadDelta, match="larger than"):
        delta.decode(b" " * (delta.MAX_BYTES + 1))


def _inside(path: str) -> bool:
    pure = PurePosixPath(path)
    return (
        not pure.is_absolute()
        and ".." not in pure.parts
        and "." not in path.split("/")
        and "" not in path.split("/")
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_records_parse_or_fail_cleanly(data: st.DataObject) -> None:
    doc = valid()
    where = data.draw(st.sampled_from(paths(doc)))
    value = data.draw(JSON)
    mutated = mutate(copy.deepcopy(doc), where, value, data.draw(st.booleans()))
    try:
        record = delta.parse(mutated)
    except delta.BadDelta:
        return
    for f in record.files:
        assert _inside(f.path), f.path
        assert f.base_path is None or _inside(f.base_path), f.base_path
    assert all("/" not in s.name for s in record.sidecars)
