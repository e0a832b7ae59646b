"""bundler.cli (KitGroup): subcommand typos get a suggestion; every usage error is the kit's one
line; --help never breaks a tag."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from bundler.cli import COMMANDS, main
from bundler.cli.options import one_line


@pytest.mark.parametrize(
    ("typo", "hint"),
    [
        ("verfiy", "Did you mean 'verify'?"),
        ("inspetc", "Did you mean 'inspect'?"),
        ("fetch-sorce", "Did you mean 'fetch-source' or 'fetch'?"),
        ("pakc", "Did you mean 'pack' or 'unpack'?"),
    ],
)
def test_a_subcommand_typo_gets_a_suggestion(typo: str, hint: str) -> None:
    result = CliRunner().invoke(main, [typo])
    assert result.exit_code == 2
    assert result.stderr == f"bundler: error: No such command '{typo}'. {hint}\n"


def test_an_unrelated_word_gets_no_suggestion() -> None:
    result = CliRunner().invoke(main, ["frobnicate"])
    assert result.exit_code == 2
    assert result.stderr == "bundler: error: No such command 'frobnicate'.\n"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_commands_usage_error_is_one_line_exit_2(name: str) -> None:
    result = CliRunner().invoke(main, [name, "--no-such-option"])
    assert result.exit_code == 2
    assert result.stderr.startswith("bundler: error: No such option '--no-such-option'")
    assert result.stderr.count("\n") == 1 and "Usage:" not in result.stderr


def test_the_groups_own_usage_error_is_one_line_and_bare_bundler_shows_help() -> None:
    bad = CliRunner().invoke(main, ["--no-such-option"])
    assert bad.exit_code == 2
    assert bad.stderr == "bundler: error: No such option '--no-such-option'.\n"
    bare = CliRunner().invoke(main, [])
    assert "Commands:" in bare.output and "bundler: error" not in bare.output


def test_a_missing_choice_argument_is_one_readable_line() -> None:
    """#16 second review finding 8: click's "Choose from:" list came out as literal escapes
    ("Choose from:\\n\\tpython,\\n\\topenssl,...")."""
    result = CliRunner().invoke(main, ["fetch-source"])
    assert result.exit_code == 2
    assert result.stderr == (
        "bundler: error: Missing argument '{python|openssl|zlib|readline}'. "
        "Choose from: python, openssl, zlib, readline\n"
    ), result.stderr


def _tag_words(command: click.Command) -> set[str]:
    """Words of the command's option help texts that look like tags (letters, digits, '_' and
    '.', with a digit or an underscore: manylinux2014, manylinux_2_N, cp36m, linux_x86_64).
    Paths and hyphenated words are not tags: click may wrap those at a '/' or '-'."""
    words: set[str] = set()
    for param in command.params:
        text = getattr(param, "help", None) or ""
        for word in re.split(r"[\s,|()\[\]]+", text):
            word = word.strip(".:;'`")
            if word and re.search(r"[0-9_]", word) and re.fullmatch(r"[A-Za-z0-9_.]+", word):
                words.add(word)
    return words


@pytest.mark.parametrize("width", [60, 80, 100, 140])
@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_never_breaks_a_tag_in_the_middle(name: str, width: int) -> None:
    command = main.get_command(click.Context(main), name)
    assert command is not None
    result = CliRunner().invoke(main, [name, "--help"], terminal_width=width)
    assert result.exit_code == 0, result.output
    for word in _tag_words(command):
        assert word in result.output, f"'{word}' is broken across lines at width {width}"


@given(st.text())
def test_one_line_is_one_line_and_keeps_printable_text(text: str) -> None:
    shown = one_line(text)
    assert len(shown.splitlines()) <= 1 and "\x1b" not in shown
    if text.isprintable():
        assert shown == text


def test_an_untrusted_name_with_a_newline_is_one_problem_line(tmp_path: Path) -> None:
    """A name from untrusted input (here a file's in the kit) cannot add a problem line."""
    kit = tmp_path / "kit"
    kit.mkdir()
    (kit / "SHA256SUMS").write_text("")
    (kit / "evil\n  - nothing else wrong").write_text("")
    result = CliRunner().invoke(main, ["verify", str(kit)])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if "nothing else wrong" in line]
    assert len(lines) == 1 and "evil\\n  - nothing else wrong" in lines[0], result.stderr


def test_the_bundler_process_runs_with_the_collector_set_and_freezes_at_exit() -> None:
    """#17 phase 5: the cyclic collector's passes over every live object were a fifth of a warm
    large fetch. The console script (`run`) sets COMMAND_GC_THRESHOLD and calls `gc.freeze()`
    at exit (a handler registered before it runs after it: atexit is last in, first out)."""
    import subprocess
    import sys

    from bundler.cli import COMMAND_GC_THRESHOLD

    code = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('gc', gc.get_threshold(), gc.get_freeze_count() > 0))\n"
        "from bundler.cli import run\n"
        "sys.argv = ['bundler', 'target', '--python', '3.6.15', '--platform', 'manylinux1']\n"
        "run()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "manylinux1_x86_64" in proc.stdout  # the command ran
    assert proc.stdout.rstrip().endswith(f"gc {COMMAND_GC_THRESHOLD} True"), proc.stdout


def test_main_alone_leaves_the_collector_as_it_is() -> None:
    """In-process callers (the tests' CliRunner) keep their own collector settings."""
    import gc

    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    result = CliRunner().invoke(main, ["target", "--python", "3.6.15", "--platform", "manylinux1"])
    assert result.exit_code == 0, result.output
    assert (gc.get_threshold(), gc.get_freeze_count()) == (before, frozen)
