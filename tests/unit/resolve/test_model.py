"""bundler.resolve.model: the result graph, exact pins, excluded records."""

from __future__ import annotations

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from bundler.models.link import DistFile
from bundler.models.metadata import Metadata
from bundler.resolve.model import Excluded, Pin, ProjectReq, PythonReq, Resolution
from tests.unit.resolve.localindex import CP36, reqs

# -- the result object ------------------------------------------------------------------------


def pin(name: str, *deps: str) -> Pin:
    file = DistFile(name, f"{name}-1.0-py3-none-any.whl", "file:///x", None, None, None, None,
                    None, None)  # fmt: skip
    meta = Metadata(name, Version("1.0"), (), None, None, None, None)
    return Pin(name, Version("1.0"), file, meta, frozenset(), tuple(sorted(deps)))


def test_resolution_graph_queries() -> None:
    res = Resolution(
        target=CP36,
        roots=tuple(reqs("app", "tool; python_version >= '3.8'")),
        pins={
            "app": pin("app", "lib", "util"),
            "lib": pin("lib", "core"),
            "util": pin("util", "core"),
            "core": pin("core"),
        },
    )
    assert res.edges() == [("app", "lib"), ("app", "util"), ("lib", "core"), ("util", "core")]
    assert res.via("core") == ["lib", "util"] and res.via("app") == []
    assert res.chain("core") == ["app", "lib", "core"]
    assert res.chain("App") == ["app"]
    assert res.root_names == ["app"]  # 'tool' does not apply to the target


@pytest.mark.parametrize(
    ("spec", "exact"),
    [("==1.0", True), ("===1.0", True), ("==1.*", False), (">=1.0", False), ("", False)],
)
def test_exact_pin(spec: str, exact: bool) -> None:
    assert ProjectReq("x", frozenset(), SpecifierSet(spec), "x").exact_pin is exact


def test_typed_requires_python_and_excluded_records() -> None:
    python = PythonReq(SpecifierSet(">=3.7"))
    assert python.key == "<python>" and python.text == "Requires-Python >=3.7"
    assert not python.exact_pin
    rows = [Excluded("b", "", "app", "--no-deps"), Excluded("a", ">=1", None, "--exclude"),
            Excluded("a", "", "lib", "--exclude")]  # fmt: skip
    assert [(e.name, e.required_by) for e in sorted(rows, key=Excluded.sort_key)] == [
        ("a", None), ("a", "lib"), ("b", "app")
    ]  # fmt: skip
    assert rows[1].to_dict() == {"name": "a", "specifier": ">=1", "required_by": None,
                                 "reason": "--exclude"}  # fmt: skip
