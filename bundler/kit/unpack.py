"""Delta kits, the far side: `bundler unpack DELTA --onto OLD_KIT` (and `bundler verify`).

`unpack_onto` assembles the full new kit from a delta kit (`bundler.kit.delta`) and the old
kit it was made from, in the staging primitive's work directory (`bundler.fs.staging`), and
renames it into place only once it verified; a failure, Ctrl-C or SIGKILL leaves nothing at
the output (the next run sweeps a killed run's work directory). In order:

1. the delta archive's own `.sha256` beside it, when present (with `--key`: required, and its
   detached signature by a trusted key, `bundler.kit.trust`; that signature covers the whole
   delta), and DELTA.json parsed and checked (`bundler.models.delta`: untrusted input, typed
   or refused);
2. the base: `--onto` an unpacked kit directory (its SHA256SUMS digest must be the recorded
   one) or the old kit archive (its sha256 too, when the delta recorded it). Another kit is
   refused (`WrongBase`, exit 2) before anything is copied; the kit the delta assembles into
   is told apart ("already is kit-NAME");
3. the delta unpacked safely (`bundler.kit.archive.scan`: no links, no '..', size limits),
   every member exactly one of DELTA.json's carried files or sidecars, with its sha256;
4. the new kit assembled: carried files moved in, base files copied with their bytes hashed
   on the way (a base file changed since it was packed fails the run), modes as recorded;
5. verified twice: as any unpacked kit (`verify.verify_dir`: SHA256SUMS, the wheelhouse, the
   closure, the controller part), and as *the* kit that was packed: pack is reproducible, so
   the archive `pack.write_tar` makes of the assembled files must have the full archive's
   recorded sha256 and size (`pack.archive_digest`). That is the same hash the full kit's
   `.sha256` holds, and that its detached signature covers, so a signed kit assembled from
   a delta verifies against the same key. `archive=True` writes that archive (and the
   carried sidecars) beside the new kit: byte for byte the full kit;
6. with `trust` (`--key`, `--policy`): the assembled kit's SHA256SUMS.asc/.minisig (carried:
   a file of the new kit) and the carried full archive's `.sha256` signature against the
   trusted keys, and the policy gate on the new wheelhouse's carried findings, as
   `bundler verify --key` checks the full kit.

The base is never modified. Operator files of the old kit (its inventory: `kit.layout`) are
not copied; the result lists them so the operator can bring them over.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bundler.errors import BadInput, CheckFailed, WrongBase
from bundler.fs import sums as sums_mod
from bundler.fs.hashing import CHUNK, sha256_file
from bundler.fs.regular import open_regular, read_regular
from bundler.fs.staging import deferred_signals, staging
from bundler.kit import archive as kitarchive
from bundler.kit import delta as delta_mod
from bundler.kit import layout, verify
from bundler.kit import trust as trust_mod
from bundler.models import delta as delta_model
from bundler.models.delta import Delta, FileRecord

SUMS = delta_model.SUMS


@dataclass
class Assembly:
    """What an unpack or a verify of a delta kit did."""

    delta: str
    """The delta archive's name."""
    record: Delta
    directory: Path | None = None
    """The new kit's directory (None when only verified)."""
    report: verify.Report | None = None
    """The assembled kit's verify report (None for a delta checked alone)."""
    archive: Path | None = None
    """The full archive written beside the kit (`archive=True`)."""
    sidecars: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    operator_files: list[str] = field(default_factory=list)
    """Operator files (inventory) of the base, not copied into the new kit."""
    already: bool = False
    """The output already held this kit: nothing was done."""
    signers: list[str] = field(default_factory=list)
    """Fingerprints / key ids of the trusted keys whose signatures over the delta verified
    (the assembled kit's own signers are in `report.signers`)."""

    @property
    def carried(self) -> tuple[int, int]:
        """(files, bytes) carried in the delta."""
        files = self.record.carried
        return len(files), sum(f.size for f in files)

    @property
    def from_base(self) -> tuple[int, int]:
        """(files, bytes) taken from the base kit."""
        files = self.record.from_base
        return len(files), sum(f.size for f in files)

    def describe(self) -> str:
        """e.g. 'kit-app from kit-app.delta.tar.gz: 3 files (1.1 MiB) carried, 41 from the
        base (98.0 MiB)'."""
        (n_in, b_in), (n_base, b_base) = self.carried, self.from_base
        size = delta_mod.format_size
        return (
            f"{self.record.kit.name} from {self.delta}: {n_in} files ({size(b_in)}) "
            f"carried, {n_base} from the base ({size(b_base)})"
        )


# -- reading a delta --------------------------------------------------------------------------


def read_record(parts: list[Path]) -> Delta | None:
    """The delta's DELTA.json (its first file member, as `delta.pack_with_base` writes it);
    None when the archive is not a delta kit. Raises BadDelta for an unusable record, and for
    an archive whose first file is in a NAME.delta/ folder but is not DELTA.json (a delta
    re-tarred in another order: never mistaken for a full kit); BadInput for what is not a
    gzip tar at all."""
    name = kitarchive.archive_name(parts)
    with kitarchive.open_stream(parts) as opened:
        tar = opened.tar
        for member in tar:
            if not member.isfile():
                continue
            top, _, rest = member.name.partition("/")
            if rest != delta_model.FILENAME and top.endswith(delta_mod.MARK):
                raise delta_model.BadDelta(
                    f"{name}: {member.name}",
                    f"the first file of a delta kit ({top}/) is not its {delta_model.FILENAME}: "
                    "re-packed by hand? (give the delta as `bundler pack --base` wrote it, "
                    "or its full kit)",
                )
            if rest != delta_model.FILENAME:
                return None
            if member.size > delta_model.MAX_BYTES:
                raise delta_model.BadDelta(f"{name}: {rest}", "larger than the limit")
            stream = tar.extractfile(member)
            raw = stream.read() if stream is not None else b""
            record = delta_model.parse(delta_model.decode(raw, f"{name}: {rest}"), rest)
            if top != record.kit.name + delta_mod.MARK:
                raise delta_model.BadDelta(
                    f"{name}: {rest}", f"the delta's folder {top!r} is not {record.kit.name}.delta"
                )
            return record
    return None


def check_delta(
    paths: list[Path],
    limits: kitarchive.Limits | None = None,
    trust: trust_mod.Trust = trust_mod.NO_TRUST,
) -> Assembly:
    """`bundler verify DELTA` without a base: the delta's own .sha256, DELTA.json, and every
    member against it; with `trust.keys`, the signatures of the delta's .sha256 (beside it)
    and of the new kit's SHA256SUMS (carried). Raises CheckFailed listing the problems,
    BadInput if not a delta."""
    parts = kitarchive.parts_of(paths)
    record, name = _record(parts)
    problems = _own_sha256(parts)
    found = trust_mod.check_archive_sidecar(kitarchive.sidecar(parts), trust)
    read = _sidecar_read(record) | _carried_sums(record)
    listing = kitarchive.scan(parts, limits or kitarchive.Limits(), read=read, hash_all=True)
    problems += bounded(listing.problems, "problems reading the archive")
    problems += _member_problems(record, listing)
    problems += found.problems
    result = Assembly(name, record, notes=list(found.notes), signers=list(found.signers))
    _check_carried_sums(record, listing, trust, result, problems)
    if problems:
        raise CheckFailed(f"{name}: {len(problems)} problem(s)", problems)
    result.notes.append(
        f"a delta kit: `bundler unpack {name} --onto OLD_KIT` assembles {record.kit.name} "
        f"onto {record.base.describe()}"
    )
    return result


def _carried_sums(record: Delta) -> frozenset[str]:
    """The new kit's SHA256SUMS and its signatures, as members of the delta."""
    names = {SUMS, *verify.SUMS_SIGNATURES}
    return frozenset(f"{delta_mod.KIT_DIR}/{f.path}" for f in record.carried if f.path in names)


def _check_carried_sums(
    record: Delta,
    listing: kitarchive.Listing,
    trust: trust_mod.Trust,
    result: Assembly,
    problems: list[str],
) -> None:
    """The carried SHA256SUMS's signatures against the trusted keys (a note without keys)."""
    carried = {m.removeprefix(f"{delta_mod.KIT_DIR}/"): m for m in _carried_sums(record)}
    if SUMS not in carried or SUMS not in {n for n in carried if carried[n] in listing.contents}:
        return  # (a missing SHA256SUMS member is already a problem)
    with tempfile.TemporaryDirectory(prefix="airgap-kit-delta-sums-") as tmp:
        for rel, member in carried.items():
            if member in listing.contents:
                (Path(tmp) / rel).write_bytes(listing.contents[member])
        found = trust_mod.check_archive_sidecar(Path(tmp) / SUMS, trust)
    problems += [f"{delta_mod.KIT_DIR}/{p}" for p in found.problems]
    result.notes += [f"{delta_mod.KIT_DIR}/{n}" for n in found.notes]
    result.signers += [s for s in found.signers if s not in result.signers]


# -- assembling -------------------------------------------------------------------------------


def verify_onto(
    paths: list[Path],
    onto: Path,
    limits: kitarchive.Limits | None = None,
    trust: trust_mod.Trust = trust_mod.NO_TRUST,
) -> Assembly:
    """`bundler verify DELTA --onto OLD_KIT [--key ...]`: assemble in a temporary directory,
    verify (with `trust`, as `_assemble` says), and remove it again. Raises WrongBase,
    CheckFailed (problems), BadInput."""
    parts = kitarchive.parts_of(paths)
    record, name = _record(parts)
    with tempfile.TemporaryDirectory(prefix="airgap-kit-delta-") as tmp:
        into, scratch = Path(tmp) / "kit", Path(tmp) / "scratch"
        into.mkdir()
        scratch.mkdir()
        result = _assemble(
            parts, record, name, onto, into, scratch, limits, archive=False, trust=trust
        )
    result.directory = None
    return result


def unpack_onto(
    paths: list[Path],
    onto: Path,
    output: Path | None = None,
    *,
    archive: bool = False,
    limits: kitarchive.Limits | None = None,
    trust: trust_mod.Trust = trust_mod.NO_TRUST,
) -> Assembly:
    """`bundler unpack DELTA --onto OLD_KIT [-o NEW_DIR] [--archive]`: the new kit as the
    directory `output` (default: the kit's name next to OLD_KIT), staged and renamed into
    place once verified; with `archive`, the full archive and its sidecars beside it.

    An `output` that exists is refused, unless it already is this kit (its SHA256SUMS is the
    recorded one: `Assembly.already`, nothing done). Raises WrongBase, CheckFailed,
    BadInput (an OSError names `output`)."""
    parts = kitarchive.parts_of(paths)
    record, name = _record(parts)
    if output is None:
        output = onto.parent / record.kit.name
    finals = _archive_paths(record, output.parent) if archive else []
    _refuse_inside_base(onto, output, finals)
    if os.path.lexists(output):
        if _sums_digest(output) == record.kit.sums_sha256:
            return Assembly(name, record, directory=output, already=True)
        same = os.path.realpath(output) == os.path.realpath(onto)
        what = f" (it is the base kit: the new kit has the same name, {record.kit.name})"
        never = " (the base kit is never replaced)"  # only where it applies (finding 7)
        raise BadInput(
            f"{output} exists{what if same else ''}: give -o a new directory, e.g. "
            f"{output}.{record.kit.sums_sha256[:8]}{never if same else ''}"
        )
    for final in finals:
        if os.path.lexists(final):
            raise BadInput(f"{final} exists: remove it or unpack without --archive")
    try:
        with staging(output) as stage:
            result = _assemble(
                parts, record, name, onto, stage.content, stage.scratch, limits, archive, trust
            )
            stage.commit()
            built = _archive_paths(record, stage.scratch) if archive else []
            with deferred_signals():
                for src, final in zip(built, finals, strict=True):
                    os.replace(src, final)
    except OSError as exc:
        raise BadInput(
            f"{output}: cannot assemble the kit there ({exc.strerror or exc}); nothing was left"
        ) from None
    result.directory = output
    if result.report is not None:
        verify.accept(result.report, trust)
    if archive:
        result.archive, result.sidecars = finals[0], finals[1:]
    if result.report is not None:
        result.report.name = output.name
    return result


def _refuse_inside_base(onto: Path, output: Path, finals: list[Path]) -> None:
    """BadInput when the new kit's directory (or, with --archive, the full archive or a
    sidecar) would be written inside the base kit directory `onto`: the base is never
    modified, and `bundler verify` fails a kit on any file it does not list (#16 fresh
    review, finding 4). Compared by real path (symlinks resolved)."""
    base = os.path.realpath(onto)
    if not os.path.isdir(base):
        return
    for path, what in [(output, "-o"), *((f, "--archive") for f in finals)]:
        real = os.path.realpath(path)  # (-o the base itself: "exists (it is the base kit)")
        if real.startswith(base + os.sep):
            raise BadInput(
                f"{what} {path}: inside the base kit --onto {onto}, which is never modified "
                f"(verify would fail it on the extra files): give -o a directory outside it, "
                f"e.g. {Path(onto).parent / path.name}"
            )


def unpack_kit(
    paths: list[Path],
    output: Path | None = None,
    limits: kitarchive.Limits | None = None,
    trust: trust_mod.Trust = trust_mod.NO_TRUST,
) -> verify.Report:
    """`bundler unpack KIT [-o DIR]` for a full kit: verified, then renamed into place as the
    directory `output` (default: ./kit-NAME), through the staging primitive. Raises
    CheckFailed, BadInput."""
    parts = kitarchive.parts_of(paths)
    name = kitarchive.archive_name(parts)
    if output is None:
        output = Path(name[: -len(kitarchive.SUFFIX)])
    if os.path.lexists(output):
        raise BadInput(f"{output} exists: give -o a new directory")
    try:
        with staging(output) as stage:
            unpacked = stage.scratch / "kit"
            report = verify.verify_archive(
                parts, limits or kitarchive.Limits(), unpacked, trust=trust
            )
            if report.problems:
                raise CheckFailed(
                    f"{report.name}: {len(report.problems)} problem(s)", report.problems
                )
            (top,) = list(unpacked.iterdir())
            stage.content.rmdir()
            os.rename(top, stage.content)
            stage.commit()
    except OSError as exc:
        raise BadInput(
            f"{output}: cannot unpack the kit there ({exc.strerror or exc}); nothing was left"
        ) from None
    verify.accept(report, trust)
    return report


def _assemble(
    parts: list[Path],
    record: Delta,
    name: str,
    onto: Path,
    into: Path,
    scratch: Path,
    limits: kitarchive.Limits | None,
    archive: bool,
    trust: trust_mod.Trust = trust_mod.NO_TRUST,
) -> Assembly:
    """Steps 1-6 of the module docstring, into the empty directory `into` (`scratch` for
    the rest, same filesystem). Raises WrongBase, CheckFailed, BadInput."""
    problems = _own_sha256(parts)
    signed = trust_mod.check_archive_sidecar(kitarchive.sidecar(parts), trust)
    problems += signed.problems
    base_dir = _base_directory(record, name, onto, scratch, limits)
    result = Assembly(name, record, notes=list(signed.notes), signers=list(signed.signers))
    result.operator_files = layout.operator_entries(
        {p for p in _relative_files(base_dir) if layout.is_operator_path(p)}
    )
    listing = kitarchive.scan(
        parts, limits or kitarchive.Limits(), read=_sidecar_read(record), dest=scratch / "delta"
    )
    problems += bounded(listing.problems, "problems reading the archive")
    problems += _member_problems(record, listing)
    problems += bounded(_base_path_problems(record, base_dir), "base paths the base lacks")
    if problems:
        raise CheckFailed(f"{name}: {len(problems)} problem(s)", problems)
    delta_dir = scratch / "delta" / (record.kit.name + delta_mod.MARK)
    full_signed = trust_mod.check_archive_sidecar(
        delta_dir / (record.kit.archive + ".sha256"), trust
    )
    for f in record.files:
        problems += _place(f, delta_dir, base_dir, into)
    if problems:
        raise CheckFailed(f"{name}: cannot assemble {record.kit.name}", problems)
    report = verify.verify_dir(into, trust, record.kit.size, operator_files=False)
    report.name = record.kit.name
    report.add(full_signed)
    problems += report.problems
    problems += _archive_problems(record, into, scratch, archive, delta_dir)
    if problems:
        raise CheckFailed(f"{name}: the assembled {record.kit.name} does not verify", problems)
    result.report = report
    return result


def _record(parts: list[Path]) -> tuple[Delta, str]:
    name = kitarchive.archive_name(parts)
    record = read_record(parts)
    if record is None:
        raise BadInput(f"{name} is a full kit, not a delta kit (no DELTA.json)")
    return record, name


def _own_sha256(parts: list[Path]) -> list[str]:
    name = kitarchive.archive_name(parts)
    recorded = kitarchive.recorded_sha256(parts)
    problems = []
    if recorded is not None and kitarchive.archive_sha256(parts) != recorded:
        problems.append(f"{name}: sha256 differs from {name}.sha256 (damaged or replaced)")
    rename = kitarchive.renamed(parts)
    if rename is not None:
        problems.append(rename)
    return problems


def _base_directory(
    record: Delta, name: str, onto: Path, scratch: Path, limits: kitarchive.Limits | None
) -> Path:
    """The base kit as a directory: `onto` itself, or the old archive unpacked into scratch;
    refused (WrongBase) unless it is the delta's base."""
    archive_sha = None
    directory = onto
    if not onto.is_dir():
        if not onto.is_file():
            raise BadInput(f"--onto {onto}: no such kit or kit directory")
        base_parts = kitarchive.parts_of([onto])
        archive_sha = kitarchive.archive_sha256(base_parts)
        listing = kitarchive.scan(base_parts, limits or kitarchive.Limits(), dest=scratch / "base")
        if listing.problems or listing.top is None:
            shown = listing.problems[0] if listing.problems else "empty archive"
            raise BadInput(f"--onto {onto}: not a usable kit archive ({shown})")
        directory = scratch / "base" / listing.top
    digest = _sums_digest(directory)
    if digest is None:
        raise BadInput(f"--onto {onto}: not a kit (no {SUMS})")
    found = {"name": onto.name, "sums_sha256": digest, "archive_sha256": archive_sha}
    expected = {
        "name": record.base.name,
        "sums_sha256": record.base.sums_sha256,
        "archive_sha256": record.base.archive_sha256,
    }
    if digest == record.kit.sums_sha256:
        raise WrongBase(
            f"--onto {onto} already is {record.kit.name}, the kit {name} assembles: nothing "
            "to do (give the kit it was made from)",
            delta=name,
            expected=expected,
            found=found,
        )
    archive_differs = (
        archive_sha is not None
        and record.base.archive_sha256 is not None
        and archive_sha != record.base.archive_sha256
    )
    if digest != record.base.sums_sha256 or archive_differs:
        what = (
            f"archive sha256 {archive_sha[:12]}..."
            if archive_differs and archive_sha
            else (f"SHA256SUMS sha256 {digest[:12]}...")
        )
        raise WrongBase(
            f"{name} was made from {record.base.describe()}, but --onto {onto} is another "
            f"kit ({what}): give the kit it was made from, or carry the full "
            f"{record.kit.archive}",
            delta=name,
            expected=expected,
            found=found,
        )
    return directory


def _base_path_problems(record: Delta, base_dir: Path) -> list[str]:
    """Every file DELTA.json takes from the base must be one the base's SHA256SUMS lists with
    that sha256. The base's SHA256SUMS is the recorded one (`_base_directory`), so a base
    path it does not list so (SHA256SUMS itself, another file, an operator file) is the
    delta's fault, not a base "changed since it was packed" (#16 fresh review, finding 9)."""
    listed, _ = sums_mod.parse(read_regular(base_dir / SUMS, 64 << 20).decode("utf-8", "replace"))
    return [
        f"{delta_model.FILENAME}: {f.path}: taken from the base's {f.base_path}, which the base "
        f"kit's {SUMS} does not list with that sha256: the delta is wrong, not the base"
        for f in record.from_base
        if f.base_path is None or listed.get(f.base_path) != f.sha256
    ]


def _sums_digest(directory: Path) -> str | None:
    path = directory / SUMS
    if not path.is_file() or path.is_symlink():
        return None
    return hashlib.sha256(read_regular(path, 64 << 20)).hexdigest()


def _member_problems(record: Delta, listing: kitarchive.Listing) -> list[str]:
    """Every member of the delta is DELTA.json, a carried file or a sidecar, with its bytes."""
    expected = {f"{delta_mod.KIT_DIR}/{f.path}": (f.sha256, f.size) for f in record.carried}
    expected.update({s.name: (s.sha256, s.size) for s in record.sidecars})
    extra, differ = [], []
    for rel, size in sorted(listing.files.items()):
        if rel == delta_model.FILENAME:
            continue
        want = expected.pop(rel, None)
        if want is None:
            extra.append(f"{rel}: in the delta but not in {delta_model.FILENAME}")
        elif listing.sha256.get(rel, want[0]) != want[0] or size != want[1]:
            differ.append(f"{rel}: sha256 differs from {delta_model.FILENAME}")
    missing = [
        f"{rel}: listed in {delta_model.FILENAME} but missing from the delta"
        for rel in sorted(expected)
    ]
    problems = bounded(extra, f"members not in {delta_model.FILENAME}")
    problems += bounded(differ, f"members whose sha256 differs from {delta_model.FILENAME}")
    problems += bounded(missing, "files missing from the delta")
    sidecar = record.kit.archive + ".sha256"
    words = listing.contents.get(sidecar, b"").decode("utf-8", errors="replace").split()
    if sidecar in listing.contents and words != [record.kit.sha256, record.kit.archive]:
        problems.append(f"{sidecar}: does not record {record.kit.archive}'s sha256 of DELTA.json")
    return problems


SHOWN = 20
"""Problems of one kind listed one per line; beyond, one line counts the rest."""


def bounded(lines: list[str], kind: str, shown: int = SHOWN) -> list[str]:
    """`lines` as they are when few; else the first `shown` and '... and N more KIND': a delta
    with 200,000 stray members is a few dozen lines, not 200,000 (#16 fresh review, 6)."""
    if len(lines) <= shown + 1:
        return list(lines)
    return [*lines[:shown], f"... and {len(lines) - shown} more {kind}"]


def _sidecar_read(record: Delta) -> frozenset[str]:
    """The full archive's .sha256, read while the delta streams by (it is checked above)."""
    return frozenset({record.kit.archive + ".sha256"})


def _place(f: FileRecord, delta_dir: Path, base_dir: Path, into: Path) -> list[str]:
    """Put one file of the new kit at `into/PATH`: moved from the delta or copied (hashed)
    from the base; its mode as recorded."""
    dest = into / f.path
    dest.parent.mkdir(parents=True, exist_ok=True)
    if f.source == delta_model.DELTA:
        os.replace(delta_dir / delta_mod.KIT_DIR / f.path, dest)
    else:
        assert f.base_path is not None
        problem = _copy_checked(base_dir / f.base_path, dest, f)
        if problem:
            return [problem]
    os.chmod(dest, 0o755 if f.executable else 0o644)
    return []


def _copy_checked(src: Path, dest: Path, f: FileRecord) -> str | None:
    """Copy a base file, hashing what is read; a problem line when it is not the recorded one."""
    where = f"--onto: {f.base_path}"
    h = hashlib.sha256()
    size = 0
    try:
        with open_regular(src, follow=False) as inp, dest.open("xb") as out:
            for block in iter(lambda: inp.read(CHUNK), b""):
                h.update(block)
                size += len(block)
                out.write(block)
    except BadInput as exc:
        return f"{where}: {str(exc).removeprefix(f'{src}: ')} (needed for {f.path})"
    if h.hexdigest() != f.sha256 or size != f.size:
        return (
            f"{where}: sha256 differs from the base kit's {SUMS} (changed since it was "
            f"packed; needed for {f.path})"
        )
    return None


def _archive_problems(
    record: Delta, into: Path, scratch: Path, archive: bool, delta_dir: Path
) -> list[str]:
    """The assembled files make the full archive that was packed (sha256 and size); with
    `archive`, that archive and the carried sidecars are left in `scratch`."""
    # pack's archive writer, imported only here: at module level it would load jinja2 and the
    # SBOM library for every unpack (tests/unit/cli/test_imports.py, benchmarks/PROFILE.md)
    from bundler.kit import pack as pack_mod

    files = [
        pack_mod.KitFile(f.path, into / f.path, None, f.size, f.sha256, f.executable)
        for f in record.files
    ]
    kit = record.kit
    if archive:
        built = scratch / kit.archive
        with built.open("wb") as raw:
            pack_mod.write_tar(raw, kit.name, files, kit.epoch)
        digest, size = sha256_file(built), built.stat().st_size
        for sidecar in record.sidecars:
            os.replace(delta_dir / sidecar.name, scratch / sidecar.name)
    else:
        digest, size = pack_mod.archive_digest(kit.name, files, kit.epoch)
    if digest != kit.sha256 or size != kit.size:
        return [
            f"{kit.archive}: the assembled kit packs to sha256 {digest[:12]}... ({size} bytes), "
            f"not the {kit.sha256[:12]}... ({kit.size} bytes) that was packed"
        ]
    return []


def _archive_paths(record: Delta, folder: Path) -> list[Path]:
    """The full archive and its sidecars, in `folder`."""
    return [folder / record.kit.archive, *(folder / s.name for s in record.sidecars)]


def _relative_files(directory: Path) -> set[str]:
    return {
        p.relative_to(directory).as_posix()
        for p in directory.rglob("*")
        if p.is_file() or p.is_symlink()
    }
