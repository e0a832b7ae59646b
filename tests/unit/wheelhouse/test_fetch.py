"""fetch.py: the pipeline against the hermetic fake index (tests/fakeindex.py)."""

from __future__ import annotations

import hashlib
import json
import re
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bundler.errors import (
    BadInput,
    HashMismatch,
    MetadataMismatch,
    NoMatchingVersion,
    NoWheelForTarget,
    PackageNotFound,
    RequirementError,
)
from bundler.fs.hashing import sha256_file
from bundler.models.target import Target
from bundler.models.wheel import UnsafeWheel
from bundler.net.blobs import UnhashedFile
from bundler.net.settings import NetworkSettings
from bundler.wheelhouse import build, lockfile
from bundler.wheelhouse import fetch as fetch_mod
from bundler.wheelhouse.fetch import FetchOptions, fetch
from tests.conftest import require_python
from tests.fakeindex import FakeIndex, build_wheel
from tests.localproject import make_project

T36 = Target.from_spec("3.6", "manylinux1")


@pytest.fixture
def index(tmp_path: Path) -> Iterator[FakeIndex]:
    """A fake index with a small tree: app -> (lib, numpyish[cp36m manylinux1]) ; lib -> tiny."""
    with FakeIndex(tmp_path / "fakeindex") as fake:
        fake.add_wheel("app", "1.0", requires_dist=["lib>=1", "numpyish"], requires_python=">=3.6")
        fake.add_wheel("lib", "1.0", requires_dist=["tiny"])
        fake.add_wheel("lib", "2.0", requires_dist=["tiny", "futureonly; python_version>'3.7'"])
        fake.add_wheel("tiny", "0.3")
        fake.add_wheel("numpyish", "1.19.5", tags="cp36-cp36m-manylinux1_x86_64")
        fake.add_wheel("numpyish", "1.20.0", tags="cp37-cp37m-manylinux1_x86_64")
        fake.add_wheel("wide", "1.0", tags="cp36-cp36m-manylinux2014_x86_64")
        for name, version in (("pip", "21.3.1"), ("setuptools", "59.6.0"), ("wheel", "0.37.1")):
            fake.add_wheel(name, version, requires_python=">=3.6")
        yield fake


def _options(tmp_path: Path, fake: FakeIndex, *reqs: str, **kw: object) -> FetchOptions:
    base: dict[str, object] = {
        "target": T36,
        "requirements": reqs,
        "output": tmp_path / "wh",
        "index_urls": (fake.url,),
        "cache_dir": tmp_path / "cache",
    }
    network = {"jobs": 4, "offline": kw.pop("offline", False)}
    base.update(kw)
    return FetchOptions(network=NetworkSettings(**network), **base)  # type: ignore[arg-type]


def _tree(root: Path) -> dict[str, str]:
    return {p.name: sha256_file(p) for p in sorted(root.iterdir())}


def test_fetch_writes_wheels_lock_manifest_and_install_sh(tmp_path: Path, index: FakeIndex) -> None:
    result = fetch(_options(tmp_path, index, "app"))
    out = tmp_path / "wh"
    assert result.output == out.resolve()
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "SHA256SUMS",
        "app-1.0-py3-none-any.whl",
        "install.sh",
        "lib-2.0-py3-none-any.whl",
        "manifest.json",
        "numpyish-1.19.5-cp36-cp36m-manylinux1_x86_64.whl",
        "pylock.toml",
        "requirements.lock",
        "system-packages.yml",
        "tiny-0.3-py3-none-any.whl",
    ]
    entries = {e.name: e for e in lockfile.read(out / "requirements.lock")}
    for record in result.packages:
        assert entries[record.name].hashes == (sha256_file(out / record.filename),)
    assert entries["tiny"].via == ("lib",)
    assert entries["app"].via == ()
    assert not result.bootstrap.needed
    assert result.bootstrap_lock is None and not (out / "bootstrap.lock").exists()


def test_manifest_records_target_files_edges_and_installer(
    tmp_path: Path, index: FakeIndex
) -> None:
    fetch(_options(tmp_path, index, "app"))
    data = json.loads((tmp_path / "wh" / "manifest.json").read_text())
    assert data["schema"] == "airgap-kit/manifest" and data["schema_version"] == 2
    assert data["target"]["python_version"] == "3.6.15"
    assert data["target_notes"] == list(T36.notes)
    assert data["tags"][0] == "cp36-cp36m-manylinux_2_5_x86_64"
    assert data["requirements"] == ["app"]
    assert data["installer"]["bundled_pip"] == "18.1"
    assert data["installer"]["bootstrap"] == []
    by_name = {p["name"]: p for p in data["packages"]}
    numpy = by_name["numpyish"]
    assert numpy["filename"] == "numpyish-1.19.5-cp36-cp36m-manylinux1_x86_64.whl"
    assert numpy["url"] == f"{index.base}/files/{numpy['filename']}"
    assert numpy["sha256"] == sha256_file(tmp_path / "wh" / numpy["filename"])
    assert numpy["size"] == (tmp_path / "wh" / numpy["filename"]).stat().st_size
    assert numpy["role"] == "app" and numpy["via"] == ["app"]
    assert numpy["summary"] == "a test wheel"
    assert by_name["app"]["requires"] == ["lib", "numpyish"]
    assert data["edges"] == [["app", "lib"], ["app", "numpyish"], ["lib", "tiny"]]
    assert data["tool"]["name"] == "airgap-kit"
    assert data["audit"]["distro"] == "centos7"
    assert data["audit"]["system_packages"] == []  # the fake wheels hold no ELF files


def test_no_audit_skips_system_packages(tmp_path: Path, index: FakeIndex) -> None:
    result = fetch(_options(tmp_path, index, "tiny", audit=False))
    assert result.audit is None
    assert not (tmp_path / "wh" / "system-packages.yml").exists()
    assert "audit" not in json.loads((tmp_path / "wh" / "manifest.json").read_text())


def test_unknown_distro_fails_before_the_swap(tmp_path: Path, index: FakeIndex) -> None:
    fetch(_options(tmp_path, index, "tiny"))
    before = _tree(tmp_path / "wh")
    with pytest.raises(BadInput):
        fetch(_options(tmp_path, index, "lib", distro="nosuchdistro"))
    assert _tree(tmp_path / "wh") == before


def test_wheels_the_bundled_pip_cannot_read_bring_a_pip_bootstrap(
    tmp_path: Path, index: FakeIndex
) -> None:
    target = Target.from_spec("3.6", "manylinux2014")
    result = fetch(_options(tmp_path, index, "wide", target=target))
    out = tmp_path / "wh"
    assert result.bootstrap.needed and result.bootstrap.min_pip == "19.3"
    boot = {e.name: e.version for e in lockfile.read(out / "bootstrap.lock")}
    assert boot == {"pip": "21.3.1", "setuptools": "59.6.0", "wheel": "0.37.1"}
    assert [e.name for e in lockfile.read(out / "requirements.lock")] == ["wide"]
    data = json.loads((out / "manifest.json").read_text())
    assert data["installer"]["bootstrap"] == ["pip", "setuptools", "wheel"]
    roles = {p["name"]: p["role"] for p in data["packages"]}
    assert roles == {
        "wide": "app",
        "pip": "bootstrap",
        "setuptools": "bootstrap",
        "wheel": "bootstrap",
    }
    assert "BOOTSTRAP=1" in (out / "install.sh").read_text()


def test_no_requirement_bundles_the_local_project(tmp_path: Path, index: FakeIndex) -> None:
    project = make_project(tmp_path / "proj", "my-app", "0.2.0", ("lib<2",))
    result = fetch(_options(tmp_path, index, project=project))
    assert result.roots == ("my-app==0.2.0",)
    by_name = {p.name: p for p in result.packages}
    assert set(by_name) == {"my-app", "lib", "tiny"}
    assert by_name["lib"].version == "1.0"
    # Built on this machine: the manifest names the project, never a host path or file:// URL.
    assert by_name["my-app"].built_from == "local project proj"
    assert by_name["my-app"].url is None
    assert by_name["lib"].url is not None and by_name["lib"].url.startswith(index.url[:16])
    assert (tmp_path / "wh" / "my_app-0.2.0-py3-none-any.whl").is_file()


def test_several_targets_build_the_local_project_once(
    tmp_path: Path, index: FakeIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no requirement and several targets the local project is built once, and every
    target's lock holds that one wheel."""
    project = make_project(tmp_path / "proj", "my-app", "0.2.0", ("lib<2",))
    built: list[Path] = []
    real = fetch_mod._build

    def counted(source: Path, dest: Path, *args: Any, **kwargs: Any) -> Path:
        built.append(source)
        return real(source, dest, *args, **kwargs)

    monkeypatch.setattr(fetch_mod, "_build", counted)
    t311 = Target.from_spec("3.11", "manylinux2014")
    result = fetch(_options(tmp_path, index, project=project, targets=(T36, t311)))
    assert built == [project.resolve()]
    for one in result.targets:
        assert {p.name for p in one.packages} == {"my-app", "lib", "tiny"}
        assert one.roots == ("my-app==0.2.0",)
    assert sorted(p.name for p in result.output.glob("my_app-*.whl")) == [
        "my_app-0.2.0-py3-none-any.whl"
    ]


def test_missing_converter_is_a_clear_error(
    tmp_path: Path, index: FakeIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fetch_mod, "CONVERTER_DIR", tmp_path / "no-converter")
    with pytest.raises(BadInput, match="converter project is not next to the kit"):
        fetch(_options(tmp_path, index))
    assert not (tmp_path / "wh").exists()


def test_compiled_local_project_is_refused(tmp_path: Path, index: FakeIndex) -> None:
    project = make_project(tmp_path / "p", tag="cp36-cp36m-linux_x86_64", pure=False)
    with pytest.raises(BadInput, match="not pure Python"):
        fetch(_options(tmp_path, index, project=project))


def test_failed_fetch_leaves_the_previous_wheelhouse_untouched(
    tmp_path: Path, index: FakeIndex
) -> None:
    fetch(_options(tmp_path, index, "tiny"))
    before = _tree(tmp_path / "wh")
    index.served("lib-2.0-py3-none-any.whl").tamper = True
    index.pep658 = False  # metadata comes from the (tampered) wheel itself
    with pytest.raises(HashMismatch, match=re.escape("lib-2.0-py3-none-any.whl")):
        fetch(_options(tmp_path, index, "lib", cache_dir=tmp_path / "cache2"))
    assert _tree(tmp_path / "wh") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "cache2", "fakeindex", "wh"]


def test_interrupt_during_download_is_simulated_and_leaves_nothing(
    tmp_path: Path, index: FakeIndex
) -> None:
    """Simulated Ctrl-C: the progress callback raises KeyboardInterrupt mid-download."""

    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fetch(_options(tmp_path, index, "app", on_progress=interrupt))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "fakeindex"]


def test_offline_refetch_uses_only_the_cache(tmp_path: Path, index: FakeIndex) -> None:
    first = fetch(_options(tmp_path, index, "app"))
    before = _tree(tmp_path / "wh")
    index.stop()
    again = fetch(_options(tmp_path, index, "app", offline=True))
    assert _tree(tmp_path / "wh") == before
    assert [p.filename for p in again.packages] == [p.filename for p in first.packages]


def test_offline_without_cache_fails_and_writes_nothing(tmp_path: Path, index: FakeIndex) -> None:
    with pytest.raises(Exception, match="--offline") as err:
        fetch(_options(tmp_path, index, "app", offline=True))
    assert getattr(err.value, "exit_code", None) == 2
    assert not (tmp_path / "wh").exists()


def test_refuses_to_replace_a_directory_that_is_not_a_wheelhouse(
    tmp_path: Path, index: FakeIndex
) -> None:
    (tmp_path / "wh").mkdir()
    (tmp_path / "wh" / "precious.txt").write_text("keep me")
    with pytest.raises(BadInput, match="not a wheelhouse"):
        fetch(_options(tmp_path, index, "tiny"))
    assert (tmp_path / "wh" / "precious.txt").read_text() == "keep me"


def test_a_folder_with_a_foreign_manifest_json_survives_even_replace(
    tmp_path: Path, index: FakeIndex
) -> None:
    """Review of #10/#18, defect 1: any folder with a manifest.json passed for a wheelhouse
    and `--replace` wiped it (src/main.js gone)."""
    proj = tmp_path / "wh"
    (proj / "src").mkdir(parents=True)
    (proj / "manifest.json").write_text('{"manifest_version":3}\n')
    (proj / "src" / "main.js").write_text("x\n")
    for replace in (False, True):
        with pytest.raises(BadInput, match=r"not a wheelhouse \(manifest\.json: not an airgap"):
            fetch(_options(tmp_path, index, "tiny", replace=replace))
    assert (proj / "src" / "main.js").read_text() == "x\n"
    assert sorted(p.name for p in proj.iterdir()) == ["manifest.json", "src"]


def test_a_wheelhouse_someone_added_a_file_to_is_not_replaced(
    tmp_path: Path, index: FakeIndex
) -> None:
    fetch(_options(tmp_path, index, "tiny"))
    (tmp_path / "wh" / "notes.txt").write_text("mine")
    with pytest.raises(BadInput, match=r"not a wheelhouse \(notes\.txt is not a file a fetch"):
        fetch(_options(tmp_path, index, "lib", replace=True))
    assert (tmp_path / "wh" / "notes.txt").read_text() == "mine"


def test_placeholder_files_of_the_output_survive(tmp_path: Path, index: FakeIndex) -> None:
    """The repo's wheelhouse/ holds only .gitkeep: `make fetch` writes into it and keeps it."""
    (tmp_path / "wh").mkdir()
    (tmp_path / "wh" / ".gitkeep").write_text("")
    fetch(_options(tmp_path, index, "numpyish"))
    fetch(_options(tmp_path, index, "lib"))
    assert sorted(p.name for p in (tmp_path / "wh").glob("*.whl")) == [
        "lib-2.0-py3-none-any.whl",
        "tiny-0.3-py3-none-any.whl",
    ]
    assert (tmp_path / "wh" / ".gitkeep").is_file()


def test_unknown_package_is_package_not_found(tmp_path: Path, index: FakeIndex) -> None:
    with pytest.raises(PackageNotFound):
        fetch(_options(tmp_path, index, "nosuchthing"))
    assert not (tmp_path / "wh").exists()


def test_local_project_wheel_wins_over_an_index_wheel_of_the_same_name(
    tmp_path: Path, index: FakeIndex
) -> None:
    """The index also has an asciivideo-0.1.0-py3-none-any.whl (other bytes, other
    requirements) and a newer release: the converter built here must be what is bundled."""
    impostor = index.add_wheel("asciivideo", "0.1.0", requires_dist=["tiny"])
    index.add_wheel("asciivideo", "0.2.0")
    project = make_project(tmp_path / "converter", "asciivideo", "0.1.0", ("lib<2",))
    result = fetch(_options(tmp_path, index, project=project))
    assert result.roots == ("asciivideo==0.1.0",)
    by_name = {p.name: p for p in result.packages}
    assert set(by_name) == {"asciivideo", "lib", "tiny"}
    chosen = tmp_path / "wh" / impostor.filename
    assert chosen.is_file()
    assert sha256_file(chosen) != hashlib.sha256(impostor.data).hexdigest()
    assert by_name["asciivideo"].sha256 == sha256_file(chosen)
    assert by_name["asciivideo"].url is None
    assert by_name["asciivideo"].built_from == "local project converter"
    with zipfile.ZipFile(chosen) as zf:
        metadata = zf.read("asciivideo-0.1.0.dist-info/METADATA").decode()
    assert "Summary: test project asciivideo" in metadata
    assert impostor.filename not in index.downloads()
    lock = {e.name: e for e in lockfile.read(tmp_path / "wh" / "requirements.lock")}
    assert lock["asciivideo"].hashes == (sha256_file(chosen),)


def test_the_local_project_build_gets_the_fetch_sources(
    tmp_path: Path, index: FakeIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dict[str, object]] = []
    real = build.build_wheel

    def recording(source: Path, dest: Path, **kwargs: Any) -> Path:
        seen.append(kwargs)
        return real(source, dest, **kwargs)

    monkeypatch.setattr(build, "build_wheel", recording)
    links = tmp_path / "links"
    links.mkdir()
    project = make_project(tmp_path / "proj", "my-app", "0.2.0", ("lib<2",))
    fetch(_options(tmp_path, index, project=project, find_links=(str(links),)))
    assert len(seen) == 1
    assert seen[0]["index_urls"] == (index.url,)
    assert seen[0]["find_links"] == (str(links),)
    assert seen[0]["isolated"] is True


# -- hashed -r files ------------------------------------------------------------------------------


def _hashed(tmp_path: Path, index: FakeIndex, lines: dict[str, str]) -> Path:
    """A pip-compile style file: 'name==version' -> the file whose hash is listed."""
    text = "".join(
        f"{pin} \\\n    --hash=sha256:{hashlib.sha256(index.served(f).data).hexdigest()}\n"
        for pin, f in lines.items()
    )
    path = tmp_path / "hashed.txt"
    path.write_text("# pip-compile --generate-hashes\n" + text)
    return path


def test_hashed_requirement_file_matches(tmp_path: Path, index: FakeIndex) -> None:
    index.add_wheel("tiny", "0.3", tags="cp36-cp36m-manylinux1_x86_64")  # ranks above py3
    path = _hashed(tmp_path, index, {"lib==2.0": "lib-2.0-py3-none-any.whl",
                                     "tiny==0.3": "tiny-0.3-py3-none-any.whl"})  # fmt: skip
    result = fetch(_options(tmp_path, index, requirement_files=(path,)))
    # the file the hash names is chosen, not the better-ranked cp36m wheel (like pip)
    assert sorted(p.filename for p in result.packages) == [
        "lib-2.0-py3-none-any.whl",
        "tiny-0.3-py3-none-any.whl",
    ]


def test_hashed_requirement_file_mismatch_names_line_expected_and_got(
    tmp_path: Path, index: FakeIndex
) -> None:
    path = _hashed(tmp_path, index, {"lib==2.0": "lib-2.0-py3-none-any.whl",
                                     "tiny==0.3": "lib-1.0-py3-none-any.whl"})  # fmt: skip
    got = hashlib.sha256(index.served("tiny-0.3-py3-none-any.whl").data).hexdigest()
    expected = hashlib.sha256(index.served("lib-1.0-py3-none-any.whl").data).hexdigest()
    with pytest.raises(HashMismatch) as err:
        fetch(_options(tmp_path, index, requirement_files=(path,)))
    assert str(err.value) == (
        f"{path}:4: tiny==0.3: tiny-0.3-py3-none-any.whl has sha256:{got}, "
        f"expected sha256:{expected}"
    )
    assert not (tmp_path / "wh").exists()


def test_hashed_file_without_index_hashes_is_checked_after_download(
    tmp_path: Path, index: FakeIndex
) -> None:
    """An index that lists no hash: the downloaded bytes are compared with the --hash."""
    index.served("tiny-0.3-py3-none-any.whl").advertise_hash = False
    path = _hashed(tmp_path, index, {"tiny==0.3": "tiny-0.3-py3-none-any.whl"})
    assert fetch(_options(tmp_path, index, requirement_files=(path,))).packages
    index.served("tiny-0.3-py3-none-any.whl").tamper = True
    with pytest.raises(HashMismatch, match=rf"{re.escape(str(path))}:2: tiny==0\.3: tiny-0\.3"):
        fetch(_options(tmp_path, index, requirement_files=(path,), cache_dir=tmp_path / "c2"))


def test_hashed_file_missing_hash_or_dependency(tmp_path: Path, index: FakeIndex) -> None:
    path = _hashed(tmp_path, index, {"lib==2.0": "lib-2.0-py3-none-any.whl"})
    with pytest.raises(RequirementError, match=r"tiny \(required by lib\) is not listed"):
        fetch(_options(tmp_path, index, requirement_files=(path,)))
    path.write_text(path.read_text() + "tiny==0.3\n")
    with pytest.raises(RequirementError, match=r"hashed\.txt:4: tiny==0\.3 has no --hash"):
        fetch(_options(tmp_path, index, requirement_files=(path,)))
    assert not (tmp_path / "wh").exists()


# -- --build-pure failures say why, --exclude leaves a project out ------------------------------


def _failing_build(monkeypatch: pytest.MonkeyPatch, detail: str) -> None:
    """A simulated backend failure (as mysqlclient without mysql_config): pip wheel exits 1."""

    def fail(source: Path, dest: Path, **kwargs: Any) -> Path:
        raise build.BuildFailed(f"building a wheel from {source.name} failed: {detail}", detail)

    monkeypatch.setattr(build, "build_wheel", fail)


def test_build_pure_failure_names_the_compiled_extension_and_the_exclude_hint(
    tmp_path: Path, index: FakeIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    index.add_wheel("flaskish", "1.0", requires_dist=["speedy>=1"])
    index.add_sdist("speedy", "1.1", compiled=True)
    _failing_build(monkeypatch, "pip wheel exited 1: error: subprocess-exited-with-error")
    with pytest.raises(NoWheelForTarget) as err:
        fetch(_options(tmp_path, index, "flaskish", build_pure=True))
    assert str(err.value) == (
        "speedy 1.1 has no wheel for the target and --build-pure cannot build its sdist "
        "speedy-1.1.tar.gz into a pure-Python wheel: compiled extension detected: setup.py "
        "declares ext_modules (required by flaskish); hint: --exclude speedy leaves it out of "
        "the wheelhouse (install it from the distro, e.g. an RPM, or separately)"
    )
    assert err.value.chain == ("flaskish",) and err.value.package == "speedy"


def test_build_pure_failure_without_evidence_gives_the_backend_line(
    tmp_path: Path, index: FakeIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    index.add_sdist("odd", "1.0")
    _failing_build(monkeypatch, "pip wheel exited 1: error: invalid command 'bdist_wheel'")
    with pytest.raises(NoWheelForTarget, match=r"the build failed: pip wheel exited 1: error: "
                       r"invalid command 'bdist_wheel' .*hint: --exclude odd"):  # fmt: skip
        fetch(_options(tmp_path, index, "odd", build_pure=True))


@pytest.mark.slow
def test_a_build_requirement_without_a_version_names_the_sdist_whose_build_needs_it(
    tmp_path: Path, index: FakeIndex
) -> None:
    """A target build (--build-python) of puresrc needs setuptools>=61, which the index does
    not have for the target: the error says whose build needs it (it said 'withsrc', as if
    withsrc itself required setuptools; for a root sdist, 'your requirements')."""
    python36 = require_python("3.6.15")
    index.add_wheel("withsrc", "1.0", requires_dist=["puresrc"])
    index.add_sdist("puresrc", "2.0")
    options = _options(
        tmp_path, index, "withsrc", build_pure=True, build_python=python36, rehearse=None
    )
    with pytest.raises(NoMatchingVersion) as err:  # the index has setuptools 59.6.0 only
        fetch(options)
    message = str(err.value)
    assert err.value.package == "setuptools", message
    assert err.value.chain == ("withsrc", "the build of puresrc-2.0.tar.gz"), message
    assert "(required by withsrc -> the build of puresrc-2.0.tar.gz)" in message
    assert not (tmp_path / "wh").exists()


def test_exclude_is_recorded_in_the_manifest_and_install_sh(
    tmp_path: Path, index: FakeIndex
) -> None:
    index.add_wheel("flaskish", "1.0", requires_dist=["speedy>=1", "lib"])
    index.add_sdist("speedy", "1.1", compiled=True)
    result = fetch(_options(tmp_path, index, "flaskish", exclude=("speedy",)))
    assert sorted(p.name for p in result.packages) == ["flaskish", "lib", "tiny"]
    assert not any("speedy" in path for path in index.requests)  # never even looked up
    record = {"name": "speedy", "specifier": ">=1", "required_by": "flaskish",
              "reason": "--exclude"}  # fmt: skip
    data = json.loads((tmp_path / "wh" / "manifest.json").read_text())
    assert data["excluded"] == [record]
    assert [e.to_dict() for e in result.excluded] == [record]
    script = (tmp_path / "wh" / "install.sh").read_text()
    assert "pip_install --no-deps -r" in script and " flaskish:speedy" in script
    from bundler.kit import verify

    assert verify.verify([tmp_path / "wh"]).problems == []  # the recorded exclusion is no gap
    plain = fetch(_options(tmp_path, index, "lib"))
    assert plain.excluded == () and "--no-deps" not in (tmp_path / "wh" / "install.sh").read_text()


def test_a_pinned_yanked_release_warns_with_the_reason_and_is_recorded(
    tmp_path: Path, index: FakeIndex
) -> None:
    index.served("lib-2.0-py3-none-any.whl").yanked = "broken build"
    assert fetch(_options(tmp_path, index, "lib")).warnings == ()  # 1.0 is taken instead
    result = fetch(_options(tmp_path, index, "lib==2.0"))
    assert result.warnings == (
        "lib 2.0 is yanked (reason: broken build); it is bundled only because it is pinned with ==",
    )
    rows = {p["name"]: p for p in json.loads((tmp_path / "wh" / "manifest.json").read_text())
            ["packages"]}  # fmt: skip
    assert rows["lib"]["yanked"] == "broken build" and rows["tiny"]["yanked"] is None
    index.served("lib-2.0-py3-none-any.whl").yanked = ""
    again = fetch(_options(tmp_path, index, "lib==2.0", cache_dir=tmp_path / "c2"))
    assert again.warnings[0].startswith("lib 2.0 is yanked (reason: no reason given)")


def test_another_targets_wheelhouse_is_replaced_only_with_replace(
    tmp_path: Path, index: FakeIndex
) -> None:
    """issue #18: -o over a wheelhouse for another target names both targets and refuses."""
    fetch(_options(tmp_path, index, "tiny"))
    before = _tree(tmp_path / "wh")
    t38 = Target.from_spec("3.8", "manylinux2014")
    expected = (
        r"holds a wheelhouse for CPython 3\.6\.15 \(cp36m\), manylinux1_x86_64 .*; this fetch "
        r"is for CPython 3\.8\.\d+ \(cp38\), manylinux2014_x86_64 .*give --replace"
    )
    with pytest.raises(BadInput, match=expected):
        fetch(_options(tmp_path, index, "tiny", target=t38))
    assert _tree(tmp_path / "wh") == before
    fetch(_options(tmp_path, index, "tiny", target=t38, replace=True))
    recorded = json.loads((tmp_path / "wh" / "manifest.json").read_text())["target"]
    assert recorded["python_version"].startswith("3.8.")
    fetch(_options(tmp_path, index, "tiny", target=t38))  # the same target again: no question


def test_a_hashed_requirement_file_vouches_for_files_the_index_gives_no_hash_for(
    tmp_path: Path, index: FakeIndex
) -> None:
    """Hashes are mandatory (#10): an index without hashes (and without PEP 658, so even the
    metadata needs the wheel) is refused, unless a hashed -r file lists the file's sha256."""
    index.pep658 = False
    index.served("tiny-0.3-py3-none-any.whl").advertise_hash = False
    with pytest.raises(UnhashedFile, match=r"tiny-0\.3-py3-none-any\.whl from .*no sha256"):
        fetch(_options(tmp_path, index, "tiny==0.3"))
    path = _hashed(tmp_path, index, {"tiny==0.3": "tiny-0.3-py3-none-any.whl"})
    result = fetch(_options(tmp_path, index, requirement_files=(path,)))
    assert [p.hash_source for p in result.packages] == ["requirements"]
    assert result.warnings == ()


def test_local_files_are_recorded_as_local_without_a_host_path(
    tmp_path: Path, index: FakeIndex
) -> None:
    """A wheel from a local --find-links folder next to a remote index: manifest.json says
    `source: local` with no URL (the remote ones keep theirs), pylock.toml gives its path
    beside the lock; the fetching machine's paths appear nowhere."""
    vendor = tmp_path / "vendor"
    build_wheel(vendor, "tiny", "0.4")  # newer than the index's 0.3: the local one wins
    result = fetch(_options(tmp_path, index, "app", find_links=(str(vendor),), audit=False))
    by_name = {p.name: p for p in result.packages}
    assert (by_name["tiny"].version, by_name["tiny"].source, by_name["tiny"].url) == (
        "0.4",
        "local",
        None,
    )
    assert by_name["tiny"].hash_source == "local"
    assert (by_name["lib"].source, by_name["lib"].hash_source) == ("remote", "index")
    assert by_name["lib"].url == f"{index.base}/files/lib-2.0-py3-none-any.whl"
    wh = tmp_path / "wh"
    manifest = json.loads((wh / "manifest.json").read_text())
    assert {p["name"]: p["source"] for p in manifest["packages"]} == {
        "app": "remote", "lib": "remote", "numpyish": "remote", "tiny": "local"
    }  # fmt: skip
    assert 'path = "./tiny-0.4-py3-none-any.whl"' in (wh / "pylock.toml").read_text()
    for name in ("manifest.json", "pylock.toml", "requirements.lock"):
        assert str(tmp_path) not in (wh / name).read_text()


def test_no_index_refuses_a_remote_find_links_page(tmp_path: Path, index: FakeIndex) -> None:
    options = _options(tmp_path, index, "app", index_urls=(), find_links=(index.find_links_url,))
    with pytest.raises(BadInput, match=r"--no-index reads only local sources, but --find-links"):
        fetch(options)
    assert index.requests == [] and not (tmp_path / "wh").exists()


def test_no_index_without_the_bootstrap_wheels_says_why_they_are_needed(tmp_path: Path) -> None:
    """A manylinux2014 wheel needs pip >= 19.3 on a 3.6 target: with --no-index and a folder
    without pip, the error says it is for the bootstrap and what to add."""
    folder = tmp_path / "wheels"
    build_wheel(folder, "wide", "1.0", tags="cp36-cp36m-manylinux2014_x86_64")
    options = FetchOptions(
        target=Target.from_spec("3.6", "manylinux2014"),
        requirements=("wide",),
        output=tmp_path / "wh",
        index_urls=(),
        find_links=(str(folder),),
        cache_dir=tmp_path / "cache",
        audit=False,
    )
    with pytest.raises(PackageNotFound) as caught:
        fetch(options)
    message = str(caught.value)
    assert message.startswith(f"no package named 'pip' on {folder} (for the pip bootstrap: ")
    assert "pip 18.1 cannot install wide-1.0-cp36-cp36m-manylinux2014_x86_64.whl" in message
    assert message.endswith(
        "hint: add wheels of pip, setuptools, wheel that run on the target to the sources "
        "(with --no-index: to a --find-links folder)"
    )


def test_a_255_byte_wheel_name_is_fetched(tmp_path: Path, index: FakeIndex) -> None:
    """Review of #10/#18, defect 7: a valid wheel name of 255 bytes (the filesystem's limit)
    failed with ENAMETOOLONG: the temp names added a prefix and a suffix to it."""
    served = index.add_wheel("longname", "1.0+" + "a" * 225)
    assert len(served.filename.encode()) == 255, served.filename
    result = fetch(_options(tmp_path, index, "longname"))
    wheel = tmp_path / "wh" / served.filename
    assert sha256_file(wheel) == hashlib.sha256(served.data).hexdigest()
    assert [p.filename for p in result.packages] == [served.filename]


@pytest.mark.parametrize("cache", ["wh", "wh/cache"])
def test_a_cache_at_or_inside_the_output_is_refused_before_anything(
    tmp_path: Path, index: FakeIndex, cache: str
) -> None:
    """Review of #10/#18, defect 11: --cache-dir equal to -o (or inside it) was accepted and
    every run discarded the cache with the old wheelhouse."""
    with pytest.raises(BadInput, match=r"--cache-dir .* -o .*: a fetch replaces -o as a whole"):
        fetch(_options(tmp_path, index, "tiny", cache_dir=tmp_path / cache))
    assert not (tmp_path / "wh").exists() and index.requests == []


@pytest.mark.parametrize(
    ("member", "link", "why"),
    [
        ("../../PWNED.py", False, "has a '..' component"),
        ("tiny/passwd", True, "is a symbolic link"),
    ],
)
def test_a_wheel_with_an_unsafe_member_is_refused_and_the_output_kept(
    tmp_path: Path, index: FakeIndex, member: str, link: bool, why: str
) -> None:
    """Review of #10/#18, defect 12 (last point): a wheel with the right hash but a `../`
    member or a symbolic link member was bundled silently."""
    fetch(_options(tmp_path, index, "lib==1.0"))
    before = _tree(tmp_path / "wh")
    add_member(index.root / "files" / "tiny-0.3-py3-none-any.whl", member, link=link)
    with pytest.raises(UnsafeWheel, match=rf"tiny-0\.3-py3-none-any\.whl: member '{member}' {why}"):
        fetch(_options(tmp_path, index, "lib==1.0", cache_dir=tmp_path / "c2"))
    assert _tree(tmp_path / "wh") == before
    assert not list(tmp_path.rglob("PWNED*"))


def add_member(wheel: Path, name: str, data: bytes = b"x", *, link: bool = False) -> Path:
    """Append member `name` to `wheel` (a symbolic link to `data` with `link`)."""
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # Unix: the high 16 bits of external_attr are st_mode
    info.external_attr = ((stat.S_IFLNK | 0o777) if link else (stat.S_IFREG | 0o644)) << 16
    with zipfile.ZipFile(wheel, "a") as zf:
        zf.writestr(info, data)
    return wheel


def test_policy_gates_a_several_target_fetch_naming_the_targets(tmp_path: Path) -> None:
    """fetch --policy with several --target: one OSV look-up of the pool, the snapshot at the
    wheelhouse's top (listed in SHA256SUMS, read by verify), every target's packages judged;
    a finding names the targets whose locks hold the package (#16 review finding 11)."""
    from click.testing import CliRunner

    from bundler.cli import main
    from tests.fakeosv import write_export
    from tests.trustkit import add_packages, policy_text

    with FakeIndex(tmp_path / "fakeindex") as fake:
        add_packages(fake)
        fake.add_wheel("numpyish", "2.0", tags="cp311-cp311-manylinux2014_x86_64")  # high CVE
        policy = tmp_path / "policy.toml"
        policy.write_text(policy_text())
        db = write_export(tmp_path / "osv.zip")
        argv = ["fetch", "app", "--target", "3.6/manylinux1", "--target", "3.11/manylinux2014"]
        argv += ["--index-url", fake.url, "--cache-dir", str(tmp_path / "cache"), "--no-audit"]
        argv += ["--no-rehearse", "--policy", str(policy), "--vuln-db", str(db)]
        wh = tmp_path / "wh"
        denied = CliRunner().invoke(main, [*argv, "-o", str(wh)])
        lenient = tmp_path / "lenient.toml"
        lenient.write_text(policy_text(deny_severity="critical"))
        argv[argv.index(str(policy))] = str(lenient)
        passed = CliRunner().invoke(main, [*argv, "-o", str(tmp_path / "ok")])
    assert denied.exit_code == 1, denied.output
    t311 = "cp311-manylinux2014_x86_64"
    assert (
        f"  - vulnerability: numpyish 2.0: GHSA-nump-high-0003 (high, at or above high; fixed in "
        f"2.0.3) (target {t311})\n"
    ) in denied.stderr
    both = [line for line in denied.output.splitlines() if "tiny" in line and "(targets " in line]
    assert both, denied.output  # tiny is in both targets' locks
    assert "policy-findings.json" in (wh / "SHA256SUMS").read_text()
    assert passed.exit_code == 0, passed.output
    verified = CliRunner().invoke(main, ["verify", str(tmp_path / "ok")])
    assert verified.exit_code == 0, verified.output
    carried = CliRunner().invoke(main, ["verify", str(wh)])  # the carried verdict
    assert carried.exit_code == 1, carried.output
    assert f"GHSA-nump-high-0003 (high, at or above high; fixed in 2.0.3) (target {t311})" in (
        carried.output
    )
    # verify --policy with the strict policy on the wheelhouse the lenient one let through:
    # the same lines as fetch's, each naming its targets (#16 second review finding 11)
    strict = CliRunner().invoke(main, ["verify", "--policy", str(policy), str(tmp_path / "ok")])
    assert strict.exit_code == 1, strict.output
    assert (
        f"policy: vulnerability: numpyish 2.0: GHSA-nump-high-0003 (high, at or above high; "
        f"fixed in 2.0.3) (target {t311})"
    ) in strict.output, strict.output
    shared = [line for line in strict.output.splitlines() if "tiny" in line]
    assert shared and all("(targets " in line for line in shared), strict.output


@pytest.mark.parametrize("audit", [True, False])
def test_each_wheel_is_read_for_the_audit_as_its_download_completes(
    tmp_path: Path, index: FakeIndex, monkeypatch: pytest.MonkeyPatch, audit: bool
) -> None:
    """The audit's reading of each wheel (ELF facts by sha256) starts beside the downloads:
    when the audit runs, every wheel's facts are already in the cache; --no-audit reads none."""
    from bundler.audit.members import ELF_FACTS
    from bundler.fs.cache import Cache

    cache = Cache(tmp_path / "cache")
    seen: list[bool] = []
    real = fetch_mod._audit

    def audited(staged: Path, distro: str, cache_: Cache, packages: Any) -> Any:
        seen.extend(cache.get_facts(ELF_FACTS, p.sha256) is not None for p in packages)
        return real(staged, distro, cache_, packages)

    monkeypatch.setattr(fetch_mod, "_audit", audited)
    result = fetch(_options(tmp_path, index, "app", audit=audit))
    wheels = [p for p in result.packages if p.filename.endswith(".whl")]
    if audit:
        assert seen == [True] * len(result.packages) and len(wheels) >= 4
    else:
        assert seen == [] and not (cache.root / "facts" / ELF_FACTS).exists()


def test_wheels_the_resolver_downloads_are_read_for_the_audit_during_the_resolution(
    tmp_path: Path, index: FakeIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On an index without PEP 658 files the resolver downloads wheels for their metadata:
    each one it downloads (not a cache hit) is handed to the audit's early reading from the
    cache, before the downloads step; a warm re-fetch hands none over from the resolution."""
    index.pep658 = False
    read: list[tuple[Path, bool]] = []
    real = fetch_mod._EarlyAudit._read
    downloading = [False]
    download = fetch_mod.download_all

    def recorded(self: Any, path: Path, sha256: str) -> None:
        read.append((path, downloading[0]))
        real(self, path, sha256)

    def marked(*args: Any, **kwargs: Any) -> Any:
        downloading[0] = True
        return download(*args, **kwargs)

    monkeypatch.setattr(fetch_mod._EarlyAudit, "_read", recorded)
    monkeypatch.setattr(fetch_mod, "download_all", marked)
    result = fetch(_options(tmp_path, index, "app"))
    blobs = tmp_path / "cache" / "blobs"
    early = [p for p, during_download in read if not during_download]
    assert early and all(p.is_relative_to(blobs) for p in early)
    assert {r.sha256 for r in result.packages} <= {p.name for p in early}
    read.clear()
    downloading[0] = False
    fetch(_options(tmp_path, index, "app", output=tmp_path / "again"))
    assert [p for p, during_download in read if not during_download] == []


def test_a_cached_wheel_metadata_that_lies_about_the_license_is_refused_and_evicted(
    tmp_path: Path, index: FakeIndex
) -> None:
    """#17 review 17b D2: the license gate reads the license from the metadata the resolver
    was given; a cached METADATA saying MIT for a wheel that names no license must not reach
    the manifest (and the gate): refused against the wheel's own, the entry removed."""
    from bundler.fs.cache import Cache
    from bundler.index.client import WHEEL_METADATA

    index.pep658 = False
    first = fetch(_options(tmp_path, index, "tiny", audit=False))
    tiny = next(p for p in first.packages if p.name == "tiny")
    cache = Cache(tmp_path / "cache")
    kept = cache.get_derived(WHEEL_METADATA, tiny.sha256)
    assert kept is not None and b"License" not in kept
    lie = kept.replace(b"\nVersion:", b"\nLicense-Expression: MIT\nVersion:", 1)
    cache.put_derived(WHEEL_METADATA, tiny.sha256, lie)
    with pytest.raises(MetadataMismatch) as err:
        fetch(_options(tmp_path, index, "tiny", audit=False, output=tmp_path / "wh2"))
    message = str(err.value)
    assert message.startswith(f"{tiny.filename}: the METADATA kept in the cache"), message
    assert "License-Expression 'MIT' vs None" in message
    assert cache.get_derived(WHEEL_METADATA, tiny.sha256) is None  # evicted


def test_a_cached_wheel_metadata_that_adds_a_dependency_is_named_and_evicted(
    tmp_path: Path, index: FakeIndex
) -> None:
    """#17 review 17b D4: a Requires-Dist added to the METADATA kept in the cache sends the
    resolution to a project the index does not have; the failure names the cache entry
    (checked against the cached wheel), removes it, and the next run reads the wheel again."""
    from bundler.fs.cache import Cache
    from bundler.index.client import WHEEL_METADATA

    index.pep658 = False
    first = fetch(_options(tmp_path, index, "lib==1.0", audit=False))
    lib = next(p for p in first.packages if p.name == "lib")
    cache = Cache(tmp_path / "cache")
    kept = cache.get_derived(WHEEL_METADATA, lib.sha256)
    assert kept is not None
    added = kept.replace(b"Requires-Dist: tiny\n", b"Requires-Dist: tiny\nRequires-Dist: big\n")
    cache.put_derived(WHEEL_METADATA, lib.sha256, added)
    again = tmp_path / "again"
    with pytest.raises(MetadataMismatch) as err:
        fetch(_options(tmp_path, index, "lib==1.0", audit=False, output=again))
    message = str(err.value)
    assert message.startswith(f"{lib.filename}: the METADATA kept in the cache"), message
    assert "only here: ['big']" in message
    assert cache.get_derived(WHEEL_METADATA, lib.sha256) is None
    healed = fetch(_options(tmp_path, index, "lib==1.0", audit=False, offline=True, output=again))
    assert {p.name for p in healed.packages} == {"lib", "tiny"}


def test_an_edited_cached_pep658_file_without_a_hash_is_named_and_evicted(
    tmp_path: Path, index: FakeIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """#17 review 17b D4b: the index offers PEP 658 files without a hash, so the copy kept in
    the cache cannot be checked against the page; one edited (header valid) is named with the
    index's file when the wheel contradicts it, removed, and the next run asks the index."""
    import json as json_

    from bundler.fs.cache import Cache

    real = FakeIndex.json_page

    def unhashed(self: FakeIndex, project: str) -> bytes:
        page = json_.loads(real(self, project))
        for entry in page["files"]:
            if "core-metadata" in entry:
                entry["core-metadata"] = True
        return json_.dumps(page).encode()

    monkeypatch.setattr(FakeIndex, "json_page", unhashed)
    first = fetch(_options(tmp_path, index, "lib==1.0", audit=False))
    lib = next(p for p in first.packages if p.name == "lib")
    path = next(u for u in index.requests if u.endswith(lib.filename + ".metadata"))
    cache = Cache(tmp_path / "cache")
    full = index.url.removesuffix("/simple/") + path
    kept = cache.get_page(full)
    assert kept is not None and b"Requires-Dist: tiny" in kept
    cache.put_page(full, kept.replace(b"Requires-Dist: tiny\n", b""))
    with pytest.raises(MetadataMismatch) as err:
        fetch(_options(tmp_path, index, "lib==1.0", audit=False, output=tmp_path / "two"))
    message = str(err.value)
    assert "or its copy kept in the cache" in message and "removed" in message, message
    assert cache.get_page(full) is None
    again = fetch(_options(tmp_path, index, "lib==1.0", audit=False, output=tmp_path / "two"))
    assert {p.name for p in again.packages} == {"lib", "tiny"}


def test_a_changed_cached_wheel_metadata_is_caught_against_the_wheel_and_evicted(
    tmp_path: Path, index: FakeIndex
) -> None:
    """#17 review D3: without PEP 658 files the resolver reads a wheel's METADATA kept in the
    cache by the wheel's sha256; an entry rewritten without a Requires-Dist line (its header
    fixed, as the reviewer did) must not drop the dependency from the lock silently."""
    from bundler.fs.cache import Cache
    from bundler.index.client import WHEEL_METADATA

    index.pep658 = False
    first = fetch(_options(tmp_path, index, "lib==1.0", audit=False))
    assert {p.name for p in first.packages} == {"lib", "tiny"}
    before = _tree(tmp_path / "wh")
    lib = next(p for p in first.packages if p.name == "lib")
    cache = Cache(tmp_path / "cache")
    kept = cache.get_derived(WHEEL_METADATA, lib.sha256)
    assert kept is not None and b"Requires-Dist: tiny\n" in kept
    cache.put_derived(WHEEL_METADATA, lib.sha256, kept.replace(b"Requires-Dist: tiny\n", b""))
    with pytest.raises(MetadataMismatch) as err:
        fetch(_options(tmp_path, index, "lib==1.0", audit=False))
    message = str(err.value)
    assert message.startswith(f"{lib.filename}: the METADATA kept in the cache"), message
    assert "Requires-Dist differs" in message and "tiny" in message
    assert _tree(tmp_path / "wh") == before
    assert cache.get_derived(WHEEL_METADATA, lib.sha256) is None  # evicted
    again = fetch(_options(tmp_path, index, "lib==1.0", audit=False))
    assert {p.name for p in again.packages} == {"lib", "tiny"}
