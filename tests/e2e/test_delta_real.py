"""Delta kits with the real payload: kit v1 (the converter + numpy/opencv-python from PyPI) and
kit v2 (the converter upgraded to 0.1.1, which now also requires `six`: one upgrade, one extra
package), both for CPython 3.6.15 / manylinux1.

- `bundler pack --base` v1: the delta carries the new asciivideo and six wheels and the files
  that describe the new kit (SHA256SUMS, README.txt, SBOM, manifest, locks) and nothing of the
  10+ MB numpy/opencv wheels, the playbooks or the Vagrantfile;
- `bundler unpack --onto` the unpacked v1 gives a directory equal to the unpacked full v2 pack,
  and `--archive` an archive byte-identical to it; the assembled wheelhouse installs with
  install.sh under `unshare -n` into the real 3.6.15 and the converter's self-test passes;
- a base that is not v1 (one playbook changed, its SHA256SUMS consistent) is refused, exit 2,
  and nothing is written.

Networked (PyPI; the blob cache is the user's, shared with the other e2e fetches).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.e2e.playbookrun import can_run_offline

pytestmark = [pytest.mark.e2e, pytest.mark.network]

REPO = Path(__file__).resolve().parents[2]
BUNDLER = REPO / ".venv" / "bin" / "bundler"
SELFTEST = re.compile(r"^selftest ok: 240 frames, 2 workers, [\d.]+ frames/s$", re.MULTILINE)


def _run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, cwd=cwd,
        env={**env, "PIP_CONFIG_FILE": os.devnull},
    )  # fmt: skip


def _converter_011(dest: Path) -> Path:
    """The converter as its next release: version 0.1.1, `six` added to its dependencies."""
    junk = shutil.ignore_patterns(
        "tests", "benchmarks", ".*", "__pycache__", "*.pyc", "*.egg-info", "build", "dist"
    )
    shutil.copytree(REPO / "converter", dest, ignore=junk)
    pyproject = dest / "pyproject.toml"
    text = pyproject.read_text()
    assert 'version = "0.1.0"' in text and 'dependencies = ["numpy", "opencv-python"]' in text
    text = text.replace('version = "0.1.0"', 'version = "0.1.1"')
    text = text.replace('["numpy", "opencv-python"]', '["numpy", "opencv-python", "six"]')
    pyproject.write_text(text)
    return dest


def _fetch(out: Path, *args: str | Path) -> None:
    # --no-rehearse: install.sh and the self-test below prove the assembled wheelhouse
    proc = _run(
        BUNDLER, "fetch", "--python", "3.6.15", "--platform", "manylinux1", "--no-rehearse",
        "-o", out, *args,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _pack(wheelhouse: Path, output: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    empty_sources = output.parent / "no-sources"
    empty_sources.mkdir(parents=True, exist_ok=True)
    proc = _run(
        BUNDLER, "pack", "--wheelhouse", wheelhouse, "--sources", empty_sources,
        "--playbooks", REPO / "playbooks", "--vagrantfile", REPO / "Vagrantfile",
        "--no-controller", "-o", output, *args,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _tree(root: Path) -> dict[str, tuple[str, int]]:
    return {
        p.relative_to(root).as_posix(): (
            hashlib.sha256(p.read_bytes()).hexdigest(),
            stat.S_IMODE(p.stat().st_mode),
        )
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _archive_tree(archive: Path) -> dict[str, tuple[str, int]]:
    """What `_tree` gives for the archive unpacked: sha256 and mode of every file."""
    out = {}
    with tarfile.open(archive) as tar:
        for m in tar.getmembers():
            f = tar.extractfile(m) if m.isfile() else None
            if f is not None:
                out[m.name.split("/", 1)[1]] = (hashlib.sha256(f.read()).hexdigest(), m.mode)
    return out


def _members(archive: Path) -> list[str]:
    with tarfile.open(archive) as tar:
        return sorted(m.name.split("/", 1)[1] for m in tar.getmembers() if m.isfile())


def test_delta_v1_to_v2_assembles_the_full_v2_and_it_runs(tmp_path: Path, python36: Path) -> None:
    if not can_run_offline():
        pytest.skip("needs `unshare -n` (root or user namespaces) to prove the install offline")
    # -- the connected side: v1, then v2 with a delta against v1 ------------------------------
    _fetch(tmp_path / "wh1")
    _fetch(tmp_path / "wh2", "--project", _converter_011(tmp_path / "converter-0.1.1"))
    v1 = tmp_path / "v1" / "kit-converter.tar.gz"
    _pack(tmp_path / "wh1", v1)
    full = tmp_path / "full" / "kit-converter.tar.gz"
    _pack(tmp_path / "wh2", full)
    v2 = tmp_path / "v2" / "kit-converter.tar.gz"
    packed = _pack(tmp_path / "wh2", v2, "--base", v1)
    delta = v2.with_name("kit-converter.delta.tar.gz")
    assert v2.read_bytes() == full.read_bytes()  # pack --base writes the full kit unchanged

    wheels1 = {p.name for p in (tmp_path / "wh1").glob("*.whl")}
    wheels2 = {p.name for p in (tmp_path / "wh2").glob("*.whl")}
    new_wheels = wheels2 - wheels1
    assert {w.split("-")[0] for w in new_wheels} == {"asciivideo", "six"}, new_wheels
    assert any(w.startswith("asciivideo-0.1.1-") for w in new_wheels)
    carried = [m.removeprefix("kit/") for m in _members(delta) if m.startswith("kit/")]
    assert {f"wheelhouse/{w}" for w in new_wheels} <= set(carried)
    describing = {
        "SHA256SUMS", "README.txt", "sbom.cdx.json", "wheelhouse/manifest.json",
        "wheelhouse/requirements.lock", "wheelhouse/pylock.toml",
    }  # fmt: skip
    assert describing <= set(carried)
    # nothing else: unchanged files (numpy, opencv, install.sh, the audit, the playbooks) stay
    others = set(carried) - describing - {f"wheelhouse/{w}" for w in new_wheels}
    assert others <= {
        "wheelhouse/install.sh", "wheelhouse/system-packages.yml",
        "wheelhouse/SHA256SUMS",  # the wheelhouse's own sums: they list the new wheels
    }, others  # fmt: skip
    assert not any(("numpy" in c or "opencv" in c or "playbooks/" in c) for c in carried)
    full_size, delta_size = full.stat().st_size, delta.stat().st_size
    assert delta_size * 50 < full_size, (delta_size, full_size)  # opencv alone is ~50 MB
    assert re.search(r"^size: delta [\d.]+ KiB instead of [\d.]+ MiB: ", packed.stdout, re.M)

    # -- the far side: v1 unpacked and in use; the delta arrives -------------------------------
    far = tmp_path / "far"
    assert _run(BUNDLER, "unpack", v1, "-o", far / "kit-v1").returncode == 0
    wrong = far / "kit-other"
    shutil.copytree(far / "kit-v1", wrong)
    site = wrong / "playbooks" / "site.yml"
    site.write_text(site.read_text() + "# this host's own change\n")
    sums = wrong / "SHA256SUMS"
    new_sha = hashlib.sha256(site.read_bytes()).hexdigest()
    sums.write_text(
        re.sub(r"^\S+(  playbooks/site\.yml)$", rf"{new_sha}\1", sums.read_text(), flags=re.M)
    )
    refused = _run(BUNDLER, "unpack", delta, "--onto", wrong, "-o", far / "kit-v2")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "was made from kit-converter (SHA256SUMS sha256" in refused.stderr
    assert not (far / "kit-v2").exists()

    done = _run(
        BUNDLER, "unpack", delta, "--onto", far / "kit-v1", "-o", far / "kit-v2", "--archive"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (far / "kit-converter.tar.gz").read_bytes() == full.read_bytes()
    assert _tree(far / "kit-v2") == _archive_tree(full)

    venv = tmp_path / "venv"
    install = _run(
        "unshare", "-n", "sh", far / "kit-v2" / "wheelhouse" / "install.sh",
        "--python", python36, "--venv", venv,
    )  # fmt: skip
    assert install.returncode == 0, install.stdout + install.stderr
    selftest = _run(
        "unshare", "-n", venv / "bin" / "python", "-m", "asciivideo", "selftest", "--workers", "2"
    )
    assert SELFTEST.search(selftest.stdout), selftest.stdout + selftest.stderr
    versions = _run(
        venv / "bin" / "python", "-c",
        "import pkg_resources as p; print(p.get_distribution('asciivideo').version, "
        "p.get_distribution('six').project_name)",
    )  # fmt: skip
    assert versions.stdout.split() == ["0.1.1", "six"], versions.stdout + versions.stderr
