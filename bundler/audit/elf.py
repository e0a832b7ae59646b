"""The dynamic-linking facts of one ELF object, read with pyelftools (no `readelf` subprocess).

Works on bytes or any seekable binary stream, so a wheel member is parsed straight from memory
without being extracted. What is read, and why the audit needs it:

- `needed`: DT_NEEDED sonames, what the loader must find when the object is loaded;
- `rpath` / `runpath`: DT_RPATH / DT_RUNPATH search directories (`$ORIGIN` kept verbatim);
- `soname`: DT_SONAME, the name other objects use to ask for this one;
- `version_needs`: SHT_GNU_verneed, the symbol versions required from each library (e.g.
  `GLIBC_2.14` from `libc.so.6`), split into hard and weak (VER_FLG_WEAK) references;
- `version_definitions`: SHT_GNU_verdef, the versions a library itself provides (e.g. the
  `GLIBCXX_3.4.*` a libstdc++ defines), used to check distro profiles against real libraries.

Objects without section headers (stripped with `sstrip`) still yield DT_NEEDED and friends
through the PT_DYNAMIC segment; their version requirements are then unknown (empty).

pyelftools is imported by the first `parse` (~16 ms): an audit whose facts are all cached by
the wheels' sha256 (`bundler.audit.members`), a warm re-fetch's, never loads it.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import IO, Any

from bundler.errors import BadInput

MAGIC = b"\x7fELF"
VER_FLG_BASE = 0x1
VER_FLG_WEAK = 0x2
_MIN_VERSION_ENTRY = 8  # Elf_Vernaux / Elf_Verdaux are the smallest records (8 bytes)


@cache
def _parse_errors() -> tuple[type[BaseException], ...]:
    """What a damaged object makes pyelftools raise (it has no single error type for
    truncation)."""
    from elftools.common.exceptions import ELFError, ELFParseError
    from elftools.construct import ConstructError

    return (
        ELFError,
        ELFParseError,
        ConstructError,
        ValueError,
        IndexError,
        KeyError,
        AttributeError,
        UnicodeDecodeError,
        EOFError,
        ArithmeticError,
    )


_MACHINES = {
    "EM_X86_64": "x86_64",
    "EM_386": "i686",
    "EM_AARCH64": "aarch64",
    "EM_PPC64": "ppc64",
    "EM_S390": "s390x",
    "EM_ARM": "armv7l",
}


@dataclass(frozen=True)
class VersionNeed:
    """Symbol versions one object requires from one library (an SHT_GNU_verneed entry)."""

    library: str
    """The library the versions are asked of, as named in DT_NEEDED (e.g. 'libc.so.6')."""
    versions: tuple[str, ...]
    """Hard requirements: the loader refuses the object if one is missing."""
    weak: tuple[str, ...] = ()
    """VER_FLG_WEAK requirements: only a warning from the loader when missing."""


@dataclass(frozen=True)
class ElfObject:
    """What the dynamic loader will need to load one ELF object."""

    elf_type: str
    """'ET_DYN' (shared object / PIE), 'ET_EXEC', 'ET_REL', ..."""
    machine: str
    """Architecture in wheel-tag spelling ('x86_64', 'aarch64', ...) or the raw EM_* name."""
    soname: str | None = None
    needed: tuple[str, ...] = ()
    rpath: tuple[str, ...] = ()
    runpath: tuple[str, ...] = ()
    version_needs: tuple[VersionNeed, ...] = ()
    version_definitions: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for the audit's fact cache); `from_dict` reverses it."""
        return {
            "elf_type": self.elf_type,
            "machine": self.machine,
            "soname": self.soname,
            "needed": list(self.needed),
            "rpath": list(self.rpath),
            "runpath": list(self.runpath),
            "version_needs": [
                [n.library, list(n.versions), list(n.weak)] for n in self.version_needs
            ],
            "version_definitions": list(self.version_definitions),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ElfObject:
        return cls(
            elf_type=str(data["elf_type"]),
            machine=str(data["machine"]),
            soname=data["soname"],
            needed=tuple(data["needed"]),
            rpath=tuple(data["rpath"]),
            runpath=tuple(data["runpath"]),
            version_needs=tuple(
                VersionNeed(lib, tuple(versions), tuple(weak))
                for lib, versions, weak in data["version_needs"]
            ),
            version_definitions=tuple(data["version_definitions"]),
        )

    @property
    def search_path(self) -> tuple[str, ...]:
        """Where the loader looks for this object's own DT_NEEDED (RUNPATH overrides RPATH)."""
        return self.runpath if self.runpath else self.rpath


def is_elf(head: bytes) -> bool:
    """True when `head` (the first bytes of a file) carries the ELF magic number."""
    return head[:4] == MAGIC


def parse(stream: IO[bytes], name: str) -> ElfObject:
    """Parse the ELF object in the seekable `stream`; `name` is only used in error messages.

    Raises BadInput naming `name` when the bytes are not a readable ELF object.
    """
    from elftools.elf.elffile import ELFFile

    errors = _parse_errors()
    try:
        return _read(ELFFile(stream))
    except errors as exc:
        raise BadInput(f"{name}: not a readable ELF object ({type(exc).__name__}: {exc})") from None


def parse_bytes(data: bytes, name: str) -> ElfObject:
    """Parse an ELF object held in memory (e.g. a member read from a wheel)."""
    return parse(io.BytesIO(data), name)


def parse_file(path: Path) -> ElfObject:
    """Parse an ELF object on disk."""
    try:
        with path.open("rb") as f:
            return parse(f, str(path))
    except OSError as exc:
        raise BadInput(f"{path}: cannot read ({exc.strerror or exc})") from None


def _read(elf: Any) -> ElfObject:
    from elftools.elf.gnuversions import GNUVerDefSection, GNUVerNeedSection

    dynamic = _dynamic_tags(elf)
    needs: list[VersionNeed] = []
    defs: list[str] = []
    if elf.num_sections():
        for section in elf.iter_sections():
            if isinstance(section, GNUVerNeedSection):
                needs.extend(_version_needs(section))
            elif isinstance(section, GNUVerDefSection):
                defs.extend(_version_definitions(section))
    return ElfObject(
        elf_type=str(elf.header["e_type"]),
        machine=_MACHINES.get(str(elf["e_machine"]), str(elf["e_machine"])),
        soname=dynamic["soname"][0] if dynamic["soname"] else None,
        needed=tuple(dynamic["needed"]),
        rpath=tuple(dynamic["rpath"]),
        runpath=tuple(dynamic["runpath"]),
        version_needs=tuple(needs),
        version_definitions=tuple(defs),
    )


def _dynamic_tags(elf: Any) -> dict[str, list[str]]:
    """DT_NEEDED / DT_SONAME / DT_RPATH / DT_RUNPATH from the dynamic section (or segment)."""
    from elftools.elf.dynamic import DynamicSection

    found: dict[str, list[str]] = {"needed": [], "soname": [], "rpath": [], "runpath": []}
    table = _dynamic_table(elf)
    if table is None:
        return found
    # A damaged table may lack its DT_NULL terminator: never read past the table's own size.
    size = table["sh_size"] if isinstance(table, DynamicSection) else table["p_filesz"]
    limit = size // elf.structs.Elf_Dyn.sizeof()
    for tag in itertools.islice(table.iter_tags(), limit):
        kind = tag.entry.d_tag
        if kind == "DT_NEEDED":
            found["needed"].append(tag.needed)
        elif kind == "DT_SONAME":
            found["soname"].append(tag.soname)
        elif kind == "DT_RPATH":
            found["rpath"].extend(p for p in tag.rpath.split(":") if p)
        elif kind == "DT_RUNPATH":
            found["runpath"].extend(p for p in tag.runpath.split(":") if p)
    return found


def _dynamic_table(elf: Any) -> Any:
    from elftools.elf.dynamic import DynamicSection, DynamicSegment

    if elf.num_sections():
        for section in elf.iter_sections():
            if isinstance(section, DynamicSection):
                return section
        return None
    for segment in elf.iter_segments():
        if isinstance(segment, DynamicSegment):
            return segment
    return None


def _version_entries(section: Any, next_field: str) -> Iterator[tuple[Any, Iterator[Any]]]:
    """pyelftools' iter_versions, bounded: it trusts sh_info as the entry count and ignores the
    zero `*_next` that ends the chain, so a damaged section would repeat one entry for ever."""
    limit = section["sh_size"] // _MIN_VERSION_ENTRY
    for entry, auxiliaries in itertools.islice(section.iter_versions(), limit):
        yield entry, itertools.islice(auxiliaries, limit)
        if entry.entry[next_field] == 0:
            return


def _version_needs(section: Any) -> list[VersionNeed]:
    out = []
    for verneed, auxiliaries in _version_entries(section, "vn_next"):
        hard: list[str] = []
        weak: list[str] = []
        for aux in auxiliaries:
            (weak if aux.entry.vna_flags & VER_FLG_WEAK else hard).append(aux.name)
            if aux.entry.vna_next == 0:
                break
        out.append(VersionNeed(library=verneed.name, versions=tuple(hard), weak=tuple(weak)))
    return out


def _version_definitions(section: Any) -> list[str]:
    names = []
    for verdef, auxiliaries in _version_entries(section, "vd_next"):
        if verdef.entry.vd_flags & VER_FLG_BASE:  # the file's own soname, not a version
            continue
        first = next(iter(auxiliaries), None)
        if first is not None:
            names.append(first.name)
    return names
