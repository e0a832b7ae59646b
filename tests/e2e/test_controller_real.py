"""The controller comes in the kit, for real: ansible-core 2.16 from PyPI, set up offline.

On the connected side: `bundler fetch` (the converter for CPython 3.6.15 / manylinux1),
`bundler fetch-controller` (ansible-core 2.16.x and its dependencies for CPython 3.11 /
manylinux2014, from PyPI) and `bundler pack` (which takes controller-wheelhouse/ next to the
wheelhouse by default). On the far side: `bundler verify --unpack`, then the kit's own
controller/setup.sh under `unshare -n` with pyenv's CPython 3.11.7 as the controller's Python
makes a fresh venv from controller/wheelhouse alone; its ansible-playbook (2.16.x) runs the
unpacked kit's whole site.yml (no --tags: the kit check, the media repo (mode none: no ISO
here), python_build's verify path (python_build=false), wheels, smoke; the application on the
real 3.6.15, every module under 2.7.18 like CentOS 7's /usr/bin/python) against a host over
real SSH in a network namespace with no route out (tests/e2e/hosts.py: key authentication,
known_hosts checked, a non-root user with sudo), twice: the second run changes nothing, and
the kit's summary callback reports the host.

The CentOS 7 bootstrap (a controller whose only Python 3 is the ISO's python3 3.6): the same
near side also runs `bundler fetch-controller --bootstrap` (ansible-core 2.11.x from PyPI, its
sdist built by pyenv's CPython 3.6.15 into a wheel for CPython 3.6.8 / manylinux2014), which
pack takes next to the wheelhouse. On the far side, under `unshare -n`, the kit's
controller/bootstrap.sh with pyenv's CPython 3.6.15 STANDING IN for CentOS 7's python3 (3.6.8:
same X.Y; its venv made beforehand with pip 9.0.3, CentOS 7's python3-pip version, from PyPI)
makes the bootstrap venv from controller/bootstrap/wheelhouse alone (pip 21.3.1 first), and
that real ansible-core 2.11 runs the kit's playbooks/build-python.yml against localhost
(connection local, modules under 2.7.18): kit_verify checks every file against SHA256SUMS,
media_repo is parsed and skipped (media_repo_mode=none: no ISO on this Debian host),
python_build runs its verify path on pyenv's CPython 3.11.7 as the "built" interpreter
(python_build=false: no 3.11 compile within the time budget); then setup.sh makes the
ansible-core 2.16 venv with that 3.11.7. Run twice: the second run changes nothing. A --check run of
build-python.yml with python_build=true under 2.11 goes through build.yml up to the point where
check mode stops (the tarball found, the build user, "would be built").
"""

from __future__ import annotations

import os
import re
import shutil
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
CORE_211 = re.compile(r"^ansible-playbook \[core (2\.11\.\d+)\] ?$")
RECAP = re.compile(r"(?m)^localhost\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=0\s+failed=0\b")


def _bundler(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(BUNDLER), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=900
    )
    assert proc.returncode == 0, f"bundler {args[0]} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def _offline(argv: list[str]) -> list[str]:
    return ["unshare", "-n", *argv] if can_run_offline() else argv


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory, python36: Path) -> tuple[Path, str, str, str]:
    """The connected side and `verify --unpack`: (unpacked kit, ansible-core 2.16.x, its
    package count, the bootstrap's ansible-core 2.11.x)."""
    tmp_path = tmp_path_factory.mktemp("controller-real")
    # -- the connected side --------------------------------------------------------------------
    near = tmp_path / "near"
    near.mkdir()
    _bundler(
        "fetch", "--python", "3.6.15", "--platform", "manylinux1", "-o", "wheelhouse",
        "--no-rehearse", cwd=near,  # the kit's own install on 3.6.15 below proves it
    )  # fmt: skip
    fetched = _bundler("fetch-controller", cwd=near)  # -o controller-wheelhouse by default
    assert "controller target: CPython 3.11." in fetched.stdout
    # ansible-core 2.11 is an sdist only: built by the 3.6 interpreter for CPython 3.6.8
    boot = _bundler("fetch-controller", "--bootstrap", "--build-python", python36, cwd=near)
    assert "controller bootstrap target: CPython 3.6.8 (cp36m), manylinux2014" in boot.stdout
    boot_audit = near / "controller-bootstrap-wheelhouse" / "system-packages.yml"
    assert yaml.safe_load(boot_audit.read_text())["system_packages"] == []
    # manylinux2014 wheels: the audit finds every one loadable on CentOS 7 (glibc 2.17), no
    # system package needed, nothing unmapped (a CentOS 7 controller needs no extra RPM)
    audit = yaml.safe_load((near / "controller-wheelhouse" / "system-packages.yml").read_text())
    assert (audit["distro"], audit["system_packages"], audit["unmapped"]) == ("centos7", [], [])
    assert all(w["loadable"] and not w["problems"] for w in audit["wheels"].values()), audit
    archive = near / "out" / "kit-ctl.tar.gz"
    packed = _bundler(
        "pack", "--playbooks", REPO / "playbooks", "--vagrantfile", REPO / "Vagrantfile",
        "-o", archive, cwd=near,
    )  # fmt: skip
    locked = re.search(r"controller: ansible-core (2\.16\.\d+) \((\d+) packages\)", packed.stdout)
    assert locked, packed.stdout
    version, count = locked.groups()
    bootstrap = re.search(r"controller bootstrap: ansible-core (2\.11\.\d+) ", packed.stdout)
    assert bootstrap, packed.stdout

    # -- the far side: verify, unpack ------------------------------------------------------------
    far = tmp_path / "far"
    verified = _bundler("verify", archive, "--unpack", far, cwd=tmp_path)
    assert f"ok: controller: ansible-core {version} ({count} packages)" in verified.stdout
    assert f"ok: controller bootstrap: ansible-core {bootstrap.group(1)} " in verified.stdout
    return far / "kit-ctl", version, count, bootstrap.group(1)


def test_kit_controller_venv_runs_ansible_216_and_the_site_play_offline(
    kit: tuple[Path, str, str, str], tmp_path: Path, python36: Path, python27: Path
) -> None:
    python311 = require_python("3.11.7")
    kit_dir, version, count, _ = kit
    far = kit_dir.parent
    # -- the controller venv with no network -----------------------------------------------------
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
            "media_repo_mode": "none",  # no CentOS 7 ISO on this machine
            # pyenv's 3.6.15 has no _hashlib: python_build's verify path checks what it has
            "python_build_required_modules": [
                m
                for m in ("ssl", "_hashlib", "zlib", "bz2", "lzma", "sqlite3", "ctypes")
                if subprocess.run([str(python36), "-c", f"import {m}"]).returncode == 0
            ],
        }  # kit_dir: the default, the kit these playbooks were unpacked with
        inventory = fleet.inventory(tmp_path / "hosts.ini", python27)
        runs = [
            run_playbook(
                inventory,
                extra,
                tmp_path / f"run{i}",
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


def _bootstrap(
    kit_dir: Path, tmp_path: Path, python36: Path, *playbook_args: str
) -> subprocess.CompletedProcess[str]:
    """The kit's controller/bootstrap.sh under `unshare -n` (3.6.15 as CentOS 7's python3,
    pyenv's 3.11.7 prefix as the one python_build made)."""
    python311 = require_python("3.11.7")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "ANSIBLE_"))}
    env["HOME"] = str(tmp_path / "home")
    argv = [
        "sh", str(kit_dir / "controller" / "bootstrap.sh"), "--python3", str(python36),
        "--venv", str(tmp_path / "bootstrap-venv"), "--prefix", str(python311.parent.parent),
        "--python-version", "3.11.7", "--controller-venv", str(tmp_path / "controller-venv"),
        "--", *playbook_args,
    ]  # fmt: skip
    return subprocess.run(
        _offline(argv), capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600
    )


def test_bootstrap_sh_runs_build_python_yml_with_ansible_211_on_python36_offline(
    kit: tuple[Path, str, str, str], tmp_path: Path, python36: Path, python27: Path
) -> None:
    kit_dir, version, _, boot_version = kit
    # The bootstrap venv made beforehand with pip 9.0.3, CentOS 7's python3-pip (from PyPI
    # here), so that install.sh must bootstrap pip 21.3.1 with that old pip.
    pips = tmp_path / "pips"
    got = subprocess.run(
        [shutil.which("python3") or "python3", "-m", "pip", "download", "--no-deps",
         "--index-url", "https://pypi.org/simple", "-d", str(pips), "pip==9.0.3"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert got.returncode == 0, got.stderr
    venv = tmp_path / "bootstrap-venv"
    subprocess.run([str(python36), "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin/python"), "-m", "pip", "install", "-q", "--no-index",
         str(next(pips.glob("pip-9.0.3-*.whl")))],
        check=True,
    )  # fmt: skip
    play = (
        "-e", "kit_allow_unsigned=true",  # an unsigned kit: kit_verify checks its SHA256SUMS
        "-e", "media_repo_mode=none",  # no CentOS 7 ISO on this host
        "-e", "python_build=false",  # verify pyenv's 3.11.7 instead of compiling one
        "-e", f"ansible_python_interpreter={python27}",  # CentOS 7's /usr/bin/python
    )  # fmt: skip
    first = _bootstrap(kit_dir, tmp_path, python36, *play)
    out = first.stdout + first.stderr
    assert first.returncode == 0, out
    assert f"bootstrap.sh: 1/3 ansible-core {boot_version} with {python36}" in out
    # the bootstrap venv: pip bootstrapped from the wheelhouse by pip 9.0.3 (which cannot read
    # manylinux2014), every locked pin installed from the kit alone, ansible-core 2.11 on 3.6
    assert (
        "install.sh: bootstrapping pip from the wheelhouse (the interpreter's pip is older" in out
    )
    shown = subprocess.run(
        [str(tmp_path / "bootstrap-venv" / "bin" / "ansible-playbook"), "--version"],
        capture_output=True, text=True,
    )  # fmt: skip
    line = next(ln for ln in shown.stdout.splitlines() if ln.startswith("ansible-playbook "))
    assert (m := CORE_211.match(line)) and m.group(1) == boot_version, shown.stdout
    assert re.search(r"python version = 3\.6\.15 ", shown.stdout), shown.stdout
    # build-python.yml ran under that ansible-core 2.11: each role's real tasks
    for task in (
        "TASK [kit_verify : Check every file with sha256sum.]",
        "TASK [python_build : Validating arguments against arg spec 'main'",
        "TASK [python_build : Probe the installed Python and its build record.]",
        "TASK [python_build : Import the standard library modules the kit needs.]",
    ):
        assert task in out, task
    assert "files checked against SHA256SUMS" in out
    recap = RECAP.search(out)
    assert recap, out
    assert (
        f"setup.sh: ok: ansible-playbook [core {version}] in {tmp_path / 'controller-venv'}" in out
    )
    assert "bootstrap.sh: ok: CPython 3.11.7 in " in out

    again = _bootstrap(kit_dir, tmp_path, python36, *play)
    out = again.stdout + again.stderr
    assert again.returncode == 0, out
    assert "install.sh: pip 21.3.1 reads every shipped wheel: no bootstrap needed" in out
    recap = RECAP.search(out)
    assert recap and recap.group(2) == "0", out

    # --check with python_build=true: build.yml under 2.11 up to where check mode stops
    sources = tmp_path / "check-kit" / "sources"
    sources.mkdir(parents=True)
    (sources / "Python-3.11.99.tgz").write_bytes(b"placeholder: check mode reads no tarball\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "ANSIBLE_"))}
    env["HOME"] = str(tmp_path / "home")
    checked = subprocess.run(
        _offline([
            str(tmp_path / "bootstrap-venv" / "bin" / "ansible-playbook"), "-i", "localhost,",
            "-c", "local", "build-python.yml", "--check", *play[:4],
            "-e", f"ansible_python_interpreter={python27}", "-e", "python_version=3.11.99",
            "-e", f"kit_dir={sources.parent}", "-e", f"python_prefix={tmp_path / 'prefix'}",
            "-e", "python_build_install_deps=false",
        ]),
        capture_output=True, text=True, env=env, cwd=kit_dir / "playbooks", timeout=300,
    )  # fmt: skip
    out = checked.stdout + checked.stderr
    assert checked.returncode == 0, out
    assert "CPython 3.11.99 would be built from Python-3.11.99.tgz" in out
    assert "TASK [python_build : Check that the kit carries the CPython source.]" in out
