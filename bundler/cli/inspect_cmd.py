"""`bundler inspect KIT`: what a kit holds, read from the archive stream (nothing unpacked)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bundler.cli import gate_report
from bundler.cli.options import json_option, policy_option
from bundler.errors import CheckFailed

# bundler.kit.info (jinja2, yaml, the SBOM library) and the policy gate are imported inside the
# command.


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
    not match its schema, an unsafe archive member, ...), each problem on its own line.
    """
    from bundler.gate import policy as gate_policy
    from bundler.kit import info as kitinfo

    info = kitinfo.read(list(kit))
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
