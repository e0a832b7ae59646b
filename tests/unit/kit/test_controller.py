"""bundler.kit.controller: the controller wheelhouse (fetch-controller), packed as controller/,
checked by verify, shown by inspect and README.txt, and controller/setup.sh.

The wheelhouse comes from the real `bundler fetch-controller` against the fake index serving
a STAND-IN ansible-core (tests/unit/kit/controller_kit.py); the application side is the
HAND-MADE kit of handmade_kit.py. setup.sh runs for real with pyenv's CPython 3.11.7 (and
3.6.15 for the refusal). The real ansible-core from PyPI: tests/e2e/test_controller_real.py.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from bundler.cli import main
from bundler.errors import BadInput, CheckFailed, UnknownTarget
from bundler.kit import controller, controller_setup, sbom, verify
from bundler.kit import info as kitinfo
from bundler.models import manifest as manifest_mod
from tests.conftest import require_python
from tests.fakeindex import FakeIndex
from tests.unit.kit.controller_kit import (
    STAND_IN_VERSION,
    fetch_controller,
    serve_controller,
    stand_in_ansible_core,
)
from tests.unit.kit.handmade_kit import handmade_inputs, pack_inputs

REPO = Path(__file__).resolve().parents[3]
STAND_IN = f"ansible_core-{STAND_IN_VERSION}-py3-none-any.whl"


@pytest.fixture(scope="module")
def controller_wh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A controller wheelhouse fetched from the fake index, which also offers ansible-core
    2.17.0 (newer, excluded by the policy's <2.17)."""
    root = tmp_path_factory.mktemp("controller")
    with FakeIndex(root / "index") as index:
        serve_controller(index)
        index.add(stand_in_ansible_core(index.root / "files", "2.17.0"), requires_python=">=3.10")
        fetched = fetch_controller(index, root / "controller-wheelhouse")
    assert fetched.exit_code == 0, fetched.output
    return root / "controller-wheelhouse"


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, Path]:
    return handmade_inputs(tmp_path / "in")


def _kit(inputs: dict[str, Path], wh: Path | None, out: Path) -> Path:
    return pack_inputs(inputs, out / "kit-demo.tar.gz", controller_wheelhouse=wh).archive


def _unpack(archive: Path, dest: Path) -> Path:
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    return dest / "kit-demo"


def _readme(archive: Path) -> str:
    with tarfile.open(archive) as tar:
        member = tar.extractfile("kit-demo/README.txt")
        assert member is not None
        return member.read().decode()


# -- the controller wheelhouse -------------------------------------------------------------------


def test_fetch_controller_locks_ansible_core_2_16_for_cpython_311_manylinux2014(
    controller_wh: Path,
) -> None:
    data = manifest_mod.load(controller_wh)
    assert data["target"]["python_version"].startswith("3.11.")
    assert data["target"]["platform"] == "manylinux2014_x86_64"
    assert data["requirements"] == ["ansible-core<2.17,>=2.16"]
    pins = sorted((p["name"], p["version"]) for p in data["packages"])
    assert pins == [("ansible-core", STAND_IN_VERSION), ("resolvelib", "1.0.1")]  # not 2.17.0
    for name in ("requirements.lock", "install.sh", "system-packages.yml", STAND_IN):
        assert (controller_wh / name).is_file(), name
    assert f"ansible-core=={STAND_IN_VERSION}" in (controller_wh / "requirements.lock").read_text()


@pytest.mark.parametrize("python", ["3.9", "3.13"])
def test_controller_python_outside_ansible_core_2_16s_range_is_refused(
    tmp_path: Path, python: str
) -> None:
    result = CliRunner().invoke(
        main, ["fetch-controller", "--controller-python", python, "-o", str(tmp_path / "c")]
    )
    assert result.exit_code == 2
    assert "runs on CPython 3.10, 3.11, 3.12 only" in result.output
    assert not (tmp_path / "c").exists()
    with pytest.raises(UnknownTarget):
        controller.controller_target(python)


def test_default_controller_target_loads_on_centos7_glibc() -> None:
    target = controller.controller_target()
    assert (target.short_version, target.glibc) == ("3.11", (2, 17))
    assert controller.controller_target("3.12.1", "manylinux_2_28").glibc == (2, 28)


def test_policy_agrees_with_the_real_ansible_core_2_16() -> None:
    """The dev venv's ansible-core (a real 2.16.x wheel from PyPI) is admitted by the policy,
    and its own Requires-Python admits every controller Python of the policy, not 3.9."""
    rules = controller.policy()
    installed = importlib.metadata.version("ansible-core")
    assert rules.ansible_core.specifier.contains(Version(installed)), installed
    requires = SpecifierSet(importlib.metadata.metadata("ansible-core")["Requires-Python"])
    assert all(requires.contains(f"{v}.0") for v in rules.pythons), requires
    assert not requires.contains("3.9.18")
    assert "81866" in rules.source["requirements"]


# -- pack -------------------------------------------------------------------------------------


def test_pack_puts_the_controller_wheelhouse_and_setup_sh_in_the_kit(
    inputs: dict[str, Path], controller_wh: Path, tmp_path: Path
) -> None:
    result = pack_inputs(
        inputs, tmp_path / "a" / "kit-demo.tar.gz", controller_wheelhouse=controller_wh
    )
    assert result.controller is not None and result.controller.ansible_core == STAND_IN_VERSION
    with tarfile.open(result.archive) as tar:
        members = {m.name: m for m in tar.getmembers()}
        sums = tar.extractfile("kit-demo/SHA256SUMS").read().decode()  # type: ignore[union-attr]
    for name in ("setup.sh", "wheelhouse/install.sh", "wheelhouse/manifest.json",
                 "wheelhouse/requirements.lock", f"wheelhouse/{STAND_IN}"):  # fmt: skip
        assert f"kit-demo/controller/{name}" in members, name
        assert f"  controller/{name}\n" in sums, name
    assert members["kit-demo/controller/setup.sh"].mode == 0o755
    assert members["kit-demo/controller/wheelhouse/install.sh"].mode == 0o755
    readme = _readme(result.archive)
    assert (
        f"controller/          ansible-core {STAND_IN_VERSION} for the Ansible controller" in readme
    )
    assert "     sh controller/setup.sh [--python /path/to/python3.11] [--venv DIR]" in readme
    again = pack_inputs(
        inputs, tmp_path / "b" / "kit-demo.tar.gz", controller_wheelhouse=controller_wh
    )
    assert again.archive.read_bytes() == result.archive.read_bytes()


def test_readme_controller_build_path_names_the_kits_own_tarballs(
    inputs: dict[str, Path], controller_wh: Path, tmp_path: Path
) -> None:
    without = pack_inputs(
        inputs, tmp_path / "a" / "kit-demo.tar.gz", controller_wheelhouse=controller_wh
    )
    assert any(n.startswith("no CPython 3.11 source in the kit") for n in without.notes)
    assert "bundler fetch-source python 3.11." in _readme(without.archive)
    (inputs["sources"] / "Python-3.11.9.tgz").write_bytes(b"placeholder, not CPython\n")
    (inputs["sources"] / "openssl-1.1.1w.tar.gz").write_bytes(b"placeholder, not OpenSSL\n")
    result = pack_inputs(
        inputs, tmp_path / "b" / "kit-demo.tar.gz", controller_wheelhouse=controller_wh
    )
    assert not any("CPython 3.11" in n for n in result.notes)
    assert result.python_source == "Python-3.6.15.tgz"  # the hosts' interpreter is unchanged
    readme = _readme(result.archive)
    assert "--tags media_repo,python_build" in readme
    assert "-e python_version=3.11.9" in readme
    assert "builds sources/Python-3.11.9.tgz against sources/openssl-1.1.1w.tar.gz" in readme
    assert "sh controller/setup.sh --python /usr/local/bin/python3.11" in readme


def _controller_build_command(readme: str) -> list[str]:
    """The `ansible-playbook ... --tags media_repo,python_build` command of README.txt."""
    section = readme[readme.index("A CentOS 7 controller") : readme.index("Application wheels")]
    lines = [ln.strip() for ln in section.splitlines()]
    start = next(i for i, ln in enumerate(lines) if ln.startswith("ansible-playbook "))
    text = ""
    for line in lines[start:]:
        text += line.removesuffix("\\") + " "
        if not line.endswith("\\"):
            break
    return text.split()


def test_readme_controller_build_command_selects_media_repo_and_python_build(
    controller_wh: Path, tmp_path: Path
) -> None:
    """README.txt's CentOS 7 command, as printed, from the kit's real playbooks/: it parses
    (inventory `localhost,`, `-c local`, the -e values) and selects kit_verify, then the
    media_repo and python_build roles (--list-tasks: nothing is run; the build itself is proven
    on localhost by tests/e2e/test_playbooks_site.py)."""
    inputs = handmade_inputs(tmp_path / "in")
    inputs["playbooks"] = REPO / "playbooks"
    (inputs["sources"] / "Python-3.11.9.tgz").write_bytes(b"placeholder, not CPython\n")
    kit_dir = _unpack(_kit(inputs, controller_wh, tmp_path / "out"), tmp_path / "far")
    argv = _controller_build_command((kit_dir / "README.txt").read_text())
    assert argv[:2] == ["ansible-playbook", "-i"] and "python_version=3.11.9" in argv
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["HOME"] = str(tmp_path / "home")
    listed = subprocess.run(
        [str(Path(sys.executable).parent / argv[0]), *argv[1:], "--list-tasks"],
        capture_output=True, text=True, cwd=kit_dir / "playbooks", env=env, timeout=300,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stdout + listed.stderr
    # Each role's argument-spec validation is tagged `always` by Ansible: it is listed (and runs,
    # checking the variables only) for every role; the roles' own tasks are what --tags selects.
    roles = {
        ln.split(" : ")[0].strip()
        for ln in listed.stdout.splitlines()
        if " : " in ln and "Validating arguments against arg spec" not in ln
    }
    # kit_verify (tagged always) checks the kit first: the command carries kit_allow_unsigned
    assert roles == {"kit_verify", "media_repo", "python_build"}, listed.stdout
    assert "kit_allow_unsigned=true" in argv
    assert "python_build : Check the Python build settings." in listed.stdout


def test_pack_refuses_a_missing_foreign_or_damaged_controller_wheelhouse(
    inputs: dict[str, Path], controller_wh: Path, tmp_path: Path, fake_index: FakeIndex
) -> None:
    out = tmp_path / "out"
    with pytest.raises(
        BadInput, match=r"no controller wheelhouse at .*fetch-controller.*--no-controller"
    ):
        _kit(inputs, tmp_path / "nowhere", out)
    # ansible-core 2.17 (fetched by hand with `bundler fetch`): its modules drop 2.7/3.6 hosts
    fake_index.add(
        stand_in_ansible_core(fake_index.root / "files", "2.17.0"), requires_python=">=3.10"
    )
    fake_index.add_wheel("resolvelib", "1.0.1")
    wrong = tmp_path / "wrong"
    fetched = CliRunner().invoke(main, [
        "fetch", "ansible-core", "--python", "3.11", "--platform", "manylinux2014",
        "-o", str(wrong), "--index-url", fake_index.url, "--cache-dir", str(tmp_path / "cache"),
        "--no-audit", "--no-rehearse",
    ])  # fmt: skip
    assert fetched.exit_code == 0, fetched.output
    with pytest.raises(BadInput, match=r"ansible-core 2\.17\.0 is not ansible-core<2\.17,>=2\.16"):
        _kit(inputs, wrong, out)
    damaged = tmp_path / "damaged"
    shutil.copytree(controller_wh, damaged)
    (damaged / STAND_IN).write_bytes(b"not the wheel that was fetched")
    with pytest.raises(BadInput, match=rf"{STAND_IN}: sha256 differs from manifest\.json"):
        _kit(inputs, damaged, out)
    assert not list(out.glob("kit-demo*"))


def test_cli_pack_takes_the_controller_wheelhouse_next_to_the_wheelhouse(
    inputs: dict[str, Path], controller_wh: Path, tmp_path: Path
) -> None:
    args = [
        "pack", "--wheelhouse", str(inputs["wheelhouse"]), "--sources", str(inputs["sources"]),
        "--playbooks", str(inputs["playbooks"]), "--vagrantfile", str(inputs["vagrantfile"]),
        "-o", str(tmp_path / "kit-demo.tar.gz"),
    ]  # fmt: skip
    missing = CliRunner().invoke(main, args)
    assert missing.exit_code == 2
    assert "run `bundler fetch-controller -o" in missing.output
    skipped = CliRunner().invoke(main, [*args, "--no-controller"])
    assert skipped.exit_code == 0, skipped.output
    assert "controller: NONE" in skipped.output
    shutil.copytree(controller_wh, inputs["wheelhouse"].parent / "controller-wheelhouse")
    packed = CliRunner().invoke(main, args)
    assert packed.exit_code == 0, packed.output
    assert (
        f"controller: ansible-core {STAND_IN_VERSION} (2 packages) for CPython 3.11"
        in packed.output
    )


def test_sbom_lists_the_controller_wheels_apart_from_the_applications(
    inputs: dict[str, Path], controller_wh: Path, tmp_path: Path
) -> None:
    kit = _kit(inputs, controller_wh, tmp_path / "out")
    with tarfile.open(kit) as tar:
        text = tar.extractfile(f"kit-demo/{sbom.FILENAME}").read().decode()  # type: ignore[union-attr]
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    doc = json.loads(text)
    comps = {c["bom-ref"]: c for c in doc["components"]}
    core = comps["controller:pypi:ansible-core"]
    assert core["version"] == STAND_IN_VERSION
    assert {"name": "airgap-kit:role", "value": "controller"} in core["properties"]
    assert "pypi:demoapp" in comps and "pypi:ansible-core" not in comps
    deps = {d["ref"]: d.get("dependsOn", []) for d in doc["dependencies"]}
    assert "controller:pypi:ansible-core" in deps["kit:kit-demo"]
    assert deps["controller:pypi:ansible-core"] == ["controller:pypi:resolvelib"]
    # the same application, another controller: another SBOM serial number
    plain = json.loads(sbom.render("kit-demo", manifest_mod.load(inputs["wheelhouse"]), [], 0))
    assert plain["serialNumber"] != doc["serialNumber"]


# -- verify -------------------------------------------------------------------------------------


def test_verify_checks_the_controller_like_the_application(
    inputs: dict[str, Path], controller_wh: Path, tmp_path: Path
) -> None:
    kit = _kit(inputs, controller_wh, tmp_path / "out")
    result = CliRunner().invoke(main, ["verify", str(kit)])
    assert result.exit_code == 0, result.output
    assert (
        f"ok: controller: ansible-core {STAND_IN_VERSION} (2 packages) for CPython 3.11"
        in result.output
    )
    assert "2 wheels checked" in result.output
    kit_dir = _unpack(kit, tmp_path / "u")
    wheel = kit_dir / "controller" / "wheelhouse" / STAND_IN
    data = bytearray(wheel.read_bytes())
    data[len(data) // 2] ^= 0xFF
    wheel.write_bytes(bytes(data))
    (kit_dir / "controller" / "setup.sh").unlink()
    with pytest.raises(CheckFailed) as exc:
        verify.verify([kit_dir])
    problems = exc.value.problems
    assert (
        f"controller/wheelhouse/{STAND_IN}: sha256 differs from SHA256SUMS (modified or damaged)"
        in problems
    )
    assert f"controller/wheelhouse/{STAND_IN}: sha256 differs from manifest.json" in problems
    assert "controller/setup.sh: missing from the kit" in problems


def test_verify_names_a_controller_ansible_core_outside_the_policy(
    inputs: dict[str, Path], controller_wh: Path, tmp_path: Path
) -> None:
    """Even with SHA256SUMS rewritten to match, a manifest claiming ansible-core 2.17 fails."""
    kit_dir = _unpack(_kit(inputs, controller_wh, tmp_path / "out"), tmp_path / "u")
    path = kit_dir / controller.MANIFEST
    data = json.loads(path.read_text())
    for package in data["packages"]:
        if package["name"] == "ansible-core":
            package["version"] = "2.17.0"
    path.write_text(json.dumps(data))
    sums = kit_dir / "SHA256SUMS"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    sums.write_text(
        "".join(
            f"{digest}  {controller.MANIFEST}\n"
            if line.endswith(f"  {controller.MANIFEST}")
            else f"{line}\n"
            for line in sums.read_text().splitlines()
        )
    )
    with pytest.raises(CheckFailed) as exc:
        verify.verify([kit_dir])
    assert (
        f"{controller.MANIFEST}: ansible-core 2.17.0 is not ansible-core<2.17,>=2.16 (the last "
        "release whose modules run on Python 2.7 and 3.6 hosts)"
    ) in exc.value.problems
    assert not [p for p in exc.value.problems if "SHA256SUMS" in p]


def test_verify_notes_a_kit_without_controller(inputs: dict[str, Path], tmp_path: Path) -> None:
    report = verify.verify([_kit(inputs, None, tmp_path / "out")])
    assert report.controller == ""
    assert any(
        n.startswith("no controller/ part (packed with --no-controller)") for n in report.notes
    )


# -- inspect -------------------------------------------------------------------------------------


def test_inspect_shows_the_controller_in_text_json_and_html(
    inputs: dict[str, Path], controller_wh: Path, tmp_path: Path
) -> None:
    kit = _kit(inputs, controller_wh, tmp_path / "out")
    lines = CliRunner().invoke(main, ["inspect", str(kit)]).output.splitlines()
    assert (
        f"controller: ansible-core {STAND_IN_VERSION} (2 packages) for CPython 3.11"
        in "\n".join(lines)
    )
    assert "  setup: sh controller/setup.sh; CPython 3.11 source: NONE" in lines
    summary = json.loads(CliRunner().invoke(main, ["inspect", "--json", str(kit)]).output)
    assert summary["controller"]["ansible_core"] == STAND_IN_VERSION
    assert summary["controller"]["packages"] == 2
    assert summary["controller"]["python_short"] == "3.11"
    assert summary["controller"]["problems"] == []
    html = kitinfo.render_html(kitinfo.read([kit]))
    assert "The controller (ansible-core)" in html and STAND_IN in html
    assert f"ansible-core {STAND_IN_VERSION}</b>" in html  # the summary card
    bare = kitinfo.read([_kit(inputs, None, tmp_path / "bare")])
    assert bare.controller is None and bare.summary()["controller"] is None
    assert "controller: none (no ansible-core in the kit)" in bare.lines()
    assert "No controller part" in kitinfo.render_html(bare)


# -- controller/setup.sh -------------------------------------------------------------------------


def test_setup_sh_is_posix_sh(controller_wh: Path, tmp_path: Path) -> None:
    script = tmp_path / "setup.sh"
    script.write_text(controller_setup.prepare(controller_wh).setup_sh)
    checked = subprocess.run(
        ["shellcheck", "-s", "sh", str(script)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout


def _run_setup(
    kit_dir: Path, *args: str, path: str | None = None, home: bool = True
) -> subprocess.CompletedProcess[str]:
    drop = ("PIP_", "ANSIBLE_", "XDG_", "HOME")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    if home:
        env["HOME"] = str(kit_dir.parent / "home")
    if path is not None:
        env["PATH"] = path
    argv = ["sh", str(kit_dir / "controller" / "setup.sh"), *args]
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"]).returncode == 0:
        argv = [unshare, "-n", *argv]  # nothing may come from the network
    return subprocess.run(
        argv, capture_output=True, text=True, env=env, cwd=kit_dir.parent, timeout=300
    )


@pytest.mark.e2e
def test_setup_sh_makes_the_venv_offline_and_checks_ansible_playbook(
    inputs: dict[str, Path], controller_wh: Path, tmp_path: Path
) -> None:
    python311 = require_python("3.11.7")
    # a kit and a HOME in a directory whose name holds a space and a quote
    kit_dir = _unpack(_kit(inputs, controller_wh, tmp_path / "out"), tmp_path / "far o'way")
    venv = kit_dir.parent / "home" / ".local/share/airgap-kit" / f"ansible-core-{STAND_IN_VERSION}"
    ran = _run_setup(kit_dir, "--python", str(python311))  # the default venv, under $HOME
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert f"setup.sh: ok: ansible-playbook [core {STAND_IN_VERSION}] in {venv}" in ran.stdout
    quoted = str(venv).replace("'", "'\\''")
    assert f"  '{quoted}/bin/ansible-playbook' -i inventory/hosts.ini site.yml" in ran.stdout
    shown = subprocess.run([str(venv / "bin" / "ansible-playbook")], capture_output=True, text=True)
    assert shown.stdout.splitlines()[1] == "  python version = 3.11.7"
    _run_printed_commands(ran.stdout, kit_dir, venv, tmp_path / "elsewhere")

    # a relative --venv and --python are the caller's: absolute in every printed command
    python_dir = kit_dir.parent / "py thon"
    python_dir.mkdir()
    (python_dir / "python3.11").symlink_to(python311)
    rel = _run_setup(kit_dir, "--python", "py thon/python3.11", "--venv", "my venv")
    assert rel.returncode == 0, rel.stdout + rel.stderr
    assert f"in {kit_dir.parent / 'my venv'}" in rel.stdout
    _run_printed_commands(rel.stdout, kit_dir, kit_dir.parent / "my venv", tmp_path / "elsewhere")


def _run_printed_commands(stdout: str, kit_dir: Path, venv: Path, cwd: Path) -> None:
    """Run the commands setup.sh printed, as the operator pastes them, from another directory:
    they must reach the kit's playbooks/ and the venv whatever the paths hold."""
    lines = stdout.split("Run the playbooks with it", 1)[1].splitlines()
    (cd,) = [line.strip() for line in lines if line.startswith("  cd ")]
    (play,) = [line.strip() for line in lines if "/bin/ansible-playbook' -i " in line]
    ansible_playbook = play.split(" -i ", 1)[0]
    (activate,) = [line.split("PATH:  ", 1)[1] for line in lines if line.startswith("or put ")]
    cwd.mkdir(exist_ok=True)
    script = f"{cd} && pwd && {ansible_playbook} --version && {activate} && command -v python"
    ran = subprocess.run(["sh", "-c", script], capture_output=True, text=True, cwd=cwd)
    assert ran.returncode == 0, f"{script}\n{ran.stdout}{ran.stderr}"
    out = ran.stdout.splitlines()
    assert out[0] == str(kit_dir / "playbooks")
    assert f"[core {STAND_IN_VERSION}]" in out[1]
    assert out[-1] == str(venv / "bin" / "python")


@pytest.mark.e2e
def test_setup_sh_refuses_an_ansible_playbook_that_is_not_the_locked_one(
    inputs: dict[str, Path], tmp_path: Path, fake_index: FakeIndex
) -> None:
    python311 = require_python("3.11.7")
    serve_controller(fake_index, reports="2.17.1")  # a wheel whose ansible-playbook lies
    fetched = fetch_controller(fake_index, tmp_path / "liar")
    assert fetched.exit_code == 0, fetched.output
    kit_dir = _unpack(_kit(inputs, tmp_path / "liar", tmp_path / "out"), tmp_path / "far")
    ran = _run_setup(kit_dir, "--python", str(python311), "--venv", str(tmp_path / "venv"))
    assert ran.returncode == 2, ran.stdout + ran.stderr
    assert (
        f"reports 'ansible-playbook [core 2.17.1]', not ansible-core {STAND_IN_VERSION}"
        in ran.stderr
    )


def test_setup_sh_refuses_another_python_and_names_what_it_tried(
    inputs: dict[str, Path], controller_wh: Path, tmp_path: Path, python36: Path
) -> None:
    kit_dir = _unpack(_kit(inputs, controller_wh, tmp_path / "out"), tmp_path / "far")
    wrong = _run_setup(kit_dir, "--python", str(python36))
    assert wrong.returncode == 2
    assert (
        f"setup.sh: error: '{python36}' is Python 3.6, but this controller wheelhouse is for "
        "CPython 3.11"
    ) in wrong.stderr
    tools = tmp_path / "tools"  # a PATH with the shell tools setup.sh uses, and no Python
    tools.mkdir()
    for tool in ("sh", "dirname", "sed", "cat"):
        (tools / tool).symlink_to(shutil.which(tool) or tool)
    homeless = _run_setup(kit_dir, "--python", str(python36), home=False)
    assert homeless.returncode == 2
    assert "setup.sh: error: HOME is not set: give --venv DIR" in homeless.stderr
    none = _run_setup(kit_dir, path=str(tools))
    assert none.returncode == 2
    assert (
        "setup.sh: error: no CPython 3.11 found (tried: python3.11 /usr/local/bin/python3.11 "
        "python3): give it with --python PATH."
    ) in none.stderr
    assert not (kit_dir.parent / "home").exists()  # no venv was begun


def test_setup_sh_help_says_an_existing_venv_is_synced(controller_wh: Path, tmp_path: Path) -> None:
    """#16 second review finding 6: --venv DIR uninstalls what the lock does not list (through
    install.sh, as pip-sync does); the usage text says so, and ends before the script's code."""
    script = tmp_path / "setup.sh"
    script.write_text(controller_setup.prepare(controller_wh).setup_sh)
    shown = subprocess.run(["sh", str(script), "--help"], capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    text = " ".join(shown.stdout.split())
    assert "packages in it that the lock does not list are UNINSTALLED" in text, text
    assert "set -eu" not in shown.stdout
