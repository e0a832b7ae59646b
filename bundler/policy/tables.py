"""Policy data shipped with the package (bundler/data/*.json|yml).

Each data file carries a `_source` entry saying where its facts come from; code never
hard-codes those facts itself.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from packaging.version import Version

from bundler.errors import BundlerError


class PolicyError(BundlerError):
    """A shipped policy data file is malformed (a packaging bug, never user input)."""


@cache
def load_json(name: str) -> Any:
    """Parse bundler/data/NAME once per process."""
    text = resources.files("bundler").joinpath("data").joinpath(name).read_text(encoding="utf-8")
    return json.loads(text)


def known_python_versions() -> list[Version]:
    """Every CPython final release the kit knows (from the shipped source table), ascending."""
    return sorted(Version(v) for v in load_json("sources.json")["python"])


def bundled_pip(python_version: Version) -> Version:
    """The pip that CPython `python_version`'s ensurepip installs (conservative for gaps)."""
    from bundler.policy.installers import installer_policy

    return installer_policy().pip_of(python_version)


def pip_feature_version(feature: str) -> Version:
    """The first pip release that understands `feature` (e.g. 'manylinux2014')."""
    from bundler.policy.installers import installer_policy

    return installer_policy().feature(feature)
