"""The resolver's data: requirements and candidates as resolvelib sees them, and the result.

Two kinds of each, both typed: a *project* (a name, extras, a specifier; a candidate is one
version with the one file chosen for the target) and the *target interpreter* (a
`Requires-Python` specifier from a release's metadata; its only candidate is the target's
full version). A project requested with extras is a separate resolvelib identity
(`name[extra]`) that depends on the plain project at the same version (pip's scheme, see
pip's `resolution/resolvelib/candidates.py` `ExtrasCandidate`).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from bundler.models.link import DistFile
from bundler.models.metadata import Metadata
from bundler.models.target import Target

PYTHON_KEY = "<python>"
"""resolvelib identifier of the target interpreter (not a valid project name, so it cannot
collide with one)."""
NO_WHEEL = "no wheel for the target"


# -- requirements -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectReq:
    """A requirement on a project: canonical name, canonical extras, specifier."""

    name: str
    extras: frozenset[str]
    specifier: SpecifierSet
    text: str
    """How it was written (for messages)."""

    @property
    def key(self) -> str:
        return identity(self.name, self.extras)

    @cached_property
    def exact_pin(self) -> bool:
        """`==X` (no wildcard) or `===X`: the only way a yanked release may be chosen (PEP 592).
        Computed once: resolvelib asks `get_preference` about every open requirement in every
        round (~4,000 times for jupyterlab 4.2.5's tree)."""
        return any(
            s.operator == "===" or (s.operator == "==" and not s.version.endswith(".*"))
            for s in self.specifier
        )

    @classmethod
    def of(cls, requirement: Requirement) -> ProjectReq:
        return cls(
            name=canonicalize_name(requirement.name),
            extras=frozenset(canonicalize_name(e) for e in requirement.extras),
            specifier=requirement.specifier,
            text=requirement_text(requirement),
        )


@dataclass(frozen=True)
class PythonReq:
    """A release's `Requires-Python` (core metadata), as a requirement on the target
    interpreter: the resolver backtracks past releases whose metadata refuses the target."""

    specifier: SpecifierSet
    key = PYTHON_KEY
    exact_pin = False

    @property
    def text(self) -> str:
        return f"Requires-Python {self.specifier}"


AnyReq = ProjectReq | PythonReq


# -- candidates -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectCandidate:
    """One version of a project, with the file chosen for the target: its best wheel, or
    (with --build-pure) its sdist."""

    name: str
    version: Version
    file: DistFile
    extras: frozenset[str] = frozenset()

    @property
    def key(self) -> str:
        return identity(self.name, self.extras)

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


@dataclass(frozen=True)
class PythonCandidate:
    """The target interpreter: its full version (`Target.version`)."""

    version: Version
    key = PYTHON_KEY

    def __str__(self) -> str:
        return f"Python {self.version}"


AnyCandidate = ProjectCandidate | PythonCandidate


def identity(name: str, extras: frozenset[str]) -> str:
    """resolvelib identifier: 'name' or 'name[a,b]'."""
    return f"{name}[{','.join(sorted(extras))}]" if extras else name


def requirement_text(requirement: Requirement) -> str:
    """'name[extras]specifier' without the marker (how messages quote a requirement)."""
    extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
    return f"{requirement.name}{extras}{requirement.specifier}"


@dataclass(frozen=True)
class Release:
    """What one version of a project offers the target."""

    version: Version
    file: DistFile | None
    """Best wheel for the target (or the sdist when building is allowed); None if unusable."""
    yanked: bool
    excluded: str | None
    """Why the version cannot be used as is: 'yanked', 'requires Python ...', NO_WHEEL."""


class Releases:
    """Every version of one project, each `Release` made on first use (then kept).

    `versions` is newest first and comes from the index's file names alone; `release(v)`
    calls `make(v)` once per version, whichever thread asks first (the others wait for it),
    so a resolution builds the records and ranks the tags of the versions it looks at, not
    of every version the project ever had. Iterating gives every release, newest first.
    """

    def __init__(self, versions: Sequence[Version], make: Callable[[Version], Release]) -> None:
        self.versions = list(versions)
        self._make = make
        self._made: dict[Version, Release] = {}
        self._locks: dict[Version, threading.Lock] = {}
        self._lock = threading.Lock()

    def release(self, version: Version) -> Release:
        """What `version` offers the target (made once; `make`'s errors are raised)."""
        made = self._made.get(version)
        if made is not None:
            return made
        with self._lock:
            lock = self._locks.setdefault(version, threading.Lock())
        with lock:
            made = self._made.get(version)
            if made is None:
                made = self._made[version] = self._make(version)
        return made

    def __iter__(self) -> Iterator[Release]:
        return (self.release(v) for v in self.versions)


# -- the result -------------------------------------------------------------------------------


def exclude_hint(name: str) -> str:
    """The hint for a project the kit cannot bundle: leave it out on purpose."""
    return (
        f"--exclude {name} leaves it out of the wheelhouse (install it from the distro, "
        "e.g. an RPM, or separately)"
    )


EXCLUDE_REASON = "--exclude"
NO_DEPS_REASON = "--no-deps"


@dataclass(frozen=True)
class Excluded:
    """A requirement left out on purpose: not resolved, not bundled, recorded in the manifest
    so the installer can tolerate exactly it (`pip check`)."""

    name: str
    """Canonical project name."""
    specifier: str
    """The requirement's specifier ('' for any version), e.g. '>=1.3.8'."""
    required_by: str | None
    """Canonical name of the pinned project whose metadata requires it; None for a root."""
    reason: str
    """EXCLUDE_REASON (named with --exclude) or NO_DEPS_REASON (a dependency under --no-deps)."""

    def sort_key(self) -> tuple[str, str, str, str]:
        return (self.name, self.required_by or "", self.specifier, self.reason)

    def to_dict(self) -> dict[str, str | None]:
        return {
            "name": self.name,
            "specifier": self.specifier,
            "required_by": self.required_by,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Pin:
    """One chosen project: version, the exact file, its metadata, who it depends on."""

    name: str
    version: Version
    file: DistFile
    metadata: Metadata
    extras: frozenset[str]
    dependencies: tuple[str, ...]
    """Canonical names of the chosen direct dependencies, sorted."""
    built_from: str | None = None
    """The sdist filename when `--build-pure` built this wheel."""


@dataclass
class Resolution:
    """The outcome: every pin plus the dependency graph (from the pins' `dependencies`)."""

    target: Target
    roots: tuple[Requirement, ...]
    pins: dict[str, Pin]
    excluded: tuple[Excluded, ...] = ()
    """Requirements left out (--exclude, --no-deps) that apply to the target, sorted."""

    @property
    def root_names(self) -> list[str]:
        """Canonical names of the roots that apply to the target, sorted."""
        return sorted({canonicalize_name(r.name) for r in self.roots} & set(self.pins))

    def edges(self) -> list[tuple[str, str]]:
        """(parent, child) pairs, sorted."""
        return sorted((p.name, d) for p in self.pins.values() for d in p.dependencies)

    def via(self, name: str) -> list[str]:
        """Direct parents of `name`, sorted (empty for a root nobody else requires)."""
        key = canonicalize_name(name)
        return sorted(p.name for p in self.pins.values() if key in p.dependencies)

    def chain(self, name: str) -> list[str]:
        """The shortest path root -> ... -> name ([name] for a root)."""
        key = canonicalize_name(name)
        roots = self.root_names
        previous: dict[str, str | None] = {r: None for r in roots}
        queue = deque(roots)
        while queue:
            node = queue.popleft()
            if node == key:
                path = [node]
                while (parent := previous[path[-1]]) is not None:
                    path.append(parent)
                return path[::-1]
            for child in self.pins[node].dependencies:
                if child not in previous:
                    previous[child] = node
                    queue.append(child)
        raise KeyError(name)
