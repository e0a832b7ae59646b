"""The `bundler` command: parse, call the library, print. The only place that prints or exits.

Each subcommand lives in its own module here and is registered below. Expected failures
(`BundlerError`) become one line on stderr and exit 2; `CheckFailed` (verify, strict audit)
prints its problems and exits 1; no traceback for either. With `--json` (every subcommand that
takes it, see `options.json_option`), the failure is instead one JSON object on stderr, the
error's `to_dict()` (`{"error", "message", "exit_code", ...its fields}`); exit codes unchanged.

Start-up cost: `bundler --help` imports no subcommand module (the command list comes from
`COMMANDS`), and each subcommand module imports its library only inside the command function,
so `bundler SUB --help` and a failed option check stay cheap too. tests/unit/cli/test_imports.py
holds the import sets each path may reach.
"""

from __future__ import annotations

import atexit
import difflib
import gc
import importlib
import json
import logging
import signal
import threading
from types import FrameType
from typing import Any, NamedTuple, NoReturn

import click

from bundler import __version__
from bundler.cli.options import JSON_ERRORS, one_line
from bundler.errors import WRITTEN_NOT_REHEARSED, BundlerError, CheckFailed


class KitGroup(click.Group):
    """A click group that maps the kit's exception family to exit codes and loads each
    subcommand's module on first use (`COMMANDS`)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of `bundler --help` from `COMMANDS`, importing no command module
        (click's own version imports each one to read its docstring)."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, _short_help(name, limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        command = getattr(importlib.import_module(entry.module), entry.attribute)
        assert isinstance(command, click.Command) and command.name == cmd_name, entry
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """As click's, but an unknown subcommand gets the nearest names as a suggestion, as
        click already does for options (`No such command 'verfiy'. Did you mean 'verify'?`)."""
        name = click.utils.make_str(args[0])
        if name not in COMMANDS and not name.startswith("-"):
            close = difflib.get_close_matches(name, sorted(COMMANDS), n=3, cutoff=0.6)
            hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            ctx.fail(f"No such command {name!r}.{hint}")
        return super().resolve_command(ctx, args)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        """As click's, but a usage error in the group's own options (`bundler --bogus`) is the
        kit's one line, as every subcommand's is (`invoke`)."""
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            if _is_help(exc):
                raise
            _usage_exit(exc)

    def invoke(self, ctx: click.Context) -> Any:
        # urllib3's own warnings would reach stderr through logging's last-resort handler and
        # break the one-line promise; every network failure is reported by the kit itself
        logging.getLogger("urllib3").setLevel(logging.ERROR)
        main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
        try:
            return super().invoke(ctx)
        except (BundlerError, CheckFailed) as exc:
            if ctx.meta.get(JSON_ERRORS):
                click.echo(json.dumps(exc.to_dict(), sort_keys=True), err=True)
            elif isinstance(exc, CheckFailed):
                click.echo(f"bundler: {one_line(exc.summary)}", err=True)
                for problem in exc.problems:
                    click.echo(f"  - {one_line(problem)}", err=True)
            else:
                click.echo(f"bundler: error: {one_line(str(exc))}", err=True)  # one line, always
            ctx.exit(exc.exit_code)
        except click.ClickException as exc:  # a usage error: one line, or JSON with --json
            if isinstance(exc, click.UsageError) and not _is_help(exc):
                if not ctx.meta.get(JSON_ERRORS):
                    _usage_exit(exc)
            elif not ctx.meta.get(JSON_ERRORS):
                raise
            record = {"error": "UsageError", "message": exc.format_message()}
            click.echo(json.dumps({**record, "exit_code": exc.exit_code}), err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt as exc:
            what = "terminated" if isinstance(exc, Terminated) else "interrupted"
            written = getattr(exc, WRITTEN_NOT_REHEARSED, None)
            if written is not None:
                click.echo(
                    f"bundler: {what}; the wheelhouse {written} was written but not rehearsed",
                    err=True,
                )
            else:
                click.echo(f"bundler: {what}; nothing partial was left in the output", err=True)
            ctx.exit(143 if isinstance(exc, Terminated) else 130)
        finally:
            if main_thread:
                signal.signal(signal.SIGTERM, previous)


COMMAND_GC_THRESHOLD = (10_000, 1_000, 1_000)
"""`gc.set_threshold` of a `bundler` process (`run`; CPython's default is (700, 10, 10)): a
young collection every 10,000 net container allocations instead of 700, and no middle or full
one during a command. A warm `fetch --offline` of a large set builds hundreds of thousands of
containers that live to its end (page entries, versions, tags, metadata); with the default
CPython scanned them again and again (py-spy `--gil --native`, 2026-12-01: `gc_collect_main`
22% of the 3.11 large set's samples; gc callbacks on the 3.6 large set, 20,784 page entries
checked: one middle collection of ~600,000 objects alone took 0.19-0.23 s). Cycles that die
young are still collected; the rest is freed with the process. Nothing is checked less.
https://docs.python.org/3/library/gc.html#gc.set_threshold"""


def run() -> None:
    """The `bundler` console script (and `python -m bundler`): `main` in a process whose
    cyclic collector is set for one short command (`COMMAND_GC_THRESHOLD`), and which calls
    `gc.freeze()` at exit, so the interpreter's last collection has nothing to scan (every
    object is freed with the process; 0.12 s of a warm large fetch before).
    https://docs.python.org/3/library/gc.html#gc.freeze. `main` alone (the tests' `CliRunner`)
    leaves the collector as it is."""
    gc.set_threshold(*COMMAND_GC_THRESHOLD)
    atexit.register(gc.freeze)
    main()


def _is_help(exc: click.UsageError) -> bool:
    """True for click's "no arguments: show the help" (click >= 8.2), which is not an error."""
    return type(exc).__name__ == "NoArgsIsHelpError"


def _usage_exit(exc: click.UsageError) -> NoReturn:
    """A usage error (unknown option, missing argument, options that exclude each other) as
    the kit's one line, `bundler: error: ...`, exit 2, instead of click's three lines (Usage,
    Try --help, Error): the message already names the option; `--help` is one word away."""
    click.echo(f"bundler: error: {one_line(_joined(exc.format_message()))}", err=True)
    raise SystemExit(exc.exit_code)


def _joined(message: str) -> str:
    """click's own multi-line message (a missing choice argument: "Choose from:\n\tpython,
    \n\topenssl") as one readable line: each line break and the blanks around it become one
    space; any other control character is still escaped by one_line."""
    return " ".join(part.strip() for part in message.splitlines() if part.strip())


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every cleanup (stages, downloads) runs."""


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


@click.group(cls=KitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bundler")
def main() -> None:
    """Fetch, audit, pack and verify an offline Python kit for an air-gapped target host."""


def _short_help(name: str, limit: int) -> str:
    """`COMMANDS[name].summary` shortened as click shortens a command's docstring."""
    return click.Command(name, help=COMMANDS[name].summary).get_short_help_str(limit)


class Entry(NamedTuple):
    """Where a subcommand lives, and its one-line summary for `bundler --help`."""

    module: str
    attribute: str
    summary: str
    """The first sentence of the command's docstring (a test keeps the two equal)."""


COMMANDS: dict[str, Entry] = {
    "target": Entry(
        "bundler.cli.target_cmd",
        "target",
        "Show the target: full version, ABIs, accepted tags in order, marker environment.",
    ),
    "fetch": Entry(
        "bundler.cli.fetch_cmd",
        "fetch_cmd",
        "Resolve and download a wheelhouse for the target into -o DIR.",
    ),
    "fetch-source": Entry(
        "bundler.cli.sources_cmd",
        "fetch_source",
        "Fetch PROJECT (python, openssl, zlib, readline) VERSION's source tarball into OUTPUT.",
    ),
    "fetch-controller": Entry(
        "bundler.cli.controller_cmd",
        "fetch_controller",
        "Fetch ansible-core 2.16.x and its dependencies for the Ansible controller into -o DIR.",
    ),
    "audit": Entry(
        "bundler.cli.audit_cmd",
        "audit",
        "Find the system libraries DIR's wheels need and the distro packages that provide them.",
    ),
    "keygen": Entry(
        "bundler.cli.keygen_cmd",
        "keygen",
        "Make a kit signing key pair: PREFIX.key.asc (secret, mode 0600) and PREFIX.pub.asc.",
    ),
    "pack": Entry(
        "bundler.cli.pack_cmd",
        "pack",
        "Pack one reproducible kit-NAME.tar.gz with SHA256SUMS, an SBOM and a README.txt.",
    ),
    "verify": Entry(
        "bundler.cli.verify_cmd",
        "verify",
        "Verify KIT (kit-NAME.tar.gz, its .part000 or all its parts) or an unpacked DIR, offline.",
    ),
    "unpack": Entry(
        "bundler.cli.unpack_cmd",
        "unpack",
        "Verify KIT and unpack it into a new directory; nothing is left unless it verifies.",
    ),
    "inspect": Entry(
        "bundler.cli.inspect_cmd",
        "inspect_kit",
        "Show KIT's contents, target, Python version, package counts and system packages.",
    ),
}
"""Subcommand name -> where it lives: one module per subcommand, imported only when that
subcommand runs (or for its own --help), so `bundler --help` imports none of them and
`bundler fetch` does not pay for the SBOM library."""
