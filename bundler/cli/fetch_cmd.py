"""`bundler fetch`: a hash-locked wheelhouse for the target (never the host), with install.sh."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bundler.cli import gate_report
from bundler.cli.options import cache_dir_option, json_option, make_target, target_options
from bundler.errors import BadInput, CheckFailed, UnknownTarget

if TYPE_CHECKING:
    from bundler.models.target import Target
    from bundler.wheelhouse.fetch import FetchResult

# The library (requests, resolvelib, jinja2, the audit's yaml and pyelftools) is imported
# inside the command, so `bundler fetch --help` and a rejected option cost no more than click.

PYPI_SIMPLE = "https://pypi.org/simple/"
"""For --help only: bundler.index.client.DEFAULT_INDEX, which the run uses (a test keeps the
two equal; importing that module would load requests)."""


@click.command()
@click.argument("requirements", nargs=-1)
@click.option(
    "-r",
    "--requirement",
    "requirement_files",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Read requirements from FILE (repeatable).",
)
@target_options
@click.option(
    "--target",
    "target_specs",
    multiple=True,
    metavar="X.Y/PLATFORM[/ABI]",
    help="A target (repeatable; instead of --python/--platform/--abi): e.g. --target "
    "3.6/manylinux1 --target 3.11/manylinux2014. Several give one wheelhouse: one pool of "
    "wheels, targets/NAME/ per target, an install.sh that picks by the interpreter.",
)
@click.option(
    "--index-url",
    "index_urls",
    multiple=True,
    metavar="URL",
    help="Simple-API index: http(s), or a PEP 503/691 tree on disk as file:///DIR/ "
    f"(repeatable, first wins) [default: {PYPI_SIMPLE}].",
)
@click.option(
    "--no-index",
    is_flag=True,
    help="Ask no index: only --find-links folders and pages on disk (and the local project); "
    "no network request at all.",
)
@click.option(
    "--find-links",
    multiple=True,
    metavar="DIR_OR_URL",
    help="Also look for files in a local directory, an HTML page of links on disk (path or "
    "file: URL) or on a server (http(s)) (repeatable).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("wheelhouse"),
    show_default=True,
    help="The wheelhouse directory (replaced as a whole, only when the fetch succeeds).",
)
@cache_dir_option("Download cache")
@click.option("--offline", is_flag=True, help="Use only the cache: no network access at all.")
@click.option(
    "--build-pure",
    is_flag=True,
    help="Build a project that has only an sdist, if it turns out pure Python.",
)
@click.option(
    "--exclude",
    "exclude",
    multiple=True,
    metavar="NAME",
    help="Leave project NAME out (repeatable): not resolved nor bundled; its requirement is "
    "recorded in manifest.json and install.sh tolerates exactly it in pip check.",
)
@click.option(
    "--no-deps",
    is_flag=True,
    help="Bundle only the requirements given, none of their dependencies (recorded like "
    "--exclude).",
)
@click.option(
    "--build-python",
    "build_python",
    default=None,
    metavar="PATH|host",
    help="With --build-pure: the target's interpreter builds each sdist [default: the exact "
    "target version from pyenv or PATH; 'host' or none found: this Python, for sdists with "
    "static metadata (PEP 643) only].",
)
@click.option(
    "--jobs", type=click.IntRange(1, 64), default=8, show_default=True, help="Parallel downloads."
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1),
    default=30.0,
    show_default=True,
    help="Seconds a connect or a single network read may stall before it is retried.",
)
@click.option(
    "--deadline",
    type=click.FloatRange(0.1),
    default=120.0,
    show_default=True,
    help="Seconds a whole index page or metadata request may take (downloads get this plus "
    "one second per 32 KiB received).",
)
@click.option(
    "--retries",
    type=click.IntRange(0, 10),
    default=3,
    show_default=True,
    help="Retries of a failed network request (with backoff).",
)
@click.option(
    "--project",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=None,
    help="With no requirement: bundle this local project [default: the repo's converter/].",
)
@click.option(
    "--allow-unhashed",
    is_flag=True,
    help="Take files a remote index lists without a sha256 (warned per file; the manifest "
    'records "hash_source": "computed").',
)
@click.option(
    "--replace",
    is_flag=True,
    help="Replace an -o wheelhouse that was made for another target.",
)
@click.option("--distro", default="centos7", show_default=True, help="Audit profile.")
@click.option("--no-audit", is_flag=True, help="Skip the system-library audit at the end.")
@click.option(
    "--rehearse",
    "rehearse",
    type=click.Path(dir_okay=False, path_type=Path),
    multiple=True,
    metavar="PYTHON",
    help="Rehearse the install with this interpreter at the end; with several --target, "
    "repeatable, one per target X.Y [default: the exact target version from pyenv or PATH, "
    "when present].",
)
@click.option("--no-rehearse", is_flag=True, help="Skip the install rehearsal at the end.")
@json_option("Print the result as one JSON object on stdout instead of the summary.")
@click.option(
    "--policy",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="Policy gate (TOML: licenses, vulnerabilities, size); a violation exits 1 after the "
    "wheelhouse is written.",
)
@click.option(
    "--vuln-db",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="An OSV export zip (e.g. PyPI/all.zip) to match against, offline and reproducible "
    "[default: query the OSV API].",
)
@click.option(
    "--osv-url",
    default=None,
    metavar="URL",
    help="OSV API base URL (POST /v1/querybatch) [default: the policy's osv_url, "
    "https://api.osv.dev].",
)
def fetch_cmd(
    requirements: tuple[str, ...],
    requirement_files: tuple[Path, ...],
    python: str,
    platform: str,
    abi: str | None,
    implementation: str,
    target_specs: tuple[str, ...],
    index_urls: tuple[str, ...],
    no_index: bool,
    find_links: tuple[str, ...],
    output: Path,
    cache_dir: Path | None,
    offline: bool,
    build_pure: bool,
    exclude: tuple[str, ...],
    no_deps: bool,
    build_python: str | None,
    jobs: int,
    timeout: float,
    deadline: float,
    retries: int,
    allow_unhashed: bool,
    replace: bool,
    project: Path | None,
    distro: str,
    no_audit: bool,
    as_json: bool,
    rehearse: tuple[Path, ...],
    no_rehearse: bool,
    policy: Path | None,
    vuln_db: Path | None,
    osv_url: str | None,
) -> None:
    """Resolve and download a wheelhouse for the target into -o DIR.

    With no REQUIREMENT and no -r, bundles this repository's converter (built into a pure
    wheel on the host) and its dependency tree. DIR gets the wheels, requirements.lock
    (pip-compile format with hashes), bootstrap.lock (when the target's pip is too old for
    the chosen wheels), manifest.json, install.sh and, unless --no-audit, system-packages.yml.
    With several --target, DIR holds the wheels of every target once (a shared pool), each
    target's locks, manifest.json, install.sh and system-packages.yml in targets/NAME/, and a
    top install.sh that picks the target fitting the interpreter it is given.
    """
    from bundler.index.client import DEFAULT_INDEX
    from bundler.models.target import check_distinct
    from bundler.net.settings import NetworkSettings
    from bundler.wheelhouse.fetch import FetchOptions, fetch
    from bundler.wheelhouse.interpreters import find_interpreter

    if no_index and index_urls:
        raise click.UsageError("--no-index and --index-url exclude each other")
    if target_specs:
        _no_target_options()
        targets = tuple(_target_of(spec, implementation) for spec in target_specs)
        check_distinct(list(zip(target_specs, targets, strict=True)))  # before any output
    else:
        targets = (make_target(python, platform, abi, implementation),)
    target = targets[0]
    if not as_json:
        for one in targets:
            click.echo(f"target: {one.describe()}")
            for note in one.notes:
                click.echo(f"note: {note}")
    builder = _build_python(build_python, target.python_version) if build_pure else None
    if len(targets) > 1 and build_pure and builder is not None:
        raise BadInput(
            "--build-pure with several --target builds on the host only: add --build-python host"
        )
    if len(targets) == 1 and len(rehearse) > 1:
        raise BadInput("--rehearse: one target takes one interpreter (several: with --target)")
    rehearse_with: Path | None = None
    given: tuple[Path, ...] = ()  # several targets: the --rehearse ones, one per X.Y
    more: tuple[Path, ...] = ()  # several targets: the ones found on this machine
    if no_rehearse:
        pass
    elif len(targets) > 1:
        given = rehearse
        found = (find_interpreter(t.python_version) for t in targets)
        more = tuple(p for p in found if p is not None)
    else:
        rehearse_with = rehearse[0] if rehearse else find_interpreter(target.python_version)
    with _progress_bar() as on_progress:
        options = FetchOptions(
            target=target,
            targets=targets if len(targets) > 1 else (),
            rehearse_given=given,
            rehearse_pythons=more,
            requirements=requirements,
            requirement_files=requirement_files,
            output=output,
            index_urls=() if no_index else index_urls or (DEFAULT_INDEX,),
            find_links=find_links,
            cache_dir=cache_dir,
            network=NetworkSettings(
                timeout=timeout, deadline=deadline, retries=retries, jobs=jobs, offline=offline
            ),
            allow_unhashed=allow_unhashed,
            replace=replace,
            build_pure=build_pure,
            exclude=_names(exclude),
            no_deps=no_deps,
            build_python=builder,
            audit=not no_audit,
            distro=distro,
            project=project,
            rehearse=rehearse_with,
            policy=policy,
            vuln_db=vuln_db,
            osv_url=osv_url,
            on_progress=on_progress,
            on_step=_on_step,
        )
        result = fetch(options)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, sort_keys=True))
    else:
        for warning in result.warnings:
            click.echo(f"bundler: warning: {warning}", err=True)
        if result.targets:
            _several_summary(result, no_rehearse)
        else:
            _summary(result)
            _rehearsal_summary(result, target.python_version, no_rehearse)
        if result.gate is not None:
            gate_report.echo(result.gate)
    _rehearsal_check(result)
    if result.gate is not None:
        gate_report.fail_on_violations(result.gate, f"fetch into {result.output}")


TARGET_FORM = re.compile(
    r"(?P<python>[0-9]+\.[0-9]+(\.[0-9]+)?)/(?P<platform>[a-z0-9_]+)(/(?P<abi>[a-z0-9_]+))?"
)
"""--target's form: X.Y[.Z]/PLATFORM[/ABI] (platform and ABI spelled as in wheel tags)."""


def parse_target(spec: str) -> tuple[str, str, str | None]:
    """(python, platform, abi or None) of a --target value; BadInput (one line, exit 2) for
    another form. The values are checked by `Target.from_spec` after."""
    m = TARGET_FORM.fullmatch(spec.strip())
    if m is None:
        raise BadInput(
            f"--target {spec!r} is not X.Y/PLATFORM[/ABI] (e.g. 3.6/manylinux1, "
            "3.8/manylinux2010/cp38)"
        )
    return m["python"], m["platform"], m["abi"]


def _target_of(spec: str, implementation: str) -> Target:
    """The Target of a --target value. Its ABI must be one an interpreter reports (cpXY plus
    sys.abiflags): abi3 and none are no interpreter's, so install.sh's pick of a several-target
    wheelhouse (by the ABI its Python reports) could never fit such a target -- BadInput naming
    the accepted ABIs. (abi3 and none wheels are fetched for every target anyway:
    `Target.tags`' order.)"""
    from packaging.version import Version

    from bundler.models.target import abi_flags

    python, platform, abi = parse_target(spec)
    if abi in ("abi3", "none"):
        default = make_target(python, platform, None, implementation)
        version = Version(default.python_version)
        flags = ", ".join(abi_flags(version))
        raise BadInput(
            f"--target {spec!r}: ABI {abi} is no interpreter's (install.sh picks the target by "
            f"the ABI its Python reports); accepted: cp{version.major}{version.minor} with the "
            f"ABI flags {flags} (none given: {default.abis[0]})"
        )
    try:
        return make_target(python, platform, abi, implementation)
    except UnknownTarget as exc:
        # Target's own message offers abi3 and none, which --target refuses (above)
        message = str(exc)
        if abi is None or not message.endswith(", abi3 or none"):
            raise
        raise BadInput(f"--target {spec!r}: {message.removesuffix(', abi3 or none')}") from None


def _no_target_options() -> None:
    """--target replaces --python/--platform/--abi: giving both is a usage error."""
    ctx = click.get_current_context()
    for name in ("python", "platform", "abi"):
        source = ctx.get_parameter_source(name)
        if source is not None and source.name == "COMMANDLINE":
            raise BadInput(
                f"--target and --{name} exclude each other "
                "(give every target as --target X.Y/PLATFORM[/ABI])"
            )


def _several_summary(result: FetchResult, skipped: bool) -> None:
    """A several-target fetch: the pool, then one block per target."""
    click.echo(
        f"wheelhouse: {result.output} ({len(result.targets)} targets; pool: "
        f"{len(result.packages)} files, {_size(result.total_size)})"
    )
    click.echo(f"  manifest: {result.manifest}")
    click.echo(f"  installer: sh {result.install_sh} --python PATH [--venv DIR] (picks the target)")
    for one in result.targets:
        click.echo(f"target {one.target.name}: {one.target.describe()}")
        click.echo(f"  {len(one.app_packages)} packages; folder {one.output}")
        if one.bootstrap.needed:
            click.echo(f"  pip bootstrap: yes ({one.bootstrap.reason})")
        if one.audit is not None:
            packages = ", ".join(one.audit.system_packages) or "none"
            click.echo(f"  system packages the wheels need: {packages}")
        _rehearsal_summary(one, one.target.python_version, skipped)


def _build_python(choice: str | None, version: str) -> Path | None:
    """--build-python: a path, 'host' (None), or by default the target's interpreter if here."""
    if choice == "host":
        return None
    from bundler.wheelhouse.interpreters import check_interpreter, find_interpreter

    if choice is not None:
        warning = check_interpreter(Path(choice), version)  # BadInput for another X.Y
        if warning:
            click.echo(f"bundler: warning: {warning}", err=True)
        return Path(choice)

    return find_interpreter(version)


def _not_imported(wheels: list[str]) -> str:
    if not wheels:
        return ""
    return f"; not imported (they need excluded requirements): {', '.join(wheels)}"


def _rehearsal_summary(result: FetchResult, version: str, skipped: bool) -> None:
    """One line on the rehearsal (its problems are raised by `_rehearsal_check`)."""
    rehearsal = result.rehearsal
    if rehearsal is None and skipped:
        click.echo("  rehearsal: skipped (--no-rehearse)")
    elif rehearsal is None:
        click.echo(f"  rehearsal: skipped (no CPython {version} here; --rehearse PYTHON)")
    elif rehearsal.skipped:
        click.echo(f"  rehearsal: skipped ({rehearsal.skipped}; --rehearse PYTHON)")
    elif not rehearsal.problems:
        reused = " (reused: a passed rehearsal of the same inputs)" if rehearsal.reused else ""
        click.echo(
            f"  rehearsal ({rehearsal.python}, {rehearsal.offline}): installed offline, "
            f"{len(rehearsal.imported)} module(s) imported"
            + _not_imported(rehearsal.not_imported)
            + reused
        )


def _rehearsal_check(result: FetchResult) -> None:
    """The rehearsal's problems fail the command (exit 1; the wheelhouse is kept)."""
    for rehearsal in result.rehearsals:
        if rehearsal.problems:
            raise CheckFailed(
                f"{result.output}: the install rehearsal with {rehearsal.python} failed "
                "(the wheelhouse is written; fix it or fetch again)",
                rehearsal.problems,
            )


fetch_cmd.name = "fetch"


def _names(names: tuple[str, ...]) -> tuple[str, ...]:
    """--exclude values as canonical project names (BadParameter for a malformed one)."""
    from packaging.utils import canonicalize_name

    out = []
    for name in names:
        if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?", name):
            raise click.BadParameter(f"{name!r} is not a project name", param_hint="--exclude")
        out.append(canonicalize_name(name))
    return tuple(sorted(set(out)))


def _on_step(message: str) -> None:
    if sys.stderr.isatty():
        click.echo(f"... {message}", err=True)


@contextmanager
def _progress_bar() -> Iterator[Callable[[int, int], None] | None]:
    """A tqdm byte counter on stderr, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    bar: Any = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="B", unit_scale=True, desc="download", leave=False)
        bar.total = max(total, done)
        bar.n = done
        bar.refresh()

    try:
        yield update
    finally:
        if bar is not None:
            bar.close()


def _summary(result: FetchResult) -> None:
    from bundler.models.manifest import Role

    app = result.app_packages
    boot = [p for p in result.packages if p.role is Role.BOOTSTRAP]
    click.echo(f"{len(app)} packages for {', '.join(result.roots)}")
    click.echo(f"total size: {_size(result.total_size)} in {len(result.packages)} files")
    if result.bootstrap.needed:
        versions = ", ".join(f"{p.name} {p.version}" for p in boot)
        click.echo(f"pip bootstrap: yes ({versions}): {result.bootstrap.reason}")
    else:
        click.echo(f"pip bootstrap: no ({result.bootstrap.reason})")
    click.echo(f"wheelhouse: {result.output} (for {result.target.describe()})")
    click.echo(f"  lock: {result.requirements_lock}")
    click.echo(f"  pylock.toml (PEP 751, for other tools): {result.pylock}")
    if result.bootstrap_lock is not None:
        click.echo(f"  bootstrap lock: {result.bootstrap_lock}")
    click.echo(f"  manifest: {result.manifest}")
    for e in result.excluded:
        who = f"required by {e.required_by}" if e.required_by else "a requirement given"
        click.echo(f"  excluded: {e.name}{e.specifier} ({who}; {e.reason}): not in the wheelhouse")
    click.echo(f"  installer: sh {result.install_sh} [--python PATH] [--venv DIR]")
    if result.audit is not None:
        _audit_summary(result)


def _audit_summary(result: FetchResult) -> None:
    from bundler.audit.report import SYSTEM_PACKAGES_FILE, capability

    report = result.audit
    assert report is not None
    packages = ", ".join(report.system_packages) or "none"
    click.echo(f"  audit ({report.profile.name}): {result.output / SYSTEM_PACKAGES_FILE}")
    click.echo(f"    system packages the wheels need: {packages}")
    if report.unmapped:
        click.echo(f"    sonames no package is known for: {', '.join(report.unmapped)}")
        click.echo(
            "    (the wheels role still installs them on RedHat hosts by RPM capability, "
            f"e.g. {capability(report.unmapped[0], report.profile.machine)})"
        )
    for problem in report.problems(strict=False):
        click.echo(f"    problem: {problem}")


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"
