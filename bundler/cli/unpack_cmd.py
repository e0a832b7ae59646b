"""`bundler unpack KIT [--onto OLD_KIT]`: a verified kit directory, from a kit or a delta kit."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from bundler.cli.options import FreshnessArgs, make_trust, trust_options
from bundler.cli.verify_cmd import print_report

# bundler.kit.unpack (and through it the verifier and the pack writer) is imported inside the
# command.


@click.command()
@click.argument("kit", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--onto",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    metavar="OLD_KIT",
    help="KIT is a delta kit: the old kit it was made from (its unpacked directory, or its "
    "archive). It is read, never changed.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The new kit's directory (must not exist) [default: kit-NAME, next to OLD_KIT with "
    "--onto, else in the current directory].",
)
@click.option(
    "--archive",
    is_flag=True,
    help="With --onto: also write the full kit-NAME.tar.gz (+ .sha256 and its signatures) "
    "beside the new directory, byte for byte the kit that was packed.",
)
@trust_options
def unpack(
    kit: tuple[Path, ...],
    onto: Path | None,
    output: Path | None,
    archive: bool,
    keys: tuple[Path, ...],
    policy: Path | None,
    as_of: datetime | None,
    freshness: FreshnessArgs,
) -> None:
    """Verify KIT and unpack it into a new directory; nothing is left unless it verifies.

    A delta kit (kit-NAME.delta.tar.gz, from `bundler pack --base`) needs --onto: the old kit
    must be exactly the one the delta was made from (else exit 2); the new kit is assembled
    from both, verified like any kit and as the very archive that was packed, then renamed
    into place. With --key, a signed delta (its .sha256.asc beside it) and the kit it
    assembles must carry valid signatures by a trusted key, as `verify --key` requires of a
    full kit. Exit 0 when done, 1 listing problems, 2 for a wrong base or bad input.
    """
    from bundler.kit import archive as kitarchive
    from bundler.kit import unpack as unpack_mod

    trust = make_trust(keys, policy, as_of, freshness)
    parts = kitarchive.parts_of(list(kit))
    record = unpack_mod.read_record(parts)
    if record is None:
        if onto is not None or archive:
            raise click.UsageError("--onto and --archive are for a delta kit")
        name = kitarchive.archive_name(parts)
        output = output or Path(name.removesuffix(".tar.gz"))
        report = unpack_mod.unpack_kit(list(kit), output, trust=trust)
        print_report(report)
        click.echo(f"unpacked into {output}")
        return
    if onto is None:
        raise click.UsageError(
            f"{kitarchive.archive_name(parts)} is a delta kit for {record.kit.name}: give --onto "
            "OLD_KIT (the kit it was made from)"
        )
    result = unpack_mod.unpack_onto(list(kit), onto, output, archive=archive, trust=trust)
    if result.already:
        click.echo(f"ok: {result.directory} already is {record.kit.name}: nothing to do")
        return
    assert result.report is not None
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    for signer in result.signers:
        click.echo(f"signature: good, the delta's by trusted key {signer}")
    print_report(result.report)
    click.echo(f"ok: {result.describe()}")
    if result.operator_files:
        click.echo(
            f"note: not copied from {onto} (the operator's files): "
            f"{', '.join(result.operator_files)}",
            err=True,
        )
    click.echo(f"unpacked into {result.directory}")
    if result.archive is not None:
        click.echo(f"full archive: {result.archive} (sha256 {record.kit.sha256})")
