"""`bundler inspect KIT`: what a kit holds, read from the archive stream (nothing unpacked)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bundler.cli.options import json_option
from bundler.errors import CheckFailed

# bundler.kit.info (jinja2, yaml, the SBOM library) is imported inside the command.


@click.command("inspect")
@click.argument("kit", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--html",
    "html",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write a self-contained HTML review page here.",
)
@json_option("Print the summary as JSON.")
def inspect_kit(kit: tuple[Path, ...], html: Path | None, as_json: bool) -> None:
    """Show KIT's contents, target, Python version, package counts and system packages.

    Exit 0, or 1 after the summary when part of the kit is unusable (a manifest.json that does
    not match its schema, an unsafe archive member, ...), each problem on its own line.
    """
    from bundler.kit import info as kitinfo

    info = kitinfo.read(list(kit))
    if as_json:
        click.echo(json.dumps(info.summary(), indent=2, sort_keys=True))
    else:
        for line in info.lines():
            click.echo(line)
    if html is not None:
        kitinfo.write_html(info, html)
        click.echo(f"wrote {html}", err=True)
    if info.warnings:
        raise CheckFailed(f"{info.name}: {len(info.warnings)} problem(s)", info.warnings)
