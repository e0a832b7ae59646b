"""`bundler fetch --target X.Y/PLATFORM[/ABI]` (repeatable): parsing, and bad forms are one
line, exit 2, before any network request."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from bundler.cli import main
from bundler.cli.fetch_cmd import parse_target


def test_the_forms_parse() -> None:
    assert parse_target("3.6/manylinux1") == ("3.6", "manylinux1", None)
    assert parse_target("3.8/manylinux2010/cp38") == ("3.8", "manylinux2010", "cp38")
    assert parse_target("3.11.7/manylinux_2_17") == ("3.11.7", "manylinux_2_17", None)


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--target", "3.6"], "'3.6' is not X.Y/PLATFORM[/ABI]"),
        (["--target", "manylinux1/3.6"], "is not X.Y/PLATFORM[/ABI]"),
        (["--target", "3.6/manylinux1/cp36m/extra"], "is not X.Y/PLATFORM[/ABI]"),
        (["--target", "3.6/"], "is not X.Y/PLATFORM[/ABI]"),
        (["--target", "3.6/manylinux1", "--python", "3.8"], "--target and --python exclude"),
        (["--target", "3.6/manylinux1", "--platform", "manylinux2014"], "--target and --platform"),
        (["--target", "3.6/manylinux7"], "bundler: error: "),
        (["--target", "3.6/manylinux1/cp311"], "does not belong to CPython 3.6"),
        # no interpreter reports abi3 or none as its ABI: install.sh's pick could never fit it
        (
            ["--target", "3.6/manylinux1/abi3", "--target", "3.11/manylinux2014"],
            "--target '3.6/manylinux1/abi3': ABI abi3 is no interpreter's (install.sh picks the "
            "target by the ABI its Python reports); accepted: cp36 with the ABI flags d, m "
            "(none given: cp36m)",
        ),
        (["--target", "3.11/manylinux2014/none"], "accepted: cp311 with the ABI flags d (none"),
        (["--target", "3.13/manylinux2014/abi3"], "cp313 with the ABI flags d, t (none given"),
        (
            ["--target", "3.6/manylinux1", "--target", "3.6.15/manylinux1"],
            "--target cp36-manylinux1_x86_64 is given twice",
        ),
    ],
)
def test_a_bad_target_is_one_line_exit_2(argv: list[str], says: str, tmp_path: object) -> None:
    result = CliRunner().invoke(
        main, ["fetch", "--no-index", "--no-rehearse", "-o", f"{tmp_path}/wh", *argv]
    )
    assert result.exit_code == 2, result.output
    assert says in result.stderr
    assert "Traceback" not in result.output
    assert result.stderr.startswith("bundler: error: ")
    assert result.stderr.count("\n") == 1
