"""`bundler pack`: the wheelhouse, sources, playbooks and Vagrantfile as one checksummed kit."""

from __future__ import annotations

from pathlib import Path

import click

# bundler.kit.pack (jinja2, yaml, the SBOM library) is imported inside the command.

CONTROLLER_DIR = Path("controller-wheelhouse")
"""For --help and the default only: bundler.kit.controller.DEFAULT_DIR (a test keeps the two
equal; `bundler pack --help` imports click alone)."""

_DIR = click.Path(file_okay=False, path_type=Path)


@click.command()
@click.option(
    "--wheelhouse",
    type=_DIR,
    default=Path("wheelhouse"),
    show_default=True,
    help="The fetched wheelhouse.",
)
@click.option(
    "--sources",
    "sources_dir",
    type=_DIR,
    default=Path("sources"),
    show_default=True,
    help="Source tarballs from `bundler fetch-source` (may be missing or empty).",
)
@click.option(
    "--playbooks",
    type=_DIR,
    default=Path("playbooks"),
    show_default=True,
    help="The Ansible playbooks to ship.",
)
@click.option(
    "--vagrantfile",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("Vagrantfile"),
    show_default=True,
    help="The Vagrantfile to ship.",
)
@click.option(
    "--controller-wheelhouse",
    type=_DIR,
    default=None,
    help="ansible-core for the controller, from `bundler fetch-controller`, packed as "
    f"controller/ [default: {CONTROLLER_DIR} next to --wheelhouse].",
)
@click.option(
    "--no-controller",
    is_flag=True,
    help="Pack no controller part (the controller brings its own ansible-core 2.16).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="kit-NAME.tar.gz (default: named after the app, Python and platform).",
)
@click.option(
    "--split",
    default=None,
    help="Cut the archive into parts of at most SIZE (e.g. 700M, 4G, 4GB) for size-limited media.",
)
def pack(
    wheelhouse: Path,
    sources_dir: Path,
    playbooks: Path,
    vagrantfile: Path,
    controller_wheelhouse: Path | None,
    no_controller: bool,
    output: Path | None,
    split: str | None,
) -> None:
    """Pack one reproducible kit-NAME.tar.gz with SHA256SUMS, an SBOM and a README.txt."""
    from bundler.kit import pack as pack_mod

    split_size = pack_mod.parse_size(split) if split else None
    if controller_wheelhouse is None:
        controller_wheelhouse = wheelhouse.parent / CONTROLLER_DIR
    if output is None:
        output = Path(pack_mod.default_name(wheelhouse) + pack_mod.SUFFIX)
    result = pack_mod.pack(
        wheelhouse,
        output,
        sources_dir=sources_dir,
        playbooks=playbooks,
        vagrantfile=vagrantfile,
        split=split_size,
        controller_wheelhouse=None if no_controller else controller_wheelhouse,
    )
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    where = [str(p) for p in result.parts] or [str(result.archive)]
    click.echo(f"packed {result.files} files into {', '.join(where)}")
    click.echo(f"sha256 {result.sha256}  ({result.size} bytes, recorded in {result.checksum_file})")
    if result.controller is not None:
        click.echo(f"controller: {result.controller.describe()}")
    else:
        click.echo("controller: NONE (--no-controller: bring ansible-core 2.16 another way)")
    if result.python_source:
        click.echo(f"CPython source: sources/{result.python_source}")
    else:
        click.echo("CPython source: NONE (the target must already have the interpreter)")
