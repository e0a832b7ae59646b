"""build.py: real `pip wheel` builds of tiny local projects (own in-tree backend, no network)."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from bundler import build
from bundler.build import BuildFailed
from bundler.errors import BadInput
from tests.localproject import make_project


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_builds_a_pure_wheel_without_touching_the_project(tmp_path: Path) -> None:
    project = make_project(tmp_path / "proj", "tiny-app", "1.2.0", ("six>=1.0",))
    before = _tree(project)
    wheel = build.build_wheel(project, tmp_path / "out")
    assert wheel == (tmp_path / "out" / "tiny_app-1.2.0-py3-none-any.whl").resolve()
    assert build.is_pure(wheel)
    with zipfile.ZipFile(wheel) as zf:
        assert "Requires-Dist: six>=1.0" in zf.read("tiny_app-1.2.0.dist-info/METADATA").decode()
    assert _tree(project) == before
    assert [p.name for p in (tmp_path / "out").iterdir()] == [wheel.name]


def test_compiled_wheel_is_not_pure(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", tag="cp36-cp36m-linux_x86_64", pure=False)
    wheel = build.build_wheel(project, tmp_path / "out")
    assert not build.is_pure(wheel)


def test_none_any_wheel_with_platlib_root_is_not_pure(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", pure=False)
    wheel = build.build_wheel(project, tmp_path / "out")
    assert wheel.name.endswith("-py3-none-any.whl")
    assert not build.is_pure(wheel)


def test_build_failure_names_the_project_and_the_backend_error(tmp_path: Path) -> None:
    project = make_project(tmp_path / "broken", fail=True)
    with pytest.raises(BuildFailed) as err:
        build.build_wheel(project, tmp_path / "out")
    assert "broken" in str(err.value)
    assert "this test project refuses to build" in str(err.value)
    assert not list((tmp_path / "out").glob("*.whl"))


def test_not_a_project_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(BadInput, match="not a Python project"):
        build.build_wheel(tmp_path / "empty", tmp_path / "out")


def test_cache_reuses_a_wheel_built_from_identical_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path / "p")
    cache = tmp_path / "cache"
    first = build.build_wheel(project, tmp_path / "a", cache_root=cache)

    def no_pip(*args: object) -> Path:
        raise AssertionError("pip wheel ran although the cache holds this build")

    monkeypatch.setattr(build, "_run_pip_wheel", no_pip)
    again = build.build_wheel(project, tmp_path / "b", cache_root=cache)
    assert again.read_bytes() == first.read_bytes()
    (project / "extra.txt").write_text("changed input")
    with pytest.raises(AssertionError, match="pip wheel ran"):
        build.build_wheel(project, tmp_path / "c", cache_root=cache)


def test_digest_ignores_build_output_and_vcs_dirs(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    before = build.source_digest(project)
    for junk in ("build/lib/x.py", ".git/HEAD", "x.egg-info/PKG-INFO", "__pycache__/a.pyc"):
        (project / junk).parent.mkdir(parents=True, exist_ok=True)
        (project / junk).write_text("junk")
    assert build.source_digest(project) == before
    (project / "README").write_text("real input")
    assert build.source_digest(project) != before


def test_pip_env_is_isolated_from_the_machine_pip_config() -> None:
    base = {"PIP_FIND_LINKS": "/opt/wheels", "PIP_INDEX_URL": "x", "PIP_CERT": "/ca", "HOME": "/h"}
    env = build.pip_env(base)
    assert env["PIP_CONFIG_FILE"] == os.devnull
    assert "PIP_FIND_LINKS" not in env and "PIP_INDEX_URL" not in env
    assert env["PIP_CERT"] == "/ca" and env["HOME"] == "/h"
