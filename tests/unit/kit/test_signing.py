"""kit/signing.py with the real gpg and minisign: keys, detached signatures, refusals."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bundler.errors import BadInput
from bundler.kit import signing


@pytest.fixture
def gnupg_home(tmp_path: Path) -> Iterator[Path]:
    """A private GnuPG home whose gpg-agent (started by the first secret-key operation) is
    stopped after the test: `gpgconf --kill all` (GnuPG's documented way to end its daemons)."""
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    try:
        yield home
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, signing.KeyPair]:
    root = tmp_path_factory.mktemp("keys")
    return {
        "a": signing.keygen(root / "a", "Kit A <a@example.org>"),
        "b": signing.keygen(root / "b", "Kit B <b@example.org>"),
        "m": signing.keygen(root / "m", "", signing.MINISIGN),
    }


def test_keygen_writes_private_secret_keys_in_the_right_formats(
    keys: dict[str, signing.KeyPair],
) -> None:
    a, m = keys["a"], keys["m"]
    assert a.secret.name == "a.key.asc" and a.public.name == "a.pub.asc"
    assert m.secret.name == "m.key" and m.public.name == "m.pub"
    for pair in (a, m):
        assert pair.secret.stat().st_mode & 0o777 == 0o600
        assert pair.public.stat().st_mode & 0o077 == 0o044
    assert signing.key_format(a.secret) == signing.key_format(a.public) == signing.OPENPGP
    assert signing.key_format(m.public) == signing.MINISIGN
    assert len(a.key_id) == 40 and a.key_id == a.key_id.upper()
    assert signing.minisign_key_id(m.public) == m.key_id
    # gpg itself reads the public key as RSA 3072 (what CentOS 7's gnupg2 2.0 verifies)
    home = a.public.parent / "show-home"
    home.mkdir(mode=0o700, exist_ok=True)
    show = ["gpg", "--homedir", str(home), "--batch", "--with-colons", "--show-keys"]
    shown = subprocess.run([*show, str(a.public)], capture_output=True, text=True)
    pub = next(line for line in shown.stdout.splitlines() if line.startswith("pub:"))
    assert pub.split(":")[2:4] == ["3072", "1"]  # length, algorithm 1 = RSA


def test_keygen_never_overwrites(keys: dict[str, signing.KeyPair]) -> None:
    with pytest.raises(BadInput, match="refusing to overwrite a key"):
        signing.keygen(keys["a"].secret.parent / "a", "again")


@pytest.mark.parametrize("name", ["a", "m"])
def test_sign_and_verify(keys: dict[str, signing.KeyPair], tmp_path: Path, name: str) -> None:
    pair = keys[name]
    subject = tmp_path / "SHA256SUMS"
    subject.write_text("0" * 64 + "  file\n")
    secret = signing.load_key(pair.secret)
    signature = tmp_path / ("SHA256SUMS" + secret.suffix)
    assert signing.sign_file(secret, subject, signature) == pair.key_id
    public = [signing.load_key(pair.public)]
    assert signing.verify_file(public, subject, signature) == pair.key_id
    subject.write_text("1" * 64 + "  file\n")
    with pytest.raises(signing.SignatureError, match="BAD signature: SHA256SUMS changed"):
        signing.verify_file(public, subject, signature)
    with pytest.raises(signing.SignatureError, match="missing"):
        signing.verify_file(public, subject, tmp_path / "nothing.asc")


def test_foreign_openpgp_key_is_named(keys: dict[str, signing.KeyPair], tmp_path: Path) -> None:
    subject = tmp_path / "data"
    subject.write_bytes(b"data")
    signature, signer = signing.sign_bytes(signing.load_key(keys["a"].secret), b"data")
    (tmp_path / "data.asc").write_bytes(signature)
    assert signer == keys["a"].key_id
    with pytest.raises(signing.SignatureError) as exc:
        signing.verify_file([signing.load_key(keys["b"].public)], subject, tmp_path / "data.asc")
    assert f"signed by key {keys['a'].key_id}, which is not a trusted key" in str(exc.value)
    # any of several trusted keys may have signed
    both = [signing.load_key(keys["b"].public), signing.load_key(keys["a"].public)]
    assert signing.verify_file(both, subject, tmp_path / "data.asc") == keys["a"].key_id


def test_key_file_with_two_secret_keys_is_refused(
    keys: dict[str, signing.KeyPair], tmp_path: Path
) -> None:
    both = tmp_path / "both.asc"
    both.write_text(keys["a"].secret.read_text() + keys["b"].secret.read_text())
    with pytest.raises(BadInput, match="expected one OpenPGP secret key, found 2"):
        signing.sign_bytes(signing.load_key(both), b"x")


def test_passphrase_protected_key_signs_with_its_passphrase_file(tmp_path: Path) -> None:
    home = tmp_path / "g"
    home.mkdir(mode=0o700)
    (home / "gpg-agent.conf").write_text("s2k-count 65536\n")  # the minimum: a fast test
    gpg = ["gpg", "--homedir", str(home), "--batch", "--pinentry-mode", "loopback"]
    try:
        subprocess.run([*gpg, "--passphrase", "s3cret", "--quick-generate-key", "P <p@example.org>",
                        "rsa3072", "sign", "never"], check=True, capture_output=True)  # fmt: skip
        export = [*gpg, "--passphrase", "s3cret", "--armor", "--export-secret-keys"]
        secret = subprocess.run(export, check=True, capture_output=True).stdout
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)
    (tmp_path / "p.key.asc").write_bytes(secret)
    (tmp_path / "pass").write_text("s3cret\n")
    with pytest.raises(BadInput, match="gpg --local-user failed"):
        signing.sign_bytes(signing.load_key(tmp_path / "p.key.asc"), b"x")
    key = signing.load_key(tmp_path / "p.key.asc", tmp_path / "pass")
    signature, _ = signing.sign_bytes(key, b"x")
    assert signature.startswith(b"-----BEGIN PGP SIGNATURE-----")


def test_not_a_key_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk"
    junk.write_text("hello")
    with pytest.raises(BadInput, match="neither an OpenPGP key nor a minisign key"):
        signing.key_format(junk)


def _gpg(home: Path, *args: str) -> bytes:
    return subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--yes", "--pinentry-mode", "loopback",
         "--passphrase", "", *args],
        check=True, capture_output=True,
    ).stdout  # fmt: skip


@pytest.mark.parametrize("how", ["revoked", "expired"])
def test_a_signature_by_a_revoked_or_expired_key_is_refused(
    tmp_path: Path, gnupg_home: Path, how: str
) -> None:
    """gpg exits 0 and prints VALIDSIG for a good signature by a revoked or expired key; only
    GOODSIG means a good signature by a valid key (GnuPG doc/DETAILS: GOODSIG, EXPKEYSIG,
    REVKEYSIG). Found by a review: `verify --key` said "good" for both."""
    home = gnupg_home
    subject = tmp_path / "SHA256SUMS"
    subject.write_text("0" * 64 + "  file\n")
    signature = tmp_path / "SHA256SUMS.asc"
    if how == "expired":  # made (and signed with) two days ago, valid for one day
        past = ["--faked-system-time", f"{int(time.time()) - 2 * 86400}!"]
        _gpg(home, *past, "--quick-generate-key", "Old <o@example.org>", "ed25519", "sign", "1d")
        _gpg(home, *past, "--armor", "--detach-sign", "-o", str(signature), str(subject))
    else:
        _gpg(home, "--quick-generate-key", "Gone <g@example.org>", "ed25519", "sign", "never")
        _gpg(home, "--armor", "--detach-sign", "-o", str(signature), str(subject))
        (revocation,) = (home / "openpgp-revocs.d").glob("*.rev")
        text = revocation.read_text().replace(":-----BEGIN", "-----BEGIN")  # gpg's guard
        cert = tmp_path / "revocation.asc"
        cert.write_text(text)
        _gpg(home, "--import", str(cert))
    public = tmp_path / "key.pub.asc"
    public.write_bytes(_gpg(home, "--armor", "--export"))
    with pytest.raises(signing.SignatureError, match="expired or revoked key"):
        signing.verify_file([signing.load_key(public)], subject, signature)


def test_a_trusted_minisign_key_must_be_a_public_key(
    keys: dict[str, signing.KeyPair], tmp_path: Path
) -> None:
    """A damaged public key or a secret key given as --key is a bad key, not a bad signature."""
    assert signing.load_trusted_key(keys["m"].public).format == signing.MINISIGN
    broken = tmp_path / "broken.pub"
    broken.write_text("untrusted comment: minisign public key\n!!!\n")
    for bad in (broken, keys["m"].secret):
        with pytest.raises(BadInput, match=f"key {bad}: not a minisign public key"):
            signing.load_trusted_key(bad)
