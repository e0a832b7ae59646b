"""The controller comes in the kit, for real: ansible-core 2.16 from PyPI, set up offline.

On the connected side: `bundler fetch` (the converter for CPython 3.6.15 / manylinux1),
`bundler fetch-controller` (ansible-core 2.16.x and its dependencies for CPython 3.11 /
manylinux2014, from PyPI) and `bundler pack` (which takes controller-wheelhouse/ next to the
wheelhouse by default). On the far side: `bundler verify --unpack`, then the kit's own
controller/setup.sh under `unshare -n` with pyenv's CPython 3.11.7 as the controller's Python
makes a fresh venv from controller/wheelhouse alone; its ansible-playbook (2.16.x) runs the
unpacked kit's site.yml (`--tags wheels,smoke`, python_build=false, the application on the
real 3.6.15, every module under 2.7.18 like CentOS 7's /usr/bin/python) against a host over
real SSH in a network namespace with no route out (tests/e2e/hosts.py: key authentication,
known_hosts checked, a non-root user with sudo), twice: the second run changes nothing, and
the kit's summary callback reports the host.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import require_python
from tests.e2e import hosts
from tests.e2e.playbookrun import REPO, can_run_offline, run_playbook

pytestmark = [pytest.mark.e2e, pytest.mark.network, pytest.mark.slow]

BUNDLER = REPO / ".venv" / "bin" / "bundler"
SELFTEST = re.compile(r"^selftest ok: \d+ frames, 2 workers, [\d.]+ frames/s$")
CORE_216 = re.compile(r"^ansible-playbook \[core (2\.16\.\d+)\]$")


def _bundler(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(BUNDLER), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=900
    )
    assert proc.returncode == 0, f"bundler {args[0]} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def _offline(argv: list[str]) -> list[str]:
    return ["unshare", "-n", *argv] if can_run_offline() else argv


def test_kit_controller_venv_runs_ansible_216_and_the_site_play_offline(
    tmp_path: Path, python36: Path, python27: Path
) -> None:
    python311 = require_python("3.11.7")
    # -- the connected side --------------------------------------------------------------------
    near = tmp_path / "near"
    near.mkdir()
    _bundler(
        "fetch", "--python", "3.6.15", "--platform", "manylinux1", "-o", "wheelhouse",
        "--no-rehearse", cwd=near,  # the kit's own install on 3.6.15 below proves it
    )  # fmt: skip
    fetched = _bundler("fetch-controller", cwd=near)  # -o controller-wheelhouse by default
    assert "controller target: CPython 3.11." in fetched.stdout
    # manylinux2014 wheels: the audit finds every one loadable on CentOS 7 (glibc 2.17), no
    # system package needed, nothing unmapped (a CentOS 7 controller needs no extra RPM)
    audit = yaml.safe_load((near / "controller-wheelhouse" / "system-packages.yml").read_text())
    assert (audit["distro"], audit["system_packages"], audit["unmapped"]) == ("centos7", [], [])
    assert all(w["loadable"] and not w["problems"] for w in audit["wheels"].values()), audit
    kit = near / "out" / "kit-ctl.tar.gz"
    packed = _bundler(
        "pack", "--playbooks", REPO / "playbooks", "--vagrantfile", REPO / "Vagrantfile",
        "-o", kit, cwd=near,
    )  # fmt: skip
    locked = re.search(r"controller: ansible-core (2\.16\.\d+) \((\d+) packages\)", packed.stdout)
    assert locked, packed.stdout
    version, count = locked.groups()

    # -- the far side: verify, unpack, the controller venv with no network -----------------------
    far = tmp_path / "far"
    verified = _bundler("verify", kit, "--unpack", far, cwd=tmp_path)
    assert f"ok: controller: ansible-core {version} ({count} packages)" in verified.stdout
    kit_dir = far / "kit-ctl"
    venv = tmp_path / "controller-venv"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "ANSIBLE_"))}
    env["HOME"] = str(tmp_path / "home")
    setup = subprocess.run(
        _offline(["sh", str(kit_dir / "controller" / "setup.sh"),
                  "--python", str(python311), "--venv", str(venv)]),
        capture_output=True, text=True, env=env, cwd=far, timeout=600,
    )  # fmt: skip
    assert setup.returncode == 0, setup.stdout + setup.stderr
    assert f"setup.sh: ok: ansible-playbook [core {version}] in {venv}" in setup.stdout
    # (pip lists what it installed sorted by the lock's spelling: PyYAML, MarkupSafe first)
    installed = re.search(r"Successfully installed (.*)", setup.stdout)
    assert installed and f"ansible-core-{version}" in installed.group(1).split(), setup.stdout
    shown = subprocess.run(
        [str(venv / "bin" / "ansible-playbook"), "--version"], capture_output=True, text=True,
        env={**env, "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    first = CORE_216.match(shown.stdout.splitlines()[0])
    assert first and first.group(1) == version, shown.stdout
    assert re.search(r"python version = 3\.11\.7 .*\(" + re.escape(str(venv)), shown.stdout)
    freeze = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "freeze"], capture_output=True, text=True
    ).stdout.lower()
    lock = (kit_dir / "controller" / "wheelhouse" / "requirements.lock").read_text().lower()
    pins = re.findall(r"(?m)^([a-z0-9][\w.-]*==\S+)", lock)
    assert len(pins) == int(count) and all(p in freeze.replace("_", "-") for p in pins), freeze

    # -- that ansible-playbook deploys the unpacked kit to a namespace host over SSH -------------
    missing = hosts.missing_tools()
    if missing:
        pytest.skip(f"missing tools (scripts/setup-dev.sh installs them): {missing}")
    with hosts.ssh_hosts(1, hosts.default_prefix()) as fleet:
        (host,) = fleet.hosts
        extra = {
            "python_build": False,
            "python_version": "3.6.15",
            "python_interpreter": str(python36),
            "wheels_dest": str(host.root / "wheelhouse"),
            "app_venv": str(host.root / "app-venv"),
            "smoke_workers": 2,
            "kit_allow_unsigned": True,  # an unsigned kit: kit_verify checks its SHA256SUMS only
        }  # kit_dir: the default, the kit these playbooks were unpacked with
        inventory = fleet.inventory(tmp_path / "hosts.ini", python27)
        runs = [
            run_playbook(
                inventory,
                extra,
                tmp_path / f"run{i}",
                tags=["wheels", "smoke"],
                timeout=600,
                env=fleet.ansible_env(),
                bin_dir=venv / "bin",
                playbooks=kit_dir / "playbooks",
            )
            for i in (1, 2)
        ]
    first_run, second_run = runs
    name = host.name
    assert first_run.rc == 0, first_run.describe()
    assert SELFTEST.match(first_run.smoke_line(name) or ""), first_run.describe()
    facts = dict(first_run.task_results(name))["Gathering Facts"]["ansible_facts"]
    assert facts["ansible_python_version"] == "2.7.18"
    assert facts["ansible_env"]["SUDO_USER"] == fleet.user  # logged in unprivileged, over SSH
    assert host.address in facts["ansible_all_ipv4_addresses"]  # in its own namespace
    assert "Install the wheelhouse with its install.sh." in first_run.changed_tasks(name)
    copied = dict(first_run.task_results(name))["Copy the wheelhouse to the host."]
    assert str(kit_dir / "wheelhouse") in str(copied), copied  # the unpacked kit's own wheels
    assert second_run.rc == 0, second_run.describe()
    assert second_run.stats(name)["changed"] == 0, second_run.changed_tasks(name)
    assert SELFTEST.match(second_run.smoke_line(name) or ""), second_run.describe()
    # The kit's own summary callback (playbooks/callback_plugins/, loaded by that ansible-playbook)
    summary = second_run.stdout.split("AIRGAP-KIT SUMMARY", 1)[1]
    assert re.search(rf"(?m)^{re.escape(name)}\s+ok \(changed=0\)\s+3\.6\.15\s+\d+\s+ok, ", summary)
