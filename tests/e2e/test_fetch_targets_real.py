"""One `bundler fetch` for three targets of the converter (PyPI), proven on real interpreters.

- `--target 3.6.15/manylinux1 --target 3.11.7/manylinux2014 --target 3.8.18/manylinux2010/cp38`
  (the pyenv interpreters' own versions): one pool (the converter's universal wheel stored
  once, listed for all three), targets/NAME/ per target; `bundler verify` passes.
- each real interpreter installs through the top install.sh offline (`unshare -n`), which says
  which target it picked, and the converter's self-test passes in that venv; an interpreter no
  target fits (3.7) gets exit 4 and one line.
- the playbooks' `wheels` role on three "hosts" (localhost connections with their own
  interpreter, wheelhouse copy and venvs): the 3.6 and 3.11 hosts each get their target's lock
  of the converter kit (and pass the role's smoke test), the 3.7 host (a small two-target kit of
  six, 3.6 + 3.11) fails with a message naming it and the targets on offer.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_python
from tests.e2e.playbookrun import run_playbook

pytestmark = [pytest.mark.network, pytest.mark.slow, pytest.mark.e2e]

VERSIONS = {"3.6": "3.6.15", "3.11": "3.11.7", "3.8": "3.8.18"}
TARGETS = ("3.6.15/manylinux1", "3.11.7/manylinux2014", "3.8.18/manylinux2010/cp38")
NAMES = ("cp36-manylinux1_x86_64", "cp311-manylinux2014_x86_64", "cp38-manylinux2010_x86_64")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    return {**env, "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def _run(*args: str | Path, offline: bool = False) -> subprocess.CompletedProcess[str]:
    cmd = (["unshare", "-n"] if offline else []) + [str(a) for a in args]
    return subprocess.run(cmd, capture_output=True, text=True, env=_env())


@pytest.fixture(scope="module")
def pythons() -> dict[str, Path]:
    return {xy: require_python(full) for xy, full in VERSIONS.items()}


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory, pythons: dict[str, Path]) -> Path:
    """A kit_dir whose wheelhouse/ is the three-target fetch (rehearsals skipped: the test
    installs each target itself)."""
    kit = tmp_path_factory.mktemp("kit-targets")
    argv = [sys.executable, "-m", "bundler", "fetch", "-o", kit / "wheelhouse", "--no-rehearse"]
    for spec in TARGETS:
        argv += ["--target", spec]
    proc = _run(*argv)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "wheelhouse: " in proc.stdout and "(3 targets; pool: " in proc.stdout
    return kit


def test_one_pool_three_targets(kit: Path) -> None:
    wh = kit / "wheelhouse"
    top = json.loads((wh / "manifest.json").read_text())
    assert [t["name"] for t in top["targets"]] == list(NAMES)
    converter = [p for p in top["packages"] if p["name"] == "asciivideo"]
    assert len(converter) == 1 and converter[0]["targets"] == list(NAMES)
    assert len(list(wh.glob("asciivideo-*.whl"))) == 1  # stored once
    for name in NAMES:
        own = json.loads((wh / "targets" / name / "manifest.json").read_text())
        assert own["pool"] == "../.." and own["name"] == name
        assert any(p["filename"] == converter[0]["filename"] for p in own["packages"])
    proc = _run(sys.executable, "-m", "bundler", "verify", wh)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def venvs(
    kit: Path, pythons: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[Path, subprocess.CompletedProcess[str]]]:
    """Each real interpreter installs through the top install.sh, offline: X.Y -> (venv, run)."""
    root = tmp_path_factory.mktemp("venvs")
    done = {}
    for xy, python in pythons.items():
        venv = root / f"venv-{xy}"
        proc = _run(
            "sh", kit / "wheelhouse" / "install.sh", "--python", python, "--venv", venv,
            offline=True,
        )  # fmt: skip
        done[xy] = (venv, proc)
    return done


def test_each_interpreter_installs_its_target_offline(
    kit: Path, venvs: dict[str, tuple[Path, subprocess.CompletedProcess[str]]], tmp_path: Path
) -> None:
    wh = kit / "wheelhouse"
    for (xy, (venv, proc)), name in zip(venvs.items(), NAMES, strict=True):
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert f"install.sh: target {name} fits" in proc.stdout
        selftest = _run(venv / "bin" / "python", "-m", "asciivideo", "selftest", "--workers", "2")
        assert selftest.returncode == 0, selftest.stdout + selftest.stderr
        assert selftest.stdout.startswith("selftest ok: 240 frames, 2 workers")
        got = _run(venv / "bin" / "python", "-c", "import sys; print(sys.version_info[:2])")
        assert got.stdout.strip() == str(tuple(int(p) for p in xy.split(".")))
    other = require_python("3.7.16")
    proc = _run("sh", wh / "install.sh", "--python", other, "--venv", tmp_path / "v37")
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert proc.stderr.count("\n") == 1
    assert "no target of this wheelhouse fits" in proc.stderr
    assert "cp36-manylinux1_x86_64: Python 3.7, not 3.6" in proc.stderr
    assert not (tmp_path / "v37").exists()


@pytest.fixture(scope="module")
def small_kit(tmp_path_factory: pytest.TempPathFactory, pythons: dict[str, Path]) -> Path:
    """A two-target kit of one small universal wheel (six), so that the playbook run spends
    its time on the pick, not on copying the converter's 170 MB to three hosts."""
    kit = tmp_path_factory.mktemp("kit-small")
    argv = [sys.executable, "-m", "bundler", "fetch", "six==1.16.0", "--no-rehearse"]
    argv += ["-o", kit / "wheelhouse", "--target", TARGETS[0], "--target", TARGETS[1]]
    proc = _run(*argv)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return kit


def test_the_playbooks_pick_per_host(
    kit: Path, small_kit: Path, pythons: dict[str, Path], tmp_path: Path
) -> None:
    """The `wheels` role alone on three local "hosts", each with its own interpreter, wheelhouse
    copy and venvs: the 3.6 and 3.11 hosts (the converter kit: the role's smoke test runs the
    converter's self-test before it switches app_venv) each install their own target's lock
    (the venv is named by that lock's digest, and its install marker records the lock's
    sha256); the 3.7 host (the small two-target kit) fails naming itself and the targets on
    offer, and nothing is made for it (no venv, no wheelhouse copy: the pick comes first)."""
    hosts = {"h36": ("3.6", kit), "h311": ("3.11", kit), "h37": ("3.7", small_kit)}
    python = {**pythons, "3.7": require_python("3.7.16")}
    lines = [
        f"{host} ansible_connection=local ansible_python_interpreter={sys.executable} "
        f"python_interpreter={python[xy]} wheels_dest={tmp_path / host / 'wh'} "
        f"app_venv={tmp_path / host / 'venv'} kit_dir={kit_dir}"
        for host, (xy, kit_dir) in hosts.items()
    ]
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("\n".join(lines) + "\n")
    extra = {"wheels_install_system_packages": False}
    result = run_playbook(inventory, extra, tmp_path / "run", roles=["wheels"], timeout=1200)
    out = result.stdout + result.stderr
    for host, name in (("h36", NAMES[0]), ("h311", NAMES[1])):
        assert result.failures(host) == [], out
        picked = dict(result.task_results(host))[
            "Pick the wheelhouse target that fits the host's interpreter (install.sh --which)."
        ]
        assert picked["stdout"].strip() == name
        lock = kit / "wheelhouse" / "targets" / name / "requirements.lock"
        venv = tmp_path / host / "venv"
        prefix = _run(venv / "bin" / "python", "-c", "import sys; print(sys.prefix)").stdout
        marker = (Path(prefix.strip()) / ".airgap-kit-installed").read_text()
        assert f"requirements.lock {hashlib.sha256(lock.read_bytes()).hexdigest()}" in marker
    failed = "\n".join(result.failures("h37"))
    assert "host h37: no target of the kit fits its Python" in failed, out
    assert ", ".join(NAMES[:2]) in failed
    assert "Python 3.7, not 3.6" in failed
    assert "\\n" not in failed  # install.sh's own last line, no escape (#16 fresh review, 2)
    assert not (tmp_path / "h37" / "venv").exists()
    assert not (tmp_path / "h37" / "wh").exists()  # picked before anything is copied
