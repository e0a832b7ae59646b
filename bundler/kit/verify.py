"""`bundler verify KIT|DIR`: offline proof that a kit (or a wheelhouse) is complete and intact.

Checks, each problem a line naming the file:
- the archive: its `.sha256` sidecar when present (its hash, and the archive name it records:
  a renamed kit is refused), safe members only (bundler.kit.archive);
- SHA256SUMS: every listed file present with that sha256, no file that is not listed;
- the wheelhouse: every wheel's tags against the manifest's target (`Target.from_dict`), and
  readable by the target's bundled pip when the wheelhouse carries no pip bootstrap;
  manifest.json, requirements.lock (+ bootstrap.lock) and the files on disk agree (names,
  versions, sha256); nothing in the folder that the manifest does not account for (its files
  plus `layout.WHEELHOUSE_FILES`); no wheel with a member outside the install root
  (`bundler.models.wheel`); each file and each project (per role) listed once; each package's
  `requires` equal to the names its wheel's Requires-Dist gives on the target (markers and the
  extras it is reached with evaluated, self-references and recorded exclusions left out);
- the closure: every Requires-Dist of every app wheel that holds on the target (markers
  evaluated with `Target.evaluate`, extras followed from the roots) names a locked project at a
  version its specifier admits, and every app wheel's Requires-Python admits the target;
- the CPython source (`model.python_source`): a kit whose sources/ carry a CPython tarball of the
  wheelhouse's X.Y but another patch release (the playbooks build 3.6.10, `--python 3.6` resolves
  for 3.6.15: the same cp36m ABI) is accepted when the wheelhouse also holds for that release:
  Requires-Python, markers (python_full_version) and the closure evaluated for it, and its
  bundled pip able to install the wheels (or a pip bootstrap shipped);
- the controller part (`check_controller`, see bundler.kit.controller): controller/wheelhouse/
  checked like the application's wheelhouse, against its own target, plus its ansible-core
  release and controller/setup.sh.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
import zipfile
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import Message
from email.parser import HeaderParser
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from bundler.errors import BadInput, CheckFailed
from bundler.fs import regular, sums
from bundler.fs.hashing import sha256_file
from bundler.fs.oserrors import user_errors
from bundler.fs.staging import PRESERVED, STAGE_MARK, staging
from bundler.gate.evaluate import GateResult
from bundler.kit import archive as kitarchive
from bundler.kit import controller as controller_mod
from bundler.kit import layout, signing
from bundler.kit import release as release_mod
from bundler.kit import trust as trust_mod
from bundler.models import manifest as manifest_mod
from bundler.models.target import Target
from bundler.models.wheel import UnsafeWheel, check_wheel_members
from bundler.policy.installers import installer_policy
from bundler.wheelhouse import lockfile, model
from bundler.wheelhouse import rehearse as rehearse_mod

SUMS = "SHA256SUMS"
REQUIRED = (
    "README.txt",
    "sbom.cdx.json",
    "wheelhouse/manifest.json",
    "wheelhouse/requirements.lock",
    "wheelhouse/install.sh",
)
SUMS_SIGNATURES = tuple(SUMS + suffix for suffix in signing.SUFFIX.values())
"""Detached signatures of SHA256SUMS: in the kit, not listed in SHA256SUMS (bundler.kit.trust)."""
_MAX_METADATA = 16 << 20
_MAX_SUMS = 64 << 20


def source_fit_problems(wheelhouse: Path, prefix: str, source: model.PythonSource) -> list[str]:
    """Why the wheelhouse does not hold for a same-X.Y source of another patch release ([] when
    it does): Requires-Python, the closure under that release's markers, its bundled pip
    (`model.installer_fit_problems`). A several-target wheelhouse: its target of that X.Y."""
    if source.exact:
        return []
    try:
        found = model.open_wheelhouse(wheelhouse)
    except manifest_mod.BadManifest as exc:
        return [f"{prefix}manifest.json: {exc.detail}"]
    xy = ".".join(source.version.split(".")[:2])
    view = next((v for v in found.targets if v.target.short_version == xy), None)
    if view is None:
        return []
    manifest = view.manifest
    own_target = manifest.target
    target = model.target_for(own_target, source.version)
    what = f"for the kit's CPython {source.version} (sources/{source.filename})"
    present = [p for p in manifest.packages if view.wheel(p.filename).is_file()]
    problems = [f"{prefix}{p}" for p in model.installer_fit_problems(manifest, present, source)]
    own = _holds_for(view, prefix, own_target)
    holds = _holds_for(view, prefix, target)
    # what fails for the wheelhouse's own target too is named once, by check_wheelhouse
    problems += [_for_source(p, prefix, what) for p in holds if p not in own]
    return problems


def _holds_for(view: model.TargetView, prefix: str, target: Target) -> list[str]:
    """The closure and Requires-Python problems of one target's wheels for `target`."""
    found: list[str] = []
    locks = _read_locks(view.folder, prefix, [])  # lock problems are named by check_wheelhouse
    app_lock = locks.get("requirements.lock")
    if app_lock is not None:
        found += check_closure(view.pool, prefix, view.manifest, target, app_lock)
    found += check_requires_python(view.pool, prefix, view.manifest.packages, target)
    return found


def _for_source(problem: str, prefix: str, what: str) -> str:
    """'file: detail' -> 'file: <what>: detail' (the file stays first, as in every line)."""
    where, sep, detail = problem.partition(": ")
    return f"{where}: {what}: {detail}" if sep else f"{prefix}{what}: {problem}"


@dataclass
class Report:
    """What a clean verify checked (a failed one raises CheckFailed instead)."""

    kind: str
    """'archive', 'kit directory' or 'wheelhouse'."""
    name: str
    files: int = 0
    wheels: int = 0
    target: str = ""
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    controller: str = ""
    """The controller wheelhouse checked (ControllerInfo.describe), '' when the kit has none."""
    controller_bootstrap: str = ""
    """The controller's bootstrap wheelhouse checked, '' when the kit has none."""
    operator_files: list[str] = field(default_factory=list)
    """Operator files found in an unpacked kit (bundler.kit.layout): listed, not failed."""
    signers: list[str] = field(default_factory=list)
    """Fingerprints / key ids of the trusted keys whose signatures verified."""
    gate: GateResult | None = None
    """The policy gate's verdict (with --policy)."""
    release: release_mod.Release | None = None
    """The kit's release record (bundler.kit.release), None when it carries none."""
    sums_sha256: str | None = None

    def add(self, found: trust_mod.Findings) -> None:
        self.problems += found.problems
        self.notes += found.notes
        self.signers += [s for s in found.signers if s not in self.signers]
        self.gate = found.gate or self.gate
        self.release = found.release or self.release
        self.sums_sha256 = found.sums_sha256 or self.sums_sha256


def verify(
    paths: list[Path],
    limits: kitarchive.Limits | None = None,
    unpack_to: Path | None = None,
    rehearse: Path | None = None,
    trust: trust_mod.Trust = trust_mod.NO_TRUST,
) -> Report:
    """Verify a kit archive (or its parts), an unpacked kit directory, or a wheelhouse.

    With `unpack_to`, a clean archive is left unpacked there (a failing one is removed again).
    With `rehearse` (an interpreter of the target's version), the wheelhouse is also installed
    offline into a throwaway venv and every top-level module imported
    (`bundler.wheelhouse.rehearse`); each failure is a problem. `trust`: public keys whose
    signatures must be there and valid, and a policy re-evaluated on the carried findings
    (bundler.kit.trust). Raises CheckFailed listing every problem, BadInput when the input is
    not a kit at all.
    """
    if len(paths) == 1 and paths[0].is_dir():
        report = verify_dir(paths[0], trust, rehearse=rehearse)
    else:
        report = verify_archive(paths, limits or kitarchive.Limits(), unpack_to, rehearse, trust)
    if report.problems:
        raise VerifyFailed(report)
    accept(report, trust)
    return report


class VerifyFailed(CheckFailed):
    """A verify that found problems (exit 1), with its whole `report`: the gate's warnings
    (an unused ignore...) are still worth showing beside the problems."""

    def __init__(self, report: Report) -> None:
        super().__init__(f"{report.name}: {len(report.problems)} problem(s)", report.problems)
        self.report = report


def accept(report: Report, trust: trust_mod.Trust) -> None:
    """Record a kit that passed every check as the last one accepted (`--state FILE`)."""
    state = trust.freshness.state_file
    if state is None or report.release is None or report.sums_sha256 is None:
        return
    if release_mod.record(state, report.release, report.sums_sha256, _now()):
        report.notes.append(f"recorded in {state} as the last kit accepted here")
    else:
        report.notes.append(
            f"{state} not changed: it keeps the newer kit accepted before as the last one"
        )


def _now() -> datetime:
    return datetime.now(timezone.utc)


def verify_archive(
    paths: list[Path],
    limits: kitarchive.Limits,
    unpack_to: Path | None = None,
    rehearse: Path | None = None,
    trust: trust_mod.Trust = trust_mod.NO_TRUST,
) -> Report:
    parts = kitarchive.parts_of(paths)
    name = kitarchive.archive_name(parts)
    problems: list[str] = []
    notes: list[str] = []
    recorded = kitarchive.recorded_sha256(parts)
    if recorded is None:
        notes.append(f"no {name}.sha256 beside the archive: whole-archive hash not checked")
    elif kitarchive.archive_sha256(parts) != recorded:
        problems.append(f"{name}: sha256 differs from {name}.sha256 (damaged or replaced)")
    rename = kitarchive.renamed(parts)
    if rename is not None:
        problems.append(rename)
    if unpack_to is None:
        with tempfile.TemporaryDirectory(prefix="airgap-kit-verify-") as tmp:
            report = _scan_and_verify(
                parts, limits, Path(tmp) / "kit", name, problems, rehearse, trust
            )
    else:
        report = _unpack_and_verify(parts, limits, unpack_to, name, problems, rehearse, trust)
    report.kind, report.name = "archive", name
    report.problems = problems + report.problems
    report.notes = notes + report.notes
    return report


def _scan_and_verify(
    parts: list[Path],
    limits: kitarchive.Limits,
    dest: Path,
    name: str,
    problems: list[str],
    rehearse: Path | None = None,
    trust: trust_mod.Trust = trust_mod.NO_TRUST,
) -> Report:
    listing = kitarchive.scan(parts, limits, dest=dest)
    problems += listing.problems
    if listing.top is None:
        raise BadInput(f"{name}: the archive is empty")
    top = dest / listing.top
    if listing.problems and not (top / SUMS).is_file() and not (top / "wheelhouse").is_dir():
        return Report("archive", name)  # reading stopped early (a limit): its problems say why
    kit_bytes = sum(p.stat().st_size for p in parts)
    report = verify_dir(top, trust, kit_bytes, operator_files=False, rehearse=rehearse)
    report.add(trust_mod.check_archive_sidecar(kitarchive.sidecar(parts), trust))
    return report


def _unpack_and_verify(
    parts: list[Path],
    limits: kitarchive.Limits,
    unpack_to: Path,
    name: str,
    problems: list[str],
    rehearse: Path | None = None,
    trust: trust_mod.Trust = trust_mod.NO_TRUST,
) -> Report:
    """Unpack into a stage next to `unpack_to` (`bundler.fs.staging`), verify there, and swap
    it into place only when clean: a truncated archive, a name clash, a failed check or a bad
    signature leave nothing behind; a full disk or a read-only place is one `FilesystemError`
    line. A symbolic link to a directory (e.g. `/media/usb` -> `/mnt/usb`) stands for that
    directory: the stage and the swap are made there, not in the link's place."""
    if unpack_to.is_symlink() and unpack_to.is_dir():
        unpack_to = Path(os.path.realpath(unpack_to))
    with user_errors(unpack_to):
        if unpack_to.exists() and (
            not unpack_to.is_dir()
            or any(
                p.name not in PRESERVED and STAGE_MARK not in p.name for p in unpack_to.iterdir()
            )
        ):
            raise BadInput(f"{unpack_to} must be a new or empty directory to unpack into")
        with staging(unpack_to) as stage, user_errors(unpack_to, hide=stage.work):
            report = _scan_and_verify(parts, limits, stage.content, name, problems, rehearse, trust)
            if not (problems or report.problems):
                stage.commit()
    return report


def verify_dir(
    directory: Path,
    trust: trust_mod.Trust = trust_mod.NO_TRUST,
    kit_bytes: int | None = None,
    operator_files: bool = True,
    rehearse: Path | None = None,
) -> Report:
    """Verify an unpacked kit (SHA256SUMS present) or a bare wheelhouse (manifest.json).

    With `operator_files` (an unpacked kit in use), the files the kit's README.txt has the
    operator create (bundler.kit.layout) are listed in `Report.operator_files` instead of
    failing as extra files; without it (a kit just unpacked from an archive) they fail. With
    `rehearse`, the wheelhouse's install is rehearsed with that interpreter too.
    """
    name = shown_name(directory)
    if (directory / SUMS).is_file() and not (directory / manifest_mod.FILENAME).is_file():
        # (a wheelhouse has a SHA256SUMS of its own, and a manifest.json beside it)
        report = Report("kit directory", name)
        report.problems += check_sums(directory, report, operator_files)
        several = (directory / "wheelhouse" / model.TARGETS_DIR).is_dir()
        for required in REQUIRED:
            if several and required == "wheelhouse/requirements.lock":
                continue  # each target's, in targets/NAME/ (check_wheelhouse names a missing one)
            if not (directory / required).is_file():
                report.problems.append(f"{required}: missing from the kit")
        wheelhouse, prefix = directory / "wheelhouse", "wheelhouse/"
    elif (directory / manifest_mod.FILENAME).is_file():
        report = Report("wheelhouse", name)
        report.files = _listed_count(directory)
        wheelhouse, prefix = directory, ""
    else:
        raise BadInput(f"{directory} is neither a kit (no {SUMS}) nor a wheelhouse")
    if wheelhouse.is_dir():
        report.problems += check_wheelhouse(wheelhouse, prefix, report)
        if prefix:
            report.problems += check_python_source(directory, report)
            report.problems += check_controller(directory, report)
        if rehearse is not None:
            _rehearse(report, wheelhouse, prefix, rehearse)
    report.add(_trust(directory, prefix, trust, kit_bytes))
    return report


def _rehearse(report: Report, wheelhouse: Path, prefix: str, python: Path) -> None:
    """The install rehearsal with `python` (`bundler.wheelhouse.rehearse`): of the wheelhouse,
    or of the target of a several-target one that fits `python`; problems into `report`."""
    try:
        folder = rehearse_mod.target_folder(wheelhouse, python)
    except BadInput as exc:  # no target fits the interpreter (a bad manifest is named already)
        report.problems.append(f"{prefix}install.sh: the rehearsal with {python}: {exc}")
        return
    rel = folder.relative_to(wheelhouse).as_posix()
    here = prefix if rel == "." else f"{prefix}{rel}/"
    rehearsal = rehearse_mod.rehearse(folder, python, prefix=here)
    if rehearsal.skipped:  # the interpreter given does not fit the target: nothing rehearsed
        why = rehearsal.skipped
        report.problems.append(f"{here}install.sh: the rehearsal with {python}: {why}")
        return
    report.problems += rehearsal.problems
    if rehearsal.problems:
        report.notes.append(f"rehearsal with {python} ({rehearsal.offline}) found problems")
        return
    left = rehearsal.not_imported
    report.notes.append(
        f"rehearsal with {python} ({rehearsal.offline}): {here}install.sh and "
        f"{len(rehearsal.imported)} import(s) ok"
        + (f"; not imported (they need excluded requirements): {', '.join(left)}" if left else "")
    )


def _listed_count(wheelhouse: Path) -> int:
    """How many files a bare wheelhouse's own SHA256SUMS lists (0 when it has none or it
    cannot be read: check_wheelhouse reports that)."""
    try:
        raw = regular.read_regular(wheelhouse / SUMS, _MAX_SUMS)
    except (BadInput, OSError):
        return 0
    listed, _ = sums.parse(raw.decode("utf-8", errors="replace"), SUMS)
    return len(listed)


def _trust(
    directory: Path, prefix: str, trust: trust_mod.Trust, kit_bytes: int | None
) -> trust_mod.Findings:
    if not prefix:
        return trust_mod.check_wheelhouse_directory(directory, trust)
    if kit_bytes is None:
        kit_bytes = sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())
    return trust_mod.check_kit_directory(directory, trust, kit_bytes)


def shown_name(directory: Path) -> str:
    """How a report names a folder: its own name, also for '.' or 'kit/..' (the absolute
    path's last part); '/' for the root."""
    return Path(os.path.abspath(directory)).name or os.path.abspath(directory)


# -- SHA256SUMS ----------------------------------------------------------------------------------


def check_sums(directory: Path, report: Report, operator_files: bool = True) -> list[str]:
    try:
        raw = regular.read_regular(directory / SUMS, _MAX_SUMS)
    except BadInput as exc:
        return [str(exc)]
    if len(raw) > _MAX_SUMS:
        return [f"{SUMS}: larger than {_MAX_SUMS} bytes: not a checksum list"]
    listed, problems = sums.parse(raw.decode("utf-8", errors="replace"), SUMS)
    present = _files(directory)
    links = _links(directory)
    operator = set()
    if operator_files:
        operator = {p for p in present | links if layout.is_operator_path(p)} - set(listed)
    for path, sha in sorted(listed.items()):
        if path not in present:
            problems.append(f"{path}: listed in {SUMS} but missing")
        elif sha256_file(directory / path) != sha:
            problems.append(f"{path}: sha256 differs from {SUMS} (modified or damaged)")
    for path in sorted(present - set(listed) - {SUMS, *SUMS_SIGNATURES} - operator):
        problems.append(f"{path}: extra file, not listed in {SUMS}")
    for path in sorted(links - operator):
        problems.append(f"{path}: symbolic link inside the kit")
    for path, what in sorted(_special(directory).items()):
        problems.append(f"{path}: {what} inside the kit")
    report.files = len(listed)
    report.operator_files = layout.operator_entries(operator)
    return problems


def _files(directory: Path) -> set[str]:
    return {
        p.relative_to(directory).as_posix()
        for p in directory.rglob("*")
        if p.is_file() and not p.is_symlink()
    }


def _links(directory: Path) -> set[str]:
    return {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_symlink()}


def _special(directory: Path) -> dict[str, str]:
    """Devices, fifos and sockets under `directory` -> what they are."""
    found = {}
    for p in directory.rglob("*"):
        mode = p.lstat().st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
            found[p.relative_to(directory).as_posix()] = regular.kind(mode)
    return found


# -- the wheelhouse -----------------------------------------------------------------------------


def check_wheelhouse(wheelhouse: Path, prefix: str, report: Report) -> list[str]:
    """Every target of the wheelhouse (`bundler.wheelhouse.model`): one at the top, or each
    `targets/NAME/` against the shared pool; `report.target` describes them all."""
    try:
        found = model.open_wheelhouse(wheelhouse)
    except manifest_mod.BadManifest as exc:
        where = Path(exc.path).relative_to(wheelhouse).as_posix() if exc.path else "manifest.json"
        return [f"{prefix}{where}: {exc.detail}"]
    if not found.several:
        view = found.targets[0]
        report.target = view.target.describe()
        return _check_target(view, prefix, report, own_folder=True)
    problems = _check_pool(found, prefix)
    for view in found.targets:
        problems += _check_target(view, prefix, report, own_folder=False)
    report.wheels = sum(1 for p in found.packages if p.is_wheel)
    report.target = "; ".join(f"{v.name}: {v.target.describe()}" for v in found.targets)
    return list(dict.fromkeys(problems))


def _check_pool(found: model.Wheelhouse, prefix: str) -> list[str]:
    """A several-target wheelhouse's folders hold only the pool's files, the model's own files
    and the targets' folders (`bundler.wheelhouse.output.recognise_wheelhouse`'s rule)."""
    from bundler.wheelhouse.output import NotAWheelhouse, recognise_wheelhouse

    try:
        recognise_wheelhouse(found.top)
    except NotAWheelhouse as exc:
        return [f"{prefix or './'}: {exc.reason}"]
    except OSError as exc:
        return [f"{prefix or './'}: cannot read the folder ({exc.strerror or exc})"]
    return []


def _check_target(
    view: model.TargetView, prefix: str, report: Report, *, own_folder: bool
) -> list[str]:
    """One target: its files in the pool, its locks (in its folder) against its manifest, the
    closure, Requires-Dist and Requires-Python on its target. `own_folder`: the folder is the
    wheelhouse itself, whose unaccounted entries are named here."""
    manifest, pool, target = view.manifest, view.pool, view.target
    here = prefix + view.rel
    problems = check_unique(here, manifest.packages)
    problems += _check_files(pool, prefix, manifest, report, unaccounted=own_folder)
    locks = _read_locks(view.folder, here, problems)
    problems += _check_lock_agreement(prefix, manifest.packages, locks)
    app_lock = locks.get("requirements.lock")
    reached: dict[str, set[str]] = {}
    if app_lock is not None:
        problems += check_closure(pool, prefix, manifest, target, app_lock, reached)
    problems += check_requires(pool, prefix, manifest, target, reached)
    problems += check_requires_python(pool, prefix, manifest.packages, target)
    if not own_folder:
        problems = [f"{p} (target {view.name})" for p in problems]
    return list(dict.fromkeys(problems))  # an unreadable wheel is named once


def check_python_source(directory: Path, report: Report) -> list[str]:
    """The unpacked kit's CPython source: a note saying how it fits, problems if it does not."""
    sources_dir = directory / "sources"
    wheelhouse = directory / "wheelhouse"
    if not sources_dir.is_dir() or not (wheelhouse / manifest_mod.FILENAME).is_file():
        return []
    try:
        target = manifest_mod.read(wheelhouse).target
    except manifest_mod.BadManifest:
        return []  # check_wheelhouse names the unusable manifest
    source = model.python_source((p.name for p in sources_dir.iterdir() if p.is_file()), target)
    if source is None or source.exact:
        return []
    report.notes.append(f"sources/{source.filename}: {source.describe()}")
    return source_fit_problems(wheelhouse, "wheelhouse/", source)


def check_controller(directory: Path, report: Report) -> list[str]:
    """The unpacked kit's controller/ part: its wheelhouse checked like the application's (tags
    against its own target, hashes, locks, closure), its ansible-core, and setup.sh present."""
    if not (directory / controller_mod.PREFIX).exists():
        report.notes.append(
            f"no {controller_mod.PREFIX}/ part (packed with --no-controller): the controller "
            f"needs {controller_mod.policy().ansible_core} from elsewhere"
        )
        return []
    wheelhouse = directory / controller_mod.WHEELHOUSE
    prefix = f"{controller_mod.WHEELHOUSE}/"
    problems = []
    if not (directory / controller_mod.SETUP_SH).is_file():
        problems.append(f"{controller_mod.SETUP_SH}: missing from the kit")
    for required in controller_mod.REQUIRED_FILES:
        if not (wheelhouse / required).is_file():
            problems.append(f"{prefix}{required}: missing from the kit")
    if not (wheelhouse / manifest_mod.FILENAME).is_file():
        return problems
    checked = Report("controller wheelhouse", directory.name)
    problems += check_wheelhouse(wheelhouse, prefix, checked)
    try:
        manifest_mod.read(wheelhouse)  # schema-checked before ControllerInfo reads it as a dict
        info = controller_mod.ControllerInfo.from_directory(wheelhouse)
    except BadInput:
        return problems  # check_wheelhouse named the unusable manifest
    problems += [f"{prefix}{manifest_mod.FILENAME}: {p}" for p in info.problems()]
    report.controller = f"{info.describe()}; {checked.wheels} wheels checked"
    if (directory / controller_mod.BOOTSTRAP_WHEELHOUSE).exists():
        problems += check_controller_bootstrap(directory, report)
    return problems


def check_controller_bootstrap(directory: Path, report: Report) -> list[str]:
    """The unpacked kit's controller/bootstrap/wheelhouse/ (ansible-core 2.11 for CPython 3.6,
    `controller_mod.bootstrap_policy()`), checked like the controller's own, bootstrap.sh
    present, and the play it runs (playbooks/build-python.yml)."""
    wheelhouse = directory / controller_mod.BOOTSTRAP_WHEELHOUSE
    prefix = f"{controller_mod.BOOTSTRAP_WHEELHOUSE}/"
    problems = [
        f"{path}: missing from the kit"
        for path in (controller_mod.BOOTSTRAP_SH, controller_mod.BUILD_PLAYBOOK)
        if not (directory / path).is_file()
    ]
    for required in controller_mod.REQUIRED_FILES:
        if not (wheelhouse / required).is_file():
            problems.append(f"{prefix}{required}: missing from the kit")
    if not (wheelhouse / manifest_mod.FILENAME).is_file():
        return problems
    checked = Report("controller bootstrap wheelhouse", directory.name)
    problems += check_wheelhouse(wheelhouse, prefix, checked)
    try:
        manifest_mod.read(wheelhouse)
        info = controller_mod.ControllerInfo.from_directory(wheelhouse)
    except BadInput:
        return problems
    rules = controller_mod.bootstrap_policy()
    problems += [f"{prefix}{manifest_mod.FILENAME}: {p}" for p in info.problems(rules)]
    report.controller_bootstrap = f"{info.describe()}; {checked.wheels} wheels checked"
    return problems


def _check_files(
    wheelhouse: Path,
    prefix: str,
    manifest: manifest_mod.Manifest,
    report: Report,
    *,
    unaccounted: bool = True,
) -> list[str]:
    problems = []
    target = manifest.target
    listed = {p.filename: p for p in manifest.packages}
    bootstrap = bool(manifest.installer.bootstrap)
    try:
        extra = layout.unaccounted(wheelhouse, manifest) if unaccounted else []
    except OSError as exc:
        extra = []
        problems.append(f"{prefix or './'}: cannot read the folder ({exc.strerror or exc})")
    for name in extra:
        if name.endswith("/"):
            problems.append(f"{prefix}{name}: a folder in the wheelhouse, not in manifest.json")
        elif name.endswith(".whl"):
            problems.append(f"{prefix}{name}: not recorded in manifest.json")
        else:
            problems.append(
                f"{prefix}{name}: not a wheelhouse file (manifest.json does not list it, and "
                "it is none of the wheelhouse's own files)"
            )
    for name, package in sorted(listed.items()):
        path = wheelhouse / name
        if path.is_symlink() or not path.is_file():
            problems.append(f"{prefix}{name}: recorded in manifest.json but missing")
            continue
        if sha256_file(path) != package.sha256:
            problems.append(f"{prefix}{name}: sha256 differs from manifest.json")
        if not name.endswith(".whl"):
            continue
        report.wheels += 1
        try:
            check_wheel_members(path, name=f"{prefix}{name}")
        except UnsafeWheel as exc:
            problems.append(str(exc))
        if target.wheel_rank(name) is None:
            problems.append(f"{prefix}{name}: no tag of this wheel fits {target.describe()}")
        elif not bootstrap and not target.installer_reads(name):
            problems.append(
                f"{prefix}{name}: the target's pip {target.installer_pip} cannot install it and "
                "the wheelhouse has no pip bootstrap"
            )
    return problems


def _read_locks(
    wheelhouse: Path, prefix: str, problems: list[str]
) -> dict[str, dict[str, lockfile.LockEntry]]:
    locks: dict[str, dict[str, lockfile.LockEntry]] = {}
    for name in ("requirements.lock", "bootstrap.lock"):
        path = wheelhouse / name
        if not path.is_file():
            if name == "requirements.lock":
                problems.append(f"{prefix}{name}: missing")
            continue
        try:
            entries = lockfile.read(path)
        except BadInput as exc:
            problems.append(f"{prefix}{name}: {exc}")
            continue
        locks[name] = {_canon(e.name): e for e in entries}
    return locks


def _check_lock_agreement(
    prefix: str,
    packages: tuple[manifest_mod.Package, ...],
    locks: dict[str, dict[str, lockfile.LockEntry]],
) -> list[str]:
    problems = []
    recorded: dict[str, set[str]] = {name: set() for name in locks}
    for package in packages:
        lock_name = "bootstrap.lock" if package.role == "bootstrap" else "requirements.lock"
        lock = locks.get(lock_name)
        filename = package.filename
        if lock is None:
            if lock_name == "bootstrap.lock":
                problems.append(f"{prefix}{filename}: bootstrap wheel, no bootstrap.lock")
            continue
        key = package.key
        entry = lock.get(key)
        if entry is None:
            problems.append(f"{prefix}{filename}: {package.name} is not in {lock_name}")
            continue
        recorded[lock_name].add(key)
        if entry.version != package.version:
            problems.append(
                f"{prefix}{filename}: {lock_name} pins {entry.name}=={entry.version}, "
                f"manifest.json says {_cut(package.version)}"
            )
        if package.sha256 not in entry.hashes:
            problems.append(f"{prefix}{filename}: its sha256 is not among {lock_name}'s hashes")
    for lock_name, lock in locks.items():
        for key in sorted(set(lock) - recorded[lock_name]):
            problems.append(
                f"{prefix}{lock_name}: {lock[key].name}=={lock[key].version} has no file in "
                "manifest.json"
            )
    return problems


# -- the closure ----------------------------------------------------------------------------------


def check_closure(
    wheelhouse: Path,
    prefix: str,
    manifest: manifest_mod.Manifest,
    target: Target,
    lock: dict[str, lockfile.LockEntry],
    reached: dict[str, set[str]] | None = None,
) -> list[str]:
    """Every requirement that holds on the target is met by the lock (extras followed), under
    the name the oldest pip that installs the lock matches it by (`installer_pip`).
    `reached` (when given) is filled with canonical name -> the extras each app wheel is
    reached with from the roots (what `check_requires` evaluates markers with)."""
    problems: list[str] = []
    pip = installer_pip(manifest, target)
    wheels = {p.key: p.filename for p in manifest.app if p.is_wheel}
    left_out = _excluded_pairs(manifest)
    pending: list[tuple[str, frozenset[str], str]] = []
    for text in manifest.requirements:
        try:
            root = Requirement(text)
        except InvalidRequirement:
            problems.append(f"{prefix}manifest.json: unreadable requirement {_cut(text)!r}")
            continue
        if ("", _canon(root.name)) in left_out:
            continue  # --exclude of a root requirement: recorded, installed by other means
        if target.evaluate(root.marker):
            problems += _admits(root, lock, f"{prefix}manifest.json (root {text!r})")
            pending.append((_canon(root.name), frozenset(root.extras), "root"))
    done: set[tuple[str, frozenset[str]]] = set()
    while pending:
        name, extras, _why = pending.pop()
        if (name, extras) in done or name not in wheels:
            continue
        done.add((name, extras))
        if reached is not None:
            reached.setdefault(name, set()).update(extras)
        where = f"{prefix}{wheels[name]}"
        try:
            requires = requires_dist(wheelhouse / wheels[name])
        except BadInput as exc:
            problems.append(f"{where}: {exc}")
            continue
        for req in requires:
            if not target.evaluate(req.marker, extras) or (name, _canon(req.name)) in left_out:
                continue  # off on the target, or left out on purpose (manifest `excluded`)
            found = _admits(req, lock, where, pip)
            problems += found
            if not found:
                pending.append((_canon(req.name), frozenset(req.extras), name))
    return problems


def _excluded_pairs(manifest: manifest_mod.Manifest) -> set[tuple[str, str]]:
    """(canonical required_by or "" for a root, canonical name) of each requirement the
    manifest records as left out (`--exclude`, `--no-deps`): install.sh installs with
    `--no-deps` and its pip check tolerates exactly these, so the closure does too."""
    pairs: set[tuple[str, str]] = set()
    for record in manifest.excluded:
        name, by = record.get("name"), record.get("required_by")
        if isinstance(name, str) and (by is None or isinstance(by, str)):
            pairs.add((_canon(by) if by else "", _canon(name)))
    return pairs


def installer_pip(manifest: manifest_mod.Manifest, target: Target) -> Version:
    """The oldest pip that installs requirements.lock on `target`: the bundled one, or with a
    pip bootstrap the manifest's `installer.min_pip` (install.sh skips the bootstrap only for a
    pip at least that new)."""
    bundled = Version(target.installer_pip)
    if not manifest.installer.bootstrap or not manifest.installer.min_pip:
        return bundled
    try:
        return max(bundled, Version(manifest.installer.min_pip))
    except InvalidVersion:
        return bundled


def _admits(
    req: Requirement,
    lock: dict[str, lockfile.LockEntry],
    where: str,
    pip: Version | None = None,
) -> list[str]:
    entry = lock.get(_canon(req.name))
    if entry is None:
        return [f"{where}: requires {req} on the target, but the lock has no {req.name}"]
    if pip is not None and not installer_policy().names_match(pip, req.name, entry.name):
        return [
            f"{where}: requires {req}, but the lock spells it {entry.name!r}, which pip {pip} "
            f"does not match to {req.name!r} (pip < "
            f"{installer_policy().canonical_names_from()} compares names without PEP 503 "
            "normalisation): re-run bundler fetch"
        ]
    try:
        version = Version(entry.version)
    except (InvalidVersion, ValueError):  # ValueError: over Python's int digit limit
        return [
            f"{where}: the lock pins {entry.name} to unreadable version {_cut(entry.version)!r}"
        ]
    if not req.specifier.contains(version, prereleases=True):
        return [f"{where}: requires {req}, but the lock pins {entry.name}=={entry.version}"]
    return []


def check_unique(prefix: str, packages: tuple[manifest_mod.Package, ...]) -> list[str]:
    """manifest.json lists each file once, and each project once per role (a project may be
    both an app package and a pip bootstrap package, in two locks)."""
    problems = []
    files: dict[str, int] = {}
    projects: dict[tuple[str, str], list[str]] = {}
    for package in packages:
        files[package.filename] = files.get(package.filename, 0) + 1
        projects.setdefault((package.role, package.key), []).append(package.filename)
    for filename, count in sorted(files.items()):
        if count > 1:
            problems.append(
                f"{prefix}manifest.json: {filename} is listed {count} times in packages"
            )
    for (role, key), filenames in sorted(projects.items()):
        if len(set(filenames)) > 1:
            problems.append(
                f"{prefix}manifest.json: {key} has {len(set(filenames))} {role} files in "
                f"packages ({', '.join(sorted(set(filenames)))}); a lock pins one"
            )
    return problems


def check_requires(
    wheelhouse: Path,
    prefix: str,
    manifest: manifest_mod.Manifest,
    target: Target,
    reached: dict[str, set[str]],
) -> list[str]:
    """Each wheel's recorded `requires` (canonical names) equals what its own METADATA gives
    for the target: the Requires-Dist whose marker holds with the extras the wheel is reached
    with (`reached`, from `check_closure`), canonical names, less the project itself and the
    requirements recorded as `excluded` for it. A wheelhouse fetched with --no-deps (only
    roots, none recording a dependency) only has to record no dependency it does not have.
    An unreadable METADATA is named by the closure check, not here."""
    problems = []
    roots = set()
    for text in manifest.requirements:
        with suppress(InvalidRequirement):  # an unreadable root is named by check_closure
            roots.add(_canon(Requirement(text).name))
    no_deps = all(not p.requires and p.key in roots for p in manifest.app)
    left_out: dict[str, set[str]] = {}
    for row in manifest.excluded:
        if row.get("required_by"):
            left_out.setdefault(_canon(str(row["required_by"])), set()).add(
                _canon(str(row.get("name", "")))
            )
    for package in manifest.packages:
        path = wheelhouse / package.filename
        if not package.is_wheel or path.is_symlink() or not path.is_file():
            continue
        try:
            declared = requires_dist(path)
        except BadInput:
            continue
        extras = frozenset(reached.get(package.key, ()))
        wanted = {_canon(r.name) for r in declared if target.evaluate(r.marker, extras)}
        wanted -= {package.key} | left_out.get(package.key, set())
        recorded = {_canon(n) for n in package.requires}
        unknown = recorded - wanted
        missing = set() if no_deps and package.role == "app" else wanted - recorded
        if unknown or missing:
            problems.append(
                f"{prefix}{package.filename}: manifest.json records requires "
                f"{_names(recorded)}, but its METADATA's Requires-Dist gives {_names(wanted)} "
                "on the target"
            )
    return problems


def _names(names: set[str]) -> str:
    shown = ", ".join(_cut(n, 60) for n in sorted(names)[:20])
    more = f", and {len(names) - 20} more" if len(names) > 20 else ""
    return f"[{shown}{more}]"


def check_requires_python(
    wheelhouse: Path, prefix: str, packages: tuple[manifest_mod.Package, ...], target: Target
) -> list[str]:
    """Every app wheel's Requires-Python admits the target's full version (an unreadable
    specifier is ignored, as pip does)."""
    problems = []
    for package in packages:
        name = package.filename
        if package.role != "app" or not package.is_wheel:
            continue
        if not (wheelhouse / name).is_file():
            continue  # named by _check_files
        try:
            spec = requires_python(wheelhouse / name)
        except BadInput as exc:
            problems.append(f"{prefix}{name}: {exc}")
            continue
        if spec is not None and not spec.contains(target.version, prereleases=True):
            problems.append(
                f"{prefix}{name}: Requires-Python {spec} excludes CPython {target.python_version}"
            )
    return problems


def requires_python(wheel: Path) -> SpecifierSet | None:
    """The Requires-Python of a wheel's METADATA (None when absent or unreadable)."""
    value = _metadata(wheel).get("Requires-Python")
    if value is None:
        return None
    try:
        return SpecifierSet(str(value))
    except InvalidSpecifier:
        return None


def requires_dist(wheel: Path) -> list[Requirement]:
    """The Requires-Dist requirements in a wheel's METADATA."""
    headers = _metadata(wheel)
    out = []
    for value in headers.get_all("Requires-Dist") or []:
        try:
            out.append(Requirement(value))
        except InvalidRequirement as exc:
            raise BadInput(f"malformed Requires-Dist {value!r} ({exc})") from None
    return out


def _metadata(wheel: Path) -> Message:
    """The headers of a wheel's single *.dist-info/METADATA."""
    try:
        with zipfile.ZipFile(wheel) as zf:
            names = [n for n in zf.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n)]
            if len(names) != 1:
                raise BadInput("no single *.dist-info/METADATA in the wheel")
            info = zf.getinfo(names[0])
            if info.file_size > _MAX_METADATA:
                raise BadInput("METADATA is implausibly large")
            text = zf.read(info).decode("utf-8", errors="replace")
    except (zipfile.BadZipFile, OSError) as exc:
        raise BadInput(f"not a readable wheel ({exc})") from None
    return HeaderParser().parsestr(text)


def _canon(name: str) -> str:
    return str(canonicalize_name(name))


def _cut(text: str, limit: int = 80) -> str:
    """`text` cut to `limit` characters for a problem line (an untrusted value may be huge)."""
    return text if len(text) <= limit else text[: limit - 3] + "..."
