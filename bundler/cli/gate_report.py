"""Printing the policy gate's verdict (fetch, pack, verify share it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from bundler.cli.options import one_line
from bundler.errors import CheckFailed

if TYPE_CHECKING:  # the gate's libraries load only when a command evaluates a policy
    from bundler.gate.evaluate import GateResult


def echo(result: GateResult) -> None:
    """One summary line on stdout, each warning on stderr."""
    db = result.database
    where = f"; database {db.kind} {db.source}, {db.date}" if db and db.kind != "none" else ""
    accepted = sum(1 for v in result.vulnerabilities if v.status == "ignored")
    click.echo(
        f"policy: {result.policy.source} as of {result.today}: "
        f"{len(result.violations)} violation(s), {len(result.vulnerabilities)} known "
        f"vulnerabilit{'y' if len(result.vulnerabilities) == 1 else 'ies'} ({accepted} ignored), "
        f"{len(result.unknown_licenses)} unknown license(s){where}"
    )
    for warning in result.warnings:
        click.echo(f"warning: {one_line(warning)}", err=True)


def fail_on_violations(result: GateResult, what: str) -> None:
    """CheckFailed (exit 1) listing each violation, when there are any."""
    if result.violations:
        raise CheckFailed(
            f"{what}: {len(result.violations)} policy violation(s)", list(result.violations)
        )
