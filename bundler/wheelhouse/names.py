"""Installer-true names: how each project is spelled in requirements.lock / bootstrap.lock.

pip installs a hash-locked file by putting every lock line in a set keyed by name, then
looking up each requirement a dependency states in that set. pip 19.3+ keys by PEP 503's
`canonicalize_name`, so any spelling works; older pips (the 18.1 bundled with CPython 3.6.8+,
the 9.0.1 of 3.6.0) key by `safe_name(name).lower()`, where `ruamel.yaml.clib` and
`ruamel-yaml-clib` differ (`bundler.policy.installers`, data/installers.json). So the lock
spells each project the way its dependents state it; when two dependents spell it in ways an
old pip cannot reconcile, no spelling works for that pip and the wheelhouse must bootstrap
one that matches names canonically (`LockNames.min_pip`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from packaging.utils import canonicalize_name
from packaging.version import Version

from bundler.policy.installers import installer_policy, name_key
from bundler.resolve.resolver import Resolution


@dataclass(frozen=True)
class LockNames:
    """The spelling of each pinned project (canonical name -> lock spelling) and conflicts."""

    spelling: dict[str, str]
    conflicts: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Canonical name -> the spellings dependents state that the old rule cannot reconcile."""

    def name(self, canonical: str) -> str:
        return self.spelling.get(canonical, canonical)

    @property
    def min_pip(self) -> Version | None:
        """The oldest pip that installs the lock (None: every supported pip does)."""
        return installer_policy().canonical_names_from() if self.conflicts else None

    def describe_conflicts(self) -> str:
        """'a (stated as a.b, a_b)' for each conflict, for messages."""
        return "; ".join(
            f"{name} (stated as {', '.join(spellings)})"
            for name, spellings in sorted(self.conflicts.items())
        )


def lock_names(resolution: Resolution) -> LockNames:
    """How to spell each pin of `resolution` so that every pip the target may run matches it.

    Each pin takes the spelling its dependents state (only requirements that hold on the target
    count); a project nobody depends on keeps its canonical name. Among spellings that the
    oldest rule equates, the canonical one is preferred, then the first in sorted order.
    """
    stated: dict[str, set[str]] = {}
    target = resolution.target
    for pin in resolution.pins.values():
        for requirement in pin.metadata.requires_dist:
            key = str(canonicalize_name(requirement.name))
            if key == pin.name or key not in resolution.pins:
                continue
            if target.evaluate(requirement.marker, pin.extras):
                stated.setdefault(key, set()).add(requirement.name)
    strict = installer_policy().name_rules[0][1]
    spelling: dict[str, str] = {}
    conflicts: dict[str, tuple[str, ...]] = {}
    for key, names in sorted(stated.items()):
        ordered = sorted(names, key=lambda n: (n != key, n))
        spelling[key] = ordered[0]
        if len({name_key(strict, n) for n in names}) > 1:
            conflicts[key] = tuple(sorted(names))
    return LockNames(spelling, conflicts)
