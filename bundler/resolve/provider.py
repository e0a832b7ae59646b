"""The resolvelib provider: every question answered for the `Target`, never for the host.

Candidates of a project are its versions that have a wheel the target accepts (the best-ranked
wheel per version, `Target.wheel_rank`), whose `Requires-Python` admits the target's *full*
version, and that are not yanked unless pinned exactly (`==`/`===`, as pip does, PEP 592);
newest first. Pre-releases only when a specifier asks for one or nothing else matches
(packaging's rule). `Requires-Dist` markers are evaluated with `Target.evaluate(marker,
extras)`. A release's metadata `Requires-Python` (which the index may not list) becomes a
`PythonReq`, whose only candidate is the target interpreter (`PythonCandidate`).

With `build_pure=True`, a version that only has an sdist becomes a candidate too; the caller's
`builder` turns it into a wheel, which must be pure Python (else: "needs a compiler").
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version
from resolvelib.providers import AbstractProvider

from bundler.errors import NoWheelForTarget, PackageNotFound, RequirementError, ResolutionError
from bundler.fs.hashing import sha256_file
from bundler.index.client import Index
from bundler.models.link import DistFile, wheel_parts
from bundler.models.metadata import Metadata, read_wheel_metadata
from bundler.models.source import Source, SourceKind
from bundler.models.target import Target
from bundler.resolve.model import (
    NO_WHEEL,
    PYTHON_KEY,
    AnyCandidate,
    AnyReq,
    ProjectCandidate,
    ProjectReq,
    PythonCandidate,
    PythonReq,
    Release,
    Releases,
    exclude_hint,
)
from bundler.resolve.speculation import Speculator

if TYPE_CHECKING:
    _ProviderBase = AbstractProvider[AnyReq, AnyCandidate, str]
else:  # resolvelib's classes are generic only in its stubs
    _ProviderBase = AbstractProvider


class Provider(_ProviderBase):
    """resolvelib's questions, answered from `index` for `target`."""

    def __init__(
        self,
        target: Target,
        index: Index,
        *,
        build_pure: bool,
        builder: Callable[[DistFile], Path] | None,
        pool: ThreadPoolExecutor,
        prefer_hashes: Mapping[str, frozenset[str]] | None = None,
        exclude: Collection[str] = (),
        no_deps: bool = False,
    ) -> None:
        self.target = target
        self.exclude = frozenset(canonicalize_name(n) for n in exclude)
        """Projects never resolved (--exclude): a requirement on one is dropped."""
        self.no_deps = no_deps
        """--no-deps: only the roots are resolved, their dependencies are dropped."""
        self.prefer_hashes = dict(prefer_hashes or {})
        """Canonical name -> sha256 digests a hashed requirement allows: a file with one of
        them is chosen over a better-ranked one (so a lock made for this target, or an
        older platform, is reproduced), like pip's hash-filtered candidates."""
        self.index = index
        self.build_pure = build_pure
        self.builder = builder
        self.parents: dict[str, str | None] = {}
        """First parent seen for each project (None = root): the chain for error messages."""
        self.requirers: dict[str, list[ProjectCandidate]] = {}
        """Every candidate whose metadata required each project, in the order asked: whose
        word to check when a resolution fails on that project (`resolver`)."""
        self.speculator = Speculator(
            target,
            index,
            self.releases,
            pool,
            skip=self.exclude,
            follow_dependencies=not no_deps,
        )
        self._releases: dict[str, Releases] = {}
        self._releases_lock = threading.Lock()
        self._built: dict[str, tuple[DistFile, Metadata]] = {}

    # resolvelib interface -------------------------------------------------------------------

    def identify(self, requirement_or_candidate: AnyReq | AnyCandidate) -> str:
        return requirement_or_candidate.key

    def get_preference(
        self,
        identifier: str,
        resolutions: Mapping[str, AnyCandidate],
        candidates: Mapping[str, Iterator[AnyCandidate]],
        information: Mapping[str, Iterator[Any]],
        backtrack_causes: Sequence[Any],
    ) -> tuple[bool, bool, bool, str]:
        infos = list(information[identifier])
        pinned = any(info.requirement.exact_pin for info in infos)
        causes = {info.requirement.key for info in backtrack_causes}
        return (identifier != PYTHON_KEY, not pinned, identifier not in causes, identifier)

    def find_matches(
        self,
        identifier: str,
        requirements: Mapping[str, Iterator[AnyReq]],
        incompatibilities: Mapping[str, Iterator[AnyCandidate]],
    ) -> Callable[[], Iterator[AnyCandidate]] | list[AnyCandidate]:
        """The candidates, newest first, as a factory resolvelib iterates lazily (like pip's
        `FoundCandidates`): a version's `Release` is made only when the iteration reaches it,
        which it does only while the resolver wants another candidate."""
        reqs = list(requirements[identifier])
        if identifier == PYTHON_KEY:
            python = PythonCandidate(self.target.version)
            ok = all(r.specifier.contains(python.version, prereleases=True) for r in reqs)
            return [python] if ok else []
        projects = [r for r in reqs if isinstance(r, ProjectReq)]
        name, extras = projects[0].name, projects[0].extras
        bad = {c.version for c in incompatibilities[identifier]}
        pinned = any(r.exact_pin for r in projects)
        releases = self.releases_for(name)
        spec = SpecifierSet()
        for r in projects:
            spec &= r.specifier

        def matches() -> Iterator[AnyCandidate]:
            files: dict[Version, DistFile] = {}

            def usable() -> Iterator[Version]:
                for version in releases.versions:
                    if version in bad or not spec.contains(version, prereleases=True):
                        continue
                    rel = releases.release(version)
                    if rel.file is not None and (not rel.yanked or pinned):
                        files[version] = rel.file
                        yield version

            # The usable versions through the specifier's own filter: pre-releases only when
            # it asks for them or no final release is usable (packaging's rule, as before).
            for n, version in enumerate(spec.filter(usable())):
                if n == 0:
                    self.speculator.warm_metadata(files[version])  # asked for next
                yield ProjectCandidate(name, version, files[version], extras)

        return matches

    def is_satisfied_by(self, requirement: AnyReq, candidate: AnyCandidate) -> bool:
        return requirement.specifier.contains(candidate.version, prereleases=True)

    def get_dependencies(self, candidate: AnyCandidate) -> list[AnyReq]:
        if isinstance(candidate, PythonCandidate):
            return []
        metadata = self.candidate_metadata(candidate)
        deps: list[AnyReq] = []
        if candidate.extras:
            deps.append(
                ProjectReq(
                    candidate.name,
                    frozenset(),
                    SpecifierSet(f"=={candidate.version}"),
                    f"{candidate.name}=={candidate.version}",
                )
            )
        if metadata.requires_python is not None:
            deps.append(PythonReq(metadata.requires_python))
        for dep in self.applicable_dependencies(candidate, metadata):
            if dep.name not in self.exclude and not self.no_deps:
                deps.append(dep)
        for each in deps:
            if isinstance(each, ProjectReq):
                self.parents.setdefault(each.name, candidate.name)
                self.requirers.setdefault(each.name, []).append(candidate)
                self.prefetch(each.name, each.specifier)
        return deps

    def applicable_dependencies(
        self, candidate: ProjectCandidate, metadata: Metadata
    ) -> list[ProjectReq]:
        """The `Requires-Dist` of `candidate` that apply to the target (markers evaluated with
        its extras), before --exclude / --no-deps; a self-requirement only for new extras."""
        out: list[ProjectReq] = []
        for requirement in metadata.requires_dist:
            if requirement.url:
                raise RequirementError(
                    f"{candidate} requires {requirement} by direct URL, which the kit does not "
                    "follow (it cannot be hash-locked from an index)"
                )
            if self.target.evaluate(requirement.marker, candidate.extras):
                dep = ProjectReq.of(requirement)
                if dep.name != candidate.name or dep.extras - candidate.extras:
                    out.append(dep)
        return out

    # speculation ------------------------------------------------------------------------------

    def prefetch(self, name: str, specifier: SpecifierSet | None = None) -> None:
        """Start fetching `name`'s likely tree in the background (`Speculator.prefetch`), the
        newest version `specifier` admits."""
        self.speculator.prefetch(name, specifier)

    # data -----------------------------------------------------------------------------------

    def releases_for(self, name: str) -> Releases:
        """`releases`, with the chain that asked for `name` added to a not-found error."""
        try:
            return self.releases(name)
        except PackageNotFound as exc:
            if self.parents.get(name) is None:
                raise
            raise exc.with_context(name, self.chain(name)[:-1]) from None

    def releases(self, name: str) -> Releases:
        """Every version of `name` with what it offers the target, newest first, each
        `Release` made on first use (`Releases`); one object per project for every thread."""
        with self._releases_lock:
            cached = self._releases.get(name)
        if cached is not None:
            return cached
        files = self.index.project(name)
        allowed = self.prefer_hashes.get(name, frozenset())
        made = Releases(
            files.versions, lambda version: self._release(version, files.files(version), allowed)
        )
        with self._releases_lock:
            return self._releases.setdefault(name, made)

    def _release(self, version: Version, files: list[DistFile], allowed: frozenset[str]) -> Release:
        python = self.target.version
        wheels: list[tuple[bool, bool, int, DistFile]] = []
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
                    wheels.append((_unlisted(f, allowed), f.yanked is not None, rank, f))
            else:
                sdists.append(f)
        if wheels:
            _, yanked, _, best = max(wheels, key=_wheel_preference)
            return Release(version, best, yanked, "yanked" if yanked else None)
        if self.build_pure and sdists:
            sdist = sorted(sdists, key=lambda f: (f.yanked is not None, f.filename))[0]
            yanked = sdist.yanked is not None
            return Release(version, sdist, yanked, "yanked" if yanked else None)
        return Release(version, None, False, rejected_python or NO_WHEEL)

    def candidate_metadata(self, candidate: ProjectCandidate) -> Metadata:
        if candidate.file.is_wheel:
            return self.index.metadata(candidate.file)
        return self.build(candidate)[1]

    def build(self, candidate: ProjectCandidate) -> tuple[DistFile, Metadata]:
        """Build an sdist candidate (once) into a pure wheel: (wheel DistFile, its metadata)."""
        sdist = candidate.file
        done = self._built.get(sdist.url)
        if done is not None:
            return done
        if self.builder is None:
            raise RequirementError(f"{sdist.filename}: --build-pure needs a builder")
        try:
            wheel = self.builder(sdist)
        except ResolutionError as exc:  # the builder's own explanation (why it is compiled)
            # who asked for the sdist, then what the builder's error names (a build
            # requirement's chain starts with 'the build of SDIST')
            chain = (*self.chain(candidate.name)[:-1], *exc.chain)
            raise exc.with_context(candidate.name, chain) from None
        _, _, _, tags = parse_wheel_filename(wheel.name)
        if not is_pure(tags) or self.target.wheel_rank(wheel.name) is None:
            raise NoWheelForTarget(
                f"{candidate} has no wheel for the target and its sdist {sdist.filename} needs "
                f"a compiler: compiled extension detected (building it gave {wheel.name}, not "
                "a pure-Python wheel); --build-pure only builds pure-Python sdists",
                package=candidate.name,
                requirement=f"{candidate.name}=={candidate.version}",
                chain=self.chain(candidate.name)[:-1],
                versions=[str(candidate.version)],
                hint=exclude_hint(candidate.name),
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
            source=Source(SourceKind.LOCAL_PROJECT, str(wheel.parent)),
        )
        self._built[sdist.url] = (built, metadata)
        return built, metadata

    def chain(self, name: str) -> list[str]:
        """root -> ... -> name, by the first parent seen for each project."""
        path = [name]
        while (parent := self.parents.get(path[-1])) is not None and parent not in path:
            path.append(parent)
        return path[::-1]


def _unlisted(file: DistFile, allowed: frozenset[str]) -> bool:
    """True when hashes are given and `file`'s advertised sha256 is not one of them."""
    return bool(allowed) and file.sha256 not in allowed


def is_pure(tags: frozenset[Tag]) -> bool:
    """Only `none-any` tags, and one of them for Python 3 (what --build-pure accepts)."""
    return all(t.abi == "none" and t.platform == "any" for t in tags) and any(
        t.interpreter.startswith("py3") for t in tags
    )


def _wheel_preference(
    wheel: tuple[bool, bool, int, DistFile],
) -> tuple[bool, bool, int, tuple[Any, ...]]:
    """Sort key of one version's usable wheels, *highest* best: a file a --hash allows, then
    one that is not yanked, then the best tag rank, then the highest PEP 427 build tag, as pip
    orders them (`bt-1.0-2-...` beats `bt-1.0-1-...`, both beat no build tag; pip's
    CandidateEvaluator._sort_key ends with the build tag,
    src/pip/_internal/index/package_finder.py)."""
    unlisted, yanked, rank, file = wheel
    parts = wheel_parts(file.filename)
    return (not unlisted, not yanked, -rank, tuple(parts[2]) if parts else ())
