"""The wheels role installs what the audit lists by RPM capability, from a real yum repo.

A wheel whose extension needs `libi11probe.so.1` (compiled here with gcc): a soname the kit's
table does not know, so the audit lists it as unmapped *and* as the capability
`libi11probe.so.1()(64bit)`. A real RPM (rpmbuild) provides exactly that capability in a real
repo (createrepo_c). The role's system-package tasks (`--tags wheels_system_packages`) run with
`wheels_os_family=RedHat` (the CI host is Debian) and dnf (the yum module's dnf backend, the one
that runs here) installing into a private `--installroot`; rpm then finds the package there.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bundler.audit import report as audit
from tests.e2e.isofixture import _spec, build_rpm
from tests.e2e.playbookrun import run_playbook, write_inventory
from tests.unit.audit.test_elf import gcc, make_wheel

pytestmark = pytest.mark.e2e

RPM_PYTHON = Path("/usr/bin/python3")  # Debian's python3 has the dnf bindings (python3-dnf)
SONAME = "libi11probe.so.1"
PACKAGE = "i11probe-libs"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A yum repo holding i11probe-libs, which provides libi11probe.so.1()(64bit)."""
    for tool in ("rpmbuild", "createrepo_c", "dnf", "rpm", "gcc"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool} (scripts/setup-dev.sh installs it)")
    if subprocess.run([str(RPM_PYTHON), "-c", "import dnf"], capture_output=True).returncode:
        pytest.skip("needs Debian's python3-dnf (scripts/setup-dev.sh installs it)")
    root = tmp_path_factory.mktemp("caprepo")
    spec = _spec(PACKAGE, ("0", "1.0", "1.el7"), "x86_64", provides=f"{SONAME}()(64bit)")
    rpm = build_rpm(root / "build", spec, PACKAGE, "x86_64")
    repo = root / "repo"
    repo.mkdir()
    shutil.copy2(rpm, repo / rpm.name)
    subprocess.run(["createrepo_c", "--quiet", str(repo)], check=True)
    return repo


def _kit(tmp: Path) -> Path:
    """kit/wheelhouse/ with the probe wheel, audited (system-packages.yml) for centos7."""
    wheelhouse = tmp / "kit" / "wheelhouse"
    wheelhouse.mkdir(parents=True)
    lib = gcc(tmp / SONAME, "int probe(void) { return 7; }\n", f"-Wl,-soname,{SONAME}")
    ext = gcc(tmp / "ext.so", "int probe(void);\nint ext(void) { return probe(); }\n", str(lib))
    make_wheel(wheelhouse / "probe-1.0-cp36-cp36m-manylinux1_x86_64.whl", {"probe/ext.so": ext})
    (wheelhouse / "requirements.lock").write_text("")
    audit.run(wheelhouse, "centos7")
    return tmp / "kit"


def test_the_role_installs_an_unknown_soname_by_capability(tmp_path: Path, repo: Path) -> None:
    kit = _kit(tmp_path)
    recorded = yaml.safe_load((kit / "wheelhouse" / "system-packages.yml").read_text())
    assert recorded["unmapped"] == [SONAME]  # the table does not know it...
    assert recorded["system_capabilities_by_family"]["RedHat"] == [f"{SONAME}()(64bit)"]
    # gpgcheck=0: the RPM is built by this test with rpmbuild and never signed; what is under
    # test is the capability lookup, not RPM signatures (the role's media repo keeps gpgcheck=1).
    reposdir = tmp_path / "yum.repos.d"
    reposdir.mkdir()
    (reposdir / "i11-test.repo").write_text(
        f"[i11-test]\nname=i11 test repo\nbaseurl={repo.as_uri()}\nenabled=1\ngpgcheck=0\n"
    )
    conf = tmp_path / "dnf.conf"
    conf.write_text(f"[main]\ngpgcheck=0\nreposdir={reposdir}\ncachedir={tmp_path / 'dnf-cache'}\n")
    root = tmp_path / "root"
    extra = {
        "kit_dir": str(kit),
        "kit_allow_unsigned": True,  # a wheelhouse folder, not a packed kit
        "wheels_os_family": "RedHat",
        "wheels_yum_backend": "yum4",  # the dnf backend (ansible-core 2.16 maps "dnf" to auto)
        "wheels_yum_repos": ["i11-test"],
        "wheels_yum_installroot": str(root),
        "wheels_yum_conf_file": str(conf),
        "wheels_yum_releasever": "7",
    }
    inventory = write_inventory(tmp_path / "hosts.ini", RPM_PYTHON)
    result = run_playbook(
        inventory, extra, tmp_path / "run", tags=["wheels_system_packages"], timeout=300
    )
    assert result.rc == 0, result.describe()
    ran = [name for name, res in result.task_results() if not res.get("skipped")]
    assert (
        "Install the system libraries the wheels load, by RPM capability, from the media repo."
        in ran
    ), ran
    installed = subprocess.run(
        ["rpm", "--root", str(root), "-q", "--whatprovides", f"{SONAME}()(64bit)"],
        capture_output=True,
        text=True,
    )
    assert installed.stdout.strip() == f"{PACKAGE}-1.0-1.el7.x86_64", installed.stderr
