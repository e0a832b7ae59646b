"""The `bundler` command: parse, call the library, print. The only place that prints or exits.

Each subcommand lives in its own module here and is registered below. Expected failures
(`BundlerError`) become one line on stderr and exit 2; `CheckFailed` (verify, strict audit)
prints its problems and exits 1; no traceback for either.
"""

from __future__ import annotations

from typing import Any

import click

from bundler import __version__
from bundler.errors import BundlerError, CheckFailed


class KitGroup(click.Group):
    """A click group that maps the kit's exception family to exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BundlerError as exc:
            click.echo(f"bundler: error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except CheckFailed as exc:
            click.echo(f"bundler: {exc.summary}", err=True)
            for problem in exc.problems:
                click.echo(f"  - {problem}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("bundler: interrupted; nothing partial was left in the output", err=True)
            ctx.exit(130)


@click.group(cls=KitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bundler")
def main() -> None:
    """Fetch, audit, pack and verify an offline Python kit for an air-gapped target host."""


def _register() -> None:
    # One import per subcommand module; each module defines exactly one click command.
    from bundler.cli import target_cmd

    main.add_command(target_cmd.target)

    from bundler.cli import fetch_cmd

    main.add_command(fetch_cmd.fetch_cmd)

    from bundler.cli import sources_cmd

    main.add_command(sources_cmd.fetch_source)

    from bundler.cli import audit_cmd

    main.add_command(audit_cmd.audit)

    from bundler.cli import inspect_cmd, pack_cmd, verify_cmd

    main.add_command(pack_cmd.pack)
    main.add_command(verify_cmd.verify)
    main.add_command(inspect_cmd.inspect_kit)


_register()
