"""build.py: real `pip wheel` builds of tiny local projects (own in-tree backend, no network)."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from bundler.errors import BadInput
from bundler.wheelhouse import build
from bundler.wheelhouse.build import BuildFailed
from tests.fakeindex import FakeIndex
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


# -- where the isolated build environment gets its backend ---------------------------------


def test_pip_env_points_pip_at_exactly_the_given_sources(tmp_path: Path) -> None:
    base = {"PIP_INDEX_URL": "https://machine.example/simple", "PIP_NO_INDEX": "1", "HOME": "/h"}
    wheels = tmp_path / "my wheels"
    env = build.pip_env(
        base,
        index_urls=["https://mirror.example/simple/", "http://127.0.0.1:1/extra/"],
        find_links=[str(wheels), "https://mirror.example/links/"],
    )
    assert env["PIP_CONFIG_FILE"] == os.devnull
    assert env["PIP_INDEX_URL"] == "https://mirror.example/simple/"
    assert env["PIP_EXTRA_INDEX_URL"] == "http://127.0.0.1:1/extra/"
    # pip splits PIP_FIND_LINKS on whitespace: a local path goes as an absolute file: URL
    assert env["PIP_FIND_LINKS"].split() == [
        wheels.resolve().as_uri(),
        "https://mirror.example/links/",
    ]
    assert "%20" in env["PIP_FIND_LINKS"].split()[0]
    assert "PIP_NO_INDEX" not in env  # the machine's setting is gone
    no_index = build.pip_env(base, index_urls=[], find_links=[str(wheels)])
    assert no_index["PIP_NO_INDEX"] == "1" and "PIP_INDEX_URL" not in no_index
    default = build.pip_env(base)
    assert not {"PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS"} & set(default)
    with pytest.raises(BadInput, match="contains a space"):
        build.pip_env(base, index_urls=["https://a.example/simple https://b.example/"])


_TINY_BACKEND = """\
\"\"\"tinybackend: a PEP 517 backend served only by the test's index (see test_build.py).\"\"\"
import json, os, zipfile

def get_requires_for_build_wheel(config_settings=None):
    return []

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    with open("project.json") as f:  # the hooks run in the project directory
        p = json.load(f)
    dist = p["name"].replace("-", "_")
    info = "%s-%s.dist-info" % (dist, p["version"])
    files = {
        dist + "/__init__.py": "",
        info + "/METADATA": "Metadata-Version: 2.1\\nName: %s\\nVersion: %s\\n"
        % (p["name"], p["version"]),
        info + "/WHEEL": "Wheel-Version: 1.0\\nGenerator: tinybackend\\n"
        "Root-Is-Purelib: true\\nTag: py3-none-any\\n",
        info + "/RECORD": "",
    }
    name = "%s-%s-py3-none-any.whl" % (dist, p["version"])
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return name
"""


def _backend_wheel(directory: Path) -> Path:
    """tinybackend-1.0-py3-none-any.whl: an installable wheel of the backend above."""
    directory.mkdir(parents=True, exist_ok=True)
    wheel = directory / "tinybackend-1.0-py3-none-any.whl"
    info = "tinybackend-1.0.dist-info"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("tinybackend/__init__.py", _TINY_BACKEND)
        zf.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: tinybackend\nVersion: 1.0\n")
        zf.writestr(
            f"{info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        zf.writestr(f"{info}/RECORD", "")
    return wheel


def _project_needing_tinybackend(root: Path) -> Path:
    project = make_project(root, "needs-backend", "0.3.0")
    (project / "_backend.py").unlink()
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["tinybackend"]\nbuild-backend = "tinybackend"\n'
    )
    return project


def test_isolated_build_takes_its_backend_from_the_given_index(
    tmp_path: Path, fake_index: FakeIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The backend exists only on the 127.0.0.1 index: pip must have been pointed there."""
    fake_index.add(_backend_wheel(tmp_path / "backend"))
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/nothing-here/")  # the machine's
    project = _project_needing_tinybackend(tmp_path / "p")
    cache = tmp_path / "cache"
    wheel = build.build_wheel(
        project, tmp_path / "out", index_urls=[fake_index.url], cache_root=cache
    )
    assert wheel.name == "needs_backend-0.3.0-py3-none-any.whl"
    assert "tinybackend-1.0-py3-none-any.whl" in fake_index.downloads()

    # The cache key is the build's input, not where the backend came from: an offline-style
    # call with no index at all reuses the build instead of failing to find the backend.
    def no_pip(*args: object) -> Path:
        raise AssertionError("pip wheel ran although the cache holds this build")

    monkeypatch.setattr(build, "_run_pip_wheel", no_pip)
    again = build.build_wheel(project, tmp_path / "again", index_urls=[], cache_root=cache)
    assert again.read_bytes() == wheel.read_bytes()


def test_isolated_build_takes_its_backend_from_find_links_without_an_index(
    tmp_path: Path,
) -> None:
    links = tmp_path / "mirror dir"
    _backend_wheel(links)
    project = _project_needing_tinybackend(tmp_path / "p")
    wheel = build.build_wheel(project, tmp_path / "out", index_urls=[], find_links=[str(links)])
    assert wheel.name == "needs_backend-0.3.0-py3-none-any.whl"
    # and without those sources the same build cannot find its backend (nothing else has it)
    with pytest.raises(BuildFailed, match="pip wheel exited"):
        build.build_wheel(project, tmp_path / "none", index_urls=[], find_links=[])


# -- what a host build may be trusted with (PEP 643) --------------------------------------------


def _sdist(
    tmp_path: Path, pkg_info: str, pyproject: str | None = None, setup_py: str | None = None
) -> Path:
    import io
    import tarfile

    files = {"PKG-INFO": pkg_info, **({"pyproject.toml": pyproject} if pyproject else {})}
    files.update({"setup.py": setup_py} if setup_py is not None else {})
    path = tmp_path / "demo-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"demo-1.0/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize(
    ("pkg_info", "problem"),
    [
        ("Metadata-Version: 2.2\nName: demo\nVersion: 1.0\nRequires-Dist: x\n\n", None),
        ("Metadata-Version: 2.4\nName: demo\nVersion: 1.0\nDynamic: Summary\n\n", None),
        ("Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n\n", "not static (Metadata-Version 2.1"),
        ("Metadata-Version: 2.2\nName: demo\nVersion: 1.0\nDynamic: Requires-Dist\n\n",
         "Requires-Dist is Dynamic"),
        ("Metadata-Version: x\nName: demo\n\n", "not static"),
    ],
)  # fmt: skip
def test_static_metadata_problem(tmp_path: Path, pkg_info: str, problem: str | None) -> None:
    found = build.static_metadata_problem(_sdist(tmp_path, pkg_info))
    assert found is None if problem is None else (found is not None and problem in found)


SETUP_PY = (
    "import sys\nfrom setuptools import setup\n"
    "setup(install_requires=['dataclasses'] if sys.version_info < (3, 7) else [])\n"
)
SETUPTOOLS = '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
HATCH = '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'


@pytest.mark.parametrize(
    ("pkg_info", "pyproject", "problem"),
    [
        ("Metadata-Version: 2.4\nName: demo\nVersion: 1.0\n\n", None, "setup.py run by setuptools"),
        ("Metadata-Version: 2.4\nName: demo\nVersion: 1.0\nRequires-Dist: x\n\n", SETUPTOOLS,
         "setup.py run by setuptools (setuptools.build_meta)"),
        ("Metadata-Version: 2.4\nName: demo\nVersion: 1.0\n\n", HATCH, "lists no Requires-Dist"),
        ("Metadata-Version: 2.4\nName: demo\nVersion: 1.0\nRequires-Dist: x\n\n", HATCH, None),
    ],
)  # fmt: skip
def test_a_setup_py_run_by_setuptools_is_dynamic_whatever_pkg_info_says(
    tmp_path: Path, pkg_info: str, pyproject: str | None, problem: str | None
) -> None:
    """setuptools writes Metadata-Version 2.4 and no Dynamic line for a setup.py whose
    install_requires depends on sys.version_info: not a proof of static dependencies."""
    found = build.static_metadata_problem(_sdist(tmp_path, pkg_info, pyproject, SETUP_PY))
    assert found is None if problem is None else (found is not None and problem in found)


def test_build_requires_from_pyproject_or_pep517s_default(tmp_path: Path) -> None:
    info = "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n\n"
    with_pyproject = _sdist(tmp_path, info, '[build-system]\nrequires = ["flit_core>=3.2"]\n')
    assert build.build_requires(with_pyproject) == ["flit_core>=3.2"]
    (tmp_path / "b").mkdir()
    assert build.build_requires(_sdist(tmp_path / "b", info)) == ["setuptools>=40.8.0", "wheel"]
    (tmp_path / "c").mkdir()
    broken = _sdist(tmp_path / "c", info, "[build-system\n")
    with pytest.raises(BadInput, match=r"unreadable pyproject\.toml"):
        build.build_requires(broken)
