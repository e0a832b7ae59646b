"""`bundler verify KIT|DIR`: offline checks of a kit archive, an unpacked kit or a wheelhouse."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bundler.cli import gate_report
from bundler.cli.options import FreshnessArgs, make_trust, one_line, trust_options

if TYPE_CHECKING:
    from bundler.kit import trust as trust_mod
    from bundler.kit import verify as verify_mod

# bundler.kit.verify, bundler.kit.unpack, bundler.kit.signing and the policy gate are imported
# inside the command.


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
@click.option(
    "--onto",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    metavar="OLD_KIT",
    help="KIT is a delta kit: assemble it onto this old kit (its directory or archive) in a "
    "temporary place and verify the full kit (use `bundler unpack` to keep it).",
)
@trust_options
def verify(
    kit: tuple[Path, ...],
    unpack_to: Path | None,
    rehearse: Path | None,
    onto: Path | None,
    keys: tuple[Path, ...],
    policy: Path | None,
    as_of: datetime | None,
    freshness: FreshnessArgs,
) -> None:
    """Verify KIT (kit-NAME.tar.gz, its .part000 or all its parts) or an unpacked DIR, offline.

    Checks every checksum, every wheel's tags against the target, that the lock and the
    manifest agree, and that the dependency closure is complete for the target's markers;
    with --key, the signatures; with --policy, the policy gate on the carried findings.
    In an unpacked kit, the files its README.txt has the operator create
    (inventory/hosts.ini, inventory/host_vars/, inventory/group_vars/, .vagrant/) are listed
    as operator files and do not fail. A delta kit (kit-NAME.delta.tar.gz) is checked on its
    own, or with --onto assembled and checked as the full kit. Exit 0 when clean, 1 listing
    each bad file, 2 when the input is not a kit or a delta's base is not OLD_KIT.
    """
    from bundler.kit import verify as verify_mod

    trust = make_trust(keys, policy, as_of, freshness)
    paths = list(kit)
    if _is_delta(paths):
        if unpack_to is not None or rehearse is not None:
            raise click.UsageError(
                "a delta kit is unpacked by `bundler unpack DELTA --onto OLD_KIT`; verify "
                "--unpack/--rehearse the kit it assembles"
            )
        if onto is None and policy is not None:
            raise click.UsageError("--policy judges the kit a delta assembles: add --onto OLD_KIT")
        fresh = freshness.min_sequence is not None or freshness.not_before is not None
        if onto is None and (fresh or freshness.state is not None):
            raise click.UsageError(
                "--min-sequence/--not-before/--state check the release of the kit a delta "
                "assembles: add --onto OLD_KIT"
            )
        _verify_delta(paths, onto, trust)
        return
    if onto is not None:
        raise click.UsageError("--onto is for a delta kit (kit-NAME.delta.tar.gz)")
    try:
        report = verify_mod.verify(paths, unpack_to=unpack_to, rehearse=rehearse, trust=trust)
    except verify_mod.VerifyFailed as failed:  # the gate's warnings, then the problems
        for warning in failed.report.gate.warnings if failed.report.gate else []:
            click.echo(f"warning: {one_line(warning)}", err=True)
        raise
    print_report(report)
    if unpack_to is not None:
        click.echo(f"unpacked into {unpack_to}")


def print_report(report: verify_mod.Report) -> None:
    """Notes on stderr, then the signers, the gate's verdict and the `ok:` lines."""
    for note in report.notes:
        click.echo(f"note: {one_line(note)}", err=True)
    if report.operator_files:
        shown = ", ".join(report.operator_files)
        click.echo(f"operator files (not part of the kit): {shown}")
    for signer in report.signers:
        click.echo(f"signature: good, by trusted key {signer}")
    if report.gate is not None:
        gate_report.echo(report.gate)
    # a pass never says "0 checksummed files": only an older bundler's wheelhouse (manifest
    # schema_version 1) may have no SHA256SUMS (bundler.kit.trust.missing_sums)
    checked = (
        f"{report.files} checksummed files"
        if report.files
        else "no SHA256SUMS (an older bundler's wheelhouse: checked against its manifest only)"
    )
    click.echo(
        f"ok: {report.name} ({report.kind}): {checked}, {report.wheels} wheels for {report.target}"
    )
    if report.controller:
        click.echo(f"ok: controller: {report.controller}")
    if report.controller_bootstrap:
        click.echo(f"ok: controller bootstrap: {report.controller_bootstrap}")


def _is_delta(paths: list[Path]) -> bool:
    if len(paths) == 1 and paths[0].is_dir():
        return False
    from bundler.kit import archive as kitarchive
    from bundler.kit import unpack as unpack_mod

    return unpack_mod.read_record(kitarchive.parts_of(paths)) is not None


def _verify_delta(paths: list[Path], onto: Path | None, trust: trust_mod.Trust) -> None:
    from bundler.kit import unpack as unpack_mod

    if onto is None:
        checked = unpack_mod.check_delta(paths, trust=trust)
        for note in checked.notes:
            click.echo(f"note: {one_line(note)}", err=True)
        for signer in checked.signers:
            click.echo(f"signature: good, by trusted key {signer}")
        click.echo(f"ok: {checked.delta} (delta kit): {checked.describe()}")
        return
    assembled = unpack_mod.verify_onto(paths, onto, trust=trust)
    assert assembled.report is not None
    for note in assembled.notes:
        click.echo(f"note: {one_line(note)}", err=True)
    for signer in assembled.signers:
        click.echo(f"signature: good, the delta's by trusted key {signer}")
    assembled.report.kind = f"assembled from {assembled.delta} onto {onto}"
    print_report(assembled.report)
    click.echo(f"ok: {assembled.describe()}")
    click.echo(
        f"ok: it packs to {assembled.record.kit.archive}, sha256 {assembled.record.kit.sha256}"
    )
