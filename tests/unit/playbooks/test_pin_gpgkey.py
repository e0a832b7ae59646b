"""media_repo's files/pin_gpgkey.py: the repo server's RPM signing key, pinned by fingerprint.

The fingerprints it computes must be gpg's own (a key made by gpg in the test); a key that is
not pinned, or a pinned key with a stranger beside it, must be refused before anything is
written; the pinned key is written once (a second run changes nothing) and never in --check.
Run with this venv's Python and with 2.7.18 (CentOS 7's /usr/bin/python runs it on the hosts).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.e2e.isofixture import make_key
from tests.unit.playbooks.role_docs import PLAYBOOKS

SCRIPT = PLAYBOOKS / "roles" / "media_repo" / "files" / "pin_gpgkey.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pin_gpgkey", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pin = _load()


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, str]]:
    """Two gpg-made keys: name -> (fingerprint as gpg lists it, armored public key)."""
    made = {}
    for name in ("pinned", "stranger"):
        home = tmp_path_factory.mktemp("gnupg") / name
        fingerprint = make_key(home)
        armored = subprocess.run(
            ["gpg", "--homedir", str(home), "--armor", "--export", fingerprint],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        made[name] = (fingerprint, armored)
    return made


@pytest.fixture(params=["venv", "python27"])
def python(request: pytest.FixtureRequest) -> str:
    if request.param == "venv":
        return sys.executable
    return str(request.getfixturevalue("python27"))


def _run(python: str, key: Path, dest: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    argv = [python, str(SCRIPT), "--url", key.as_uri(), "--dest", str(dest), *extra]
    return subprocess.run(argv, capture_output=True, text=True)


def test_the_pinned_key_is_written_once_and_never_in_check_mode(
    tmp_path: Path, python: str, keys: dict[str, tuple[str, str]]
) -> None:
    fingerprint, armored = keys["pinned"]
    key = tmp_path / "served.asc"
    key.write_text(armored)
    dest = tmp_path / "RPM-GPG-KEY-CentOS-7-c7-media"
    # spaced and lower-case, as a key page prints it
    spaced = " ".join(fingerprint[i : i + 4] for i in range(0, 40, 4)).lower()
    dry = _run(python, key, dest, "--fingerprint", spaced, "--check")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout) == {"changed": True, "fingerprints": [fingerprint]}
    assert not dest.exists()
    first = _run(python, key, dest, "--fingerprint", spaced)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["changed"] is True
    assert dest.read_text() == armored and dest.stat().st_mode & 0o777 == 0o644
    again = _run(python, key, dest, "--fingerprint", "0" * 40, "--fingerprint", fingerprint)
    assert json.loads(again.stdout) == {"changed": False, "fingerprints": [fingerprint]}
    assert sorted(p.name for p in tmp_path.iterdir()) == [dest.name, key.name]


@pytest.mark.parametrize("served", ["stranger", "both"])
def test_a_key_that_is_not_pinned_is_refused_and_nothing_written(
    tmp_path: Path, python: str, keys: dict[str, tuple[str, str]], served: str
) -> None:
    pinned, stranger = keys["pinned"], keys["stranger"]
    key = tmp_path / "served.asc"
    key.write_text(stranger[1] if served == "stranger" else pinned[1] + stranger[1])
    dest = tmp_path / "key"
    proc = _run(python, key, dest, "--fingerprint", pinned[0])
    assert proc.returncode == 1, proc.stdout
    assert proc.stderr.startswith("pin_gpgkey: ") and len(proc.stderr.strip().splitlines()) == 1
    assert f"holds the key {stranger[0]}, not the pinned {pinned[0]}: refused" in proc.stderr
    assert not dest.exists()


def test_what_is_not_a_key_is_one_line(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text("<html>not found</html>")
    proc = _run(sys.executable, page, tmp_path / "key", "--fingerprint", "0" * 40)
    assert proc.returncode == 1
    assert proc.stderr.strip().endswith("no PGP public key block")
    missing = _run(sys.executable, tmp_path / "none.asc", tmp_path / "key", "--fingerprint", "0")
    assert missing.returncode == 1 and len(missing.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "key").exists()


@settings(max_examples=150, deadline=None)
@given(cut=st.integers(min_value=0, max_value=2000), junk=st.binary(max_size=40))
def test_a_damaged_key_gives_fingerprints_or_refused(
    keys: dict[str, tuple[str, str]], cut: int, junk: bytes
) -> None:
    armored = keys["pinned"][1]
    lines = armored.splitlines()
    body = "".join(lines[2:-2])
    mangled = body[: cut % (len(body) + 1)] + junk.hex() + body[cut % (len(body) + 1) :]
    text = "\n".join([*lines[:2], mangled, *lines[-2:]])
    try:
        found = pin.fingerprints(text)
    except pin.Refused:
        return
    assert all(len(f) == 40 for f in found)


def _rpm_imports(tmp_path: Path, key: Path) -> list[str]:
    """The key ids (gpg-pubkey VERSION, lower-case hex) real rpm imports from KEY."""
    db = tmp_path / f"rpmdb-{key.name}"
    db.mkdir()
    subprocess.run(["rpm", "--dbpath", str(db), "--import", str(key)], capture_output=True)
    listing = subprocess.run(
        ["rpm", "--dbpath", str(db), "-q", "gpg-pubkey", "--qf", "%{VERSION}\\n"],
        capture_output=True, text=True,
    ).stdout  # fmt: skip
    return sorted(line for line in listing.split() if "gpg-pubkey" not in line)


def _block(armored: str) -> tuple[list[str], str]:
    """(base64 lines, CRC-24 line) of gpg's armored key."""
    lines = [line for line in armored.splitlines() if line and not line.startswith("-----")]
    return [line for line in lines if not line.startswith("=")], next(
        line for line in lines if line.startswith("=")
    )


def test_the_second_reviews_crafted_file_is_refused_where_rpm_would_import_the_stranger(
    tmp_path: Path, keys: dict[str, tuple[str, str]]
) -> None:
    """Issue #13, second review: an unknown armor header makes rpm 4.18 skip to the next BEGIN."""
    pinned, stranger = keys["pinned"], keys["stranger"]
    pinned_body, pinned_crc = _block(pinned[1])
    stranger_body, stranger_crc = _block(stranger[1])
    crafted = "\n".join(
        [pin.BEGIN, "X-Note: y", "", *pinned_body, pinned_crc, pin.BEGIN, "",
         *stranger_body, stranger_crc, pin.END, ""]
    )  # fmt: skip
    served = tmp_path / "crafted.asc"
    served.write_text(crafted)
    # the reader difference is real: rpm imports only the stranger from this file
    assert _rpm_imports(tmp_path, served) == [stranger[0][-8:].lower()]
    dest = tmp_path / "key"
    proc = _run(sys.executable, served, dest, "--fingerprint", pinned[0])
    assert proc.returncode == 1 and "unknown armor header 'X-Note: y'" in proc.stderr
    assert not dest.exists()


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda body, crc: [*body, crc, pin.BEGIN, "", *body], "armor line inside a key block"),
        (lambda body, crc: [*body, crc, "QUFB"], "data after a key block's CRC-24 line"),
        (lambda body, crc: [*body[:-1], body[-1] + "QUFB", crc], "has data after its padding"),
        (lambda body, crc: [*body, "=AAAA"], "CRC-24 does not match"),
    ],
)
def test_a_block_another_reader_could_read_differently_is_refused(
    tmp_path: Path, keys: dict[str, tuple[str, str]], mangle: object, message: str
) -> None:
    fingerprint, armored = keys["pinned"]
    body, crc = _block(armored)
    if not body[-1].endswith("="):  # the padding case needs padding to put data after
        body[-1] = body[-1][:-4]
    lines = mangle(body, crc)  # type: ignore[operator]
    served = tmp_path / "served.asc"
    served.write_text("\n".join([pin.BEGIN, "", *lines, pin.END, ""]))
    proc = _run(sys.executable, served, tmp_path / "key", "--fingerprint", fingerprint)
    assert proc.returncode == 1 and message in proc.stderr, proc.stderr
    assert not (tmp_path / "key").exists()


def test_the_file_written_is_the_checked_keys_alone_and_rpm_imports_exactly_them(
    tmp_path: Path, python: str, keys: dict[str, tuple[str, str]]
) -> None:
    fingerprint, armored = keys["pinned"]
    body, crc = _block(armored)
    served = tmp_path / "served.asc"
    served.write_text(
        "\n".join(["leading text", pin.BEGIN, "Comment: served", "Version: x", "", *body, crc,
                   pin.END, "trailing text", ""])
    )  # fmt: skip
    dest = tmp_path / "key"
    proc = _run(python, served, dest, "--fingerprint", fingerprint)
    assert proc.returncode == 0, proc.stderr
    written = dest.read_text()
    assert written.startswith(pin.BEGIN + "\n\n") and written.count(pin.BEGIN) == 1
    assert "Comment" not in written and "text" not in written
    assert pin.fingerprints(written) == [fingerprint]
    assert _rpm_imports(tmp_path, dest) == [fingerprint[-8:].lower()]


def test_a_strangers_subkey_is_left_out_and_a_compressed_packet_refused(
    tmp_path: Path, keys: dict[str, tuple[str, str]]
) -> None:
    """Issue #13, third review: packets after a pinned primary key that its fingerprint does
    not cover (a stranger's subkey with its binding signature) never reach the written file;
    a compressed packet (which could hold a whole other key) is refused."""
    fingerprint, armored = keys["pinned"]
    home = tmp_path / "gnupg"
    stranger = make_key(home)
    gpg = ["gpg", "--homedir", str(home), "--batch", "--pinentry-mode", "loopback"]
    subprocess.run(
        [*gpg, "--passphrase", "", "--quick-add-key", stranger, "rsa2048", "sign", "never"],
        check=True, capture_output=True,
    )  # fmt: skip
    exported = subprocess.run([*gpg, "--export", stranger], capture_output=True, check=True)
    strangers = pin.packets(exported.stdout)
    assert [tag for tag, _, _ in strangers].count(14) == 1  # the subkey the test made
    first = [tag for tag, _, _ in strangers].index(14)
    subkey = b"".join(whole for _, _, whole in strangers[first:])  # the subkey, its binding
    pinned_bytes = b"".join(pin.armored_blocks(armored))
    served = tmp_path / "subkey.asc"
    served.write_bytes(pin.armor(pinned_bytes + subkey))
    dest = tmp_path / "key"
    proc = _run(sys.executable, served, dest, "--fingerprint", fingerprint)
    assert proc.returncode == 0, proc.stderr
    written = pin.packets(b"".join(pin.armored_blocks(dest.read_text())))
    assert 14 not in [tag for tag, _, _ in written]
    assert dest.read_bytes() == pin.armor(pinned_bytes)  # the pinned key exactly, nothing else
    compressed = tmp_path / "compressed.asc"
    compressed.write_bytes(pin.armor(pinned_bytes + b"\xc8\x03\x00\x00\x00"))  # tag 8
    proc = _run(sys.executable, compressed, tmp_path / "key2", "--fingerprint", fingerprint)
    assert proc.returncode == 1 and "a packet of tag 8" in proc.stderr, proc.stderr
    assert not (tmp_path / "key2").exists()
