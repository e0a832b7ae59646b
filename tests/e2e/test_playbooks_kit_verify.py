"""site.yml's first play for real: the kit verified on the controller before any host is touched.

ansible-playbook runs site.yml against localhost with a tag no deploy role has, so only the
`always`-tagged kit_verify play (and the deploy play's fact gathering, when it is reached) can
run: a refused kit must stop the run before the deploy play starts. The kit is a real signed
kit from tests/trustkit.py, unpacked as the operator would; CPython 2.7.18 (CentOS 7's
/usr/bin/python stand-in) runs the modules, as in tests/e2e/test_playbooks_site.py.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bundler.fs import sums
from bundler.kit import release
from bundler.kit.signing import minisign_key_id
from bundler.models import manifest
from tests.e2e.playbookrun import PlayResult, run_playbook, write_inventory
from tests.fakeindex import FakeIndex
from tests.trustkit import Side, add_packages, bundler, connected_side

pytestmark = [pytest.mark.e2e]

NO_DEPLOY_TAG = ["kit-verify-only"]
"""No role of site.yml has this tag: only `always` tasks (kit_verify) run."""


@pytest.fixture(scope="module")
def side(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Side]:
    root = tmp_path_factory.mktemp("trust-e2e")
    with FakeIndex(root / "fakeindex") as fake:
        add_packages(fake)
        yield connected_side(root / "connected", fake)


def _unpacked(side: Side, dest: Path) -> Path:
    with tarfile.open(side.kit) as tar:
        tar.extractall(dest, filter="data")
    return dest / "kit-app"


def _play(
    tmp: Path, python27: Path, kit_dir: Path, *, check: bool = False, **more: Any
) -> PlayResult:
    tmp.mkdir(parents=True, exist_ok=True)
    inventory = write_inventory(tmp / "hosts.ini", python27)
    extra = {"kit_dir": str(kit_dir), **more}
    return run_playbook(inventory, extra, tmp / "run", tags=NO_DEPLOY_TAG, timeout=300, check=check)


DEPLOY_PLAY = "PLAY [Deploy the airgap kit.]"


def _roles(result: PlayResult) -> set[str | None]:
    """The roles of every task that ran (None: a play's own task, e.g. fact gathering)."""
    return {task["task"]["role"] for play in result.data.get("plays", []) for task in play["tasks"]}


def _trust(result: PlayResult) -> str:
    return str(result.data.get("global_custom_stats", {}).get("kit_trust", ""))


def test_signed_kit_passes_and_the_signer_is_recorded(
    side: Side, tmp_path: Path, python27: Path
) -> None:
    kit_dir = _unpacked(side, tmp_path / "far")
    result = _play(tmp_path, python27, kit_dir, kit_signing_key=str(side.pub_a))
    assert result.rc == 0, result.describe()
    assert _trust(result).startswith(f"signed by OpenPGP key {side.fpr_a}"), result.data
    assert result.changed_tasks() == []
    assert DEPLOY_PLAY in result.stdout and None in _roles(result)  # the deploy play was reached
    homes = [r["path"] for n, r in result.task_results() if n == "Make a throw-away keyring."]
    assert homes and not Path(homes[0]).exists()


def test_rewritten_kit_is_refused_before_any_host(
    side: Side, tmp_path: Path, python27: Path
) -> None:
    """A wheel, the lock, the manifest, the wheelhouse's and the kit's SHA256SUMS rewritten
    consistently: sha256sum -c passes, the signature does not, and no host is touched."""
    kit_dir = _unpacked(side, tmp_path / "far")
    wh = kit_dir / "wheelhouse"
    tiny = next(wh.glob("tiny-*.whl"))
    tiny.write_bytes(tiny.read_bytes() + b"\0")
    sha = hashlib.sha256(tiny.read_bytes()).hexdigest()
    data = manifest.load(wh)
    old = next(p["sha256"] for p in data["packages"] if p["name"] == "tiny")
    for p in data["packages"]:
        if p["name"] == "tiny":
            p.update(sha256=sha, size=tiny.stat().st_size)
    manifest.save(wh, data)
    lock = wh / "requirements.lock"
    lock.write_text(lock.read_text().replace(old, sha))
    sums.write_directory(wh)
    rows = [
        (p.relative_to(kit_dir).as_posix(), hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(kit_dir.rglob("*"))
        if p.is_file() and not (p.parent == kit_dir and p.name.startswith("SHA256SUMS"))
    ]
    (kit_dir / "SHA256SUMS").write_text(sums.render(rows))

    result = _play(tmp_path, python27, kit_dir, kit_signing_key=str(side.pub_a))
    assert result.rc != 0, result.describe()
    failures = result.failures()
    assert any("BAD signature: SHA256SUMS changed after it was signed" in f for f in failures), (
        result.describe()
    )
    assert DEPLOY_PLAY not in result.stdout and _roles(result) == {"kit_verify"}
    # an operator's dry run (--check) is refused the same way: the probes run in check mode too
    dry = _play(tmp_path / "check", python27, kit_dir, kit_signing_key=str(side.pub_a), check=True)
    assert dry.rc != 0, dry.describe()
    assert any("BAD signature" in f for f in dry.failures()), dry.describe()
    assert DEPLOY_PLAY not in dry.stdout


def test_kit_signed_by_another_key_is_refused_naming_it(
    side: Side, tmp_path: Path, python27: Path
) -> None:
    kit_dir = _unpacked(side, tmp_path / "far")
    result = _play(tmp_path, python27, kit_dir, kit_signing_key=str(side.pub_b))
    assert result.rc != 0
    assert any(
        f"SHA256SUMS.asc is signed by key {side.fpr_a[-16:]}, which is not the trusted "
        f"kit_signing_key {side.pub_b}" in f
        for f in result.failures()
    ), result.describe()
    assert DEPLOY_PLAY not in result.stdout and _roles(result) == {"kit_verify"}


def test_unsigned_kit_needs_kit_allow_unsigned_and_is_warned_about(
    side: Side, tmp_path: Path, python27: Path
) -> None:
    kit_dir = _unpacked(side, tmp_path / "far")
    for signature in kit_dir.glob("SHA256SUMS.*"):
        signature.unlink()
    refused = _play(tmp_path / "a", python27, kit_dir)
    assert refused.rc != 0
    assert any("kit_signing_key is not set" in f for f in refused.failures()), refused.describe()
    missing = _play(tmp_path / "b", python27, kit_dir, kit_signing_key=str(side.pub_a))
    assert missing.rc != 0
    assert any("SHA256SUMS.asc is missing" in f for f in missing.failures()), missing.describe()
    state = tmp_path / "accepted.json"  # never written for a kit whose origin was not checked
    allowed = _play(tmp_path / "c", python27, kit_dir, kit_allow_unsigned=True,
                    kit_verify_state_file=str(state))  # fmt: skip
    assert allowed.rc == 0, allowed.describe()
    assert not state.exists() and "is not written for an unsigned kit" in allowed.stdout
    assert _trust(allowed).startswith("WARNING: UNSIGNED kit accepted"), allowed.data
    assert "CUSTOM STATS" in allowed.stdout and "UNSIGNED kit accepted" in allowed.stdout
    # a database dated after it was read (a future `modified`) does not look fresh
    findings = kit_dir / "wheelhouse" / "policy-findings.json"
    doc = json.loads(findings.read_text())
    doc["database"]["date"] = "2099-01-01T00:00:00Z"
    findings.write_text(json.dumps(doc))
    rows = [
        (p.relative_to(kit_dir).as_posix(), hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(kit_dir.rglob("*"))
        if p.is_file() and p != kit_dir / "SHA256SUMS"
    ]
    (kit_dir / "SHA256SUMS").write_text(sums.render(rows))
    future = _play(tmp_path / "e", python27, kit_dir, kit_allow_unsigned=True,
                   kit_verify_max_vuln_db_age_days=3650)  # fmt: skip
    assert future.rc != 0 and DEPLOY_PLAY not in future.stdout
    assert any("2099-01-01T00:00:00Z is after it was read" in f for f in future.failures()), (
        future.describe()
    )
    (kit_dir / "wheelhouse" / "extra.whl").write_bytes(b"added on the way")
    (kit_dir / "sources").mkdir(exist_ok=True)
    shutil.copy(kit_dir / "README.txt", kit_dir / "sources" / "stowaway.txt")
    added = _play(tmp_path / "d", python27, kit_dir, kit_allow_unsigned=True)
    assert added.rc != 0
    assert any(
        "not listed in" in f and "sources/stowaway.txt" in f and "wheelhouse/extra.whl" in f
        for f in added.failures()
    ), added.describe()


def test_minisign_signed_kit_passes_and_a_foreign_minisign_key_is_refused(
    side: Side, tmp_path: Path, python27: Path
) -> None:
    kit = tmp_path / "out" / "kit-app.tar.gz"
    assert side.pack(kit, "--sign", side.mini_key).exit_code == 0
    with tarfile.open(kit) as tar:
        tar.extractall(tmp_path / "far", filter="data")
    kit_dir = tmp_path / "far" / "kit-app"
    ok = _play(tmp_path / "ok", python27, kit_dir, kit_signing_key=str(side.mini_pub))
    assert ok.rc == 0, ok.describe()
    assert _trust(ok).startswith(f"signed by minisign key {minisign_key_id(side.mini_pub)}")
    other = tmp_path / "other"
    assert bundler("keygen", other, "--format", "minisign").exit_code == 0
    refused = _play(tmp_path / "no", python27, kit_dir, kit_signing_key=f"{other}.pub")
    assert refused.rc != 0
    assert any(
        "SHA256SUMS.minisig does not verify" in f and minisign_key_id(side.mini_pub) in f
        for f in refused.failures()
    ), refused.describe()
    assert DEPLOY_PLAY not in refused.stdout


def test_a_kit_signed_by_a_revoked_key_is_refused(
    side: Side, tmp_path: Path, python27: Path, request: pytest.FixtureRequest
) -> None:
    """gpg exits 0 with VALIDSIG for a revoked key's good signature: the role asks GOODSIG."""
    kit_dir = _unpacked(side, tmp_path / "far")
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    request.addfinalizer(  # stop the agent the key generation started
        lambda: subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)
    )
    gpg = ["gpg", "--homedir", str(home), "--batch", "--yes", "--pinentry-mode", "loopback",
           "--passphrase", ""]  # fmt: skip
    subprocess.run([*gpg, "--quick-generate-key", "Gone <g@example.org>", "ed25519", "sign",
                    "never"], check=True, capture_output=True)  # fmt: skip
    subprocess.run([*gpg, "--armor", "--detach-sign", "-o", str(kit_dir / "SHA256SUMS.asc"),
                    str(kit_dir / "SHA256SUMS")], check=True, capture_output=True)  # fmt: skip
    (revocation,) = (home / "openpgp-revocs.d").glob("*.rev")
    cert = tmp_path / "revocation.asc"
    cert.write_text(revocation.read_text().replace(":-----BEGIN", "-----BEGIN"))
    subprocess.run([*gpg, "--import", str(cert)], check=True, capture_output=True)
    public = tmp_path / "revoked.pub.asc"
    public.write_bytes(subprocess.run([*gpg, "--armor", "--export"], check=True,
                                      capture_output=True).stdout)  # fmt: skip
    result = _play(tmp_path, python27, kit_dir, kit_signing_key=str(public))
    assert result.rc != 0
    assert any("made by an expired or revoked key" in f for f in result.failures()), (
        result.describe()
    )
    assert DEPLOY_PLAY not in result.stdout and _roles(result) == {"kit_verify"}


def test_an_older_kit_and_a_stale_vulnerability_database_are_refused(
    side: Side, tmp_path: Path, python27: Path
) -> None:
    """kit_verify's freshness checks: the signed kit-release.json against
    kit_verify_min_sequence and the state file of the last kit accepted on the controller
    (written by the first run), and the carried OSV snapshot's age."""
    kit_dir = _unpacked(side, tmp_path / "far")
    sequence = json.loads((kit_dir / "kit-release.json").read_text())["sequence"]
    state = tmp_path / "accepted.json"
    key = {"kit_signing_key": str(side.pub_a), "kit_verify_state_file": str(state)}
    first = _play(tmp_path / "1", python27, kit_dir, kit_verify_max_vuln_db_age_days=3650, **key)
    assert first.rc == 0, first.describe()
    recorded = json.loads(state.read_text())
    assert recorded["accepted"]["sequence"] == sequence
    accepted = release.read_state(state)  # the same state file as bundler verify --state
    assert accepted is not None and accepted.release.sequence == sequence
    assert (
        recorded["accepted"]["sums_sha256"]
        == hashlib.sha256((kit_dir / "SHA256SUMS").read_bytes()).hexdigest()
    )
    low = _play(tmp_path / "2", python27, kit_dir, kit_verify_min_sequence=sequence + 1, **key)
    assert low.rc != 0 and DEPLOY_PLAY not in low.stdout
    assert any(f"is below kit_verify_min_sequence {sequence + 1}" in f for f in low.failures())
    recorded["accepted"]["sequence"] = sequence + 1  # a newer kit was accepted since
    state.write_text(json.dumps(recorded))
    older = _play(tmp_path / "3", python27, kit_dir, **key)
    assert older.rc != 0 and DEPLOY_PLAY not in older.stdout
    assert any(
        f"sequence {sequence} is older than that of the last kit accepted here" in f
        for f in older.failures()
    ), older.describe()
    # --allow-downgrade passes the state check; the database (newest advisory 2026-11-21,
    # tests/fakeosv.py) is older than a day
    stale = _play(tmp_path / "4", python27, kit_dir, kit_verify_allow_downgrade=True,
                  kit_verify_max_vuln_db_age_days=1, **key)  # fmt: skip
    assert stale.rc != 0 and DEPLOY_PLAY not in stale.stdout
    assert any(
        "the vulnerability database (osv-export, current as of 2026-11-21) is" in f
        and "over kit_verify_max_vuln_db_age_days 1" in f
        for f in stale.failures()
    ), stale.describe()
    assert json.loads(state.read_text())["accepted"]["sequence"] == sequence + 1


def test_any_unlisted_file_is_refused_and_group_vars_cannot_weaken_the_check(
    side: Side, tmp_path: Path, python27: Path
) -> None:
    """A file added anywhere in the kit (not only under wheelhouse/ or sources/) is refused,
    and the operator's group_vars cannot swap the checking tool (role vars outrank them)."""
    kit_dir = _unpacked(side, tmp_path / "far")
    key = {"kit_signing_key": str(side.pub_a)}
    added = kit_dir / "playbooks" / "group_vars" / "all" / "zz.yml"
    added.parent.mkdir(parents=True)
    added.write_text('kit_verify_sha256sum: "true"\n')
    result = _play(tmp_path / "a", python27, kit_dir, **key)
    assert result.rc != 0 and DEPLOY_PLAY not in result.stdout, result.describe()
    assert any(
        "not listed in" in f and "playbooks/group_vars/all/zz.yml" in f for f in result.failures()
    ), result.describe()
    added.unlink()
    tiny = next((kit_dir / "wheelhouse").glob("tiny-*.whl"))
    tiny.write_bytes(tiny.read_bytes() + b"TROJAN")
    group_vars = tmp_path / "b" / "group_vars"
    group_vars.mkdir(parents=True)
    (group_vars / "all.yml").write_text('kit_verify_sha256sum: "true"\n')
    weakened = _play(tmp_path / "b", python27, kit_dir, **key)
    assert weakened.rc != 0 and DEPLOY_PLAY not in weakened.stdout, weakened.describe()
    assert any("does not match its SHA256SUMS" in f for f in weakened.failures())
