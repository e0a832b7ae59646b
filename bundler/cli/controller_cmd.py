"""`bundler fetch-controller`: ansible-core 2.16 for the controller's Python, for `bundler pack`;
with --bootstrap, ansible-core 2.11 for CentOS 7's python3 (which builds that Python)."""

from __future__ import annotations

from pathlib import Path

import click

from bundler.cli.fetch_cmd import PYPI_SIMPLE
from bundler.cli.options import cache_dir_option
from bundler.cli.pack_cmd import BOOTSTRAP_DIR, CONTROLLER_DIR

# bundler.kit.controller_fetch (the whole fetch pipeline) is imported inside the command.


@click.command("fetch-controller")
@click.option(
    "--bootstrap",
    is_flag=True,
    help="Fetch the bootstrap instead: ansible-core 2.11 for CentOS 7's python3 (CPython "
    f"3.6.8, manylinux2014) into {BOOTSTRAP_DIR}, which builds the controller's Python on a "
    "controller that has none (pack adds it as controller/bootstrap/).",
)
@click.option(
    "--controller-python",
    default=None,
    help="The controller's CPython, X.Y or X.Y.Z, one of those ansible-core 2.16 runs on "
    "(3.10-3.12) [default: 3.11; with --bootstrap: 3.6 only, default 3.6.8].",
)
@click.option(
    "--controller-platform",
    default=None,
    help="The controller's platform ceiling, as fetch's --platform [default: manylinux2014, "
    "i.e. glibc 2.17: CentOS 7 and newer].",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="The controller wheelhouse (replaced as a whole, only when the fetch succeeds) "
    f"[default: {CONTROLLER_DIR}; with --bootstrap: {BOOTSTRAP_DIR}].",
)
@click.option(
    "--build-python",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    metavar="PATH",
    help="With --bootstrap: a CPython 3.6 that builds ansible-core 2.11 (an sdist only) for "
    "the target [default: the exact target version from pyenv or PATH].",
)
@click.option(
    "--index-url",
    "index_urls",
    multiple=True,
    metavar="URL",
    help=f"Simple-API index (repeatable, first wins) [default: {PYPI_SIMPLE}].",
)
@click.option("--find-links", multiple=True, metavar="DIR_OR_URL", help="As for fetch.")
@cache_dir_option("Download cache (shared with fetch)")
@click.option("--offline", is_flag=True, help="Use only the cache: no network access at all.")
def fetch_controller(
    bootstrap: bool,
    controller_python: str | None,
    controller_platform: str | None,
    output: Path | None,
    build_python: Path | None,
    index_urls: tuple[str, ...],
    find_links: tuple[str, ...],
    cache_dir: Path | None,
    offline: bool,
) -> None:
    """Fetch ansible-core 2.16.x and its dependencies for the Ansible controller into -o DIR.

    The same pipeline as `bundler fetch` (hash-locked wheels, requirements.lock, manifest.json,
    install.sh, audit), for the controller's interpreter instead of the hosts'. `bundler pack`
    puts DIR into the kit as controller/wheelhouse/ with controller/setup.sh.
    With --bootstrap: ansible-core 2.11.x for CentOS 7's python3 3.6 (its sdist built by a
    CPython 3.6, --build-python), packed as controller/bootstrap/ with controller/bootstrap.sh.
    """
    from bundler.errors import BadInput
    from bundler.index.client import DEFAULT_INDEX
    from bundler.kit import controller, controller_fetch
    from bundler.wheelhouse.interpreters import check_interpreter, find_interpreter

    rules = controller.bootstrap_policy() if bootstrap else controller.policy()
    target = controller.controller_target(controller_python, controller_platform, rules)
    if build_python is not None and not bootstrap:
        raise BadInput("--build-python is for --bootstrap only (ansible-core 2.16 ships wheels)")
    if bootstrap:
        if build_python is None:
            build_python = find_interpreter(target.python_version)
        if build_python is None:
            raise BadInput(
                f"--bootstrap: {rules.ansible_core} is published as an sdist only: give "
                f"--build-python PATH, a CPython {target.short_version}, to build it for the "
                f"target (none of {target.python_version} found in pyenv or on PATH)"
            )
        warning = check_interpreter(build_python, target.python_version)  # BadInput: other X.Y
        if warning:
            click.echo(f"bundler: warning: {warning}", err=True)
    if output is None:
        output = BOOTSTRAP_DIR if bootstrap else CONTROLLER_DIR
    what = "controller bootstrap" if bootstrap else "controller"
    click.echo(f"{what} target: {target.describe()}")
    for note in target.notes:
        click.echo(f"note: {note}")
    result = controller_fetch.fetch_wheelhouse(
        output,
        target,
        index_urls=index_urls or (DEFAULT_INDEX,),
        find_links=find_links,
        cache_dir=cache_dir,
        offline=offline,
        rules=rules,
        build_python=build_python,
    )
    info = controller.ControllerInfo.from_directory(result.output)
    option = "--controller-bootstrap-wheelhouse" if bootstrap else "--controller-wheelhouse"
    click.echo(f"{what} wheelhouse: {info.describe()}")
    click.echo(f"  {result.output} (bundler pack {option} {result.output})")
    for pkg in sorted(result.app_packages, key=lambda p: p.name.lower()):
        click.echo(f"  {pkg.name}=={pkg.version}")
