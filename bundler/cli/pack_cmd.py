"""`bundler pack`: the wheelhouse, sources, playbooks and Vagrantfile as one checksummed kit."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from bundler.cli import gate_report
from bundler.cli.options import policy_option

if TYPE_CHECKING:
    from bundler.kit import delta as delta_mod
    from bundler.models.delta import BaseRecord

# bundler.kit.pack, bundler.kit.delta, bundler.kit.signing and bundler.gate (jinja2, yaml, the
# SBOM library, the policy gate) are imported inside the command.

CONTROLLER_DIR = Path("controller-wheelhouse")
"""For --help and the default only: bundler.kit.controller.DEFAULT_DIR (a test keeps the two
equal; `bundler pack --help` imports click alone)."""
BOOTSTRAP_DIR = Path("controller-bootstrap-wheelhouse")
"""bundler.kit.controller.BOOTSTRAP_DIR, likewise."""

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
    "--controller-bootstrap-wheelhouse",
    type=_DIR,
    default=None,
    help="ansible-core 2.11 for CentOS 7's python3, from `bundler fetch-controller "
    "--bootstrap`, packed as controller/bootstrap/ with controller/bootstrap.sh [default: "
    f"{BOOTSTRAP_DIR} next to --wheelhouse, when it exists].",
)
@click.option(
    "--no-controller-bootstrap",
    is_flag=True,
    help="Pack no controller bootstrap (the controller already has CPython 3.10-3.12).",
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
@click.option(
    "--sign",
    "sign_keys",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Secret key (bundler keygen; OpenPGP or minisign) signing SHA256SUMS and the "
    "archive's .sha256 (repeatable: one key per format). With --base, the delta is signed too.",
)
@click.option(
    "--passphrase-file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="Passphrase of a protected OpenPGP secret key (first line of FILE).",
)
@policy_option(
    "Policy gate: re-evaluate the wheelhouse's carried findings (and the kit's size); a "
    "violation exits 1 and leaves no kit."
)
@click.option(
    "--sequence",
    type=click.IntRange(0, 2**63 - 1),
    default=None,
    help="The kit's place in its series, recorded in kit-release.json (signed with the kit); "
    "the far side refuses a lower one (verify --min-sequence / --state) "
    "[default with --sign: the creation time in seconds].",
)
@click.option(
    "--base",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    metavar="OLD_KIT_OR_SUMS",
    help="Also write a delta kit (kit-NAME.delta.tar.gz) carrying only the files this old kit "
    "lacks: its archive, its unpacked directory, or its SHA256SUMS.",
)
def pack(
    wheelhouse: Path,
    sources_dir: Path,
    playbooks: Path,
    vagrantfile: Path,
    controller_wheelhouse: Path | None,
    no_controller: bool,
    controller_bootstrap_wheelhouse: Path | None,
    no_controller_bootstrap: bool,
    output: Path | None,
    split: str | None,
    sign_keys: tuple[Path, ...],
    passphrase_file: Path | None,
    policy: Path | None,
    sequence: int | None,
    base: Path | None,
) -> None:
    """Pack one reproducible kit-NAME.tar.gz with SHA256SUMS, an SBOM and a README.txt.

    With --sign, the kit is signed too (SHA256SUMS.asc inside, kit-NAME.tar.gz.sha256.asc
    beside it); signatures carry a time, so a signed kit is reproducible except for them.
    With --base, also a delta kit beside it for hosts that have the old kit: `bundler unpack
    kit-NAME.delta.tar.gz --onto OLD_KIT` assembles this very kit there.
    """
    from bundler.gate import policy as gate_policy
    from bundler.kit import delta as delta_mod
    from bundler.kit import pack as pack_mod
    from bundler.kit import signing

    split_size = pack_mod.parse_size(split) if split else None
    if controller_wheelhouse is None:
        controller_wheelhouse = wheelhouse.parent / CONTROLLER_DIR
    keys = [signing.load_key(k, passphrase_file) for k in sign_keys]
    rules = gate_policy.load(policy) if policy else None
    if output is None:
        output = Path(pack_mod.default_name(wheelhouse) + pack_mod.SUFFIX)
    controller = None if no_controller else controller_wheelhouse
    bootstrap = _bootstrap_dir(
        wheelhouse, controller_bootstrap_wheelhouse, no_controller or no_controller_bootstrap
    )
    inputs = pack_mod.PackInputs(
        wheelhouse,
        playbooks,
        sources_dir=sources_dir,
        vagrantfile=vagrantfile,
        controller_wheelhouse=controller,
        controller_bootstrap=bootstrap,
        sign=tuple(keys),
        policy=rules,
        sequence=sequence,
    )
    delta = None
    if base is not None:
        delta = delta_mod.pack_with_base(base, inputs, output, split_size)
        result = delta.full
    else:
        result = pack_mod.pack(inputs, output, split_size)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    where = [str(p) for p in result.parts] or [str(result.archive)]
    click.echo(f"packed {result.files} files into {', '.join(where)}")
    click.echo(f"sha256 {result.sha256}  ({result.size} bytes, recorded in {result.checksum_file})")
    if result.controller is not None:
        click.echo(f"controller: {result.controller.describe()}")
    else:
        click.echo("controller: NONE (--no-controller: bring ansible-core 2.16 another way)")
    if result.controller_bootstrap is not None:
        click.echo(f"controller bootstrap: {result.controller_bootstrap.describe()}")
    elif result.controller is not None:
        click.echo(
            "controller bootstrap: NONE (a controller without CPython "
            f"{result.controller.target.short_version} builds it another way; `bundler "
            "fetch-controller --bootstrap` adds it)"
        )
    for signature, signer in zip(result.signatures, result.signers, strict=True):
        click.echo(f"signed: {signature} (and SHA256SUMS inside) by {signer}")
    if result.gate is not None:
        gate_report.echo(result.gate)
    if result.pythons:  # several targets: each one's
        for name, python in result.pythons.items():
            shown = f"sources/{python.filename}" if python else "NONE (its hosts must have it)"
            click.echo(f"CPython source of target {name}: {shown}")
    elif result.python_source:
        click.echo(f"CPython source: sources/{result.python_source}")
    else:
        click.echo("CPython source: NONE (the target must already have the interpreter)")
    if delta is not None:
        _delta_summary(delta)


def _bootstrap_dir(wheelhouse: Path, given: Path | None, skip: bool) -> Path | None:
    """--controller-bootstrap-wheelhouse: the given one (pack refuses it when missing), else
    BOOTSTRAP_DIR next to --wheelhouse when it exists; None with --no-controller(-bootstrap)."""
    if skip:
        return None
    if given is not None:
        return given
    default = wheelhouse.parent / BOOTSTRAP_DIR
    return default if default.is_dir() else None


def base_words(base: BaseRecord) -> str:
    """'the base kit-NAME (SHA256SUMS sha256 ...)', or 'the base kit (...)' for a base given
    by its SHA256SUMS alone, which names no kit (#16 second review 10: 'the base the base kit')."""
    described = base.describe()
    return described if described.startswith("the base kit") else f"the base {described}"


def _delta_summary(delta: delta_mod.DeltaResult) -> None:
    from bundler.kit.delta import format_size

    record, written = delta.record, delta.delta
    where = [str(p) for p in written.parts] or [str(written.archive)]
    carried = record.carried
    click.echo(
        f"delta kit: {', '.join(where)}: {len(carried)} of {len(record.files)} files carried "
        f"({format_size(delta.carried_bytes)}), {len(record.from_base)} taken from "
        f"{base_words(record.base)}"
    )
    click.echo(
        f"sha256 {written.sha256}  ({written.size} bytes, recorded in {written.checksum_file})"
    )
    for signature in written.signatures:
        click.echo(f"signed: {signature} (the delta's .sha256)")
    click.echo(f"size: {delta.describe_saving()}")
