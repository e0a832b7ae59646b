"""The kit's Vagrantfile (checked by the real `vagrant validate`) and scripts/vagrant-verify.sh.

The box itself cannot boot on the CI host (no VM support): booting, provisioning twice and the
smoke test are what `make vagrant-verify` does on a machine that can run VirtualBox or libvirt.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
VAGRANTFILE = REPO / "Vagrantfile"
SCRIPT = REPO / "scripts" / "vagrant-verify.sh"


def _vagrant(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run vagrant on a copy of the Vagrantfile in tmp_path (its .vagrant/ state stays there)."""
    if shutil.which("vagrant") is None:
        pytest.skip("needs Debian's vagrant (scripts/setup-dev.sh installs it)")
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    shutil.copy(VAGRANTFILE, project / "Vagrantfile")
    full_env = {
        **os.environ,
        "AIRGAP_KIT_DIR": str(REPO),
        "VAGRANT_CHECKPOINT_DISABLE": "1",
        "VAGRANT_NO_COLOR": "1",
        **env,
    }
    full_env.pop("VAGRANT_CWD", None)
    return subprocess.run(
        ["vagrant", *args],
        cwd=project,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_vagrant_validate_accepts_the_vagrantfile(tmp_path: Path) -> None:
    iso = tmp_path / "CentOS-7-x86_64-Everything-2009.iso"
    iso.write_bytes(b"not a real ISO: validate does not read it")
    result = _vagrant(tmp_path, "validate", AIRGAP_ISO=str(iso), AIRGAP_MEMORY="3072")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "validated successfully" in result.stdout


def test_vagrant_validate_rejects_a_missing_kit_dir(tmp_path: Path) -> None:
    """validate really checks the config: the synced kit directory must exist."""
    result = _vagrant(tmp_path, "validate", AIRGAP_KIT_DIR=str(tmp_path / "no-such-kit"))
    assert result.returncode != 0
    assert "no-such-kit" in result.stdout + result.stderr


def test_vagrant_up_without_iso_stops_before_touching_any_box(tmp_path: Path) -> None:
    result = _vagrant(tmp_path, "up", AIRGAP_ISO="")
    assert result.returncode != 0
    assert "set AIRGAP_ISO" in result.stdout + result.stderr
    assert not (tmp_path / "project" / ".vagrant" / "machines" / "default" / "virtualbox").exists()


def test_vagrantfile_pins_box_attaches_iso_as_dvd_and_never_syncs_it() -> None:
    text = VAGRANTFILE.read_text()
    assert re.search(r'ENV\.fetch\("AIRGAP_BOX", "centos/7"\)', text)
    assert re.search(r'ENV\.fetch\("AIRGAP_BOX_VERSION", "2004\.01"\)', text)
    assert "config.vm.box_version = BOX_VERSION" in text
    assert '"--type", "dvddrive", "--medium", File.expand_path(ISO)' in text
    assert 'device: :cdrom, bus: "sata"' in text  # q35 rejects vagrant-libvirt's IDE default
    assert 'config.vm.synced_folder ".", "/vagrant", disabled: true' in text
    assert re.search(r'rsync__exclude: \["\*\.iso"', text)
    excluded = re.search(r"rsync__exclude: \[([^\]]*)\]", text, re.S)
    assert excluded and '".git/"' in excluded[1] and '".venv/"' in excluded[1]
    readme = (REPO / "README.md").read_text()
    assert "(`.venv`, `.git`)" not in readme  # README once said they were synced
    assert 'config.vm.provision "ansible"' in text
    assert 'provision "ansible_local"' not in text
    for var in ("kit_dir", "python_version", "media_repo_mode", "media_iso", "smoke_workers"):
        assert f"{var}:" in text, var
    group_vars = (REPO / "playbooks" / "group_vars" / "all.yml").read_text()
    for var in ("kit_dir", "python_version", "media_repo_mode", "media_iso", "smoke_workers"):
        assert re.search(rf"^{var}:", group_vars, re.M), f"{var} is not a playbook variable"


def test_vagrant_verify_script_is_shellcheck_clean() -> None:
    if shutil.which("shellcheck") is None:
        pytest.skip("needs Debian's shellcheck (scripts/setup-dev.sh installs it)")
    result = subprocess.run(["shellcheck", str(SCRIPT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_vagrant_verify_script_refuses_without_iso(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "AIRGAP_ISO"}
    result = subprocess.run(
        ["bash", str(SCRIPT), str(REPO)], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 2
    assert "set AIRGAP_ISO" in result.stderr


def test_make_target_runs_the_script() -> None:
    result = subprocess.run(
        ["make", "-n", "vagrant-verify", "KIT_DIR=/some/kit"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "scripts/vagrant-verify.sh /some/kit" in result.stdout
