"""The controller part of a kit for `bundler pack`: the wheelhouse read (never fetched) and
controller/setup.sh rendered from `templates/controller-setup.sh.j2`.

What the part must hold comes from `bundler.kit.controller` (policy, `ControllerInfo`); this
module adds the rendering (jinja2, `bundler.kit.templates`), which only pack needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bundler import __version__
from bundler.errors import BadInput
from bundler.kit.controller import REQUIRED_FILES, ControllerInfo, policy
from bundler.kit.templates import shell_template


@dataclass(frozen=True)
class ControllerPart:
    """The controller part of a kit about to be packed."""

    directory: Path
    """The controller wheelhouse on disk (goes to controller/wheelhouse/)."""
    info: ControllerInfo
    setup_sh: str
    """The text of controller/setup.sh."""


def prepare(directory: Path) -> ControllerPart:
    """Read a controller wheelhouse for `bundler pack` (nothing is fetched here).

    Raises BadInput when `directory` is missing (naming `bundler fetch-controller` and
    `--no-controller`), is not a wheelhouse, or is not one of the policy (no ansible-core 2.16.x,
    a controller Python ansible-core 2.16 does not run on).
    """
    if not directory.is_dir():
        raise BadInput(
            f"no controller wheelhouse at {directory}: run `bundler fetch-controller -o "
            f"{directory}` first (ansible-core for the controller's Python), or pack with "
            "--no-controller"
        )
    for required in REQUIRED_FILES:
        if not (directory / required).is_file():
            raise BadInput(
                f"controller wheelhouse {directory} has no {required} (run `bundler "
                "fetch-controller`)"
            )
    info = ControllerInfo.from_directory(directory)
    problems = info.problems()
    if problems:
        raise BadInput(f"controller wheelhouse {directory}: {'; '.join(problems)}")
    return ControllerPart(directory, info, render_setup_sh(info))


def render_setup_sh(info: ControllerInfo) -> str:
    """controller/setup.sh for the controller wheelhouse `info` describes."""
    return shell_template("controller-setup.sh.j2").render(
        tool_version=__version__,
        description=info.describe(),
        python_short=info.target.short_version,
        ansible_core=info.ansible_core or "",
        ansible_core_requirement=str(policy().ansible_core),
        pythons=", ".join(policy().pythons),
    )
