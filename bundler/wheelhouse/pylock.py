"""pylock.toml (PEP 751, the PyPA "pylock.toml Specification"): the wheelhouse's lock in the
standard format, written beside requirements.lock.

    lock-version = "1.0"
    environments = ["sys_platform == 'linux' and platform_machine == 'x86_64' and ..."]
    requires-python = "==3.6.15"
    created-by = "airgap-kit"

    [[packages]]                      # one per pin of requirements.lock, sorted by name
    name = "numpy"
    version = "1.19.5"
    requires-python = ">=3.6"         # when the wheel's metadata says
    dependencies = [{name = "..."}]   # the chosen direct dependencies
    [[packages.wheels]]               # only the wheel chosen for the target
    name = "numpy-1.19.5-cp36-cp36m-manylinux1_x86_64.whl"
    url = "https://files.pythonhosted.org/..."   # where it was downloaded from; or, for a
    path = "./asciivideo-0.1.0-py3-none-any.whl" # wheel built here or read from a local
                                                 # source (--find-links folder or page on
                                                 # disk, file: index), its path beside this
                                                 # file (PEP 751 `packages.wheels.path`)
    size = 13355728
    hashes = {sha256 = "..."}

    [tool.airgap-kit]                 # the target as the kit describes it (tags ceiling)

`environments` and `requires-python` describe the one target the wheelhouse is for (its full
Python version, implementation, OS and machine); the platform-tag ceiling (manylinux level)
is not expressible as a marker and is in `[tool.airgap-kit]`. Excluded requirements (--exclude,
--no-deps) are simply absent, like in requirements.lock. The pip bootstrap (bootstrap.lock) is
not part of it: it is the installer, not the application.

Readers: pip >= 26.1 (`pip install -r pylock.toml`, on Python >= 3.10), uv, pex, PDM and
`packaging.pylock`. The target's own pips (18.1 bundled with 3.6, 21.3.1 the last for 3.6)
cannot read it -- it is not a requirements file -- which is why install.sh keeps installing
requirements.lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from bundler import __version__
from bundler.fs.atomic import atomic_write_text
from bundler.models.target import Target

FILENAME = "pylock.toml"
LOCK_VERSION = "1.0"
CREATED_BY = "airgap-kit"


@dataclass(frozen=True)
class LockedWheel:
    """One package of the lock: its pin and the one wheel chosen for the target."""

    name: str
    """Canonical project name."""
    version: str
    filename: str
    sha256: str
    size: int
    url: str | None
    """The http(s) URL it was downloaded from; None for a wheel built here or read from a
    local source. For None (or a `file:` URL) `path` is written instead: no host path leaks."""
    requires_python: str | None
    dependencies: tuple[str, ...]
    """Canonical names of the chosen direct dependencies."""


def environment_marker(target: Target) -> str:
    """The PEP 508 marker that holds exactly on `target`'s interpreter and platform."""
    env = target.marker_environment()
    keys = ("sys_platform", "platform_system", "platform_machine", "implementation_name",
            "platform_python_implementation", "python_full_version")  # fmt: skip
    return " and ".join(f"{key} == '{env[key]}'" for key in keys)


def document(target: Target, wheels: Sequence[LockedWheel], pool: str = ".") -> dict[str, Any]:
    """The lock as a TOML-ready dict, keys in the specification's order; `pool` is where the
    wheels are relative to the lock ('.', or '../..' in a several-target wheelhouse)."""
    packages = []
    for w in sorted(wheels, key=lambda w: w.name):
        package: dict[str, Any] = {"name": w.name, "version": w.version}
        if w.requires_python:
            package["requires-python"] = w.requires_python
        package["dependencies"] = [{"name": d} for d in sorted(w.dependencies)]
        wheel: dict[str, Any] = {"name": w.filename}
        if w.url is not None and not w.url.startswith("file:"):
            wheel["url"] = w.url
        else:
            wheel["path"] = f"{pool}/{w.filename}"
        wheel["size"] = w.size
        wheel["hashes"] = {"sha256": w.sha256}
        package["wheels"] = [wheel]
        packages.append(package)
    return {
        "lock-version": LOCK_VERSION,
        "environments": [environment_marker(target)],
        "requires-python": f"=={target.python_version}",
        "created-by": CREATED_BY,
        "packages": packages,
        "tool": {
            "airgap-kit": {
                "version": __version__,
                "target": target.describe(),
                "platforms": list(target.platforms),
                "abis": list(target.abis),
            }
        },
    }


def render(target: Target, wheels: Sequence[LockedWheel], pool: str = ".") -> str:
    """The text of pylock.toml (stable: sorted packages, fixed key order)."""
    return tomli_w.dumps(document(target, wheels, pool))


def write(directory: Path, target: Target, wheels: Sequence[LockedWheel], pool: str = ".") -> Path:
    """Atomically write DIR/pylock.toml."""
    path = directory / FILENAME
    atomic_write_text(path, render(target, wheels, pool))
    return path
