"""`bundler verify KIT|DIR`: offline proof that a kit (or a wheelhouse) is complete and intact.

The wheelhouse checks and source fit are `bundler.kit.wheelhouse_check`'s (pack runs them too).

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
- the CPython source (`model.python_source`), per target of the wheelhouse, as pack checks it:
  a kit whose sources/ carry a CPython tarball of a target's X.Y but another patch release (the
  playbooks build 3.6.10, `--python 3.6` resolves for 3.6.15: the same cp36m ABI) is accepted
  when that target's wheels also hold for that release: Requires-Python, markers
  (python_full_version) and the closure evaluated for it, and its bundled pip able to install
  the wheels (or a pip bootstrap shipped); a note per such target;
- the controller part (`check_controller`, see bundler.kit.controller): controller/wheelhouse/
  checked like the application's wheelhouse, against its own target, plus its ansible-core
  release and controller/setup.sh.
"""

from __future__ import annotations

import os
import stat
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from bundler.errors import BadInput, CheckFailed
from bundler.fs import regular, sums
from bundler.fs.hashing import sha256_file
from bundler.fs.oserrors import user_errors
from bundler.fs.staging import PRESERVED, STAGE_MARK, staging
from bundler.gate.evaluate import GateResult
from bundler.kit import archive as kitarchive
from bundler.kit import controller as controller_mod
from bundler.kit import layout, signing, wheelhouse_check
from bundler.kit import release as release_mod
from bundler.kit import trust as trust_mod
from bundler.models import manifest as manifest_mod
from bundler.wheelhouse import model
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
        report.problems += wheelhouse_check.check_wheelhouse(wheelhouse, prefix, report)
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


def check_python_source(directory: Path, report: Report) -> list[str]:
    """The unpacked kit's CPython source, per target as pack checks it: for each target, the
    tarball in sources/ of its X.Y (`model.python_source`); another patch release than the one
    resolved for is a note (one target: 'sources/FILE: ...'; several: 'target NAME:
    sources/FILE: ...') and the wheelhouse must hold for it
    (`wheelhouse_check.source_fit_problems`). No tarball of a target's X.Y: nothing to check."""
    sources_dir = directory / "sources"
    wheelhouse = directory / "wheelhouse"
    if not sources_dir.is_dir() or not (wheelhouse / manifest_mod.FILENAME).is_file():
        return []
    try:
        found = model.open_wheelhouse(wheelhouse)
    except manifest_mod.BadManifest:
        return []  # check_wheelhouse names the unusable manifest
    tarballs = [p.name for p in sources_dir.iterdir() if p.is_file()]
    problems: list[str] = []
    for view in found.targets:
        source = model.python_source(tarballs, view.target)
        if source is None or source.exact:
            continue
        named = f"target {view.name}: " if found.several else ""
        report.notes.append(f"{named}sources/{source.filename}: {source.describe()}")
        problems += wheelhouse_check.source_fit_problems(
            wheelhouse, "wheelhouse/", source, view.name
        )
    return list(dict.fromkeys(problems))


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
    problems += wheelhouse_check.check_wheelhouse(wheelhouse, prefix, checked)
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
    problems += wheelhouse_check.check_wheelhouse(wheelhouse, prefix, checked)
    try:
        manifest_mod.read(wheelhouse)
        info = controller_mod.ControllerInfo.from_directory(wheelhouse)
    except BadInput:
        return problems
    rules = controller_mod.bootstrap_policy()
    problems += [f"{prefix}{manifest_mod.FILENAME}: {p}" for p in info.problems(rules)]
    report.controller_bootstrap = f"{info.describe()}; {checked.wheels} wheels checked"
    return problems
