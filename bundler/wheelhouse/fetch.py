"""The `fetch` pipeline: a hash-locked wheelhouse for a *target* interpreter, staged then swapped.

    target -> requirements (or the local project, built into a pure wheel) -> resolve -> pip
    bootstrap decision (+ resolve pip/setuptools/wheel) -> download -> requirements.lock,
    bootstrap.lock, manifest.json, install.sh -> audit -> swap into the output folder

Everything is written into a stage (`bundler.fs.staging`: a work directory next to the output
folder, or inside it when it is a mount point) and swapped into place by one exchange-rename
once complete: an error, Ctrl-C, SIGTERM or SIGKILL leaves the output folder as it was (the next
run sweeps what a killed one left). An existing output folder is replaced only if it is empty or
a wheelhouse for the same target (another target's needs `replace=True`), never an unrelated
directory. Operating-system errors a user can cause (a full disk, a read-only cache) become one
`FilesystemError` line naming the path.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

from bundler import __version__
from bundler.errors import (
    WRITTEN_NOT_REHEARSED,
    BadInput,
    BundlerError,
    MetadataMismatch,
    NoWheelForTarget,
    ResolutionError,
)
from bundler.fs import sums
from bundler.fs.cache import Cache
from bundler.fs.hashing import sha256_file
from bundler.fs.oserrors import user_errors
from bundler.fs.staging import Stage, staging
from bundler.gate import osv, snapshot
from bundler.gate import policy as gate_policy
from bundler.gate.evaluate import GateResult, PackageLicense, evaluate, evaluate_targets
from bundler.gate.policy import Policy
from bundler.index.client import DEFAULT_INDEX, Index, metadata_lie
from bundler.models import manifest
from bundler.models.link import DistFile
from bundler.models.metadata import read_wheel_metadata
from bundler.models.source import find_links_source, index_source
from bundler.models.target import Target, check_distinct
from bundler.models.wheel import check_wheel_members
from bundler.net.download import download_all
from bundler.net.settings import NetworkSettings
from bundler.net.transport import Transport
from bundler.resolve.model import Excluded, exclude_hint
from bundler.resolve.resolver import Pin, Resolution, resolve
from bundler.wheelhouse import build, compiled, installer, lockfile, model, pylock, reqfile
from bundler.wheelhouse import output as output_mod
from bundler.wheelhouse import rehearse as rehearse_mod
from bundler.wheelhouse.names import LockNames, lock_names

if TYPE_CHECKING:  # the audit (yaml, pyelftools) is imported only when it runs: not for --no-audit
    from bundler.audit.report import AuditReport

CONVERTER_DIR = Path(__file__).resolve().parents[2] / "converter"
"""The payload project of this repository (bundled when no requirement is given)."""

ProgressCallback = Callable[[int, int], None]
StepCallback = Callable[[str], None]


@dataclass(frozen=True)
class FetchOptions:
    """Everything `bundler fetch` takes."""

    target: Target
    targets: tuple[Target, ...] = ()
    """Several targets (`--target` given more than once): one wheelhouse with one pool of
    wheel files and a `targets/NAME/` folder per target (`bundler.wheelhouse.model`); then
    `target` is the first of them. Empty or one: the one-target layout for `target`."""
    requirements: tuple[str, ...] = ()
    requirement_files: tuple[Path, ...] = ()
    output: Path = Path("wheelhouse")
    index_urls: tuple[str, ...] = (DEFAULT_INDEX,)
    """Simple indexes, http(s) or `file:` (a PEP 503/691 tree on disk); none = --no-index."""
    find_links: tuple[str, ...] = ()
    """Local directories, local HTML pages (path or `file:` URL) or http(s) pages of links."""
    cache_dir: Path | None = None
    network: NetworkSettings = field(default_factory=NetworkSettings)
    """Timeouts, deadlines, size limits, retries, parallel jobs, offline (one frozen value)."""
    allow_unhashed: bool = False
    """Take remote files the index lists without a sha256 (hash computed from the download;
    the manifest records `"hash_source": "computed"`)."""
    replace: bool = False
    """Replace an output wheelhouse made for another target (refused otherwise)."""
    build_pure: bool = False
    exclude: tuple[str, ...] = ()
    """Projects left out on purpose (--exclude): not resolved nor bundled, recorded."""
    no_deps: bool = False
    """Only the requirements given, none of their dependencies (--no-deps), recorded."""
    audit: bool = True
    distro: str = "centos7"
    project: Path | None = None
    """The local project bundled when no requirement is given (default: the repo's converter/)."""
    build_python: Path | None = None
    """With `build_pure`: the target's interpreter, which builds each sdist in a venv of build
    requirements resolved for the target (`build.build_with_target`); None builds on the host,
    which only sdists with static metadata (PEP 643) may use."""
    rehearse: Path | None = None
    """An interpreter of the target's version: rehearse the install with it at the end
    (`bundler.wheelhouse.rehearse`); None skips the rehearsal."""
    rehearse_given: tuple[Path, ...] = ()
    """Several targets: the interpreters the user named to rehearse with (`--rehearse`, any
    number): each must be of one target's X.Y, one per X.Y (`BadInput` before any download);
    each is used for the target of its X.Y before any of `rehearse_pythons`."""
    rehearse_pythons: tuple[Path, ...] = ()
    """Several targets: interpreters found to rehearse with (the targets' exact versions from
    pyenv or PATH), each used for the target of its X.Y when none was given for it (`rehearse`
    counts as one of them)."""
    policy: Path | None = None
    """The policy gate's TOML file (bundler.gate.policy); None: no gate."""
    vuln_db: Path | None = None
    """An OSV export zip to match against instead of the OSV API."""
    osv_url: str | None = None
    """The OSV API base URL (default: the policy's osv_url)."""
    on_progress: ProgressCallback | None = field(default=None, compare=False)
    """Download progress in bytes: (done, total)."""
    on_step: StepCallback | None = field(default=None, compare=False)
    """One short line per pipeline step ('resolving', 'downloading 12 files', ...)."""

    @property
    def several(self) -> bool:
        """More than one target: the several-target layout."""
        return len(self.targets) > 1

    @property
    def offline(self) -> bool:
        return self.network.offline

    @property
    def no_index(self) -> bool:
        """--no-index: only --find-links and the local project are asked."""
        return not self.index_urls


@dataclass(frozen=True)
class PackageRecord:
    """One file of the wheelhouse as recorded in manifest.json."""

    name: str
    version: str
    filename: str
    sha256: str
    size: int
    url: str | None
    """The http(s) URL the file was downloaded from; None for a file read from a local source
    (``source`` "local") or built on this machine (``source`` "built", origin in
    ``built_from``): a host path is not a portable URL and must not leak into the kit."""
    role: model.Role
    """Which lock lists it: requirements.lock (APP) or bootstrap.lock (BOOTSTRAP)."""
    requires: tuple[str, ...]
    via: tuple[str, ...]
    license: str | None
    summary: str | None
    built_from: str | None
    yanked: str | None = None
    """The index's yank reason ('' when none given) when a yanked release was pinned; None
    when not yanked (PEP 592)."""
    hash_source: str = "index"
    """'index' (the index gave the sha256), 'local' (hashed here from a local source or a
    build), 'requirements' (no index hash, but a hashed -r file's --hash matched) or
    'computed' (a remote file without an index hash, --allow-unhashed)."""
    source: str = "remote"
    """'remote' (downloaded from ``url``), 'local' (read from a local source the user named:
    a --find-links directory or page, a `file:` index) or 'built' (built here)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "filename": self.filename,
            "sha256": self.sha256,
            "size": self.size,
            "url": self.url,
            "role": self.role.value,
            "requires": list(self.requires),
            "via": list(self.via),
            "license": self.license,
            "summary": self.summary,
            "built_from": self.built_from,
            "yanked": self.yanked,
            "hash_source": self.hash_source,
            "source": self.source,
        }


@dataclass(frozen=True)
class FetchResult:
    """What a fetch produced (paths are inside the final output folder)."""

    output: Path
    target: Target
    roots: tuple[str, ...]
    packages: tuple[PackageRecord, ...]
    bootstrap: installer.BootstrapDecision
    requirements_lock: Path
    bootstrap_lock: Path | None
    manifest: Path
    pylock: Path
    """pylock.toml (PEP 751): the same application lock in the standard format."""
    install_sh: Path
    audit: AuditReport | None = None
    """The system-library audit (None with --no-audit)."""
    excluded: tuple[Excluded, ...] = ()
    """Requirements left out on purpose (--exclude, --no-deps) that apply to the target."""
    warnings: tuple[str, ...] = ()
    """One line each, e.g. a yanked release taken because it is pinned."""
    rehearsal: rehearse_mod.Rehearsal | None = None
    """The install rehearsal on the finished wheelhouse (None when not asked for)."""
    gate: GateResult | None = None
    """The policy gate's verdict (None without --policy); the wheelhouse is written either way."""
    targets: tuple[FetchResult, ...] = ()
    """A several-target fetch: one result per target (its folder as `output`, its own locks,
    install.sh, audit, rehearsal); the top result's `packages` are the pool's files, once."""

    @property
    def rehearsals(self) -> tuple[rehearse_mod.Rehearsal, ...]:
        """Every rehearsal of this fetch (one per target rehearsed)."""
        own = (self.rehearsal,) if self.rehearsal is not None else ()
        return own + tuple(r.rehearsal for r in self.targets if r.rehearsal is not None)

    @property
    def total_size(self) -> int:
        return sum(p.size for p in self.packages)

    @property
    def app_packages(self) -> tuple[PackageRecord, ...]:
        return tuple(p for p in self.packages if p.role is model.Role.APP)

    def to_dict(self) -> dict[str, Any]:
        """What `bundler fetch --json` prints: paths, target, roots, packages, bootstrap."""
        return {
            "output": str(self.output),
            "target": self.target.to_dict(),
            "roots": list(self.roots),
            "packages": [p.to_dict() for p in self.packages],
            "total_size": self.total_size,
            "bootstrap": self.bootstrap.to_dict(installer.BOOTSTRAP_PROJECTS),
            "requirements_lock": str(self.requirements_lock),
            "pylock": str(self.pylock),
            "bootstrap_lock": str(self.bootstrap_lock) if self.bootstrap_lock else None,
            "manifest": str(self.manifest),
            "install_sh": str(self.install_sh),
            "system_packages": list(self.audit.system_packages) if self.audit else None,
            "excluded": [e.to_dict() for e in self.excluded],
            "warnings": list(self.warnings),
            "rehearsal": (
                {
                    "python": str(self.rehearsal.python),
                    "offline": self.rehearsal.offline,
                    "imported": list(self.rehearsal.imported),
                    "problems": list(self.rehearsal.problems),
                    "reused": self.rehearsal.reused,
                    "skipped": self.rehearsal.skipped,
                }
                if self.rehearsal is not None
                else None
            ),
            "policy": _gate_dict(self.gate) if self.gate else None,
            "targets": [t.to_dict() for t in self.targets],
        }


def _gate_dict(gate: GateResult) -> dict[str, Any]:
    """The policy gate's verdict in `fetch --json` (the findings are in policy-findings.json)."""
    return {
        "source": gate.policy.source,
        "as_of": gate.today.isoformat(),
        "violations": list(gate.violations),
        "warnings": list(gate.warnings),
        "vulnerabilities": {v.finding.id: v.status for v in gate.vulnerabilities},
    }


@dataclass
class _Plan:
    """The resolved content of the wheelhouse, before anything is written."""

    roots: tuple[str, ...]
    given: reqfile.RequirementSet
    """The requirements as given (with the hashes of a hashed -r file)."""
    resolution: Resolution
    bootstrap: installer.BootstrapDecision
    bootstrap_resolution: Resolution | None
    local: dict[str, Path] = field(default_factory=dict)
    """Canonical name -> project directory, for the wheel built from a local project."""
    names: dict[model.Role, LockNames] = field(default_factory=dict)
    """Role -> how its lock spells its projects (installer-true names)."""
    index_warnings: tuple[str, ...] = ()
    """What the index client warned of while resolving (`Index.warnings`)."""


def fetch(options: FetchOptions) -> FetchResult:
    """Run the pipeline; the output folder changes only if everything succeeded.

    Raises `BundlerError` subclasses (one line each), `FilesystemError` for a full disk, a
    read-only or busy place, a missing permission.
    """
    output = Path(options.output).resolve()
    _check_targets(options)
    _check_rehearse_given(options)
    _check_sources(options)
    if (options.vuln_db or options.osv_url) and not options.policy:
        raise BadInput("--vuln-db and --osv-url need --policy FILE (the rules to check against)")
    policy = gate_policy.load(options.policy) if options.policy else None  # before downloads
    cache = Cache(options.cache_dir)
    output_mod.check_cache(output, cache.root)
    with _Venvs(_rehearse_pythons(options), cache) as venvs:
        with user_errors(output):
            cache.sweep()
            with staging(output) as stage, user_errors(output, hide=stage.work):
                _check_output(output, options)
                if options.audit:
                    from bundler.audit.report import load_profile  # not loaded for --no-audit

                    load_profile(options.distro)  # a bad --distro fails before downloads
                if not rehearse_mod.remembered_any(cache):
                    venvs.start()  # no rehearsal to reuse: its venv is made meanwhile
                if options.several:
                    result = _run_several(options, cache, stage, policy, venvs.start)
                else:
                    result = _run(options, cache, stage, policy, venvs.start)
        try:
            if options.several:
                return _rehearse_several(options, result, cache, venvs)
            if options.rehearse is None:
                return result
            # After the swap, outside the stage: the rehearsal reads the committed wheelhouse.
            _step(options, f"rehearsing the install with {options.rehearse}")
            rehearsal = rehearse_mod.rehearse(
                result.output, options.rehearse, cache=cache, prepared=venvs.take(options.rehearse)
            )
        except KeyboardInterrupt as exc:  # the output is already the new wheelhouse
            setattr(exc, WRITTEN_NOT_REHEARSED, result.output)
            raise
        return replace(result, rehearsal=rehearsal)


def _rehearse_pythons(options: FetchOptions) -> tuple[Path, ...]:
    """The interpreters this fetch rehearses with (`rehearse` first), each once."""
    pythons = (options.rehearse,) if options.rehearse is not None else ()
    return tuple(dict.fromkeys(pythons + options.rehearse_given + options.rehearse_pythons))


_VENVS_AT_ONCE = 2
"""At most this many rehearsal venvs are made in the background during a fetch (this is a
2-core machine's worth; a further interpreter's venv is made when its rehearsal runs)."""


class _Venvs:
    """Step 1 of the rehearsals this fetch will run (`rehearse.ThrowawayVenv`: a venv made
    with the target's own ensurepip, ~1-2 s of CPU for CPython 3.6.15), started in the
    background while the fetch resolves and downloads, on two signals that a rehearsal will
    run rather than be answered from the cache: the cache never remembered a rehearsal, or a
    file to put into the wheelhouse is not in the cache (the wheelhouse's SHA256SUMS, the
    rehearsal's key, is then new). A warm re-fetch starts none. Whatever was started and not
    taken is killed and removed on exit, also on an error, Ctrl-C or SIGTERM."""

    def __init__(self, pythons: Sequence[Path], cache: Cache) -> None:
        self.pythons = tuple(pythons[:_VENVS_AT_ONCE])
        self.cache = cache
        self.started: dict[Path, rehearse_mod.ThrowawayVenv] = {}

    def start(self) -> None:
        for python in self.pythons:
            if python not in self.started:
                self.started[python] = rehearse_mod.ThrowawayVenv(python)

    def take(self, python: Path) -> rehearse_mod.ThrowawayVenv | None:
        return self.started.pop(python, None)

    def __enter__(self) -> _Venvs:
        return self

    def __exit__(self, *exc: object) -> None:
        while self.started:
            self.started.popitem()[1].close()


def _rehearse_several(
    options: FetchOptions, result: FetchResult, cache: Cache, venvs: _Venvs
) -> FetchResult:
    """Each target rehearsed with the given interpreter of its X.Y (none given: not
    rehearsed), in its own folder of the committed wheelhouse."""
    by_version: dict[str, Path] = {}
    for candidate in _rehearse_pythons(options):  # the first of an X.Y wins: a given one
        by_version.setdefault(rehearse_mod.python_version(candidate), candidate)
    done = []
    for one in result.targets:
        python = by_version.get(one.target.short_version)
        if python is not None:
            _step(options, f"rehearsing the install of {one.target.name} with {python}")
            found = rehearse_mod.rehearse(
                one.output, python, cache=cache, prepared=venvs.take(python)
            )
            one = replace(one, rehearsal=found)
        done.append(one)
    return replace(result, targets=tuple(done))


def _check_rehearse_given(options: FetchOptions) -> None:
    """Several targets: each `--rehearse` interpreter runs and is of one target's X.Y, and no
    two are of the same X.Y (BadInput naming it): before, only the last one given was kept,
    and the other targets said no interpreter was given (#16 review 16x, finding 10)."""
    wanted = {t.short_version for t in options.targets}
    seen: dict[str, Path] = {}
    for python in options.rehearse_given:
        version = rehearse_mod.python_version(python)
        if version not in wanted:
            targets = ", ".join(sorted(wanted))
            raise BadInput(f"--rehearse {python}: CPython {version}, no target's ({targets})")
        if version in seen:
            raise BadInput(
                f"--rehearse {python}: a second CPython {version} (first: {seen[version]})"
            )
        seen[version] = python


def _check_targets(options: FetchOptions) -> None:
    """Several targets: each given once (`check_distinct`: an alias spelling is the same
    target)."""
    check_distinct([(t.name, t) for t in options.targets])


def _check_sources(options: FetchOptions) -> None:
    """Every --index-url and --find-links is one the kit reads (BadInput otherwise); with
    --no-index, none is remote: the promise is no network request at all."""
    for url in options.index_urls:
        index_source(url)
    if not options.no_index:
        return
    for text in options.find_links:
        if find_links_source(text).remote:
            raise BadInput(
                f"--no-index reads only local sources, but --find-links {text} is a remote "
                "page (drop --no-index to read it, or give a local folder or file: page)"
            )


def _run(
    options: FetchOptions,
    cache: Cache,
    stage: Stage,
    policy: Policy | None,
    on_cold: Callable[[], None] = lambda: None,
) -> FetchResult:
    """`on_cold` is called before downloading when a file is not in the cache yet."""
    transport = Transport(options.network)
    staged = stage.content
    with _EarlyAudit(cache, options.audit) as early:
        plan = _plan(options, cache, stage.scratch, transport, early.wheel_done)
        packages = _download(options, plan, cache, staged, transport, on_cold, early.file_done)
        _check_wheels(packages, staged)
        _check_metadata(plan, staged, cache)
        written = _write_outputs(options, plan, packages, staged)
        early.wait()
    report = _audit(staged, options.distro, cache, packages) if options.audit else None
    verdict = _gate(options, policy, staged, packages) if policy else None
    # last: install.sh checks every file against it; the wheels with the digests their
    # download checked (no second pass over them)
    sums.write_directory(staged, known={p.filename: p.sha256 for p in packages})
    output = stage.dest
    _step(options, f"moving the wheelhouse into {output}")
    stage.commit(keep=output_mod.KEPT_FILES)
    return FetchResult(
        output=output,
        target=options.target,
        roots=plan.roots,
        packages=packages,
        bootstrap=plan.bootstrap,
        requirements_lock=output / written["requirements_lock"].name,
        pylock=output / pylock.FILENAME,
        bootstrap_lock=output / installer.BOOTSTRAP_LOCK if plan.bootstrap.needed else None,
        manifest=output / manifest.FILENAME,
        install_sh=output / installer.INSTALL_SH,
        audit=report,
        excluded=plan.resolution.excluded,
        warnings=(
            *plan.index_warnings,
            *_yank_warnings(packages),
            *_unhashed_warnings(packages),
        ),
        gate=verdict,
    )


def _run_several(
    options: FetchOptions,
    cache: Cache,
    stage: Stage,
    policy: Policy | None = None,
    on_cold: Callable[[], None] = lambda: None,
) -> FetchResult:
    """Several targets: the sources once (the local project built once when no requirement
    is given; one `Index`, so a page or a wheel's metadata is fetched once for every target:
    `_Sources`), one resolution per target, in parallel, one download of the union of their
    files into the pool, then per target its folder `targets/NAME/` (locks, pylock.toml,
    install.sh, manifest.json with pool '../..', audit); the top manifest.json, the picking
    install.sh and SHA256SUMS (every file) last (`bundler.wheelhouse.model`)."""
    transport = Transport(options.network)
    top = stage.content
    each = [replace(options, target=t, targets=()) for t in options.targets]

    early = _EarlyAudit(cache, options.audit)
    with early:
        shared = _sources(options, cache, stage.scratch, transport, early.wheel_done)

    def plan_for(one: FetchOptions) -> _Plan:
        work = stage.scratch / one.target.name
        return _plan(one, cache, work, transport, early.wheel_done, sources=shared)

    # the resolutions run in parallel: they wait on the index, not on the CPU
    with early, ThreadPoolExecutor(max(1, min(len(each), 4)), thread_name_prefix="target") as pool:
        plans = list(pool.map(plan_for, each))
    # the index warns of the pages it read, whichever target's resolution read them first
    index_warnings = tuple(dict.fromkeys(shared.index.warnings))
    plans = [replace(plan, index_warnings=index_warnings) for plan in plans]
    with early:
        records = _download_many(options, plans, cache, top, transport, on_cold, early.file_done)
        early.wait()
    results = []
    for one, plan, packages in zip(each, plans, records, strict=True):
        _check_wheels(packages, top)
        _check_metadata(plan, top, cache)
        folder = top / model.TARGETS_DIR / one.target.name
        folder.mkdir(parents=True)
        _write_outputs(one, plan, packages, folder, pool=top)
        report = (
            _audit_target(top, stage.scratch, folder, one, cache, packages)
            if options.audit
            else None
        )
        results.append((one, plan, packages, report))
    manifest.save(top, _top_manifest(results))
    installer.write_install_sh(top, installer.render_picker([o.target for o in each]))
    verdict = _gate_several(options, policy, top, [o.target for o in each]) if policy else None
    known = {p.filename: p.sha256 for _, _, packages, _ in results for p in packages}
    sums.write_tree(top, known)  # last: every file below the top, targets/ included
    output = stage.dest
    _step(options, f"moving the wheelhouse into {output}")
    stage.commit(keep=output_mod.KEPT_FILES)
    per_target = tuple(
        _result(one, plan, packages, report, output / model.TARGETS_DIR / one.target.name)
        for one, plan, packages, report in results
    )
    pooled: dict[str, PackageRecord] = {}
    for r in per_target:
        for p in r.packages:
            pooled.setdefault(p.filename, p)
    return FetchResult(
        output=output,
        target=options.target,
        roots=plans[0].roots,
        packages=tuple(pooled.values()),
        bootstrap=plans[0].bootstrap,
        requirements_lock=per_target[0].requirements_lock,
        bootstrap_lock=per_target[0].bootstrap_lock,
        manifest=output / manifest.FILENAME,
        pylock=per_target[0].pylock,
        install_sh=output / installer.INSTALL_SH,
        warnings=tuple(dict.fromkeys(w for r in per_target for w in r.warnings)),
        targets=per_target,
        gate=verdict,
    )


def _result(
    options: FetchOptions,
    plan: _Plan,
    packages: tuple[PackageRecord, ...],
    report: AuditReport | None,
    folder: Path,
) -> FetchResult:
    """One target's result of a several-target fetch (paths in its committed folder)."""
    return FetchResult(
        output=folder,
        target=options.target,
        roots=plan.roots,
        packages=packages,
        bootstrap=plan.bootstrap,
        requirements_lock=folder / installer.REQUIREMENTS_LOCK,
        bootstrap_lock=folder / installer.BOOTSTRAP_LOCK if plan.bootstrap.needed else None,
        manifest=folder / manifest.FILENAME,
        pylock=folder / pylock.FILENAME,
        install_sh=folder / installer.INSTALL_SH,
        audit=report,
        excluded=plan.resolution.excluded,
        warnings=(
            *plan.index_warnings,
            *_yank_warnings(packages),
            *_unhashed_warnings(packages),
        ),
    )


def _top_manifest(
    results: Sequence[tuple[FetchOptions, _Plan, tuple[PackageRecord, ...], AuditReport | None]],
) -> dict[str, Any]:
    """The several-target top manifest.json: the targets and the pool (each file once, with
    the targets whose locks name it)."""
    pool: dict[str, dict[str, Any]] = {}
    for one, _, packages, _ in results:
        for p in packages:
            entry = pool.setdefault(
                p.filename,
                {
                    "name": p.name,
                    "version": p.version,
                    "filename": p.filename,
                    "sha256": p.sha256,
                    "size": p.size,
                    "role": p.role.value,
                    "targets": [],
                },
            )
            entry["targets"].append(one.target.name)
    return {
        "tool": {"name": "airgap-kit", "version": __version__},
        "targets": [
            {
                "name": one.target.name,
                "dir": f"{model.TARGETS_DIR}/{one.target.name}",
                "target": one.target.to_dict(),
            }
            for one, _, _, _ in results
        ],
        "packages": sorted(
            pool.values(), key=lambda e: (canonicalize_name(e["name"]), e["filename"])
        ),
    }


def _audit_target(
    pool: Path,
    work: Path,
    folder: Path,
    options: FetchOptions,
    cache: Cache,
    packages: Sequence[PackageRecord],
) -> AuditReport:
    """The system-library audit of one target's wheels (hard links of its pool files in a
    scratch folder beside the stage's, so the audit sees exactly that target's wheels), written
    into its folder (system-packages.yml, manifest["audit"])."""
    from bundler.audit import report as audit_lib

    scratch = work / f"audit-{folder.name}"
    scratch.mkdir(parents=True)
    for p in packages:
        if p.filename.endswith(".whl"):
            os.link(pool / p.filename, scratch / p.filename)
    digests = {p.filename: p.sha256 for p in packages}
    found = audit_lib.audit_directory(scratch, options.distro, cache=cache, digests=digests)
    found = replace(found, directory=folder)
    audit_lib.write_system_packages(found)
    manifest.update(folder, "audit", found.to_dict())
    return found


# -- planning: resolve the app, decide the bootstrap -------------------------------------------


@dataclass(frozen=True)
class _Sources:
    """What a fetch resolves from, the same for every target: the requirements as given, the
    roots (the local project built into a wheel when none is given) and the `Index` that
    answers them. A several-target fetch makes one and resolves every target against it, so
    each project page is fetched, checked and grouped once, and each wheel's metadata read
    (on this index: the wheel downloaded) once, whichever target asks first; the `Index`
    memoises per key across threads (`index.client._Memo`), and none of its answers depends
    on the target (benchmarks/PROFILE.md, several targets)."""

    given: reqfile.RequirementSet
    roots: tuple[Requirement, ...]
    local: dict[str, Path]
    """Canonical name -> project directory, for the wheel built from a local project."""
    index: Index


def _sources(
    options: FetchOptions,
    cache: Cache,
    work: Path,
    transport: Transport,
    on_wheel: Callable[[Path, str], None] | None = None,
) -> _Sources:
    """The requirements, the local project built (into `work/local`) when none is given, and
    the index over every source; `on_wheel`: the index's (`Index.on_wheel`)."""
    given = reqfile.read(options.requirements, options.requirement_files)
    roots = given.requirements
    local: dict[str, Path] = {}
    local_dirs: dict[str, str] = {}
    if not roots:
        project = _project_dir(options.project)
        _step(options, f"building {project} into a wheel")
        local_dir = work / "local"
        root, wheel = _build_local_project(project, local_dir, cache, options)
        roots = [root]
        name = canonicalize_name(parse_wheel_filename(wheel.name)[0])
        local[name] = project
        # the wheel built here is the only source of its project: a file of the same name
        # on an index or in --find-links never replaces it
        local_dirs[name] = str(local_dir)
    index = Index(
        list(options.index_urls),
        list(options.find_links),
        cache,
        transport=transport,
        local_projects=local_dirs,
        # in hash-checking mode (a hashed -r file) every delivered byte is checked against
        # the user's --hash lines, so a file the index gives no hash for may be read
        allow_unhashed=options.allow_unhashed or given.hash_mode,
        on_wheel=on_wheel,
    )
    return _Sources(given, tuple(roots), local, index)


def _plan(
    options: FetchOptions,
    cache: Cache,
    work: Path,
    transport: Transport,
    on_wheel: Callable[[Path, str], None] | None = None,
    sources: _Sources | None = None,
) -> _Plan:
    """The resolution of `options.target`, against `sources` (made here when None, with
    `on_wheel`); `work` holds this target's sdist builds."""
    if sources is None:
        sources = _sources(options, cache, work, transport, on_wheel)
    given, index, local = sources.given, sources.index, sources.local
    roots = list(sources.roots)
    _step(options, f"resolving {len(roots)} requirement(s) for {options.target.describe()}")
    builder = _sdist_builder(options, cache, index, work / "built")
    boot_roots = [Requirement(name) for name in installer.BOOTSTRAP_PROJECTS]
    with ThreadPoolExecutor(1, thread_name_prefix="bootstrap") as pool:
        # The pip bootstrap is resolved alongside the application whenever the target's pip
        # might need it; its result (or failure) only counts if the wheels chosen need it.
        speculative = (
            pool.submit(_resolve, boot_roots, options, index, builder)
            if installer.bootstrap_possible(options.target)
            else None
        )
        resolution = _resolve(roots, options, index, builder, given.hashes(), app=True)
        _check_hashed(given, resolution)
        names = {model.Role.APP: lock_names(resolution)}
        decision = installer.decide(
            options.target,
            [p.file.filename for p in _pins(resolution)],
            names_need=names[model.Role.APP].min_pip,
            unmatched_names=names[model.Role.APP].describe_conflicts(),
        )
        boot = None
        if decision.needed:
            _step(options, "resolving the pip bootstrap: " + " ".join(installer.BOOTSTRAP_PROJECTS))
            try:
                boot = (
                    speculative.result()
                    if speculative
                    else _resolve(boot_roots, options, index, builder)
                )
            except ResolutionError as exc:
                raise _in_bootstrap(exc, decision) from None
    if boot is not None:
        names[model.Role.BOOTSTRAP] = lock_names(boot)
    return _Plan(
        tuple(str(r) for r in roots),
        given,
        resolution,
        decision,
        boot,
        local,
        names,
        tuple(dict.fromkeys(index.warnings)),
    )


def _in_bootstrap(exc: ResolutionError, decision: installer.BootstrapDecision) -> ResolutionError:
    """A failure of the pip bootstrap's resolution, saying why the bootstrap is needed (with
    local sources only, its wheels must be among them)."""
    other = copy.copy(exc)
    other.reason = f"{exc.reason} (for the pip bootstrap: {decision.reason})"
    other.hint = exc.hint or (
        "add wheels of " + ", ".join(installer.BOOTSTRAP_PROJECTS) + " that run on the "
        "target to the sources (with --no-index: to a --find-links folder)"
    )
    return other


def _resolve(
    roots: list[Requirement],
    options: FetchOptions,
    index: Index,
    builder: Callable[[DistFile], Path],
    prefer_hashes: dict[str, frozenset[str]] | None = None,
    *,
    app: bool = False,
) -> Resolution:
    """Resolve `roots`; --exclude / --no-deps apply to the application only (`app`), never
    to the pip bootstrap."""
    return resolve(
        roots,
        options.target,
        index,
        build_pure=options.build_pure,
        builder=builder if options.build_pure else None,
        prefer_hashes=prefer_hashes,
        exclude=options.exclude if app else (),
        no_deps=options.no_deps and app,
    )


def _check_hashed(given: reqfile.RequirementSet, resolution: Resolution) -> None:
    """Hash-checking mode, before any download: every pin has a hashed line, and a file whose
    sha256 the index advertises matches it (files without one are checked after download)."""
    if not given.hash_mode:
        return
    for pin in _pins(resolution):
        given.check_listed(pin.name, _required_by(resolution, pin.name))
        if pin.file.sha256:
            given.check_file(pin.name, str(pin.version), pin.file.filename, pin.file.sha256)


def _required_by(resolution: Resolution, name: str) -> str:
    chain = resolution.chain(name)[:-1]
    return " -> ".join(chain) if chain else "your requirements"


def _sdist_builder(
    options: FetchOptions, cache: Cache, index: Index, dest: Path
) -> Callable[[DistFile], Path]:
    """--build-pure's builder: download the sdist (hash-checked, a cached one on its way out
    of the cache: `download_all`), build it into `dest`."""

    def builder(sdist: DistFile) -> Path:
        folder = dest.parent / "sdists"
        transport = index.transport
        named = download_all(
            [sdist], folder, cache, transport, allow_unhashed=options.allow_unhashed
        )[0]
        if options.build_python is not None:

            def provide(requirements: Sequence[str]) -> list[Path]:
                return _build_requirements(named, requirements, options, cache, index, dest)

            try:
                return build.build_with_target(
                    named, dest, python=options.build_python, provide=provide, cache_root=cache.root
                )
            except build.BuildFailed as exc:
                raise _not_buildable(sdist, named, exc) from None
        problem = build.static_metadata_problem(named)
        if problem is not None and compiled.evidence(named):  # not pure whoever builds it
            raise _not_buildable(sdist, named, build.BuildFailed(problem))
        if problem is not None:
            raise build.BuildFailed(
                f"{sdist.filename}: {problem}, so a build with this host's Python may not state "
                f"what it needs on the target; build it with the target's interpreter: "
                f"--build-python PATH (CPython {options.target.python_version})"
            )
        try:
            return _build(named, dest, cache, options)
        except build.BuildFailed as exc:
            raise _not_buildable(sdist, named, exc) from None

    return builder


def _not_buildable(sdist: DistFile, path: Path, exc: build.BuildFailed) -> NoWheelForTarget:
    """Why --build-pure could not build `sdist`, in one line: the compiled extension its
    files show (`compiled.evidence`), else the backend's last error line; hint --exclude."""
    why = compiled.evidence(path) or f"the build failed: {exc.detail}"
    version = str(sdist.version)
    return NoWheelForTarget(
        f"{sdist.project} {version} has no wheel for the target and --build-pure cannot build "
        f"its sdist {sdist.filename} into a pure-Python wheel: {why}",
        package=sdist.project,
        requirement=f"{sdist.project}=={version}",
        versions=[version],
        hint=exclude_hint(sdist.project),
    )


def _build_requirements(
    sdist: Path,
    texts: Sequence[str],
    options: FetchOptions,
    cache: Cache,
    index: Index,
    work: Path,
) -> list[Path]:
    """Build requirements of `sdist` (`texts`), resolved for the target from the fetch's own
    sources and downloaded (hash-checked) into a folder of their own: the wheels of its build
    environment."""
    try:
        roots = [Requirement(text) for text in texts]
    except InvalidRequirement as exc:
        raise BadInput(f"{sdist.name}: unreadable build requirement ({exc})") from None
    try:
        resolution = resolve(roots, options.target, index)
    except ResolutionError as exc:
        raise _in_build(exc, sdist.name) from None
    files = [pin.file for pin in _pins(resolution)]
    folder = work.parent / "build-requirements" / sdist.name
    download_all(files, folder, cache, index.transport, allow_unhashed=options.allow_unhashed)
    return [folder / f.filename for f in files]


def _in_build(exc: ResolutionError, sdist: str) -> ResolutionError:
    """A failure to resolve a build requirement, naming the sdist whose build needs it (not
    'your requirements')."""
    other = copy.copy(exc)
    other.chain = (f"the build of {sdist}", *exc.chain)
    if other.package is None:
        other.reason = f"{exc.reason} (for the build of {sdist})"
    return other


def _project_dir(project: Path | None) -> Path:
    """The local project to bundle: the given one, or this repository's converter/."""
    path = Path(project) if project is not None else CONVERTER_DIR
    if not (path / "pyproject.toml").is_file() and not (path / "setup.py").is_file():
        if project is None:
            raise BadInput(
                f"no requirement given and the converter project is not next to the kit "
                f"(expected {path}/pyproject.toml; the kit is installed without its source "
                "checkout): name requirements, or --project DIR"
            )
        raise BadInput(f"--project {path}: not a Python project (no pyproject.toml or setup.py)")
    return path.resolve()


def _build(source: Path, dest: Path, cache: Cache, options: FetchOptions) -> Path:
    """build.build_wheel with fetch's sources: the isolated build environment's backend comes
    from the same --index-url / --find-links as the wheels (a mirror-only network works)."""
    return build.build_wheel(
        source,
        dest,
        # with no index (--offline, --no-index) the host's installed backend builds, as
        # `pip wheel --no-build-isolation`: there is nowhere to fetch a build environment from
        isolated=not (options.offline or options.no_index),
        cache_root=cache.root,
        index_urls=tuple(index_source(u).location for u in options.index_urls),  # file: quoted
        find_links=options.find_links,
    )


def _build_local_project(
    project: Path, dest: Path, cache: Cache, options: FetchOptions
) -> tuple[Requirement, Path]:
    """Build `project` into a pure wheel in `dest`; ('name==version', wheel path)."""
    wheel = _build(project, dest, cache, options)
    if not build.is_pure(wheel):
        raise BadInput(
            f"{project} built into {wheel.name}, which is not pure Python: the target needs "
            "a py3-none-any wheel of the application"
        )
    name, version, _, _ = parse_wheel_filename(wheel.name)
    return Requirement(f"{name}=={version}"), wheel


def _pins(resolution: Resolution) -> list[Pin]:
    """The pins of a resolution, sorted by canonical name."""
    return sorted(resolution.pins.values(), key=lambda p: canonicalize_name(p.name))


# -- download -----------------------------------------------------------------------------------


def _download(
    options: FetchOptions,
    plan: _Plan,
    cache: Cache,
    staged: Path,
    transport: Transport,
    on_cold: Callable[[], None] = lambda: None,
    on_file: Callable[[Path, str], None] | None = None,
) -> tuple[PackageRecord, ...]:
    return _download_many(options, [plan], cache, staged, transport, on_cold, on_file)[0]


def _chosen(plan: _Plan) -> list[tuple[Pin, model.Role, Resolution]]:
    """(pin, role, its resolution) of every file a plan's locks name."""
    chosen = [(pin, model.Role.APP, plan.resolution) for pin in _pins(plan.resolution)]
    if plan.bootstrap_resolution is not None:
        chosen += [
            (pin, model.Role.BOOTSTRAP, plan.bootstrap_resolution)
            for pin in _pins(plan.bootstrap_resolution)
        ]
    return chosen


def _download_many(
    options: FetchOptions,
    plans: Sequence[_Plan],
    cache: Cache,
    staged: Path,
    transport: Transport,
    on_cold: Callable[[], None] = lambda: None,
    on_file: Callable[[Path, str], None] | None = None,
) -> list[tuple[PackageRecord, ...]]:
    """Every file of every plan downloaded once into `staged` (the pool: a file two targets
    share is fetched and stored once); the records of each plan. `on_cold` is called first
    when a file is not in the cache (no sha256 known, or no blob of it); `on_file` as each
    file is in `staged` (`download_all`)."""
    chosen = [_chosen(plan) for plan in plans]
    files = _unique_files(pin.file for each in chosen for pin, _, _ in each)
    if any(f.sha256 is None or not cache.has_blob(f.sha256) for f in files):
        on_cold()
    _step(options, f"downloading {len(files)} file(s) into {options.output}")
    vouched = frozenset().union(*(_vouched(plan, options) for plan in plans))
    download_all(
        files,
        staged,
        cache,
        transport,
        allow_unhashed=options.allow_unhashed or vouched,
        on_progress=options.on_progress,
        on_file=on_file,
    )
    out = []
    for plan, each in zip(plans, chosen, strict=True):
        records = tuple(
            _record(
                pin,
                role,
                res,
                staged,
                plan.local,
                pin.file.filename in vouched,
                plan.names.get(role),
            )
            for pin, role, res in each
        )
        for r in records:
            if r.role is model.Role.APP:  # the bytes as downloaded (or built) against a --hash line
                plan.given.check_file(r.name, r.version, r.filename, r.sha256)
        out.append(records)
    return out


def _check_wheels(packages: Sequence[PackageRecord], staged: Path) -> None:
    """Every wheel of the wheelhouse holds only regular files and folders at relative paths
    inside it (`bundler.models.wheel`): its hash says it is the file the index listed, not
    that it is harmless to unpack."""
    for p in packages:
        if p.filename.endswith(".whl"):
            check_wheel_members(staged / p.filename, p.filename)


def _check_metadata(plan: _Plan, staged: Path, cache: Cache) -> None:
    """Every wheel's own METADATA, read from its bytes in the stage (hash-checked on their way
    there), must say what the resolver was told: name, version, Requires-Dist,
    Requires-Python and the license fields (the license gate and the manifest take the
    license from that metadata; issue #17 review 17b, D2). The resolver was told by the index's
    PEP 658 `.metadata` file (a lie there would leave a dependency out of the lock), or by the
    METADATA kept in the cache under the wheel's sha256 (`index.client.WHEEL_METADATA`): a
    changed entry would do the same (issue #17 review, D3). On a mismatch the cache entry that
    may have said it is removed (`index.client.metadata_lie`: a later run derives it again)
    and `MetadataMismatch` names the wheel and where its metadata came from."""
    pins = list(plan.resolution.pins.values())
    if plan.bootstrap_resolution is not None:
        pins += plan.bootstrap_resolution.pins.values()
    for pin in pins:
        file = pin.file
        if not file.is_wheel:
            continue
        try:
            own = read_wheel_metadata(staged / file.filename, file.filename)
        except BundlerError as exc:
            raise MetadataMismatch(f"{file.filename}: {exc}") from None
        lie = metadata_lie(cache, file, pin.metadata, own)
        if lie is not None:
            raise lie


def _unique_files(files: Iterator[DistFile] | Sequence[DistFile]) -> list[DistFile]:
    seen: dict[str, DistFile] = {}
    for f in files:
        first = seen.setdefault(f.filename, f)
        if first.sha256 and f.sha256 and first.sha256 != f.sha256:
            raise BadInput(
                f"{f.filename}: two targets chose files of this name with different sha256 "
                f"({first.url or first.filename}, {f.url or f.filename}): one pool cannot hold both"
            )
    return list(seen.values())


def _vouched(plan: _Plan, options: FetchOptions) -> frozenset[str]:
    """Files without an index hash that a hashed -r file vouches for (hash-checking mode:
    each is compared with its --hash line after download)."""
    if not plan.given.hash_mode:
        return frozenset()
    return frozenset(
        p.file.filename for p in _pins(plan.resolution) if not p.file.sha256 and not p.file.local
    )


def _record(
    pin: Pin,
    role: model.Role,
    resolution: Resolution,
    staged: Path,
    local: dict[str, Path],
    vouched: bool = False,
    names: LockNames | None = None,
) -> PackageRecord:
    path = staged / pin.file.filename
    key = canonicalize_name(pin.name)
    meta = pin.metadata
    built = key in local or pin.built_from is not None
    origin = "built" if built else "local" if pin.file.local else "remote"
    return PackageRecord(
        name=names.name(key) if names is not None else pin.name,
        version=str(pin.version),
        filename=pin.file.filename,
        sha256=pin.file.sha256 or sha256_file(path),
        size=path.stat().st_size,
        url=pin.file.url if origin == "remote" else None,
        role=role,
        requires=tuple(sorted(canonicalize_name(d) for d in pin.dependencies)),
        via=tuple(resolution.via(pin.name)),
        license=meta.spdx_license,
        summary=meta.summary,
        built_from=f"local project {local[key].name}" if key in local else pin.built_from,
        yanked=pin.file.yanked,
        hash_source="local" if built else "requirements" if vouched else pin.file.hash_source,
        source=origin,
    )


def _yank_warnings(packages: Sequence[PackageRecord]) -> Iterator[str]:
    """pip's warning for a yanked release chosen because it is pinned exactly (PEP 592)."""
    for p in packages:
        if p.yanked is not None:
            reason = p.yanked or "no reason given"
            yield (
                f"{p.name} {p.version} is yanked (reason: {reason}); it is bundled only "
                "because it is pinned with =="
            )


def _unhashed_warnings(packages: Sequence[PackageRecord]) -> Iterator[str]:
    """One warning per file whose sha256 no index vouched for (--allow-unhashed)."""
    for p in packages:
        if p.hash_source == "computed":
            yield (
                f"{p.filename} ({p.url}): the index gave no sha256; locked with the hash of "
                "what was downloaded (--allow-unhashed)"
            )


# -- outputs ------------------------------------------------------------------------------------


def _write_outputs(
    options: FetchOptions,
    plan: _Plan,
    packages: tuple[PackageRecord, ...],
    staged: Path,
    pool: Path | None = None,
) -> dict[str, Path]:
    """The locks, pylock.toml, manifest.json and install.sh of one target into `staged` (its
    folder); `pool` is where its wheels are (None: `staged` itself, the one-target layout)."""
    target = options.target
    nested = pool is not None and pool != staged
    pool_rel = manifest.NESTED_POOL if nested else manifest.FLAT_POOL
    app = [p for p in packages if p.role is model.Role.APP]
    boot = [p for p in packages if p.role is model.Role.BOOTSTRAP]
    written = {
        "requirements_lock": lockfile.write(
            staged / installer.REQUIREMENTS_LOCK,
            _lock_entries(app),
            _lock_header(target, model.Role.APP),
        )
    }
    written["pylock"] = pylock.write(
        staged, target, _locked_wheels(app, plan.resolution), pool=pool_rel
    )
    if boot:
        written["bootstrap_lock"] = lockfile.write(
            staged / installer.BOOTSTRAP_LOCK,
            _lock_entries(boot),
            _lock_header(target, model.Role.BOOTSTRAP),
        )
    document = {**_manifest(options, plan, packages), "name": target.name, "pool": pool_rel}
    written["manifest"] = manifest.save(staged, document)
    text = installer.render_install_sh(
        target,
        plan.bootstrap,
        [p.filename for p in packages],
        package_count=len(app),
        excluded=plan.resolution.excluded,
        pool=pool_rel,
    )
    written["install_sh"] = installer.write_install_sh(staged, text)
    return written


def _locked_wheels(
    records: Sequence[PackageRecord], resolution: Resolution
) -> list[pylock.LockedWheel]:
    """pylock.toml's packages: each app record with its pin's Requires-Python."""
    out = []
    for r in records:
        spec = resolution.pins[canonicalize_name(r.name)].metadata.requires_python
        out.append(
            pylock.LockedWheel(
                name=canonicalize_name(r.name),
                version=r.version,
                filename=r.filename,
                sha256=r.sha256,
                size=r.size,
                url=r.url,
                requires_python=str(spec) if spec is not None else None,
                dependencies=r.requires,
            )
        )
    return out


def _lock_entries(records: Sequence[PackageRecord]) -> list[lockfile.LockEntry]:
    return [lockfile.LockEntry(r.name, r.version, (r.sha256,), r.via) for r in records]


def _lock_header(target: Target, role: model.Role) -> str:
    what = (
        "The application's packages"
        if role is model.Role.APP
        else f"pip bootstrap: the target's pip {target.installer_pip} cannot read every wheel"
    )
    name = role.lock
    return (
        f"{what}, locked by airgap-kit {__version__} (bundler fetch) for\n"
        f"{target.describe()}.\n"
        "Install offline (install.sh does this):\n"
        f"  pip install --no-index --find-links DIR --require-hashes -r DIR/{name}\n"
    )


def _manifest(
    options: FetchOptions, plan: _Plan, packages: tuple[PackageRecord, ...]
) -> dict[str, Any]:
    target = options.target
    edges = {tuple(canonicalize_name(n) for n in e) for e in plan.resolution.edges()}
    return {
        "tool": {"name": "airgap-kit", "version": __version__},
        "target": target.to_dict(),
        "target_notes": list(target.notes),
        "tags": [str(t) for t in target.tags],
        "requirements": list(plan.roots),
        "installer": plan.bootstrap.to_dict(installer.BOOTSTRAP_PROJECTS),
        "packages": [p.to_dict() for p in sorted(packages, key=_package_key)],
        "edges": sorted([list(e) for e in edges]),
        "excluded": [e.to_dict() for e in plan.resolution.excluded],
    }


def _package_key(p: PackageRecord) -> tuple[int, str]:
    """App packages first, then the bootstrap, each by canonical name."""
    return (0 if p.role is model.Role.APP else 1, canonicalize_name(p.name))


# -- audit --------------------------------------------------------------------------------------


class _EarlyAudit:
    """The audit's reading of each wheel (its ELF members parsed and kept in the cache by the
    wheel's sha256, `bundler.audit.members.cached_elf_members`) started as soon as the wheel's
    download is in the stage, on one thread beside the downloads, so that the audit after
    them finds the facts cached and the reading of a large wheel's shared objects (opencv's
    ~170 MB inflated) overlaps the downloads still running. Only the reading moves: the audit
    itself runs as before, and any failure here is left for it to meet and report (it reads
    that wheel again). Disabled (`enabled` False, --no-audit) it does nothing; on exit the
    work not started is cancelled and the running one awaited (before the stage goes)."""

    def __init__(self, cache: Cache, enabled: bool) -> None:
        self.cache = cache
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="audit-early") if enabled else None
        self.pool_closed = False

    def file_done(self, path: Path, sha256: str) -> None:
        """A file is in the stage (`download_all`'s `on_file`): read it if it is a wheel."""
        if path.name.endswith(".whl"):
            self.wheel_done(path, sha256)

    def wheel_done(self, path: Path, sha256: str) -> None:
        """A wheel's bytes, checked against `sha256`, are at `path` (the stage, or the cache
        when the resolver downloaded it for its metadata: `Index.on_wheel`)."""
        if self.pool is not None and not self.pool_closed:
            with contextlib.suppress(RuntimeError):  # shut down meanwhile: the audit reads it
                self.pool.submit(self._read, path, sha256)

    def _read(self, path: Path, sha256: str) -> None:
        from bundler.audit.members import cached_elf_members

        with contextlib.suppress(Exception):  # the audit meets and reports it
            cached_elf_members(path, self.cache, sha256)

    def wait(self) -> None:
        """Wait until every wheel handed over has been read."""
        if self.pool is not None:
            self.pool_closed = True
            self.pool.shutdown(wait=True)

    def __enter__(self) -> _EarlyAudit:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None and any(exc):
            self.pool_closed = True
            self.pool.shutdown(wait=True, cancel_futures=True)


def _audit(
    directory: Path, distro: str, cache: Cache, packages: Sequence[PackageRecord]
) -> AuditReport:
    """Run the system-library audit on the staged wheelhouse (writes system-packages.yml and
    manifest["audit"]); a bad --distro fails the fetch before anything is swapped in. The
    cache keeps each wheel's parsed ELF facts under the sha256 the download checked (the
    records'), so a re-fetch neither hashes nor reads the wheels again.

    Imported here, not at the top: `fetch --no-audit` then loads neither yaml nor pyelftools."""
    from bundler.audit import report as audit_lib

    digests = {p.filename: p.sha256 for p in packages}
    return audit_lib.run(directory, distro=distro, cache=cache, digests=digests)


# -- the policy gate ----------------------------------------------------------------------------


def _gate(
    options: FetchOptions, policy: Policy, staged: Path, packages: tuple[PackageRecord, ...]
) -> GateResult:
    """Look every pinned package up in OSV, write the findings snapshot into the wheelhouse,
    and evaluate the policy as of today (UTC); the caller decides what a violation means."""
    pins = [osv.Pinned(p.name, p.version) for p in packages]
    found = _look_up(options, policy, pins)
    snapshot.write(staged, found)
    records = [PackageLicense.from_record(r) for r in manifest.load(staged).get("packages", [])]
    size = sum(p.stat().st_size for p in staged.iterdir() if p.is_file())
    return evaluate(policy, records, found, _today(), kit_bytes=size, measured="the wheelhouse")


def _look_up(options: FetchOptions, policy: Policy, pins: list[osv.Pinned]) -> snapshot.Snapshot:
    """The OSV findings of `pins` (the vulnerability database or the OSV API of `options`)."""
    _step(options, f"checking {len(pins)} package(s) against the policy {options.policy}")
    return snapshot.gather(
        policy,
        pins,
        vuln_db=options.vuln_db,
        osv_url=options.osv_url,
        timeout=options.network.timeout,
        retries=options.network.retries,
    )


def _gate_several(
    options: FetchOptions, policy: Policy, top: Path, targets: Sequence[Target]
) -> GateResult:
    """The gate of a several-target wheelhouse: one OSV look-up of the pool's pins, its
    snapshot at the top (pack and verify read it there), the policy judged on every target's
    packages (licenses from each target's manifest) and the size of the whole wheelhouse;
    each license or vulnerability finding names the targets whose locks hold that package
    ('(targets cp36-manylinux1_x86_64, ...)')."""
    folders = {t.name: top / model.TARGETS_DIR / t.name for t in targets}
    records = {name: manifest.load(folder).get("packages", []) for name, folder in folders.items()}
    union: dict[tuple[str, str], dict[str, Any]] = {}
    for rows in records.values():
        for r in rows:
            union.setdefault((canonicalize_name(r["name"]), r["version"]), r)
    pins = [osv.Pinned(r["name"], r["version"]) for r in union.values()]
    found = _look_up(options, policy, pins)
    snapshot.write(top, found)
    size = sum(p.stat().st_size for p in top.rglob("*") if p.is_file())
    return evaluate_targets(policy, records, found, _today(), size, "the wheelhouse")


def _today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


# -- the output folder ------------------------------------------------------------------------


def _check_output(output: Path, options: FetchOptions) -> None:
    """`-o` must be absent, empty, or a wheelhouse this kit wrote for this target (another
    target's only with `replace`); never anything else (`bundler.wheelhouse.output`)."""
    output_mod.check_output(
        output, options.target, replace=options.replace, targets=options.targets
    )


def _step(options: FetchOptions, message: str) -> None:
    if options.on_step is not None:
        options.on_step(message)
