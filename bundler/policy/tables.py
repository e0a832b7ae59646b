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
    minor = f"{python_version.major}.{python_version.minor}"
    rows = load_json("installers.json")["bundled_pip"].get(minor)
    if not rows:
        # Unknown minor: newer than the table. Assume a modern pip (reads every tag).
        return Version("99")
    chosen = rows[0][1]
    for row in rows:
        if row[0] <= python_version.micro:
            chosen = row[1]
    return Version(chosen)


def pip_feature_version(feature: str) -> Version:
    """The first pip release that understands `feature` (e.g. 'manylinux2014')."""
    return Version(load_json("installers.json")["pip_features"][feature])
