"""repo_server's first task (tasks/main.yml, "Check the repo server settings"): which addresses
it lets through, evaluated by Ansible's own templar with the role's defaults and vars.

Issue #13, second review: `10.0.0.1:8080` passed and became `Listen [10.0.0.1:8080]:80`
(refused only by the template's validate step, after the firewall port was opened), and
`fe80::1%eth0` (an IPv6 zone, which no URL of the clients can carry) was accepted.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from tests.unit.playbooks import role_docs

ROLE = role_docs.PLAYBOOKS / "roles" / "repo_server"


def _check() -> dict[str, Any]:
    tasks = yaml.safe_load((ROLE / "tasks" / "main.yml").read_text())
    first = tasks[0]
    assert first["name"] == "Check the repo server settings."
    check: dict[str, Any] = first["ansible.builtin.assert"]
    return check


def _passes(address: str, servers: tuple[str, ...] = ("repo01",)) -> tuple[bool, str]:
    variables: dict[str, Any] = {"inventory_hostname": "repo01"}
    for name in ("defaults/main.yml", "vars/main.yml"):
        variables.update(yaml.safe_load((ROLE / name).read_text()))
    variables["repo_server_address"] = address
    variables["groups"] = {"repo_server": list(servers)}
    templar = Templar(loader=DataLoader(), variables=variables)
    check = _check()
    results = [
        templar.template("{% if " + condition + " %}True{% else %}False{% endif %}")
        for condition in check["that"]
    ]
    return all(str(result) == "True" for result in results), templar.template(check["fail_msg"])


@pytest.mark.parametrize(
    "address",
    ["10.0.0.5", "repo01.example.internal", "fd00::1", "[fd00::1]", "::ffff:10.0.0.5", "::1"],
)
def test_names_and_ip_addresses_pass(address: str) -> None:
    assert _passes(address)[0], address


@pytest.mark.parametrize(
    "address",
    ["10.0.0.1:8080", "repo01:8080", "fe80::1%eth0", "[fd00::1]:80", "10.0.0.1/24", "a b"],
)
def test_a_port_a_zone_or_a_path_is_refused_with_the_promised_message(address: str) -> None:
    passed, message = _passes(address)
    assert not passed, address
    assert "without a port, path or IPv6 zone" in message and f"'{address}'" in message


def test_a_second_repo_server_in_the_inventory_is_refused_naming_both() -> None:
    """Issue #13, third review: clients read the group's first host only, so a second server
    would serve a repository no client uses."""
    assert _passes("10.0.0.5", ("repo01",))[0]
    passed, message = _passes("10.0.0.5", ("repo01", "repo02"))
    assert not passed and "repo_server group holds one host (got: repo01, repo02)" in message
