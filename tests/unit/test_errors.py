"""bundler.errors: the resolver's errors keep their data and render one line from it."""

from __future__ import annotations

import json

from bundler.errors import (
    BadInput,
    CheckFailed,
    NoMatchingVersion,
    NoWheelForTarget,
    PackageNotFound,
    ResolutionConflict,
)


def test_no_wheel_renders_its_fields() -> None:
    err = NoWheelForTarget(
        package="leaf",
        requirement="leaf>=1",
        chain=["app", "mid"],
        versions=["1.2"],
        hint="--build-pure builds it from the sdist if it is pure Python",
        target="CPython 3.6.15 (cp36m), manylinux1_x86_64",
        what_exists={"1.2": "sdist"},
        excluded=["yanked"],
    )
    assert str(err) == (
        "leaf>=1 has no wheel for the target (CPython 3.6.15 (cp36m), manylinux1_x86_64); "
        "required by app -> mid; what exists: 1.2 (sdist); excluded: yanked; "
        "hint: --build-pure builds it from the sdist if it is pure Python"
    )
    record = err.to_dict()
    assert record["error"] == "NoWheelForTarget" and record["exit_code"] == 2
    assert record["chain"] == ["app", "mid"] and record["what_exists"] == {"1.2": "sdist"}
    assert record["message"] == str(err)
    json.dumps(record)  # JSON-ready


def test_package_not_found_gains_the_chain() -> None:
    err = PackageNotFound("no package named 'ghost' on http://x/simple/")
    assert str(err) == "no package named 'ghost' on http://x/simple/"
    chained = err.with_context("ghost", ["app"])
    assert str(chained) == "no package named 'ghost' on http://x/simple/ (required by app)"
    assert chained.to_dict()["package"] == "ghost" and chained.chain == ("app",)
    assert isinstance(chained, PackageNotFound) and err.chain == ()  # a copy


def test_no_matching_version_lists_what_exists_for_a_root() -> None:
    err = NoMatchingVersion(
        "no version of lib matches lib==9", package="lib", requirement="lib==9", versions=["1.0"]
    )
    assert str(err) == (
        "no version of lib matches lib==9 (required by your requirements); available: 1.0"
    )


def test_conflict_lists_each_side_once_sorted() -> None:
    err = ResolutionConflict(
        "conflicting requirements for shared",
        package="shared",
        conflicts=[("shared>=2", "b 1.0"), ("shared<2", "a 1.0"), ("shared>=2", "b 1.0")],
    )
    assert str(err) == (
        "conflicting requirements for shared: shared<2 (from a 1.0); shared>=2 (from b 1.0)"
    )
    assert err.to_dict()["conflicts"][0] == {"requirement": "shared<2", "required_by": "a 1.0"}


def test_plain_errors_and_checks_have_a_record_too() -> None:
    assert BadInput("x: missing").to_dict() == {
        "error": "BadInput",
        "message": "x: missing",
        "exit_code": 2,
    }
    check = CheckFailed("2 problems", ["a", "b"]).to_dict()
    assert check == {"error": "CheckFailed", "message": "2 problems", "exit_code": 1,
                     "problems": ["a", "b"]}  # fmt: skip
