"""The target interpreter as data.

A `Target` is everything the kit decides for the host it bundles for: the full Python version,
the implementation and ABIs, the ordered platform tags (the manylinux ceiling and every older
compatible level), the marker environment, and the pip that the target's Python ships with.
Nothing here reads the running interpreter's `sys` or `platform`: the target is passed
explicitly to every library function that needs it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from packaging.markers import Marker
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.version import InvalidVersion, Version

from bundler.errors import BadInput, UnknownTarget
from bundler.models.link import wheel_parts
from bundler.policy.manylinux import manylinux_policy
from bundler.policy.tables import bundled_pip, known_python_versions, pip_feature_version

_PLATFORM_RE = re.compile(
    r"^(?:(?P<legacy>manylinux\d+)|manylinux_2_(?P<minor>\d+)|(?P<linux>linux))"
    r"(?:_(?P<arch>[a-z0-9_]+))?$"
)
_ABI_RE = re.compile(r"^cp(?P<digits>\d+)(?P<flags>[a-z]*)$")
_DEFAULT_MACHINE = "x86_64"
# pip 20.0 moved tag generation to packaging.tags (pip's NEWS: "Use packaging.tags for tag
# generation"); older pips used their own pep425tags rules, reproduced by _legacy_pip_tags.
_PACKAGING_TAGS_PIP = Version("20.0")
SUPPORTED_MINORS = range(6, 15)  # 3.6 ... 3.14


@dataclass(frozen=True)
class Target:
    """A frozen description of the interpreter and platform a wheelhouse is built for."""

    python_version: str
    """Full version, e.g. '3.6.15'."""
    platform: str
    """The ceiling the user named, normalised with its architecture, e.g. 'manylinux1_x86_64'."""
    platforms: tuple[str, ...]
    """Platform tags the target accepts, most preferred first (ceiling down to 2_5, then linux)."""
    abis: tuple[str, ...]
    """Interpreter-specific ABIs, e.g. ('cp36m',); abi3 and none are implied by the tag rules."""
    implementation: str = "cp"
    machine: str = _DEFAULT_MACHINE
    glibc: tuple[int, int] | None = (2, 5)
    """The glibc ceiling the platform tags imply (None for a bare linux_* target)."""
    installer_pip: str = "18.1"
    """The pip that the target's Python bundles (ensurepip): what installs the wheelhouse first."""
    notes: tuple[str, ...] = field(default=(), compare=False)
    """Human-readable decisions taken while building the target (e.g. '3.6 means 3.6.15')."""

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_spec(
        cls,
        python: str,
        platform: str,
        abi: str | None = None,
        implementation: str = "cp",
    ) -> Target:
        """Build a target from CLI-style strings: ('3.6', 'manylinux1') and friends."""
        if implementation != "cp":
            raise UnknownTarget(
                f"unsupported implementation {implementation!r}: the kit targets CPython ('cp')"
            )
        version, notes = _full_python_version(python)
        machine, ceiling, glibc, platforms = _platform_tags(platform)
        abis = (_checked_abi(abi, version),) if abi else (_default_abi(version),)
        pip = bundled_pip(version)
        return cls(
            python_version=str(version),
            platform=ceiling,
            platforms=platforms,
            abis=abis,
            implementation=implementation,
            machine=machine,
            glibc=glibc,
            installer_pip=str(pip),
            notes=tuple(notes),
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Target:
        """Rebuild a target recorded by `to_dict` (e.g. from manifest.json)."""
        glibc = data.get("glibc")
        return cls(
            python_version=data["python_version"],
            platform=data["platform"],
            platforms=tuple(data["platforms"]),
            abis=tuple(data["abis"]),
            implementation=data.get("implementation", "cp"),
            machine=data.get("machine", _DEFAULT_MACHINE),
            glibc=(int(glibc[0]), int(glibc[1])) if glibc else None,
            installer_pip=data.get("installer_pip", "99"),
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record of the target (manifest.json's `target`)."""
        return {
            "python_version": self.python_version,
            "implementation": self.implementation,
            "abis": list(self.abis),
            "platform": self.platform,
            "platforms": list(self.platforms),
            "machine": self.machine,
            "glibc": list(self.glibc) if self.glibc else None,
            "installer_pip": self.installer_pip,
            "marker_environment": self.marker_environment(),
        }

    # -- derived facts ------------------------------------------------------------------------

    @property
    def version(self) -> Version:
        return Version(self.python_version)

    @property
    def python_tuple(self) -> tuple[int, int]:
        return (self.version.major, self.version.minor)

    @property
    def short_version(self) -> str:
        """'3.6' for 3.6.15."""
        return f"{self.version.major}.{self.version.minor}"

    @property
    def canonical_platform(self) -> str:
        """The ceiling in its PEP 600 spelling: 'manylinux_2_5_x86_64' for 'manylinux1_x86_64'
        (the legacy aliases of data/platforms.json); a linux_* ceiling is its own."""
        if self.glibc is None:
            return self.platform
        return f"manylinux_{self.glibc[0]}_{self.glibc[1]}_{self.machine}"

    @property
    def identity(self) -> tuple[str, str, tuple[str, ...], str]:
        """What makes two targets the same whatever their spelling (implementation, X.Y, ABIs,
        canonical ceiling): '3.6/manylinux1' and '3.6.15/manylinux_2_5' are one target (PEP 600
        aliases), though their `platform` (and `name`) keep the user's spelling. Two patch
        releases of one X.Y are one target too: a several-target wheelhouse names its folders
        by X.Y (`name`) and install.sh picks by X.Y, ABI and glibc, so it could not tell them
        apart."""
        major_minor = f"{self.version.major}.{self.version.minor}"
        return (self.implementation, major_minor, self.abis, self.canonical_platform)

    @property
    def name(self) -> str:
        """The target's folder name in a several-target wheelhouse, built from wheel-tag
        vocabulary (PEP 425): 'cp36-manylinux1_x86_64'; the ABI is added when it is not the
        version's default ('cp38-cp38d-manylinux2010_x86_64')."""
        base = f"{self.implementation}{self.version.major}{self.version.minor}"
        abis = "" if self.abis == (_default_abi(self.version),) else "-" + "_".join(self.abis)
        return f"{base}{abis}-{self.platform}"

    @cached_property
    def tags(self) -> tuple[Tag, ...]:
        """Every tag a current installer on the target accepts, most preferred first.

        Exactly what pip computes for this interpreter (`packaging.tags.sys_tags` on the target):
        interpreter-specific ABIs, then abi3 for this and older versions, then `none`, then the
        pure-Python tags.
        """
        return _tags_for(self.python_tuple, self.abis, self.platforms)

    @cached_property
    def tag_priority(self) -> dict[Tag, int]:
        """Tag -> rank (0 is best)."""
        return {tag: i for i, tag in enumerate(unique_tags(self.tags))}

    @cached_property
    def installer_tags(self) -> frozenset[Tag]:
        """The tags the target's *bundled* pip understands (manylinux1 only for pip 18.1)."""
        pip = Version(self.installer_pip)
        allowed = tuple(p for p in self.platforms if _pip_reads_platform(pip, p))
        if pip < _PACKAGING_TAGS_PIP:
            return frozenset(_legacy_pip_tags(self.python_tuple, self.abis, allowed))
        return frozenset(_tags_for(self.python_tuple, self.abis, allowed))

    def marker_environment(self, extra: str = "") -> dict[str, str]:
        """The PEP 508 environment of the target, every key set (nothing leaks from the host).

        `platform_release` and `platform_version` (the kernel) are unknowable from here and are
        left empty: a marker that tests them evaluates against ''.
        """
        v = self.python_version
        return {
            "implementation_name": "cpython",
            "implementation_version": v,
            "os_name": "posix",
            "platform_machine": self.machine,
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_system": "Linux",
            "platform_version": "",
            "python_full_version": v,
            "python_version": self.short_version,
            "sys_platform": "linux",
            "extra": extra,
        }

    def evaluate(self, marker: Marker | None, extras: frozenset[str] = frozenset()) -> bool:
        """Does `marker` hold on the target (for any of the requested extras)?"""
        if marker is None:
            return True
        if not extras:
            return marker.evaluate(environment=self.marker_environment())
        return any(marker.evaluate(environment=self.marker_environment(e)) for e in extras)

    def wheel_rank(self, filename: str) -> int | None:
        """Rank of the best tag of wheel `filename` for this target (0 best), None if unusable.
        Memoised per target and file name (`_ranks`)."""
        ranks = self._ranks
        if filename in ranks:
            return ranks[filename]
        wheel_tags = wheel_filename_tags(filename)
        found = [] if wheel_tags is None else [self.tag_priority.get(t) for t in wheel_tags]
        usable = [r for r in found if r is not None]
        rank = ranks[filename] = min(usable) if usable else None
        return rank

    @cached_property
    def _ranks(self) -> dict[str, int | None]:
        """File name -> `wheel_rank`, filled as wheels are ranked (not part of the value)."""
        return {}

    def installer_reads(self, filename: str) -> bool:
        """Can the target's bundled pip install wheel `filename` (without a pip bootstrap)?"""
        wheel_tags = wheel_filename_tags(filename)
        return wheel_tags is not None and bool(wheel_tags & self.installer_tags)

    def describe(self) -> str:
        """One line for summaries and reports.

        e.g. 'CPython 3.6.15 (cp36m), manylinux1_x86_64 (glibc <= 2.5), bundled pip 18.1'
        """
        ceiling = f"glibc <= {self.glibc[0]}.{self.glibc[1]}" if self.glibc else "no manylinux"
        return (
            f"CPython {self.python_version} ({', '.join(self.abis)}), {self.platform} "
            f"({ceiling}), bundled pip {self.installer_pip}"
        )


def check_distinct(spelled: Sequence[tuple[str, Target]]) -> None:
    """Each target of `spelled` (how the user wrote it, the Target) given once, by `identity`:
    '3.6/manylinux1' and '3.6/manylinux_2_5' are the same target under two names (PEP 600's
    legacy aliases, data/platforms.json), '3.11.2/...' and '3.11.9/...' one target for
    install.sh. Raises BadInput naming both spellings."""
    seen: dict[tuple[str, str, tuple[str, ...], str], tuple[str, Target]] = {}
    for spelling, target in spelled:
        if target.identity not in seen:
            seen[target.identity] = (spelling, target)
            continue
        first, other = seen[target.identity]
        if first == spelling:
            raise BadInput(f"--target {spelling} is given twice (each target once)")
        if other.python_version != target.python_version:
            raise BadInput(
                f"--target {first} and --target {spelling} are one target for install.sh, "
                f"which picks by X.Y, ABI and glibc ({other.name}): give one patch release"
            )
        raise BadInput(
            f"--target {first} and --target {spelling} name the same target "
            f"({target.describe()}; {_why_same(first, spelling, target)}): give each target once"
        )


def _why_same(first: str, second: str, target: Target) -> str:
    """Why two spellings 'X.Y[.Z]/PLATFORM[/ABI]' of one target are the same, naming only the
    parts they spell differently: the version ('3.6' is CPython 3.6.15 here: the newest patch
    release of data/sources.json), the platform (PEP 600's name of a legacy ceiling, or two
    spellings of one), the ABI (none given is the version's default)."""
    a, b = ([*spelled.split("/"), "", ""] for spelled in (first, second))
    why = []
    if a[0] != b[0]:
        why.append(f"{a[0]} and {b[0]} both mean CPython {target.python_version}")
    if a[1] != b[1]:
        legacy = any(p[len("manylinux") : len("manylinux") + 1].isdigit() for p in (a[1], b[1]))
        why.append(
            f"{target.canonical_platform} is PEP 600's name of its ceiling"
            if legacy  # manylinux1/2010/2014: PEP 513/571/599's aliases
            else f"both spell {target.canonical_platform}"
        )
    if a[2] != b[2]:
        why.append(f"both have ABI {'/'.join(target.abis)}")
    return "; ".join(why) or f"both spell {target.name}"


def unique_tags(items: tuple[Tag, ...]) -> list[Tag]:
    """`items` without repeats, first occurrence kept (the tag generators may repeat none-any)."""
    seen: dict[Tag, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)


def _tags_for(
    python: tuple[int, int], abis: tuple[str, ...], platforms: tuple[str, ...]
) -> tuple[Tag, ...]:
    interpreter = f"cp{python[0]}{python[1]}"
    out = list(cpython_tags(python, list(abis), list(platforms)))
    out += list(compatible_tags(python, interpreter, list(platforms)))
    return tuple(unique_tags(tuple(out)))


def _legacy_pip_tags(
    python: tuple[int, int], abis: tuple[str, ...], platforms: tuple[str, ...]
) -> list[Tag]:
    """Tags of pip < 20.0 (`pip._internal.pep425tags.get_supported`, e.g. pip 18.1 on 3.6).

    Same order and content as that function for CPython: the specific ABIs, abi3 and none on
    each platform; abi3 for older 3.x down to 3.2; py3-none on each platform; then the
    pure-Python tags.
    """
    major, minor = python
    interp = f"cp{major}{minor}"
    out: list[Tag] = []
    for abi in (*abis, "abi3", "none"):
        out += [Tag(interp, abi, plat) for plat in platforms]
    for older in range(minor - 1, 1, -1):
        out += [Tag(f"cp{major}{older}", "abi3", plat) for plat in platforms]
    out += [Tag(f"py{major}", "none", plat) for plat in platforms]
    out += [Tag(interp, "none", "any"), Tag(f"cp{major}", "none", "any")]
    out.append(Tag(f"py{major}{minor}", "none", "any"))
    out.append(Tag(f"py{major}", "none", "any"))
    out += [Tag(f"py{major}{older}", "none", "any") for older in range(minor - 1, -1, -1)]
    return out


def _default_abi(version: Version) -> str:
    # CPython dropped the 'm' (pymalloc) ABI flag in 3.8 (bpo-36707).
    suffix = "m" if (version.major, version.minor) < (3, 8) else ""
    return f"cp{version.major}{version.minor}{suffix}"


def abi_flags(version: Version) -> str:
    """The ABI flags a CPython `version` can report in sys.abiflags (PEP 3149): 'd' (debug
    build), 'm' (pymalloc, dropped in 3.8, bpo-36707), 't' (free-threaded, 3.13+, PEP 703)."""
    minor = (version.major, version.minor)
    return "dm" if minor < (3, 8) else ("dt" if minor >= (3, 13) else "d")


def _checked_abi(abi: str, version: Version) -> str:
    """`abi` when CPython `version` can have it, else UnknownTarget saying what it could be.

    CPython's ABI flags (PEP 3149, sys.abiflags): 'd' (debug build), 'm' (pymalloc, dropped
    in 3.8, bpo-36707), 't' (free-threaded, 3.13+, PEP 703); 'abi3' and 'none' fit every
    CPython 3.
    """
    if abi in ("abi3", "none"):
        return abi
    digits = f"{version.major}{version.minor}"
    allowed = abi_flags(version)
    match = _ABI_RE.match(abi)
    flags = match["flags"] if match else ""
    if (
        match is None
        or match["digits"] != digits
        or any(f not in allowed for f in flags)
        or len(set(flags)) != len(flags)
    ):
        raise UnknownTarget(
            f"ABI {abi!r} does not belong to CPython {version.major}.{version.minor}: "
            f"expected {_default_abi(version)} (flags {', '.join(allowed)} allowed), abi3 or none"
        )
    return abi


def _full_python_version(spec: str) -> tuple[Version, list[str]]:
    try:
        requested = Version(spec)
    except InvalidVersion:
        raise UnknownTarget(f"unknown Python version {spec!r}: expected X.Y or X.Y.Z") from None
    known = known_python_versions()
    release = requested.release
    if requested.major != 3 or requested.minor not in SUPPORTED_MINORS or len(release) > 3:
        raise UnknownTarget(
            f"unsupported Python version {spec!r}: the kit targets CPython 3.6 to 3.14"
        )
    if len(release) == 3:
        if requested not in known:
            siblings = [v for v in known if v.release[:2] == release[:2]]
            hint = f" (newest known is {siblings[-1]})" if siblings else ""
            raise UnknownTarget(f"unknown Python version {spec!r}{hint}")
        return requested, []
    same_minor = [v for v in known if v.release[:2] == release[:2] and not v.is_prerelease]
    if not same_minor:
        raise UnknownTarget(f"unknown Python version {spec!r}: no release of it is known")
    newest = same_minor[-1]
    # worded for --python and --target alike (#16 review 16x, 11: '--python 3.6 means' was
    # printed for a --target 3.6/... given without --python)
    return newest, [f"Python {spec} means {newest}, the newest {spec} release; give X.Y.Z to pin"]


def _platform_tags(spec: str) -> tuple[str, str, tuple[int, int] | None, tuple[str, ...]]:
    """(machine, normalised ceiling name, glibc ceiling, ordered platform tags) for `spec`."""
    policy = manylinux_policy()
    m = _PLATFORM_RE.match(spec.strip().lower())
    if not m or (m["legacy"] and m["legacy"] not in policy.aliases):
        raise UnknownTarget(
            f"unknown platform {spec!r}: expected {', '.join(policy.aliases)}, "
            "manylinux_2_N or linux_x86_64 (optionally with an _ARCH suffix)"
        )
    arch = m["arch"] or _DEFAULT_MACHINE
    if arch not in policy.min_glibc_minor:
        raise UnknownTarget(
            f"unknown architecture {arch!r} in platform {spec!r}: "
            f"expected one of {', '.join(policy.architectures)}"
        )
    if m["linux"]:
        return arch, f"linux_{arch}", None, (f"linux_{arch}",)
    if m["legacy"]:
        glibc_minor = policy.aliases[m["legacy"]][1]
    else:
        digits = m["minor"].lstrip("0") or "0"
        if len(digits) > 4 or int(digits) > policy.max_glibc_minor:
            raise UnknownTarget(
                f"platform {spec!r} names glibc 2.{m['minor'][:12]}"
                f"{'...' if len(m['minor']) > 12 else ''}, above any plausible glibc "
                f"(the kit accepts up to manylinux_2_{policy.max_glibc_minor})"
            )
        glibc_minor = int(digits)
    if glibc_minor < policy.min_glibc_minor[arch]:
        raise UnknownTarget(f"platform {spec!r} is older than any manylinux level for {arch}")
    platforms = policy.platforms(glibc_minor, arch)
    name = f"{m['legacy']}_{arch}" if m["legacy"] else f"manylinux_2_{glibc_minor}_{arch}"
    return arch, name, (2, glibc_minor), platforms


def _pip_reads_platform(pip: Version, platform: str) -> bool:
    if platform.startswith("linux_"):
        return True
    for legacy in manylinux_policy().aliases:
        if platform.startswith(legacy + "_"):
            return pip >= pip_feature_version(legacy)
    return pip >= pip_feature_version("manylinux_x_y")


def wheel_filename_tags(filename: str) -> frozenset[Tag] | None:
    """The tags of wheel `filename`, None when it is not a valid wheel name (from the one
    memoised parse per name, `models.link.wheel_parts`)."""
    parts = wheel_parts(filename)
    return None if parts is None else parts[3]
