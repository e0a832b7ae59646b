"""Trust across the gap, through the real CLI: signed kits and the policy gate.

One connected side per module (tests/trustkit.py: keygen, fetch --policy --vuln-db against the
fake index and the OSV export of tests/fakeosv.py, pack --sign). The far side is `bundler
verify` and, by hand, Debian's gpg and coreutils' sha256sum, in a private GNUPGHOME.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from bundler.fs import sums
from bundler.kit import signing
from bundler.models import manifest
from bundler.wheelhouse import lockfile
from tests.fakeindex import FakeIndex, build_wheel
from tests.fakeosv import NEWEST_PYPI, OsvServer
from tests.integration.test_report_chromium import read_png
from tests.trustkit import EXPIRES, TODAY, Side, add_packages, bundler, connected_side, policy_text

RED = (0xC5, 0x30, 0x30)  # .verdict.fail in report.html.j2


@pytest.fixture(scope="module")
def side(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Side]:
    root = tmp_path_factory.mktemp("trust")
    with FakeIndex(root / "fakeindex") as fake:
        add_packages(fake)
        yield connected_side(root / "connected", fake)


def _unpack(kit: Path, dest: Path) -> Path:
    with tarfile.open(kit) as tar:
        tar.extractall(dest, filter="data")
    return dest / kit.name.removesuffix(".tar.gz")


def _gpg(
    home: Path, *args: str | Path, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", *map(str, args)],
        capture_output=True, text=True, cwd=cwd,
    )  # fmt: skip


# -- signatures -----------------------------------------------------------------------------------


def test_signed_kit_verifies_with_its_key_and_by_hand(side: Side, tmp_path: Path) -> None:
    verified = bundler("verify", side.kit, "--key", side.pub_a)
    assert verified.exit_code == 0, verified.output
    assert f"signature: good, by trusted key {side.fpr_a}" in verified.output
    # by hand, as README.txt tells the far side: a keyring holding only the trusted key
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    try:
        assert _gpg(home, "--import", side.pub_a).returncode == 0
        out = side.kit.parent
        sidecar = _gpg(home, "--verify", f"{side.kit.name}.sha256.asc", f"{side.kit.name}.sha256",
                       cwd=out)  # fmt: skip
        assert sidecar.returncode == 0, sidecar.stderr
        assert 'Good signature from "Kit A <a@example.org>"' in sidecar.stderr
        check = subprocess.run(["sha256sum", "-c", f"{side.kit.name}.sha256"], cwd=out)
        assert check.returncode == 0
        kit_dir = _unpack(side.kit, tmp_path / "far")
        inner = _gpg(home, "--verify", "SHA256SUMS.asc", "SHA256SUMS", cwd=kit_dir)
        assert inner.returncode == 0 and side.fpr_a in inner.stderr.replace(" ", ""), inner.stderr
        every = subprocess.run(
            ["sha256sum", "--quiet", "--strict", "-c", "SHA256SUMS"], cwd=kit_dir
        )
        assert every.returncode == 0
        wheelhouse = subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"],
                                    cwd=kit_dir / "wheelhouse")  # fmt: skip
        assert wheelhouse.returncode == 0
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)
    readme = (kit_dir / "README.txt").read_text()
    assert "gpg2 --verify SHA256SUMS.asc SHA256SUMS && sha256sum -c SHA256SUMS" in readme
    assert f"gpg2 --verify {side.kit.name}.sha256.asc {side.kit.name}.sha256" in readme
    assert "kit_signing_key=/path/to/kit-signing.pub.asc" in readme
    assert (
        "- GHSA-lib1-crit-0001 in lib 1.0: (critical) ignored until "
        f"{EXPIRES}: lib's vulnerable parser is never called by the payload\n"
    ) in readme
    assert "bundler verify kit-app.tar.gz --key PUBKEY --policy policy.toml" in readme
    # the replay defence is told to the far side (the option forms exist: the test below)
    assert "verify kit-app.tar.gz --key PUBKEY --state /var/lib/airgap-kit/accepted.json" in readme
    assert "-e kit_verify_state_file=/var/lib/airgap-kit/accepted.json" in readme


def test_kit_signed_by_another_key_is_refused_naming_the_key(side: Side) -> None:
    refused = bundler("verify", side.kit, "--key", side.pub_b)
    assert refused.exit_code == 1, refused.output
    assert (
        f"SHA256SUMS.asc: signed by key {side.fpr_a}, which is not a trusted key "
        f"(trusted: {side.fpr_b[-16:]})" in refused.output
    )
    assert f"kit-app.tar.gz.sha256.asc: signed by key {side.fpr_a}" in refused.output


def test_consistent_rewrite_passes_plain_verify_but_not_the_signature(
    side: Side, tmp_path: Path
) -> None:
    """Whoever touches the media rewrites a wheel, the lock, the manifest, both SHA256SUMS and
    the archive's sidecar consistently: integrity checks pass, the signature does not."""
    kit_dir = _unpack(side.kit, tmp_path / "media")
    wh = kit_dir / "wheelhouse"
    evil = build_wheel(tmp_path / "evil", "tiny", "0.3", summary="a replaced wheel", payload=64)
    shutil.copy(evil, wh / evil.name)
    sha = hashlib.sha256(evil.read_bytes()).hexdigest()
    data = manifest.load(wh)
    for p in data["packages"]:
        if p["name"] == "tiny":
            p.update(sha256=sha, size=evil.stat().st_size)
    manifest.save(wh, data)
    entries = [
        lockfile.LockEntry(e.name, e.version, (sha,) if e.name == "tiny" else e.hashes, e.via)
        for e in lockfile.read(wh / "requirements.lock")
    ]
    lockfile.write(wh / "requirements.lock", entries)
    sums.write_directory(wh)
    rows = [
        (p.relative_to(kit_dir).as_posix(), hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(kit_dir.rglob("*"))
        if p.is_file() and not (p.parent == kit_dir and p.name.startswith("SHA256SUMS"))
    ]
    (kit_dir / "SHA256SUMS").write_text(sums.render(rows))
    forged = tmp_path / "forged" / "kit-app.tar.gz"
    forged.parent.mkdir()
    with tarfile.open(forged, "w:gz") as tar:
        tar.add(kit_dir, arcname=kit_dir.name)
    digest = hashlib.sha256(forged.read_bytes()).hexdigest()
    (forged.parent / "kit-app.tar.gz.sha256").write_text(f"{digest}  kit-app.tar.gz\n")
    shutil.copy(side.kit.parent / "kit-app.tar.gz.sha256.asc", forged.parent)

    plain = bundler("verify", forged)
    assert plain.exit_code == 0, plain.output  # the threat: integrity alone cannot tell
    signed = bundler("verify", forged, "--key", side.pub_a)
    assert signed.exit_code == 1, signed.output
    assert "SHA256SUMS.asc: BAD signature: SHA256SUMS changed after it was signed" in signed.output
    assert "kit-app.tar.gz.sha256.asc: BAD signature" in signed.output
    unpacked = bundler("verify", kit_dir, "--key", side.pub_a)
    assert unpacked.exit_code == 1 and "SHA256SUMS.asc: BAD signature" in unpacked.output


def test_a_renamed_signed_kit_is_refused_naming_both_names(side: Side, tmp_path: Path) -> None:
    """The signed sidecar names the archive it was packed as: a copy renamed with its sidecars
    (kit-app -> kit-app-2) still matches every hash and signature, and is refused; the same
    files moved to another folder under their names verify."""
    moved, renamed = tmp_path / "moved", tmp_path / "renamed"
    moved.mkdir(), renamed.mkdir()
    for suffix in ("", ".sha256", ".sha256.asc"):
        shutil.copy(side.kit.parent / f"kit-app.tar.gz{suffix}", moved)
        shutil.copy(side.kit.parent / f"kit-app.tar.gz{suffix}",
                    renamed / f"kit-app-2.tar.gz{suffix}")  # fmt: skip
    assert bundler("verify", moved / "kit-app.tar.gz", "--key", side.pub_a).exit_code == 0
    refused = bundler("verify", renamed / "kit-app-2.tar.gz", "--key", side.pub_a)
    assert refused.exit_code == 1, refused.output
    assert (
        "kit-app-2.tar.gz: its kit-app-2.tar.gz.sha256 names kit-app.tar.gz: the archive was "
        "renamed after it was packed (and signed) as kit-app.tar.gz" in refused.output
    )
    assert "signature: good" not in refused.output
    assert bundler("verify", renamed / "kit-app-2.tar.gz").exit_code == 1  # unsigned check too


def test_an_older_signed_kit_is_refused_after_a_newer_one(
    side: Side, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rollback protection (TUF's version rule, apt's Date): the signed kit-release.json carries
    the sequence and creation time; a state file on the far side remembers the last kit
    accepted and refuses an older one unless --allow-downgrade."""
    old, new, again = (tmp_path / d / "kit-app.tar.gz" for d in ("old", "new", "again"))
    for kit, sequence in ((old, "5"), (new, "7"), (again, "7")):
        if kit == again:  # created at another time: another SHA256SUMS
            monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
        packed = side.pack(kit, "--sign", side.key_a, "--sequence", sequence)
        assert packed.exit_code == 0, packed.output
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    state = tmp_path / "far" / "accepted.json"
    state.parent.mkdir()

    def verify(kit: Path, *more: str | Path) -> Result:
        return bundler("verify", kit, "--key", side.pub_a, "--state", state, *more)

    first = verify(new)
    assert first.exit_code == 0, first.output
    assert "release: kit-app sequence 7, created " in first.output
    assert json.loads(state.read_text())["accepted"]["sequence"] == 7
    refused = verify(old)
    assert refused.exit_code == 1, refused.output
    assert "kit-release.json: kit-app sequence 5, created " in refused.output
    assert "is older than the last kit accepted here (kit-app sequence 7" in refused.output
    allowed = verify(old, "--allow-downgrade")
    assert allowed.exit_code == 0 and "(accepted: --allow-downgrade)" in allowed.output
    assert json.loads(state.read_text())["accepted"]["sequence"] == 7  # the bar stays
    assert f"{state} not changed" in allowed.output
    for command in ("verify", "unpack"):  # a kit whose origin was not checked is never recorded
        keyless = bundler(command, new, "--state", tmp_path / "far" / "keyless.json")
        assert keyless.exit_code == 2 and "needs --key" in keyless.output, keyless.output
    assert not (tmp_path / "far" / "keyless.json").exists()
    reused = verify(again)  # another kit (created later) claiming sequence 7
    assert reused.exit_code == 1 and "a kit that reuses a sequence is refused" in reused.output
    assert verify(new).exit_code == 0  # the same kit again is fine
    unpacked = bundler("unpack", old, "-o", tmp_path / "u", "--key", side.pub_a, "--state", state)
    assert unpacked.exit_code == 1 and not (tmp_path / "u").exists()  # unpack checks it too
    other = tmp_path / "far" / "other.json"
    unpacked = bundler("unpack", new, "-o", tmp_path / "u", "--key", side.pub_a, "--state", other)
    assert unpacked.exit_code == 0 and json.loads(other.read_text())["accepted"]["sequence"] == 7
    low = bundler("verify", old, "--key", side.pub_a, "--min-sequence", "6")
    assert low.exit_code == 1 and "sequence 5 is below --min-sequence 6" in low.output
    tomorrow = (dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=1)).isoformat()
    late = bundler("verify", new, "--not-before", tomorrow)
    assert late.exit_code == 1 and f"before --not-before {tomorrow}T00:00:00Z" in late.output
    unsigned = tmp_path / "unsigned" / "kit-app.tar.gz"
    assert side.pack(unsigned).exit_code == 0
    with tarfile.open(unsigned) as tar:  # unsigned, no --sequence: reproducible as before
        assert not [n for n in tar.getnames() if n.endswith("/kit-release.json")]
    missing = bundler("verify", unsigned, "--min-sequence", "0")
    assert missing.exit_code == 1 and "kit-release.json: missing" in missing.output


def test_unsigned_kit_is_refused_when_a_key_is_given(side: Side, tmp_path: Path) -> None:
    kit = tmp_path / "kit-app.tar.gz"
    assert side.pack(kit).exit_code == 0
    assert bundler("verify", kit).exit_code == 0
    refused = bundler("verify", kit, "--key", side.pub_a)
    assert refused.exit_code == 1
    assert "SHA256SUMS.asc: missing (the kit is not signed for this key)" in refused.output
    assert "kit-app.tar.gz.sha256.asc: missing" in refused.output


def test_minisign_signature_round_trip(side: Side, tmp_path: Path) -> None:
    kit = tmp_path / "kit-app.tar.gz"
    packed = side.pack(kit, "--sign", side.mini_key, "--sign", side.key_a)
    assert packed.exit_code == 0, packed.output
    ok = bundler("verify", kit, "--key", side.mini_pub, "--key", side.pub_a)
    assert ok.exit_code == 0, ok.output
    by_hand = subprocess.run(
        ["minisign", "-V", "-p", str(side.mini_pub), "-m", f"{kit}.sha256"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert by_hand.returncode == 0, by_hand.stderr
    other = tmp_path / "other"
    assert bundler("keygen", other, "--format", "minisign").exit_code == 0
    refused = bundler("verify", kit, "--key", f"{other}.pub")
    assert refused.exit_code == 1
    signer = signing.minisign_key_id(side.mini_pub)
    trusted = signing.minisign_key_id(Path(f"{other}.pub"))
    assert (
        f"SHA256SUMS.minisig: signed by minisign key {signer}, which is not a trusted key "
        f"(trusted: {trusted})"
    ) in refused.output
    only = tmp_path / "only" / "kit-app.tar.gz"  # README.txt of a kit signed by minisign only
    assert side.pack(only, "--sign", side.mini_key).exit_code == 0
    with tarfile.open(only) as tar:
        member = tar.extractfile("kit-app/README.txt")
        assert member is not None
        readme = member.read().decode()
    assert "gpg" not in readme.split("On the other side")[1].split("2. Deploy")[0]
    steps = readme.split("With minisign:")[1]
    assert "sh -c 'cd wheelhouse && sha256sum -c SHA256SUMS'" in steps.split("2. Deploy")[0]
    assert readme.index("A split kit: cat") < readme.index("-m kit-app.tar.gz.sha256")
    broken = tmp_path / "broken.pub"
    broken.write_text("untrusted comment: minisign public key\n!!!\n")
    for bad in (broken, side.mini_key):  # a damaged public key, a secret key
        wrong = bundler("verify", kit, "--key", bad)
        assert wrong.exit_code == 2, wrong.output
        assert f"bundler: error: key {bad}: not a minisign public key" in wrong.output


def test_keys_are_private_and_never_printed(side: Side) -> None:
    assert side.key_a.stat().st_mode & 0o777 == 0o600
    assert side.mini_key.stat().st_mode & 0o777 == 0o600
    secret = side.key_a.read_text()
    made = bundler("keygen", side.root / "keys" / "kit-a")
    assert made.exit_code == 2 and "refusing to overwrite a key" in made.output
    assert secret == side.key_a.read_text()
    packed = side.pack(side.root / "again" / "kit-app.tar.gz", "--sign", side.key_a)
    body = secret.split("\n\n", 1)[1][:60]
    assert body not in packed.output and "PRIVATE KEY" not in packed.output


# -- the policy gate ------------------------------------------------------------------------------


def test_fetch_records_the_findings_snapshot(side: Side) -> None:
    snapshot = json.loads((side.wheelhouse / "policy-findings.json").read_text())
    assert snapshot["database"]["kind"] == "osv-export"
    assert snapshot["database"]["date"] == NEWEST_PYPI
    found = {(v["id"], v["package"]): v for v in snapshot["vulnerabilities"]}
    # the GHSA and its PYSEC twin count once; numpyish's range starts above 1.19.5; the
    # withdrawn and the npm advisories never match
    assert sorted(found) == [("GHSA-lib1-crit-0001", "lib"), ("GHSA-tiny-medi-0002", "tiny")]
    lib = found[("GHSA-lib1-crit-0001", "lib")]
    assert lib["severity"] == "critical" and lib["score"] == 9.8
    assert lib["aliases"] == ["CVE-2026-0001", "PYSEC-2026-1"]
    assert lib["affected"] == ["<1.1"] and lib["fixed"] == ["1.1"]
    tiny = found[("GHSA-tiny-medi-0002", "tiny")]
    assert tiny["severity"] == "medium" and tiny["affected"] == ["==0.1, ==0.2, ==0.3"]
    assert sorted(c["name"] for c in snapshot["checked"]) == ["app", "lib", "numpyish", "tiny"]


def test_fetch_with_violations_exits_1_and_still_writes_the_wheelhouse(
    side: Side, tmp_path: Path
) -> None:
    strict = tmp_path / "strict.toml"
    strict.write_text(policy_text(deny_severity="low", unknown="deny"))
    out = tmp_path / "wh"
    fetched = side.fetch(out, "--policy", strict, "--vuln-db", side.vuln_db)
    assert fetched.exit_code == 1, fetched.output
    lines = [ln for ln in fetched.output.splitlines() if ln.startswith("  - ")]
    assert lines == [
        "  - license: app 1.0: license unknown (no license recorded)",
        "  - license: lib 1.0: license unknown (no license recorded)",
        "  - license: numpyish 1.19.5: license unknown (no license recorded)",
        "  - license: tiny 0.3: license unknown (no license recorded)",
        "  - vulnerability: tiny 0.3: GHSA-tiny-medi-0002 (medium, at or above low; no fixed "
        "version)",
    ]
    assert (out / "manifest.json").is_file() and (out / "policy-findings.json").is_file()
    as_json = side.fetch(out, "--policy", strict, "--vuln-db", side.vuln_db, "--json")
    assert as_json.exit_code == 1
    policy = json.loads(as_json.stdout)["policy"]
    assert policy["vulnerabilities"] == {
        "GHSA-lib1-crit-0001": "ignored",
        "GHSA-tiny-medi-0002": "violation",
    }
    assert len(policy["violations"]) == 5
    # written whole, so it can be inspected; verify re-evaluates the policy it carries (a
    # review found it silently skipped the gate without --policy): intact, but 5 violations
    verified = bundler("verify", out)
    assert verified.exit_code == 1, verified.output
    problems = [line for line in verified.output.splitlines() if line.startswith("  ")]
    assert len(problems) == 5 and all("policy: " in p for p in problems), verified.output


def test_verify_re_evaluates_offline_expired_ignore_and_threshold(side: Side) -> None:
    ok = bundler("verify", side.kit, "--policy", side.policy, "--as-of", str(EXPIRES))
    assert ok.exit_code == 0, ok.output
    assert "0 violation(s), 2 known vulnerabilities (1 ignored)" in ok.output
    later = EXPIRES + dt.timedelta(days=1)
    expired = bundler("verify", side.kit, "--policy", side.policy, "--as-of", str(later))
    assert expired.exit_code == 1, expired.output
    assert (
        "policy: vulnerability: lib 1.0: GHSA-lib1-crit-0001 (critical; fixed in 1.1): its "
        f"ignore expired on {EXPIRES} (lib's vulnerable parser is never called by the payload)"
    ) in expired.output
    # without --policy: the policy the kit carries, on the date --as-of gives (not ignored)
    carried = bundler("verify", side.kit, "--as-of", str(later))
    assert carried.exit_code == 1 and f"ignore expired on {EXPIRES}" in carried.output
    assert bundler("verify", side.kit, "--as-of", str(EXPIRES)).exit_code == 0
    medium = side.root / "medium.toml"
    medium.write_text(policy_text(deny_severity="medium"))
    stricter = bundler("verify", side.kit, "--policy", medium)
    assert stricter.exit_code == 1
    assert "policy: vulnerability: tiny 0.3: GHSA-tiny-medi-0002 (medium, at or above medium" in (
        stricter.output
    )
    tiny_budget = side.root / "tiny-budget.toml"
    tiny_budget.write_text(policy_text().replace('max_kit = "50M"', "max_kit = 1000"))
    too_big = bundler("verify", side.kit, "--policy", tiny_budget)
    assert too_big.exit_code == 1 and "over the budget of 1,000 bytes" in too_big.output
    # an ignore id in another case matches; a failing verify still prints its warnings
    lower = side.root / "lower.toml"
    lower.write_text(
        policy_text(deny_severity="medium").replace('"CVE-2026-0001"', '"cve-2026-0001"')
        + '[[vulnerabilities.ignore]]\nid = "CVE-0000-0000"\nreason = "r"\nexpires = 2099-01-01\n'
    )
    warned = bundler("verify", side.kit, "--policy", lower)
    assert warned.exit_code == 1 and "GHSA-lib1-crit-0001" not in warned.output, warned.output
    assert "warning: ignore CVE-0000-0000 matches no finding in the snapshot" in warned.output


def test_pack_refuses_a_violating_kit_and_leaves_nothing(side: Side, tmp_path: Path) -> None:
    expired = tmp_path / "expired.toml"
    expired.write_text(policy_text(expires=TODAY - dt.timedelta(days=1)))
    kit = tmp_path / "kit-app.tar.gz"
    refused = side.pack(kit, "--policy", expired, "--sign", side.key_a)
    assert refused.exit_code == 1, refused.output
    assert "kit-app: not packed: 1 policy violation(s)" in refused.output
    assert "its ignore expired on" in refused.output
    budget = tmp_path / "budget.toml"
    budget.write_text(policy_text().replace('max_kit = "50M"', 'max_kit = "10K"'))
    over = side.pack(kit, "--policy", budget)
    assert over.exit_code == 1 and "size: the kit is" in over.output
    assert list(tmp_path.glob("kit-app*")) == []


def test_osv_api_gives_the_same_findings_as_the_export(side: Side, tmp_path: Path) -> None:
    with OsvServer(lifetime=60) as osv:
        fetched = side.fetch(tmp_path / "wh", "--policy", side.policy, "--osv-url", osv.url)
    assert fetched.exit_code == 0, fetched.output
    api = json.loads((tmp_path / "wh" / "policy-findings.json").read_text())
    export = json.loads((side.wheelhouse / "policy-findings.json").read_text())
    assert api["database"]["kind"] == "osv-api" and api["database"]["source"] == osv.url
    assert api["vulnerabilities"] == export["vulnerabilities"]
    batches = [r for r in osv.requests if r == "POST /v1/querybatch"]
    assert len(batches) == 2  # lib has two advisories: its second page is asked for
    assert sorted(r for r in osv.requests if r.startswith("GET")) == [
        "GET /v1/vulns/GHSA-lib1-crit-0001",
        "GET /v1/vulns/GHSA-tiny-medi-0002",
        "GET /v1/vulns/PYSEC-2026-1",
    ]


def test_sbom_carries_the_vulnerabilities_and_validates(side: Side, tmp_path: Path) -> None:
    kit_dir = _unpack(side.kit, tmp_path)
    text = (kit_dir / "sbom.cdx.json").read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    vulns = {v["id"]: v for v in json.loads(text)["vulnerabilities"]}
    assert sorted(vulns) == ["GHSA-lib1-crit-0001", "GHSA-tiny-medi-0002"]
    lib = vulns["GHSA-lib1-crit-0001"]
    assert lib["analysis"]["state"] == "in_triage"
    assert lib["analysis"]["detail"] == (
        f"ignored by the policy until {EXPIRES}: lib's vulnerable parser is never called by "
        "the payload"
    )
    assert lib["ratings"][0]["severity"] == "critical" and lib["ratings"][0]["score"] == 9.8
    assert lib["affects"] == [
        {"ref": "pypi:lib", "versions": [{"version": "1.0", "status": "affected"}]}
    ]
    assert {r["id"] for r in lib["references"]} == {"CVE-2026-0001", "PYSEC-2026-1"}
    assert "analysis" not in vulns["GHSA-tiny-medi-0002"]


@pytest.mark.slow
def test_policy_section_read_first_in_headless_chromium(side: Side, tmp_path: Path) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("needs Debian's chromium (scripts/setup-dev.sh installs it)")
    later = side.root / "later.toml"
    later.write_text(policy_text(expires=TODAY - dt.timedelta(days=2)))
    report = tmp_path / "report.html"
    made = bundler("inspect", side.kit, "--policy", later, "--html", report)
    assert made.exit_code == 0, made.output
    dom = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
         report.as_uri()],
        capture_output=True, text=True, timeout=120, env={**os.environ, "HOME": str(tmp_path)},
    )  # fmt: skip
    html = dom.stdout
    assert html.index('id="policy-gate"') < html.index('class="cards"') < html.index("<h2>Target")
    assert "FAIL: 1 violation(s)" in html
    violations = html[
        html.index('id="gate-violations"') : html.index("</ul>", html.index('id="gate-violations"'))
    ]
    assert "GHSA-lib1-crit-0001" in violations and "ignore expired on" in violations
    ignores = html[
        html.index('id="gate-ignores"') : html.index("</table>", html.index('id="gate-ignores"'))
    ]
    assert "CVE-2026-0001" in ignores and "never called by the payload" in ignores
    assert "expired" in ignores
    unknown = html[html.index('id="gate-unknown-licenses"') :]
    assert "<b>tiny</b> 0.3: no license recorded" in unknown
    # and painted: the FAIL verdict's red at the top of the first screen
    shot = tmp_path / "top.png"
    subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile2'}", f"--screenshot={shot}",
         "--window-size=1280,400", report.as_uri()],
        capture_output=True, timeout=120, env={**os.environ, "HOME": str(tmp_path)},
    )  # fmt: skip
    _, _, rows = read_png(shot)
    red = sum(
        1
        for row in rows[::2]
        for i in range(0, len(row), 6)
        if all(abs(row[i + k] - RED[k]) <= 6 for k in range(3))
    )
    assert red > 300, f"only {red} sampled pixels of the FAIL verdict's red in the first 400 px"


def test_readme_txt_puts_the_signing_key_where_it_wins_and_verify_still_passes(
    side: Side, tmp_path: Path
) -> None:
    """README.txt says where kit_signing_key goes: -e, which outranks the kit's own
    playbooks/group_vars/all.yml (kit_signing_key: ""), and never that file, which SHA256SUMS
    lists (a review found it told operators to edit it), nor inventory/group_vars/all.yml,
    which that file outranks (a second review, 2026-12-01; tests/unit/playbooks/test_vars.py
    proves the precedence)."""
    with tarfile.open(side.kit) as tar:
        tar.extractall(tmp_path, filter="data")
    (kit_dir,) = tmp_path.iterdir()
    readme = " ".join((kit_dir / "README.txt").read_text().split())
    assert "never edit playbooks/group_vars/all.yml" in readme
    assert (
        "kit_signing_key with -e as in step 2: not in playbooks/inventory/group_vars/all.yml"
        in (readme)
    )
    assert "or in playbooks/inventory/group_vars/all.yml" not in readme
    edited = kit_dir / "playbooks" / "group_vars" / "all.yml"
    edited.write_text(edited.read_text() + f"kit_signing_key: {side.pub_a}\n")
    assert bundler("verify", kit_dir, "--key", side.pub_a).exit_code == 1
