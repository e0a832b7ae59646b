"""DELTA.json: the record of a delta kit (schema-versioned), and its reader.

A delta kit (`bundler pack --base OLD`) carries the files of a new kit that the base kit does
not hold (by sha256), plus the new SHA256SUMS, locks and manifests, and this record, which says
how to rebuild the full new kit from the base (bundler/kit/delta.py, bundler/kit/unpack.py).
Layout (schema_version 1), JSON Schema `bundler/data/delta.schema.json`:

    {
      "schema": "airgap-kit/delta", "schema_version": 1,
      "kit": {"name": "kit-app", "archive": "kit-app.tar.gz",     # the full kit it assembles
              "sha256": "<the full archive>", "size": 123,        # bytes of the full archive
              "sums_sha256": "<its SHA256SUMS>", "epoch": 315532800},   # pack's member mtime
      "base": {"name": "kit-app" | null, "archive_sha256": "..." | null,
               "sums_sha256": "<the base's SHA256SUMS>"},
      "files": [                                                  # every file, sorted by path
        {"path": "wheelhouse/six-1.16.0-py2.py3-none-any.whl", "sha256": "...", "size": 11053,
         "executable": false, "source": "delta"},                 # carried under kit/PATH
        {"path": "wheelhouse/numpy-...whl", "sha256": "...", "size": 13430000,
         "executable": false, "source": "base", "base_path": "wheelhouse/numpy-...whl"}
      ],
      "sidecars": [{"name": "kit-app.tar.gz.sha256", "sha256": "...", "size": 81}, ...]
    }

The record arrives from the other side of the gap: `parse` checks it against the schema, then
what a schema cannot say (paths unique, `base_path` exactly on base files, SHA256SUMS carried
and matching `kit.sums_sha256`, sidecars named after `kit.archive`); anything else is one
`BadDelta` line naming the first offending field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from bundler.errors import BadInput
from bundler.models.manifest import describe_error
from bundler.models.schema import Draft202012Validator, best_match
from bundler.policy.tables import load_json

FILENAME = "DELTA.json"
SCHEMA = "airgap-kit/delta"
SCHEMA_VERSION = 1
SCHEMA_FILE = "delta.schema.json"
MAX_BYTES = 64 << 20
"""A larger DELTA.json is refused before parsing (~150 bytes a file: 200,000 files fit)."""
SUMS = "SHA256SUMS"
DELTA, BASE = "delta", "base"


class BadDelta(BadInput):
    """DELTA.json is missing, unreadable or inconsistent; `detail` is the problem alone."""

    def __init__(self, where: str, detail: str) -> None:
        super().__init__(f"{where}: {detail}")
        self.where = where
        self.detail = detail


@dataclass(frozen=True)
class KitRecord:
    """The full kit a delta assembles into (`kit`)."""

    name: str
    """The kit's top directory, e.g. 'kit-app'."""
    archive: str
    """The full archive's file name, e.g. 'kit-app.tar.gz'."""
    sha256: str
    size: int
    """Bytes of the full archive."""
    sums_sha256: str
    """sha256 of the kit's SHA256SUMS."""
    epoch: int
    """The members' mtime in the archive (SOURCE_DATE_EPOCH of the pack)."""


@dataclass(frozen=True)
class BaseRecord:
    """The kit a delta applies to (`base`): its identity as pack knew it."""

    name: str | None
    archive_sha256: str | None
    """None when pack was given an unpacked kit or its SHA256SUMS, not the archive."""
    sums_sha256: str

    def describe(self) -> str:
        """e.g. 'kit-app (SHA256SUMS sha256 0123456789ab...)'."""
        who = self.name or "the base kit"
        return f"{who} (SHA256SUMS sha256 {self.sums_sha256[:12]}...)"


@dataclass(frozen=True)
class FileRecord:
    """One file of the full kit."""

    path: str
    """'/'-separated, under the kit's top directory."""
    sha256: str
    size: int
    executable: bool
    source: str
    """'delta' (carried under the delta's kit/ folder) or 'base' (copied from the base kit)."""
    base_path: str | None = None
    """For 'base': the base kit's file with these bytes (the same path unless it moved)."""


@dataclass(frozen=True)
class Sidecar:
    """A file beside the full archive: its `.sha256`, and that file's detached signatures."""

    name: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Delta:
    """A checked DELTA.json as typed records."""

    kit: KitRecord
    base: BaseRecord
    files: tuple[FileRecord, ...]
    sidecars: tuple[Sidecar, ...]

    @property
    def carried(self) -> tuple[FileRecord, ...]:
        return tuple(f for f in self.files if f.source == DELTA)

    @property
    def from_base(self) -> tuple[FileRecord, ...]:
        return tuple(f for f in self.files if f.source == BASE)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document (`dumps` writes it)."""
        return {
            "schema": SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "kit": {
                "name": self.kit.name,
                "archive": self.kit.archive,
                "sha256": self.kit.sha256,
                "size": self.kit.size,
                "sums_sha256": self.kit.sums_sha256,
                "epoch": self.kit.epoch,
            },
            "base": {
                "name": self.base.name,
                "archive_sha256": self.base.archive_sha256,
                "sums_sha256": self.base.sums_sha256,
            },
            "files": [_file_dict(f) for f in self.files],
            "sidecars": [
                {"name": s.name, "sha256": s.sha256, "size": s.size} for s in self.sidecars
            ],
        }


def dumps(delta: Delta) -> str:
    """Canonical text (sorted keys, 2-space indent, trailing newline): the same delta gives the
    same bytes, so a delta kit packs reproducibly."""
    text = json.dumps(delta.to_dict(), indent=2, sort_keys=True) + "\n"
    parse(decode(text.encode("utf-8")))  # never write what the far side would refuse
    return text


def decode(raw: bytes, where: str = FILENAME) -> object:
    """JSON bytes -> document; BadDelta for what is not UTF-8 JSON or is over MAX_BYTES."""
    if len(raw) > MAX_BYTES:
        raise BadDelta(where, f"larger than {MAX_BYTES} bytes: not a delta record")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BadDelta(where, f"unreadable delta record ({str(exc)[:80]})") from None


def parse(data: object, where: str = FILENAME) -> Delta:
    """The typed record of a decoded DELTA.json; BadDelta naming the first problem."""
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise BadDelta(where, "not an airgap-kit delta record")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise BadDelta(
            where,
            f"delta schema_version {str(data.get('schema_version'))[:20]!r} is not "
            f"{SCHEMA_VERSION} (made by another version of the kit)",
        )
    errors = list(_validator().iter_errors(data))
    if errors:
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise BadDelta(where, describe_error(best_match(errors)) + more)
    kit, base = data["kit"], data["base"]
    delta = Delta(
        kit=KitRecord(
            kit["name"],
            kit["archive"],
            kit["sha256"],
            kit["size"],
            kit["sums_sha256"],
            kit["epoch"],
        ),
        base=BaseRecord(base["name"], base["archive_sha256"], base["sums_sha256"]),
        files=tuple(
            FileRecord(
                f["path"], f["sha256"], f["size"], f["executable"], f["source"], f.get("base_path")
            )
            for f in data["files"]
        ),
        sidecars=tuple(Sidecar(s["name"], s["sha256"], s["size"]) for s in data["sidecars"]),
    )
    problem = consistency_problem(delta)
    if problem:
        raise BadDelta(where, problem)
    return delta


def consistency_problem(delta: Delta) -> str | None:
    """What the schema cannot check, as one line (None when the record holds together)."""
    seen: set[str] = set()
    for i, f in enumerate(delta.files):
        if f.path in seen:
            return f"files[{i}].path: {f.path[:80]!r} appears twice"
        seen.add(f.path)
        if (f.source == BASE) != (f.base_path is not None):
            return f"files[{i}]: base_path is given exactly for files taken from the base"
        if f.path.split("/")[0] == FILENAME:
            return f"files[{i}].path: {FILENAME} is the delta's own record, not a kit file"
    folders = {
        "/".join(f.path.split("/")[:i])
        for f in delta.files
        for i in range(1, f.path.count("/") + 1)
    }
    clash = sorted(folders & seen)
    if clash:
        return f"files: {clash[0][:80]!r} is both a file and a folder"
    sums = next((f for f in delta.files if f.path == SUMS), None)
    if sums is None or sums.source != DELTA:
        return f"files: the kit's {SUMS} must be carried in the delta"
    if sums.sha256 != delta.kit.sums_sha256:
        return f"files: {SUMS}'s sha256 differs from kit.sums_sha256"
    if not delta.kit.archive.startswith(delta.kit.name + "."):
        return f"kit.archive: {delta.kit.archive[:80]!r} is not named after kit {delta.kit.name!r}"
    names: set[str] = set()
    for i, s in enumerate(delta.sidecars):
        if not s.name.startswith(delta.kit.archive + ".sha256") or s.name in names:
            return f"sidecars[{i}].name: {s.name[:80]!r} is not a sidecar of {delta.kit.archive}"
        names.add(s.name)
    if not any(s.name == delta.kit.archive + ".sha256" for s in delta.sidecars):
        return f"sidecars: {delta.kit.archive}.sha256 is missing"
    return None


def _file_dict(f: FileRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "path": f.path,
        "sha256": f.sha256,
        "size": f.size,
        "executable": f.executable,
        "source": f.source,
    }
    if f.base_path is not None:
        out["base_path"] = f.base_path
    return out


@cache
def _validator() -> Draft202012Validator:
    """The validator of SCHEMA_FILE. The schema is the kit's own file, checked against the
    2020-12 meta-schema by tests/unit/models/test_schema.py, not at every run (15 ms a schema)."""
    return Draft202012Validator(load_json(SCHEMA_FILE))
