"""The whole carry: fetch -> fetch-source -> pack -> verify -> unpack -> install.sh offline.

Hermetic: the wheelhouse comes from the real `bundler fetch` against the fake index
(tests/fakeindex.py, tiny real wheels on 127.0.0.1), the controller wheelhouse from the real
`bundler fetch-controller` against the same index (a stand-in ansible-core,
tests/unit/kit/controller_kit.py), the source tarball from `--from` a local file, and the kit
carries the repository's real playbooks/ and Vagrantfile. On the far side
the kit is verified and unpacked by `bundler verify --unpack`, then the wheelhouse's
install.sh installs into the real CPython 3.6.15 (pip 18.1) under `unshare -n` (no network).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bundler.cli import main
from tests.fakeindex import FakeIndex
from tests.unit.kit.controller_kit import STAND_IN_VERSION, fetch_controller, serve_controller
from tests.unit.kit.pysource_kit import FIT_3_6_10

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def index(tmp_path: Path) -> Iterator[FakeIndex]:
    with FakeIndex(tmp_path / "fakeindex") as fake:
        fake.add_wheel("app", "1.0", requires_dist=["lib>=1", "numpyish"], requires_python=">=3.6")
        fake.add_wheel("lib", "1.0", requires_dist=["tiny", "win-only; sys_platform == 'win32'"])
        fake.add_wheel("tiny", "0.3", requires_python=">=3.6")
        fake.add_wheel("numpyish", "1.19.5", tags="cp36-cp36m-manylinux1_x86_64")
        serve_controller(fake)
        yield fake


def _bundler(*args: str | Path) -> Result:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result


def _fetch_app(tmp_path: Path, index: FakeIndex, python: str) -> Path:
    """`bundler fetch app` for cp`python`/manylinux1 into tmp_path/wheelhouse."""
    wh = tmp_path / "wheelhouse"
    fetched = _bundler(
        "fetch", "app", "--python", python, "--platform", "manylinux1",
        "--index-url", index.url, "--cache-dir", tmp_path / "cache", "-o", wh,
        "--no-rehearse",  # the kit is installed for real by the tests below
    )  # fmt: skip
    assert fetched.exit_code == 0, fetched.output
    return wh


def _connected_side(tmp_path: Path, index: FakeIndex) -> Path:
    """fetch + fetch-controller + fetch-source + pack, as on the connected machine; returns the
    kit archive."""
    _fetch_app(tmp_path, index, "3.6.15")
    fetched = fetch_controller(index, tmp_path / "controller-wheelhouse")  # pack's default place
    assert fetched.exit_code == 0, fetched.output
    src = tmp_path / "sources"
    zlib = tmp_path / "download" / "zlib-9.9.tar.gz"
    zlib.parent.mkdir()
    zlib.write_bytes(b"stand-in for a zlib tarball the user downloaded\n")
    sha = hashlib.sha256(zlib.read_bytes()).hexdigest()
    added = _bundler("fetch-source", "zlib", "9.9", "--from", zlib, "--sha256", sha, "-o", src)
    assert added.exit_code == 0, added.output
    return _pack(tmp_path, tmp_path / "out" / "kit-app.tar.gz")


def _pack(tmp_path: Path, output: Path) -> Path:
    packed = _bundler(
        "pack", "--wheelhouse", tmp_path / "wheelhouse", "--sources", tmp_path / "sources",
        "--playbooks", REPO / "playbooks", "--vagrantfile", REPO / "Vagrantfile", "-o", output,
    )  # fmt: skip
    assert packed.exit_code == 0, packed.output
    assert "CPython source: NONE" in packed.output
    assert f"controller: ansible-core {STAND_IN_VERSION} (2 packages)" in packed.output
    return output


@pytest.mark.e2e
def test_pack_verify_unpack_install_offline(
    tmp_path: Path, index: FakeIndex, python36: Path
) -> None:
    kit = _connected_side(tmp_path, index)

    # -- the other side: verify, unpack, install with no network --------------------------------
    far = tmp_path / "far"
    verified = _bundler("verify", kit, "--unpack", far)
    assert verified.exit_code == 0, verified.output
    assert "ok: kit-app.tar.gz (archive)" in verified.output
    assert "4 wheels for CPython 3.6.15" in verified.output
    assert f"ok: controller: ansible-core {STAND_IN_VERSION} (2 packages)" in verified.output
    kit_dir = far / "kit-app"
    for part in ("playbooks/site.yml", "playbooks/inventory/hosts.example.ini", "Vagrantfile"):
        assert (kit_dir / part).is_file(), part
    sums = subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=kit_dir)
    assert sums.returncode == 0
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    install = subprocess.run(
        ["unshare", "-n", "sh", str(kit_dir / "wheelhouse" / "install.sh"),
         "--python", str(python36), "--venv", str(venv)],
        capture_output=True, text=True, env={**env, "PIP_CONFIG_FILE": os.devnull}, cwd=far,
    )  # fmt: skip
    assert install.returncode == 0, install.stdout + install.stderr
    assert "Successfully installed app-1.0 lib-1.0 numpyish-1.19.5 tiny-0.3" in install.stdout
    used = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import app, lib, numpyish, tiny, sys; "
         "print(sys.version_info[:2], numpyish.__version__)"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert used.returncode == 0, used.stderr
    assert used.stdout.strip() == "(3, 6) 1.19.5"


def test_real_fetch_output_packs_reproducibly_and_inspects(
    tmp_path: Path, index: FakeIndex
) -> None:
    kit = _connected_side(tmp_path, index)
    again = _pack(tmp_path, tmp_path / "again" / "kit-app.tar.gz")
    assert kit.read_bytes() == again.read_bytes()
    inspected = _bundler("inspect", kit)
    assert inspected.exit_code == 0, inspected.output
    assert "packages: 4 app, 0 pip bootstrap" in inspected.output
    assert "CPython source: NONE" in inspected.output
    assert "sources: zlib-9.9.tar.gz" in inspected.output
    assert f"controller: ansible-core {STAND_IN_VERSION} (2 packages)" in inspected.output


def test_tampered_real_kit_fails_verify_naming_the_wheel(tmp_path: Path, index: FakeIndex) -> None:
    kit = _connected_side(tmp_path, index)
    unpacked = tmp_path / "u"
    assert _bundler("verify", kit, "--unpack", unpacked).exit_code == 0
    wheel = unpacked / "kit-app" / "wheelhouse" / "numpyish-1.19.5-cp36-cp36m-manylinux1_x86_64.whl"
    data = bytearray(wheel.read_bytes())
    data[len(data) // 2] ^= 0xFF
    wheel.write_bytes(bytes(data))
    result = _bundler("verify", unpacked / "kit-app")
    assert result.exit_code == 1
    assert f"wheelhouse/{wheel.name}: sha256 differs from SHA256SUMS" in result.output
    assert f"wheelhouse/{wheel.name}: sha256 differs from manifest.json" in result.output


def _readme_deploy_script(readme: str) -> str:
    """Step 2 of README.txt as a shell script (continuation lines kept, comments dropped)."""
    step = readme[readme.index("2. Deploy with Ansible") : readme.index("3. Or")]
    lines = [ln[5:].split("   #", 1)[0].rstrip() for ln in step.splitlines() if ln[:5] == " " * 5]
    return "set -eu\n" + "\n".join(lines) + "\n"


def test_cpython_3_6_10_source_with_a_3_6_wheelhouse_and_the_readme_commands(
    tmp_path: Path, index: FakeIndex
) -> None:
    """`bundler fetch --python 3.6` (3.6.15) + a Python-3.6.10 tarball (the playbooks'
    default): the kit builds 3.6.10, says so everywhere, verifies, and README's deploy
    commands run from playbooks/ (ansible.cfg read, relative paths right)."""
    wh, src = _fetch_app(tmp_path, index, "3.6"), tmp_path / "sources"
    src.mkdir()
    (src / "Python-3.6.10.tgz").write_bytes(b"stand-in for CPython 3.6.10's source tarball\n")
    kit = tmp_path / "out" / "kit-app.tar.gz"
    packed = _bundler(
        "pack", "--wheelhouse", wh, "--sources", src, "--playbooks", REPO / "playbooks",
        "--vagrantfile", REPO / "Vagrantfile", "-o", kit, "--no-controller",
    )  # fmt: skip
    assert packed.exit_code == 0, packed.output
    fit = FIT_3_6_10
    assert "CPython source: sources/Python-3.6.10.tgz" in packed.output
    assert f"note: {fit}" in packed.output
    inspected = _bundler("inspect", kit)
    assert inspected.exit_code == 0, inspected.output
    assert "python: 3.6.15  CPython source: Python-3.6.10.tgz" in inspected.output
    assert f"  {fit}" in inspected.output
    far = tmp_path / "far"
    verified = _bundler("verify", kit, "--unpack", far)
    assert verified.exit_code == 0, verified.output
    assert f"note: sources/Python-3.6.10.tgz: {fit}" in verified.output
    kit_dir = far / "kit-app"
    readme = (kit_dir / "README.txt").read_text()
    assert fit in readme and "-e python_version=3.6.10" in readme

    # README step 2, run as written, with ansible-playbook only checking (syntax, -v)
    script = _readme_deploy_script(readme)
    assert (
        "cd playbooks\n" in script and "ansible-playbook -i inventory/hosts.ini site.yml" in script
    )
    script = script.replace("ansible-playbook ", "ansible-playbook --syntax-check -v ", 1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["HOME"] = str(tmp_path / "home")
    ran = subprocess.run(
        ["sh", "-c", script], cwd=kit_dir, env=env, capture_output=True, text=True, timeout=300
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert f"Using {kit_dir / 'playbooks' / 'ansible.cfg'} as config file" in ran.stdout
    assert "playbook: site.yml" in ran.stdout
    assert (kit_dir / "playbooks" / "inventory" / "hosts.ini").is_file()
