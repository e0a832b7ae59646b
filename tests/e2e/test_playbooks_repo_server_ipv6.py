"""The repo_server role on an IPv6 address: Apache's `Listen [::1]:PORT` (apache2 -t checks the
file before it lands), the role's own probe of `http://[::1]:PORT/...`, and a client's request.

The role alone on this machine (connection local, Debian's apache2 as its own instance,
`repo_server_service_manager: none`) listening on the IPv6 loopback address with an ephemeral
port. An unbracketed IPv6 address in a URL or in `Listen ::1:80` is what the review of #13
found (apache2 -t rejects it). The fleet's clients derive `repo_server_url` the same way
(group_vars/all.yml): tests/unit/playbooks/test_lint.py renders it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import hosts
from tests.e2e.playbookrun import run_playbook, write_inventory

pytestmark = pytest.mark.e2e

APACHE = Path("/usr/sbin/apache2")


def _free_ipv6_port() -> int:
    with socket.socket(socket.AF_INET6) as sock:
        sock.bind(("::1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served_root() -> Iterator[Path]:
    """A directory Apache's user may read (pytest's tmp_path is root's alone); the server
    started in it is stopped and the directory removed, also when the test fails."""
    root = Path(tempfile.mkdtemp(prefix=f"{hosts.default_prefix()}-v6-", dir="/tmp"))
    root.chmod(0o755)
    try:
        yield root
    finally:
        conf, pid_file = root / "httpd.conf", root / "run" / "httpd.pid"
        if pid_file.exists():
            pid = int(pid_file.read_text().split()[0])
            subprocess.run([str(APACHE), "-f", str(conf), "-k", "stop"], capture_output=True)
            deadline = time.monotonic() + 30
            while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
                time.sleep(0.2)
        shutil.rmtree(root, ignore_errors=True)


def test_repo_server_listens_and_answers_on_an_ipv6_address(
    served_root: Path, tmp_path: Path
) -> None:
    assert APACHE.exists(), "scripts/setup-dev.sh installs apache2"
    media = served_root / "media"
    (media / "repodata").mkdir(parents=True)
    (media / "repodata" / "repomd.xml").write_text("<repomd/>\n")
    for path in (media, media / "repodata"):
        path.chmod(0o755)
    (media / "repodata" / "repomd.xml").chmod(0o644)
    port = _free_ipv6_port()
    conf = served_root / "httpd.conf"
    extra = {
        "repo_server_listen_address": "::1",
        "repo_server_listen_port": port,
        "repo_server_install_package": False,
        "repo_server_selinux": "false",
        "repo_server_firewalld": "false",
        "repo_server_service_manager": "none",
        "repo_server_config_file": str(conf),
        "repo_server_pid_file": str(served_root / "run" / "httpd.pid"),
        "repo_server_log_dir": str(served_root / "log"),
        "repo_server_dir": str(served_root / "srv"),
        "repo_server_media_root": str(media),
        "repo_server_python_dir": str(served_root / "python"),
        "repo_server_kit_dir": str(tmp_path / "no-kit"),  # no wheelhouse: nothing copied
        "media_repo_mode": "extract",
    }
    inventory = write_inventory(tmp_path / "hosts.ini", "/usr/bin/python3")
    result = run_playbook(inventory, extra, tmp_path / "run", roles=["repo_server"], timeout=300)
    assert result.rc == 0, result.describe()
    text = conf.read_text()
    assert f"\nListen [::1]:{port}\n" in text and f"\nServerName localhost:{port}\n" in text, text
    served = result.data.get("global_custom_stats", {}).get("repo_server", {})
    assert served == {"localhost": f"http://[::1]:{port}"}, served
    url = f"http://[::1]:{port}/c7-media/repodata/repomd.xml"
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.read() == b"<repomd/>\n"
