"""bundler.kit.delta / `bundler pack --base`: what a delta carries, its record, its refusals.

Kit v1 is the HAND-MADE kit (tests/unit/kit/handmade_kit.py); v2 upgrades demolib and adds
extrapkg (tests/unit/kit/delta_kit.py). The far side is tests/unit/kit/test_unpack.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from bundler.cli import main
from bundler.errors import BadInput
from bundler.kit import delta
from bundler.models import delta as delta_model
from tests.unit.kit.delta_kit import NEW_WHEELS, pack_v1_v2, upgrade
from tests.unit.kit.handmade_kit import handmade_inputs, kit_inputs, pack_inputs


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, Path]:
    return handmade_inputs(tmp_path / "in")


def _pack_delta(inputs: dict[str, Path], base: Path, output: Path) -> delta.DeltaResult:
    return delta.pack_with_base(
        base,
        kit_inputs(inputs),
        output,
    )


def _members(archive: Path) -> dict[str, bytes]:
    """Regular members (path under the top directory -> bytes)."""
    with tarfile.open(archive) as tar:
        out = {}
        for m in tar.getmembers():
            if m.isfile():
                f = tar.extractfile(m)
                assert f is not None
                out[m.name.split("/", 1)[1]] = f.read()
        return out


def test_delta_carries_only_new_files_and_records_the_base(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    # 64 KiB that gzip cannot shrink, as a real CPython tarball: the saving is visible
    noise = b"".join(hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(2048))
    (inputs["sources"] / "Python-3.6.15.tgz").write_bytes(noise)
    v1 = pack_inputs(inputs, tmp_path / "v1" / "kit-demo.tar.gz")
    upgrade(inputs)
    result = _pack_delta(inputs, v1.archive, tmp_path / "v2" / "kit-demo.tar.gz")

    assert result.delta.archive == tmp_path / "v2" / "kit-demo.delta.tar.gz"
    members = _members(result.delta.archive)
    carried = sorted(name.removeprefix("kit/") for name in members if name.startswith("kit/"))
    # the new wheels, and what always travels: SHA256SUMS, the manifest, the lock; README.txt,
    # the SBOM and the wheelhouse's own SHA256SUMS list the new packages, so their bytes are new
    assert carried == sorted(
        [
            "README.txt",
            "SHA256SUMS",
            "sbom.cdx.json",
            "wheelhouse/SHA256SUMS",
            "wheelhouse/manifest.json",
            "wheelhouse/requirements.lock",
            *(f"wheelhouse/{w}" for w in NEW_WHEELS),
        ]
    )
    assert set(members) - {f"kit/{c}" for c in carried} == {
        "DELTA.json",
        "kit-demo.tar.gz.sha256",
    }
    assert members["kit-demo.tar.gz.sha256"] == result.full.checksum_file.read_bytes()

    record = delta_model.parse(json.loads(members["DELTA.json"]))
    v1_sums = _members(v1.archive)["SHA256SUMS"]
    assert record.base.sums_sha256 == hashlib.sha256(v1_sums).hexdigest()
    assert record.base.archive_sha256 == v1.sha256
    assert record.base.name == "kit-demo"
    assert (record.kit.sha256, record.kit.size) == (result.full.sha256, result.full.size)
    assert record.kit.archive == "kit-demo.tar.gz"
    v2_files = _members(result.full.archive)
    assert [f.path for f in record.files] == sorted(v2_files)
    for f in record.files:
        assert f.sha256 == hashlib.sha256(v2_files[f.path]).hexdigest(), f.path
    taken = {f.path for f in record.from_base}
    assert "wheelhouse/demoapp-1.0-py3-none-any.whl" in taken
    assert "sources/Python-3.6.15.tgz" in taken
    assert not any(w in p for p in taken for w in NEW_WHEELS)
    assert all(f.base_path == f.path for f in record.from_base)  # nothing moved
    install = next(f for f in record.files if f.path == "wheelhouse/install.sh")
    assert install.executable and install.source == "base"
    assert result.saved > 60000 and result.delta.size < result.full.size


def test_full_kit_beside_the_delta_is_the_plain_pack_and_the_delta_is_reproducible(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    v1, full = pack_v1_v2(inputs, tmp_path)
    first = _pack_delta(inputs, v1.archive, tmp_path / "a" / "kit-demo.tar.gz")
    second = _pack_delta(inputs, v1.archive, tmp_path / "b" / "kit-demo.tar.gz")
    assert first.full.archive.read_bytes() == full.archive.read_bytes()
    assert first.delta.archive.read_bytes() == second.delta.archive.read_bytes()
    assert first.delta.sha256 == second.delta.sha256


@pytest.mark.parametrize("form", ["archive", "directory", "sums"])
def test_each_form_of_base_gives_the_same_files(
    inputs: dict[str, Path], tmp_path: Path, form: str
) -> None:
    v1 = pack_inputs(inputs, tmp_path / "v1" / "kit-demo.tar.gz")
    with tarfile.open(v1.archive) as tar:
        tar.extractall(tmp_path / "u", filter="data")
    base = {
        "archive": v1.archive,
        "directory": tmp_path / "u" / "kit-demo",
        "sums": tmp_path / "u" / "kit-demo" / "SHA256SUMS",
    }[form]
    upgrade(inputs)
    record = _pack_delta(inputs, base, tmp_path / "v2" / "kit-demo.tar.gz").record
    reference = _pack_delta(inputs, v1.archive, tmp_path / "ref" / "kit-demo.tar.gz").record
    assert record.files == reference.files
    assert record.base.sums_sha256 == reference.base.sums_sha256
    # only an archive tells its own sha256; a folder tells its name, a lone SHA256SUMS neither
    assert record.base.archive_sha256 == (v1.sha256 if form == "archive" else None)
    assert record.base.name == (None if form == "sums" else "kit-demo")


def test_a_file_moved_in_the_new_kit_is_taken_from_its_old_path(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    v1 = pack_inputs(inputs, tmp_path / "v1" / "kit-demo.tar.gz")
    src = inputs["sources"]
    os.rename(src / "zlib-9.9.tar.gz", src / "zlib-9.9.tgz")
    index = json.loads((src / "index.json").read_text())
    for row in index.get("files", index if isinstance(index, list) else []):
        if isinstance(row, dict) and row.get("filename") == "zlib-9.9.tar.gz":
            row["filename"] = "zlib-9.9.tgz"
    (src / "index.json").write_text(json.dumps(index))
    record = _pack_delta(inputs, v1.archive, tmp_path / "v2" / "kit-demo.tar.gz").record
    moved = next(f for f in record.files if f.path == "sources/zlib-9.9.tgz")
    assert (moved.source, moved.base_path) == ("base", "sources/zlib-9.9.tar.gz")


def test_manifests_and_locks_travel_even_when_unchanged(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    """Only a playbook changes: its bytes, SHA256SUMS and README.txt (which lists the files)
    would be enough, but the wheelhouse's manifest and lock travel too (the delta says what
    the new kit is); the wheels, sources and Vagrantfile come from the base."""
    v1 = pack_inputs(inputs, tmp_path / "v1" / "kit-demo.tar.gz")
    site = inputs["playbooks"] / "site.yml"
    site.write_text(site.read_text() + "  gather_facts: false\n")
    record = _pack_delta(inputs, v1.archive, tmp_path / "v2" / "kit-demo.tar.gz").record
    v1_files = _members(v1.archive)
    carried = {f.path for f in record.carried}
    assert carried >= {"SHA256SUMS", "playbooks/site.yml"}
    unchanged = {"wheelhouse/manifest.json", "wheelhouse/requirements.lock"}
    assert unchanged <= carried
    for path in unchanged:  # the base holds these very bytes
        f = next(f for f in record.files if f.path == path)
        assert hashlib.sha256(v1_files[path]).hexdigest() == f.sha256
    assert not any(p.endswith(".whl") or p.startswith("sources/") for p in carried), carried
    assert "Vagrantfile" not in carried


@pytest.mark.parametrize(
    ("path", "carried"),
    [
        ("SHA256SUMS", True),
        ("wheelhouse/manifest.json", True),
        ("wheelhouse/cp311-manylinux2014/requirements.lock", True),  # a per-target folder
        ("controller/wheelhouse/pylock.toml", True),
        ("wheelhouse/bootstrap.lock", True),
        ("wheelhouse/demolib-1.2-cp36-cp36m-manylinux1_x86_64.whl", False),
        ("playbooks/manifest.json", False),  # not a wheelhouse's
        ("wheelhouse/SHA256SUMS", False),
        ("sources/requirements.lock", False),
    ],
)
def test_always_carried_names_what_describes_a_wheelhouse(path: str, carried: bool) -> None:
    assert delta.always_carried(path) is carried


def test_refusals_write_nothing(inputs: dict[str, Path], tmp_path: Path) -> None:
    v1 = pack_inputs(inputs, tmp_path / "v1" / "kit-demo.tar.gz")
    out = tmp_path / "v2" / "kit-demo.tar.gz"
    with pytest.raises(BadInput, match="the very kit being packed"):
        _pack_delta(inputs, v1.archive, out)
    upgrade(inputs)
    made = _pack_delta(inputs, v1.archive, tmp_path / "d" / "kit-demo.tar.gz")
    with pytest.raises(BadInput, match="a delta kit; give the full kit"):
        _pack_delta(inputs, made.delta.archive, out)
    garbage = tmp_path / "notes.txt"
    garbage.write_text("not a checksum list\n")
    with pytest.raises(BadInput, match=r"notes\.txt:1: not a '<sha256>  <path>' line"):
        _pack_delta(inputs, garbage, out)
    with pytest.raises(BadInput, match="no such kit"):
        _pack_delta(inputs, tmp_path / "missing.tar.gz", out)
    with tarfile.open(v1.archive) as tar:
        tar.extractall(tmp_path / "u", filter="data")
    changed = tmp_path / "u" / "kit-demo" / "playbooks" / "site.yml"
    changed.write_text(changed.read_text() + "# edited after packing\n")
    with pytest.raises(BadInput, match=r"playbooks/site\.yml is missing or differs"):
        _pack_delta(inputs, tmp_path / "u" / "kit-demo", out)
    assert not (tmp_path / "v2").exists() or not any((tmp_path / "v2").iterdir())


def test_a_base_that_is_no_kit_is_refused_in_one_line(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    """A wheelhouse (its folder, its SHA256SUMS or its manifest.json) and the archive's
    sidecars (.sha256, the signatures) would give a useless delta: refused, exit 2, saying what
    a base is (#16 review finding 11; manifest.json: review16d finding 5, which was refused as
    'SHA256SUMS:1: not a ... line', naming another file)."""
    v1 = pack_inputs(inputs, tmp_path / "v1" / "kit-demo.tar.gz")
    upgrade(inputs)
    sig = v1.archive.with_name(v1.archive.name + ".sha256.minisig")
    sig.write_text("untrusted comment: stand-in\n")
    wheelhouse = inputs["wheelhouse"]
    bases = [wheelhouse, wheelhouse / "SHA256SUMS", Path(f"{v1.archive}.sha256"), sig]
    bases.append(wheelhouse / "manifest.json")
    missing = tmp_path / "nonexistent.tar.gz"
    for base in [*bases, missing]:
        result = CliRunner().invoke(
            main,
            ["pack", "--wheelhouse", str(wheelhouse), "--sources", str(inputs["sources"]),
             "--playbooks", str(inputs["playbooks"]), "--vagrantfile", str(inputs["vagrantfile"]),
             "--no-controller", "-o", str(tmp_path / "v2" / "kit-demo.tar.gz"),
             "--base", str(base)],
        )  # fmt: skip
        assert result.exit_code == 2, (base, result.output)
        if base == missing:  # a usage error of pack: the same one line (cli.KitGroup)
            assert result.stderr == (
                f"bundler: error: Invalid value for '--base': Path '{missing}' does not exist.\n"
            )
            continue
        assert result.stderr.startswith(f"bundler: error: --base {base}: "), result.stderr
        assert "a base is a kit archive (kit-NAME.tar.gz)" in result.stderr
        assert result.stderr.count("\n") == 1
        assert "SHA256SUMS:1" not in result.stderr  # the file given is named, not another
    assert not (tmp_path / "v2").exists() or not any((tmp_path / "v2").iterdir())


def test_a_damaged_base_archive_is_refused(inputs: dict[str, Path], tmp_path: Path) -> None:
    v1 = pack_inputs(inputs, tmp_path / "v1" / "kit-demo.tar.gz")
    data = bytearray(v1.archive.read_bytes())
    data[len(data) // 2] ^= 0x01
    v1.archive.write_bytes(bytes(data))
    upgrade(inputs)
    with pytest.raises(BadInput, match=r"differs from kit-demo\.tar\.gz\.sha256"):
        _pack_delta(inputs, v1.archive, tmp_path / "v2" / "kit-demo.tar.gz")


def test_split_applies_to_the_delta_too(inputs: dict[str, Path], tmp_path: Path) -> None:
    v1 = pack_inputs(inputs, tmp_path / "v1" / "kit-demo.tar.gz")
    upgrade(inputs)
    result = delta.pack_with_base(
        v1.archive,
        kit_inputs(inputs),
        tmp_path / "v2" / "kit-demo.tar.gz",
        2048,
    )
    assert [p.name for p in result.delta.parts][:2] == [
        "kit-demo.delta.tar.gz.part000",
        "kit-demo.delta.tar.gz.part001",
    ]
    joined = b"".join(p.read_bytes() for p in result.delta.parts)
    assert hashlib.sha256(joined).hexdigest() == result.delta.sha256


def test_cli_pack_base_reports_the_delta_and_the_size_saved(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    v1 = pack_inputs(inputs, tmp_path / "v1" / "kit-demo.tar.gz")
    upgrade(inputs)
    out = tmp_path / "v2" / "kit-demo.tar.gz"
    result = CliRunner().invoke(
        main,
        [
            "pack", "--wheelhouse", str(inputs["wheelhouse"]), "--sources", str(inputs["sources"]),
            "--playbooks", str(inputs["playbooks"]), "--vagrantfile", str(inputs["vagrantfile"]),
            "--no-controller", "-o", str(out), "--base", str(v1.archive),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    full, part = out.stat().st_size, (out.parent / "kit-demo.delta.tar.gz").stat().st_size
    assert f"packed 17 files into {out}" in result.output
    assert (
        f"delta kit: {out.parent / 'kit-demo.delta.tar.gz'}: 8 of 17 files carried" in result.output
    )
    assert "9 taken from the base kit-demo (SHA256SUMS sha256 " in result.output
    assert (
        f"({part} bytes, recorded in {out.parent / 'kit-demo.delta.tar.gz.sha256'})"
        in result.output
    )
    assert (
        f"size: delta {delta.format_size(part)} instead of {delta.format_size(full)}: "
        in result.output
    )
    shutil.rmtree(out.parent)
    missing = CliRunner().invoke(main, ["pack", "--base", str(tmp_path / "nope")])
    assert missing.exit_code == 2


def test_the_delta_summary_names_a_base_given_by_its_sha256sums_once() -> None:
    """#16 second review finding 10: `pack --base KIT/SHA256SUMS` printed "taken from the base
    the base kit"."""
    from bundler.cli.pack_cmd import base_words

    sums = "ab" * 32
    named = delta_model.BaseRecord(name="kit-demo", archive_sha256=None, sums_sha256=sums)
    anonymous = delta_model.BaseRecord(name=None, archive_sha256=None, sums_sha256=sums)
    assert base_words(named) == "the base kit-demo (SHA256SUMS sha256 abababababab...)"
    assert base_words(anonymous) == "the base kit (SHA256SUMS sha256 abababababab...)"


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_pack_base_in_the_output_folder_is_refused_not_overwritten(
    inputs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """#16 fresh review, finding 1: the kit's name does not change between versions, so the
    default -o in the folder holding v1 IS v1: `pack --base kit-demo.tar.gz` there replaced
    v1's archive and .sha256 with v2's, exit 0. Now exit 2, one line, nothing written."""
    from bundler.kit.pack import SUFFIX, default_name

    name = default_name(inputs["wheelhouse"]) + SUFFIX  # v1's and v2's
    v1 = pack_inputs(inputs, tmp_path / "v1" / name)
    upgrade(inputs)
    before = _snapshot(tmp_path / "v1")
    monkeypatch.chdir(tmp_path / "v1")
    result = CliRunner().invoke(
        main,
        ["pack", "--wheelhouse", str(inputs["wheelhouse"]), "--sources", str(inputs["sources"]),
         "--playbooks", str(inputs["playbooks"]), "--vagrantfile", str(inputs["vagrantfile"]),
         "--no-controller", "--base", v1.archive.name],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"bundler: error: -o {name}: pack would write ")
    assert f"the base {name}" in result.stderr
    assert result.stderr.count("\n") == 1
    assert _snapshot(tmp_path / "v1") == before


def test_every_output_that_would_touch_the_base_is_refused(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    """Real paths and inodes, not text: the same archive through a symlinked folder, a hard
    link, a split base's part (a plain pack would remove it as a stale part), the delta's own
    output, a base SHA256SUMS named like a sidecar, and -o inside a base directory."""
    v1 = pack_inputs(inputs, tmp_path / "v1" / "kit-demo.tar.gz")
    split = pack_inputs(inputs, tmp_path / "s1" / "kit-demo.tar.gz", split=2048)
    with tarfile.open(v1.archive) as tar:
        tar.extractall(tmp_path / "u", filter="data")
    upgrade(inputs)
    (tmp_path / "link").symlink_to(tmp_path / "v1")
    (tmp_path / "hard").mkdir()
    # the delta's output: v1 kept as kit-demo.delta.tar.gz, -o kit-demo.tar.gz beside it
    shutil.copy(v1.archive, tmp_path / "v1" / "kit-demo.delta.tar.gz")
    os.link(v1.archive, tmp_path / "hard" / "kit-demo.tar.gz")
    cases = [
        (v1.archive, tmp_path / "link" / "kit-demo.tar.gz"),
        (tmp_path / "link" / "kit-demo.tar.gz", v1.archive),
        (tmp_path / "hard" / "kit-demo.tar.gz", v1.archive),
        (split.parts[1], tmp_path / "s1" / "kit-demo.tar.gz"),
        (tmp_path / "v1" / "kit-demo.delta.tar.gz", tmp_path / "link" / "kit-demo.tar.gz"),
        (tmp_path / "u" / "kit-demo", tmp_path / "u" / "kit-demo" / "v2" / "kit-demo.tar.gz"),
        (tmp_path / "u" / "kit-demo", tmp_path / "u" / "kit-demo" / "kit-demo.tar.gz"),
    ]
    for base, out in cases:
        before = _snapshot(tmp_path)
        with pytest.raises(BadInput, match=r"^-o .*: pack would write .*the base "):
            _pack_delta(inputs, base, out)
        assert _snapshot(tmp_path) == before, (base, out)
    sums_base = tmp_path / "sums" / "kit-demo.tar.gz.sha256"
    sums_base.parent.mkdir()
    shutil.copy(tmp_path / "u" / "kit-demo" / "SHA256SUMS", sums_base)
    with pytest.raises(BadInput, match="pack would write"):
        _pack_delta(inputs, sums_base, tmp_path / "sums" / "kit-demo.tar.gz")
    made = _pack_delta(inputs, v1.archive, tmp_path / "v2" / "kit-demo.tar.gz")  # apart: fine
    assert made.delta.archive.is_file()


def test_a_delta_smaller_than_one_part_is_one_part_like_a_full_kit(
    inputs: dict[str, Path], tmp_path: Path
) -> None:
    """#16 fresh review, finding 8: `pack --split 1M --base` wrote a 64 KiB delta as
    kit-NAME.delta.tar.gz.part000. A full pack does the same for an archive smaller than
    --split (always parts), so the delta stays consistent with it; README's far-side
    commands say to give the first part, and unpack/verify take it."""
    v1 = pack_inputs(inputs, tmp_path / "v1" / "kit-demo.tar.gz")
    upgrade(inputs)
    big = 1 << 20
    plain = pack_inputs(inputs, tmp_path / "plain" / "kit-demo.tar.gz", split=big)
    made = delta.pack_with_base(
        v1.archive,
        kit_inputs(inputs),
        tmp_path / "v2" / "kit-demo.tar.gz",
        big,
    )
    assert [p.name for p in plain.parts] == ["kit-demo.tar.gz.part000"]
    assert [p.name for p in made.full.parts] == ["kit-demo.tar.gz.part000"]
    assert [p.name for p in made.delta.parts] == ["kit-demo.delta.tar.gz.part000"]
    assert not (tmp_path / "v2" / "kit-demo.delta.tar.gz").exists()
    with tarfile.open(v1.archive) as tar:
        tar.extractall(tmp_path / "far", filter="data")
    first = made.delta.parts[0]
    assert CliRunner().invoke(main, ["verify", str(first)]).exit_code == 0
    result = CliRunner().invoke(
        main,
        ["unpack", str(first), "--onto", str(tmp_path / "far" / "kit-demo"),
         "-o", str(tmp_path / "far" / "kit-v2")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"unpacked into {tmp_path / 'far' / 'kit-v2'}" in result.output
