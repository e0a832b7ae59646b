"""Explaining a failed resolution: resolvelib's causes turned into one error with data.

`explain` picks which of the kit's errors it is, in this order: no release fits the target's
Python (`NoWheelForTarget` with the Requires-Python of each), no release of a project has a
file for the target (`NoWheelForTarget`: what exists per version, and a hint such as
`--platform manylinux2014` or `--build-pure`), no version matches the specifier or only yanked
ones do (`NoMatchingVersion`), else two requirements exclude each other
(`ResolutionConflict`, each side with who asked). Version lists hold only versions the
requirement admits; pre-releases only when it asks for one or nothing else exists (the rule
of `packaging.specifiers.SpecifierSet.filter`, which pip applies to candidates).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import parse_wheel_filename
from packaging.version import Version

from bundler.errors import (
    NoMatchingVersion,
    NoWheelForTarget,
    ResolutionConflict,
    ResolutionError,
)
from bundler.models.link import DistFile
from bundler.models.target import Target
from bundler.policy.manylinux import manylinux_policy
from bundler.resolve.model import (
    NO_WHEEL,
    AnyCandidate,
    AnyReq,
    ProjectCandidate,
    ProjectReq,
    PythonReq,
    Release,
)
from bundler.resolve.provider import Provider

SHOWN_VERSIONS = 3
"""How many versions a 'what exists' list describes (newest first)."""
SHOWN_AVAILABLE = 5

_Info = tuple[AnyReq, AnyCandidate | None]


def explain(causes: Sequence[Any], provider: Provider) -> ResolutionError:
    """Turn resolvelib's causes (`RequirementInformation(requirement, parent)`) into one error."""
    python: list[tuple[PythonReq, AnyCandidate | None]] = []
    by_name: dict[str, list[tuple[ProjectReq, AnyCandidate | None]]] = {}
    for cause in causes:
        req = cause.requirement
        if isinstance(req, PythonReq):
            python.append((req, cause.parent))
        else:
            by_name.setdefault(req.name, []).append((req, cause.parent))
    if python:
        return _no_python(python, provider)
    for name, infos in by_name.items():
        releases = list(provider.releases(name))
        if all(r.file is None for r in releases):
            return no_wheel(name, infos, releases, provider)
        for req, _ in infos:
            problem = _requirement_problem(name, req, infos, releases, provider)
            if problem is not None:
                return problem
    conflicts = [(req.text, _parent(parent)) for infos in by_name.values() for req, parent in infos]
    names = sorted(by_name)
    return ResolutionConflict(
        f"conflicting requirements for {', '.join(names)}",
        package=names[0] if len(names) == 1 else None,
        conflicts=conflicts,
    )


def _no_python(
    infos: list[tuple[PythonReq, AnyCandidate | None]], provider: Provider
) -> NoWheelForTarget:
    lines = [f"{parent} requires Python {req.specifier}" for req, parent in infos]
    parents = [p for _, p in infos if isinstance(p, ProjectCandidate)]
    package = parents[0].name if parents else None
    return NoWheelForTarget(
        f"no release fits Python {provider.target.python_version}: " + "; ".join(lines),
        target=provider.target.describe(),
        versions=sorted({str(p.version) for p in parents}, key=Version, reverse=True),
        requirement=package,
    )


def _requirement_problem(
    name: str,
    req: ProjectReq,
    infos: list[tuple[ProjectReq, AnyCandidate | None]],
    releases: list[Release],
    provider: Provider,
) -> ResolutionError | None:
    """Why no release can meet `req` alone (None: some can, so it is a conflict)."""
    ok = [r.version for r in releases if r.file and (not r.yanked or req.exact_pin)]
    if list(req.specifier.filter(ok)):
        return None
    chain = _chain(infos, req, provider)
    with_file = [r.version for r in releases if r.file]
    yanked = list(req.specifier.filter(with_file, prereleases=True))
    if yanked:
        return NoMatchingVersion(
            f"only yanked releases of {name} match {req.text}",
            package=name,
            requirement=req.text,
            chain=chain,
            versions=_newest(yanked),
            hint="pin one exactly with == to accept it",
        )
    everything = [r.version for r in releases]
    if list(req.specifier.filter(everything, prereleases=True)):
        return no_wheel(name, infos, releases, provider, req)
    return NoMatchingVersion(
        f"no version of {name} matches {req.text}",
        package=name,
        requirement=req.text,
        chain=chain,
        versions=_newest(_final_unless_asked(everything, req))[:SHOWN_AVAILABLE],
    )


def _parent(parent: AnyCandidate | None) -> str:
    return "your requirements" if parent is None else str(parent)


def _chain(
    infos: Sequence[tuple[ProjectReq, AnyCandidate | None]],
    req: ProjectReq | None,
    provider: Provider,
) -> list[str]:
    """Root -> ... -> the first parent of `req` (of any of `infos` when None); [] for a root."""
    parent = next(
        (p for r, p in infos if p is not None and (req is None or r == req)),
        None,
    )
    if not isinstance(parent, ProjectCandidate):
        return []
    return provider.chain(parent.name)


def _final_unless_asked(versions: list[Version], req: ProjectReq) -> list[Version]:
    """Pre-releases only when `req` asks for one (or nothing else exists)."""
    if req.specifier.prereleases:
        return versions
    return list(SpecifierSet().filter(versions))


def _newest(versions: Iterable[Version]) -> list[str]:
    return [str(v) for v in sorted(set(versions), reverse=True)]


def no_wheel(
    name: str,
    infos: Sequence[tuple[ProjectReq, AnyCandidate | None]],
    releases: list[Release],
    provider: Provider,
    req: ProjectReq | None = None,
) -> NoWheelForTarget:
    """'X has no wheel for the target; required by a -> b; what exists: ...; hint: ...'.

    Only versions the requirement admits are described (every requirement on the project
    when `req` is None); pre-releases only when it asks for one or nothing else exists."""
    target = provider.target
    spec = req.specifier if req is not None else _combined(r for r, _ in infos)
    admitted = set(spec.filter([r.version for r in releases]))
    shown = [r for r in releases if r.version in admitted]
    versions = {r.version for r in shown}
    project = provider.index.project(name)
    files = [f for v in sorted(versions, reverse=True) for f in project.files(v)]
    excluded = sorted({r.excluded for r in shown if r.excluded and r.excluded != NO_WHEEL})
    listed = [r.version for r in shown[:SHOWN_VERSIONS]]
    return NoWheelForTarget(
        package=name,
        requirement=req.text if req is not None else None,
        chain=_chain(infos, req, provider),
        versions=[str(v) for v in listed],
        hint=_hint(files, target, provider.build_pure) or None,
        target=target.describe(),
        what_exists=_what_exists(files, listed, target),
        excluded=excluded,
    )


def _combined(reqs: Iterable[ProjectReq]) -> SpecifierSet:
    spec = SpecifierSet()
    for r in reqs:
        spec &= r.specifier
    return spec


def _what_exists(files: list[DistFile], versions: list[Version], target: Target) -> dict[str, str]:
    """Per version: 'sdist', and the Python tags and platforms of its wheels for the machine."""
    out: dict[str, str] = {}
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
        out[str(version)] = "; ".join(kinds) or "no files"
    return out


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
            level = glibc_level(tag.platform)
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


def glibc_level(platform: str) -> tuple[int, str]:
    """'manylinux2014_x86_64' -> (17, 'manylinux2014'); 'manylinux_2_28_x86_64' -> (28, ...);
    (0, platform) for a tag that is no manylinux level (never above a ceiling). The levels come
    from the one manylinux policy (`bundler.policy.manylinux`)."""
    level = manylinux_policy().parse(platform)
    return (level.glibc[1], level.name) if level is not None else (0, platform)
