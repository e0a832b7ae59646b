"""A wheel's ELF members for the audit: which members can be ELF, one pass per wheel, big
members spooled to disk, facts kept by the wheel's sha256.

Which members are opened (`may_be_elf`): every member except those whose name ends in a
suffix of a known non-ELF format (`NOT_ELF_SUFFIXES`: Python and C/C++/Fortran sources, text,
markup, images, fonts, translations, compressed data) or that are the standard metadata files
of the `.dist-info` directory (PEP 427, PEP 376). A name is only a hint, so the rule is one of
exclusion: an object under any other name (`libfoo.so.1.2.3`, a `bin/tool` with no suffix, a
`.so` renamed `.bin` or `.dat`) is still opened and magic-checked. Its limit, stated and tested
(tests/unit/audit/test_members.py): an ELF object *named* like one of those formats (`x.py`) is
not seen. Nothing loads such a file as a library by accident: CPython imports extension modules
only under `importlib.machinery.EXTENSION_SUFFIXES` (`.so` forms) and the dynamic loader finds
DT_NEEDED names, which auditwheel writes as sonames (`lib*.so*`); only code that dlopen()s it
by that name would. `read_elf_members(every_member=True)` opens everything, and a test compares
the two on the test wheels and the converter's real wheels (tests/e2e/test_audit_real.py).
benchmarks/audit_members.py checks it on every wheel it finds: on 2026-11-30, 1,048 wheels of
this machine's caches and PyPI mirror (255,532 members, 6,193 ELF objects) gave 0 misses, with
11% of the members opened (benchmarks/PROFILE.md, finding 5).

How they are read: one task per wheel (`read_elf_members` opens the zip once and walks its
members in order, so no lock is shared between tasks); a member that starts with the ELF magic
is inflated into a `tempfile.SpooledTemporaryFile`, which stays in memory up to `SPOOL_BYTES`
and moves to a temporary file (TMPDIR) beyond, so a wheel's 70 MiB `cv2.so` never sits whole in
memory; pyelftools parses from that seekable file. zipfile checks each member's CRC-32 as it
reaches its end, so a damaged member fails the audit (BadInput naming the wheel) instead of
yielding wrong facts.

Facts (`cached_elf_members`): the parsed members of a wheel depend on its bytes alone, so they
are kept in the `Cache` under the wheel's sha256 (`facts/audit-elf-v1/`). The caller may give
that sha256 when it already knows it (the fetch pipeline: the hash-checked download), else the
wheel is hashed once here.
"""

from __future__ import annotations

import contextlib
import posixpath
import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path

from bundler.audit.elf import MAGIC, ElfObject, is_elf, parse
from bundler.errors import BadInput
from bundler.fs.cache import Cache
from bundler.fs.hashing import CHUNK, sha256_file

ELF_FACTS = "audit-elf-v1"
"""Cache kind of a wheel's parsed ELF members (bump the version when ElfObject changes)."""

SPOOL_BYTES = 8 << 20
"""An ELF member larger than this (inflated) is spooled to a temporary file, not memory."""

MIN_ELF_BYTES = 16
"""Shorter members cannot hold an ELF identification (e_ident is 16 bytes)."""

NOT_ELF_SUFFIXES = frozenset(
    {
        # Python: sources, stubs, bytecode, Cython/f2py/SIP sources
        *("py", "pyi", "pyc", "pyo", "pyw", "pyx", "pxd", "pxi", "pyf", "sip", "ipynb"),
        # C, C++, CUDA, Fortran sources and headers
        *("c", "h", "cc", "cpp", "cxx", "hh", "hpp", "hxx", "inl", "ipp", "inc", "cu", "cuh"),
        *("f", "f77", "f90", "f95"),
        # JavaScript / TypeScript / web assets, source maps
        *("js", "mjs", "cjs", "ts", "tsx", "jsx", "map", "css", "scss", "less"),
        *("html", "htm", "xhtml", "svg", "vue"),
        # text, markup and configuration
        *("txt", "md", "rst", "csv", "tsv", "json", "jsonl", "yaml", "yml", "toml", "ini"),
        *("cfg", "conf", "xml", "xsd", "xsl", "dtd", "tex", "bib", "typed", "pem", "crt"),
        *("j2", "jinja", "jinja2", "tmpl", "mako", "lark", "cmake", "qml", "qmltypes"),
        *("sh", "bash", "bat", "cmd", "ps1", "psm1", "mplstyle", "afm"),
        # translations
        *("mo", "po", "pot", "qm"),
        # images, fonts, documents, sound
        *("png", "jpg", "jpeg", "gif", "bmp", "ico", "icns", "webp", "tif", "tiff", "eps"),
        *("ttf", "otf", "woff", "woff2", "eot", "pdf", "wav", "mp3", "ogg"),
        # compressed or container data (each has its own magic number)
        *("gz", "bz2", "xz", "zst", "zip", "whl", "tar", "npy", "npz"),
    }
)
"""Lower-case file-name suffixes of formats that are never ELF (each has its own syntax or
magic number). Members named so are not opened by the audit."""

DIST_INFO_FILES = frozenset(
    {"METADATA", "WHEEL", "RECORD", "RECORD.jws", "RECORD.p7s", "INSTALLER", "REQUESTED"}
)
"""The `.dist-info/` metadata files of PEP 427 and PEP 376 (text, signatures)."""


def may_be_elf(name: str) -> bool:
    """False when member `name` is certainly not an ELF object (by its suffix, or a standard
    `.dist-info/` metadata file), True otherwise; see the module docstring for the rule."""
    base = posixpath.basename(name)
    if base in DIST_INFO_FILES and posixpath.dirname(name).endswith(".dist-info"):
        return False
    stem, dot, suffix = base.rpartition(".")
    return not (dot and stem and suffix.lower() in NOT_ELF_SUFFIXES)


def read_elf_members(path: Path, *, every_member: bool = False) -> dict[str, ElfObject]:
    """Every ELF member of the wheel at `path` that `may_be_elf`: {member path: object}.

    `every_member` opens every member regardless of its name (the check of the rule). Raises
    BadInput naming the wheel when it is not a readable zip, a member is damaged (CRC-32,
    inflate) or an ELF member is not a readable object (naming the member).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            found = {}
            for info in archive.infolist():
                if info.is_dir() or info.file_size < MIN_ELF_BYTES:
                    continue
                if not every_member and not may_be_elf(info.filename):
                    continue
                obj = _parse_member(archive, path.name, info)
                if obj is not None:
                    found[info.filename] = obj
            return found
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        raise BadInput(f"{path.name}: corrupt wheel ({exc})") from None
    except OSError as exc:
        raise BadInput(f"{path.name}: cannot read ({exc.strerror or exc})") from None


def _parse_member(archive: zipfile.ZipFile, wheel: str, info: zipfile.ZipInfo) -> ElfObject | None:
    """The member parsed as ELF, or None when it does not start with the ELF magic (only its
    first block is inflated then). The whole member is inflated into a spooled file, so its
    CRC-32 is checked and memory stays under SPOOL_BYTES per member."""
    with archive.open(info) as member:
        head = member.read(len(MAGIC))
        if not is_elf(head):
            return None
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
            spool.write(head)
            shutil.copyfileobj(member, spool, CHUNK)
            spool.seek(0)
            return parse(spool, f"{wheel}: {info.filename}")


def cached_elf_members(path: Path, cache: Cache, sha256: str | None = None) -> dict[str, ElfObject]:
    """`read_elf_members`, remembered in `cache` under the wheel's sha256.

    `sha256` is the wheel's, when the caller knows it from a hash check of these very bytes
    (the fetch pipeline); without it the wheel is hashed here. Damaged or foreign facts are
    parsed again and overwritten; a cache that cannot be written only costs speed next time.
    """
    if sha256 is None:
        try:
            sha256 = sha256_file(path)
        except OSError as exc:
            raise BadInput(f"{path.name}: cannot read ({exc.strerror or exc})") from None
    facts = cache.get_facts(ELF_FACTS, sha256)
    if isinstance(facts, dict):
        try:
            return {member: ElfObject.from_dict(obj) for member, obj in facts.items()}
        except (KeyError, TypeError, ValueError):
            pass  # written by something else: parse again and overwrite
    members = read_elf_members(path)
    with contextlib.suppress(OSError):
        cache.put_facts(ELF_FACTS, sha256, {m: obj.to_dict() for m, obj in members.items()})
    return members
