"""Kit signatures: OpenPGP detached signatures through `gpg`, minisign (Ed25519) through `minisign`.

No cryptography is done here: each operation runs the real tool in a private, throw-away
GNUPGHOME (mode 0700, its gpg-agent stopped afterwards), so the user's keyrings are never read
or changed and the only key that can verify is the one given.

What is signed (`bundler pack --sign KEY`), each as a detached signature beside the file:

    kit-NAME/SHA256SUMS.asc            over SHA256SUMS (which lists every file of the kit)
    kit-NAME.tar.gz.sha256.asc         over the whole archive's sha256 sidecar
    (.minisig instead of .asc for a minisign key)

OpenPGP is the format a bare CentOS 7 host verifies with what it ships (gnupg2 2.0.22, which
predates ECC keys: `keygen` makes RSA 3072 keys and SHA-256 signatures, both of which it
verifies; RFC 4880). By hand: `gpg --import kit.pub.asc; gpg --verify SHA256SUMS.asc SHA256SUMS`.
minisign (https://jedisct1.github.io/minisign/) is the small modern alternative:
`minisign -Vm SHA256SUMS -p kit.pub`.

Keys: secret keys are written 0600 and never printed; a key file holding more than one secret
key is refused. `verify` returns the signer's fingerprint (OpenPGP) or key id (minisign), or
raises `SignatureError` naming the key id that signed when it is not a trusted one.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bundler.errors import BadInput
from bundler.fs.atomic import atomic_write_bytes

OPENPGP = "openpgp"
MINISIGN = "minisign"
FORMATS = (OPENPGP, MINISIGN)
SUFFIX = {OPENPGP: ".asc", MINISIGN: ".minisig"}
"""The detached signature of FILE is FILE + SUFFIX[format]."""
KEY_ALGO = "rsa3072"
"""RSA: CentOS 7's gnupg2 2.0.22 has no ECC (ECC arrived in GnuPG 2.1, 2014)."""
DIGEST = "SHA256"
TIMEOUT = 120.0
"""Seconds any one gpg/minisign run may take (RSA key generation is the slow one)."""
_ARMOR_SECRET = b"-----BEGIN PGP PRIVATE KEY BLOCK-----"
_ARMOR_PUBLIC = b"-----BEGIN PGP PUBLIC KEY BLOCK-----"


class SignatureError(Exception):
    """A signature is missing, bad, or made by a key that is not trusted (one line)."""


@dataclass(frozen=True)
class KeyPair:
    """What `keygen` wrote."""

    format: str
    secret: Path
    public: Path
    key_id: str
    """OpenPGP: the primary key's fingerprint (40 hex); minisign: the 16-hex key id."""


@dataclass(frozen=True)
class Key:
    """A key file given on the command line, and its format."""

    path: Path
    format: str
    passphrase_file: Path | None = None

    @property
    def suffix(self) -> str:
        return SUFFIX[self.format]


def key_format(path: Path) -> str:
    """'openpgp' or 'minisign', from the key file's content (BadInput if neither)."""
    try:
        head = path.read_bytes()[:4096]
    except OSError as exc:
        raise BadInput(f"key {path}: cannot read ({exc.strerror})") from None
    if head.startswith(b"untrusted comment: minisign"):
        return MINISIGN
    if _ARMOR_SECRET in head or _ARMOR_PUBLIC in head or (head[:1] and head[0] & 0x80):
        return OPENPGP  # armored, or a binary OpenPGP packet (high bit set: RFC 4880 4.2)
    raise BadInput(f"key {path}: neither an OpenPGP key nor a minisign key")


def load_key(path: Path, passphrase_file: Path | None = None) -> Key:
    """A key given on the command line (its format sniffed)."""
    return Key(path, key_format(path), passphrase_file)


def load_trusted_key(path: Path) -> Key:
    """A trusted key given to verify (--key): as `load_key`, and a minisign key must be a
    public key, whose second line is base64 of exactly 42 bytes: b"Ed", the key id (8 bytes)
    and the Ed25519 public key (32 bytes) (https://jedisct1.github.io/minisign/). Raises
    BadInput `key PATH: not a minisign public key` otherwise (a secret key, a damaged file),
    so that a bad key is not reported as a bad signature."""
    key = load_key(path)
    if key.format == MINISIGN:
        lines = path.read_bytes().decode(errors="replace").splitlines()
        try:
            raw = base64.b64decode(lines[1].strip(), validate=True)
        except (IndexError, ValueError):
            raw = b""
        if len(raw) != _MINISIGN_PUBLIC_LEN or raw[:2] != b"Ed":
            raise BadInput(f"key {path}: not a minisign public key")
    return key


_MINISIGN_PUBLIC_LEN = 42


def require_tool(fmt: str) -> str:
    """The path of `gpg` or `minisign` (BadInput naming the package when missing)."""
    name = "gpg" if fmt == OPENPGP else "minisign"
    found = shutil.which(name)
    if found is None:
        package = "gnupg (gnupg2 on CentOS)" if fmt == OPENPGP else "minisign"
        raise BadInput(f"{name} is not installed (install {package})")
    return found


# -- keygen -------------------------------------------------------------------------------------


def keygen(prefix: Path, uid: str, fmt: str = OPENPGP) -> KeyPair:
    """A new key pair: PREFIX.key.asc + PREFIX.pub.asc (OpenPGP) or PREFIX.key + PREFIX.pub
    (minisign, no password). Refuses to overwrite either file."""
    secret, public = key_paths(prefix, fmt)
    for path in (secret, public):
        if path.exists():
            raise BadInput(f"{path} exists: refusing to overwrite a key")
    secret.parent.mkdir(parents=True, exist_ok=True)
    if fmt == OPENPGP:
        return _gpg_keygen(secret, public, uid)
    return _minisign_keygen(secret, public)


def key_paths(prefix: Path, fmt: str) -> tuple[Path, Path]:
    """(secret, public) key paths for `keygen`'s PREFIX."""
    ext = ".asc" if fmt == OPENPGP else ""
    return prefix.with_name(prefix.name + f".key{ext}"), prefix.with_name(
        prefix.name + f".pub{ext}"
    )


def _gpg_keygen(secret: Path, public: Path, uid: str) -> KeyPair:
    if not uid.strip() or "\n" in uid:
        raise BadInput("--uid must be one line, e.g. 'Kit signing <ops@example.org>'")
    with _gnupghome() as home:
        _gpg(home, "--passphrase", "", "--quick-generate-key", uid, KEY_ALGO, "sign", "never")
        fpr = _fingerprints(home, secret=True)[0]
        secret_data = _gpg(home, "--armor", "--export-secret-keys", fpr).stdout
        public_data = _gpg(home, "--armor", "--export", fpr).stdout
    atomic_write_bytes(secret, secret_data, mode=0o600)
    atomic_write_bytes(public, public_data, mode=0o644)
    return KeyPair(OPENPGP, secret, public, fpr)


def _minisign_keygen(secret: Path, public: Path) -> KeyPair:
    tool = require_tool(MINISIGN)
    with tempfile.TemporaryDirectory(prefix="airgap-kit-minisign-") as tmp:
        sec, pub = Path(tmp) / "key", Path(tmp) / "pub"
        _run([tool, "-G", "-W", "-p", str(pub), "-s", str(sec)], "minisign -G")
        atomic_write_bytes(secret, sec.read_bytes(), mode=0o600)
        atomic_write_bytes(public, pub.read_bytes(), mode=0o644)
    return KeyPair(MINISIGN, secret, public, minisign_key_id(public))


def minisign_key_id(public: Path) -> str:
    """The key id of a minisign public key file, as minisign prints it (hex, no leading
    zeros): its second line is base64 of the algorithm (2 bytes), the key id (8 bytes,
    little-endian) and the Ed25519 public key (https://jedisct1.github.io/minisign/)."""
    try:
        return _minisign_id(public.read_bytes())
    except BadInput:
        raise BadInput(f"{public}: not a minisign public key") from None


def minisign_signature_key_id(signature: bytes) -> str:
    """The key id in a minisign signature (same layout as the public key's second line)."""
    return _minisign_id(signature)


def _minisign_id(text: bytes) -> str:
    lines = text.decode(errors="replace").splitlines()
    try:
        raw = base64.b64decode(lines[1], validate=True)
    except (IndexError, ValueError):
        raise BadInput("not a minisign key or signature") from None
    if len(raw) < 10:
        raise BadInput("not a minisign key or signature")
    return f"{int.from_bytes(raw[2:10], 'little'):X}"


# -- signing ------------------------------------------------------------------------------------


def sign_bytes(key: Key, data: bytes) -> tuple[bytes, str]:
    """(detached signature, signer's fingerprint or key id) of `data` made with secret `key`
    (armored for OpenPGP)."""
    with tempfile.TemporaryDirectory(prefix="airgap-kit-sign-") as tmp:
        subject = Path(tmp) / "data"
        subject.write_bytes(data)
        signature = Path(tmp) / ("data" + key.suffix)
        signer = sign_file(key, subject, signature)
        return signature.read_bytes(), signer


def sign_file(key: Key, subject: Path, signature: Path) -> str:
    """Write the detached signature of `subject` to `signature`; the signer's OpenPGP
    fingerprint or minisign key id."""
    if key.format == MINISIGN:
        tool = require_tool(MINISIGN)
        _run([tool, "-S", "-s", str(key.path), "-m", str(subject), "-x", str(signature)],
             f"minisign -S with {key.path}", stdin=b"")  # fmt: skip
        return minisign_signature_key_id(signature.read_bytes())
    with _gnupghome() as home:
        _gpg(home, "--import", str(key.path))
        secrets = _fingerprints(home, secret=True)
        if len(secrets) != 1:
            raise BadInput(
                f"--sign {key.path}: expected one OpenPGP secret key, found {len(secrets)} "
                "(export one with gpg --armor --export-secret-keys KEYID)"
            )
        passphrase = (
            ["--passphrase-file", str(key.passphrase_file)]
            if key.passphrase_file
            else ["--passphrase", ""]
        )
        _gpg(home, *passphrase, "--local-user", secrets[0], "--digest-algo", DIGEST,
             "--armor", "--detach-sign", "--output", str(signature), str(subject))  # fmt: skip
        return secrets[0]


# -- verifying ----------------------------------------------------------------------------------


def verify_file(keys: Sequence[Key], subject: Path, signature: Path) -> str:
    """The fingerprint or key id of the trusted key that signed `subject`.

    `keys` are public keys of one format (any of them may have signed). Raises SignatureError:
    signature missing, bad (the file changed after signing), or made by another key (its id
    named)."""
    if not keys:
        raise ValueError("no key given")
    fmt = keys[0].format
    if not signature.is_file():
        raise SignatureError(f"{signature.name}: missing (the kit is not signed for this key)")
    if fmt == MINISIGN:
        return _minisign_verify(keys, subject, signature)
    return _gpg_verify(keys, subject, signature)


_UNUSABLE_KEY = r"^\[GNUPG:\] (EXPKEYSIG|REVKEYSIG|EXPSIG|KEYREVOKED|KEYEXPIRED)\b"


def _gpg_verify(keys: Sequence[Key], subject: Path, signature: Path) -> str:
    with _gnupghome() as home:
        for key in keys:
            _gpg(home, "--import", str(key.path))
        trusted = _fingerprints(home, secret=False)
        proc = _gpg(home, "--status-fd", "1", "--trust-model", "always",
                    "--verify", str(signature), str(subject), check=False)  # fmt: skip
    status = proc.stdout.decode(errors="replace")
    valid = re.search(r"^\[GNUPG:\] VALIDSIG (\S+) .* (\S+)$", status, re.MULTILINE)
    where = signature.name
    # gpg exits 0 with VALIDSIG also for a good signature by an expired or revoked key (or an
    # expired signature); GOODSIG alone means good *and* made by a valid key (GnuPG's
    # doc/DETAILS: "GOODSIG", "EXPSIG", "EXPKEYSIG", "REVKEYSIG").
    unusable = re.search(_UNUSABLE_KEY, status, re.MULTILINE)
    good = re.search(r"^\[GNUPG:\] GOODSIG ", status, re.MULTILINE)
    if proc.returncode == 0 and valid and good and not unusable:
        primary = valid[2] if re.fullmatch(r"[0-9A-F]{40}", valid[2]) else valid[1]
        return primary
    if unusable:
        raise SignatureError(f"{where}: made by an expired or revoked key ({unusable[1]})")
    if re.search(r"^\[GNUPG:\] BADSIG ", status, re.MULTILINE):
        raise SignatureError(f"{where}: BAD signature: {subject.name} changed after it was signed")
    signer = _unknown_signer(status)
    if signer is not None:
        raise SignatureError(
            f"{where}: signed by key {signer}, which is not a trusted key "
            f"(trusted: {', '.join(_short(f) for f in trusted) or 'none'})"
        )
    raise SignatureError(f"{where}: not a valid OpenPGP signature of {subject.name}")


def _unknown_signer(status: str) -> str | None:
    """The fingerprint (else long key id) of a signer gpg has no key for: the status line
    `ERRSIG <keyid> <pkalgo> <hashalgo> <class> <time> <rc> [<fpr>]` with rc 9 (no public key),
    per GnuPG's doc/DETAILS."""
    for line in status.splitlines():
        fields = line.split()
        if fields[:2] == ["[GNUPG:]", "ERRSIG"] and len(fields) >= 8 and fields[7] == "9":
            fpr = fields[8] if len(fields) > 8 and fields[8] != "-" else None
            return fpr or fields[2]
    return None


def _minisign_verify(keys: Sequence[Key], subject: Path, signature: Path) -> str:
    tool = require_tool(MINISIGN)
    signer = None
    for key in keys:
        proc = subprocess.run(
            [tool, "-V", "-q", "-p", str(key.path), "-m", str(subject), "-x", str(signature)],
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )
        if proc.returncode == 0:
            return minisign_key_id(key.path)
        text = (proc.stdout + proc.stderr).decode(errors="replace")
        m = re.search(r"Signature key id in \S+ is ([0-9A-F]{1,16})", text)
        if m:
            signer = m[1]
    if signer is not None:
        trusted = ", ".join(minisign_key_id(k.path) for k in keys)
        raise SignatureError(
            f"{signature.name}: signed by minisign key {signer}, which is not a trusted key "
            f"(trusted: {trusted})"
        )
    raise SignatureError(
        f"{signature.name}: BAD signature: {subject.name} changed after it was signed "
        "(or the signature is damaged)"
    )


# -- plumbing -----------------------------------------------------------------------------------


@contextmanager
def _gnupghome() -> Iterator[Path]:
    """A private GNUPGHOME (0700) whose gpg-agent is stopped and which is removed afterwards."""
    require_tool(OPENPGP)
    home = Path(tempfile.mkdtemp(prefix="akg-"))  # short: the agent's socket path is limited
    os.chmod(home, 0o700)
    # The agent re-protects an imported secret key with its own, calibrated KDF (seconds per
    # passphrase-protected key); this keyring lives for one operation, in a 0700 directory.
    (home / "gpg-agent.conf").write_text("s2k-count 65536\n")
    try:
        yield home
    finally:
        gpgconf = shutil.which("gpgconf")
        if gpgconf:
            subprocess.run(
                [gpgconf, "--homedir", str(home), "--kill", "all"],
                capture_output=True,
                timeout=TIMEOUT,
                check=False,
            )
        shutil.rmtree(home, ignore_errors=True)


def _gpg(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    argv = ["gpg", "--homedir", str(home), "--batch", "--no-tty", "--quiet",
            "--pinentry-mode=loopback", *args]  # fmt: skip
    if not check:
        return subprocess.run(argv, capture_output=True, timeout=TIMEOUT, check=False)
    return _run(argv, f"gpg {_what(args)}")


def _run(
    argv: list[str], what: str, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    try:
        proc = subprocess.run(argv, input=stdin, capture_output=True, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise BadInput(f"{what}: no answer after {TIMEOUT:.0f} s") from None
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.decode(errors="replace").splitlines() if ln.strip()]
        raise BadInput(f"{what} failed: {lines[-1] if lines else f'exit {proc.returncode}'}")
    return proc


def _fingerprints(home: Path, *, secret: bool) -> list[str]:
    """Primary key fingerprints in the private keyring."""
    listing = _gpg(home, "--with-colons", "--list-secret-keys" if secret else "--list-keys")
    out, primary = [], False
    for line in listing.stdout.decode(errors="replace").splitlines():
        fields = line.split(":")
        if fields[0] in ("pub", "sec"):
            primary = True
        elif fields[0] in ("sub", "ssb"):
            primary = False
        elif fields[0] == "fpr" and primary and len(fields) > 9:
            out.append(fields[9])
            primary = False
    return out


def _what(args: tuple[str, ...]) -> str:
    return next((a for a in args if a.startswith("--") and a not in _QUIET_OPTS), "")


_QUIET_OPTS = {"--passphrase", "--passphrase-file", "--armor", "--with-colons", "--status-fd"}


def _short(fingerprint: str) -> str:
    return fingerprint[-16:] if len(fingerprint) == 40 else fingerprint
