"""bundler.wheelhouse.reproducible, and byte-reproducible builds of the real converter.

The epoch rules are checked on throwaway git repositories and folders. The real proof builds
the converter (real setuptools < 69 and wheel, downloaded once from PyPI into a local
find-links folder: `network`) twice from cold caches, from two copies that differ in file
modes and modification times of build output, under two umasks: the wheels are identical.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from contextlib import nullcontext
from pathlib import Path

import pytest

from bundler.index.client import DEFAULT_INDEX
from bundler.wheelhouse import build, reproducible

REPO = Path(__file__).resolve().parents[3]
COMMIT_DATE = 1_700_000_000  # 2023-11-14T22:13:20Z


def _git(repo: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "GIT_AUTHOR_DATE": f"@{COMMIT_DATE} +0000", "GIT_COMMITTER_DATE": f"@{COMMIT_DATE} +0000",
    }  # fmt: skip
    subprocess.run(["git", "-C", str(repo), *args], env=env, check=True, capture_output=True)


def test_epoch_is_the_last_commit_touching_the_project(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "proj").mkdir(parents=True)
    (repo / "proj" / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "one")
    files = [repo / "proj" / "pyproject.toml"]
    os.utime(files[0], (2_000_000_000, 2_000_000_000))  # a fresh checkout: new mtimes
    assert reproducible.source_date_epoch(repo / "proj", files, {}) == COMMIT_DATE


def test_epoch_outside_git_is_the_newest_file(tmp_path: Path) -> None:
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    for path, when in ((a, 1_600_000_000), (b, 1_650_000_000)):
        path.write_text("x")
        os.utime(path, (when, when))
    assert reproducible.source_date_epoch(tmp_path, [a, b], {}) == 1_650_000_000
    assert reproducible.source_date_epoch(tmp_path, [a], {"SOURCE_DATE_EPOCH": "1234567890"}) == (
        1234567890
    )
    assert reproducible.source_date_epoch(tmp_path, [], {}) == reproducible.ZIP_EPOCH


def test_epoch_of_an_sdist_is_its_newest_member(tmp_path: Path) -> None:
    sdist = tmp_path / "p-1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as tar:
        for name, when in (("p-1.0/PKG-INFO", 1_500_000_000), ("p-1.0/setup.py", 1_550_000_000)):
            info = tarfile.TarInfo(name)
            info.mtime = when
            tar.addfile(info)
    assert reproducible.source_date_epoch(sdist, [], {}) == 1_550_000_000


def test_with_umask_runs_the_command_under_umask_022(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        out = subprocess.run(
            reproducible.with_umask([sys.executable, "-c", "import os; print(os.umask(0))"]),
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        os.umask(old)
    assert out.stdout.strip() == str(0o022)


@pytest.fixture(scope="session")
def setuptools_links(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """setuptools < 69 and wheel (the converter's build requirements, with wheel's own
    dependency packaging), as local wheels."""
    links = tmp_path_factory.mktemp("backend")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--only-binary", ":all:",
         "-d", str(links), "setuptools>=61,<69", "wheel"],
        env=build.pip_env(index_urls=[DEFAULT_INDEX]), capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return links


def _copy_converter(dest: Path, mode: int) -> Path:
    # what a source distribution holds: no tests, no byte code, no tool caches (the suite and
    # linters may have made some moments ago: an sdist member newer than every source file)
    junk = shutil.ignore_patterns(
        "tests", "benchmarks", ".*", "__pycache__", "*.pyc", "*.egg-info", "build", "dist"
    )
    shutil.copytree(REPO / "converter", dest, ignore=junk)
    for path in dest.rglob("*"):
        if path.is_file():
            path.chmod(mode)
    return dest


def _sdist_of(project: Path, dest: Path) -> Path:
    """An sdist of `project` as --build-pure meets one: a tar.gz whose members carry the
    project files' own dates and, here, mode 0600."""
    sdist = dest / "asciivideo-0.1.0.tar.gz"
    dest.mkdir(parents=True)
    with tarfile.open(sdist, "w:gz") as tar:
        for path in sorted(project.rglob("*")):
            info = tar.gettarinfo(str(path), f"asciivideo-0.1.0/{path.relative_to(project)}")
            info.mode = 0o700 if path.is_dir() else 0o600
            with path.open("rb") if path.is_file() else nullcontext() as f:
                tar.addfile(info, f)
    return sdist


@pytest.mark.network
@pytest.mark.slow
def test_converter_wheel_is_byte_identical_across_cold_builds(
    tmp_path: Path, setuptools_links: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two cold builds (each with a new cache): the local project, from a copy with 0644
    files under umask 022; and an sdist of another copy (0600 members) as --build-pure builds
    one, under umask 077. Both take SOURCE_DATE_EPOCH from the newest file (no git here), so
    they must give the same bytes, dated that epoch."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    one = _copy_converter(tmp_path / "one" / "converter", 0o644)
    two = _copy_converter(tmp_path / "two" / "converter", 0o600)
    sdist = _sdist_of(two, tmp_path / "two" / "dist")
    wheels = []
    for source, umask in ((one, 0o022), (sdist, 0o077)):
        old = os.umask(umask)
        try:
            wheels.append(
                build.build_wheel(
                    source,
                    source.parent / "out",
                    index_urls=[],
                    find_links=[str(setuptools_links)],
                    cache_root=source.parent / "cache",  # cold: a new cache each time
                )
            )
        finally:
            os.umask(old)
    assert wheels[0].name == wheels[1].name == "asciivideo-0.1.0-py3-none-any.whl"
    assert wheels[0].read_bytes() == wheels[1].read_bytes()
    with zipfile.ZipFile(wheels[0]) as zf:
        infos = zf.infolist()
    newest = max(int(p.stat().st_mtime) for p in one.rglob("*") if p.is_file())
    assert {i.date_time for i in infos} == {_zip_date(newest)}
    # 0644/0755 from the normalised copy; 0664 is what wheel's WheelFile gives RECORD itself
    assert {(i.external_attr >> 16) & 0o777 for i in infos} <= {0o644, 0o664, 0o755}
    modules = [i.filename for i in infos if i.filename.startswith("asciivideo/")]
    assert modules == sorted(modules) and len(modules) > 10  # wheel writes them sorted


def _zip_date(epoch: int) -> tuple[int, int, int, int, int, int]:
    import time

    t = time.gmtime(epoch)
    return (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec - t.tm_sec % 2)
