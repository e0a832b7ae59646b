"""Reading a kit archive safely: split parts, member streams, and a defensive unpack.

A kit arrives as `kit-NAME.tar.gz` or as `kit-NAME.tar.gz.part000`, `.part001`, ... (from
`bundler pack --split`); `parts_of` finds the whole set from the first part (or takes the set).
`members` streams the archive once (no seeking, nothing unpacked) and classifies every member;
`unpack` writes only what is safe: regular files and directories under the single top
directory, no absolute paths, no `..`, no links or devices, each member and the total under a
size limit. Every refusal is a problem line naming the member; the caller decides what a
problem means (verify: exit 1).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import tarfile
import zlib
from collections.abc import Container, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

from bundler.errors import BadInput
from bundler.fs.hashing import CHUNK, sha256_file

SUFFIX = ".tar.gz"
_PART = re.compile(r"^(?P<base>.+\.tar\.gz)\.part(?P<n>\d{3,})$")
GiB = 1 << 30
_KINDS = {
    tarfile.CHRTYPE: "character device",
    tarfile.BLKTYPE: "block device",
    tarfile.FIFOTYPE: "fifo",
    tarfile.GNUTYPE_SPARSE: "sparse file",
}


@dataclass(frozen=True)
class Limits:
    """What an unpack accepts before it calls the archive absurd."""

    max_member: int = 8 * GiB
    """Largest single file (a CentOS ISO is not meant to travel inside a kit)."""
    max_total: int = 32 * GiB
    """Sum of all member sizes."""
    max_members: int = 200_000


@dataclass
class Listing:
    """What one pass over the archive saw."""

    top: str | None = None
    files: dict[str, int] = field(default_factory=dict)
    """Path under the top directory -> size, for the safe regular files."""
    problems: list[str] = field(default_factory=list)
    contents: dict[str, bytes] = field(default_factory=dict)
    """The bytes of the members asked for by name (small files read while streaming)."""
    sha256: dict[str, str] = field(default_factory=dict)
    """Path under the top directory -> sha256, for the members that were read."""


def parts_of(paths: list[Path]) -> list[Path]:
    """The archive's files in order: [kit.tar.gz], or every part of a split kit."""
    if not paths:
        raise BadInput("no kit given")
    for p in paths:
        if not p.is_file():
            raise BadInput(f"{p} does not exist or is not a file")
    if len(paths) == 1 and not _PART.match(paths[0].name):
        if not paths[0].name.endswith(SUFFIX):
            raise BadInput(f"{paths[0]} is not a kit archive (kit-NAME{SUFFIX} or its .partNNN)")
        return paths
    matches = [_PART.match(p.name) for p in paths]
    if not all(matches):
        raise BadInput("several files given: expected the .partNNN files of one split kit")
    first = paths[0]
    base = matches[0]["base"] if matches[0] else ""
    if len(paths) == 1:
        found = [p for p in first.parent.iterdir() if _part_base(p) == base]
    else:
        found = list(paths)
    found.sort(key=lambda p: _part_number(p))
    numbers = [_part_number(p) for p in found]
    if {_part_base(p) for p in found} != {base}:
        raise BadInput("the given parts belong to different kits")
    if numbers != list(range(len(found))):
        missing = sorted(set(range(max(numbers) + 1)) - set(numbers))
        shown = ", ".join(f"{base}.part{n:03d}" for n in missing) or "part000"
        raise BadInput(f"split kit {base} is incomplete: missing {shown}")
    return found


def archive_name(parts: list[Path]) -> str:
    """kit-NAME.tar.gz for the archive or its parts."""
    m = _PART.match(parts[0].name)
    return m["base"] if m else parts[0].name


def archive_sha256(parts: list[Path]) -> str:
    """sha256 of the whole archive (the parts concatenated)."""
    if len(parts) == 1 and not _PART.match(parts[0].name):
        return sha256_file(parts[0])
    h = hashlib.sha256()
    for part in parts:
        with part.open("rb") as f:
            for block in iter(lambda: f.read(CHUNK), b""):
                h.update(block)
    return h.hexdigest()


def sidecar(parts: list[Path]) -> Path:
    """`kit-NAME.tar.gz.sha256` beside the archive (or its parts); it may not exist."""
    return parts[0].with_name(archive_name(parts) + ".sha256")


@dataclass(frozen=True)
class Sidecar:
    """What `kit-NAME.tar.gz.sha256` records: `sha256sum` format, `<sha256>  <name>` (`*<name>`
    in binary mode), written by pack and covered by the kit's signature."""

    sha256: str
    name: str | None
    """The archive's base name as packed and signed (None: a bare hash, no name)."""


def recorded(parts: list[Path]) -> Sidecar | None:
    """The sidecar beside the archive (None when there is none); BadInput when it is not one
    sha256sum line."""
    sidecar = parts[0].with_name(archive_name(parts) + ".sha256")
    if not sidecar.is_file():
        return None
    text = sidecar.read_text(encoding="utf-8", errors="replace").strip()
    m = re.fullmatch(r"([0-9a-f]{64})(?:\s+\*?(\S[^\n]*))?", text)
    if m is None:
        raise BadInput(f"{sidecar}: not a sha256sum line")
    name = m[2].strip().rsplit("/", 1)[-1] if m[2] else None
    return Sidecar(m[1], name)


def recorded_sha256(parts: list[Path]) -> str | None:
    """The hash in `kit-NAME.tar.gz.sha256` beside the archive, if that file is there."""
    found = recorded(parts)
    return found.sha256 if found else None


def renamed(parts: list[Path]) -> str | None:
    """A problem line when the sidecar names another archive than the one given: the name is
    part of what was packed and signed, so a renamed kit is refused, naming both names (as
    `sha256sum -c` would fail on it). Moving the archive and its sidecars to another folder is
    fine; renaming them is not (rename them back to the recorded name)."""
    found = recorded(parts)
    name = archive_name(parts)
    if found is None or found.name is None or found.name == name:
        return None
    return (
        f"{name}: its {name}.sha256 names {found.name}: the archive was renamed after it was "
        f"packed (and signed) as {found.name}; rename it and its sidecars back to use it"
    )


@dataclass(frozen=True)
class Stream:
    """An archive being read forward: its tar members, and the gzip stream under them."""

    tar: tarfile.TarFile
    gzip: gzip.GzipFile

    def read_to_end(self) -> None:
        """Read what follows the tar's end-of-archive blocks up to the end of the gzip stream,
        so that gzip checks its end-of-stream marker, CRC-32 and length (RFC 1952 section 2.3):
        a gzip stream cut where its tar data happens to end on a member boundary otherwise reads
        as a clean, shorter archive (tarfile's stream mode stops at the tar end and does not look
        at the gzip trailer). Raises, inside `open_stream`, BadInput "damaged archive"."""
        while self.gzip.read(CHUNK):
            pass


@contextmanager
def open_stream(parts: list[Path]) -> Iterator[Stream]:
    """The archive as a forward-only tar stream (gzip over the concatenated parts). Raises
    BadInput for what is not a gzip tar, and for damage found while the body reads it."""
    chain = _Chain(parts)
    gz = gzip.GzipFile(fileobj=chain, mode="rb")
    try:
        tar = tarfile.open(fileobj=gz, mode="r|")  # noqa: SIM115 (closed in finally)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        gz.close()
        chain.close()
        if isinstance(exc, EOFError):  # gzip's: the stream ends before its end-of-stream marker
            raise BadInput(f"{archive_name(parts)}: damaged archive (cut short: {exc})") from None
        raise BadInput(
            f"{archive_name(parts)}: not a gzip-compressed tar archive ({_why(exc, parts)})"
        ) from None
    try:
        yield Stream(tar, gz)
    except _Unwritable as exc:
        raise exc.error from None  # the destination's trouble (full, read-only), not the archive's
    except (tarfile.TarError, EOFError, OSError, zlib.error, _Truncated) as exc:
        raise BadInput(f"{archive_name(parts)}: damaged archive ({exc})") from None
    finally:
        tar.close()
        gz.close()
        chain.close()


def _why(exc: BaseException, parts: list[Path]) -> str:
    """tarfile's or gzip's reason, except tarfile's "empty file" for a file that is not empty
    (a whole gzip stream that holds no tar data)."""
    if str(exc) != "empty file":
        return str(exc)
    size = 0
    for part in parts:
        with suppress(OSError):
            size += part.stat().st_size
    if size == 0:
        return "empty file"
    return f"its {size} bytes hold no tar data"


def scan(
    parts: list[Path],
    limits: Limits = Limits(),
    read: Container[str] = frozenset(),
    hash_all: bool = False,
    dest: Path | None = None,
) -> Listing:
    """One pass: classify members; read those named in `read`; hash or unpack into `dest`.

    With `dest` (an empty or new directory), safe members are written under it (the top
    directory included) and every unsafe one is left out and reported.
    """
    listing = Listing()
    if dest is not None:
        _prepare(dest)
    total = 0
    seen: set[str] = set()
    with open_stream(parts) as stream:
        tar = stream.tar
        for count, member in enumerate(tar, 1):
            if count > limits.max_members:
                listing.problems.append(
                    f"more than {limits.max_members} members: stopped reading the archive"
                )
                break
            rel = _check_member(member, listing, seen, limits)
            if rel is None:
                continue
            if member.isdir():
                if dest is not None:
                    try:
                        (dest / member.name).mkdir(parents=True, exist_ok=True)
                    except OSError as exc:
                        raise _Unwritable(exc, dest / member.name) from None
                continue
            total += member.size
            if total > limits.max_total:
                listing.problems.append(
                    f"{member.name}: the members add up to more than {limits.max_total} bytes "
                    "(the limit): stopped reading the archive"
                )
                break
            listing.files[rel] = member.size
            if rel in read or hash_all or dest is not None:
                _consume(tar, member, rel, listing, read, dest)
        else:
            stream.read_to_end()
    return listing


def _check_member(
    member: tarfile.TarInfo, listing: Listing, seen: set[str], limits: Limits
) -> str | None:
    """The member's path under the top directory, or None (and a problem) if it is unsafe."""
    name = member.name
    path = PurePosixPath(name)
    if name.startswith("/") or path.is_absolute():
        listing.problems.append(f"{name}: absolute path refused")
        return None
    if ".." in path.parts or "\\" in name or "\x00" in name:
        listing.problems.append(f"{name}: path escapes the kit directory ('..') refused")
        return None
    if member.issym() or member.islnk():
        listing.problems.append(f"{name}: link to {member.linkname!r} refused")
        return None
    if not (member.isreg() or member.isdir()) or member.issparse():
        kind = _KINDS.get(member.type, f"member of type {member.type.decode(errors='replace')!r}")
        listing.problems.append(f"{name}: {kind} refused (only regular files and directories)")
        return None
    try:
        tarfile.data_filter(member, "/nonexistent-kit-root")
    except tarfile.FilterError as exc:
        listing.problems.append(f"{name}: refused by tarfile's data filter ({exc})")
        return None
    if not path.parts:
        listing.problems.append(f"{name!r}: a member without a name refused")
        return None
    top, *rest = path.parts
    if listing.top is None:
        listing.top = top
    if top != listing.top:
        listing.problems.append(f"{name}: outside the kit's top directory {listing.top}/")
        return None
    if member.isfile() and member.size > limits.max_member:
        listing.problems.append(
            f"{name}: {member.size} bytes is over the {limits.max_member}-byte member limit"
        )
        return None
    rel = "/".join(rest)
    if member.isfile():
        if not rest:
            listing.problems.append(f"{name}: a file where the kit's top directory should be")
            return None
        if rel in seen:
            listing.problems.append(f"{name}: appears twice in the archive")
            return None
        seen.add(rel)
    return rel


def _consume(
    tar: tarfile.TarFile,
    member: tarfile.TarInfo,
    rel: str,
    listing: Listing,
    read: Container[str],
    dest: Path | None,
) -> None:
    src = tar.extractfile(member)
    if src is None:  # pragma: no cover - regular files always have a stream
        return
    h = hashlib.sha256()
    buffer = io.BytesIO() if rel in read else None
    out: IO[bytes] | None = None
    target = dest / member.name if dest is not None else None
    if target is not None:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            raise _Unwritable(exc, target) from None
        out = os.fdopen(fd, "wb")
    try:
        left = member.size
        while left > 0:
            block = src.read(min(CHUNK, left))
            if not block:
                raise _Truncated(f"{member.name} ends early")
            left -= len(block)
            h.update(block)
            if buffer is not None:
                buffer.write(block)
            if out is not None and target is not None:
                _write(out, block, target)
    finally:
        if out is not None and target is not None:
            try:
                out.close()
                os.chmod(target, 0o755 if member.mode & 0o100 else 0o644)
            except OSError as exc:
                raise _Unwritable(exc, target) from None
    listing.sha256[rel] = h.hexdigest()
    if buffer is not None:
        listing.contents[rel] = buffer.getvalue()


def _prepare(dest: Path) -> None:
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BadInput(f"{dest} must be a new or empty directory to unpack into")
    dest.mkdir(parents=True, exist_ok=True)


def _part_base(path: Path) -> str | None:
    m = _PART.match(path.name)
    return m["base"] if m else None


def _part_number(path: Path) -> int:
    m = _PART.match(path.name)
    return int(m["n"]) if m else -1


class _Truncated(Exception):
    pass


class _Unwritable(Exception):
    """Writing an unpacked member failed (the destination is full or read-only): carries the
    OSError, named after the member's path, past `open_stream`'s "damaged archive"."""

    def __init__(self, error: OSError, target: Path) -> None:
        super().__init__(str(error))
        if error.filename is None:
            error.filename = str(target)
        self.error = error


def _write(out: IO[bytes], block: bytes, target: Path) -> None:
    try:
        out.write(block)
    except OSError as exc:
        raise _Unwritable(exc, target) from None


class _Chain(io.RawIOBase):
    """The parts of a split archive read as one stream."""

    def __init__(self, parts: list[Path]) -> None:
        self._paths = list(parts)
        self._current: IO[bytes] | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while True:
            if self._current is None:
                if not self._paths:
                    return 0
                self._current = self._paths.pop(0).open("rb")
            n = self._current.readinto(buffer)  # type: ignore[attr-defined]
            if n:
                return int(n)
            self._current.close()
            self._current = None

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None
        super().close()
