"""model.py: the wheelhouse model (file names, roles, the two layouts, which target fits), and
a several-target fetch against the hermetic fake index read back through it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bundler.errors import BadInput
from bundler.fs.hashing import sha256_file
from bundler.gate import snapshot
from bundler.kit import verify
from bundler.models import manifest
from bundler.models.target import Target
from bundler.net.settings import NetworkSettings
from bundler.wheelhouse import installer, model
from bundler.wheelhouse.fetch import FetchOptions, fetch
from bundler.wheelhouse.output import OtherTarget, check_output
from tests.conftest import require_python
from tests.fakeindex import FakeIndex

T36 = Target.from_spec("3.6", "manylinux1")
T38 = Target.from_spec("3.8", "manylinux2010", "cp38")
T311 = Target.from_spec("3.11.7", "manylinux2014")


def test_file_names_and_roles() -> None:
    assert model.POLICY_FINDINGS == snapshot.FILENAME
    assert model.MANIFEST == manifest.FILENAME
    assert (installer.REQUIREMENTS_LOCK, installer.BOOTSTRAP_LOCK, installer.INSTALL_SH) == (
        model.REQUIREMENTS_LOCK,
        model.BOOTSTRAP_LOCK,
        model.INSTALL_SH,
    )
    assert model.Role is manifest.Role  # one enum, the manifest's `packages[].role`
    assert [r.value for r in model.Role] == ["app", "bootstrap"]  # the schema's enum
    assert model.Role.BOOTSTRAP.lock == model.BOOTSTRAP_LOCK == "bootstrap.lock"
    assert model.Role.APP.lock == model.REQUIREMENTS_LOCK == "requirements.lock"


def test_target_names_are_folder_names() -> None:
    assert T36.name == "cp36-manylinux1_x86_64"
    assert T38.name == "cp38-manylinux2010_x86_64"  # cp38 is 3.8's default ABI
    assert Target.from_spec("3.8", "manylinux2010", "cp38d").name == (
        "cp38-cp38d-manylinux2010_x86_64"
    )
    assert Target.from_spec("3.11", "manylinux_2_28").name == "cp311-manylinux_2_28_x86_64"


# -- which target fits an interpreter ---------------------------------------------------------


def _python(version: str, abi: str, glibc: tuple[int, int] | None = (2, 17)) -> model.Interpreter:
    return model.Interpreter(version, abi, "x86_64", glibc)


def test_each_reason_a_target_does_not_fit() -> None:
    assert model.fit_problems(T36, _python("3.6.8", "cp36m")) == []
    assert model.fit_problems(T311, _python("3.11.2", "cp311", (2, 17))) == []
    assert model.fit_problems(T311, _python("3.11.2", "cp311", (2, 12))) == [
        "glibc 2.12 < 2.17 (manylinux2014_x86_64)"
    ]
    assert model.fit_problems(T36, _python("3.7.1", "cp37m")) == [
        "Python 3.7, not 3.6",
        "ABI cp37m, not cp36m",
    ]
    assert model.fit_problems(T36, _python("3.6.8", "cp36dm")) == ["ABI cp36dm, not cp36m"]
    assert model.fit_problems(T36, model.Interpreter("3.6.8", "cp36m", "aarch64", (2, 17))) == [
        "machine aarch64, not x86_64"
    ]
    assert model.fit_problems(T36, _python("3.6.8", "cp36m", None)) == [
        "no glibc (manylinux1_x86_64 needs glibc >= 2.5)"
    ]


def test_pick_prefers_the_newest_manylinux_the_host_loads() -> None:
    old = Target.from_spec("3.11.7", "manylinux1")
    assert model.pick([old, T311], _python("3.11.7", "cp311", (2, 17))) == T311
    assert model.pick([old, T311], _python("3.11.7", "cp311", (2, 12))) == old
    assert (
        model.pick([T311, Target.from_spec("3.11.7", "manylinux2014")], _python("3.11.1", "cp311"))
        == T311
    )  # a tie: the first listed
    with pytest.raises(model.NoTargetFits) as exc:
        model.pick([T36, T311], _python("3.7.3", "cp37m"))
    assert str(exc.value).count("\n") == 0
    assert "cp36-manylinux1_x86_64: Python 3.7, not 3.6" in str(exc.value)
    assert "cp311-manylinux2014_x86_64: Python 3.7, not 3.11" in str(exc.value)
    assert set(exc.value.reasons) == {T36.name, T311.name}


_FACTS = st.tuples(
    st.tuples(st.integers(2, 3), st.integers(0, 20), st.integers(0, 30)),
    st.from_regex(r"cp[0-9]{2,3}[dmt]{0,2}", fullmatch=True),
    st.sampled_from(["x86_64", "aarch64", "ppc64le", "i686"]),
    st.none() | st.tuples(st.integers(2, 2), st.integers(0, 99)),
)


@settings(max_examples=80, deadline=None)
@given(_FACTS)
def test_interpreter_lines_round_trip(facts: tuple) -> None:  # type: ignore[type-arg]
    (major, minor, micro), abi, machine, glibc = facts
    libc = f"{glibc[0]}.{glibc[1]}" if glibc else "-"
    line = f"{major}.{minor}.{micro} {abi} {machine} {libc}\n"
    parsed = model.Interpreter.parse(line)
    assert parsed == model.Interpreter(f"{major}.{minor}.{micro}", abi, machine, glibc)
    assert parsed.short_version == f"{major}.{minor}"


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=80))
def test_anything_else_is_badinput(text: str) -> None:
    try:
        model.Interpreter.parse(text)
    except BadInput as exc:
        assert "\n" not in str(exc)


@pytest.fixture(scope="module")
def pythons() -> dict[str, Path]:
    """Real interpreters of two X.Y (pyenv's, installed by scripts/setup-dev.sh)."""
    return {v: require_python(full) for v, full in (("3.6", "3.6.15"), ("3.8", "3.8.18"))}


def _facts(python: Path | str) -> model.Interpreter:
    out = subprocess.run(
        [str(python), "-I", "-c", model.FACTS_SCRIPT], capture_output=True, text=True, check=True
    )
    return model.Interpreter.parse(out.stdout)


def test_the_facts_script_runs_under_python_3_6(pythons: dict[str, Path]) -> None:
    facts = _facts(pythons["3.6"])
    assert facts.version == "3.6.15" and facts.abi == "cp36m"
    assert facts.glibc is not None and facts.glibc >= (2, 17)  # Debian 12 here: 2.36
    host = _facts(sys.executable)
    assert host.short_version == f"{sys.version_info[0]}.{sys.version_info[1]}"


def test_the_picker_script_agrees_with_pick(tmp_path: Path, pythons: dict[str, Path]) -> None:
    """install.sh's own pick (Python 3.6 syntax, run by the target interpreter) gives the
    target `model.pick` gives, and exit 4 with each target's reasons when none fits."""
    targets = [T36, T38, Target.from_spec("3.8", "manylinux_2_99"), T311]
    script = tmp_path / "install.sh"
    script.write_text(installer.render_picker(targets))
    for python in (pythons["3.6"], pythons["3.8"]):
        done = subprocess.run(
            ["sh", str(script), "--python", str(python), "--which"],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == model.pick(targets, _facts(python)).name
    script.write_text(installer.render_picker([T311]))
    done = subprocess.run(
        ["sh", str(script), "--python", str(pythons["3.6"])], capture_output=True, text=True
    )
    assert done.returncode == 4
    assert done.stderr.count("\n") == 1
    assert "no target of this wheelhouse fits" in done.stderr
    assert "cp311-manylinux2014_x86_64: Python 3.6, not 3.11, ABI cp36m, not cp311" in done.stderr


def _faking(tmp_path: Path, python: Path, name: str, patch: str) -> Path:
    """A wrapper that runs `python` with `patch` (Python) ahead of any `-I -c CODE`: how a host
    whose libc or machine reports odd text looks to install.sh."""
    wrapper = tmp_path / name
    wrapper.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = -I ] && [ "$2" = -c ]; then code=$3; shift 3; '
        f'exec {python} -I -c "{patch}\n$code" "$@"; fi\n'
        f'exec {python} "$@"\n'
    )
    wrapper.chmod(0o755)
    return wrapper


def test_the_picker_reads_glibc_and_machine_like_packaging(
    tmp_path: Path, pythons: dict[str, Path]
) -> None:
    """A glibc version with text after the minor ("2.20-2014.11", Linaro's) reads as its leading
    major.minor (packaging.tags' `_parse_glibc_version` regex); a machine with a space or a dash
    is normalised like packaging's `_normalize_string`; neither gives a traceback."""
    script = tmp_path / "install.sh"
    script.write_text(installer.render_picker([T36, T311]))
    linaro = _faking(
        tmp_path, pythons["3.6"], "linaro", "import os; os.confstr=lambda n: 'glibc 2.20-2014.11'"
    )
    done = subprocess.run(
        ["sh", str(script), "--python", str(linaro), "--which"], capture_output=True, text=True
    )
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, T36.name, "")
    old = _faking(tmp_path, pythons["3.6"], "old", "import os; os.confstr=lambda n: 'glibc 2.3x'")
    done = subprocess.run(
        ["sh", str(script), "--python", str(old), "--which"], capture_output=True, text=True
    )
    assert done.returncode == 4, done.stderr
    assert "glibc 2.3 < 2.5" in done.stderr and "Traceback" not in done.stderr
    for machine, fits in (("x86 64", True), ("weird machine!", False), ("", False)):
        odd = _faking(
            tmp_path,
            pythons["3.6"],
            "odd",
            f"import platform; platform.machine=lambda: {machine!r}",
        )
        done = subprocess.run(
            ["sh", str(script), "--python", str(odd), "--which"], capture_output=True, text=True
        )
        assert "Traceback" not in done.stderr
        assert done.returncode == (0 if fits else 4), (machine, done.stderr)
        if not fits:
            assert "machine " in done.stderr and done.stderr.count("\n") == 1


@pytest.mark.parametrize("which", [True, False])
def test_the_picker_refuses_what_is_not_a_python_interpreter(tmp_path: Path, which: bool) -> None:
    """A program that exits 0 without naming a listed target (/bin/true, an echo) is no Python:
    exit 2 with one line, never an empty target name or targets//install.sh. Python 2.7 (no
    -I option) is refused in that one line too, without its own usage text before it (#16
    review 16x, finding 15)."""
    script = tmp_path / "install.sh"
    script.write_text(installer.render_picker([T36, T311]))
    liar = tmp_path / "liar"
    liar.write_text("#!/bin/sh\necho 'cp99-nothing_x86_64 Python 9.9'\n")
    liar.chmod(0o755)
    for fake in ("/bin/true", str(liar), str(require_python("2.7.18"))):
        args = ["sh", str(script), "--python", fake] + (["--which"] if which else [])
        done = subprocess.run(args, capture_output=True, text=True)
        assert done.returncode == 2, (fake, done)
        assert done.stdout == ""
        assert done.stderr == (
            f"install.sh: error: '{fake}' does not run as a Python interpreter\n"
        )


# -- a several-target fetch, read back -----------------------------------------------------------


@pytest.fixture
def index(tmp_path: Path) -> Iterator[FakeIndex]:
    """app (universal) -> lib (universal), numpyish (a cp36m manylinux1 and a cp311
    manylinux2014 wheel)."""
    with FakeIndex(tmp_path / "fakeindex") as fake:
        fake.add_wheel("app", "1.0", requires_dist=["lib>=1", "numpyish"], requires_python=">=3.6")
        fake.add_wheel("lib", "1.0")
        fake.add_wheel("numpyish", "1.19.5", tags="cp36-cp36m-manylinux1_x86_64")
        fake.add_wheel("numpyish", "2.0", tags="cp311-cp311-manylinux2014_x86_64")
        yield fake


def _several(tmp_path: Path, fake: FakeIndex, *targets: Target, **kw: object) -> FetchOptions:
    return FetchOptions(
        target=targets[0],
        targets=targets,
        requirements=("app",),
        output=tmp_path / "wh",
        index_urls=(fake.url,),
        cache_dir=tmp_path / "cache",
        network=NetworkSettings(jobs=4),
        **kw,  # type: ignore[arg-type]
    )


def test_several_targets_share_one_pool(tmp_path: Path, index: FakeIndex) -> None:
    result = fetch(_several(tmp_path, index, T36, T311))
    out = result.output
    pool = sorted(p.name for p in out.glob("*.whl"))
    assert pool == [
        "app-1.0-py3-none-any.whl",
        "lib-1.0-py3-none-any.whl",
        "numpyish-1.19.5-cp36-cp36m-manylinux1_x86_64.whl",
        "numpyish-2.0-cp311-cp311-manylinux2014_x86_64.whl",
    ]
    # the universal wheels both targets lock were downloaded once and are stored once
    assert sorted(index.downloads()) == pool
    assert sorted(p.name for p in (out / "targets").iterdir()) == [T311.name, T36.name]
    for t in (T36, T311):
        folder = out / "targets" / t.name
        assert sorted(p.name for p in folder.iterdir()) == [
            "install.sh",
            "manifest.json",
            "pylock.toml",
            "requirements.lock",
            "system-packages.yml",
        ]
        assert 'name = "app-1.0-py3-none-any.whl"' in (folder / "pylock.toml").read_text()
    top = json.loads((out / "manifest.json").read_text())
    shared = next(p for p in top["packages"] if p["name"] == "app")
    assert shared["targets"] == [T36.name, T311.name]
    found = model.open_wheelhouse(out)
    assert found.several and found.describe_targets() == f"{T36.name}, {T311.name}"
    assert [v.target for v in found.targets] == [T36, T311]
    assert {v.pool for v in found.targets} == {out}
    assert len(found.combined().packages) == 4
    assert [r.output for r in result.targets] == [out / "targets" / t.name for t in (T36, T311)]
    sums = (out / "SHA256SUMS").read_text()
    assert f"  targets/{T36.name}/requirements.lock\n" in sums
    report = verify.verify([out])
    assert report.wheels == 4 and T311.name in report.target


@pytest.mark.parametrize("pep658", [True, False], ids=["pep658", "no-pep658"])
def test_several_targets_ask_the_index_each_thing_once(
    tmp_path: Path, index: FakeIndex, pep658: bool
) -> None:
    """The targets resolve against one index client: each project page, .metadata file and
    wheel is requested once by a three-target fetch, not once per target; also from an index
    without PEP 658 files, where each target read a shared wheel's METADATA from the wheel
    itself and downloaded it once per target (#16 review 16x, finding 3)."""
    index.pep658 = pep658
    index.add_wheel("numpyish", "1.24", tags="cp38-cp38-manylinux2010_x86_64")
    result = fetch(_several(tmp_path, index, T36, T38, T311))
    assert [len(r.packages) for r in result.targets] == [3, 3, 3]
    asked = [p for p in index.requests if p.startswith(("/simple/", "/files/"))]
    assert any(p.startswith("/simple/lib") for p in asked)
    assert sorted(asked) == sorted(set(asked))


def test_a_damaged_target_file_fails_verify(tmp_path: Path, index: FakeIndex) -> None:
    out = fetch(_several(tmp_path, index, T36, T311)).output
    lock = out / "targets" / T311.name / "requirements.lock"
    lock.write_text(lock.read_text().replace("numpyish==2.0", "numpyish==2.1"))
    (out / "targets" / T36.name / "stray.sh").write_text("echo\n")
    with pytest.raises(Exception) as exc:
        verify.verify([out])
    problems = "\n".join(getattr(exc.value, "problems", []))
    assert f"targets/{T311.name}/requirements.lock: sha256 differs" in problems
    assert f"targets/{T36.name}/stray.sh" in problems
    assert f"(target {T311.name})" in problems  # the lock no longer agrees with its manifest


def test_a_several_target_wheelhouse_without_sha256sums_fails_verify(
    tmp_path: Path, index: FakeIndex
) -> None:
    """Its manifest is schema_version 2 (never an older bundler's): without SHA256SUMS
    install.sh refuses it, so verify fails naming the file (#16 review finding 11)."""
    from click.testing import CliRunner

    from bundler.cli import main

    out = fetch(_several(tmp_path, index, T36, T311)).output
    ok = CliRunner().invoke(main, ["verify", str(out)])
    assert ok.exit_code == 0, ok.output
    listed = len((out / "SHA256SUMS").read_text().splitlines())
    assert f"ok: wh (wheelhouse): {listed} checksummed files" in ok.stdout
    (out / "SHA256SUMS").unlink()
    bad = CliRunner().invoke(main, ["verify", str(out)])
    assert bad.exit_code == 1, bad.output
    assert "SHA256SUMS: missing" in bad.stderr
    assert "fetched by an older bundler" not in bad.output


def test_the_output_is_replaced_only_for_the_same_targets(tmp_path: Path, index: FakeIndex) -> None:
    out = fetch(_several(tmp_path, index, T36, T311)).output
    check_output(out, T311, targets=(T311, T36))  # the same set, any order
    with pytest.raises(OtherTarget, match=r"manylinux1_x86_64 .* \+ CPython 3.11.7"):
        check_output(out, T36)
    fetch(_several(tmp_path, index, T311, T36))  # a re-run replaces it
    assert sha256_file(out / "manifest.json")


def test_the_same_target_twice_is_refused(tmp_path: Path, index: FakeIndex) -> None:
    with pytest.raises(BadInput, match="--target cp36-manylinux1_x86_64 is given twice"):
        fetch(_several(tmp_path, index, T36, T36))
    assert not (tmp_path / "wh").exists()


# -- the kit's CPython source ------------------------------------------------------------------


def test_the_kit_python_source_is_the_models() -> None:
    names = ["Python-3.6.10.tgz", "Python-3.6.10.tar.xz", "Python-3.8.1.tgz", "openssl-1.1.1w.tgz"]
    assert model.python_sources(names) == {
        "Python-3.6.10.tgz": "3.6.10",
        "Python-3.6.10.tar.xz": "3.6.10",
        "Python-3.8.1.tgz": "3.8.1",
    }
    source = model.python_source(names, T36)
    assert source is not None and source.filename == "Python-3.6.10.tar.xz" and not source.exact
    assert model.target_for(T36, "3.6.10").installer_pip == "18.1"
    assert model.python_source(names, T311) is None  # another X.Y is not the kit's interpreter


def test_installer_fit_names_wheels_an_older_bundled_pip_cannot_read() -> None:
    """3.7.2 bundles pip 18.1 where 3.7.9 bundles 20.1.1: a manylinux2010 wheel read by the
    latter needs a bootstrap on the former (policy data: bundler/data/installers.json)."""
    target = Target.from_spec("3.7.9", "manylinux2010")
    wheel = "x-1.0-cp37-cp37m-manylinux2010_x86_64.whl"
    record = {
        "schema": manifest.SCHEMA,
        "schema_version": 2,
        "name": target.name,
        "pool": ".",
        "target": target.to_dict(),
        "installer": {"bootstrap": []},
        "packages": [{"name": "x", "version": "1.0", "filename": wheel, "sha256": "a" * 64}],
    }
    parsed = manifest.parse(record)
    older = model.python_source(["Python-3.7.2.tgz"], target)
    assert older is not None
    problems = model.installer_fit_problems(parsed, parsed.packages, older)
    assert problems == [
        f"{wheel}: for the kit's CPython 3.7.2 (sources/Python-3.7.2.tgz): its bundled pip "
        "18.1 cannot install it and the wheelhouse has no pip bootstrap"
    ]
    record["installer"] = {"bootstrap": ["pip", "setuptools", "wheel"]}
    assert model.installer_fit_problems(manifest.parse(record), parsed.packages, older) == []


def test_verify_rehearses_the_target_that_fits(
    tmp_path: Path, index: FakeIndex, pythons: dict[str, Path]
) -> None:
    """`verify --rehearse PYTHON` of a several-target wheelhouse installs the target that fits
    PYTHON (its folder's install.sh, offline) and imports only that target's wheels."""
    out = fetch(_several(tmp_path, index, T36, T311)).output
    report = verify.verify([out], rehearse=pythons["3.6"])
    assert any(f"targets/{T36.name}/install.sh and " in n for n in report.notes), report.notes
    with pytest.raises(Exception) as exc:
        verify.verify([out], rehearse=pythons["3.8"])
    assert "no target of this wheelhouse fits Python 3.8.18" in "\n".join(exc.value.problems)  # type: ignore[attr-defined]


def test_each_target_rehearses_with_the_interpreter_given_for_its_x_y(
    tmp_path: Path, index: FakeIndex, pythons: dict[str, Path]
) -> None:
    """Several `--rehearse` (FetchOptions.rehearse_given), one per target X.Y: each target is
    rehearsed with its own, a given one before one found for the same X.Y (#16 review 16x,
    finding 10: only the last --rehearse was kept, the other targets said none was given)."""
    index.add_wheel("numpyish", "1.24", tags="cp38-cp38-manylinux2010_x86_64")
    link = tmp_path / "bin" / "python3.8"
    link.parent.mkdir()
    link.symlink_to(pythons["3.8"])
    options = _several(tmp_path, index, T36, T38)
    given = (pythons["3.6"], link)
    result = fetch(replace(options, rehearse_given=given, rehearse_pythons=(pythons["3.8"],)))
    used = {one.target.name: one.rehearsal for one in result.targets}
    assert all(r is not None and not r.problems and not r.skipped for r in used.values()), used
    assert [used[t.name].python for t in (T36, T38)] == list(given)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("given", "says"),
    [
        (("3.8",), "CPython 3.8, no target's (3.11, 3.6)"),
        (("3.6", "3.6"), "a second CPython 3.6 (first: "),
    ],
)
def test_a_rehearse_interpreter_no_target_takes_is_refused_before_any_download(
    tmp_path: Path, index: FakeIndex, pythons: dict[str, Path], given: tuple[str, ...], says: str
) -> None:
    options = _several(tmp_path, index, T36, T311)
    with pytest.raises(BadInput, match=re.escape(says)):
        fetch(replace(options, rehearse_given=tuple(pythons[v] for v in given)))
    assert not [p for p in index.requests if p.startswith("/files/")]
    assert not options.output.exists()
