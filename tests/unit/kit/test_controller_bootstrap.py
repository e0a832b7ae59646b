"""The controller bootstrap (bundler.kit.controller.bootstrap_policy): ansible-core 2.11 for
CentOS 7's python3 3.6, fetched by `fetch-controller --bootstrap`, packed as
controller/bootstrap/ with controller/bootstrap.sh, checked by verify, shown by inspect and
README.txt; bootstrap.sh's own steps and errors.

The wheelhouses come from the real `bundler fetch-controller` against the fake index serving
STAND-IN ansible-core wheels (tests/unit/kit/controller_kit.py: their `ansible-playbook` only
prints its version and logs its arguments); the application side is the HAND-MADE kit of
handmade_kit.py. bootstrap.sh runs for real with pyenv's CPython 3.6.15 standing in for CentOS
7's python3 and 3.11.7 for the Python it builds. The real ansible-core 2.11 from PyPI running
playbooks/build-python.yml: tests/e2e/test_controller_real.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from bundler.cli import main
from bundler.errors import BadInput, CheckFailed, UnknownTarget
from bundler.kit import controller, controller_setup, sbom, verify
from bundler.kit import info as kitinfo
from bundler.models import manifest as manifest_mod
from tests.conftest import require_python
from tests.fakeindex import FakeIndex
from tests.unit.kit.controller_kit import (
    BOOTSTRAP_VERSION,
    STAND_IN_VERSION,
    fetch_controller,
    serve_bootstrap,
    serve_controller,
    stand_in_ansible_core,
)
from tests.unit.kit.handmade_kit import handmade_inputs, pack_inputs

REPO = Path(__file__).resolve().parents[3]
BOOT_WHEEL = f"ansible_core-{BOOTSTRAP_VERSION}-py3-none-any.whl"


@pytest.fixture(scope="module")
def wheelhouses(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(controller wheelhouse, bootstrap wheelhouse) from one fake index, which also offers
    ansible-core 2.12.0 (excluded by the bootstrap's <2.12) and 2.16/2.17 stand-ins."""
    python36 = require_python("3.6.15")
    root = tmp_path_factory.mktemp("bootstrap")
    with FakeIndex(root / "index") as index:
        serve_controller(index)
        serve_bootstrap(index)
        newer = stand_in_ansible_core(index.root / "files", "2.12.0", requires_python=">=3.8")
        index.add(newer, requires_python=">=3.8")
        main_wh = root / "controller-wheelhouse"
        boot_wh = root / "controller-bootstrap-wheelhouse"
        assert fetch_controller(index, main_wh).exit_code == 0
        fetched = fetch_controller(index, boot_wh, "--bootstrap", "--build-python", str(python36))
    assert fetched.exit_code == 0, fetched.output
    assert "controller bootstrap target: CPython 3.6.8 (cp36m), manylinux2014" in fetched.output
    return main_wh, boot_wh


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, Path]:
    """The hand-made kit's inputs, with the real playbooks/build-python.yml."""
    made = handmade_inputs(tmp_path / "in")
    shutil.copy(REPO / controller.BUILD_PLAYBOOK, made["playbooks"] / "build-python.yml")
    return made


def _pack(inputs: dict[str, Path], wheelhouses: tuple[Path, Path], out: Path) -> Path:
    main_wh, boot_wh = wheelhouses
    return pack_inputs(
        inputs,
        out / "kit-demo.tar.gz",
        controller_wheelhouse=main_wh,
        controller_bootstrap=boot_wh,
    ).archive


def _unpack(archive: Path, dest: Path) -> Path:
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    return dest / "kit-demo"


# -- the policy and fetch-controller --bootstrap ---------------------------------------------------


def test_bootstrap_policy_is_ansible_core_211_for_centos7_python3() -> None:
    rules = controller.bootstrap_policy()
    assert str(rules.ansible_core) == "ansible-core<2.12,>=2.11"
    assert rules.pythons == ("3.6",) and rules.bootstrap
    target = controller.controller_target(None, None, rules)
    assert (target.python_version, target.glibc) == ("3.6.8", (2, 17))
    assert target.platform == "manylinux2014_x86_64"
    assert "release_and_maintenance" in rules.source["bootstrap"]
    with pytest.raises(UnknownTarget, match=r"runs on CPython 3\.6 only"):
        controller.controller_target("3.11", None, rules)
    # the main policy is unchanged by it
    assert controller.policy().pythons == ("3.10", "3.11", "3.12")


def test_fetch_controller_bootstrap_locks_ansible_core_211_for_cpython_36(
    wheelhouses: tuple[Path, Path],
) -> None:
    _, boot_wh = wheelhouses
    data = manifest_mod.load(boot_wh)
    assert data["target"]["python_version"] == "3.6.8"
    assert data["target"]["platform"] == "manylinux2014_x86_64"
    assert data["requirements"] == ["ansible-core<2.12,>=2.11"]
    pins = sorted((p["name"], p["version"]) for p in data["packages"] if p["role"] == "app")
    assert pins == [("ansible-core", BOOTSTRAP_VERSION), ("resolvelib", "1.0.1")]  # not 2.12.0
    # pip 18.1 (3.6.8's ensurepip; CentOS 7's python3-pip is 9.0.3) cannot read manylinux2014:
    # the wheelhouse's own pip bootstrap comes along when a wheel needs it; install.sh is there
    assert (boot_wh / "install.sh").is_file() and (boot_wh / BOOT_WHEEL).is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--bootstrap", "--controller-python", "3.11"],
            "ansible-core<2.12,>=2.11 runs on CPython 3.6 only",
        ),
        (["--build-python", "PY36"], "--build-python is for --bootstrap only"),
        (["--bootstrap", "--build-python", "PY311"], "it is Python 3.11.7, the target is 3.6.8"),
    ],
)
def test_fetch_controller_bootstrap_refuses_bad_options_with_one_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    pythons = {"PY36": require_python("3.6.15"), "PY311": require_python("3.11.7")}
    argv = [str(pythons.get(a, a)) for a in args]
    result = CliRunner().invoke(main, ["fetch-controller", *argv, "-o", str(tmp_path / "c")])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("bundler: error: ") and message in lines[-1], result.output
    assert not (tmp_path / "c").exists()


# -- pack, verify, inspect, README.txt -----------------------------------------------------------


def test_pack_puts_the_bootstrap_and_bootstrap_sh_in_the_kit(
    inputs: dict[str, Path], wheelhouses: tuple[Path, Path], tmp_path: Path
) -> None:
    archive = _pack(inputs, wheelhouses, tmp_path / "a")
    with tarfile.open(archive) as tar:
        members = {m.name: m for m in tar.getmembers()}
        sums = tar.extractfile("kit-demo/SHA256SUMS").read().decode()  # type: ignore[union-attr]
        readme = tar.extractfile("kit-demo/README.txt").read().decode()  # type: ignore[union-attr]
    for name in ("bootstrap.sh", "bootstrap/wheelhouse/install.sh",
                 "bootstrap/wheelhouse/manifest.json", f"bootstrap/wheelhouse/{BOOT_WHEEL}",
                 "setup.sh", "wheelhouse/install.sh"):  # fmt: skip
        assert f"kit-demo/controller/{name}" in members, name
        assert f"  controller/{name}\n" in sums, name
    assert members["kit-demo/controller/bootstrap.sh"].mode == 0o755
    assert f"bootstrap/wheelhouse/ (ansible-core {BOOTSTRAP_VERSION} for CentOS 7's" in readme
    assert "controller/bootstrap.sh does all of it" not in readme  # no CPython 3.11 source
    assert "site.yml, build-python.yml, inventory/hosts.example.ini" in readme  # playbooks/
    (inputs["sources"] / "Python-3.11.9.tgz").write_bytes(b"placeholder, not CPython\n")
    with tarfile.open(_pack(inputs, wheelhouses, tmp_path / "b")) as tar:
        readme = tar.extractfile("kit-demo/README.txt").read().decode()  # type: ignore[union-attr]
    assert "controller/bootstrap.sh does all of it" in readme
    assert "sh controller/bootstrap.sh -- -e kit_allow_unsigned=true" in readme
    assert "yum --disablerepo='*' --enablerepo=c7-media -y install python3" in readme
    assert "CPython 3.11.9 into /usr/local" in readme
    again = _pack(inputs, wheelhouses, tmp_path / "c")
    assert again.read_bytes() == _pack(inputs, wheelhouses, tmp_path / "d").read_bytes()


def test_sbom_lists_the_bootstrap_wheels_as_their_own_part(
    inputs: dict[str, Path], wheelhouses: tuple[Path, Path], tmp_path: Path
) -> None:
    with tarfile.open(_pack(inputs, wheelhouses, tmp_path / "out")) as tar:
        text = tar.extractfile(f"kit-demo/{sbom.FILENAME}").read().decode()  # type: ignore[union-attr]
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    doc = json.loads(text)
    comps = {c["bom-ref"]: c for c in doc["components"]}
    core = comps["controller-bootstrap:pypi:ansible-core"]
    assert core["version"] == BOOTSTRAP_VERSION
    assert {"name": "airgap-kit:role", "value": "controller-bootstrap"} in core["properties"]
    assert comps["controller:pypi:ansible-core"]["version"] == STAND_IN_VERSION
    deps = {d["ref"]: d.get("dependsOn", []) for d in doc["dependencies"]}
    assert "controller-bootstrap:pypi:ansible-core" in deps["kit:kit-demo"]
    assert deps["controller-bootstrap:pypi:ansible-core"] == [
        "controller-bootstrap:pypi:resolvelib"
    ]


def test_pack_refuses_a_missing_or_foreign_bootstrap_wheelhouse(
    inputs: dict[str, Path], wheelhouses: tuple[Path, Path], tmp_path: Path
) -> None:
    main_wh, _ = wheelhouses
    with pytest.raises(BadInput, match=r"fetch-controller --bootstrap.*--no-controller-bootstrap"):
        _pack(inputs, (main_wh, tmp_path / "nowhere"), tmp_path / "a")
    # the 2.16 wheelhouse given as the bootstrap: another ansible-core and another Python
    with pytest.raises(BadInput) as exc:
        _pack(inputs, (main_wh, main_wh), tmp_path / "b")
    assert f"ansible-core {STAND_IN_VERSION} is not ansible-core<2.12,>=2.11" in str(exc.value)
    assert "made for CPython 3.11; ansible-core<2.12,>=2.11 runs on 3.6" in str(exc.value)
    # bootstrap.sh runs playbooks/build-python.yml: playbooks/ without it are refused
    (inputs["playbooks"] / "build-python.yml").unlink()
    with pytest.raises(BadInput, match=r"has no build-python\.yml, which controller/bootstrap"):
        _pack(inputs, wheelhouses, tmp_path / "c")
    assert not list(tmp_path.glob("*/kit-demo*"))


def test_cli_pack_takes_the_bootstrap_next_to_the_wheelhouse_unless_told_not_to(
    inputs: dict[str, Path], wheelhouses: tuple[Path, Path], tmp_path: Path
) -> None:
    main_wh, boot_wh = wheelhouses
    shutil.copytree(main_wh, inputs["wheelhouse"].parent / "controller-wheelhouse")
    args = [
        "pack", "--wheelhouse", str(inputs["wheelhouse"]), "--sources", str(inputs["sources"]),
        "--playbooks", str(inputs["playbooks"]), "--vagrantfile", str(inputs["vagrantfile"]),
    ]  # fmt: skip
    without = CliRunner().invoke(main, [*args, "-o", str(tmp_path / "a" / "kit-demo.tar.gz")])
    assert without.exit_code == 0, without.output
    assert "controller bootstrap: NONE" in without.output
    shutil.copytree(boot_wh, inputs["wheelhouse"].parent / "controller-bootstrap-wheelhouse")
    packed = CliRunner().invoke(main, [*args, "-o", str(tmp_path / "b" / "kit-demo.tar.gz")])
    assert packed.exit_code == 0, packed.output
    assert (
        f"controller bootstrap: ansible-core {BOOTSTRAP_VERSION} (2 packages) for CPython 3.6.8"
        in packed.output
    )
    skipped = CliRunner().invoke(
        main, [*args, "--no-controller-bootstrap", "-o", str(tmp_path / "c" / "kit-demo.tar.gz")]
    )
    assert skipped.exit_code == 0 and "controller bootstrap: NONE" in skipped.output
    with tarfile.open(tmp_path / "c" / "kit-demo.tar.gz") as tar:
        assert not [n for n in tar.getnames() if "bootstrap.sh" in n]
    given = CliRunner().invoke(
        main,
        [*args, "--controller-bootstrap-wheelhouse", str(tmp_path / "nowhere"),
         "-o", str(tmp_path / "d" / "kit-demo.tar.gz")],
    )  # fmt: skip
    assert given.exit_code == 2
    assert (
        given.output.strip()
        .splitlines()[-1]
        .startswith("bundler: error: no controller bootstrap wheelhouse at")
    )


def test_verify_checks_the_bootstrap_and_names_what_is_wrong(
    inputs: dict[str, Path], wheelhouses: tuple[Path, Path], tmp_path: Path
) -> None:
    archive = _pack(inputs, wheelhouses, tmp_path / "out")
    result = CliRunner().invoke(main, ["verify", str(archive)])
    assert result.exit_code == 0, result.output
    assert (
        f"ok: controller bootstrap: ansible-core {BOOTSTRAP_VERSION} (2 packages) for CPython 3.6.8"
    ) in result.output
    kit_dir = _unpack(archive, tmp_path / "u")
    wheel = kit_dir / controller.BOOTSTRAP_WHEELHOUSE / BOOT_WHEEL
    data = bytearray(wheel.read_bytes())
    data[len(data) // 2] ^= 0xFF
    wheel.write_bytes(bytes(data))
    (kit_dir / controller.BOOTSTRAP_SH).unlink()
    (kit_dir / controller.BUILD_PLAYBOOK).unlink()
    with pytest.raises(CheckFailed) as exc:
        verify.verify([kit_dir])
    problems = exc.value.problems
    prefix = controller.BOOTSTRAP_WHEELHOUSE
    assert f"{prefix}/{BOOT_WHEEL}: sha256 differs from manifest.json" in problems, problems
    assert "controller/bootstrap.sh: missing from the kit" in problems
    assert "playbooks/build-python.yml: missing from the kit" in problems


def test_inspect_shows_the_bootstrap_in_text_and_json(
    inputs: dict[str, Path], wheelhouses: tuple[Path, Path], tmp_path: Path
) -> None:
    archive = _pack(inputs, wheelhouses, tmp_path / "out")
    lines = CliRunner().invoke(main, ["inspect", str(archive)]).output.splitlines()
    assert any(
        ln.startswith(
            f"  bootstrap: ansible-core {BOOTSTRAP_VERSION} (2 packages) for CPython 3.6.8"
        )
        for ln in lines
    ), lines
    assert "    run: sh controller/bootstrap.sh (builds the CPython above with " in "\n".join(lines)
    summary = json.loads(CliRunner().invoke(main, ["inspect", "--json", str(archive)]).output)
    boot = summary["controller"]["bootstrap"]
    assert (boot["ansible_core"], boot["python_short"], boot["problems"]) == (
        BOOTSTRAP_VERSION,
        "3.6",
        [],
    )
    plain = pack_inputs(
        inputs, tmp_path / "p" / "kit-demo.tar.gz", controller_wheelhouse=wheelhouses[0]
    )
    info = kitinfo.read([plain.archive])
    assert info.summary()["controller"]["bootstrap"] is None
    assert any(ln.startswith("  bootstrap: none") for ln in info.lines())
    page = kitinfo.render_html(kitinfo.read([archive]))  # the review page shows it too
    shown = page.split('id="controller-bootstrap"', 1)[1].split("</dl>", 1)[0]
    assert f"ansible-core {BOOTSTRAP_VERSION}" in shown and "controller/bootstrap.sh" in shown
    assert '<p id="controller-bootstrap">None' in kitinfo.render_html(info)


# -- controller/bootstrap.sh ----------------------------------------------------------------------


def test_bootstrap_sh_is_posix_sh(wheelhouses: tuple[Path, Path], tmp_path: Path) -> None:
    script = tmp_path / "bootstrap.sh"
    script.write_text(controller_setup.prepare(*wheelhouses).bootstrap.bootstrap_sh)  # type: ignore[union-attr]
    checked = subprocess.run(
        ["shellcheck", "-s", "sh", str(script)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout


def _run(kit_dir: Path, *args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    drop = ("PIP_", "ANSIBLE_", "XDG_", "HOME")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["HOME"] = str(kit_dir.parent / "home")
    env["STAND_IN_ARGV_LOG"] = str(kit_dir.parent / "ansible-playbook.log")
    if path is not None:
        env["PATH"] = path
    argv = ["sh", str(kit_dir / controller.BOOTSTRAP_SH), *args]
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"]).returncode == 0:
        argv = [unshare, "-n", *argv]  # nothing may come from the network
    return subprocess.run(
        argv, capture_output=True, text=True, env=env, cwd=kit_dir.parent, timeout=300
    )


@pytest.mark.e2e
def test_bootstrap_sh_runs_its_three_steps_offline(
    inputs: dict[str, Path], wheelhouses: tuple[Path, Path], tmp_path: Path, python36: Path
) -> None:
    """python3 (3.6.15) -> the bootstrap venv -> its ansible-playbook runs build-python.yml
    with the newest sources/Python-3.11.* -> setup.sh with PREFIX/bin/python3.11 (pyenv's
    3.11.7 prefix stands in for the built one). The stand-in ansible-playbook logs its
    arguments instead of building; the real play: tests/e2e/test_controller_real.py."""
    python311 = require_python("3.11.7")
    for version in ("3.11.2", "3.11.10", "3.11.9"):  # numeric order: 3.11.10 is the newest
        (inputs["sources"] / f"Python-{version}.tgz").write_bytes(b"placeholder\n")
    kit_dir = _unpack(_pack(inputs, wheelhouses, tmp_path / "out"), tmp_path / "far")
    short = _run(kit_dir, "--python-version", "3.11")  # the kit's versions are named
    assert short.returncode == 2 and short.stderr.strip().endswith(
        "CPython 3.11 source of the kit (3.11.2, 3.11.9, 3.11.10), or leave it out for the newest"
    ), short.stderr
    prefix = python311.parent.parent
    ran = _run(
        kit_dir, "--python3", str(python36), "--prefix", str(prefix),
        "--controller-venv", str(tmp_path / "cv"), "--", "-e", "python_build=false",
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    boot_venv = (
        tmp_path / "far" / "home" / ".local/share/airgap-kit" / f"ansible-core-{BOOTSTRAP_VERSION}"
    )
    assert (
        f"bootstrap.sh: 1/3 ansible-core {BOOTSTRAP_VERSION} with {python36} into {boot_venv}"
        in ran.stdout
    )
    assert f"bootstrap.sh: 2/3 CPython 3.11.10 into {prefix}" in ran.stdout
    assert (
        f"setup.sh: ok: ansible-playbook [core {STAND_IN_VERSION}] in {tmp_path / 'cv'}"
        in ran.stdout
    )
    log = tmp_path / "far" / "ansible-playbook.log"
    runs = [json.loads(line) for line in log.read_text().splitlines()]
    (played,) = [run for run in runs if run != ["--version"]]  # both venvs' version checks too
    assert runs.count(["--version"]) == 2
    assert played[:5] == [
        "-i",
        "localhost,",
        "-c",
        "local",
        f"{kit_dir}/playbooks/build-python.yml",
    ]
    assert played[5] == "-e" and json.loads(played[6]) == {
        "python_version": "3.11.10",
        "python_prefix": str(prefix),
    }
    assert played[7:] == ["-e", "python_build=false"]
    shown = subprocess.run(
        [str(boot_venv / "bin" / "ansible-playbook")], capture_output=True, text=True
    )
    assert shown.stdout.splitlines()[1] == "  python version = 3.6.15"
    # relative --venv / --controller-venv are the caller's (bootstrap.sh cd's before step 2)
    # and a relative --prefix with a space reaches the play as one absolute value
    far = tmp_path / "far"
    (far / "py prefix").symlink_to(prefix)
    log.unlink()
    again = _run(
        kit_dir, "--python3", str(python36), "--venv", "boot-rel", "--prefix", "py prefix",
        "--controller-venv", "cv-rel", "--", "-e", "python_build=false",
    )  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"into {far / 'boot-rel'} (offline" in again.stdout
    assert f"in {far / 'cv-rel'}" in again.stdout
    (played,) = [
        run for line in log.read_text().splitlines() if (run := json.loads(line))[0] == "-i"
    ]
    assert json.loads(played[6])["python_prefix"] == str(far / "py prefix")


def test_bootstrap_sh_errors_are_one_line(
    inputs: dict[str, Path], wheelhouses: tuple[Path, Path], tmp_path: Path, python36: Path
) -> None:
    python311 = require_python("3.11.7")
    kit_dir = _unpack(_pack(inputs, wheelhouses, tmp_path / "out"), tmp_path / "far")
    wrong = _run(kit_dir, "--python3", str(python311))
    assert wrong.returncode == 2
    assert wrong.stderr.strip() == (
        f"bootstrap.sh: error: '{python311}' is Python 3.11, but the bootstrap wheelhouse is for "
        "CPython 3.6: give one with --python3 PATH"
    )
    other = _run(kit_dir, "--python-version", "3.12.1")
    assert other.returncode == 2 and other.stderr.strip() == (
        "bootstrap.sh: error: --python-version 3.12.1: the controller wheelhouse is for "
        "CPython 3.11"
    )
    # a version without its patch level, or one the kit has no source of, is named as such
    short = _run(kit_dir, "--python-version", "3.11")
    assert short.returncode == 2 and short.stderr.strip() == (
        "bootstrap.sh: error: --python-version 3.11: give the full version X.Y.Z of a CPython "
        "3.11 source of the kit (none), or leave it out for the newest"
    )
    missing = _run(kit_dir, "--python-version", "3.11.99")
    assert missing.returncode == 2 and missing.stderr.strip() == (
        f"bootstrap.sh: error: --python-version 3.11.99: {kit_dir}/sources/ has no "
        "Python-3.11.99.tgz or .tar.xz (the kit's CPython 3.11 sources: none)"
    )
    built = tmp_path / "built"  # a prefix that already holds CPython 3.11: verified, no source
    (built / "bin").mkdir(parents=True)
    (built / "bin" / "python3.11").symlink_to(python311)
    verified = _run(kit_dir, "--python-version", "3.11.99", "--prefix", str(built))
    assert "has no Python-3.11.99" not in verified.stderr, verified.stderr
    unknown = _run(kit_dir, "--frobnicate")
    assert unknown.returncode == 2 and "unknown argument '--frobnicate'" in unknown.stderr
    tools = tmp_path / "tools"  # the shell tools bootstrap.sh uses, and no Python
    tools.mkdir()
    for tool in ("sh", "dirname", "sed"):
        (tools / tool).symlink_to(shutil.which(tool) or tool)
    none = _run(kit_dir, path=str(tools))
    assert none.returncode == 2
    assert none.stderr.startswith(
        "bootstrap.sh: error: no CPython 3.6 found (tried: python3 /usr/bin/python3 python3.6)"
    )
    assert "install python3" in none.stderr and len(none.stderr.strip().splitlines()) == 1
    # no CPython 3.11 source in the kit: step 2 cannot start (after step 1 made the venv)
    nosrc = _run(kit_dir, "--python3", str(python36), "--venv", str(tmp_path / "bv"))
    assert nosrc.returncode == 2
    assert nosrc.stderr.strip().splitlines()[-1] == (
        f"bootstrap.sh: error: {kit_dir}/sources/ has no Python-3.11.*.tgz or .tar.xz: the kit "
        "cannot build the controller's Python (bundler fetch-source python 3.11.X before packing)"
    )
