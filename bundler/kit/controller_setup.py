"""The controller part of a kit for `bundler pack`: the wheelhouse read (never fetched) and
controller/setup.sh rendered from `templates/controller-setup.sh.j2`; optionally the bootstrap
wheelhouse (ansible-core 2.11 for CentOS 7's python3) and controller/bootstrap.sh rendered from
`templates/controller-bootstrap.sh.j2`.

What the part must hold comes from `bundler.kit.controller` (policy, `ControllerInfo`); this
module adds the rendering (jinja2, `bundler.kit.templates`), which only pack needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bundler import __version__
from bundler.errors import BadInput
from bundler.kit.controller import (
    BOOTSTRAP_WHEELHOUSE,
    BUILD_PLAYBOOK,
    REQUIRED_FILES,
    ControllerInfo,
    ControllerPolicy,
    bootstrap_policy,
    policy,
)
from bundler.kit.templates import shell_template


@dataclass(frozen=True)
class BootstrapPart:
    """The bootstrap wheelhouse of a kit about to be packed (ansible-core 2.11, CPython 3.6)."""

    directory: Path
    """The bootstrap wheelhouse on disk (goes to controller/bootstrap/wheelhouse/)."""
    info: ControllerInfo
    bootstrap_sh: str
    """The text of controller/bootstrap.sh."""


@dataclass(frozen=True)
class ControllerPart:
    """The controller part of a kit about to be packed."""

    directory: Path
    """The controller wheelhouse on disk (goes to controller/wheelhouse/)."""
    info: ControllerInfo
    setup_sh: str
    """The text of controller/setup.sh."""
    bootstrap: BootstrapPart | None = None
    """The bootstrap for a controller without the wheelhouse's Python (None: not packed)."""


def _read(directory: Path, rules: ControllerPolicy, what: str, fetch: str) -> ControllerInfo:
    for required in REQUIRED_FILES:
        if not (directory / required).is_file():
            raise BadInput(f"{what} {directory} has no {required} (run `{fetch}`)")
    info = ControllerInfo.from_directory(directory)
    problems = info.problems(rules)
    if problems:
        raise BadInput(f"{what} {directory}: {'; '.join(problems)}")
    return info


def prepare(directory: Path, bootstrap: Path | None = None) -> ControllerPart:
    """Read a controller wheelhouse (and the bootstrap wheelhouse `bootstrap`, if given) for
    `bundler pack` (nothing is fetched here).

    Raises BadInput when `directory` is missing (naming `bundler fetch-controller` and
    `--no-controller`), is not a wheelhouse, or is not one of the policy (no ansible-core 2.16.x,
    a controller Python ansible-core 2.16 does not run on); the same for `bootstrap` against
    the bootstrap policy (ansible-core 2.11.x for CPython 3.6; missing: naming
    `bundler fetch-controller --bootstrap` and `--no-controller-bootstrap`).
    """
    if not directory.is_dir():
        raise BadInput(
            f"no controller wheelhouse at {directory}: run `bundler fetch-controller -o "
            f"{directory}` first (ansible-core for the controller's Python), or pack with "
            "--no-controller"
        )
    info = _read(directory, policy(), "controller wheelhouse", "bundler fetch-controller")
    part = None
    if bootstrap is not None:
        if not bootstrap.is_dir():
            raise BadInput(
                f"no controller bootstrap wheelhouse at {bootstrap}: run `bundler "
                f"fetch-controller --bootstrap -o {bootstrap}` first, or pack with "
                "--no-controller-bootstrap"
            )
        boot = _read(
            bootstrap,
            bootstrap_policy(),
            "controller bootstrap wheelhouse",
            "bundler fetch-controller --bootstrap",
        )
        part = BootstrapPart(bootstrap, boot, render_bootstrap_sh(info, boot))
    return ControllerPart(directory, info, render_setup_sh(info), part)


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


def render_bootstrap_sh(info: ControllerInfo, boot: ControllerInfo) -> str:
    """controller/bootstrap.sh: `boot` (ansible-core 2.11 for CPython 3.6) builds the Python
    that `info`'s wheelhouse (ansible-core 2.16) needs, then runs setup.sh with it."""
    return shell_template("controller-bootstrap.sh.j2").render(
        tool_version=__version__,
        description=boot.describe(),
        boot_python_short=boot.target.short_version,
        boot_ansible_core=boot.ansible_core or "",
        boot_requirement=str(bootstrap_policy().ansible_core),
        python_short=info.target.short_version,
        ansible_core=info.ansible_core or "",
        wheelhouse=BOOTSTRAP_WHEELHOUSE.removeprefix("controller/"),
        playbook=BUILD_PLAYBOOK,
    )
