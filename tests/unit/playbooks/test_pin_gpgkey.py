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
