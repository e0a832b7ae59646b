"""`bundler target`: show what a --python/--platform pair means (tags, markers, installer)."""

from __future__ import annotations

import json

import click

from bundler.cli.options import json_option, make_target, target_options


@click.command()
@target_options
@json_option("Print the target record as JSON.")
def target(python: str, platform: str, abi: str | None, implementation: str, as_json: bool) -> None:
    """Show the target: full version, ABIs, accepted tags in order, marker environment."""
    t = make_target(python, platform, abi, implementation)
    if as_json:
        click.echo(json.dumps({**t.to_dict(), "tags": [str(x) for x in t.tags]}, indent=2))
        return
    for note in t.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(t.describe())
    click.echo(f"platform tags (best first): {', '.join(t.platforms)}")
    click.echo(f"{len(t.tags)} tags accepted, best first:")
    for tag in t.tags:
        mark = "" if tag in t.installer_tags else f"   (needs pip newer than {t.installer_pip})"
        click.echo(f"  {tag}{mark}")
