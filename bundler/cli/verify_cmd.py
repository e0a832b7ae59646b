"""`bundler verify KIT|DIR`: offline checks of a kit archive, an unpacked kit or a wheelhouse."""

from __future__ import annotations

from pathlib import Path

import click

# bundler.kit.verify is imported inside the command.


@click.command()
@click.argument("kit", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--unpack",
    "unpack_to",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Leave the kit unpacked in this new (or empty) directory (only when it verifies).",
)
@click.option(
    "--rehearse",
    "rehearse",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="PYTHON",
    help="Also install the wheelhouse offline with this interpreter (the target's version) "
    "into a throwaway venv and import every top-level module; each failure is a problem.",
)
def verify(kit: tuple[Path, ...], unpack_to: Path | None, rehearse: Path | None) -> None:
    """Verify KIT (kit-NAME.tar.gz, its .part000 or all its parts) or an unpacked DIR, offline.

    Checks every checksum, every wheel's tags against the target, that the lock and the
    manifest agree, and that the dependency closure is complete for the target's markers.
    In an unpacked kit, the files its README.txt has the operator create
    (inventory/hosts.ini, inventory/host_vars/, inventory/group_vars/, .vagrant/) are listed
    as operator files and do not fail. Exit 0 when clean, 1 listing each bad file, 2 when the
    input is not a kit.
    """
    from bundler.kit import verify as verify_mod

    report = verify_mod.verify(list(kit), unpack_to=unpack_to, rehearse=rehearse)
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    if report.operator_files:
        shown = ", ".join(report.operator_files)
        click.echo(f"operator files (not part of the kit): {shown}")
    click.echo(
        f"ok: {report.name} ({report.kind}): {report.files} checksummed files, "
        f"{report.wheels} wheels for {report.target}"
    )
    if report.controller:
        click.echo(f"ok: controller: {report.controller}")
    if unpack_to is not None:
        click.echo(f"unpacked into {unpack_to}")
