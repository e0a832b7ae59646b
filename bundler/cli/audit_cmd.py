"""`bundler audit`: which system packages a wheelhouse needs on the target, as tables."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bundler.cli.options import cache_dir_option, json_option
from bundler.errors import CheckFailed
from bundler.policy.tables import load_json

if TYPE_CHECKING:
    from bundler.audit.report import AuditReport

# bundler.audit.report (yaml, pyelftools) is imported inside the command: --help stays cheap.


def known_distros() -> list[str]:
    """The --distro choices: bundler.audit.report.known_distros() without importing the audit
    (the same data file, bundler/data/distros.json; a test keeps the two equal)."""
    return sorted(load_json("distros.json")["profiles"])


@click.command()
@click.argument(
    "directory",
    type=click.Path(path_type=Path, file_okay=True, dir_okay=True),
    default="wheelhouse",
)
@click.option(
    "--distro",
    default="centos7",
    show_default=True,
    type=click.Choice(known_distros()),
    help="Target distro profile (system package names, glibc/libstdc++ ceilings).",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Exit 1 when a soname maps to no package or a wheel cannot load on the distro.",
)
@json_option("Print the audit record as JSON.")
@cache_dir_option("Where parsed ELF facts are kept by wheel sha256")
@click.option("--no-cache", is_flag=True, help="Parse every wheel again; write no cache.")
def audit(
    directory: Path,
    distro: str,
    strict: bool,
    as_json: bool,
    cache_dir: Path | None,
    no_cache: bool,
) -> None:
    """Find the system libraries DIR's wheels need and the distro packages that provide them.

    Writes DIR/system-packages.yml (read by the playbooks) and, when DIR has a manifest.json,
    its "audit" section.
    """
    from bundler.audit import report as audit_lib
    from bundler.fs.cache import Cache

    report = audit_lib.run(directory, distro, cache=None if no_cache else Cache(cache_dir))
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo(render(report))
    if strict:
        problems = report.problems(strict=True)
        if problems:
            raise CheckFailed(f"audit found {len(problems)} problem(s) for {distro}", problems)
    else:
        for problem in report.problems(strict=True):
            click.echo(f"warning: {problem}", err=True)


def render(report: AuditReport) -> str:
    """The human-readable audit: needs per wheel, wheels per package, symbol versions."""
    from bundler.audit import report as audit_lib

    prof = report.profile
    lines = [
        f"audit of {report.directory} ({len(report.wheels)} wheels) for {prof.name}: "
        f"{prof.description}",
        "",
    ]
    needs_rows: list[Sequence[str]] = []
    for wheel in report.wheels:
        if not wheel.needs:
            needs_rows.append((wheel.filename, "-", "(no system libraries)"))
        for i, (soname, pkg) in enumerate(sorted(wheel.needs.items())):
            needs_rows.append(("" if i else wheel.filename, soname, pkg or "UNMAPPED"))
    lines += _table(("WHEEL", "NEEDS SONAME", f"{prof.name.upper()} PACKAGE"), needs_rows)
    pulled = report.pulled_by
    if pulled:
        lines += [
            "",
            *_table(("PACKAGE", "PULLED IN BY"), [(p, ", ".join(w)) for p, w in pulled.items()]),
        ]
    version_rows = [
        (
            w.filename,
            *(w.symbol_versions.get(fam, "-") for fam in audit_lib.FAMILIES),
            "yes" if w.loadable else "NO",
        )
        for w in report.wheels
    ]
    ceilings = (".".join(str(x) for x in prof.symbol_versions[f]) for f in audit_lib.FAMILIES)
    version_rows.append((f"({prof.name} provides up to)", *ceilings, ""))
    lines += ["", *_table(("WHEEL", *audit_lib.FAMILIES, "LOADS"), version_rows)]
    lines += [
        "",
        f"system packages for {prof.name}: {' '.join(report.system_packages) or '(none)'}",
    ]
    for family, pkgs in report.packages_by_family().items():
        lines.append(f"  {family}: {' '.join(pkgs) or '(none)'}")
    for family, capabilities in report.capabilities_by_family().items():
        if capabilities:
            lines.append(f"  {family}, by RPM capability: {' '.join(capabilities)}")
    if report.unmapped:
        lines.append(f"unmapped sonames: {' '.join(report.unmapped)}")
    provided = sorted(
        {(s, w) for wheel in report.wheels for s, w in wheel.provided_by_wheels.items()}
    )
    if provided:
        lines.append(
            "provided by other wheels here: "
            + ", ".join(f"{soname} ({wheel})" for soname, wheel in provided)
        )
    lines += [f"note: {note}" for note in report.notes]
    wrote = f"wrote {report.directory / audit_lib.SYSTEM_PACKAGES_FILE}"
    if (report.directory / "manifest.json").exists():
        wrote += ' and the "audit" section of manifest.json'
    lines.append(wrote)
    return "\n".join(lines)


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    return [
        "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    ]
