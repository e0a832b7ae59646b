"""`bundler inspect KIT`: what a kit holds, read from the archive stream (nothing unpacked)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bundler.cli import gate_report
from bundler.cli.options import json_option, one_line, policy_option
from bundler.errors import CheckFailed

if TYPE_CHECKING:
    from bundler.models.delta import Delta

# bundler.kit.info (jinja2, yaml, the SBOM library), the policy gate and bundler.kit.unpack are
# imported inside the command.


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
@policy_option(
    "Evaluate the carried findings with this policy [default: the policy recorded at fetch]."
)
def inspect_kit(
    kit: tuple[Path, ...], html: Path | None, as_json: bool, policy: Path | None
) -> None:
    """Show KIT's contents, target, Python version, package counts and system packages.

    With the policy gate's verdict on the findings it carries (the carried policy, or --policy).

    Exit 0, or 1 after the summary when part of the kit is unusable (a manifest.json that does
    not match its schema, an unsafe archive member, ...), each problem on its own line. A delta
    kit (from `pack --base`) is summarised from its DELTA.json: the kit it assembles, its base,
    what it carries; its members are checked as `verify DELTA` checks them (exit 1 likewise).
    """
    paths = list(kit)
    if len(paths) == 1 and _is_wheelhouse(paths[0]):
        raise click.UsageError(
            f"{paths[0]} is a wheelhouse (bundler fetch -o), not a kit: `bundler verify "
            f"{paths[0]}` checks it, `bundler pack --wheelhouse {paths[0]}` makes a kit of it"
        )
    record = None
    if not (len(paths) == 1 and paths[0].is_dir()):  # a directory is never a delta
        from bundler.kit import archive as kitarchive
        from bundler.kit import unpack as unpack_mod

        record = unpack_mod.read_record(kitarchive.parts_of(paths))
    if record is not None:
        if html is not None:
            raise click.UsageError("a delta kit has no report: inspect the kit it assembles")
        problems = _delta_problems(paths)
        _delta_summary(record, as_json, problems)
        if problems:
            name = kitarchive.archive_name(kitarchive.parts_of(paths))
            raise CheckFailed(f"{name}: {len(problems)} problem(s)", problems)
        return
    from bundler.gate import policy as gate_policy
    from bundler.kit import info as kitinfo

    info = kitinfo.read(paths)
    gate = info.evaluate_gate(gate_policy.load(policy) if policy else None)
    if as_json:
        click.echo(json.dumps(info.summary(), indent=2, sort_keys=True))
    else:
        for line in info.lines():
            click.echo(line)
        if gate is not None:
            gate_report.echo(gate)
            for violation in gate.violations:
                click.echo(f"  violation: {violation}")
    if html is not None:
        kitinfo.write_html(info, html, gate)
        click.echo(f"wrote {html}", err=True)
    if info.warnings:
        raise CheckFailed(f"{info.name}: {len(info.warnings)} problem(s)", info.warnings)


def _is_wheelhouse(path: Path) -> bool:
    """PATH is a directory holding a wheelhouse this kit wrote (its manifest.json at the top,
    `bundler.wheelhouse.output.recognise_wheelhouse`), not an unpacked kit (wheelhouse/ inside:
    #16 second review finding 12)."""
    if not path.is_dir() or (path / "wheelhouse").is_dir():
        return False
    from bundler.wheelhouse.output import NotAWheelhouse, recognise_wheelhouse

    try:
        recognise_wheelhouse(path)
    except NotAWheelhouse:
        return False
    return True


def _delta_problems(paths: list[Path]) -> list[str]:
    """What `bundler verify DELTA` finds in the delta itself (an unsafe or truncated member,
    a member not in DELTA.json or not its bytes, its own .sha256): inspect said nothing and
    exited 0 although its --help promises exit 1 for an unsafe member (#16 fresh review,
    finding 5). No signature is asked for (no keys: a note only, as for a full kit)."""
    from bundler.kit import unpack as unpack_mod

    try:
        unpack_mod.check_delta(paths)
    except CheckFailed as failed:
        return list(failed.problems)
    return []


def _delta_summary(record: Delta, as_json: bool, problems: list[str]) -> None:
    from bundler.kit.delta import format_size as size

    carried, base = record.carried, record.from_base
    if as_json:
        doc = {
            "delta": True,
            "kit": record.to_dict()["kit"],
            "base": record.to_dict()["base"],
            "carried": {"files": len(carried), "bytes": sum(f.size for f in carried)},
            "from_base": {"files": len(base), "bytes": sum(f.size for f in base)},
            "carried_files": [f.path for f in carried],
            "warnings": problems,
        }
        click.echo(json.dumps(doc, indent=2, sort_keys=True))
        return
    kit = record.kit
    click.echo(f"delta kit for: {kit.name} ({kit.archive}, {size(kit.size)}, sha256 {kit.sha256})")
    click.echo(f"base: {record.base.describe()}")
    if record.base.archive_sha256:
        click.echo(f"base archive sha256: {record.base.archive_sha256}")
    click.echo(f"carried: {len(carried)} files ({size(sum(f.size for f in carried))})")
    for f in carried:
        click.echo(f"  {f.path}")
    click.echo(f"from the base: {len(base)} files ({size(sum(f.size for f in base))})")
    for problem in problems:
        click.echo(f"warning: {one_line(problem)}")
