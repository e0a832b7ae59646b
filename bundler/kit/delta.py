"""Delta kits, the connected side: `bundler pack --base OLD_KIT_OR_SUMS`.

A second kit mostly repeats the first: the same numpy and opencv wheels, the same CPython
tarball, the same playbooks. `pack_with_base` packs the new kit in full (kit-NAME.tar.gz, as
`bundler pack` does: it stays the reference, and the base of the next delta) and, beside it,
a *delta kit* `kit-NAME.delta.tar.gz` that carries only

- the files of the new kit whose bytes (sha256) the base kit does not hold,
- always the new SHA256SUMS, manifests and locks (`always_carried`: the delta tells what the
  new kit is even before it is assembled), and
- the full archive's `.sha256` sidecar (and its detached signatures, when the kit is signed),

plus `DELTA.json` (`bundler.models.delta`): every file of the new kit (path, sha256, size,
mode, carried or taken from which base path), the full archive's sha256 and size, the member
mtime, and the base's identity: its SHA256SUMS digest, and its archive sha256 and name when
the base was given as the archive. The idea is Zarf's differential package
(https://docs.zarf.dev/tutorials/9-package-create-differential: "only pack what has changed");
unlike Zarf, whose differential package names a version, a delta here is bound to the exact
bytes of its base, and the far side (`bundler.kit.unpack`) refuses any other.

Layout of the delta archive (reproducible like a kit: `pack.write_tar`):

    kit-NAME.delta/DELTA.json
    kit-NAME.delta/kit/PATH                    each carried file, at its path in the new kit
    kit-NAME.delta/kit-NAME.tar.gz.sha256      the full archive's sidecar (+ .asc/.minisig)

The base (`read_base`) is one of: the old kit archive (or its first part, or all its parts),
an unpacked kit directory, or the old kit's SHA256SUMS alone (the small file to keep when the
old archive is gone). Every base file that the new kit takes is named by its sha256 in the old
SHA256SUMS; the far side checks each byte it copies.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from glob import escape as glob_escape
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from bundler.errors import BadInput
from bundler.fs import sums
from bundler.fs.hashing import sha256_file
from bundler.fs.regular import read_regular
from bundler.kit import archive as kitarchive
from bundler.kit import layout
from bundler.models import delta as delta_model
from bundler.models import manifest as manifest_mod
from bundler.models.delta import BaseRecord, Delta, FileRecord, KitRecord, Sidecar

if TYPE_CHECKING:  # pack (jinja2, the SBOM library) is imported by the functions that pack:
    # `bundler unpack` reads deltas without it (tests/unit/cli/test_imports.py)
    from bundler.kit import pack as pack_mod

SUMS = delta_model.SUMS
RECORD = delta_model.FILENAME
KIT_DIR = "kit"
"""The delta's folder holding the carried files under their paths in the new kit."""
MARK = ".delta"
"""kit-NAME.tar.gz -> kit-NAME.delta.tar.gz (top directory kit-NAME.delta/)."""
DESCRIBING = frozenset({"manifest.json", "requirements.lock", "bootstrap.lock", "pylock.toml"})
"""File names that say what a wheelhouse is (its packages and pins)."""
WHEELHOUSES = ("wheelhouse/", "controller/wheelhouse/", "controller/bootstrap/wheelhouse/")


def always_carried(path: str) -> bool:
    """Carried even when the base holds the same bytes: SHA256SUMS, and each manifest and lock
    (`DESCRIBING`) anywhere under the kit's wheelhouses (a wheelhouse with one folder per
    target keeps its own). The delta alone then tells what the new kit is (its file list, its
    packages and pins), e.g. for `bundler verify DELTA` before the base is at hand."""
    if path == SUMS:
        return True
    return path.startswith(WHEELHOUSES) and PurePosixPath(path).name in DESCRIBING


SIGNATURE_SUFFIXES = (".asc", ".minisig")
"""Detached signatures of the full archive's .sha256 carried along (OpenPGP, minisign)."""
_MAX_SUMS = 64 << 20


@dataclass(frozen=True)
class Base:
    """The base kit as pack sees it: its identity and its files by path."""

    record: BaseRecord
    files: dict[str, str]
    """Path -> sha256, from its SHA256SUMS (SHA256SUMS itself excluded)."""
    given: str
    """What was given on the command line (for messages)."""

    def paths_by_sha(self) -> dict[str, str]:
        """sha256 -> the first (sorted) base path holding those bytes."""
        found: dict[str, str] = {}
        for path, sha in sorted(self.files.items()):
            found.setdefault(sha, path)
        return found


@dataclass
class DeltaResult:
    """What `pack_with_base` wrote: the full kit, the delta beside it, and the record."""

    full: pack_mod.PackResult
    delta: pack_mod.PackResult
    record: Delta
    base: Base

    @property
    def carried_bytes(self) -> int:
        return sum(f.size for f in self.record.carried)

    @property
    def saved(self) -> int:
        """Bytes the delta archive saves over the full archive (negative when it is larger)."""
        return self.full.size - self.delta.size

    def describe_saving(self) -> str:
        """e.g. 'delta 1.2 MiB instead of 98.0 MiB: 96.8 MiB (98.8%) saved'."""
        full, delta = self.full.size, self.delta.size
        percent = 100.0 * self.saved / full if full else 0.0
        return (
            f"delta {format_size(delta)} instead of {format_size(full)}: {format_size(self.saved)} "
            f"({percent:.1f}%) saved"
        )


def delta_output(output: Path) -> Path:
    """kit-NAME.tar.gz -> kit-NAME.delta.tar.gz, in the same folder."""
    if not output.name.endswith(kitarchive.SUFFIX):
        raise BadInput(f"output {output} must be named kit-NAME{kitarchive.SUFFIX}")
    stem = output.name[: -len(kitarchive.SUFFIX)]
    return output.with_name(stem + MARK + kitarchive.SUFFIX)


# -- the base ---------------------------------------------------------------------------------


_SIDECARS = (".sha256", ".asc", ".sig", ".minisig")
"""Files beside a kit archive, never a base: its .sha256 and that file's detached signatures
(bundler.kit.signing.SUFFIX: .asc, .minisig; .sig, gpg's binary form). Spelled here, not
imported: `bundler unpack` reads deltas without the signing module."""
_KIT_WHEELHOUSE = "wheelhouse/"
"""Every kit's SHA256SUMS lists files below it (bundler.kit.pack); a wheelhouse's lists none."""


def read_base(path: Path) -> Base:
    """The base kit given as an archive (or its parts' first), an unpacked kit directory, or
    its SHA256SUMS file. An archive is read once (its SHA256SUMS, every member hashed against
    it, its own sha256 against the `.sha256` beside it); a directory's files are checked
    against its SHA256SUMS. Raises BadInput naming `path` for anything else or a damaged base.
    """
    if path.is_dir():
        return _base_from_dir(path)
    if not path.is_file():
        raise BadInput(f"--base {path}: no such kit, kit directory or SHA256SUMS file")
    if path.name.endswith(_SIDECARS):
        raise BadInput(
            f"--base {path}: a sidecar of a kit archive, not a kit: a base is a kit archive "
            f"(kit-NAME{kitarchive.SUFFIX}), its unpacked directory or its {SUMS}"
        )
    if path.name.endswith(kitarchive.SUFFIX) or re.search(r"\.tar\.gz\.part\d{3,}$", path.name):
        return _base_from_archive(path)
    if path.name == manifest_mod.FILENAME:
        raise BadInput(
            f"--base {path}: a wheelhouse's {manifest_mod.FILENAME}, not a kit: a base is a kit "
            f"archive (kit-NAME{kitarchive.SUFFIX}), its unpacked directory or its {SUMS}"
        )
    raw = read_regular(path, _MAX_SUMS + 1)
    return _base_from_sums(path, raw, None, None, label=path.name)


def _base_from_dir(directory: Path) -> Base:
    sums_path = directory / SUMS
    if (directory / "manifest.json").is_file() and not (directory / _KIT_WHEELHOUSE).is_dir():
        raise BadInput(
            f"--base {directory}: a wheelhouse, not a kit: a base is a kit archive "
            f"(kit-NAME{kitarchive.SUFFIX}), its unpacked directory or its {SUMS}"
        )
    if not sums_path.is_file():
        raise BadInput(f"--base {directory}: not an unpacked kit (no {SUMS})")
    base = _base_from_sums(sums_path, read_regular(sums_path, _MAX_SUMS + 1), directory.name, None)
    for rel, sha in sorted(base.files.items()):
        file = directory / rel
        if not file.is_file() or file.is_symlink() or sha256_file(file) != sha:
            raise BadInput(
                f"--base {directory}: {rel} is missing or differs from its {SUMS}: the base "
                "must be the old kit as it was packed"
            )
    return dataclasses.replace(base, given=str(directory))


def _base_from_archive(path: Path) -> Base:
    parts = kitarchive.parts_of([path])
    name = kitarchive.archive_name(parts)
    digest = kitarchive.archive_sha256(parts)
    recorded = kitarchive.recorded_sha256(parts)
    if recorded is not None and recorded != digest:
        raise BadInput(f"--base {path}: its sha256 differs from {name}.sha256 (damaged)")
    listing = kitarchive.scan(parts, read=frozenset({SUMS}), hash_all=True)
    if listing.problems:
        raise BadInput(f"--base {path}: {listing.problems[0]}")
    if RECORD in listing.files:
        raise BadInput(f"--base {path}: a delta kit; give the full kit it assembles into")
    if SUMS not in listing.contents or listing.top is None:
        raise BadInput(f"--base {path}: not a kit archive (no {SUMS} in it)")
    base = _base_from_sums(path, listing.contents[SUMS], listing.top, digest)
    for rel, sha in sorted(base.files.items()):
        if listing.sha256.get(rel) != sha:
            raise BadInput(
                f"--base {path}: {rel} is missing or differs from its {SUMS} (damaged kit)"
            )
    return base


def _base_from_sums(
    where: Path,
    raw: bytes,
    name: str | None,
    archive_sha256: str | None,
    label: str = SUMS,
) -> Base:
    """The base's files from its SHA256SUMS bytes (`sha256sum -c` lines, as pack writes);
    `label` is the file's name in a problem line ('FILE:LINE: ...': the name the user gave,
    when the base was given as that file)."""
    if len(raw) > _MAX_SUMS:
        raise BadInput(f"--base {where}: larger than {_MAX_SUMS} bytes: not a {SUMS} file")
    files, problems = sums.parse(raw.decode("utf-8", errors="replace"), label)
    if problems:  # the shared parser: bad lines, paths outside, paths listed twice
        raise BadInput(
            f"--base {where}: {problems[0]} (give the old kit, its unpacked directory or its "
            f"{SUMS})"
        )
    if not files:
        raise BadInput(f"--base {where}: an empty {SUMS}")
    if not any(rel.startswith(_KIT_WHEELHOUSE) for rel in files):
        raise BadInput(
            f"--base {where}: not a kit's {SUMS} (it lists no {_KIT_WHEELHOUSE} file: a "
            f"wheelhouse's own?): a base is a kit archive (kit-NAME{kitarchive.SUFFIX}), its "
            f"unpacked directory or its {SUMS}"
        )
    if name is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._+-]*", name):
        name = None  # a directory renamed by the operator: its name is not the kit's
    record = BaseRecord(name, archive_sha256, hashlib.sha256(raw).hexdigest())
    return Base(record, files, str(where))


def refuse_writing_over(base_path: Path, outputs: Sequence[Path]) -> None:
    """BadInput when writing `outputs` (each kit-NAME.tar.gz, with its .sha256, that file's
    signatures and its .partNNN, which pack writes or removes as stale) would replace or remove
    the base: a base file (an archive's every part) or anything inside a base directory. The
    kit's name does not change between versions, so pack's default -o in the folder holding
    the old kit IS the old kit (#16 fresh review, finding 1). Compared by real path (symlinks
    resolved) and, for what exists, by inode (a hard link is the same file)."""
    real_base = os.path.realpath(base_path)
    if os.path.isdir(real_base):
        protected: list[str] = []
    elif re.search(r"\.tar\.gz\.part\d{3,}$", base_path.name):
        protected = [os.path.realpath(p) for p in _existing_parts(base_path)] or [real_base]
    else:
        protected = [real_base]
    identities = {_identity(p) for p in protected} - {None}
    for output in outputs:
        folder = output.parent
        names = [output.name + s for s in ("", ".sha256", *(".sha256" + x for x in _SIDECARS))]
        candidates = [folder / n for n in names]
        if folder.is_dir():
            candidates += sorted(folder.glob(f"{glob_escape(output.name)}.part*"))
        for candidate in candidates:
            real = os.path.realpath(candidate)
            inside = not protected and (real + os.sep).startswith(real_base + os.sep)
            same = real in protected or (
                os.path.lexists(candidate) and _identity(real) in identities
            )
            if inside or same:
                what = "is inside" if inside else "is"
                raise BadInput(
                    f"-o {output}: pack would write {candidate}, which {what} the base "
                    f"{base_path} (--base is read, never replaced): give -o a path outside it, "
                    f"e.g. another folder"
                )


def _existing_parts(part: Path) -> list[Path]:
    stem = re.sub(r"\.part\d{3,}$", "", part.name)
    return sorted(part.parent.glob(f"{glob_escape(stem)}.part*"))


def _identity(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


# -- packing ----------------------------------------------------------------------------------


def pack_with_base(
    base_path: Path, inputs: pack_mod.PackInputs, output: Path, split: int | None = None
) -> DeltaResult:
    """Pack the full kit `output` and the delta kit beside it (`delta_output(output)`).

    The base is read first: an unusable one fails before anything is written. Both archives
    go through `pack.write_archive` (the staging primitive); `split` applies to both.
    `inputs` as for `pack.pack` (`bundler.kit.pack.PackInputs`); with its `sign` and
    `policy`, the full kit is signed as `pack --sign` signs it (its
    SHA256SUMS.asc is a file of the new kit, so the delta carries it; its .sha256.asc is a
    sidecar the delta carries), and the delta's own .sha256 is signed with the same keys.
    Raises BadInput (inputs, base, or a write that failed), CheckFailed (the policy).
    """
    from bundler.kit import pack as pack_mod

    target = delta_output(output)
    refuse_writing_over(base_path, [output, target])
    base = read_base(base_path)
    kit = pack_mod.plan(inputs, output)
    if base.record.sums_sha256 == _sums_file(kit).sha256:
        raise BadInput(
            f"--base {base.given} is the very kit being packed (same {SUMS}): nothing to carry"
        )
    sign = inputs.sign
    full = pack_mod.write_kit(
        kit, output, split, sign=sign, policy=inputs.policy, today=inputs.today
    )
    result = write_delta(kit, full, base, target, split, full.signatures)
    result.delta.signatures = pack_mod.sign_sidecar(result.delta.checksum_file, sign)
    result.delta.signers = full.signers
    return result


def write_delta(
    kit: pack_mod.KitPlan,
    full: pack_mod.PackResult,
    base: Base,
    output: Path,
    split: int | None = None,
    sidecars: Sequence[Path] = (),
) -> DeltaResult:
    """The delta archive `output` for the kit `kit`, already written as `full`.

    `sidecars`: the full archive's detached signatures (beside its .sha256), carried too.
    """
    from bundler.kit import pack as pack_mod

    record = make_record(kit, full, base, [full.checksum_file, *sidecars])
    carried = {f.path for f in record.carried}
    files = [
        dataclasses.replace(f, arcname=f"{KIT_DIR}/{f.arcname}")
        for f in kit.files
        if f.arcname in carried
    ]
    files += [pack_mod.file_from_path(p, p.name) for p in [full.checksum_file, *sidecars]]
    files.append(pack_mod.file_from_bytes(RECORD, delta_model.dumps(record).encode()))
    name = output.name[: -len(kitarchive.SUFFIX)]
    pack_mod.remove_stale_signatures(output)
    written = pack_mod.write_archive(name, output, files, kit.epoch, split, None, [])
    return DeltaResult(full, written, record, base)


def make_record(
    kit: pack_mod.KitPlan, full: pack_mod.PackResult, base: Base, sidecars: Sequence[Path]
) -> Delta:
    """DELTA.json for `kit` (written as `full`) against `base`."""
    by_sha = base.paths_by_sha()
    rows = []
    for f in sorted(kit.files, key=lambda f: f.arcname):
        if layout.is_operator_path(f.arcname):  # pragma: no cover - pack never collects them
            continue
        from_base = not always_carried(f.arcname) and f.sha256 in by_sha
        if from_base:
            same_path = base.files.get(f.arcname) == f.sha256
            base_path = f.arcname if same_path else by_sha[f.sha256]
            rows.append(
                FileRecord(f.arcname, f.sha256, f.size, f.executable, delta_model.BASE, base_path)
            )
        else:
            rows.append(FileRecord(f.arcname, f.sha256, f.size, f.executable, delta_model.DELTA))
    sums = _sums_file(kit)
    return Delta(
        kit=KitRecord(kit.name, full.archive.name, full.sha256, full.size, sums.sha256, kit.epoch),
        base=base.record,
        files=tuple(rows),
        sidecars=tuple(
            Sidecar(p.name, _sha256(p.read_bytes()), p.stat().st_size) for p in sidecars
        ),
    )


def _sums_file(kit: pack_mod.KitPlan) -> pack_mod.KitFile:
    return next(f for f in kit.files if f.arcname == SUMS)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def format_size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover
