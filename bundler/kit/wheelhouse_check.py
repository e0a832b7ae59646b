"""A wheelhouse checked against its model (`bundler.wheelhouse.model`): what `bundler verify`
checks of a kit's or a bare wheelhouse, what `bundler pack` checks of a wheelhouse before it
packs it, and whether a wheelhouse holds for the kit's CPython source (source fit). Pack and
verify both import this module (pack does not import verify).

Every check returns problem lines ('FILE: detail', the file relative to the checked folder
with `prefix` in front), [] when clean:
- the files: every wheel's tags against the manifest's target (`Target.from_dict`), readable
  by the target's bundled pip when the wheelhouse carries no pip bootstrap; manifest.json,
  requirements.lock (+ bootstrap.lock) and the files on disk agree (names, versions, sha256);
  nothing in the folder that the manifest does not account for (`layout.unaccounted`); no wheel
  with a member outside the install root (`bundler.models.wheel`); each file and each project
  (per role) listed once; each package's `requires` equal to the names its wheel's
  Requires-Dist gives on the target;
- the closure: every Requires-Dist of every app wheel that holds on the target (markers
  evaluated with `Target.evaluate`, extras followed from the roots) names a locked project at a
  version its specifier admits (under the name the oldest pip that installs the lock matches:
  `bundler.policy.installers`), and every app wheel's Requires-Python admits the target;
- source fit (`source_fit_problems`): the same, plus the bundled pip, for another patch release
  of a target's X.Y (`model.python_source`).
"""

from __future__ import annotations

import re
import zipfile
from contextlib import suppress
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from pathlib import Path
from typing import Protocol

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from bundler.errors import BadInput
from bundler.fs.hashing import sha256_file
from bundler.kit import layout
from bundler.models import manifest as manifest_mod
from bundler.models.target import Target
from bundler.models.wheel import UnsafeWheel, check_wheel_members
from bundler.policy.installers import installer_policy
from bundler.wheelhouse import lockfile, model

_MAX_METADATA = 16 << 20
"""A wheel's METADATA larger than this (bytes) is refused as implausible."""


class Tally(Protocol):
    """What `check_wheelhouse` fills in besides its problems (verify's `Report` is one)."""

    wheels: int
    """Wheel files checked."""
    target: str
    """The wheelhouse's target(s), described."""


@dataclass
class Counts:
    """A `Tally` for a caller that only wants the problems (pack)."""

    wheels: int = 0
    target: str = ""


def source_fit_problems(
    wheelhouse: Path, prefix: str, source: model.PythonSource, name: str | None = None
) -> list[str]:
    """Why the wheelhouse does not hold for a same-X.Y source of another patch release ([] when
    it does): Requires-Python, the closure under that release's markers, its bundled pip
    (`model.installer_fit_problems`). A several-target wheelhouse: the target named `name`
    (`Target.name`), else its first target of that X.Y; each line then ends with
    ' (target NAME)', as `check_wheelhouse` names a target's problems."""
    if source.exact:
        return []
    try:
        found = model.open_wheelhouse(wheelhouse)
    except manifest_mod.BadManifest as exc:
        return [f"{prefix}manifest.json: {exc.detail}"]
    xy = ".".join(source.version.split(".")[:2])
    named = name if found.several else None  # (one target: its own, whatever its name)
    view = next(
        (v for v in found.targets if v.target.short_version == xy and named in (None, v.name)),
        None,
    )
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
    if found.several:  # named as check_wheelhouse names a target's lines
        problems = [f"{p} (target {view.name})" for p in problems]
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


def check_wheelhouse(wheelhouse: Path, prefix: str, report: Tally) -> list[str]:
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
    view: model.TargetView, prefix: str, report: Tally, *, own_folder: bool
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


def _check_files(
    wheelhouse: Path,
    prefix: str,
    manifest: manifest_mod.Manifest,
    report: Tally,
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
        lock_name = package.role.lock
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
    projects: dict[tuple[model.Role, str], list[str]] = {}
    for package in packages:
        files[package.filename] = files.get(package.filename, 0) + 1
        projects.setdefault((package.role, package.key), []).append(package.filename)
    for filename, count in sorted(files.items()):
        if count > 1:
            problems.append(
                f"{prefix}manifest.json: {filename} is listed {count} times in packages"
            )
    for (role, key), filenames in sorted(
        projects.items(), key=lambda kv: (kv[0][0].value, kv[0][1])
    ):
        if len(set(filenames)) > 1:
            problems.append(
                f"{prefix}manifest.json: {key} has {len(set(filenames))} {role.value} files in "
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
        missing = set() if no_deps and package.role is model.Role.APP else wanted - recorded
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
        if package.role is not model.Role.APP or not package.is_wheel:
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
