"""`bundler pack`: one reproducible, checksummed kit archive (`kit-NAME.tar.gz`).

Layout (one top directory, see docs/DESIGN.md "The kit"):

    kit-NAME/README.txt        what is inside and the commands to run on the other side
    kit-NAME/SHA256SUMS        `sha256sum -c` format, every other file of the kit
    kit-NAME/sbom.cdx.json     CycloneDX SBOM (bundler.kit.sbom)
    kit-NAME/wheelhouse/...    the fetched wheelhouse (wheels, locks, manifest, install.sh, ...)
    kit-NAME/controller/...    ansible-core for the controller: wheelhouse/ + setup.sh
                               (bundler.kit.controller_setup; absent without controller_wheelhouse),
                               and with controller_bootstrap: bootstrap/wheelhouse/ + bootstrap.sh
    kit-NAME/sources/...       source tarballs from `bundler fetch-source` (may be empty)
    kit-NAME/playbooks/...     the Ansible playbooks (with inventory/hosts.example.ini)
    kit-NAME/Vagrantfile       a local CentOS 7 box to rehearse the deployment

The kit's CPython source is the sources/ tarball of the wheelhouse's exact version, else the
newest of the same X.Y (a cp36m wheelhouse resolved for 3.6.15 installs on the 3.6.10 the
playbooks build by default) when the wheelhouse holds for that release too; pack, README.txt,
`bundler inspect` and `bundler verify` all say which two versions meet. A tarball of another
X.Y is not the kit's interpreter.

Reproducible: the same inputs give byte-identical archives. Members are sorted by path, every
mtime is the kit timestamp (SOURCE_DATE_EPOCH if set, else 1980-01-01T00:00:00Z: the oldest
time zip and wheel tools accept, and no "implausibly old time stamp" warning from GNU tar),
uid/gid 0 with empty owner names, modes 0755 (directories, executables) or 0644, PAX format,
and the gzip header carries mtime 0 and no file name.

Beside the archive, `kit-NAME.tar.gz.sha256` (sha256sum format) records the whole archive's
hash; with `split`, the archive is written as `kit-NAME.tar.gz.part000`, `.part001`, ... of at
most that many bytes each (rejoin with `cat kit-NAME.tar.gz.part* > kit-NAME.tar.gz`).
"""

from __future__ import annotations

import datetime as dt
import glob
import gzip
import hashlib
import io
import os
import re
import stat
import tarfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, cast

from bundler.errors import BadInput, CheckFailed
from bundler.fs import regular, sums
from bundler.fs.atomic import atomic_write_bytes
from bundler.fs.hashing import CHUNK, sha256_file
from bundler.fs.regular import open_regular
from bundler.fs.staging import deferred_signals, staging
from bundler.gate import snapshot as gate_snapshot
from bundler.gate.evaluate import GateResult, evaluate_carried
from bundler.gate.policy import Policy, parse_bytes
from bundler.kit import controller as controller_mod
from bundler.kit import (
    controller_setup,
    layout,
    release,
    sbom,
    signing,
    sources,
    wheelhouse_check,
)
from bundler.kit.templates import template
from bundler.models import manifest as manifest_mod
from bundler.models import system_packages
from bundler.models.target import Target
from bundler.models.wheel import check_wheel_members
from bundler.wheelhouse import model

DEFAULT_EPOCH = 315532800  # 1980-01-01T00:00:00Z
SUMS = "SHA256SUMS"
README = "README.txt"
SUFFIX = ".tar.gz"
PART = ".part"
REQUIRED_WHEELHOUSE = ("manifest.json", "requirements.lock", "install.sh")
INVENTORY_EXAMPLE = "playbooks/inventory/hosts.example.ini"
PLAYBOOK_ITEMS = (
    "playbooks/site.yml",
    controller_mod.BUILD_PLAYBOOK,
    "playbooks/roles/",
    "playbooks/group_vars/all.yml",
    INVENTORY_EXAMPLE,
)
"""What README.txt names under playbooks/ (each only when the kit holds it)."""
_SKIP_NAMES = {"__pycache__", ".ansible", ".pytest_cache", ".mypy_cache"}
_SKIP_SUFFIXES = (".part", ".pyc", ".retry", ".swp")


@dataclass(frozen=True)
class KitFile:
    """One file of the kit: where its bytes come from and what they are."""

    arcname: str
    """Path inside the kit's top directory, '/'-separated."""
    source: Path | None
    data: bytes | None
    size: int
    sha256: str
    executable: bool = False

    def open(self) -> BinaryIO:
        """The bytes to pack; a source that is no longer a regular file is refused."""
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.source is not None
        return open_regular(self.source, follow=False)


@dataclass
class PackResult:
    """What `pack` wrote and what it noticed."""

    name: str
    archive: Path
    """The whole archive's path (does not exist on disk when split)."""
    parts: list[Path]
    checksum_file: Path
    sha256: str
    size: int
    files: int
    python: model.PythonSource | None
    """The CPython tarball the playbooks build (under sources/), and how it fits the
    wheelhouse; None when the kit has none."""
    notes: list[str] = field(default_factory=list)
    controller: controller_mod.ControllerInfo | None = None
    """The controller wheelhouse packed as controller/ (None with --no-controller)."""
    controller_bootstrap: controller_mod.ControllerInfo | None = None
    """The bootstrap wheelhouse packed as controller/bootstrap/ (None when not packed)."""
    gate: GateResult | None = None
    """The policy gate's verdict at pack time (None: no --policy and no carried snapshot)."""
    signatures: list[Path] = field(default_factory=list)
    """Detached signatures written beside the archive (the sidecar's)."""
    signers: list[str] = field(default_factory=list)
    """Fingerprint / key id of each signing key."""

    pythons: dict[str, model.PythonSource | None] = field(default_factory=dict)
    """A several-target wheelhouse: each target's CPython tarball (None: the kit has none for
    it), by target name; `python` is the first target's. Empty for one target."""

    @property
    def python_source(self) -> str | None:
        """The CPython tarball's file name under sources/, if the kit has one."""
        return self.python.filename if self.python else None


@dataclass
class KitPlan:
    """A kit before it is written (`plan`): its name, files and member mtime."""

    name: str
    files: list[KitFile]
    """Every file; SHA256SUMS (it lists all the others) then its detached signatures last."""
    epoch: int
    python: model.PythonSource | None
    notes: list[str]
    controller: controller_mod.ControllerInfo | None
    wheelhouse: Path | None = None
    manifest: manifest_mod.Manifest | None = None
    controller_bootstrap: controller_mod.ControllerInfo | None = None
    gate: GateResult | None = None
    """The policy gate's verdict at plan time (see `PackResult.gate`)."""
    signers: list[str] = field(default_factory=list)
    """Fingerprint / key id of each key that signed SHA256SUMS."""
    pythons: dict[str, model.PythonSource | None] = field(default_factory=dict)
    """Each target's CPython tarball, several targets only (see `PackResult.pythons`)."""


@dataclass(frozen=True)
class PackInputs:
    """What one kit is packed from: the folders the CLI names and the options that shape the
    kit, as one value (`pack`, `plan`, `bundler.kit.delta.pack_with_base`).

    `controller_wheelhouse` (from `bundler fetch-controller`) becomes controller/wheelhouse/
    with controller/setup.sh; None packs no controller part. `controller_bootstrap` (from
    `bundler fetch-controller --bootstrap`, only with `controller_wheelhouse`) becomes
    controller/bootstrap/wheelhouse/ with controller/bootstrap.sh. `sign`: secret keys (one
    per format) whose detached signatures cover SHA256SUMS (inside the kit) and the archive's
    .sha256 sidecar (beside it). `policy`: the gate re-evaluated on the wheelhouse's carried
    findings as of `today` (UTC when None). `timestamp`: the members' mtime (seconds;
    SOURCE_DATE_EPOCH or a fixed epoch when None). `sequence`: the release record's
    sequence (`bundler.kit.release`; with `sign` and no sequence, the creation time)."""

    wheelhouse: Path
    playbooks: Path
    sources_dir: Path | None = None
    vagrantfile: Path | None = None
    controller_wheelhouse: Path | None = None
    controller_bootstrap: Path | None = None
    sign: Sequence[signing.Key] = ()
    policy: Policy | None = None
    today: dt.date | None = None
    timestamp: int | None = None
    sequence: int | None = None


def parse_size(text: str) -> int:
    """'700M', '4G', '4GB', '1000000' -> bytes (K, M, G, T, KiB... are 1024-based; KB... 1000)."""
    try:
        size = parse_bytes(text)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    if size < 1024:
        raise BadInput(f"--split {text!r} is too small (at least 1K)")
    return size


def default_name(wheelhouse: Path) -> str:
    """kit-<first root>-cp36-manylinux1_x86_64 style name from the wheelhouse manifest."""
    manifest = _check_wheelhouse(wheelhouse)
    target = manifest.target
    roots = [re.split(r"[^A-Za-z0-9_.]", r, maxsplit=1)[0] for r in manifest.requirements]
    app = roots[0] if roots and roots[0] else "wheelhouse"
    return f"kit-{app}-py{target.python_version}-{target.platform}"


def pack(inputs: PackInputs, output: Path, split: int | None = None) -> PackResult:
    """Write the kit archive `output` (kit-NAME.tar.gz) from `inputs` (see PackInputs), cut
    into `split`-byte parts when given.

    With `inputs.policy`, a violation raises CheckFailed, before anything is written
    (licenses, vulnerabilities) or after, removing the kit again (the size budget). Without
    it, the policy carried in the snapshot gives the SBOM's vulnerability analysis but fails
    nothing."""
    kit = plan(inputs, output)
    return write_kit(kit, output, split, sign=inputs.sign, policy=inputs.policy, today=inputs.today)


def plan(inputs: PackInputs, output: Path) -> KitPlan:
    """Every file of the kit `output` would hold (SHA256SUMS, then its signatures, last), read
    and hashed, and what pack noticed; nothing is written but the signatures are made (they
    are files of the kit). `write_kit` writes it, `bundler.kit.delta` compares it with a base
    kit. Raises BadInput for unusable inputs, CheckFailed for a policy violation (see `pack`).
    With `sign` or `sequence`, the kit carries its release record (`bundler.kit.release`:
    sequence, creation time), listed in SHA256SUMS and so signed."""
    name = _kit_name(output)
    epoch = _epoch(inputs.timestamp)
    manifest = _check_wheelhouse(inputs.wheelhouse)
    notes: list[str] = []
    files = _collect_wheelhouse(inputs.wheelhouse, manifest, "wheelhouse")
    _check_recorded(manifest, files, "wheelhouse", inputs.wheelhouse)
    notes += _check_wheelhouse_sums(inputs.wheelhouse, files)
    gate = _gate(inputs.wheelhouse, manifest, inputs.policy, inputs.today)
    if inputs.policy is not None and gate is not None:
        _refuse_violations(gate, name)
    part = (
        controller_setup.prepare(inputs.controller_wheelhouse, inputs.controller_bootstrap)
        if inputs.controller_wheelhouse
        else None
    )
    if part is not None:
        files += _controller_files(part)
    notes += _missing_system_packages(inputs.wheelhouse)
    source_files = _collect_sources(inputs.sources_dir)
    files += source_files
    if not inputs.playbooks.is_dir():
        raise BadInput(f"playbooks directory {inputs.playbooks} does not exist")
    files += _collect(inputs.playbooks, "playbooks", notes=notes)
    if not any(f.arcname == INVENTORY_EXAMPLE for f in files):
        notes.append(f"{INVENTORY_EXAMPLE} is missing from {inputs.playbooks}")
    if (
        part
        and part.bootstrap
        and not any(f.arcname == controller_mod.BUILD_PLAYBOOK for f in files)
    ):
        raise BadInput(
            f"{inputs.playbooks} has no "
            f"{controller_mod.BUILD_PLAYBOOK.removeprefix('playbooks/')}, "
            "which controller/bootstrap.sh runs (pack with --no-controller-bootstrap, or the "
            "kit's own playbooks/)"
        )
    if inputs.vagrantfile is not None and inputs.vagrantfile.is_file():
        files.append(file_from_path(inputs.vagrantfile, "Vagrantfile", follow=True))
    else:
        notes.append("no Vagrantfile: the kit cannot be rehearsed in a local box")
    target = manifest.target
    pythons = _target_sources(source_files, inputs.wheelhouse, notes)
    python = (
        next(iter(pythons.values()))
        if pythons
        else _python_source(source_files, target, inputs.wheelhouse, notes)
    )
    sbom_entries = _sbom_sources(source_files, inputs.sources_dir)
    controller_manifest = dict(manifest_mod.read(part.directory).data) if part else None
    bootstrap_manifest = (
        dict(manifest_mod.read(part.bootstrap.directory).data) if part and part.bootstrap else None
    )
    sbom_text = sbom.render(
        name,
        dict(manifest.data),
        sbom_entries,
        epoch,
        controller_manifest,
        gate=gate,
        bootstrap=bootstrap_manifest,
    )
    files.append(file_from_bytes(sbom.FILENAME, sbom_text.encode()))
    system = _system_packages(inputs.wheelhouse)
    controller_python = _controller_python(part, source_files, notes)
    readme = render_readme(
        name,
        manifest,
        target,
        files,
        python,
        system,
        notes,
        controller=part.info if part else None,
        controller_python=controller_python,
        controller_bootstrap=part.bootstrap.info if part and part.bootstrap else None,
        signed=[k.format for k in inputs.sign],
        gate=gate,
    )
    files.append(file_from_bytes(README, readme.encode()))
    if inputs.sign or inputs.sequence is not None:
        made = release.make(name, inputs.sequence, _release_time())
        files.append(file_from_bytes(release.FILENAME, release.render(made)))
    sums_text = checksums(files)
    files.append(file_from_bytes(SUMS, sums_text.encode()))
    signatures, signers = _sign_sums(sums_text.encode(), inputs.sign)
    files += signatures
    kit = KitPlan(name, files, epoch, python, notes, part.info if part else None)
    kit.controller_bootstrap = part.bootstrap.info if part and part.bootstrap else None
    kit.wheelhouse, kit.manifest, kit.gate, kit.signers = inputs.wheelhouse, manifest, gate, signers
    kit.pythons = pythons
    return kit


def _missing_system_packages(wheelhouse: Path) -> list[str]:
    """A note per folder without the audit's system-packages.yml: the wheelhouse's (one
    target), or each target folder's (several: `targets/NAME/`, where the audit writes it)."""
    found = model.open_wheelhouse(wheelhouse)
    return [
        f"wheelhouse{'/' + view.rel.rstrip('/') if view.rel else ''} has no "
        f"{system_packages.FILENAME} (run `bundler audit`)"
        for view in found.targets
        if not (view.folder / system_packages.FILENAME).is_file()
    ]


def _target_sources(
    files: list[KitFile], wheelhouse: Path, notes: list[str]
) -> dict[str, model.PythonSource | None]:
    """A several-target wheelhouse: each target's CPython source (`_python_source`, its notes
    named by target), by target name; {} for one target."""
    found = model.open_wheelhouse(wheelhouse)
    if not found.several:
        return {}
    out: dict[str, model.PythonSource | None] = {}
    for view in found.targets:
        own: list[str] = []
        chosen = out[view.name] = _python_source(files, view.target, wheelhouse, own)
        if chosen is None:  # (another target's tarball in sources/ is no concern of this one)
            version = view.target.python_version
            own = [
                f"no CPython source in the kit: its hosts must already have Python {version} "
                f"(or fetch it: bundler fetch-source python {version})"
            ]
        notes += [f"target {view.name}: {note}" for note in own]
    return out


def write_kit(
    kit: KitPlan,
    output: Path,
    split: int | None = None,
    *,
    sign: Sequence[signing.Key] = (),
    policy: Policy | None = None,
    today: dt.date | None = None,
) -> PackResult:
    """Write the planned kit as `output` (through the stage), sign its .sha256 sidecar with
    `sign` (the keys `plan` signed SHA256SUMS with) and, with `policy`, check the size budget
    (over it: the kit is removed again, CheckFailed)."""
    remove_stale_signatures(output)
    result = write_archive(kit.name, output, kit.files, kit.epoch, split, kit.python, kit.notes)
    result.controller = kit.controller
    result.controller_bootstrap = kit.controller_bootstrap
    result.gate, result.signers = kit.gate, kit.signers
    result.pythons = dict(kit.pythons)
    result.signatures = sign_sidecar(result.checksum_file, sign)
    if policy is not None and kit.wheelhouse is not None and kit.manifest is not None:
        _check_size(result, kit.wheelhouse, kit.manifest, policy, today)
    return result


def checksums(files: list[KitFile]) -> str:
    """SHA256SUMS text: `<sha256>  <path>` per file, sorted by path."""
    rows = sorted((f.arcname, f.sha256) for f in files if f.arcname != SUMS)
    return "".join(f"{sha}  {path}\n" for path, sha in rows)


def render_readme(
    name: str,
    manifest: manifest_mod.Manifest,
    target: Target,
    files: list[KitFile],
    python: model.PythonSource | None,
    system: system_packages.SystemPackages,
    notes: list[str],
    *,
    controller: controller_mod.ControllerInfo | None = None,
    controller_python: model.PythonSource | None = None,
    controller_bootstrap: controller_mod.ControllerInfo | None = None,
    signed: list[str] | None = None,
    gate: GateResult | None = None,
) -> str:
    """README.txt: what is inside (only what `files` holds) and the steps on the other side."""
    openssl = sorted(
        f.arcname.removeprefix("sources/")
        for f in files
        if re.fullmatch(r"sources/openssl-[^/]+\.tar\.gz", f.arcname)
    )
    signed = signed or []
    if "openpgp" in signed:
        trust_option = "-e kit_signing_key=/path/to/kit-signing.pub.asc"
    elif signed:
        trust_option = "-e kit_signing_key=/path/to/kit-signing.pub"
    else:
        trust_option = "-e kit_allow_unsigned=true"
    return template("README.txt.j2").render(
        gate=gate,
        signed=signed,
        trust_option=trust_option,
        name=name,
        target=target,
        manifest=manifest,
        app=manifest.app,
        bootstrap=manifest.bootstrap,
        sources=[f for f in files if f.arcname.startswith("sources/")],
        has=_present(files),
        wheelhouse_files={f.arcname.removeprefix("wheelhouse/") for f in files},
        playbook_items=[
            item.removeprefix("playbooks/") for item in PLAYBOOK_ITEMS if item in _present(files)
        ],
        operator_files=layout.OPERATOR_FILES,
        operator_dirs=layout.OPERATOR_DIRS,
        python=python,
        system=system,
        notes=notes,
        controller=controller,
        controller_python=controller_python,
        controller_bootstrap=controller_bootstrap,
        openssl=openssl[-1] if openssl else None,
        files=sorted(files, key=lambda f: f.arcname),
        total=sum(f.size for f in files),
    )


def _present(files: list[KitFile]) -> set[str]:
    """Every path the kit holds: each file's arcname and each folder as 'DIR/'."""
    found = set()
    for f in files:
        found.add(f.arcname)
        parts = f.arcname.split("/")
        found.update("/".join(parts[:i]) + "/" for i in range(1, len(parts)))
    return found


# -- trust: signatures and the policy gate ----------------------------------------------------


def _sign_sums(sums_bytes: bytes, keys: Sequence[signing.Key]) -> tuple[list[KitFile], list[str]]:
    """SHA256SUMS.asc / SHA256SUMS.minisig inside the kit (not listed in SHA256SUMS), and
    each signer's fingerprint / key id."""
    formats = [k.format for k in keys]
    if len(set(formats)) != len(formats):
        raise BadInput("--sign: give at most one key per format (OpenPGP, minisign)")
    files, signers = [], []
    for key in keys:
        signature, signer = signing.sign_bytes(key, sums_bytes)
        files.append(file_from_bytes(SUMS + key.suffix, signature))
        signers.append(signer)
    return files, signers


def sign_sidecar(checksum_file: Path, keys: Sequence[signing.Key]) -> list[Path]:
    """kit-NAME.tar.gz.sha256.asc / .minisig beside the archive, each written atomically."""
    out = []
    for key in keys:
        signature = checksum_file.with_name(checksum_file.name + key.suffix)
        data, _ = signing.sign_bytes(key, checksum_file.read_bytes())
        atomic_write_bytes(signature, data)
        out.append(signature)
    return out


def remove_stale_signatures(output: Path) -> None:
    """Signatures of an earlier pack of the same name would not match this archive."""
    for suffix in signing.SUFFIX.values():
        stale = output.with_name(output.name + ".sha256" + suffix)
        if stale.is_file():  # (unlink of a missing file fails on a read-only folder too)
            stale.unlink()


def _check_wheelhouse_sums(wheelhouse: Path, files: list[KitFile]) -> list[str]:
    """The wheelhouse's own SHA256SUMS (install.sh checks it on the host) must still hold,
    judged on the hashes `_collect` computed (no byte is read twice)."""
    path = wheelhouse / sums.FILENAME
    if not path.is_file():
        return [f"wheelhouse has no {sums.FILENAME} (fetched by an older bundler): re-fetch"]
    listed, problems = sums.parse(path.read_text(encoding="utf-8", errors="replace"))
    tree = any("/" in name for name in listed)  # a several-target wheelhouse's (targets/...)
    collected = {
        f.arcname.split("/", 1)[1]: f.sha256
        for f in files
        if (tree or f.arcname.count("/") == 1)
        and not f.arcname.split("/", 1)[1].startswith((".", "SHA256SUMS"))
    }
    for listed_name, sha in sorted(listed.items()):
        if listed_name not in collected:
            problems.append(f"wheelhouse/{listed_name}: listed in {sums.FILENAME} but missing")
        elif collected[listed_name] != sha:
            problems.append(
                f"wheelhouse/{listed_name}: sha256 differs from wheelhouse/{sums.FILENAME}"
            )
    problems += [
        f"wheelhouse/{n}: not listed in wheelhouse/{sums.FILENAME}"
        for n in sorted(set(collected) - set(listed))
    ]
    if problems:
        raise BadInput(
            f"{wheelhouse}/{sums.FILENAME} no longer matches the wheelhouse ({problems[0]}"
            f"{f'; and {len(problems) - 1} more' if len(problems) > 1 else ''}): "
            "re-run bundler fetch (or bundler audit, which refreshes it)"
        )
    return []


def _gate(
    wheelhouse: Path,
    manifest: manifest_mod.Manifest,
    policy: Policy | None,
    today: dt.date | None,
) -> GateResult | None:
    carried = gate_snapshot.read(wheelhouse)
    return evaluate_carried(policy, manifest.data, carried, today or _today())


def _refuse_violations(gate: GateResult, name: str) -> None:
    if gate.violations:
        raise CheckFailed(
            f"{name}: not packed: {len(gate.violations)} policy violation(s)", gate.violations
        )


def _check_size(
    result: PackResult,
    wheelhouse: Path,
    manifest: manifest_mod.Manifest,
    policy: Policy,
    today: dt.date | None,
) -> None:
    """The size budget needs the archive: over it, the kit is removed again."""
    carried = gate_snapshot.read(wheelhouse)
    gate = evaluate_carried(
        policy, manifest.data, carried, today or _today(), kit_bytes=result.size
    )
    if gate is None or not gate.violations:
        return
    for path in [*result.parts, result.archive, result.checksum_file, *result.signatures]:
        path.unlink(missing_ok=True)
    _refuse_violations(gate, result.name)


def _today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


# -- collecting inputs ---------------------------------------------------------------------


def _kit_name(output: Path) -> str:
    if not output.name.endswith(SUFFIX) or len(output.name) == len(SUFFIX):
        raise BadInput(f"output {output} must be named kit-NAME{SUFFIX}")
    name = output.name[: -len(SUFFIX)]
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._+-]*", name):
        raise BadInput(f"kit name {name!r}: use letters, digits, '.', '_', '+', '-'")
    return name


def _release_time() -> dt.datetime:
    """The kit's creation time: SOURCE_DATE_EPOCH when set (a reproducible build's declared
    time), else now (UTC)."""
    env = os.environ.get("SOURCE_DATE_EPOCH")
    if env:
        return dt.datetime.fromtimestamp(_epoch(None), dt.timezone.utc)
    return dt.datetime.now(dt.timezone.utc)


def _epoch(timestamp: int | None) -> int:
    if timestamp is not None:
        return timestamp
    env = os.environ.get("SOURCE_DATE_EPOCH")
    if env:
        try:
            return int(env)
        except ValueError:
            raise BadInput(f"SOURCE_DATE_EPOCH={env!r} is not an integer") from None
    return DEFAULT_EPOCH


def _check_wheelhouse(wheelhouse: Path) -> manifest_mod.Manifest:
    """The wheelhouse's manifest for the kit (`model.Wheelhouse.combined`: a several-target
    wheelhouse's pool as one list), after its required files are checked (each target's)."""
    if not wheelhouse.is_dir():
        raise BadInput(f"wheelhouse {wheelhouse} does not exist (run `bundler fetch` first)")
    found = model.open_wheelhouse(wheelhouse)
    for view in found.targets:
        for required in REQUIRED_WHEELHOUSE:
            if not (view.folder / required).is_file():
                raise BadInput(f"wheelhouse {view.folder} has no {required} (run `bundler fetch`)")
    return found.combined()


def _check_recorded(
    manifest: manifest_mod.Manifest, files: list[KitFile], prefix: str, wheelhouse: Path
) -> None:
    """Every file manifest.json records is among `files` with that sha256 (and size): the
    hashes `_collect` computed for SHA256SUMS, so no byte is read again. A wheel changed since
    fetch (e.g. a cache blob damaged after it was adopted, which fetch no longer re-hashes:
    benchmarks/PROFILE.md, finding 6) never leaves the machine. BadInput listing the files."""
    collected = {f.arcname: f for f in files}
    problems = []
    for package in manifest.packages:
        found = collected.get(f"{prefix}/{package.filename}")
        if found is None:
            problems.append(f"{package.filename}: recorded in manifest.json but missing")
        elif found.sha256 != package.sha256 or package.size not in (None, found.size):
            problems.append(
                f"{package.filename}: sha256 {found.sha256} differs from manifest.json's "
                f"{package.sha256}"
            )
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise BadInput(
            f"wheelhouse {wheelhouse}: {'; '.join(problems[:3])}{more}: changed since `bundler "
            "fetch` (run it again); nothing was packed"
        )


def _walk(root: Path) -> Iterator[Path]:
    """Every regular file under `root` (sorted; skipped names left out), never following a
    link: a symbolic link, device, fifo or socket among the inputs fails the pack (a link
    could pull in any file of this machine, e.g. a root-only one)."""
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError as exc:
        raise BadInput(f"{root}: cannot read the folder ({exc.strerror or exc})") from None
    for entry in entries:
        path = Path(entry.path)
        if entry.name in _SKIP_NAMES or entry.name.startswith("."):
            continue
        mode = _lstat(path).st_mode
        if stat.S_ISLNK(mode):
            raise BadInput(
                f"{path}: symbolic link to {os.readlink(path)!r} refused: pack takes only "
                "regular files from its inputs (put the file itself there)"
            )
        if stat.S_ISDIR(mode):
            yield from _walk(path)
        elif not stat.S_ISREG(mode):
            raise BadInput(f"{path}: {regular.kind(mode)} refused: pack takes only regular files")
        elif not entry.name.endswith(_SKIP_SUFFIXES):
            yield path


def _collect(
    root: Path,
    prefix: str,
    executable: frozenset[str] | set[str] = frozenset(),
    notes: list[str] | None = None,
) -> list[KitFile]:
    out = []
    for path in _walk(root):
        rel = path.relative_to(root).as_posix()
        arcname = f"{prefix}/{rel}"
        if layout.is_operator_path(arcname):
            if notes is not None:
                notes.append(f"{path} not packed: an operator file (made on the other side)")
            continue
        exe = rel in executable or bool(_lstat(path).st_mode & 0o111)
        out.append(file_from_path(path, arcname, exe))
    return out


def _collect_wheelhouse(
    directory: Path, manifest: manifest_mod.Manifest, prefix: str
) -> list[KitFile]:
    """The wheelhouse's files for the kit: exactly what manifest.json lists plus the
    wheelhouse's own files (`layout.WHEELHOUSE_FILES`). Any other file (a stray script, an
    earlier kit archive packed into it, a sub-folder) is refused with one BadInput line naming
    it, and so is a listed wheel with a member outside the install root (`UnsafeWheel`).
    Hidden and editor/bytecode files are skipped as everywhere (`_walk`): never packed."""
    folders = [f"{model.TARGETS_DIR}/{name}/" for name in manifest.data.get("targets", [])]
    scripts = {"install.sh", *(folder + "install.sh" for folder in folders)}
    files = _collect(directory, prefix, executable=scripts)
    listed = {p.filename for p in manifest.packages}
    accounted = listed | set(layout.WHEELHOUSE_FILES)
    for folder in folders:  # a several-target wheelhouse's targets/NAME/
        accounted |= {folder + own for own in model.TARGET_FILES}
    for f in files:
        rel = f.arcname.removeprefix(prefix + "/")
        if rel not in accounted:
            raise BadInput(
                f"{directory / rel}: not a wheelhouse file (manifest.json does not list it, "
                f"and it is none of {', '.join(layout.WHEELHOUSE_FILES)}): pack carries only "
                f"what the manifest accounts for; move it out of {directory}"
            )
        if rel in listed and rel.endswith(".whl"):
            check_wheel_members(directory / rel, name=str(directory / rel))
    return files


def _collect_sources(directory: Path | None) -> list[KitFile]:
    if directory is None or not directory.is_dir():
        return []
    files = _collect(directory, "sources")
    index = {r["filename"]: r for r in sources.read_index(directory)}
    for f in files:
        row = index.get(f.arcname.removeprefix("sources/"))
        if row and row.get("sha256") != f.sha256:
            raise BadInput(
                f"{directory / row['filename']}: sha256 {f.sha256} differs from the "
                f"{row['sha256']} recorded by fetch-source in {directory / sources.INDEX}"
            )
    return files


def file_from_path(
    path: Path, arcname: str, executable: bool = False, follow: bool = False
) -> KitFile:
    """A regular file's size and sha256, read through one descriptor (`follow`: the path
    may be a link the user named, e.g. --vagrantfile; files found by walking never are)."""
    with open_regular(path, follow) as f:
        h = hashlib.sha256()
        size = 0
        try:
            for block in iter(lambda: f.read(CHUNK), b""):
                h.update(block)
                size += len(block)
        except OSError as exc:
            raise BadInput(f"{path}: cannot read ({exc.strerror or exc})") from None
    return KitFile(arcname, path, None, size, h.hexdigest(), executable)


def _lstat(path: Path) -> os.stat_result:
    try:
        return path.lstat()
    except OSError as exc:
        raise BadInput(f"{path}: cannot read ({exc.strerror or exc})") from None


def file_from_bytes(arcname: str, data: bytes) -> KitFile:
    return KitFile(arcname, None, data, len(data), hashlib.sha256(data).hexdigest())


def _python_source(
    files: list[KitFile], target: Target, wheelhouse: Path, notes: list[str]
) -> model.PythonSource | None:
    """The kit's CPython source: the target's version, or another patch release of the same X.Y
    (`model.python_source`). A same-X.Y tarball the wheelhouse does not hold for (Requires-Python,
    markers, bundled pip: `wheelhouse_check.source_fit_problems`) is refused: the playbooks would
    build it."""
    tarballs = [f.arcname.removeprefix("sources/") for f in files]
    pythons = sorted(model.python_sources(tarballs))
    chosen = model.python_source(tarballs, target)
    if chosen is not None and chosen.exact:
        return chosen
    if chosen is not None:
        problems = wheelhouse_check.source_fit_problems(wheelhouse, "", chosen, target.name)
        if not problems:
            notes.append(
                f"{chosen.describe()}: the playbooks build sources/{chosen.filename} "
                f"(-e python_version={chosen.version}) and install the wheelhouse into it"
            )
            return chosen
        shown = "; ".join(problems[:3])
        if len(problems) > 3:
            shown += f"; and {len(problems) - 3} more"
        raise BadInput(
            f"sources/{chosen.filename} would be the kit's interpreter, but the wheelhouse "
            f"resolved for CPython {target.python_version} does not hold for {chosen.version}: "
            f"{shown} (re-fetch with --python {chosen.version}, or remove the tarball)"
        )
    if pythons:
        notes.append(
            f"sources/ has {', '.join(pythons)} but the wheelhouse targets CPython "
            f"{target.python_version}: no CPython source for the target in the kit"
        )
        return None
    notes.append(
        f"no CPython source in the kit: the target host must already have Python "
        f"{target.python_version} (or fetch it: bundler fetch-source python "
        f"{target.python_version})"
    )
    return None


def _controller_files(part: controller_setup.ControllerPart) -> list[KitFile]:
    """controller/wheelhouse/ (checked like verify checks it) and controller/setup.sh; with
    the bootstrap, controller/bootstrap/wheelhouse/ and controller/bootstrap.sh too."""
    files = _checked_wheelhouse(part.directory, "controller wheelhouse", controller_mod.WHEELHOUSE)
    files.append(_script(controller_mod.SETUP_SH, part.setup_sh))
    if part.bootstrap is not None:
        files += _checked_wheelhouse(
            part.bootstrap.directory,
            "controller bootstrap wheelhouse",
            controller_mod.BOOTSTRAP_WHEELHOUSE,
        )
        files.append(_script(controller_mod.BOOTSTRAP_SH, part.bootstrap.bootstrap_sh))
    return files


def _checked_wheelhouse(directory: Path, what: str, arcdir: str) -> list[KitFile]:
    problems = wheelhouse_check.check_wheelhouse(
        directory, f"{directory}/", wheelhouse_check.Counts()
    )
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise BadInput(f"{what}: {'; '.join(problems[:3])}{more}")
    return _collect_wheelhouse(directory, manifest_mod.read(directory), arcdir)


def _script(arcname: str, text: str) -> KitFile:
    data = text.encode()
    return KitFile(arcname, None, data, len(data), hashlib.sha256(data).hexdigest(), True)


def _controller_python(
    part: controller_setup.ControllerPart | None, files: list[KitFile], notes: list[str]
) -> model.PythonSource | None:
    """The CPython tarball of the controller's X.Y in sources/ (what a CentOS 7 controller
    builds with the python_build role before setup.sh), with a note when there is none."""
    if part is None:
        return None
    target = part.info.target
    found = model.python_source((f.arcname.removeprefix("sources/") for f in files), target)
    if found is None:
        notes.append(
            f"no CPython {target.short_version} source in the kit: a controller without CPython "
            f"{target.short_version} (CentOS 7) cannot build one (bundler fetch-source python "
            f"{target.python_version}; and openssl 1.1.1w for CentOS 7)"
        )
    return found


def _sbom_sources(files: list[KitFile], directory: Path | None) -> list[sbom.SourceEntry]:
    index = {r["filename"]: r for r in sources.read_index(directory)} if directory else {}
    out = []
    for f in files:
        filename = f.arcname.removeprefix("sources/")
        if filename == sources.INDEX:
            continue
        row = index.get(filename) or {"url": None, **sources.describe_file(Path(filename))}
        out.append(
            sbom.SourceEntry(
                filename, f.sha256, row.get("project"), row.get("version"), row.get("url")
            )
        )
    return out


def _system_packages(wheelhouse: Path) -> system_packages.SystemPackages:
    path = wheelhouse / system_packages.FILENAME
    if not path.is_file():
        return system_packages.SystemPackages()
    with open_regular(path, follow=False) as f:
        return system_packages.loads(f.read(system_packages.MAX_BYTES + 1), str(path))


# -- writing -------------------------------------------------------------------------------------


def write_archive(
    name: str,
    output: Path,
    files: list[KitFile],
    epoch: int,
    split: int | None,
    python: model.PythonSource | None,
    notes: list[str],
) -> PackResult:
    """Write the archive (or its parts) and its .sha256 in a stage beside `output`
    (`bundler.fs.staging`: a locked work directory, swept by the next run if this one is
    killed), then rename them all into place with Ctrl-C deferred: a full disk, a read-only
    folder or an interrupt leaves the folder as it was (BadInput naming `output` for an
    OSError), never a half-written kit."""
    try:
        with staging(output) as stage:
            archive = stage.scratch / output.name
            with archive.open("wb") as raw:
                write_tar(raw, name, files, epoch)
                raw.flush()
                os.fsync(raw.fileno())
            digest, size = sha256_file(archive), archive.stat().st_size
            parts: list[Path] = []
            ready: list[tuple[Path, Path]] = []  # (file in the stage, final name)
            if split is None:
                ready.append((archive, output))
            else:
                ready += _split(archive, output, split, stage.scratch)
                parts = [final for _, final in ready]
                archive.unlink()
            checksum_file = output.with_name(output.name + ".sha256")
            sidecar = stage.scratch / checksum_file.name
            sidecar.write_text(f"{digest}  {output.name}\n", encoding="utf-8")
            ready.append((sidecar, checksum_file))
            with deferred_signals():
                for src, final in ready:
                    os.chmod(src, 0o644)
                    os.replace(src, final)
                _remove_stale(output, len(parts) if split is not None else None)
    except OSError as exc:
        raise BadInput(
            f"{output}: cannot write the kit ({exc.strerror or exc}); nothing was written"
        ) from None
    return PackResult(name, output, parts, checksum_file, digest, size, len(files), python, notes)


def _remove_stale(output: Path, parts: int | None) -> None:
    """After a successful pack: the parts of an earlier split pack that the new kit does not
    have (all of them when it is not split), and the whole archive when it now is."""
    if parts is not None:
        output.unlink(missing_ok=True)
    for stale in output.parent.glob(f"{glob.escape(output.name)}{PART}*"):
        n = stale.name.removeprefix(output.name + PART)
        if n.isdigit() and (parts is None or int(n) >= parts):
            stale.unlink()


def write_tar(raw: BinaryIO, name: str, files: list[KitFile], epoch: int) -> None:
    with (
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for arcname, kit_file in _members(name, files):
            info = tarfile.TarInfo(arcname)
            info.mtime = epoch
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if kit_file is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
                continue
            info.size = kit_file.size
            info.mode = 0o755 if kit_file.executable else 0o644
            with kit_file.open() as f:
                tar.addfile(info, _Exact(f, kit_file))


def archive_digest(name: str, files: list[KitFile], epoch: int) -> tuple[str, int]:
    """(sha256, size) of the archive `write_tar` makes of `files`, without writing it: pack
    is reproducible, so this is the archive's identity (how `bundler unpack --onto` proves an
    assembled kit is the one packed)."""
    sink = _HashSink()
    write_tar(cast(BinaryIO, sink), name, files, epoch)
    return sink.hexdigest(), sink.size


class _HashSink(io.RawIOBase):
    """A write-only stream that keeps only the sha256 and the length of what it was given."""

    def __init__(self) -> None:
        self._h = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._h.update(data)
        self.size += len(data)
        return len(data)

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def _members(name: str, files: list[KitFile]) -> list[tuple[str, KitFile | None]]:
    entries: dict[str, KitFile | None] = {name: None}
    for f in files:
        parts = f.arcname.split("/")
        for i in range(1, len(parts)):
            entries.setdefault("/".join([name, *parts[:i]]), None)
        entries[f"{name}/{f.arcname}"] = f
    return sorted(entries.items())


class _Exact(io.RawIOBase):
    """Read a kit file while hashing it: a file changed since it was hashed fails the pack."""

    def __init__(self, f: BinaryIO, kit_file: KitFile) -> None:
        self._f = f
        self._kit_file = kit_file
        self._h = hashlib.sha256()
        self._n = 0

    def read(self, size: int = -1) -> bytes:
        try:
            data = self._f.read(size)
        except OSError as exc:
            raise BadInput(
                f"{self._kit_file.source}: cannot read ({exc.strerror or exc})"
            ) from None
        self._h.update(data)
        self._n += len(data)
        if self._n >= self._kit_file.size and self._h.hexdigest() != self._kit_file.sha256:
            raise BadInput(f"{self._kit_file.source}: changed while the kit was being packed")
        return data


def _split(archive: Path, output: Path, size: int, scratch: Path) -> list[tuple[Path, Path]]:
    """Cut `archive` into parts of at most `size` bytes (at least one part) in `scratch`,
    streaming; returns (part in scratch, final name OUTPUT.partNNN) pairs."""
    total = archive.stat().st_size
    count = max(1, -(-total // size))
    parts = []
    with archive.open("rb") as f:
        for index in range(count):
            final = output.with_name(f"{output.name}{PART}{index:03d}")
            part = scratch / final.name
            with part.open("wb") as out:
                left = size
                while left > 0:
                    block = f.read(min(CHUNK, left))
                    if not block:
                        break
                    out.write(block)
                    left -= len(block)
                out.flush()
                os.fsync(out.fileno())
            parts.append((part, final))
    return parts
