"""Where the kit's public variables can be overridden, as playbooks/group_vars/all.yml and
playbooks/inventory/hosts.example.ini document it.

Ansible ranks the playbook's group_vars/all.yml above the inventory file's [all:vars] and
[GROUP:vars] sections and above inventory/group_vars/all.yml, so a public variable set there is
ignored; host variables (the host's line, inventory/host_vars/HOST.yml), a group's
inventory/group_vars/GROUP.yml and -e outrank it. Fast: `ansible -m debug` resolves the
variables on the controller (debug connects to nothing), with --playbook-dir playbooks/ so that
the same group_vars/ is loaded as for `ansible-playbook site.yml`.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[3]
PLAYBOOKS = REPO / "playbooks"
EXAMPLE = PLAYBOOKS / "inventory" / "hosts.example.ini"
BIN = Path(sys.executable).parent
APP01 = "app01.example.internal"
APP02 = "app02.example.internal"
REPO01 = "repo01.example.internal"
SHOWN = (
    "kit_dir",
    "python_version",
    "python_prefix",
    "python_interpreter",
    "media_repo_mode",
    "media_iso",
    "app_venv",
    "smoke_workers",
    "repo_server_url",
)


def _public_defaults() -> dict[str, Any]:
    data = yaml.safe_load((PLAYBOOKS / "group_vars" / "all.yml").read_text())
    assert isinstance(data, dict)
    return data


def _resolve(inventory: Path, tmp_path: Path, extra: list[str]) -> dict[str, dict[str, Any]]:
    """Every host's value of SHOWN, templated as a play would see it."""
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(PLAYBOOKS / "ansible.cfg"),
        "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
        "ANSIBLE_STDOUT_CALLBACK": "oneline",
        "ANSIBLE_NOCOLOR": "1",
    }
    msg = "msg={{ {" + ", ".join(f"'{name}': {name}" for name in SHOWN) + "} }}"
    argv = [str(BIN / "ansible"), "all", "-i", str(inventory), "--playbook-dir", str(PLAYBOOKS)]
    argv += ["-m", "ansible.builtin.debug", "-a", msg, *extra]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = {}
    for line in proc.stdout.splitlines():
        match = re.match(r"^(\S+) \| SUCCESS => (\{.*\})$", line)
        if match:
            out[match.group(1)] = json.loads(match.group(2))["msg"]
    return out


def _copy_example(tmp_path: Path) -> Path:
    """`cp inventory/hosts.example.ini inventory/hosts.ini`, in a scratch inventory dir."""
    inventory = tmp_path / "inventory" / "hosts.ini"
    inventory.parent.mkdir()
    shutil.copy(EXAMPLE, inventory)
    return inventory


def test_example_inventory_resolves_to_the_documented_defaults(tmp_path: Path) -> None:
    defaults = _public_defaults()
    got = _resolve(_copy_example(tmp_path), tmp_path, [])
    assert set(got) == {REPO01, APP01, APP02}
    for host, values in got.items():
        for name in ("python_version", "python_prefix", "media_iso", "app_venv", "smoke_workers"):
            assert values[name] == defaults[name], (host, name)
        assert values["kit_dir"] == str(REPO)  # the directory playbooks/ is in
        short = ".".join(str(defaults["python_version"]).split(".")[:2])
        assert values["python_interpreter"] == f"{defaults['python_prefix']}/bin/python{short}"
    # With a [repo_server] group, every other host is its client; the server extracts (its
    # host line's override).
    for host in (APP01, APP02):
        assert got[host]["media_repo_mode"] == "http", host
        assert got[host]["repo_server_url"] == f"http://{REPO01}:80", host
    assert got[REPO01]["media_repo_mode"] == "extract"


def test_without_a_repo_server_every_host_mounts_its_own_iso(tmp_path: Path) -> None:
    inventory = _copy_example(tmp_path)
    text = inventory.read_text()
    text = re.sub(r"(?ms)^\[repo_server\]\n.*?(?=^\[intranet\]$)", "", text)
    text = re.sub(r"(?ms)^\[repo_server:vars\]\n.*?(?=^\[intranet:vars\]$)", "", text)
    assert "\n[repo_server" not in text and "\nrepo01" not in text
    inventory.write_text(text)
    got = _resolve(inventory, tmp_path, [])
    assert set(got) == {APP01, APP02}
    assert {host: got[host]["media_repo_mode"] for host in got} == {APP01: "mount", APP02: "mount"}


def test_documented_override_paths_win_and_vars_sections_do_not(tmp_path: Path) -> None:
    defaults = _public_defaults()
    inventory = _copy_example(tmp_path)
    inv_dir = inventory.parent
    # The documented paths: a group's inventory/group_vars/GROUP.yml, a host's
    # inventory/host_vars/HOST.yml, the host's line (app02 in the example) and -e.
    (inv_dir / "group_vars").mkdir()
    (inv_dir / "group_vars" / "intranet.yml").write_text(
        yaml.safe_dump({"python_version": "3.9.18", "python_prefix": "/opt/py"})
    )
    (inv_dir / "host_vars").mkdir()
    (inv_dir / "host_vars" / f"{APP01}.yml").write_text(yaml.safe_dump({"smoke_workers": 8}))
    # The paths documented as ignored: [GROUP:vars], [all:vars], inventory/group_vars/all.yml.
    text = inventory.read_text()
    assert "[intranet:vars]\n" in text
    text = text.replace("[intranet:vars]\n", "[intranet:vars]\nsmoke_workers=99\n", 1)
    text += "\n[all:vars]\nmedia_iso=/from/all-vars.iso\n"
    inventory.write_text(text)
    (inv_dir / "group_vars" / "all.yml").write_text(yaml.safe_dump({"app_venv": "/from/gv-all"}))

    got = _resolve(inventory, tmp_path, [])
    for host in (APP01, APP02):  # the [intranet] group's file
        assert got[host]["python_version"] == "3.9.18", host
        assert got[host]["python_prefix"] == "/opt/py", host
        # derived lazily from the overridden values, not from the defaults
        assert got[host]["python_interpreter"] == "/opt/py/bin/python3.9", host
        assert got[host]["media_iso"] == defaults["media_iso"], host
        assert got[host]["app_venv"] == defaults["app_venv"], host
    assert got[APP01]["smoke_workers"] == 8
    assert got[APP02]["smoke_workers"] == defaults["smoke_workers"]  # not the 99 of [intranet:vars]
    assert got[REPO01]["media_repo_mode"] == "extract"  # its host line

    # -e outranks every one of them.
    extra = ["-e", "smoke_workers=3", "-e", "python_prefix=/srv/py", "-e", "app_venv=/srv/venv"]
    got = _resolve(inventory, tmp_path, extra)
    for host in (APP01, APP02):
        assert got[host]["smoke_workers"] == "3", host  # key=value: a string
        assert got[host]["python_interpreter"] == "/srv/py/bin/python3.9", host
        assert got[host]["app_venv"] == "/srv/venv", host


def test_example_inventory_sets_no_public_variable_in_a_vars_section() -> None:
    """A public variable in [GROUP:vars] would be ignored: the example must not show one."""
    parser = configparser.ConfigParser(allow_no_value=True, delimiters=("=",), strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(EXAMPLE.read_text())
    public = set(_public_defaults())
    sections = [s for s in parser.sections() if s.endswith(":vars")]
    assert sections  # the example keeps its connection settings in [intranet:vars]
    for section in sections:
        assert not public & set(parser[section]), section


def test_the_repo_server_address_and_port_are_read_from_the_server_wherever_set(
    tmp_path: Path,
) -> None:
    """Issue #13, second review: clients build repo_server_url from the server's own variables,
    so a value on the server's line, in inventory/group_vars/repo_server.yml or in [all:vars]
    reaches them (before, only -e did); a value on a client's line is not read."""
    inventory = _copy_example(tmp_path)
    base = inventory.read_text()
    line = "repo01.example.internal  media_repo_mode=extract"
    assert line in base

    def clients_url(text: str, extra: list[str] | None = None) -> set[str]:
        inventory.write_text(text)
        got = _resolve(inventory, tmp_path, extra or [])
        return {got[host]["repo_server_url"] for host in (APP01, APP02, REPO01)}

    on_line = base.replace(line, f"{line}  repo_server_address=10.9.0.1 repo_server_port=8080")
    assert clients_url(on_line) == {"http://10.9.0.1:8080"}
    assert clients_url(base + "\n[all:vars]\nrepo_server_address=fd00::5\n") == {
        "http://[fd00::5]:80"
    }
    (inventory.parent / "group_vars").mkdir()
    (inventory.parent / "group_vars" / "repo_server.yml").write_text(
        "repo_server_address: repo.lan\n"
    )
    assert clients_url(base) == {"http://repo.lan:80"}
    # -e still outranks every one of them
    assert clients_url(on_line, ["-e", "repo_server_address=10.1.1.1"]) == {"http://10.1.1.1:8080"}
    (inventory.parent / "group_vars" / "repo_server.yml").unlink()
    client_only = base.replace(
        "app01.example.internal\n", "app01.example.internal  repo_server_address=10.7.7.7\n", 1
    )
    assert clients_url(client_only) == {f"http://{REPO01}:80"}
