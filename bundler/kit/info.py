"""`bundler inspect`: what a kit holds, read from the archive stream without unpacking it.

`read` takes a kit archive (or its split parts) or an unpacked kit directory and returns a
`KitInfo`: file list with sizes, the wheelhouse manifest (target, packages, edges), the audit's
system packages, the source tarballs. `lines` is the terminal summary; `render_html` the
self-contained review page (bundler/templates/report.html.j2: inline CSS and an inline SVG
dependency graph, no external assets).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Container
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from bundler.errors import BadInput
from bundler.fs.atomic import atomic_write_text
from bundler.fs.regular import read_regular
from bundler.fs.sums import parse as parse_sums
from bundler.gate import snapshot as gate_snapshot
from bundler.gate.evaluate import GateResult, evaluate_carried
from bundler.gate.policy import Policy
from bundler.kit import archive as kitarchive
from bundler.kit import controller as controller_mod
from bundler.kit import layout, sources
from bundler.kit import release as release_mod
from bundler.kit.templates import template
from bundler.models import manifest as manifest_mod
from bundler.models import system_packages
from bundler.models.manifest import Manifest, Package
from bundler.models.target import Target
from bundler.wheelhouse import model

MANIFEST = "wheelhouse/manifest.json"
SYSTEM = "wheelhouse/system-packages.yml"
SOURCES_INDEX = "sources/index.json"
FINDINGS = f"wheelhouse/{gate_snapshot.FILENAME}"
WANTED = frozenset(
    {
        MANIFEST,
        SYSTEM,
        SOURCES_INDEX,
        "SHA256SUMS",
        controller_mod.MANIFEST,
        controller_mod.BOOTSTRAP_MANIFEST,
        FINDINGS,
        release_mod.FILENAME,
    }
)
TARGET_MEMBER = re.compile(
    r"wheelhouse/targets/[a-z0-9][a-z0-9_.-]{0,79}/(manifest\.json|system-packages\.yml)"
)
"""A several-target wheelhouse's per-target files inspect reads (`bundler.wheelhouse.model`)."""


class _Wanted(Container[str]):
    """The members inspect reads: `WANTED`, and each target's manifest and audit."""

    def __contains__(self, name: object) -> bool:
        return name in WANTED or (
            isinstance(name, str) and TARGET_MEMBER.fullmatch(name) is not None
        )


_MAX_READ = 64 << 20
"""The most inspect reads of one of the WANTED files (larger ones are refused by their reader)."""
_NODE_W, _NODE_H, _COL_GAP, _ROW_GAP, _BULGE = 190, 26, 70, 12, 24


@dataclass
class KitInfo:
    """Everything inspect shows about one kit."""

    name: str
    files: dict[str, int]
    manifest: Manifest | None
    """None when the kit has no readable, schema-valid manifest (a warning says why)."""
    system: system_packages.SystemPackages
    source_rows: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)
    controller_manifest: dict[str, Any] = field(default_factory=dict)
    """controller/wheelhouse/manifest.json ({} when the kit has no controller part)."""
    findings: bytes | None = None
    """wheelhouse/policy-findings.json as carried (None: fetched without --policy)."""
    bootstrap_manifest: dict[str, Any] = field(default_factory=dict)
    """controller/bootstrap/wheelhouse/manifest.json ({} when the kit has no bootstrap)."""
    targets: tuple[Manifest, ...] = ()
    """A several-target wheelhouse: each target's manifest (`manifest` then combines them:
    `bundler.wheelhouse.model.combine`); () for one target."""
    target_systems: dict[str, system_packages.SystemPackages] = field(default_factory=dict)
    """A several-target wheelhouse: each target's system-packages.yml, by target name."""
    release: release_mod.Release | None = None
    """kit-release.json (sequence, creation time: `pack --sign`/`--sequence`), None without."""
    notes: list[str] = field(default_factory=list)
    """What the summary cannot tell but the kit may still be usable for (exit 0): e.g. a
    target folder without its system-packages.yml (pack notes the same)."""

    @property
    def unknown_systems(self) -> tuple[str, ...]:
        """A several-target wheelhouse: the targets whose folder has no system-packages.yml
        (their system packages are unknown, not none; #16 fresh review, finding 2)."""
        return tuple(m.name for m in self.targets if m.name not in self.target_systems)

    @property
    def system_unknown(self) -> bool:
        """No audit result to show: a one-target kit without wheelhouse/system-packages.yml
        (fetched with --no-audit, or the file removed), or no target folder of a several-target
        kit with its own. Shown as unknown, never as 'none' (#16 review 16x, finding 2, for one
        target too)."""
        if self.targets:
            return len(self.unknown_systems) == len(self.targets)
        return self.manifest is not None and SYSTEM not in self.files

    def release_line(self) -> str:
        """The kit's place in its series, as the far side's freshness checks read it."""
        if self.release is None:
            return "release: none (no kit-release.json: verify --state cannot refuse a replay)"
        return f"release: {self.release.describe()} ({release_mod.FILENAME})"

    def evaluate_gate(
        self, policy: Policy | None = None, today: dt.date | None = None
    ) -> GateResult | None:
        """The policy gate on the carried findings (the carried policy unless `policy`), as
        of `today` (UTC by default); an unreadable snapshot becomes a warning and None."""
        try:
            carried = gate_snapshot.loads(self.findings, FINDINGS) if self.findings else None
            today = today or dt.datetime.now(dt.timezone.utc).date()
            data = self.manifest.data if self.manifest else {}
            return evaluate_carried(policy, data, carried, today, sum(self.files.values()))
        except BadInput as exc:
            self.warnings.append(str(exc))
            return None

    @property
    def target(self) -> Target | None:
        return self.manifest.target if self.manifest else None

    @property
    def packages(self) -> tuple[Package, ...]:
        return self.manifest.packages if self.manifest else ()

    @property
    def requirements(self) -> tuple[str, ...]:
        return self.manifest.requirements if self.manifest else ()

    @property
    def excluded(self) -> tuple[dict[str, Any], ...]:
        """manifest.json "excluded": requirements left out on purpose (--exclude, --no-deps)."""
        return self.manifest.excluded if self.manifest else ()

    def count(self, role: model.Role) -> int:
        return sum(1 for p in self.packages if p.role is role)

    @cached_property
    def python(self) -> model.PythonSource | None:
        """The CPython tarball the kit builds: the target's version, or the same X.Y's."""
        target = self.target
        if target is None:
            return None
        return model.python_source((r["filename"] for r in self.source_rows), target)

    @cached_property
    def pythons(self) -> dict[str, model.PythonSource | None]:
        """A several-target wheelhouse: each target's CPython tarball (None: the kit has none
        for it), by target name; {} for one target (`python`)."""
        rows = [r["filename"] for r in self.source_rows]
        return {m.name: model.python_source(rows, m.target) for m in self.targets}

    @property
    def python_source(self) -> str | None:
        """The CPython tarball for the target's interpreter, if the kit has one."""
        python = self.python
        return python.filename if python else None

    @cached_property
    def controller(self) -> controller_mod.ControllerInfo | None:
        """The controller wheelhouse (ansible-core for the controller), if the kit has one."""
        if not self.controller_manifest:
            return None
        try:
            return controller_mod.ControllerInfo.from_manifest(self.controller_manifest)
        except BadInput:
            return None

    @cached_property
    def controller_bootstrap(self) -> controller_mod.ControllerInfo | None:
        """The controller's bootstrap wheelhouse (ansible-core 2.11 for CentOS 7's python3)."""
        if not self.bootstrap_manifest:
            return None
        try:
            return controller_mod.ControllerInfo.from_manifest(self.bootstrap_manifest)
        except BadInput:
            return None

    @cached_property
    def controller_python(self) -> model.PythonSource | None:
        """The CPython tarball a controller without that Python builds, if the kit has one."""
        info = self.controller
        if info is None:
            return None
        return model.python_source((r["filename"] for r in self.source_rows), info.target)

    def controller_summary(self) -> dict[str, Any] | None:
        info = self.controller
        if info is None:
            return None
        return {
            **info.to_dict(),
            "python_source": self.controller_python.filename if self.controller_python else None,
            "problems": info.problems(),
            "bootstrap": self._bootstrap_summary(),
        }

    def _bootstrap_summary(self) -> dict[str, Any] | None:
        boot = self.controller_bootstrap
        if boot is None:
            return None
        return {
            **boot.to_dict(),
            "setup": controller_mod.BOOTSTRAP_SH,
            "problems": boot.problems(controller_mod.bootstrap_policy()),
        }

    def summary(self) -> dict[str, Any]:
        """The `inspect --json` record. A several-target kit has no one target: its top-level
        `target`, `python_version` and `python_source*` are null and each target's are in
        `targets` (they were the first target's, unlabelled: #16 review 16x, finding 9)."""
        several = len(self.targets) > 1
        target = None if several else self.target
        python = None if several else self.python
        return {
            "name": self.name,
            "files": len(self.files),
            "bytes": sum(self.files.values()),
            "target": target.to_dict() if target else None,
            "python_version": target.python_version if target else None,
            "requirements": list(self.requirements),
            "packages": {r.value: self.count(r) for r in model.Role},
            "python_source": None if several else self.python_source,
            "python_source_version": python.version if python else None,
            "python_source_fit": python.describe() if python else None,
            "sources": [r["filename"] for r in self.source_rows],
            "system_packages": (
                None if self.unknown_systems or self.system_unknown else list(self.system.packages)
            ),
            "system_packages_unknown": list(self.unknown_systems),
            "unmapped": list(self.system.unmapped),
            "controller": self.controller_summary(),
            "release": self.release.to_dict() if self.release else None,
            "excluded": list(self.excluded),
            "targets": [
                {
                    "name": m.name,
                    "target": m.target.to_dict(),
                    "packages": {r.value: len(m.by_role(r)) for r in model.Role},
                    "system_packages": (
                        list(self.target_systems[m.name].packages)
                        if m.name in self.target_systems
                        else None
                    ),
                    "python_source": _filename(self.pythons.get(m.name)),
                }
                for m in self.targets
            ],
            "warnings": self.warnings,
            "notes": self.notes,
        }

    def _system_line(self, name: str) -> str:
        if name not in self.target_systems:
            return f"unknown (no wheelhouse/targets/{name}/{model.SYSTEM_PACKAGES})"
        return ", ".join(self.target_systems[name].packages) or "none"

    def target_lines(self) -> list[str]:
        """One block per target of a several-target wheelhouse ([] for one target)."""
        out = []
        for m in self.targets:
            system = self._system_line(m.name)
            out += [
                f"target {m.name}: {m.target.describe()}",
                f"  {len(m.app)} app, {len(m.bootstrap)} pip bootstrap; install: sh "
                f"wheelhouse/install.sh --python PATH (or wheelhouse/targets/{m.name}/install.sh)",
                f"  system packages: {system}",
                f"  CPython source: {_source_line(self.pythons.get(m.name))}",
            ]
        return out

    def python_lines(self) -> list[str]:
        """One target: its Python and the kit's CPython source (several: `target_lines`)."""
        target = self.target
        return [
            f"python: {target.python_version if target else '?'}  "
            f"CPython source: {self.python_source or 'NONE (host must have the interpreter)'}",
            *([f"  {self.python.describe()}"] if self.python and not self.python.exact else []),
        ]

    def lines(self) -> list[str]:
        target = self.target
        if self.targets:
            shown = f"{len(self.targets)} targets: {', '.join(m.name for m in self.targets)}"
        else:
            shown = target.describe() if target else "unknown (no readable manifest)"
        out = [
            f"kit: {self.name}  ({len(self.files)} files, {sum(self.files.values()):,} bytes)",
            self.release_line(),
            f"target: {shown}",
            *(self.target_lines() or self.python_lines()),
            f"requirements: {', '.join(self.requirements) or '-'}",
            f"packages: {self.count(model.Role.APP)} app, "
            f"{self.count(model.Role.BOOTSTRAP)} pip bootstrap",
        ]
        for p in sorted(self.packages, key=lambda p: p.name.lower()):
            out.append(f"  {p.name}=={p.version}  {_one_line(p.license) or '?'}  {p.filename}")
            if p.yanked is not None:
                out.append(f"    yanked: {_one_line(p.yanked) or 'no reason given'}")
        for e in self.excluded:
            who = f"required by {e.get('required_by')}" if e.get("required_by") else "given"
            out.append(
                f"excluded: {e.get('name')}{e.get('specifier') or ''} ({who}; {e.get('reason')}): "
                "not in the kit, install it on the target another way"
            )
        out.append(f"sources: {', '.join(r['filename'] for r in self.source_rows) or 'none'}")
        system = self.system.packages
        distro = self.system.distro or "?"
        shown = ", ".join(system) if system else "none"
        unknown = self.unknown_systems
        if self.system_unknown and not self.targets:
            shown = f"unknown (no {SYSTEM}: fetched with --no-audit?)"
        elif unknown and len(unknown) == len(self.targets):
            shown = f"unknown (no target folder has its {model.SYSTEM_PACKAGES})"
        elif unknown:
            shown = f"unknown for {', '.join(unknown)}; the other targets need: {shown}"
        out.append(f"system packages ({distro}): {shown}")
        if self.system.unmapped:
            out.append(f"unmapped libraries: {', '.join(self.system.unmapped)}")
        out += self.controller_lines()
        out += [f"note: {n}" for n in self.notes]
        out += [f"warning: {w}" for w in self.warnings]
        return out

    def controller_lines(self) -> list[str]:
        info = self.controller
        if info is None:
            return ["controller: none (no ansible-core in the kit)"]
        source = self.controller_python
        return [
            f"controller: {info.describe()}",
            f"  setup: sh {controller_mod.SETUP_SH}; CPython {info.target.short_version} source: "
            f"{source.filename if source else 'NONE'}",
            *(f"  problem: {p}" for p in info.problems()),
            *self._bootstrap_lines(),
        ]

    def _bootstrap_lines(self) -> list[str]:
        boot = self.controller_bootstrap
        if boot is None:
            return ["  bootstrap: none (a controller without that CPython builds it another way)"]
        return [
            f"  bootstrap: {boot.describe()}",
            f"    run: sh {controller_mod.BOOTSTRAP_SH} (builds the CPython above with "
            f"{controller_mod.BUILD_PLAYBOOK}, then setup.sh)",
            *(f"    problem: {p}" for p in boot.problems(controller_mod.bootstrap_policy())),
        ]


def _filename(python: model.PythonSource | None) -> str | None:
    return python.filename if python else None


def _source_line(python: model.PythonSource | None) -> str:
    """'sources/Python-3.6.15.tgz' (with how it fits when not the exact version), or NONE."""
    if python is None:
        return "NONE (hosts of this target must have the interpreter)"
    fit = "" if python.exact else f" ({python.describe()})"
    return f"sources/{python.filename}{fit}"


def read(paths: list[Path]) -> KitInfo:
    """Inspect a kit archive, its parts, or an unpacked kit directory."""
    if len(paths) == 1 and paths[0].is_dir():
        return _from_dir(paths[0])
    parts = kitarchive.parts_of(paths)
    listing = kitarchive.scan(parts, read=_Wanted())
    if listing.top is None:
        raise BadInput(f"{kitarchive.archive_name(parts)}: the archive is empty")
    contents = listing.contents
    return _build(listing.top, listing.files, contents, listing.problems)


def _from_dir(directory: Path) -> KitInfo:
    if not (directory / "SHA256SUMS").is_file() and not (directory / MANIFEST).is_file():
        raise BadInput(f"{directory} is not an unpacked kit (no SHA256SUMS, no {MANIFEST})")
    files = {
        p.relative_to(directory).as_posix(): p.lstat().st_size
        for p in sorted(directory.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }
    contents: dict[str, bytes] = {}
    warnings: list[str] = []
    for name in sorted(n for n in files if n in _Wanted()):
        try:
            contents[name] = read_regular(directory / name, _MAX_READ)
        except BadInput as exc:
            warnings.append(str(exc))
    return _build(directory.name, files, contents, warnings)


def _build(
    name: str, files: dict[str, int], contents: dict[str, bytes], warnings: list[str]
) -> KitInfo:
    """The KitInfo of the named members' bytes; every unusable one becomes a warning."""
    warnings = list(warnings)
    manifest: Manifest | None = None
    targets: tuple[Manifest, ...] = ()
    systems: dict[str, system_packages.SystemPackages] = {}
    unreadable: set[str] = set()  # target folders whose system-packages.yml is a warning
    if MANIFEST in contents:
        try:
            document = manifest_mod.decode(contents[MANIFEST], MANIFEST)
            found = manifest_mod.parse_any(document, MANIFEST)
            if isinstance(found, manifest_mod.TargetsIndex):
                targets = _targets(found, contents)
                manifest = model.combine(targets)
                systems = _target_systems(found, contents, warnings, unreadable)
            else:
                manifest = found
        except manifest_mod.BadManifest as exc:
            warnings.append(str(exc))
    else:
        warnings.append(f"{MANIFEST}: missing")
    system = system_packages.SystemPackages()
    if SYSTEM in contents:
        try:
            system = system_packages.loads(contents[SYSTEM], SYSTEM)
        except BadInput as exc:
            warnings.append(str(exc))
    if systems and not system:  # several targets: what any of them needs
        system = system_packages.SystemPackages(
            distro=next(iter(systems.values())).distro,
            packages=tuple(sorted({p for one in systems.values() for p in one.packages})),
            unmapped=tuple(sorted({u for one in systems.values() for u in one.unmapped})),
        )
    rows = _source_rows(files, contents, warnings)
    controller = _controller_manifest(contents, controller_mod.MANIFEST, warnings)
    bootstrap = _controller_manifest(contents, controller_mod.BOOTSTRAP_MANIFEST, warnings)
    release = None
    if release_mod.FILENAME in contents:
        try:
            release = release_mod.parse(contents[release_mod.FILENAME], release_mod.FILENAME)
        except BadInput as exc:
            warnings.append(str(exc))
    info = KitInfo(
        name,
        files,
        manifest,
        system,
        rows,
        warnings,
        controller,
        contents.get(FINDINGS),
        bootstrap,
        targets,
        systems,
        release,
    )
    info.notes += [
        f"wheelhouse/targets/{name} has no {model.SYSTEM_PACKAGES} (run `bundler audit`): "
        "its system packages are unknown"
        for name in info.unknown_systems
        if name not in unreadable
    ]
    return info


def _controller_manifest(
    contents: dict[str, bytes], path: str, warnings: list[str]
) -> dict[str, Any]:
    """A controller manifest, schema-checked like the application's ({} when absent)."""
    if path not in contents:
        return {}
    try:  # ControllerInfo reads it as a dict
        return manifest_mod.check(manifest_mod.decode(contents[path], path), path)
    except manifest_mod.BadManifest as exc:
        warnings.append(str(exc))
        return {}


def _targets(index: manifest_mod.TargetsIndex, contents: dict[str, bytes]) -> tuple[Manifest, ...]:
    """Each target's manifest of a several-target wheelhouse, checked against the top one
    (`model.check_members`); BadManifest naming the member otherwise."""
    names = [f"wheelhouse/{ref.dir}/{manifest_mod.FILENAME}" for ref in index.targets]
    manifests = []
    for name in names:
        if name not in contents:
            raise manifest_mod.BadManifest(name, "missing")
        manifests.append(manifest_mod.parse(manifest_mod.decode(contents[name], name), name))
    model.check_members(index, manifests, MANIFEST, names)
    return tuple(manifests)


def _target_systems(
    index: manifest_mod.TargetsIndex,
    contents: dict[str, bytes],
    warnings: list[str],
    unreadable: set[str],
) -> dict[str, system_packages.SystemPackages]:
    """Each target's system-packages.yml by target name; a missing one is left out (unknown),
    an unusable one is a warning (and its target's name goes into `unreadable`)."""
    found = {}
    for ref in index.targets:
        name = f"wheelhouse/{ref.dir}/{model.SYSTEM_PACKAGES}"
        if name not in contents:
            continue
        try:
            found[ref.name] = system_packages.loads(contents[name], name)
        except BadInput as exc:
            warnings.append(str(exc))
            unreadable.add(ref.name)
    return found


def _source_rows(
    files: dict[str, int], contents: dict[str, bytes], warnings: list[str]
) -> list[dict[str, Any]]:
    index: dict[str, dict[str, Any]] = {}
    if SOURCES_INDEX in contents:
        try:
            index = _sources_index(contents[SOURCES_INDEX])
        except BadInput as exc:
            warnings.append(f"{SOURCES_INDEX}: {exc}")
    sums, problems = parse_sums(
        contents.get("SHA256SUMS", b"").decode("utf-8", errors="replace"), "SHA256SUMS"
    )
    warnings.extend(problems)
    rows = []
    for path, size in sorted(files.items()):
        if not path.startswith("sources/") or path == SOURCES_INDEX:
            continue
        filename = path.removeprefix("sources/")
        row = index.get(filename, {})
        rows.append(
            {
                "filename": filename,
                "size": size,
                "sha256": sums.get(path) or row.get("sha256"),
                "url": row.get("url"),
                **(
                    {"project": row.get("project"), "version": row.get("version")}
                    if row
                    else sources.describe_file(Path(filename))
                ),
            }
        )
    return rows


_SOURCE_FIELDS = ("filename", "project", "version", "url", "sha256")


def _sources_index(raw: bytes) -> dict[str, dict[str, Any]]:
    """sources/index.json rows by file name, each field a string or null (else BadInput)."""
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BadInput(f"unreadable ({str(exc)[:200]})") from None
    files = doc.get("files", []) if isinstance(doc, dict) else None
    if not isinstance(files, list):
        raise BadInput("no list of files")
    index: dict[str, dict[str, Any]] = {}
    for i, row in enumerate(files):
        if not isinstance(row, dict) or not isinstance(row.get("filename"), str):
            raise BadInput(f"files[{i}]: not a record with a filename")
        bad = [k for k in _SOURCE_FIELDS if not isinstance(row.get(k), str | None)]
        if bad or any(len(row.get(k) or "") > 4096 for k in _SOURCE_FIELDS):
            raise BadInput(f"files[{i}]: {', '.join(bad) or 'a field'} is not a short string")
        index[row["filename"]] = {k: row.get(k) for k in _SOURCE_FIELDS}
    return index


def _one_line(text: str | None, limit: int = 60) -> str | None:
    """A license or summary for a terminal line: first line, cut (some are whole texts)."""
    if not text:
        return text
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= limit else first[: limit - 3] + "..."


# -- the HTML report ------------------------------------------------------------------------------


def render_html(info: KitInfo, gate: GateResult | None = None) -> str:
    """The self-contained review page; `gate` (KitInfo.evaluate_gate) opens it."""
    target = info.target
    packages = sorted(info.packages, key=lambda p: (p.role.value, p.name.lower()))
    # the summary cards: every target of a several-target kit, in order (Python and Platform
    # each 'A / B / C'), not only the first's
    card_targets = [m.target for m in info.targets] or ([target] if target else [])
    return template("report.html.j2").render(
        info=info,
        target=target,
        card_targets=card_targets,
        Role=model.Role,
        packages=packages,
        graph=dependency_graph(info.manifest),
        total=sum(info.files.values()),
        system=info.system,
        sources=info.source_rows,
        files=sorted(info.files.items()),
        gate=gate,
    )


def write_html(info: KitInfo, path: Path, gate: GateResult | None = None) -> Path:
    """Write the review page to `path` (atomically). Refused (BadInput, nothing written) when
    `path` lies inside an unpacked kit or a wheelhouse (`layout.kit_containing`): the page
    would be an extra file there, and `bundler verify` would then fail the kit."""
    inside = layout.kit_containing(path)
    if inside is not None:
        beside = inside.parent / f"{inside.name}-report.html"
        raise BadInput(
            f"{path}: inside {inside}, where `bundler verify` fails on any file the kit does "
            f"not list; write the report outside it (e.g. --html {beside})"
        )
    atomic_write_text(path, render_html(info, gate))
    return path


@dataclass(frozen=True)
class Node:
    name: str
    label: str
    x: int
    y: int
    root: bool


@dataclass(frozen=True)
class Graph:
    """A layered drawing of the dependency edges: columns by depth from the roots."""

    nodes: tuple[Node, ...]
    edges: tuple[tuple[Node, Node], ...]
    width: int
    height: int
    paths: tuple[str, ...] = ()
    """SVG path data per edge, in `edges` order."""
    node_w: int = _NODE_W
    node_h: int = _NODE_H


def dependency_graph(manifest: Manifest | None) -> Graph:
    """Lay out app packages left (roots) to right (leaves) from manifest.json's edges."""
    if manifest is None:
        return Graph((), (), 20, 20)
    packages = {p.key: p for p in manifest.app}
    versions: dict[str, list[str]] = {}  # a several-target kit: each target's version of a name
    for p in sorted(manifest.app, key=lambda p: _version_key(p.version)):
        if p.version not in versions.setdefault(p.key, []):
            versions[p.key].append(p.version)
    edges = [
        (str(canonicalize_name(a)), str(canonicalize_name(b)))
        for a, b in manifest.edges
        if str(canonicalize_name(a)) in packages and str(canonicalize_name(b)) in packages
    ]
    roots = {_root_name(r) for r in manifest.requirements} & set(packages)
    depth = _depths(sorted(packages), edges, roots)
    columns: dict[int, list[str]] = {}
    for name in sorted(packages, key=lambda n: (depth[n], n)):
        columns.setdefault(depth[name], []).append(name)
    nodes: dict[str, Node] = {}
    for col, names in columns.items():
        for row, name in enumerate(names):
            p = packages[name]
            label = f"{p.name} {' / '.join(versions[name])}"  # not only the last target's
            if len(label) > 28:
                label = label[:27] + "…"
            x = 10 + col * (_NODE_W + _COL_GAP)
            y = 10 + row * (_NODE_H + _ROW_GAP)
            nodes[name] = Node(name, label, x, y, name in roots)
    rows = max((len(c) for c in columns.values()), default=0)
    width = 20 + max(len(columns), 1) * (_NODE_W + _COL_GAP) - _COL_GAP
    height = 20 + max(rows, 1) * (_NODE_H + _ROW_GAP) - _ROW_GAP
    drawn = tuple((nodes[a], nodes[b]) for a, b in sorted(set(edges)))
    paths = tuple(_edge_path(a, b) for a, b in drawn)
    return Graph(tuple(nodes.values()), drawn, width, height + _BULGE, paths)


def _version_key(version: str) -> tuple[int, Version | str]:
    """Sort key of a manifest version: PEP 440 order, an invalid one after (as text)."""
    try:
        return (0, Version(version))
    except InvalidVersion:
        return (1, version)


def _edge_path(a: Node, b: Node) -> str:
    """An SVG cubic from a's right side to b's left side; long or backward edges arc below."""
    x1, y1 = a.x + _NODE_W, a.y + _NODE_H // 2
    x2, y2 = b.x, b.y + _NODE_H // 2
    if 0 < x2 - x1 <= _COL_GAP:
        return f"M{x1},{y1} C{x1 + 35},{y1} {x2 - 35},{y2} {x2},{y2}"
    low = max(a.y, b.y) + _NODE_H + _BULGE
    return f"M{x1},{y1} C{x1 + 60},{low} {x2 - 60},{low} {x2},{y2}"


def _root_name(text: str) -> str:
    try:
        return str(canonicalize_name(Requirement(text).name))
    except InvalidRequirement:
        return ""


def _depths(names: list[str], edges: list[tuple[str, str]], roots: set[str]) -> dict[str, int]:
    """Longest distance from a root (roots and orphans 0); a cycle cannot loop forever."""
    depth = {n: 0 for n in names}
    for _ in range(len(names)):
        changed = False
        for a, b in edges:
            if b in roots or a == b:
                continue
            if depth[a] + 1 > depth[b] and depth[a] + 1 < len(names):
                depth[b] = depth[a] + 1
                changed = True
        if not changed:
            break
    return depth
