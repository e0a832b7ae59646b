"""`bundler fetch-source PROJECT VERSION`: an upstream tarball into sources/, hash-checked."""

from __future__ import annotations

from pathlib import Path

import click

# bundler.kit.sources (requests) is imported inside the command.

PROJECTS = ("python", "openssl", "zlib", "readline")
"""The PROJECT choices: bundler.kit.sources.PROJECTS, spelled here so that --help does not
import requests (a test keeps the two equal)."""


@click.command("fetch-source")
@click.argument("project", type=click.Choice(PROJECTS))
@click.argument("version")
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("sources"),
    show_default=True,
    help="Directory the tarball (and sources/index.json) goes to.",
)
@click.option(
    "--sha256",
    default=None,
    help="Expected sha256 (required for a version the shipped table does not know).",
)
@click.option("--url", default=None, help="Download from this URL instead of the upstream one.")
@click.option(
    "--mirror",
    default=None,
    help="Base URL of a mirror of the upstream directory (BASE/FILENAME is fetched).",
)
@click.option(
    "--from",
    "from_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Add a tarball you already have (checked like a download; --url names its origin).",
)
def fetch_source(
    project: str,
    version: str,
    output: Path,
    sha256: str | None,
    url: str | None,
    mirror: str | None,
    from_file: Path | None,
) -> None:
    """Fetch PROJECT (python, openssl, zlib, readline) VERSION's source tarball into OUTPUT.

    The tarball must match the sha256 shipped in the kit's source table (from pyenv's
    python-build definitions) or the one given with --sha256; anything else is refused and
    nothing is stored.
    """
    from bundler.kit import sources

    filename = from_file.name if from_file is not None else None
    chosen = sources.resolve(project, version, sha256=sha256, url=url, filename=filename)
    path = sources.fetch(chosen, output, from_file=from_file, mirror=mirror)
    click.echo(f"{path}  sha256:{chosen.sha256}  ({chosen.origin})")
