"""What each pip release does: which tags it reads and how it matches requirement names.

A typed view of `data/installers.json`, validated and loaded once by `installer_policy()`.
Name matching matters for a hash-locked install: pip puts every lock line in a set keyed by
name, then looks each dependency's requirement up in that set. pip before 19.3 keys by
`pkg_resources.safe_name(name).lower()` (dots kept), pip 19.3+ by PEP 503's
`canonicalize_name`; a lock line spelled differently from what a dependency states is "not
pinned" for the old pips (the data file cites the source of each fact).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from bundler.policy.tables import PolicyError, load_json

NAME_RULES = ("safe_name_lower", "pep503")
"""The name-matching rules pip has had (see `name_key`)."""
_UNSAFE = re.compile(r"[^A-Za-z0-9.]+")


def name_key(rule: str, name: str) -> str:
    """The key `rule` gives `name`: two requirement names match when their keys are equal.

    'safe_name_lower': pkg_resources.safe_name then lower() ('Ruamel.YAML_clib' ->
    'ruamel.yaml-clib'); 'pep503': packaging's canonicalize_name ('ruamel-yaml-clib').
    """
    if rule == "safe_name_lower":
        return _UNSAFE.sub("-", name).lower()
    if rule == "pep503":
        return str(canonicalize_name(name))
    raise ValueError(f"unknown name rule {rule!r}")


@dataclass(frozen=True)
class InstallerPolicy:
    """pip facts: the pip each CPython release bundles, tag features, name matching.

    `bundled_pip`: 'X.Y' -> [(first patch release, pip version)], ascending;
    `features`: tag feature ('manylinux2014') -> first pip that reads it;
    `name_rules`: [(first pip, rule)], ascending.
    """

    bundled_pip: dict[str, tuple[tuple[int, Version], ...]]
    features: dict[str, Version]
    name_rules: tuple[tuple[Version, str], ...]

    @classmethod
    def from_json(cls, doc: Any) -> InstallerPolicy:
        """Validate and type the JSON document; PolicyError naming the bad entry."""
        try:
            bundled = {
                str(minor): tuple((int(row[0]), Version(str(row[1]))) for row in rows)
                for minor, rows in doc["bundled_pip"].items()
            }
            features = {str(k): Version(str(v)) for k, v in doc["pip_features"].items()}
            rules = tuple(
                (Version(str(row["from"])), str(row["rule"])) for row in doc["name_matching"]
            )
        except (KeyError, TypeError, ValueError, IndexError, InvalidVersion) as exc:
            raise PolicyError(f"data/installers.json: malformed ({exc!r})") from None
        if any(rule not in NAME_RULES for _, rule in rules) or list(rules) != sorted(rules):
            raise PolicyError("data/installers.json: name_matching rows unknown or unsorted")
        for minor, rows in bundled.items():
            if not rows or [r[0] for r in rows] != sorted(r[0] for r in rows):
                raise PolicyError(f"data/installers.json: bundled_pip {minor} empty or unsorted")
        return cls(bundled, features, rules)

    def pip_of(self, python: Version) -> Version:
        """The pip that CPython `python`'s ensurepip installs (the closest lower patch row; an
        X.Y newer than the table gets a modern pip, 99)."""
        rows = self.bundled_pip.get(f"{python.major}.{python.minor}")
        if not rows:
            return Version("99")
        chosen = rows[0][1]
        for micro, pip in rows:
            if micro <= python.micro:
                chosen = pip
        return chosen

    def feature(self, name: str) -> Version:
        """The first pip that reads tag feature `name` (KeyError when unknown)."""
        return self.features[name]

    def name_rule(self, pip: Version) -> str:
        """How `pip` matches requirement names (the oldest known rule for older pips)."""
        rule = self.name_rules[0][1]
        for first, candidate in self.name_rules:
            if pip >= first:
                rule = candidate
        return rule

    def names_match(self, pip: Version, stated: str, locked: str) -> bool:
        """Does `pip` take lock line `locked` as the requirement a dependency calls `stated`?"""
        rule = self.name_rule(pip)
        return name_key(rule, stated) == name_key(rule, locked)

    def canonical_names_from(self) -> Version:
        """The first pip that matches names by PEP 503 (any spelling works from there on)."""
        return next(first for first, rule in self.name_rules if rule == "pep503")


@cache
def installer_policy() -> InstallerPolicy:
    """The shipped policy, parsed and validated once per process."""
    return InstallerPolicy.from_json(load_json("installers.json"))
