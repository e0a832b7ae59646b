"""`bundler fetch-source`: upstream source tarballs (CPython, OpenSSL, zlib, readline), checked.

The expected sha256 of every tarball comes from the shipped table (bundler/data/sources.json,
generated from pyenv's python-build definitions plus bundler/data/sources_extra.json) or from the
user (`--sha256`); a version neither knows is refused. Tarballs land in a `sources/` directory
next to a small record, `sources/index.json`, that `bundler pack` turns into SBOM entries:

    {"schema": "airgap-kit/sources", "files": [
       {"filename": "Python-3.6.10.tgz", "project": "python", "version": "3.6.10",
        "url": "https://www.python.org/ftp/python/3.6.10/Python-3.6.10.tgz",
        "sha256": "...", "size": 23019480, "origin": "table" | "user-sha256"}]}
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from bundler.errors import BadInput, HashMismatch
from bundler.fs.atomic import atomic_write_text
from bundler.fs.hashing import CHUNK, sha256_file
from bundler.fs.oserrors import user_errors
from bundler.fs.staging import staging
from bundler.models.link import BadFilename, check_basename
from bundler.net.settings import NetworkSettings
from bundler.policy.tables import load_json
from bundler.wheelhouse import model

if TYPE_CHECKING:
    from bundler.net.transport import Transport

INDEX = "index.json"
SCHEMA = "airgap-kit/sources"
PROJECTS = ("python", "openssl", "zlib", "readline")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# The suffix preferred when the table lists several archives of one release (pyenv lists both
# .tgz and .tar.xz for CPython): gzip needs nothing beyond coreutils+tar on CentOS 7.
_PREFERRED_SUFFIXES = (".tgz", ".tar.gz", ".tar.xz", ".tar.bz2")


@dataclass(frozen=True)
class SourceFile:
    """One upstream tarball and the sha256 it must have."""

    project: str
    version: str
    filename: str
    url: str
    sha256: str
    origin: str = "table"
    """'table' (shipped sources.json) or 'user-sha256' (given with --sha256)."""

    def record(self, size: int) -> dict[str, Any]:
        return {**asdict(self), "size": size}


def known_files(project: str, version: str) -> list[SourceFile]:
    """The table's tarballs for PROJECT VERSION, preferred archive format first."""
    table = load_json("sources.json")
    rows: dict[str, dict[str, str]] = table.get(project, {}).get(version, {})
    files = [
        SourceFile(project, version, name, row["url"], row["sha256"]) for name, row in rows.items()
    ]
    return sorted(files, key=lambda f: _suffix_rank(f.filename))


def resolve(
    project: str,
    version: str,
    sha256: str | None = None,
    url: str | None = None,
    filename: str | None = None,
) -> SourceFile:
    """Decide which tarball to fetch and what hash it must have (no I/O).

    `filename` (a file the user already has) or the last part of `url` picks among the
    table's archives of that release. With `sha256`, a file the table knows must agree with it
    (a disagreement is refused: one of the two is wrong); a file it does not know takes its URL
    from `url` or the project's upstream template. Without `sha256`, unknown files are refused.
    """
    if project not in PROJECTS:
        raise BadInput(f"unknown project {project!r}: expected one of {', '.join(PROJECTS)}")
    if sha256 is not None:
        sha256 = sha256.strip().lower()
        if not _SHA256.match(sha256):
            raise BadInput(f"--sha256 {sha256!r} is not 64 hex digits")
    known = known_files(project, version)
    if filename is not None:
        check_upstream_name(project, version, filename, known)
    wanted = filename or (_filename_of(url) if url else None)
    match = [f for f in known if wanted is None or f.filename == wanted]
    if not match and url is not None and filename is None and wanted is not None:
        # a mirror naming the file its own way (Debian: python3.11_3.11.2.orig.tar.gz): the
        # table's archive with the same compression, stored under the table's name
        match = [f for f in known if _compression(f.filename) == _compression(wanted)]
    if match:
        return _agree(match[0], sha256, url)
    if sha256 is None:
        listed = f" (it lists {', '.join(f.filename for f in known)})" if known else ""
        raise BadInput(
            f"{wanted or f'{project} {version}'} is not in the shipped source table{listed}: "
            "give its --sha256 (from the project's release announcement) to use it anyway"
        )
    url = url or _template_url(project, version)
    name = wanted or _filename_of(url)
    return SourceFile(project, version, name, url, sha256, origin="user-sha256")


def upstream_names(project: str, version: str, known: list[SourceFile] | None = None) -> list[str]:
    """The file names upstream gives PROJECT VERSION's tarball: the table's (e.g.
    Python-3.6.15.tgz, Python-3.6.15.tar.xz), else the URL template's name in each archive
    format the kit reads (bundler/data/sources.json `url_templates`)."""
    known = known_files(project, version) if known is None else known
    if known:
        return [f.filename for f in known]
    name = _filename_of(_template_url(project, version))
    stem = next((name[: -len(s)] for s in _PREFERRED_SUFFIXES if name.endswith(s)), name)
    return [stem + suffix for suffix in _PREFERRED_SUFFIXES]


def check_upstream_name(
    project: str, version: str, filename: str, known: list[SourceFile] | None = None
) -> None:
    """A file given with --from must carry upstream's name for PROJECT VERSION: the kit stores
    it under that name, and the playbooks look for it (`Python-<version>.tgz|.tar.xz`).
    BadInput naming the file and the expected names otherwise."""
    names = upstream_names(project, version, known)
    if filename not in names:
        raise BadInput(
            f"--from {filename}: not the upstream file name of {project} {version} (expected "
            f"{' or '.join(names)}); fetch-source keeps upstream names, which the playbooks "
            "look for: rename the file if it is that release"
        )


def fetch(
    source: SourceFile,
    dest: Path,
    *,
    from_file: Path | None = None,
    mirror: str | None = None,
    transport: Transport | None = None,
) -> Path:
    """Put `source` into directory `dest` (downloaded, or copied from `from_file`), hash-checked.

    `mirror` replaces everything before the file name in the URL (a local mirror of the
    upstream directory). The bytes go through a stage next to the final name
    (`bundler.fs.staging`) and land under it only if their sha256 matches; the download uses
    the transport layer (bounded, retried, redirects to http(s) only). OS errors a user can
    cause (a full disk, a read-only `dest`) are one `FilesystemError` line.
    """
    try:
        check_basename(source.filename)
    except BadFilename as exc:
        raise BadInput(f"{source.filename!r}: not a file name ({exc})") from None
    with user_errors(dest):
        dest.mkdir(parents=True, exist_ok=True)
        final = dest / source.filename
        if final.is_file() and sha256_file(final) == source.sha256:
            _record(dest, source, final.stat().st_size)
            return final
        with staging(final) as stage, user_errors(dest, hide=stage.work):
            tmp = stage.scratch / source.filename
            if from_file is not None:
                got = _copy(from_file, tmp)
            else:
                url = f"{mirror.rstrip('/')}/{source.filename}" if mirror else source.url
                got = _download(url, tmp, transport)
            if got != source.sha256:
                where = str(from_file) if from_file is not None else source.filename
                raise HashMismatch(
                    f"{where}: sha256 {got} does not match the expected {source.sha256} "
                    f"for {source.project} {source.version} ({source.origin}); nothing was stored"
                )
            tmp.chmod(0o644)
            stage.commit_file(tmp)
        _record(dest, source, final.stat().st_size)
    return final


def read_index(directory: Path) -> list[dict[str, Any]]:
    """The records of `directory`/index.json ([] when there is none)."""
    path = directory / INDEX
    if not path.is_file():
        return []
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise BadInput(f"{path}: unreadable ({exc})") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise BadInput(f"{path}: not an airgap-kit sources index")
    files: list[dict[str, Any]] = doc.get("files", [])
    return files


def describe_file(path: Path) -> dict[str, Any]:
    """Project and version of a tarball named like upstream's (Python-3.6.10.tgz, zlib-1.3.1...)."""
    m = re.match(
        r"^(?P<name>[A-Za-z]+)-(?P<version>[0-9][0-9A-Za-z.]*?)(?P<ext>\.t[a-z.0-9]+)$", path.name
    )
    if not m:
        return {"project": None, "version": None}
    return {"project": m["name"].lower(), "version": m["version"]}


def is_python_source(filename: str) -> bool:
    """A CPython source tarball's name (the wheelhouse model's rule, `model.PYTHON_TARBALL`)."""
    return model.PYTHON_TARBALL.match(filename) is not None


# -- helpers ---------------------------------------------------------------------------------


def _agree(known: SourceFile, sha256: str | None, url: str | None) -> SourceFile:
    if sha256 is not None and sha256 != known.sha256:
        raise HashMismatch(
            f"--sha256 {sha256} disagrees with the shipped table's {known.sha256} for "
            f"{known.filename}: check the release announcement"
        )
    return SourceFile(known.project, known.version, known.filename, url or known.url, known.sha256)


def _template_url(project: str, version: str) -> str:
    templates: dict[str, str] = load_json("sources.json").get("url_templates", {})
    template = templates.get(project)
    if template is None:
        raise BadInput(f"no upstream URL known for {project}: give --url")
    return template.format(version=version)


def _filename_of(url: str) -> str:
    name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    if not name or name in {".", ".."}:
        raise BadInput(f"cannot tell a file name from URL {url!r}")
    return name


def _compression(filename: str) -> str | None:
    for suffixes, kind in (
        ((".tgz", ".tar.gz"), "gz"),
        ((".tar.xz",), "xz"),
        ((".tar.bz2",), "bz2"),
    ):
        if filename.endswith(suffixes):
            return kind
    return None


def _suffix_rank(filename: str) -> int:
    for i, suffix in enumerate(_PREFERRED_SUFFIXES):
        if filename.endswith(suffix):
            return i
    return len(_PREFERRED_SUFFIXES)


def _copy(src: Path, tmp: Path) -> str:
    h = hashlib.sha256()
    with tmp.open("wb") as out:
        try:
            f = src.open("rb")
        except OSError as exc:
            raise BadInput(f"--from {src}: {exc.strerror or exc}") from None
        with f:
            for block in iter(lambda: f.read(CHUNK), b""):
                h.update(block)
                out.write(block)
    return h.hexdigest()


def _download(url: str, tmp: Path, transport: Transport | None) -> str:
    """Stream `url` into `tmp` (restarted on a transient failure); its sha256.

    The transport (requests, urllib3) is imported here, not at the top: pack, verify and
    inspect read this module's table and records and must not load the HTTP stack
    (tests/unit/cli/test_imports.py)."""
    from bundler.net.transport import Transport, check_status, with_retries

    transport = transport or Transport(NetworkSettings(jobs=1))
    settings = transport.settings
    what = f"cannot download {url}"

    def budget(received: int) -> float:
        return settings.deadline + received / settings.min_rate

    def attempt() -> str:
        h = hashlib.sha256()
        with (
            tmp.open("wb") as out,
            transport.stream(url, what=what, limit=settings.max_file_bytes, budget=budget) as body,
        ):
            check_status(body.response, what)
            _write(body.chunks(), out, h)
        return h.hexdigest()

    return with_retries(attempt, retries=settings.retries, what=what)


def _write(chunks: Any, out: BinaryIO, h: Any) -> None:
    for block in chunks:
        h.update(block)
        out.write(block)


def _record(dest: Path, source: SourceFile, size: int) -> None:
    """Add/replace `source` in dest/index.json (sorted by file name, atomic)."""
    files = [f for f in read_index(dest) if f.get("filename") != source.filename]
    files.append(source.record(size))
    files.sort(key=lambda f: str(f["filename"]))
    doc = {"schema": SCHEMA, "files": files}
    atomic_write_text(dest / INDEX, json.dumps(doc, indent=2, sort_keys=True) + "\n")
