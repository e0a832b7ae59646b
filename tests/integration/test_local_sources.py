"""Issue #12, local sources: `bundler fetch` with no network at all (`unshare -n`: a network
namespace with no interface but a down loopback) from a --find-links folder (--no-index), a
`file:` PEP 503 tree and a `file:` PEP 691 tree; what the wheelhouse records of them; the
round trip from its own lock; pylock.toml's `path` wheels installed by uv."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
from click.testing import CliRunner

from bundler.cli import main
from bundler.fs.hashing import sha256_file
from tests.conftest import require_python
from tests.fakeindex import FakeIndex

BUNDLER = (sys.executable, "-m", "bundler")
T36 = ("--python", "3.6", "--platform", "manylinux1")
APP_FILES = {
    "app-1.0-py3-none-any.whl",
    "lib-1.0-py3-none-any.whl",
    "numpyish-1.19.5-cp36-cp36m-manylinux1_x86_64.whl",
    "tiny-0.3-py3-none-any.whl",
}


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The same small tree three ways: a folder of files, a PEP 503 HTML tree and a PEP 691
    JSON tree on disk (bandersnatch's layout: simple/<project>/index.*, files beside)."""
    top = tmp_path_factory.mktemp("local-sources")
    trees = {}
    for kind in ("html", "json"):
        fake = FakeIndex(top / kind)
        fake.add_wheel("app", "1.0", requires_dist=["lib>=1", "numpyish"], requires_python=">=3.6")
        fake.add_wheel("lib", "1.0", requires_dist=["tiny"])
        fake.add_wheel("tiny", "0.3", requires_python=">=3.6")
        fake.add_wheel("numpyish", "1.19.5", tags="cp36-cp36m-manylinux1_x86_64")
        fake.add_wheel("numpyish", "1.19.5", tags="cp311-cp311-manylinux2014_x86_64")
        trees[kind] = fake.write_tree(html=kind == "html", pep691=kind == "json").as_uri() + "/"
    folder = top / "wheels"
    shutil.copytree(top / "html" / "files", folder, ignore=shutil.ignore_patterns("*.metadata"))
    return {"folder": str(folder), **trees}


def _bundler(*args: str | Path, offline_ns: bool = True) -> subprocess.CompletedProcess[str]:
    """bundler in a fresh network namespace (`unshare -n`): any network request fails."""
    prefix = ("unshare", "-n") if offline_ns else ()
    cmd = [*prefix, *BUNDLER, *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def _fetch(tmp_path: Path, out: str, *args: str | Path) -> Path:
    wh = tmp_path / out
    cache = tmp_path / f"cache-{out}"
    proc = _bundler("fetch", *args, "-o", wh, "--cache-dir", cache, "--no-rehearse")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr == ""
    return wh


def _records_no_host_path(wh: Path, *host_paths: str) -> None:
    """manifest.json: each package read from a local source has `source: local` and no URL;
    no lock, manifest or pylock.toml names a path of the machine that fetched it."""
    manifest = json.loads((wh / "manifest.json").read_text())
    for package in manifest["packages"]:
        assert (package["source"], package["url"], package["hash_source"]) == (
            "local",
            None,
            "local",
        ), package
        assert package["sha256"] == sha256_file(wh / package["filename"])
    pylock = tomllib.loads((wh / "pylock.toml").read_text())
    for package in pylock["packages"]:
        (wheel,) = package["wheels"]
        assert wheel["path"] == f"./{wheel['name']}" and "url" not in wheel
    for name in ("manifest.json", "pylock.toml", "requirements.lock", "install.sh"):
        text = (wh / name).read_text()
        for path in host_paths:
            assert path not in text, (name, path)
        assert "file:" not in text, name


@pytest.mark.parametrize("kind", ["folder", "html", "json"])
def test_local_only_fetch_under_unshare(tmp_path: Path, sources: dict[str, str], kind: str) -> None:
    """--no-index --find-links FOLDER, or --index-url file:///.../simple/ (HTML or JSON):
    resolved, copied, hash-checked and recorded with no network at all."""
    given = ["--no-index", "--find-links", sources[kind]] if kind == "folder" else []
    given = given or ["--index-url", sources[kind]]
    wh = _fetch(tmp_path, "wh", "app", *T36, *given)
    assert {p.name for p in wh.glob("*.whl")} == APP_FILES
    origin = Path(sources["folder"])
    for name in APP_FILES:
        assert (wh / name).read_bytes() == (origin / name).read_bytes()
    _records_no_host_path(wh, str(origin.parent), str(tmp_path))


def _setuptools_project(root: Path) -> Path:
    """A project with the converter's build-system (setuptools < 69 + wheel): with no index,
    the host's installed backend must build it."""
    (root / "myapp").mkdir(parents=True)
    (root / "myapp" / "__init__.py").write_text("")
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61,<69", "wheel"]\n'
        'build-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "myapp"\nversion = "0.2.0"\nrequires-python = ">=3.6"\n'
        'dependencies = ["app"]\n\n[tool.setuptools]\npackages = ["myapp"]\n'
    )
    return root


def test_round_trip_from_its_own_lock_under_unshare(
    tmp_path: Path, sources: dict[str, str]
) -> None:
    """fetch -> fetch -r WH/requirements.lock --no-index --find-links WH -> the same locks,
    the same bytes; the local project (a setuptools project, built with the host's backend:
    there is no index to fetch a build environment from) included."""
    project = _setuptools_project(tmp_path / "proj")
    first = _fetch(tmp_path, "wh", "--project", project, "--no-index",
                   "--find-links", sources["folder"], *T36)  # fmt: skip
    assert {p.name for p in first.glob("*.whl")} == {*APP_FILES, "myapp-0.2.0-py3-none-any.whl"}
    manifest = json.loads((first / "manifest.json").read_text())
    mine = next(p for p in manifest["packages"] if p["name"] == "myapp")
    assert (mine["source"], mine["url"], mine["built_from"]) == (
        "built",
        None,
        "local project proj",
    )
    again = _fetch(tmp_path, "again", "-r", first / "requirements.lock", "--no-index",
                   "--find-links", first, *T36)  # fmt: skip
    for lock in ("requirements.lock", "pylock.toml"):
        assert (again / lock).read_text() == (first / lock).read_text()
    assert {p.name: p.read_bytes() for p in again.glob("*.whl")} == {
        p.name: p.read_bytes() for p in first.glob("*.whl")
    }


@pytest.mark.slow
def test_pylock_path_wheels_installed_by_uv_offline(
    tmp_path: Path, sources: dict[str, str]
) -> None:
    """An independent reader of the `path` entries: uv installs pylock.toml of a local-only
    fetch for a host-matching target (3.11.7 / manylinux2014) into a real CPython 3.11.7,
    under `unshare -n` too, from the wheels beside it."""
    python311 = require_python("3.11.7")
    wh = _fetch(tmp_path, "wh", "app", "--python", "3.11.7", "--platform", "manylinux2014",
                "--index-url", sources["json"])  # fmt: skip
    assert (wh / "numpyish-1.19.5-cp311-cp311-manylinux2014_x86_64.whl").is_file()
    uv = Path(sys.executable).parent / "uv"
    venv = tmp_path / "v311"
    made = subprocess.run([uv, "venv", "--quiet", "--python", python311, venv], capture_output=True)
    assert made.returncode == 0, made.stderr
    install = subprocess.run(
        ["unshare", "-n", uv, "pip", "install", "--offline", "--no-cache",
         "--python", venv / "bin" / "python", "-r", wh / "pylock.toml"],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    for line in ("+ app==1.0", "+ lib==1.0", "+ numpyish==1.19.5", "+ tiny==0.3"):
        assert line in install.stderr, install.stderr


def test_pip_reads_the_same_file_index(tmp_path: Path, sources: dict[str, str]) -> None:
    """The HTML tree is the layout pip reads for a file: index URL (pip's own download of it,
    offline), so the kit accepts what users already have."""
    proc = subprocess.run(
        ["unshare", "-n", sys.executable, "-m", "pip", "download", "--no-deps", "-d",
         tmp_path / "d", "--index-url", sources["html"], "tiny"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [p.name for p in (tmp_path / "d").iterdir()] == ["tiny-0.3-py3-none-any.whl"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--no-index", "--index-url", "https://pypi.org/simple/"), "exclude each other"),
        (("--no-index", "--find-links", "https://x.example/links/"), "is a remote page"),
        (("--no-index", "--find-links", "file://server/share/"), "another host"),
        (("--index-url", "ftp://mirror.example/simple/"), "only http://, https:// and file://"),
    ],
)
def test_local_only_refusals_are_one_line(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    """Refused before any request (so in-process, no namespace needed): exit 2, the error
    line last (click's usage lines before it for a usage error), no traceback."""
    result = CliRunner().invoke(main, ["fetch", "app", *args, "-o", str(tmp_path / "wh")])
    assert result.exit_code == 2, result.output
    assert message in result.stderr.strip().splitlines()[-1], result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert not (tmp_path / "wh").exists()
