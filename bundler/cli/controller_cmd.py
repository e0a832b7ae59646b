"""`bundler fetch-controller`: ansible-core 2.16 for the controller's Python, for `bundler pack`."""

from __future__ import annotations

from pathlib import Path

import click

from bundler.cli.fetch_cmd import PYPI_SIMPLE
from bundler.cli.options import cache_dir_option
from bundler.cli.pack_cmd import CONTROLLER_DIR

# bundler.kit.controller_fetch (the whole fetch pipeline) is imported inside the command.


@click.command("fetch-controller")
@click.option(
    "--controller-python",
    default=None,
    help="The controller's CPython, X.Y or X.Y.Z, one of those ansible-core 2.16 runs on "
    "(3.10-3.12) [default: 3.11].",
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
    default=CONTROLLER_DIR,
    show_default=True,
    help="The controller wheelhouse (replaced as a whole, only when the fetch succeeds).",
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
    controller_python: str | None,
    controller_platform: str | None,
    output: Path,
    index_urls: tuple[str, ...],
    find_links: tuple[str, ...],
    cache_dir: Path | None,
    offline: bool,
) -> None:
    """Fetch ansible-core 2.16.x and its dependencies for the Ansible controller into -o DIR.

    The same pipeline as `bundler fetch` (hash-locked wheels, requirements.lock, manifest.json,
    install.sh, audit), for the controller's interpreter instead of the hosts'. `bundler pack`
    puts DIR into the kit as controller/wheelhouse/ with controller/setup.sh.
    """
    from bundler.index.client import DEFAULT_INDEX
    from bundler.kit import controller, controller_fetch

    target = controller.controller_target(controller_python, controller_platform)
    click.echo(f"controller target: {target.describe()}")
    for note in target.notes:
        click.echo(f"note: {note}")
    result = controller_fetch.fetch_wheelhouse(
        output,
        target,
        index_urls=index_urls or (DEFAULT_INDEX,),
        find_links=find_links,
        cache_dir=cache_dir,
        offline=offline,
    )
    info = controller.ControllerInfo.from_directory(result.output)
    click.echo(f"controller wheelhouse: {info.describe()}")
    click.echo(f"  {result.output} (bundler pack --controller-wheelhouse {result.output})")
    for pkg in sorted(result.app_packages, key=lambda p: p.name.lower()):
        click.echo(f"  {pkg.name}=={pkg.version}")
