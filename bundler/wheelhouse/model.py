"""The wheelhouse model: what a wheelhouse holds, where, for which targets, and who it fits.

One module owns it; fetch writes by it, pack, verify and inspect read by it.

Two layouts (docs/DESIGN.md "The wheelhouse"), told apart by the top manifest.json
(`bundler.models.manifest`, schema_version 2):

    one target (`bundler fetch --python 3.6 --platform manylinux1`, or one `--target`):
      DIR/*.whl  manifest.json  requirements.lock  [bootstrap.lock]  pylock.toml  install.sh
          system-packages.yml  [policy-findings.json]  SHA256SUMS

    several targets (`bundler fetch --target 3.6/manylinux1 --target 3.11/manylinux2014`):
      DIR/*.whl                      the pool: every wheel of every target, stored once
      DIR/manifest.json              the targets and the pool (`manifest.TargetsIndex`)
      DIR/install.sh                 picks the target that fits the interpreter it is given
      DIR/SHA256SUMS                 every file below DIR (paths like targets/NAME/install.sh)
      DIR/targets/NAME/              one per target (NAME = `Target.name`):
          manifest.json (pool '../..')  requirements.lock  [bootstrap.lock]  pylock.toml
          install.sh  system-packages.yml

"Does this wheelhouse fit target/interpreter T" (`fit_problems`, `pick`) follows the rule an
installer applies to a wheel's tags (packaging.tags, which pip vendors): the same CPython X.Y,
one of the target's ABIs (`sys.abiflags`, PEP 3149), the same machine, and a glibc at least the
target's manylinux level needs (PEP 600: `manylinux_2_N` needs glibc >= 2.N; packaging's
`_manylinux._get_glibc_version` reads it with `os.confstr("CS_GNU_LIBC_VERSION")`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.version import Version

from bundler.errors import BadInput
from bundler.models import manifest as manifest_mod
from bundler.models.target import Target
from bundler.policy.tables import bundled_pip

MANIFEST = manifest_mod.FILENAME
REQUIREMENTS_LOCK = manifest_mod.Role.APP.lock
BOOTSTRAP_LOCK = manifest_mod.Role.BOOTSTRAP.lock
PYLOCK = "pylock.toml"
INSTALL_SH = "install.sh"
SYSTEM_PACKAGES = "system-packages.yml"
POLICY_FINDINGS = "policy-findings.json"
"""The gate's findings snapshot (`bundler.gate.snapshot.FILENAME`; a test keeps them equal)."""
SHA256SUMS = "SHA256SUMS"
TARGETS_DIR = "targets"
"""The folder of per-target folders in a several-target wheelhouse."""

WHEELHOUSE_FILES = (
    MANIFEST,
    REQUIREMENTS_LOCK,
    BOOTSTRAP_LOCK,
    PYLOCK,
    INSTALL_SH,
    SYSTEM_PACKAGES,
    POLICY_FINDINGS,
    SHA256SUMS,
    "SHA256SUMS.asc",
    "SHA256SUMS.minisig",
)
"""A wheelhouse's own files besides the files its manifest.json lists (fetch writes them;
`bundler audit` writes system-packages.yml; SHA256SUMS and its detached signatures,
`bundler.fs.sums`)."""
TARGET_FILES = (MANIFEST, REQUIREMENTS_LOCK, BOOTSTRAP_LOCK, PYLOCK, INSTALL_SH, SYSTEM_PACKAGES)
"""What a per-target folder `targets/NAME/` may hold."""
LOCK_FILES = (REQUIREMENTS_LOCK, BOOTSTRAP_LOCK, PYLOCK)


Role = manifest_mod.Role
"""Which lock lists a file (`manifest.Role`: APP requirements.lock, BOOTSTRAP bootstrap.lock;
`Role.lock` its file name), parsed once where a manifest is read."""


# -- which target fits an interpreter --------------------------------------------------------


@dataclass(frozen=True)
class Interpreter:
    """What decides whether a wheelhouse target fits a host's Python, as that Python reports
    it (`FACTS_SCRIPT`): its full version, ABI tag, machine and the C library's version."""

    version: str
    """'3.6.15'."""
    abi: str
    """The CPython ABI tag: 'cp' + X.Y digits + sys.abiflags, e.g. 'cp36m', 'cp311'."""
    machine: str
    """platform.machine(), e.g. 'x86_64'."""
    glibc: tuple[int, int] | None
    """The glibc version (None: not glibc, e.g. musl)."""

    @property
    def short_version(self) -> str:
        major, minor = self.version.split(".")[:2]
        return f"{major}.{minor}"

    @classmethod
    def parse(cls, line: str) -> Interpreter:
        """From `FACTS_SCRIPT`'s one line 'VERSION ABI MACHINE GLIBC' (GLIBC '-' for none);
        BadInput for anything else."""
        m = re.fullmatch(
            r"(\d{1,2}\.\d{1,3}\.\d{1,4})\s+(cp\d{2,4}[a-z]{0,4})\s+([A-Za-z0-9_]{1,32})"
            r"\s+(-|\d{1,3}\.\d{1,3})",
            line.strip(),
        )
        if m is None:
            raise BadInput(f"not an interpreter description: {line.strip()[:80]!r}")
        glibc = None
        if m.group(4) != "-":
            major, minor = m.group(4).split(".")
            glibc = (int(major), int(minor))
        return cls(m.group(1), m.group(2), m.group(3), glibc)

    def describe(self) -> str:
        libc = f"glibc {self.glibc[0]}.{self.glibc[1]}" if self.glibc else "no glibc"
        return f"Python {self.version} ({self.abi}, {self.machine}, {libc})"


FACTS_CODE = (
    "import os, platform, re, sys\n"
    "abi = 'cp%d%d%s' % (sys.version_info[0], sys.version_info[1], getattr(sys, 'abiflags', ''))\n"
    "try:\n"
    "    libc = os.confstr('CS_GNU_LIBC_VERSION').split()[1]\n"
    "except (AttributeError, ValueError, OSError, IndexError, TypeError):\n"
    "    libc = '-'\n"
    "m = re.match(r'([0-9]+)\\.([0-9]+)', libc)\n"
    "libc = '%d.%d' % (int(m.group(1)), int(m.group(2))) if m else '-'\n"
    "machine = '_'.join(str(platform.machine()).replace('.', '_').replace('-', '_').split())\n"
    "facts = '%d.%d.%d %s %s %s' % (sys.version_info[0], sys.version_info[1], "
    "sys.version_info[2], abi, machine or 'unknown', libc)\n"
)
"""Sets `facts` to the `Interpreter` line (`FACTS_SCRIPT` prints it; the picker uses it)."""
FACTS_SCRIPT = FACTS_CODE + "print(facts)\n"
"""Run by the target's Python (3.6 syntax and up, stdlib only): its `Interpreter` line. The ABI
is packaging.tags' `_cpython_abis` rule for CPython 3 (interpreter X.Y + sys.abiflags); the glibc
packaging's `_glibc_version_string_confstr` read with `_parse_glibc_version`'s regex (the
leading major.minor digits: Linaro's "2.20-2014.11" is 2.20; no match: not glibc); the machine
normalised like packaging.tags' `_normalize_string` ('.', '-', blanks to '_'; '' reads
'unknown')."""


def fit_problems(target: Target, python: Interpreter) -> list[str]:
    """Why `target`'s wheels do not install into `python` ([] when they do): another X.Y,
    an ABI the target was not resolved for, another machine, a glibc older than the target's
    manylinux level needs (or none)."""
    problems = []
    if python.short_version != target.short_version:
        problems.append(f"Python {python.short_version}, not {target.short_version}")
    if python.abi not in target.abis:
        problems.append(f"ABI {python.abi}, not {'/'.join(target.abis)}")
    if python.machine != target.machine:
        problems.append(f"machine {python.machine}, not {target.machine}")
    if target.glibc is not None:
        need = f"{target.glibc[0]}.{target.glibc[1]}"
        if python.glibc is None:
            problems.append(f"no glibc ({target.platform} needs glibc >= {need})")
        elif python.glibc < target.glibc:
            have = f"{python.glibc[0]}.{python.glibc[1]}"
            problems.append(f"glibc {have} < {need} ({target.platform})")
    return problems


class NoTargetFits(BadInput):
    """No target of a wheelhouse fits an interpreter; `reasons` says why, per target."""

    def __init__(self, python: Interpreter, reasons: dict[str, list[str]]) -> None:
        shown = "; ".join(f"{name}: {', '.join(why)}" for name, why in reasons.items())
        super().__init__(
            f"no target of this wheelhouse fits {python.describe()}: {shown or 'no targets'}"
        )
        self.python = python
        self.reasons = reasons


def pick(targets: Sequence[Target], python: Interpreter) -> Target:
    """The target of `targets` that fits `python`: of those that fit, the one with the highest
    glibc level (its wheels are the newest the host can load), the first listed on a tie.
    Raises NoTargetFits naming every target and why it does not fit."""
    fitting = [t for t in targets if not fit_problems(t, python)]
    if not fitting:
        raise NoTargetFits(python, {t.name: fit_problems(t, python) for t in targets})
    return max(fitting, key=lambda t: t.glibc or (0, 0))


# -- reading a wheelhouse ----------------------------------------------------------------------


@dataclass(frozen=True)
class TargetView:
    """One target of a wheelhouse: its folder (locks, install.sh, its manifest), the pool its
    wheels are in, and its typed manifest."""

    name: str
    folder: Path
    """Where this target's locks, install.sh and manifest.json are."""
    pool: Path
    """Where its wheels are (the folder itself, or the wheelhouse's top)."""
    manifest: manifest_mod.Manifest
    rel: str
    """The folder relative to the wheelhouse's top: '' or 'targets/NAME/' (a path prefix)."""

    @property
    def target(self) -> Target:
        return self.manifest.target

    def file(self, name: str) -> Path:
        """A file of the target's folder (a lock, install.sh, ...)."""
        return self.folder / name

    def wheel(self, filename: str) -> Path:
        """A file of the target's manifest, in the pool."""
        return self.pool / filename


@dataclass(frozen=True)
class Wheelhouse:
    """A wheelhouse as its manifest(s) describe it: one target at the top, or several."""

    top: Path
    targets: tuple[TargetView, ...]
    index: manifest_mod.TargetsIndex | None
    """The several-target top manifest; None for a one-target wheelhouse."""

    @property
    def several(self) -> bool:
        return self.index is not None

    @property
    def packages(self) -> tuple[manifest_mod.Package, ...]:
        """Every file of the pool once (by file name), in manifest order."""
        seen: dict[str, manifest_mod.Package] = {}
        for view in self.targets:
            for p in view.manifest.packages:
                seen.setdefault(p.filename, p)
        return tuple(seen.values())

    def combined(self) -> manifest_mod.Manifest:
        """One manifest for kit-level readers (`combine`); a one-target wheelhouse's own."""
        return combine([v.manifest for v in self.targets])

    def describe_targets(self) -> str:
        """'cp36-manylinux1_x86_64, cp311-manylinux2014_x86_64'."""
        return ", ".join(v.name for v in self.targets)

    def own_files(self) -> Iterator[str]:
        """The wheelhouse's own files (relative paths) that may exist besides the pool."""
        if self.index is None:
            yield from WHEELHOUSE_FILES
            return
        yield from (MANIFEST, INSTALL_SH, SHA256SUMS, "SHA256SUMS.asc", "SHA256SUMS.minisig")
        yield POLICY_FINDINGS  # the gate's snapshot of the whole pool (fetch --policy)
        for view in self.targets:
            yield from (view.rel + name for name in TARGET_FILES)


def combine(manifests: Sequence[manifest_mod.Manifest]) -> manifest_mod.Manifest:
    """One manifest for kit-level readers (pack's file checks, README.txt, the SBOM, inspect's
    totals) of a several-target wheelhouse's target manifests: the first target's fields with
    every pool file as `packages` (each once, first target first) and, in `data`, `packages`
    likewise and `targets` (the names). One manifest: itself."""
    first = manifests[0]
    if len(manifests) == 1:
        return first
    records: dict[str, Any] = {}
    packages: dict[str, manifest_mod.Package] = {}
    for one in manifests:
        for record in one.data.get("packages", []):
            records.setdefault(record["filename"], record)
        for p in one.packages:
            packages.setdefault(p.filename, p)
    data = {
        **first.data,
        "packages": list(records.values()),
        "targets": [m.name for m in manifests],
    }
    return dataclasses.replace(first, packages=tuple(packages.values()), data=data)


def check_members(
    index: manifest_mod.TargetsIndex,
    manifests: Sequence[manifest_mod.Manifest],
    where: Path | str,
    where_of: Sequence[Path | str],
) -> None:
    """The target manifests of a several-target wheelhouse belong to its top manifest `index`
    (`where`): in its order, each that target's (name, target record, pool '../..'), each file
    in the pool with that sha256 and that target named. Raises BadManifest naming the file
    (`where_of[i]` for the i-th target manifest)."""
    for ref, own, at in zip(index.targets, manifests, where_of, strict=True):
        if own.name != ref.name or own.target != ref.target:
            raise manifest_mod.BadManifest(at, f"not the manifest of target {ref.name}")
        if own.pool != manifest_mod.NESTED_POOL:
            raise manifest_mod.BadManifest(at, f"pool is {own.pool!r}, not '../..'")
    pool = {p.filename: p for p in index.packages}
    for own in manifests:
        for p in own.packages:
            listed = pool.get(p.filename)
            if listed is None or listed.sha256 != p.sha256 or own.name not in listed.targets:
                raise manifest_mod.BadManifest(
                    where,
                    f"packages: {p.filename} of target {own.name} is not in the pool as that "
                    "target's file",
                )


def open_wheelhouse(top: Path) -> Wheelhouse:
    """The wheelhouse at `top`: its top manifest.json read (schema-checked, version 1 migrated)
    and, for several targets, each `targets/NAME/manifest.json`, which must be that target's
    (name, target record and pool '../..'). Raises BadManifest naming the file."""
    found = manifest_mod.read_any(top)
    if isinstance(found, manifest_mod.Manifest):
        if found.pool != manifest_mod.FLAT_POOL:
            raise manifest_mod.BadManifest(
                top / MANIFEST, f"pool is {found.pool!r}: a wheelhouse's top manifest has '.'"
            )
        return Wheelhouse(top, (TargetView(found.name, top, top, found, ""),), None)
    folders = [top / ref.dir for ref in found.targets]
    manifests = [manifest_mod.read(folder) for folder in folders]
    check_members(found, manifests, top / MANIFEST, [f / MANIFEST for f in folders])
    views = tuple(
        TargetView(ref.name, folder, top, own, ref.dir + "/")
        for ref, folder, own in zip(found.targets, folders, manifests, strict=True)
    )
    return Wheelhouse(top, views, found)


def is_wheelhouse(directory: Path) -> bool:
    """A folder with a manifest.json (not checked here; `open_wheelhouse` checks it)."""
    return (directory / MANIFEST).is_file()


# -- the kit's CPython source: which tarball, and does the wheelhouse fit it ---------------------


@dataclass(frozen=True)
class PythonSource:
    """The CPython source tarball a kit builds its interpreter from, and how it fits."""

    filename: str
    version: str
    """The tarball's CPython version, e.g. '3.6.10'."""
    target_version: str
    """The version the wheelhouse was resolved for, e.g. '3.6.15'."""
    abis: tuple[str, ...]

    @property
    def exact(self) -> bool:
        return self.version == self.target_version

    def describe(self) -> str:
        """e.g. 'CPython 3.6.10 source; wheelhouse resolved for 3.6.15 (same ABI cp36m)'."""
        if self.exact:
            return f"CPython {self.version} source, the version the wheelhouse was resolved for"
        return (
            f"CPython {self.version} source; wheelhouse resolved for {self.target_version} "
            f"(same ABI {', '.join(self.abis)})"
        )


PYTHON_TARBALL = re.compile(r"^Python-(?P<version>\d+\.\d+\.\d+)\.(tgz|tar\.xz|tar\.gz)$")
"""A CPython source tarball as python.org names it (`bundler fetch-source python X.Y.Z`)."""


def python_sources(filenames: Iterable[str]) -> dict[str, str]:
    """CPython tarballs among `filenames` (upstream names): filename -> version."""
    found = {}
    for name in filenames:
        m = PYTHON_TARBALL.match(name)
        if m is not None:
            found[name] = m["version"]
    return found


def python_source(filenames: Iterable[str], target: Target) -> PythonSource | None:
    """The kit's CPython source for `target`: the exact version, else the newest tarball of the
    same X.Y (same implementation, hence the same ABI: a cp36m wheelhouse installs on any 3.6.x);
    None when there is neither (a tarball of another X.Y is not the kit's interpreter)."""
    if target.implementation != "cp":
        return None
    tarballs = python_sources(filenames)
    exact = sorted(n for n, v in tarballs.items() if v == target.python_version)
    if exact:
        chosen = exact[0]
    else:
        same = [
            (Version(v), n)
            for n, v in tarballs.items()
            if (Version(v).major, Version(v).minor) == target.python_tuple
        ]
        if not same:
            return None
        # newest patch release first; of one version, the first name (.tar.xz before .tgz)
        chosen = min(same, key=lambda vn: (-vn[0].micro, vn[1]))[1]
    return PythonSource(chosen, tarballs[chosen], target.python_version, target.abis)


def target_for(target: Target, python_version: str) -> Target:
    """`target` for another patch release of the same X.Y (its own markers and bundled pip)."""
    return dataclasses.replace(
        target,
        python_version=python_version,
        installer_pip=str(bundled_pip(Version(python_version))),
        notes=(),
    )


def installer_fit_problems(
    manifest: manifest_mod.Manifest,
    packages: Iterable[manifest_mod.Package],
    source: PythonSource,
) -> list[str]:
    """Source fit, the installer's part: wheels of `packages` the wheelhouse's own target's pip
    installs but the bundled pip of `source`'s release cannot, with no pip bootstrap shipped
    ('FILE: for the kit's CPython X.Y.Z (sources/TARBALL): ...' each; [] for the exact
    release). Requires-Python, markers and the closure under that release are verify's
    (`bundler.kit.wheelhouse_check.source_fit_problems`, which calls this)."""
    if source.exact or manifest.installer.bootstrap:
        return []
    own = manifest.target
    other = target_for(own, source.version)
    what = f"for the kit's CPython {source.version} (sources/{source.filename})"
    return [
        f"{p.filename}: {what}: its bundled pip {other.installer_pip} cannot install it and "
        "the wheelhouse has no pip bootstrap"
        for p in packages
        if p.is_wheel and own.installer_reads(p.filename) and not other.installer_reads(p.filename)
    ]
