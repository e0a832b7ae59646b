"""The repo_server role alone on this machine (connection local, Debian's apache2 as its own
instance, `repo_server_service_manager: none`), for what the fleet test does not cover:

- an IPv6 address: Apache's `Listen [::1]:PORT` (apache2 -t checks the file before it lands),
  the role's own probe of `http://[::1]:PORT/...` and a client's request. An unbracketed IPv6
  address in a URL or in `Listen ::1:80` is what the review of #13 found (apache2 -t rejects
  it). The clients derive `repo_server_url` the same way (group_vars/all.yml):
  tests/unit/playbooks/test_lint.py renders it.
- SELinux, which is not enabled here: getenforce, semanage and restorecon are fakes on PATH
  that answer like an enforcing EL7 host (the port already typed http_cache_port_t) and log
  what the role asks; the commands the role would run are asserted, Apache serves as usual.
"""

from __future__ import annotations

import os
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
from tests.e2e.playbookrun import PlayResult, run_playbook, write_inventory

pytestmark = pytest.mark.e2e

APACHE = Path("/usr/sbin/apache2")


def _free_port(family: socket.AddressFamily, address: str) -> int:
    with socket.socket(family) as sock:
        sock.bind((address, 0))
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


def _media(root: Path) -> Path:
    media = root / "media"
    (media / "repodata").mkdir(parents=True)
    (media / "repodata" / "repomd.xml").write_text("<repomd/>\n")
    for path in (media, media / "repodata"):
        path.chmod(0o755)
    (media / "repodata" / "repomd.xml").chmod(0o644)
    return media


def _serve(
    root: Path,
    tmp_path: Path,
    address: str,
    port: int,
    env: dict[str, str] | None = None,
    **more: object,
) -> PlayResult:
    extra = {
        "repo_server_listen_address": address,
        "repo_server_listen_port": port,
        "repo_server_install_package": False,
        "repo_server_selinux": "false",
        "repo_server_firewalld": "false",
        "repo_server_service_manager": "none",
        "repo_server_config_file": str(root / "httpd.conf"),
        "repo_server_pid_file": str(root / "run" / "httpd.pid"),
        "repo_server_log_dir": str(root / "log"),
        "repo_server_dir": str(root / "srv"),
        "repo_server_media_root": str(_media(root)),
        "repo_server_python_dir": str(root / "python"),
        "repo_server_kit_dir": str(tmp_path / "no-kit"),  # no wheelhouse: nothing copied
        "media_repo_mode": "extract",
        **more,
    }
    inventory = write_inventory(tmp_path / "hosts.ini", "/usr/bin/python3")
    return run_playbook(
        inventory, extra, tmp_path / "run", roles=["repo_server"], timeout=300, env=env
    )


def test_repo_server_listens_and_answers_on_an_ipv6_address(
    served_root: Path, tmp_path: Path
) -> None:
    assert APACHE.exists(), "scripts/setup-dev.sh installs apache2"
    port = _free_port(socket.AF_INET6, "::1")
    result = _serve(served_root, tmp_path, "::1", port)
    assert result.rc == 0, result.describe()
    text = (served_root / "httpd.conf").read_text()
    assert f"\nListen [::1]:{port}\n" in text and f"\nServerName localhost:{port}\n" in text, text
    served = result.data.get("global_custom_stats", {}).get("repo_server", {})
    assert served == {"localhost": f"http://[::1]:{port}"}, served
    url = f"http://[::1]:{port}/c7-media/repodata/repomd.xml"
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.read() == b"<repomd/>\n"


FAKE_SEMANAGE = """#!/bin/sh
echo "semanage $*" >> "$LOG"
case "$*" in
    "port --list")
        printf 'SELinux Port Type              Proto    Port Number\\n\\n'
        printf 'http_cache_port_t              tcp      %s, 8118, 8123, 10001-10010\\n' "$PORT"
        printf 'http_port_t            tcp      80, 81, 443, 488, 8008, 8009, 8443, 9000\\n' ;;
esac
"""


def test_selinux_labels_the_copies_not_the_mounted_iso_and_modifies_a_typed_port(
    served_root: Path, tmp_path: Path
) -> None:
    """An enforcing host (faked), the ISO mounted (media_repo_mode mount), the port typed
    http_cache_port_t by the policy: the role labels its own copies and the python directory
    (fcontext + restorecon), never the mounted ISO (iso9660 has no labels: media_repo mounts
    it with context=), and gives the port http_port_t with --modify (--add fails there)."""
    port = _free_port(socket.AF_INET, "127.0.0.1")
    fakes, log = tmp_path / "fakes", tmp_path / "selinux.log"
    fakes.mkdir()
    scripts = {
        "getenforce": "#!/bin/sh\necho Enforcing\n",
        "semanage": FAKE_SEMANAGE,
        "restorecon": '#!/bin/sh\necho "restorecon $*" >> "$LOG"\n',
    }
    for name, text in scripts.items():
        (fakes / name).write_text(text)
        (fakes / name).chmod(0o755)
    env = {"PATH": f"{fakes}:{os.environ['PATH']}", "LOG": str(log), "PORT": str(port)}
    result = _serve(
        served_root,
        tmp_path,
        "127.0.0.1",
        port,
        env=env,
        repo_server_selinux="auto",
        media_repo_mode="mount",
    )
    assert result.rc == 0, result.describe()
    srv, python = served_root / "srv", served_root / "python"
    assert log.read_text().splitlines() == [
        "semanage fcontext --list --locallist",
        f"semanage fcontext --add --type httpd_sys_content_t {srv}(/.*)?",
        f"semanage fcontext --add --type httpd_sys_content_t {python}(/.*)?",
        f"restorecon -R -v {srv}",
        f"restorecon -R -v {python}",
        "semanage port --list",
        f"semanage port --modify --type http_port_t --proto tcp {port}",
    ]
    url = f"http://127.0.0.1:{port}/c7-media/repodata/repomd.xml"
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.read() == b"<repomd/>\n"
