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
            "--target 3.6/manylinux1 and --target 3.6.15/manylinux1 name the same target "
            "(CPython 3.6.15 (cp36m), manylinux1_x86_64 (glibc <= 2.5), bundled pip 18.1; 3.6 "
            "and 3.6.15 both mean CPython 3.6.15): give each target once",
        ),
        # the version spelling is named, not the platform's (#16 review16d finding 5)
        (
            ["--target", "3.6.15/manylinux1", "--target", "3.6/manylinux_2_5/cp36m"],
            "(CPython 3.6.15 (cp36m), manylinux_2_5_x86_64 (glibc <= 2.5), bundled pip 18.1; "
            "3.6.15 and 3.6 both mean CPython 3.6.15; manylinux_2_5_x86_64 is PEP 600's name of "
            "its ceiling; both have ABI cp36m)",
        ),
        # install.sh picks by X.Y: two patch releases could not be told apart on a host
        (
            ["--target", "3.11.2/manylinux2014", "--target", "3.11.9/manylinux_2_17"],
            "--target 3.11.2/manylinux2014 and --target 3.11.9/manylinux_2_17 are one target "
            "for install.sh, which picks by X.Y, ABI and glibc (cp311-manylinux2014_x86_64)",
        ),
        (
            ["--target", "3.6/manylinux1", "--target", "3.6/manylinux1"],
            "--target 3.6/manylinux1 is given twice",
        ),
        # PEP 600's legacy aliases are one ceiling under two names (data/platforms.json)
        (
            ["--target", "3.6/manylinux1", "--target", "3.6/manylinux_2_5"],
            "--target 3.6/manylinux1 and --target 3.6/manylinux_2_5 name the same target",
        ),
        (
            ["--target", "3.8/manylinux_2_12", "--target", "3.8/manylinux2010"],
            "manylinux_2_12_x86_64 is PEP 600's name",
        ),
        (
            ["--target", "3.11/manylinux2014", "--target", "3.11/manylinux_2_17_x86_64"],
            "--target 3.11/manylinux2014 and --target 3.11/manylinux_2_17_x86_64 name",
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


def test_an_alias_given_twice_is_refused_before_anything_is_printed(tmp_path: object) -> None:
    result = CliRunner().invoke(
        main,
        ["fetch", "--no-index", "--no-rehearse", "-o", f"{tmp_path}/wh",
         "--target", "3.6/manylinux_2_5", "--target", "3.11/manylinux2014",
         "--target", "3.6/manylinux1"],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("bundler: error: --target 3.6/manylinux_2_5 and --target ")


def test_different_ceilings_and_abis_are_different_targets() -> None:
    from bundler.models.target import Target, check_distinct

    a = Target.from_spec("3.6", "manylinux1")
    check_distinct([("a", a), ("b", Target.from_spec("3.6", "manylinux2010"))])
    check_distinct([("a", a), ("b", Target.from_spec("3.6", "manylinux1", "cp36dm"))])
    check_distinct([("a", a), ("b", Target.from_spec("3.6", "manylinux1_i686"))])
    assert a.identity == Target.from_spec("3.6.15", "manylinux_2_5_x86_64").identity


@pytest.mark.parametrize(
    ("argv", "says", "never"),
    [
        # --target refuses abi3/none: its message does not offer them (#16 second review 10)
        (
            ["--target", "3.6/manylinux1/cp311"],
            "bundler: error: --target '3.6/manylinux1/cp311': ABI 'cp311' does not belong to "
            "CPython 3.6: expected cp36m (flags d, m allowed)\n",
            "abi3",
        ),
        # an architecture suffix is no PEP 600 alias
        (
            ["--target", "3.11/manylinux_2_17", "--target", "3.11/manylinux_2_17_x86_64"],
            "; both spell manylinux_2_17_x86_64): give each target once\n",
            "PEP 600",
        ),
    ],
)
def test_target_errors_say_only_what_applies(
    argv: list[str], says: str, never: str, tmp_path: object
) -> None:
    result = CliRunner().invoke(
        main, ["fetch", "--no-index", "--no-rehearse", "-o", f"{tmp_path}/wh", *argv]
    )
    assert result.exit_code == 2, result.output
    assert result.stderr.endswith(says) and never not in result.stderr, result.stderr


def test_one_target_takes_one_rehearse_interpreter(tmp_path: object) -> None:
    """--rehearse repeats for several --target (one per X.Y); one target takes one."""
    result = CliRunner().invoke(
        main,
        ["fetch", "--no-index", "-o", f"{tmp_path}/wh", "--python", "3.6",
         "--rehearse", "/a/python3.6", "--rehearse", "/b/python3.6"],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        "bundler: error: --rehearse: one target takes one interpreter (several: with --target)\n"
    )
