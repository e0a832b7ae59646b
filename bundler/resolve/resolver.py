"""Resolve requirements for a `Target`, never for the host: the entry point.

`resolve` runs resolvelib over `provider.Provider` (the questions, answered for the target),
with `speculation.Speculator` prefetching the likely tree, and turns a failure into one error
with data (`explain.explain`). The result is a `model.Resolution` of `model.Pin`s.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from resolvelib import BaseReporter, ResolutionImpossible, ResolutionTooDeep, Resolver

from bundler.errors import BundlerError, MetadataMismatch, RequirementError, ResolutionConflict
from bundler.index.client import Index
from bundler.models.link import DistFile
from bundler.models.target import Target
from bundler.resolve.explain import explain
from bundler.resolve.model import (
    EXCLUDE_REASON,
    NO_DEPS_REASON,
    AnyCandidate,
    AnyReq,
    Excluded,
    Pin,
    ProjectCandidate,
    ProjectReq,
    Resolution,
)
from bundler.resolve.provider import Provider

MAX_ROUNDS = 2000
MAX_LIE_CHECKS = 8
"""Wheels downloaded at most to look for a PEP 658 lie behind a failed resolution."""
PREFETCH_THREADS = 8

__all__ = ["Pin", "Resolution", "resolve"]


def resolve(
    requirements: Sequence[Requirement],
    target: Target,
    index: Index,
    *,
    build_pure: bool = False,
    builder: Callable[[DistFile], Path] | None = None,
    prefer_hashes: Mapping[str, frozenset[str]] | None = None,
    exclude: Collection[str] = (),
    no_deps: bool = False,
) -> Resolution:
    """Choose one version of every project `requirements` need on `target`.

    `prefer_hashes` (canonical name -> sha256 digests, from `--hash` options): among a
    version's files the target accepts, one with a listed digest is chosen first.

    Raises `PackageNotFound`, `NoWheelForTarget`, `NoMatchingVersion`, `ResolutionConflict`
    (all `RequirementError`, with data: see `bundler.errors`) or `IndexUnavailable`/
    `HashMismatch` from the index.
    """
    roots = tuple(requirements)
    for r in roots:
        if r.url:
            raise RequirementError(
                f"{r}: direct URL requirements are not supported; use --find-links with the file"
            )
    applicable = [ProjectReq.of(r) for r in roots if target.evaluate(r.marker)]
    left_out = frozenset(canonicalize_name(n) for n in exclude)
    active = [r for r in applicable if r.name not in left_out]
    pool = ThreadPoolExecutor(max_workers=PREFETCH_THREADS, thread_name_prefix="prefetch")
    provider = Provider(
        target,
        index,
        build_pure=build_pure,
        builder=builder,
        pool=pool,
        prefer_hashes=prefer_hashes,
        exclude=left_out,
        no_deps=no_deps,
    )
    try:  # from the first prefetch on: a SIGTERM/Ctrl-C while it submits still shuts the pool
        try:
            for req in active:
                provider.parents[req.name] = None
                provider.prefetch(req.name, req.specifier)
            resolver: Resolver[AnyReq, AnyCandidate, str] = Resolver(provider, BaseReporter())
            result = resolver.resolve(active, max_rounds=MAX_ROUNDS)
        except ResolutionImpossible as exc:
            error = explain(exc.causes, provider)
            raise _unmasked(error, provider, [c.parent for c in exc.causes]) from None
        except RequirementError as exc:  # a project missing, a file refused, ...
            raise _unmasked(exc, provider, []) from None
        except ResolutionTooDeep:
            raise ResolutionConflict(
                f"gave up after {MAX_ROUNDS} rounds of backtracking: the requirements are too "
                "loose to settle",
                hint="pin some versions",
            ) from None
    except KeyboardInterrupt:
        index.cancel.set()  # Ctrl-C: abort wheel downloads still running (speculative ones too)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    resolution = _resolution(result, roots, target, provider)
    excluded = {
        Excluded(r.name, str(r.specifier), None, EXCLUDE_REASON)
        for r in applicable
        if r.name in left_out
    }
    everything = excluded | _left_out(resolution, provider)
    resolution.excluded = tuple(sorted(everything, key=Excluded.sort_key))
    return resolution


def _unmasked(
    error: RequirementError, provider: Provider, parents: Sequence[AnyCandidate | None]
) -> BundlerError:
    """`error`, unless it stems from an index's PEP 658 lie: then the lie, naming `error`.

    A resolution failure may be the work of a `.metadata` file that says something its wheel
    does not (a dependency that does not exist, a narrower specifier): believed as it stands,
    the message would blame the index or the requirements. So before reporting, the wheels of
    the candidates whose metadata stated the failing requirements (`parents`, from
    resolvelib's causes, and every candidate that required `error.package`) are downloaded,
    hash-checked, and their own METADATA compared with what the PEP 658 file said
    (`Index.pep658_lie`), at most `MAX_LIE_CHECKS` of them. A wheel that cannot be checked
    (unhashed, offline and not cached, unreachable) leaves `error` as it is.
    """
    involved = [p for p in parents if isinstance(p, ProjectCandidate)]
    package = getattr(error, "package", None)
    if package is not None:
        involved += provider.requirers.get(str(canonicalize_name(package)), [])
    checked: set[str] = set()
    for candidate in involved:
        file = candidate.file
        if file.url in checked or not file.is_wheel:
            continue
        if len(checked) >= MAX_LIE_CHECKS:
            break
        checked.add(file.url)
        try:
            lie = provider.index.pep658_lie(file)
        except BundlerError:
            continue
        if lie is not None:
            return MetadataMismatch(f"{lie}; resolving with what it said failed: {error}")
    return error


def _left_out(resolution: Resolution, provider: Provider) -> set[Excluded]:
    """The dependencies of the chosen pins that --exclude / --no-deps dropped."""
    if not provider.exclude and not provider.no_deps:
        return set()
    out: set[Excluded] = set()
    for pin in resolution.pins.values():
        candidate = ProjectCandidate(pin.name, pin.version, pin.file, pin.extras)
        for dep in provider.applicable_dependencies(candidate, pin.metadata):
            if dep.name in provider.exclude:
                out.add(Excluded(dep.name, str(dep.specifier), pin.name, EXCLUDE_REASON))
            elif provider.no_deps and dep.name not in resolution.pins:
                out.add(Excluded(dep.name, str(dep.specifier), pin.name, NO_DEPS_REASON))
    return out


def _resolution(
    result: Any, roots: tuple[Requirement, ...], target: Target, provider: Provider
) -> Resolution:
    mapping: Mapping[str, AnyCandidate] = result.mapping
    projects = {k: c for k, c in mapping.items() if isinstance(c, ProjectCandidate)}
    extras: dict[str, set[str]] = {}
    children: dict[str, set[str]] = {}
    for key, cand in projects.items():
        extras.setdefault(cand.name, set()).update(cand.extras)
        children.setdefault(cand.name, set())
        for child_key in result.graph.iter_children(key):
            child = projects.get(child_key)
            if child is not None and child.name != cand.name:
                children[cand.name].add(child.name)
    pins: dict[str, Pin] = {}
    for key, cand in projects.items():
        if cand.extras:
            continue
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
