"""install.sh --find-links URL: the wheels from a repo server, the locks local, hashes checked.

What the wheels role runs on a client in `media_repo_mode: http`: only install.sh and the lock
files are on the client; pip reads the wheels from the server's URL (`--no-index --find-links
URL --require-hashes`). The server here is Python's http.server on 127.0.0.1 serving a real
wheelhouse for the host Python; the end-to-end run over a namespace network with Apache is
tests/e2e/test_playbooks_fleet.py.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bundler.wheelhouse import installer
from tests.unit.wheelhouse.test_install_sh_modes import _wheelhouse

LOCAL_FILES = ("install.sh", "requirements.lock", "bootstrap.lock", "SHA256SUMS")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def _serve(directory: Path) -> Iterator[str]:
    handler = functools.partial(_Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _client_copy(house: Path, dest: Path) -> Path:
    """What the wheels role copies to a client: install.sh, the locks, SHA256SUMS; no wheel."""
    dest.mkdir()
    for name in LOCAL_FILES:
        if (house / name).exists():
            shutil.copy2(house / name, dest / name)
    return dest


def _sh(client: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    argv = ["sh", str(client / "install.sh"), *map(str, args)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=300)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_install_from_the_servers_url_with_only_the_locks_on_the_client(tmp_path: Path) -> None:
    house = _wheelhouse(tmp_path)
    client = _client_copy(house, tmp_path / "client")
    venv = tmp_path / "v"
    with _serve(house) as url:
        done = _sh(client, "--python", sys.executable, "--venv", venv, "--find-links", url)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"installing 1 locked package(s) from {url}" in done.stdout
        assert not list(client.glob("*.whl"))  # nothing but the locks was ever on the client
    # --check compares the environment with the local lock: the server is not asked (it is
    # stopped by now).
    check = _sh(client, "--python", sys.executable, "--venv", venv, "--find-links", url, "--check")
    assert check.returncode == 0, check.stdout + check.stderr
    imported = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import tiny_app; print(tiny_app.VALUE)"],
        capture_output=True,
        text=True,
    )
    assert imported.stdout.strip() == "0.1.0", imported.stderr


def test_a_server_that_does_not_answer_is_one_line_and_nothing_is_made(tmp_path: Path) -> None:
    house = _wheelhouse(tmp_path)
    client = _client_copy(house, tmp_path / "client")
    venv = tmp_path / "v"
    url = f"http://127.0.0.1:{_closed_port()}/wheelhouse/"
    proc = _sh(client, "--python", sys.executable, "--venv", venv, "--find-links", url)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    (line,) = proc.stderr.splitlines()
    assert line.startswith(f"install.sh: error: the wheel server {url} does not answer ("), line
    assert line.endswith("): nothing was installed"), line
    assert not venv.exists()


def test_a_changed_wheel_on_the_server_is_refused_and_the_new_venv_removed(
    tmp_path: Path,
) -> None:
    house = _wheelhouse(tmp_path)
    client = _client_copy(house, tmp_path / "client")
    wheel = next(house.glob("*.whl"))
    data = bytearray(wheel.read_bytes())
    data[-30] ^= 0xFF  # the server's copy differs from what the client's lock pins
    wheel.write_bytes(bytes(data))
    venv = tmp_path / "v"
    with _serve(house) as url:
        proc = _sh(client, "--python", sys.executable, "--venv", venv, "--find-links", url)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "THESE PACKAGES DO NOT MATCH THE HASHES" in proc.stdout + proc.stderr
    assert f"removed the unfinished virtual environment {venv}" in proc.stderr
    assert not venv.exists()


@pytest.mark.slow
def test_pip_comes_from_the_server_for_an_interpreter_without_pip(tmp_path: Path) -> None:
    """A bootstrap wheelhouse into a Python without pip: the pip wheel is fetched from the
    server, accepted because its sha256 is in bootstrap.lock, then pip installs the lock."""
    house = _wheelhouse(tmp_path, with_pip_wheel=True)
    client = _client_copy(house, tmp_path / "client")
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    python = bare / "bin" / "python"
    (pip_name,) = (w.name for w in house.glob("pip-*.whl"))
    assert installer.pip_wheel([pip_name, "tiny_app-0.1.0-py3-none-any.whl"]) == pip_name
    with _serve(house) as url:
        proc = _sh(client, "--python", python, "--find-links", url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"installing pip from its wheel {pip_name}" in proc.stdout
    assert subprocess.run([str(python), "-c", "import tiny_app, pip"]).returncode == 0


def test_a_pip_wheel_the_lock_does_not_list_is_refused(tmp_path: Path) -> None:
    house = _wheelhouse(tmp_path, with_pip_wheel=True)
    client = _client_copy(house, tmp_path / "client")
    pip_wheel = next(house.glob("pip-*.whl"))
    pip_wheel.write_bytes(pip_wheel.read_bytes() + b"\0")  # another file under that name
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    with _serve(house) as url:
        proc = _sh(client, "--python", bare / "bin" / "python", "--find-links", url)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "is not in the lock" in proc.stderr
    assert f"install.sh: error: cannot fetch {url}{pip_wheel.name}" in proc.stderr
    assert subprocess.run([str(bare / "bin" / "python"), "-c", "import pip"]).returncode != 0


def test_find_links_must_be_an_http_url(tmp_path: Path) -> None:
    house = _wheelhouse(tmp_path)
    proc = _sh(house, "--python", sys.executable, "--find-links", str(house))
    assert proc.returncode == 2
    assert "--find-links needs an http:// or https:// URL" in proc.stderr
