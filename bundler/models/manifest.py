"""manifest.json: the machine-readable record of a wheelhouse (schema-versioned), and its reader.

Layout (schema_version 2), written by `bundler fetch`, extended by `bundler audit`; the JSON
Schema is `bundler/data/manifest.schema.json`. Two kinds of document share the schema:

*A target manifest* (one target's wheelhouse: the top of a one-target wheelhouse, or
`targets/NAME/manifest.json` of a several-target one):

    {
      "schema": "airgap-kit/manifest", "schema_version": 2,
      "tool": {"name": "airgap-kit", "version": "0.1.0"},
      "name": "cp36-manylinux1_x86_64",           # Target.name: the target's folder name
      "pool": "." | "../..",                       # where the files of `packages` are,
                          # relative to this manifest's folder (the wheel pool)
      "target": Target.to_dict(),                  # python_version, abis, platforms, ...
      "tags": ["cp36-cp36m-manylinux_2_5_x86_64", ...],   # ordered, most preferred first
      "requirements": ["asciivideo==0.1.0"],       # the roots as given
      "installer": {"bundled_pip": "18.1", "min_pip": "18.1",
                    "bootstrap": ["pip", "setuptools", "wheel"] | [], "reason": "..."},
      "packages": [                                # one per chosen file, sorted by name
        {"name": "numpy", "version": "1.19.5", "filename": "...whl", "sha256": "...",
         "size": 123, "url": "https://..." | null (read from a local source, or built here),
         "source": "remote" | "local" | "built",  # downloaded from url / read from a local
                          # source the user named (--find-links folder or page, file: index)
                          # / built on this machine (built_from); absent in older manifests
         "role": "app" | "bootstrap",             # Role
         "requires": ["..."], "via": ["opencv-python"], "license": "BSD" | null,
         "summary": "...", "built_from": null | "sdist filename (--build-pure / local project)",
         "yanked": null | "reason",                # a yanked release pinned with == (PEP 592)
         "hash_source": "index" | "local" | "requirements" | "computed"}  # who vouched for
                          # the sha256: the index, this machine (a local source, a build), a
                          # hashed -r file's --hash, or nobody (--allow-unhashed)
      ],
      "edges": [["opencv-python", "numpy"], ...],  # parent -> child, names canonicalised
      "excluded": [                                # left out on purpose (--exclude, --no-deps)
        {"name": "mysqlclient", "specifier": ">=1.3.8", "required_by": "flask-mysqldb" | null,
         "reason": "--exclude" | "--no-deps"}
      ],
      "audit": {...}                               # added by `bundler audit` (see audit.py)
    }

*A several-target wheelhouse's top manifest* (`bundler fetch --target A --target B`):

    {
      "schema": "airgap-kit/manifest", "schema_version": 2, "tool": {...},
      "targets": [{"name": "cp36-manylinux1_x86_64", "dir": "targets/cp36-manylinux1_x86_64",
                   "target": Target.to_dict()}, ...],
      "packages": [                                # the pool: every file once
        {"name", "version", "filename", "sha256", "size", "role",
         "targets": ["cp36-manylinux1_x86_64", ...]}   # whose locks name it
      ]
    }

Schema version 1 (before several targets) was a target manifest without `name` and `pool`:
`migrate` turns it into version 2 (name from its target, pool '.') before it is checked, so
every reader sees version 2; writers write version 2.

A manifest that arrives inside a kit is untrusted input: `read`/`parse` check it against the
schema (jsonschema, draft 2020-12) and only then build the typed `Manifest`; anything else is
one `BadManifest` line naming the first offending field (`packages[0].version: ...`). Unknown
keys are allowed (a newer kit may add sections) and ignored by the typed records.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from bundler.errors import BadInput, BundlerError
from bundler.fs.atomic import atomic_write_text
from bundler.fs.regular import read_regular
from bundler.models.schema import Draft202012Validator, ValidationError, best_match
from bundler.models.target import Target
from bundler.policy.tables import load_json

FILENAME = "manifest.json"
SCHEMA = "airgap-kit/manifest"
SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)
"""Versions `read`/`parse` accept: 1 is migrated (`migrate`) to 2 first."""
FLAT_POOL = "."
NESTED_POOL = "../.."
SCHEMA_FILE = "manifest.schema.json"
MAX_BYTES = 64 << 20
"""A larger manifest.json is refused before parsing (the converter's is ~10 KB)."""
_SHOWN = 60


class Role(enum.Enum):
    """manifest.json `packages[].role`: which lock lists the file, the application's
    `requirements.lock` or the pip bootstrap's `bootstrap.lock` (the schema's enum; a
    controller wheelhouse's packages are its own application's, role 'app')."""

    APP = "app"
    BOOTSTRAP = "bootstrap"

    @property
    def lock(self) -> str:
        """The lock file that lists a file of this role."""
        return "bootstrap.lock" if self is Role.BOOTSTRAP else "requirements.lock"

    @classmethod
    def parse(cls, value: object, where: Path | str = FILENAME) -> Role:
        """A manifest's role string (None, i.e. absent: APP, schema version 1's only role) ->
        Role; BadManifest naming `where` for any other value."""
        try:
            return cls.APP if value is None else cls(value)
        except ValueError:
            raise BadManifest(where, f"unknown package role {str(value)[:_SHOWN]!r}") from None


class BadManifest(BadInput):
    """manifest.json is missing, unreadable or does not match its schema.

    `path` is the file; `detail` the problem without the path (callers that print the path
    their own way, e.g. `verify` as `wheelhouse/manifest.json: ...`, use it).
    """

    def __init__(self, path: Path | str, detail: str, message: str | None = None) -> None:
        super().__init__(message or f"{path}: {detail}")
        self.path = str(path)
        self.detail = detail


@dataclass(frozen=True)
class Package:
    """One file of the wheelhouse (manifest.json `packages[]`)."""

    name: str
    version: str
    filename: str
    """A plain base name inside the wheelhouse (the schema refuses separators and dot-names)."""
    sha256: str
    size: int | None
    url: str | None
    role: Role
    """Which lock lists it: requirements.lock (APP) or bootstrap.lock (BOOTSTRAP)."""
    requires: tuple[str, ...]
    via: tuple[str, ...]
    license: str | None
    summary: str | None
    built_from: str | None
    yanked: str | None = None
    """The index's yank reason ('' when none given) of a yanked release pinned with ==."""
    source: str | None = None
    """'remote' (downloaded from `url`), 'local' (read from a local source the user named),
    'built' (built on the fetching machine); None in a manifest written before it existed."""
    targets: tuple[str, ...] = ()
    """In a several-target wheelhouse's top manifest: the targets whose locks name the file."""

    @property
    def key(self) -> str:
        """The canonical project name (PEP 503 normalisation)."""
        return str(canonicalize_name(self.name))

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")


@dataclass(frozen=True)
class Installer:
    """manifest.json `installer`: the target's bundled pip and the bootstrap decision."""

    bundled_pip: str | None
    min_pip: str | None
    bootstrap: tuple[str, ...]
    """The projects of bootstrap.lock ([] when the bundled pip reads every wheel)."""
    reason: str


@dataclass(frozen=True)
class Manifest:
    """A schema-checked manifest.json as typed records; `data` keeps the checked document."""

    target: Target
    tool_version: str | None
    requirements: tuple[str, ...]
    installer: Installer
    packages: tuple[Package, ...]
    edges: tuple[tuple[str, str], ...]
    data: Mapping[str, Any]
    excluded: tuple[dict[str, Any], ...] = ()
    """Requirements left out on purpose: {name, specifier, required_by, reason} each."""
    name: str = ""
    """The target's folder name (`Target.name`)."""
    pool: str = FLAT_POOL
    """Where the files of `packages` are, relative to the manifest's folder ('.' or '../..')."""

    def by_role(self, role: Role) -> tuple[Package, ...]:
        return tuple(p for p in self.packages if p.role is role)

    @property
    def app(self) -> tuple[Package, ...]:
        return self.by_role(Role.APP)

    @property
    def bootstrap(self) -> tuple[Package, ...]:
        return self.by_role(Role.BOOTSTRAP)


@dataclass(frozen=True)
class TargetRef:
    """One entry of a several-target wheelhouse's `targets`: its name, folder, target."""

    name: str
    dir: str
    """'targets/NAME', relative to the wheelhouse's top."""
    target: Target


@dataclass(frozen=True)
class TargetsIndex:
    """A several-target wheelhouse's top manifest.json, typed: the targets and the pool."""

    tool_version: str | None
    targets: tuple[TargetRef, ...]
    packages: tuple[Package, ...]
    """The pool: each file once, with the targets that lock it (`Package.targets`)."""
    data: Mapping[str, Any]


def read(directory: Path) -> Manifest:
    """DIR/manifest.json of one target, schema-checked and typed. Raises BadManifest naming the
    file (also for a several-target wheelhouse's top manifest: see `read_any`)."""
    path = directory / FILENAME
    return parse(_load_json(directory), path)


def read_any(directory: Path) -> Manifest | TargetsIndex:
    """DIR/manifest.json: a target manifest or a several-target top manifest (BadManifest)."""
    return parse_any(_load_json(directory), directory / FILENAME)


def parse_any(data: object, where: Path | str = FILENAME) -> Manifest | TargetsIndex:
    """`parse` for either kind of document (a several-target top manifest has `targets`)."""
    checked = check(data, where)
    if "targets" not in checked:
        return _parse_target(checked, where)
    refs = []
    for i, entry in enumerate(checked["targets"]):
        target = _target(entry["target"], where, f"targets[{i}].target")
        if entry["name"] != target.name or entry["dir"] != f"targets/{target.name}":
            raise BadManifest(
                where, f"targets[{i}]: name/dir are not the target's name {target.name}"
            )
        refs.append(TargetRef(entry["name"], entry["dir"], target))
    names = [r.name for r in refs]
    if len(set(names)) != len(names):
        raise BadManifest(where, "targets: a target is listed twice")
    packages = tuple(_package(p, where) for p in checked["packages"])
    for p in packages:
        unknown = sorted(set(p.targets) - set(names))
        if unknown:
            raise BadManifest(where, f"packages: {p.filename} names unknown target {unknown[0]}")
    return TargetsIndex(
        tool_version=checked.get("tool", {}).get("version"),
        targets=tuple(refs),
        packages=packages,
        data=checked,
    )


def parse(data: object, where: Path | str = FILENAME) -> Manifest:
    """The typed manifest of one target from an already-decoded JSON document (from a file or
    an archive stream). Raises BadManifest(`where`, first problem) if it does not match the
    schema, or if it is a several-target top manifest (`parse_any` reads both)."""
    found = parse_any(data, where)
    if isinstance(found, TargetsIndex):
        names = ", ".join(r.name for r in found.targets)
        raise BadManifest(where, f"a wheelhouse of several targets ({names}), not of one")
    return found


def _target(record: Any, where: Path | str, field: str) -> Target:
    try:
        return Target.from_dict(dict(record))
    except (KeyError, TypeError, ValueError, BundlerError) as exc:
        raise BadManifest(where, f"{field}: not a usable target record ({_short(exc)})") from None


def _parse_target(checked: dict[str, Any], where: Path | str) -> Manifest:
    target = _target(checked["target"], where, "target")
    installer = checked.get("installer", {})
    return Manifest(
        target=target,
        tool_version=checked.get("tool", {}).get("version"),
        requirements=tuple(checked.get("requirements", [])),
        installer=Installer(
            bundled_pip=installer.get("bundled_pip"),
            min_pip=installer.get("min_pip"),
            bootstrap=tuple(installer.get("bootstrap", [])),
            reason=installer.get("reason", ""),
        ),
        packages=tuple(_package(p, where) for p in checked["packages"]),
        edges=tuple((a, b) for a, b in checked.get("edges", [])),
        data=checked,
        excluded=tuple(dict(e) for e in checked.get("excluded", [])),
        name=checked["name"],
        pool=checked["pool"],
    )


def check(data: object, where: Path | str = FILENAME) -> dict[str, Any]:
    """`data` itself if it is a manifest of this schema version that matches the schema; else
    BadManifest naming the first offending field (and how many more problems there are)."""
    document = check_envelope(data, where)
    errors = list(_validator().iter_errors(document))
    if errors:
        # a field's own problem first: the top level's "which kind" follows from it
        first = best_match([e for e in errors if e.json_path != "$"] or errors)
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise BadManifest(where, describe_error(first) + more)
    return document


def check_envelope(data: object, where: Path | str = FILENAME) -> dict[str, Any]:
    """`data` (migrated to this schema version) if it is an airgap-kit manifest object of a
    version this kit reads (the fields themselves unchecked: what `update` needs to rewrite one
    section); else BadManifest."""
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise BadManifest(where, "not an airgap-kit manifest")
    version = data.get("schema_version")
    if type(version) is not int or version not in READABLE_VERSIONS:
        raise BadManifest(
            where,
            f"manifest schema_version {_shown(version)} is not one of "
            f"{', '.join(map(str, READABLE_VERSIONS))} (made by another version of the kit)",
        )
    return migrate(data)


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """A schema_version 1 document as version 2 (a new dict: `name` from its target,
    `pool` '.': a version 1 wheelhouse held one target, its files beside the manifest); a
    version 2 document itself. The fields are not checked here (`check` does that after)."""
    if data.get("schema_version") != 1:
        return data
    migrated = {**data, "schema_version": SCHEMA_VERSION, "pool": FLAT_POOL}
    # a bad target record gets no name: the schema check names the target record
    with suppress(KeyError, TypeError, ValueError, AttributeError, BundlerError):
        migrated["name"] = Target.from_dict(dict(data["target"])).name
    return migrated


def describe_error(error: ValidationError) -> str:
    """One short line for a schema error: `packages[0].version: expected a string, got int`
    (never the offending value in full: it may be megabytes)."""
    where = error.json_path.removeprefix("$").removeprefix(".") or "(top level)"
    value: Any = error.validator_value
    kind, instance = error.validator, error.instance
    if kind == "type":
        wanted = " or ".join(value) if isinstance(value, list) else str(value)
        what = f"expected {wanted}, got {_json_type(instance)}"
    elif kind == "maxLength":
        what = f"longer than {value} characters"
    elif kind == "maxItems":
        what = f"more than {value} items"
    elif kind == "minItems":
        what = f"fewer than {value} items"
    elif kind == "pattern":
        what = f"{_shown(instance)} is not a valid value here"
    elif kind == "required":
        missing = [str(k) for k in value if isinstance(instance, dict) and k not in instance]
        what = f"missing {', '.join(missing) or 'a required key'}"
    elif kind in ("enum", "const"):
        choices = value if isinstance(value, list) else [value]
        what = f"{_shown(instance)} is not one of {', '.join(map(_shown, choices))}"
    elif kind in ("minimum", "maximum"):
        what = f"{_shown(instance)} is out of range"
    elif kind in ("oneOf", "anyOf", "not") and where == "(top level)":
        what = (
            "neither a target's manifest (target, name, pool) nor a several-target "
            "wheelhouse's (targets)"
        )
    else:
        what = _short(error.message)
    return f"{where}: {what}"


def load(directory: Path) -> dict[str, Any]:
    """DIR/manifest.json as a dict whose envelope (schema name and version) is checked, for
    code that rewrites one section of it (`update`); readers of the fields use `read`. A
    version 1 document comes back migrated (`migrate`). Raises BadManifest naming the file."""
    return check_envelope(_load_json(directory), directory / FILENAME)


def declared_version(directory: Path) -> int | None:
    """The `schema_version` DIR/manifest.json declares, before any migration (1: written by a
    bundler older than several targets; `migrate` hides that from readers); None when the file
    is unreadable or declares none (the readers name that problem)."""
    try:
        data = _load_json(directory)
    except BadInput:
        return None
    version = data.get("schema_version") if isinstance(data, dict) else None
    return version if type(version) is int else None


def dumps(data: dict[str, Any]) -> str:
    """Canonical text: sorted keys, 2-space indent, trailing newline (stable across runs)."""
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def save(directory: Path, data: dict[str, Any]) -> Path:
    """Atomically (re)write DIR/manifest.json at this schema version; a target manifest
    without `name`/`pool` gets its target's name and pool '.' (a one-target wheelhouse)."""
    data = migrate({**data, "schema": SCHEMA, "schema_version": 1}) if _no_v2_keys(data) else data
    data = {**data, "schema": SCHEMA, "schema_version": SCHEMA_VERSION}
    path = directory / FILENAME
    atomic_write_text(path, dumps(data))
    return path


def _no_v2_keys(data: Mapping[str, Any]) -> bool:
    return "targets" not in data and ("name" not in data or "pool" not in data)


def update(directory: Path, key: str, value: Any) -> Path:
    """Set one top-level section (e.g. 'audit') of an existing manifest, atomically."""
    data = load(directory)
    data[key] = value
    return save(directory, data)


# -- helpers -------------------------------------------------------------------------------------


@cache
def _validator() -> Draft202012Validator:
    """The validator of SCHEMA_FILE. The schema is the kit's own file, checked against the
    2020-12 meta-schema by tests/unit/models/test_schema.py, not at every run (15 ms a schema)."""
    return Draft202012Validator(load_json(SCHEMA_FILE))


def _load_json(directory: Path) -> object:
    path = directory / FILENAME
    if not path.exists() and not path.is_symlink():
        missing = f"{directory} is not a wheelhouse: {FILENAME} is missing"
        raise BadManifest(path, f"{FILENAME} is missing", missing)
    try:
        raw = read_regular(path, MAX_BYTES)
    except BadInput as exc:
        detail = str(exc).removeprefix(f"{path}: ")
        raise BadManifest(path, f"unreadable manifest ({detail})") from None
    return decode(raw, path)


def decode(raw: bytes, where: Path | str = FILENAME) -> object:
    """JSON bytes -> document; BadManifest for what is not UTF-8 JSON or is over MAX_BYTES."""
    if len(raw) > MAX_BYTES:
        raise BadManifest(where, f"larger than {MAX_BYTES} bytes: not a manifest")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BadManifest(where, f"unreadable manifest ({_short(exc)})") from None


def _package(p: Mapping[str, Any], where: Path | str) -> Package:
    return Package(
        name=p["name"],
        version=p["version"],
        filename=p["filename"],
        sha256=p["sha256"],
        size=p.get("size"),
        url=p.get("url"),
        role=Role.parse(p.get("role"), where),
        requires=tuple(p.get("requires", [])),
        via=tuple(p.get("via", [])),
        license=p.get("license"),
        summary=p.get("summary"),
        built_from=p.get("built_from"),
        yanked=p.get("yanked"),
        source=p.get("source"),
        targets=tuple(p.get("targets", [])),
    )


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__


def _shown(value: object) -> str:
    """A value for a message, cut to a readable length."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)[:_SHOWN]
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _short(exc: object) -> str:
    text = str(exc).replace("\n", " ")
    return text if len(text) <= 200 else text[:197] + "..."
