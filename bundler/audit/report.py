"""`bundler audit`: what a wheelhouse asks of the target system, and whether each wheel can load.

The walk, per wheel (never extracted):

1. Every member that starts with the ELF magic is parsed (`bundler.audit.elf`); members named
   like a known non-ELF format are not opened (`bundler.audit.members`, which also spools big
   members to disk and keeps the facts by the wheel's sha256).
2. A DT_NEEDED soname is *bundled* when the wheel itself provides it: a member found through
   the object's `$ORIGIN` RPATH/RUNPATH, or a member of a `*.libs/` directory with that file name
   or DT_SONAME (auditwheel's layout; the loader also satisfies a soname that an earlier object
   already loaded, which is how grafted libraries without their own RPATH find each other).
3. What remains the system must provide. glibc's own libraries are dropped (every target has
   them), so are libraries of the profile's base packages (libstdc++ and libgcc on CentOS 7);
   the rest maps to a package through `data/sonames.json`. Unknown sonames stay, as *unmapped*.
4. Symbol versions: the highest GLIBC_/GLIBCXX_/CXXABI_/GCC_ version each wheel requires
   (hard SHT_GNU_verneed entries toward system libraries) against the distro profile
   (`data/distros.json`), plus the glibc its manylinux tag promises and the architecture.

`run()` audits and records the result in DIR/system-packages.yml and manifest.json["audit"];
`audit_directory()` is the same without writing. Rendering is the CLI's job.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from bundler.audit.elf import ElfObject
from bundler.audit.members import ELF_FACTS as ELF_FACTS  # the fact cache's kind, re-exported
from bundler.audit.members import cached_elf_members, read_elf_members
from bundler.errors import BadInput
from bundler.fs import sums
from bundler.fs.atomic import atomic_write_text
from bundler.fs.cache import Cache
from bundler.models import manifest
from bundler.policy.manylinux import manylinux_policy
from bundler.policy.tables import load_json

SYSTEM_PACKAGES_FILE = "system-packages.yml"
FAMILIES = ("GLIBC", "GLIBCXX", "CXXABI", "GCC")
_SYMBOL_VERSION = re.compile(r"^(GLIBCXX|GLIBC|CXXABI|GCC)_(.+)$")
_NUMERIC = re.compile(r"^\d+(?:\.\d+)*$")


# -- policy data ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """A target distro as the audit sees it (one entry of data/distros.json)."""

    name: str
    description: str
    family: str
    """The ansible_os_family it belongs to ('RedHat', 'Debian')."""
    column: str
    """Which data/sonames.json column names its packages."""
    machine: str
    glibc: tuple[int, ...]
    symbol_versions: dict[str, tuple[int, ...]]
    """Highest numeric version per family (GLIBC, GLIBCXX, CXXABI, GCC) the distro provides."""
    named_versions: dict[str, frozenset[str]]
    """Non-numeric versions it provides too (e.g. CXXABI_TM_1)."""
    base_packages: frozenset[str]
    """Packages on every install of the distro: their libraries are never listed as needs."""
    package_format: str = "rpm"
    """'rpm' (installs by capability, `capability`) or 'deb'."""


def known_distros() -> list[str]:
    return sorted(load_json("distros.json")["profiles"])


@cache
def load_profile(name: str) -> Profile:
    """The profile called `name`; BadInput listing the known ones otherwise."""
    profiles = load_json("distros.json")["profiles"]
    if name not in profiles:
        raise BadInput(f"unknown distro {name!r}: known profiles are {', '.join(known_distros())}")
    row = profiles[name]
    return Profile(
        name=name,
        description=row["description"],
        family=row["family"],
        column=row["column"],
        machine=row["machine"],
        glibc=_version_tuple(row["glibc"]),
        symbol_versions={k: _version_tuple(v) for k, v in row["symbol_versions"].items()},
        named_versions={k: frozenset(v) for k, v in row.get("named_versions", {}).items()},
        base_packages=frozenset(row["base_packages"]),
        package_format="rpm" if row["family"] == "RedHat" else "deb",
    )


def family_profiles() -> dict[str, Profile]:
    """The reference profile of each ansible_os_family (data/distros.json "families")."""
    families = load_json("distros.json")["families"]
    return {fam: load_profile(name) for fam, name in families.items() if not fam.startswith("_")}


@cache
def glibc_sonames() -> frozenset[str]:
    return frozenset(load_json("sonames.json")["glibc_provided"]["sonames"])


def package_for(soname: str, column: str) -> str | None:
    """The package providing `soname` in `column` ('centos7', 'debian'), None when unknown."""
    row = load_json("sonames.json")["sonames"].get(soname)
    return None if row is None else row.get(column)


_RPM_64BIT = frozenset({"x86_64", "aarch64", "ppc64le", "s390x"})


def capability(soname: str, machine: str) -> str:
    """The RPM capability a package shipping `soname` for `machine` provides: rpm's elfdeps
    marks 64-bit ELF objects with '()(64bit)' (rpm tools/elfdeps.c, `mark64`), 32-bit ones
    carry the bare soname; e.g. 'libodbc.so.2()(64bit)'."""
    return f"{soname}()(64bit)" if machine in _RPM_64BIT else soname


def is_known_soname(soname: str) -> bool:
    return soname in load_json("sonames.json")["sonames"]


# -- the result -----------------------------------------------------------------------------


@dataclass
class WheelAudit:
    """One wheel against one profile."""

    filename: str
    project: str
    elf_objects: int
    system: dict[str, list[str]]
    """Sonames the system must provide (glibc's own dropped) -> members that need them."""
    needs: dict[str, str | None]
    """`system` minus the profile's base packages -> package (None: unmapped)."""
    provided_by_base: list[str]
    """Sonames of the profile's base packages (present on every install)."""
    symbol_versions: dict[str, str]
    """Highest numeric version required per family, e.g. {'GLIBC': '2.14'}."""
    provided_by_wheels: dict[str, str] = field(default_factory=dict)
    """Sonames another wheel of the wheelhouse provides -> that wheel's file name."""
    load_problems: list[str] = field(default_factory=list)
    """Why the wheel cannot load on the profile (too new glibc/libstdc++, wrong platform)."""
    unmapped_problems: list[str] = field(default_factory=list)

    @property
    def loadable(self) -> bool:
        return not self.load_problems

    @property
    def problems(self) -> list[str]:
        return self.load_problems + self.unmapped_problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "needs": dict(sorted(self.needs.items())),
            "needed_by": {s: sorted(m) for s, m in sorted(self.system.items()) if s in self.needs},
            "provided_by_base": sorted(self.provided_by_base),
            "provided_by_wheels": dict(sorted(self.provided_by_wheels.items())),
            "symbol_versions": dict(sorted(self.symbol_versions.items())),
            "elf_objects": self.elf_objects,
            "loadable": self.loadable,
            "problems": self.problems,
        }


@dataclass
class AuditReport:
    """The audit of a wheelhouse for one distro profile."""

    directory: Path
    profile: Profile
    wheels: list[WheelAudit]
    notes: list[str] = field(default_factory=list)

    @property
    def system_packages(self) -> list[str]:
        """Packages the audited distro must have installed, sorted and unique."""
        return sorted({p for w in self.wheels for p in w.needs.values() if p})

    @property
    def unmapped(self) -> list[str]:
        """Sonames no package is known for on the audited distro."""
        return sorted({s for w in self.wheels for s, p in w.needs.items() if p is None})

    @property
    def pulled_by(self) -> dict[str, list[str]]:
        """Package -> the wheels that need it."""
        out: dict[str, set[str]] = {}
        for w in self.wheels:
            for pkg in w.needs.values():
                if pkg:
                    out.setdefault(pkg, set()).add(w.filename)
        return {pkg: sorted(names) for pkg, names in sorted(out.items())}

    def packages_by_family(self) -> dict[str, list[str]]:
        """For each ansible_os_family, the packages its reference profile would need."""
        out = {}
        for fam, prof in family_profiles().items():
            pkgs = {package_for(s, prof.column) for w in self.wheels for s in w.system}
            out[fam] = sorted(p for p in pkgs if p and p not in prof.base_packages)
        return out

    def capabilities_by_family(self) -> dict[str, list[str]]:
        """For RPM families, what to install by capability: each soname the wheels need from
        the system (not glibc's, not the base packages') as RPM's automatic dependency
        `soname()(64bit)` (`capability`). yum resolves each from the enabled repos, so a soname
        the table does not know is still installed from the media repo."""
        out = {}
        for fam, prof in family_profiles().items():
            if prof.package_format != "rpm":
                continue
            sonames = {
                s
                for w in self.wheels
                for s in w.system
                if package_for(s, prof.column) not in prof.base_packages
            }
            out[fam] = sorted(capability(s, prof.machine) for s in sonames)
        return out

    def unmapped_by_family(self) -> dict[str, list[str]]:
        """For each ansible_os_family, the sonames its reference profile has no package for."""
        return {
            fam: sorted({s for w in self.wheels for s in w.system if not package_for(s, p.column)})
            for fam, p in family_profiles().items()
        }

    def problems(self, strict: bool) -> list[str]:
        """Problem lines, each naming its wheel.

        strict=False: only wheels that certainly cannot load on the profile (newer glibc or
        libstdc++ symbols, a manylinux tag above the distro's glibc, another architecture).
        strict=True: those plus every soname that maps to no package (`--strict`, exit 1).
        """
        lines = [p for w in self.wheels for p in w.load_problems]
        if strict:
            lines += [p for w in self.wheels for p in w.unmapped_problems]
        return lines

    def to_dict(self) -> dict[str, Any]:
        """The system-packages.yml document (docs/DESIGN.md), also stored in manifest["audit"]."""
        return {
            "distro": self.profile.name,
            "system_packages": self.system_packages,
            "system_packages_by_family": self.packages_by_family(),
            "unmapped": self.unmapped,
            "wheels": {w.filename: w.to_dict() for w in self.wheels},
            "unmapped_by_family": self.unmapped_by_family(),
            "system_capabilities_by_family": self.capabilities_by_family(),
            "pulled_by": self.pulled_by,
            "profile": {
                "description": self.profile.description,
                "glibc": _version_str(self.profile.glibc),
                "symbol_versions": {
                    k: _version_str(v) for k, v in sorted(self.profile.symbol_versions.items())
                },
            },
            "notes": self.notes,
        }


# -- entry points ---------------------------------------------------------------------------


def run(
    directory: Path,
    distro: str = "centos7",
    cache: Cache | None = None,
    digests: Mapping[str, str] | None = None,
) -> AuditReport:
    """Audit DIR's wheels; write DIR/system-packages.yml and manifest["audit"] atomically.

    `digests` ({wheel file name: sha256}, see `audit_directory`) spares hashing known wheels."""
    report = audit_directory(directory, distro, cache=cache, digests=digests)
    has_manifest = (directory / manifest.FILENAME).exists()
    if has_manifest:
        manifest.load(directory)  # refuse a broken manifest before writing anything
    write_system_packages(report)
    if has_manifest:
        manifest.update(directory, "audit", report.to_dict())
    sums.refresh_directory(directory)  # the wheelhouse's own SHA256SUMS stays true
    return report


def audit_directory(
    directory: Path,
    distro: str = "centos7",
    workers: int = 2,
    cache: Cache | None = None,
    digests: Mapping[str, str] | None = None,
) -> AuditReport:
    """Audit every *.whl in DIR for `distro`, writing nothing in DIR.

    Each wheel's ELF members are read by one task on `workers` threads (zlib inflates without
    the GIL), the largest wheels first so that one big wheel such as opencv's does not start
    last; each task opens only the members that may be ELF (`bundler.audit.members`). With
    `cache`, each wheel's parsed ELF members are kept under its sha256 (they depend on its
    bytes alone), taken from `digests` ({file name: sha256} of wheels whose bytes the caller
    has hash-checked, e.g. the fetch's downloads) or else computed, so auditing the same wheel
    again reads no member.
    """
    profile = load_profile(distro)
    if not directory.is_dir():
        raise BadInput(f"{directory}: not a directory")
    wheels = sorted(directory.glob("*.whl"))
    if not wheels:
        raise BadInput(f"{directory} is not a wheelhouse: it holds no .whl files")
    for path in wheels:
        _wheel_tags(path)  # a bad file name is named before any wheel is read
    known = digests or {}
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="audit") as pool:
        futures = {
            p: pool.submit(_members, p, cache, known.get(p.name))
            for p in sorted(wheels, key=_size, reverse=True)
        }
        members = {p: futures[p].result() for p in wheels}
    siblings = Siblings.of({p.name: m for p, m in members.items()})
    audits = [audit_wheel(p, profile, members=members[p], siblings=siblings) for p in wheels]
    return AuditReport(directory=directory, profile=profile, wheels=audits, notes=_notes(audits))


def _members(path: Path, cache: Cache | None, sha256: str | None = None) -> dict[str, ElfObject]:
    return cached_elf_members(path, cache, sha256) if cache else read_elf_members(path)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # reading it names the unreadable file


@dataclass(frozen=True)
class Siblings:
    """The shared libraries every wheel of a wheelhouse installs, to tell which sonames one
    wheel gets from another (torch from nvidia-* wheels through `$ORIGIN/../../nvidia/...`).

    `paths`: install path (relative to site-packages) -> wheel file name (the first wheel, by
    name, wins)."""

    paths: dict[str, str]

    @classmethod
    def of(cls, wheels: dict[str, dict[str, ElfObject]]) -> Siblings:
        paths: dict[str, str] = {}
        for wheel, members in sorted(wheels.items()):
            for member in members:
                paths.setdefault(install_path(member), wheel)
        return cls(paths)

    def provider(self, wheel: str, member: str, obj: ElfObject, soname: str) -> str | None:
        """The other wheel that gives `member` of `wheel` the library `soname`, if any: only
        one installing `soname` in a folder the member's RPATH/RUNPATH reaches (`$ORIGIN`
        expanded from the member's install location in site-packages), the way auditwheel's
        `lddtree` resolves. A library another wheel merely ships under that name is not
        found by the loader (unless that wheel happened to load it first), so it stays a need."""
        origin = posixpath.dirname(install_path(member))
        for entry in obj.search_path:
            directory = _expand_origin(entry, origin)
            if directory is None:
                continue
            found = self.paths.get(posixpath.normpath(posixpath.join(directory, soname)))
            if found is not None and found != wheel:
                return found
        return None


def install_path(member: str) -> str:
    """Where a wheel member lands relative to site-packages: `*.data/purelib/` and
    `*.data/platlib/` prefixes dropped (PEP 427)."""
    head, _, rest = member.partition("/")
    if head.endswith(".data") and rest.startswith(("purelib/", "platlib/")):
        return rest.partition("/")[2]
    return member


def write_system_packages(report: AuditReport) -> Path:
    """DIR/system-packages.yml, for the playbooks' `wheels` role."""
    path = report.directory / SYSTEM_PACKAGES_FILE
    header = (
        f"# Written by `bundler audit --distro {report.profile.name}`: the system packages the "
        "wheels here need.\n# Playbooks install system_packages_by_family[ansible_os_family].\n"
    )
    body = yaml.safe_dump(report.to_dict(), sort_keys=False, default_flow_style=False, width=100)
    atomic_write_text(path, header + body)
    return path


def audit_wheel(
    path: Path,
    profile: Profile,
    cache: Cache | None = None,
    sha256: str | None = None,
    *,
    members: dict[str, ElfObject] | None = None,
    siblings: Siblings | None = None,
) -> WheelAudit:
    """Audit one wheel file for `profile` (BadInput naming it when unreadable).

    `cache` and `sha256` (the wheel's, when known) as in `audit_directory`; `members`: its
    parsed ELF members when already read; `siblings`: the wheelhouse's other libraries (a
    soname one of them provides is not a system need)."""
    name, tags = _wheel_tags(path)
    if members is None:
        members = _members(path, cache, sha256)
    system = system_needs(members)
    from_wheels: dict[str, str] = {}
    if siblings is not None:
        for soname, users in list(system.items()):
            found = {siblings.provider(path.name, user, members[user], soname) for user in users}
            if None not in found:
                from_wheels[soname] = sorted(str(f) for f in found)[0]
                del system[soname]
    wheel = WheelAudit(
        filename=path.name,
        project=str(name),
        elf_objects=len(members),
        system={s: m for s, m in system.items() if s not in glibc_sonames()},
        needs={},
        provided_by_base=[],
        symbol_versions={},
        provided_by_wheels=from_wheels,
    )
    _map_needs(wheel, profile)
    versions = required_versions(members)
    wheel.symbol_versions = {fam: _version_str(v) for fam, v in versions.items()}
    if members:
        wheel.load_problems += _platform_problems(path.name, {t.platform for t in tags}, profile)
    wheel.load_problems += _machine_problems(path.name, members, profile)
    wheel.load_problems += _version_problems(path.name, members, versions, profile)
    return wheel


def _wheel_tags(path: Path) -> tuple[str, frozenset[Tag]]:
    """(project, tags) from the wheel's file name; BadInput naming it when malformed."""
    try:
        name, _version, _build, tags = parse_wheel_filename(path.name)
    except InvalidWheelFilename as exc:
        raise BadInput(f"{path.name}: not a wheel file name ({exc})") from None
    return str(name), tags


# -- the walk -------------------------------------------------------------------------------


def system_needs(members: dict[str, ElfObject]) -> dict[str, list[str]]:
    """Sonames not bundled in the wheel -> the members that need them (glibc's included)."""
    bundled = _libs_dir_names(members)
    out: dict[str, list[str]] = {}
    for path, obj in members.items():
        for soname in obj.needed:
            if not _is_bundled(path, obj, soname, members, bundled):
                out.setdefault(soname, []).append(path)
    return out


def _libs_dir_names(members: dict[str, ElfObject]) -> set[str]:
    """File names and sonames of the objects in `*.libs/` directories (auditwheel's grafts)."""
    names: set[str] = set()
    for path, obj in members.items():
        if posixpath.basename(posixpath.dirname(path)).endswith(".libs"):
            names.add(posixpath.basename(path))
            if obj.soname:
                names.add(obj.soname)
    return names


def _is_bundled(
    path: str, obj: ElfObject, soname: str, members: dict[str, ElfObject], libs: set[str]
) -> bool:
    if soname in libs:
        return True
    origin = posixpath.dirname(path)
    for entry in obj.search_path:
        directory = _expand_origin(entry, origin)
        if directory is not None and posixpath.join(directory, soname) in members:
            return True
    return False


def _expand_origin(entry: str, origin: str) -> str | None:
    """An $ORIGIN RPATH/RUNPATH entry as a directory relative to the wheel's root (the
    site-packages directory, shared by every wheel); None for other entries and for ones that
    leave the root."""
    for token in ("${ORIGIN}", "$ORIGIN"):
        if entry.startswith(token):
            rest = entry[len(token) :].lstrip("/")
            joined = posixpath.normpath(posixpath.join(origin or ".", rest))
            if joined.startswith(".."):
                return None
            return "" if joined == "." else joined
    return None


def _map_needs(wheel: WheelAudit, profile: Profile) -> None:
    for soname, users in sorted(wheel.system.items()):
        package = package_for(soname, profile.column)
        if package in profile.base_packages:
            wheel.provided_by_base.append(soname)
            continue
        wheel.needs[soname] = package
        if package is None:
            why = (
                f"no {profile.name} package provides it"
                if is_known_soname(soname)
                else "not in bundler/data/sonames.json"
            )
            wheel.unmapped_problems.append(
                f"{wheel.filename}: {soname} (needed by {sorted(users)[0]}) is unmapped: {why}"
            )


# -- symbol versions and platform -----------------------------------------------------------


def required_versions(members: dict[str, ElfObject]) -> dict[str, tuple[int, ...]]:
    """Highest numeric GLIBC/GLIBCXX/CXXABI/GCC version required from system libraries."""
    best: dict[str, tuple[int, ...]] = {}
    for _path, _library, family, version in _system_version_refs(members):
        if _NUMERIC.match(version):
            best[family] = max(best.get(family, ()), _version_tuple(version))
    return best


def _system_version_refs(members: dict[str, ElfObject]) -> Iterable[tuple[str, str, str, str]]:
    """(member, library, family, version) for each hard version need toward a system library."""
    bundled = _libs_dir_names(members)
    for path, obj in members.items():
        for need in obj.version_needs:
            if _is_bundled(path, obj, need.library, members, bundled):
                continue
            for name in need.versions:
                match = _SYMBOL_VERSION.match(name)
                if match:
                    yield path, need.library, match.group(1), match.group(2)


def _version_problems(
    filename: str,
    members: dict[str, ElfObject],
    versions: dict[str, tuple[int, ...]],
    profile: Profile,
) -> list[str]:
    problems = []
    for family, highest in sorted(versions.items()):
        ceiling = profile.symbol_versions.get(family)
        if ceiling is not None and highest > ceiling:
            who = _first_user(members, family, _version_str(highest))
            problems.append(
                f"{filename}: needs {family}_{_version_str(highest)} ({who}) but "
                f"{profile.name} has {family} {_version_str(ceiling)}: it cannot load there"
            )
    for path, _library, family, name in _system_version_refs(members):
        if _NUMERIC.match(name) or name in profile.named_versions.get(family, frozenset()):
            continue
        problems.append(
            f"{filename}: needs {family}_{name} ({path}), which {profile.name} does not provide"
        )
    return sorted(set(problems))


def _first_user(members: dict[str, ElfObject], family: str, version: str) -> str:
    for path, library, fam, ver in _system_version_refs(members):
        if fam == family and ver == version:
            return f"{path} from {library}"
    return "?"


def _platform_problems(filename: str, platforms: set[str], profile: Profile) -> list[str]:
    """The wheel's platform tags against the profile: glibc level, libc flavour, architecture."""
    glibcs: list[tuple[int, ...]] = []
    archs: set[str] = set()
    for plat in platforms:
        level = manylinux_policy().parse(plat)
        if level is not None:
            glibcs.append(level.glibc)
            archs.add(level.arch)
        elif plat.startswith("linux_"):
            archs.add(plat[len("linux_") :])
            glibcs.append(())  # no promise either way: the symbol versions decide
    if not glibcs:
        kind = "musl libc" if any(p.startswith("musllinux") for p in platforms) else "another OS"
        return [
            f"{filename}: platform {', '.join(sorted(platforms))} is for {kind}, "
            f"not {profile.name}'s glibc"
        ]
    problems = []
    lowest = min(glibcs)
    if lowest > profile.glibc:
        problems.append(
            f"{filename}: tagged for glibc {_version_str(lowest)} or newer but {profile.name} "
            f"has glibc {_version_str(profile.glibc)}: pip on the target refuses it"
        )
    if profile.machine not in archs:
        problems.append(
            f"{filename}: built for {', '.join(sorted(archs))}, {profile.name} is {profile.machine}"
        )
    return problems


def _machine_problems(filename: str, members: dict[str, ElfObject], profile: Profile) -> list[str]:
    wrong = sorted(p for p, obj in members.items() if obj.machine != profile.machine)
    if not wrong:
        return []
    return [
        f"{filename}: {wrong[0]} is {members[wrong[0]].machine} code, "
        f"{profile.name} is {profile.machine}"
        + (f" (and {len(wrong) - 1} more objects)" if len(wrong) > 1 else "")
    ]


# -- alternatives ---------------------------------------------------------------------------


def _notes(wheels: list[WheelAudit]) -> list[str]:
    """Lighter wheels that avoid some system libraries (data/sonames.json "alternatives")."""
    table = load_json("sonames.json")["alternatives"]
    notes = []
    for wheel in wheels:
        alt = table.get(str(canonicalize_name(wheel.project)))
        if not isinstance(alt, dict):
            continue
        avoided = sorted(set(alt["avoids"]) & set(wheel.needs))
        if avoided:
            pkgs = sorted({wheel.needs[s] or s for s in avoided})
            notes.append(
                f"{wheel.project}: {alt['use']} needs none of {', '.join(pkgs)} ({alt['why']})"
            )
    return notes


# -- versions -------------------------------------------------------------------------------


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split("."))


def _version_str(version: tuple[int, ...]) -> str:
    return ".".join(str(x) for x in version)
