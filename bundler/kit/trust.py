"""What `bundler verify` checks beyond integrity: who signed the kit, and the policy gate.

- Signatures (`--key PUBKEY`, bundler.kit.signing): inside the kit, `SHA256SUMS.asc` (or
  `.minisig`) over SHA256SUMS; beside an archive, `kit-NAME.tar.gz.sha256.asc` over the sidecar.
  With keys given, each format's signatures must be present and made by one of its keys; a
  missing, bad or foreign signature is a problem naming the file (and the foreign key id).
  Without keys, a signed kit gets a note that the signature was not checked.
- The wheelhouse's own SHA256SUMS (what install.sh checks on the host) must hold too.
- The policy gate (`--policy FILE`): the wheelhouse's carried findings snapshot and manifest
  re-evaluated offline as of `today` (an ignore that has expired since fetch is a violation),
  and the size budget against the kit's bytes.
- Freshness (`--min-sequence`, `--not-before`, `--state`, `--allow-downgrade`): the kit's
  signed release record against what this side requires and last accepted
  (bundler.kit.release); `verify.verify` records a kit that passed in the state file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from bundler.errors import BadInput
from bundler.fs import sums
from bundler.fs.hashing import sha256_file
from bundler.gate import snapshot as gate_snapshot
from bundler.gate.evaluate import GateResult, evaluate_carried
from bundler.gate.policy import Policy
from bundler.kit import release as release_mod
from bundler.kit import signing
from bundler.models import manifest as manifest_mod
from bundler.wheelhouse import model

SUMS = sums.FILENAME


@dataclass(frozen=True)
class Trust:
    """What the far side trusts: public keys and a policy (both optional)."""

    keys: tuple[signing.Key, ...] = ()
    policy: Policy | None = None
    today: dt.date | None = None
    """The date the gate is evaluated on (default: today, UTC)."""
    freshness: release_mod.Freshness = field(default_factory=release_mod.Freshness)
    """What the kit's release record must satisfy (default: nothing)."""

    def by_format(self) -> dict[str, list[signing.Key]]:
        out: dict[str, list[signing.Key]] = {}
        for key in self.keys:
            out.setdefault(key.format, []).append(key)
        return out


NO_TRUST = Trust()
"""No keys, no policy: integrity checks only."""


@dataclass
class Findings:
    """Problems and notes for the verify report, plus who signed and the gate's verdict."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    signers: list[str] = field(default_factory=list)
    gate: GateResult | None = None
    release: release_mod.Release | None = None
    """The kit's release record (None: it carries none)."""
    sums_sha256: str | None = None
    """sha256 of the kit's SHA256SUMS (what a state file records)."""


def check_kit_directory(directory: Path, trust: Trust, kit_bytes: int | None) -> Findings:
    """An unpacked kit: SHA256SUMS signatures, the wheelhouse's sums, the gate."""
    found = Findings()
    _check_signatures(directory / SUMS, trust, found)
    _check_release(directory, trust, found)
    wheelhouse = directory / "wheelhouse"
    if wheelhouse.is_dir():
        _check_wheelhouse(wheelhouse, "wheelhouse/", trust, kit_bytes, "the kit", found)
    return found


def _check_release(directory: Path, trust: Trust, found: Findings) -> None:
    """The kit's release record against `trust.freshness` (a malformed one is a problem)."""
    try:
        found.release = release_mod.read(directory)
    except BadInput as exc:
        found.problems.append(str(exc))
        return
    if (directory / SUMS).is_file():
        found.sums_sha256 = sha256_file(directory / SUMS)
    problems, notes = release_mod.check(found.release, trust.freshness, found.sums_sha256 or "")
    found.problems += problems
    found.notes += notes
    if found.release is not None:
        found.notes.append(f"release: {found.release.describe()}")


def check_wheelhouse_directory(wheelhouse: Path, trust: Trust) -> Findings:
    """A bare wheelhouse: its sums and the gate (it carries no signature)."""
    found = Findings()
    if trust.freshness.active:
        found.problems.append(
            f"{wheelhouse.name}: a bare wheelhouse carries no release record (verify the kit)"
        )
    if trust.keys:
        found.problems.append(
            f"{wheelhouse.name}: a bare wheelhouse carries no signature (verify the signed kit)"
        )
    size = sum(p.stat().st_size for p in wheelhouse.iterdir() if p.is_file())
    _check_wheelhouse(wheelhouse, "", trust, size, "the wheelhouse", found)
    return found


def missing_sums(prefix: str) -> str:
    """The problem of a wheelhouse without SHA256SUMS whose manifest is not schema_version 1:
    every bundler since writes one (last, over every file), and install.sh refuses to install
    without it; only a schema 1 wheelhouse (an older bundler's) may lack it."""
    return (
        f"{prefix}{SUMS}: missing (the manifest is not schema_version 1, an older bundler's: "
        "install.sh refuses to install without it; re-fetch, or restore the file)"
    )


# What every install.sh that checks SHA256SUMS says without it (bundler's template since the
# schema-1 wheelhouses of 93c44e8, #16 second review finding 9).
SUMS_CHECK_MARKER = "SHA256SUMS is missing: the wheelhouse cannot be checked"


def install_sh_checks_sums(wheelhouse: Path) -> bool:
    """Whether WHEELHOUSE's install.sh refuses to install without SHA256SUMS (its text holds
    `SUMS_CHECK_MARKER`); False without a readable install.sh."""
    try:
        text = (wheelhouse / "install.sh").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return SUMS_CHECK_MARKER in text


def check_archive_sidecar(sidecar: Path, trust: Trust) -> Findings:
    """The signature of the archive's .sha256 sidecar (its hash is checked by verify)."""
    found = Findings()
    if trust.keys and not sidecar.is_file():
        found.problems.append(
            f"{sidecar.name}: missing beside the archive, so its signature cannot be checked"
        )
        return found
    _check_signatures(sidecar, trust, found)
    return found


def _check_signatures(subject: Path, trust: Trust, found: Findings) -> None:
    """The detached signatures of `subject` (subject + .asc / .minisig) against the keys."""
    base = subject
    present = [s for s in signing.SUFFIX.values() if base.with_name(base.name + s).is_file()]
    keys = trust.by_format()
    if not keys:
        if present:
            found.notes.append(
                f"{base.name} is signed ({', '.join(base.name + s for s in present)}): "
                "give --key PUBKEY to check the signature"
            )
        return
    for fmt, fmt_keys in sorted(keys.items()):
        signature = base.with_name(base.name + signing.SUFFIX[fmt])
        try:
            signer = signing.verify_file(fmt_keys, subject, signature)
        except signing.SignatureError as exc:
            found.problems.append(str(exc))
            continue
        if signer not in found.signers:
            found.signers.append(signer)


def _check_wheelhouse(
    wheelhouse: Path,
    prefix: str,
    trust: Trust,
    size: int | None,
    measured: str,
    found: Findings,
) -> None:
    if (wheelhouse / SUMS).is_file():
        found.problems += sums.check_directory(wheelhouse, prefix)
    elif manifest_mod.declared_version(wheelhouse) == 1 and not install_sh_checks_sums(wheelhouse):
        found.notes.append(f"{prefix}{SUMS}: none (fetched by an older bundler)")
    elif manifest_mod.declared_version(wheelhouse) == 1:
        found.problems.append(
            f"{prefix}{SUMS}: missing, and this wheelhouse's install.sh checks it (it refuses to "
            "install without it); re-fetch, or restore the file"
        )
    else:
        found.problems.append(missing_sums(prefix))
    if trust.policy is None and not (wheelhouse / gate_snapshot.FILENAME).is_file():
        return  # no gate: neither a policy given nor one carried
    try:  # without --policy, the policy carried in the findings (README: "Trust across the gap")
        # every target's packages with their licenses (a several-target wheelhouse's top
        # manifest lists the pool without them)
        opened = model.open_wheelhouse(wheelhouse)
        manifest = opened.combined().data
        carried = gate_snapshot.read(wheelhouse)
    except BadInput as exc:
        found.problems.append(f"policy: {exc}")
        return
    today = trust.today or dt.datetime.now(dt.timezone.utc).date()
    # several targets: each finding names its targets, as fetch --policy words it
    targets = {v.name: v.manifest.data.get("packages", []) for v in opened.targets}
    gate = evaluate_carried(trust.policy, manifest, carried, today, size, measured, targets)
    found.gate = gate
    if gate is not None:
        found.problems += [f"policy: {v}" for v in gate.violations]
