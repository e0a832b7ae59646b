"""Resolve requirements for a `Target`, never for the host: a resolvelib provider over `Index`.

Candidates of a project are its versions that have a wheel the target accepts (the best-ranked
wheel per version, `Target.wheel_rank`), whose `Requires-Python` admits the target's *full*
version, and that are not yanked unless pinned exactly (`==`/`===`, as pip does); newest first.
Pre-releases only when a specifier asks for one or nothing else matches (packaging's rule).
`Requires-Dist` markers are evaluated with `Target.evaluate(marker, extras)`. A project
requested with extras is a separate resolvelib identity (`name[extra]`) that depends on the
plain project at the same version (pip's scheme). The metadata's own `Requires-Python` (which
the index may not list) is a dependency on the pseudo-project `<python>`, whose only candidate
is the target's version, so the resolver backtracks past releases that refuse the target.

With `build_pure=True`, a version that only has an sdist becomes a candidate too; the caller's
`builder` turns it into a wheel, which must be pure Python (else: "needs a compiler").
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version
from resolvelib import BaseReporter, ResolutionImpossible, ResolutionTooDeep, Resolver
from resolvelib.providers import AbstractProvider

from bundler.errors import (
    BundlerError,
    NoWheelForTarget,
    PackageNotFound,
    RequirementError,
    ResolutionConflict,
)
from bundler.fs.hashing import sha256_file
from bundler.index.client import Index
from bundler.models.link import DistFile
from bundler.models.metadata import Metadata, read_wheel_metadata
from bundler.models.target import Target

PYTHON = "<python>"
"""Identity of the target interpreter in the resolver (not a valid project name)."""
MAX_ROUNDS = 2000
NO_WHEEL = "no wheel for the target"
PREFETCH_THREADS = 8


# -- public result ----------------------------------------------------------------------------


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


# -- resolver data ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Req:
    """A requirement as the resolver sees it."""

    name: str
    """Canonical project name, or PYTHON."""
    extras: frozenset[str]
    specifier: SpecifierSet
    text: str
    """How it was written (for messages)."""

    @property
    def key(self) -> str:
        return identity(self.name, self.extras)

    @property
    def exact_pin(self) -> bool:
        """`==X` (no wildcard) or `===X`: the only way a yanked release may be chosen."""
        specs = list(self.specifier)
        return any(
            s.operator == "===" or (s.operator == "==" and not s.version.endswith(".*"))
            for s in specs
        )

    @classmethod
    def of(cls, requirement: Requirement) -> Req:
        return cls(
            name=canonicalize_name(requirement.name),
            extras=frozenset(canonicalize_name(e) for e in requirement.extras),
            specifier=requirement.specifier,
            text=_req_text(requirement),
        )


@dataclass(frozen=True)
class Candidate:
    name: str
    version: Version
    file: DistFile | None
    """The wheel (or, with --build-pure, the sdist); None for the PYTHON pseudo-project."""
    extras: frozenset[str] = frozenset()

    @property
    def key(self) -> str:
        return identity(self.name, self.extras)

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


def identity(name: str, extras: frozenset[str]) -> str:
    return f"{name}[{','.join(sorted(extras))}]" if extras else name


def _req_text(requirement: Requirement) -> str:
    extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
    return f"{requirement.name}{extras}{requirement.specifier}"


@dataclass(frozen=True)
class _Release:
    """What one version of a project offers the target."""

    version: Version
    file: DistFile | None
    """Best wheel for the target (or the sdist when building is allowed); None if unusable."""
    yanked: bool
    excluded: str | None
    """Why the version cannot be used as is: 'yanked', 'requires Python ...', 'no wheel'."""


# -- the provider -----------------------------------------------------------------------------


if TYPE_CHECKING:
    _ProviderBase = AbstractProvider[Req, Candidate, str]
else:  # resolvelib's classes are generic only in its stubs
    _ProviderBase = AbstractProvider


class Provider(_ProviderBase):
    def __init__(
        self,
        target: Target,
        index: Index,
        *,
        build_pure: bool,
        builder: Callable[[DistFile], Path] | None,
        pool: ThreadPoolExecutor,
    ) -> None:
        self.target = target
        self.index = index
        self.build_pure = build_pure
        self.builder = builder
        self.pool = pool
        self.parents: dict[str, str | None] = {}
        """First parent seen for each project (None = root): the chain for error messages."""
        self._releases: dict[str, list[_Release]] = {}
        self._built: dict[str, tuple[DistFile, Metadata]] = {}
        self._prefetched: set[str] = set()
        self._prefetch_lock = threading.Lock()

    # resolvelib interface -------------------------------------------------------------------

    def identify(self, requirement_or_candidate: Req | Candidate) -> str:
        return requirement_or_candidate.key

    def get_preference(
        self,
        identifier: str,
        resolutions: Mapping[str, Candidate],
        candidates: Mapping[str, Iterator[Candidate]],
        information: Mapping[str, Iterator[Any]],
        backtrack_causes: Sequence[Any],
    ) -> tuple[bool, bool, bool, str]:
        infos = list(information[identifier])
        pinned = any(info.requirement.exact_pin for info in infos)
        causes = {info.requirement.key for info in backtrack_causes}
        return (identifier != PYTHON, not pinned, identifier not in causes, identifier)

    def find_matches(
        self,
        identifier: str,
        requirements: Mapping[str, Iterator[Req]],
        incompatibilities: Mapping[str, Iterator[Candidate]],
    ) -> list[Candidate]:
        reqs = list(requirements[identifier])
        if identifier == PYTHON:
            python = Candidate(PYTHON, self.target.version, None)
            ok = all(r.specifier.contains(python.version, prereleases=True) for r in reqs)
            return [python] if ok else []
        name, extras = reqs[0].name, reqs[0].extras
        bad = {c.version for c in incompatibilities[identifier]}
        pinned = any(r.exact_pin for r in reqs)
        usable = {
            rel.version: rel
            for rel in self.releases_for(name)
            if rel.file is not None and rel.version not in bad and (not rel.yanked or pinned)
        }
        spec = SpecifierSet()
        for r in reqs:
            spec &= r.specifier
        versions = spec.filter(usable)
        chosen = sorted(versions, reverse=True)
        if chosen:
            best = usable[chosen[0]].file
            if best is not None and best.is_wheel:
                # Warm the cache: the resolver asks for this candidate's metadata next.
                self.pool.submit(self.index.metadata, best)
        return [Candidate(name, v, usable[v].file, extras) for v in chosen]

    def is_satisfied_by(self, requirement: Req, candidate: Candidate) -> bool:
        return requirement.specifier.contains(candidate.version, prereleases=True)

    def get_dependencies(self, candidate: Candidate) -> list[Req]:
        if candidate.name == PYTHON:
            return []
        metadata = self.candidate_metadata(candidate)
        deps: list[Req] = []
        if candidate.extras:
            deps.append(
                Req(
                    candidate.name,
                    frozenset(),
                    SpecifierSet(f"=={candidate.version}"),
                    f"{candidate.name}=={candidate.version}",
                )
            )
        if metadata.requires_python is not None:
            spec = metadata.requires_python
            deps.append(Req(PYTHON, frozenset(), spec, f"Requires-Python {spec}"))
        for requirement in metadata.requires_dist:
            if requirement.url:
                raise RequirementError(
                    f"{candidate} requires {requirement} by direct URL, which the kit does not "
                    "follow (it cannot be hash-locked from an index)"
                )
            if self.target.evaluate(requirement.marker, candidate.extras):
                dep = Req.of(requirement)
                if dep.name != candidate.name or dep.extras - candidate.extras:
                    deps.append(dep)
        for dep in deps:
            if dep.name != PYTHON:
                self.parents.setdefault(dep.name, candidate.name)
                self.prefetch(dep.name)
        return deps

    # speculation ------------------------------------------------------------------------------

    def prefetch(self, name: str) -> None:
        """Start fetching what the resolver will probably ask about `name` next, once.

        resolvelib asks one question at a time (a page, then one file's metadata, then the
        next project...), so a cold resolution would wait for every round trip in turn. In the
        background this fetches `name`'s page, the metadata of its newest usable wheel and,
        from that metadata, the same for each dependency that applies to the target: the
        likely tree arrives in parallel and the resolver mostly finds its answers waiting. Per
        project only one file is speculated on: its newest usable wheel, whose metadata comes
        from the PEP 658 file or, on an index without them, from the wheel itself (which the
        resolver would download next anyway, one at a time). Results go through the index's
        memo, and a failure here is left for the resolver to meet.
        """
        with self._prefetch_lock:
            if name in self._prefetched:
                return
            self._prefetched.add(name)
        self.pool.submit(self._prefetch_tree, name)

    def _prefetch_tree(self, name: str) -> None:
        try:
            best = next(
                (
                    rel.file
                    for rel in self.releases(name)
                    if rel.file is not None
                    and rel.file.is_wheel
                    and not rel.yanked
                    and not rel.version.is_prerelease
                ),
                None,
            )
            if best is None:
                return
            metadata = self.index.metadata(best)
        except Exception:  # speculative: the resolver asks again and reports any error
            return
        for requirement in metadata.requires_dist:
            if not requirement.url and self.target.evaluate(requirement.marker, frozenset()):
                self.prefetch(canonicalize_name(requirement.name))

    # data -----------------------------------------------------------------------------------

    def releases_for(self, name: str) -> list[_Release]:
        """`releases`, with the chain that asked for `name` added to a not-found error."""
        try:
            return self.releases(name)
        except PackageNotFound as exc:
            if self.parents.get(name) is None:
                raise
            raise PackageNotFound(f"{exc} (required by {self.chain_text(name)})") from None

    def releases(self, name: str) -> list[_Release]:
        """Every version of `name` with what it offers the target (cached; thread-safe enough:
        the worst case is computing the same list twice)."""
        cached = self._releases.get(name)
        if cached is not None:
            return cached
        files = self.index.files(name)
        by_version: dict[Version, list[DistFile]] = {}
        for f in files:
            by_version.setdefault(f.version, []).append(f)
        result = [self._release(v, fs) for v, fs in sorted(by_version.items(), reverse=True)]
        self._releases[name] = result
        return result

    def _release(self, version: Version, files: list[DistFile]) -> _Release:
        python = self.target.version
        wheels: list[tuple[int, bool, DistFile]] = []
        sdists: list[DistFile] = []
        rejected_python: str | None = None
        for f in files:
            spec = f.requires_python_spec
            if spec is not None and not spec.contains(python, prereleases=True):
                rejected_python = f"requires Python {spec}"
                continue
            if f.is_wheel:
                rank = self.target.wheel_rank(f.filename)
                if rank is not None:
                    wheels.append((rank, f.yanked is not None, f))
            else:
                sdists.append(f)
        if wheels:
            # Prefer a file that is not yanked, then the best tag.
            _, yanked, best = min(wheels, key=lambda w: (w[1], w[0]))
            return _Release(version, best, yanked, "yanked" if yanked else None)
        if self.build_pure and sdists:
            sdist = sorted(sdists, key=lambda f: (f.yanked is not None, f.filename))[0]
            yanked = sdist.yanked is not None
            return _Release(version, sdist, yanked, "yanked" if yanked else None)
        return _Release(version, None, False, rejected_python or NO_WHEEL)

    def candidate_metadata(self, candidate: Candidate) -> Metadata:
        assert candidate.file is not None
        if candidate.file.is_wheel:
            return self.index.metadata(candidate.file)
        return self.build(candidate)[1]

    def build(self, candidate: Candidate) -> tuple[DistFile, Metadata]:
        """Build an sdist candidate (once) into a pure wheel: (wheel DistFile, its metadata)."""
        sdist = candidate.file
        assert sdist is not None
        done = self._built.get(sdist.url)
        if done is not None:
            return done
        if self.builder is None:
            raise RequirementError(f"{sdist.filename}: --build-pure needs a builder")
        wheel = self.builder(sdist)
        _, _, _, tags = parse_wheel_filename(wheel.name)
        if not _is_pure(tags) or self.target.wheel_rank(wheel.name) is None:
            raise NoWheelForTarget(
                f"{candidate} (required by {self.chain_text(candidate.name)}) has no wheel "
                f"for the target and its sdist {sdist.filename} needs a compiler "
                f"(building it gave {wheel.name}, not a pure-Python wheel): --build-pure only "
                "builds pure-Python sdists"
            )
        metadata = read_wheel_metadata(wheel, wheel.name)
        built = DistFile(
            project=candidate.name,
            filename=wheel.name,
            url=wheel.resolve().as_uri(),
            sha256=sha256_file(wheel),
            size=wheel.stat().st_size,
            requires_python=str(metadata.requires_python) if metadata.requires_python else None,
            yanked=None,
            metadata_url=None,
            metadata_sha256=None,
        )
        self._built[sdist.url] = (built, metadata)
        return built, metadata

    def chain(self, name: str) -> list[str]:
        path = [name]
        while (parent := self.parents.get(path[-1])) is not None and parent not in path:
            path.append(parent)
        return path[::-1]

    def chain_text(self, name: str) -> str:
        path = self.chain(name)
        return "your requirements" if len(path) == 1 else " -> ".join(path[:-1])


def _is_pure(tags: frozenset[Tag]) -> bool:
    return all(t.abi == "none" and t.platform == "any" for t in tags) and any(
        t.interpreter.startswith("py3") for t in tags
    )


# -- entry point ------------------------------------------------------------------------------


def resolve(
    requirements: Sequence[Requirement],
    target: Target,
    index: Index,
    *,
    build_pure: bool = False,
    builder: Callable[[DistFile], Path] | None = None,
) -> Resolution:
    """Choose one version of every project `requirements` need on `target`.

    Raises `PackageNotFound`, `NoWheelForTarget`, `ResolutionConflict` (all `RequirementError`)
    or `IndexUnavailable`/`HashMismatch` from the index.
    """
    roots = tuple(requirements)
    for r in roots:
        if r.url:
            raise RequirementError(
                f"{r}: direct URL requirements are not supported; use --find-links with the file"
            )
    active = [Req.of(r) for r in roots if target.evaluate(r.marker)]
    pool = ThreadPoolExecutor(max_workers=PREFETCH_THREADS, thread_name_prefix="prefetch")
    provider = Provider(target, index, build_pure=build_pure, builder=builder, pool=pool)
    for req in active:
        provider.parents[req.name] = None
        provider.prefetch(req.name)
    try:
        try:
            resolver: Resolver[Req, Candidate, str] = Resolver(provider, BaseReporter())
            result = resolver.resolve(active, max_rounds=MAX_ROUNDS)
        except ResolutionImpossible as exc:
            raise explain(exc.causes, provider) from None
        except ResolutionTooDeep:
            raise ResolutionConflict(
                f"gave up after {MAX_ROUNDS} rounds of backtracking: the requirements are too "
                "loose to settle; pin some versions"
            ) from None
    except KeyboardInterrupt:
        index.cancel.set()  # Ctrl-C: abort wheel downloads still running (speculative ones too)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return _resolution(result, roots, target, provider)


def _resolution(
    result: Any, roots: tuple[Requirement, ...], target: Target, provider: Provider
) -> Resolution:
    mapping: Mapping[str, Candidate] = result.mapping
    extras: dict[str, set[str]] = {}
    children: dict[str, set[str]] = {}
    for key, cand in mapping.items():
        if cand.name == PYTHON:
            continue
        extras.setdefault(cand.name, set()).update(cand.extras)
        children.setdefault(cand.name, set())
        for child_key in result.graph.iter_children(key):
            child = mapping[child_key]
            if child.name not in (PYTHON, cand.name):
                children[cand.name].add(child.name)
    pins: dict[str, Pin] = {}
    for key, cand in mapping.items():
        if cand.name == PYTHON or cand.extras:
            continue
        assert cand.file is not None
        if cand.file.is_wheel:
            file, metadata, built_from = cand.file, provider.index.metadata(cand.file), None
        else:
            file, metadata = provider.build(cand)
            built_from = cand.file.filename
        pins[key] = Pin(
            name=cand.name,
            version=cand.version,
            file=file,
            metadata=metadata,
            extras=frozenset(extras[cand.name]),
            dependencies=tuple(sorted(children[cand.name])),
            built_from=built_from,
        )
    return Resolution(target=target, roots=roots, pins=dict(sorted(pins.items())))


# -- explaining failures ----------------------------------------------------------------------


def explain(causes: Sequence[Any], provider: Provider) -> BundlerError:
    """Turn resolvelib's causes into one clear error (which of our three kinds it is)."""
    by_name: dict[str, list[tuple[Req, Candidate | None]]] = {}
    for cause in causes:
        by_name.setdefault(cause.requirement.name, []).append((cause.requirement, cause.parent))
    if PYTHON in by_name:
        lines = [f"{parent} requires Python {req.specifier}" for req, parent in by_name[PYTHON]]
        return NoWheelForTarget(
            f"no release fits Python {provider.target.python_version}: " + "; ".join(lines)
        )
    for name, infos in by_name.items():
        releases = provider.releases(name)
        if all(r.file is None for r in releases):
            return _no_wheel(name, infos, releases, provider)
        for req, _ in infos:
            ok = [r.version for r in releases if r.file and (not r.yanked or req.exact_pin)]
            if list(req.specifier.filter(ok)):
                continue
            with_file = [r.version for r in releases if r.file]
            if list(req.specifier.filter(with_file, prereleases=True)):
                return RequirementError(
                    f"only yanked releases of {name} match {req.text} (required by "
                    f"{_who(infos, req)}): pin one exactly with == to accept it"
                )
            everything = [r.version for r in releases]
            if list(req.specifier.filter(everything, prereleases=True)):
                return _no_wheel(name, infos, releases, provider, req)
            newest = ", ".join(str(v) for v in sorted(everything, reverse=True)[:5])
            return RequirementError(
                f"no version of {name} matches {req.text} (required by "
                f"{_who(infos, req)}); available: {newest or 'none'}"
            )
    parts = {
        f"{req.text} (from {_parent(parent)})"
        for infos in by_name.values()
        for req, parent in infos
    }
    names = ", ".join(sorted(by_name))
    return ResolutionConflict(f"conflicting requirements for {names}: " + "; ".join(sorted(parts)))


def _parent(parent: Candidate | None) -> str:
    return "your requirements" if parent is None else f"{parent.name} {parent.version}"


def _who(infos: list[tuple[Req, Candidate | None]], req: Req) -> str:
    return ", ".join(sorted({_parent(p) for r, p in infos if r == req}))


def _no_wheel(
    name: str,
    infos: list[tuple[Req, Candidate | None]],
    releases: list[_Release],
    provider: Provider,
    req: Req | None = None,
) -> NoWheelForTarget:
    """'X has no wheel for the target; required by a -> b; what exists: ...; hint: ...'."""
    target = provider.target
    parent = next((p for _, p in infos if p is not None), None)
    via = " -> ".join(provider.chain(parent.name)) if parent else "your requirements"
    shown = releases
    if req is not None:
        shown = [r for r in releases if req.specifier.contains(r.version, prereleases=True)]
    versions = {r.version for r in shown}
    files = [f for f in provider.index.files(name) if f.version in versions]
    reasons = sorted({r.excluded for r in shown if r.excluded and r.excluded != NO_WHEEL})
    what = req.text if req is not None else name
    message = (
        f"{what} has no wheel for the target ({target.describe()}); required by {via}; "
        f"what exists: {_what_exists(files, [r.version for r in shown[:3]], target)}"
    )
    if reasons:
        message += f"; excluded: {', '.join(reasons)}"
    hint = _hint(files, target, provider.build_pure)
    if hint:
        message += f"; hint: {hint}"
    return NoWheelForTarget(message)


def _what_exists(files: list[DistFile], versions: list[Version], target: Target) -> str:
    """Per version: 'sdist', and the Python tags and platforms of its wheels for the machine."""
    parts = []
    for version in versions:
        of_version = [f for f in files if f.version == version]
        kinds: list[str] = []
        if any(not f.is_wheel for f in of_version):
            kinds.append("sdist")
        tags = [t for f in of_version if f.is_wheel for t in parse_wheel_filename(f.filename)[3]]
        mine = [t for t in tags if _for_machine(t.platform, target.machine)]
        if mine:
            pythons = ", ".join(sorted({f"{t.interpreter}-{t.abi}" for t in mine}, key=_natural))
            platforms = ", ".join(sorted({t.platform for t in mine}, key=_natural))
            kinds.append(f"wheels for {pythons} on {platforms}")
        elif tags:
            kinds.append(f"wheels only for other platforms than linux {target.machine}")
        parts.append(f"{version} ({'; '.join(kinds) or 'no files'})")
    return "; ".join(parts) if parts else "no release matches"


def _for_machine(platform: str, machine: str) -> bool:
    return platform == "any" or (
        platform.startswith(("manylinux", "linux")) and platform.endswith(machine)
    )


def _natural(text: str) -> tuple[Any, ...]:
    """Sort 'cp39' before 'cp310'."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


def _hint(files: list[DistFile], target: Target, build_pure: bool) -> str:
    """'--platform manylinux2014' when a newer manylinux has a wheel; --build-pure for sdists."""
    hints = []
    ceiling = target.glibc[1] if target.glibc else 0
    levels: set[tuple[int, str]] = set()
    for f in files:
        if not f.is_wheel:
            continue
        for tag in parse_wheel_filename(f.filename)[3]:
            if not tag.platform.startswith("manylinux") or not tag.platform.endswith(
                target.machine
            ):
                continue
            level = _glibc_level(tag.platform)
            as_target = Tag(tag.interpreter, tag.abi, target.platforms[0])
            if level[0] > ceiling and as_target in target.tag_priority:
                levels.add(level)
    if levels:
        hints.append(f"try --platform {min(levels)[1]} if the target's glibc allows it")
    python = target.version
    if not build_pure and any(
        not f.is_wheel and (f.requires_python_spec is None or python in f.requires_python_spec)
        for f in files
    ):
        hints.append("--build-pure builds it from the sdist if it is pure Python")
    return "; ".join(hints)


_LEGACY = {
    "manylinux1": (5, "manylinux1"),
    "manylinux2010": (12, "manylinux2010"),
    "manylinux2014": (17, "manylinux2014"),
}


def _glibc_level(platform: str) -> tuple[int, str]:
    """'manylinux2014_x86_64' -> (17, 'manylinux2014'); 'manylinux_2_28_x86_64' -> (28, ...)."""
    for legacy, level in _LEGACY.items():
        if platform.startswith(legacy + "_"):
            return level
    minor = int(platform.split("_")[2])
    return minor, f"manylinux_2_{minor}"
