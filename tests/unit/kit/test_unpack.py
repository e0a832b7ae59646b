"""bundler.kit.unpack / `bundler unpack --onto`, `bundler verify --onto`: the far side of a delta.

Kit v1 is the HAND-MADE kit, v2 upgrades demolib and adds extrapkg (tests/unit/kit/delta_kit.py).
The assembled kit must be the full v2 pack byte for byte; another base, a changed base file or a
changed delta is refused, and nothing is left at the output unless the whole kit verified.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import stat
import tarfile
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bundler.cli import main
from bundler.errors import BadInput, BundlerError, CheckFailed, WrongBase
from bundler.fs import staging
from bundler.kit import delta, unpack
from bundler.kit.pack import PackInputs
from tests.unit.kit.delta_kit import pack_v1_v2
from tests.unit.kit.handmade_kit import handmade_inputs


class Kits:
    """v1 (archive + unpacked), the full v2, and the v1 -> v2 delta, in one tmp folder."""

    def __init__(self, tmp: Path) -> None:
        inputs = handmade_inputs(tmp / "in")
        self.v1, self.v2 = pack_v1_v2(inputs, tmp)
        made = delta.pack_with_base(
            self.v1.archive,
            PackInputs(
                inputs["wheelhouse"],
                inputs["playbooks"],
                sources_dir=inputs["sources"],
                vagrantfile=inputs["vagrantfile"],
            ),
            tmp / "v2" / "kit-demo.tar.gz",
        )
        self.delta = made.delta.archive
        self.far = tmp / "far"
        self.old = _extract(self.v1.archive, self.far)
        self.full_v2 = _extract(self.v2.archive, tmp / "reference")


@pytest.fixture
def kits(tmp_path: Path) -> Kits:
    return Kits(tmp_path)


def _extract(archive: Path, dest: Path) -> Path:
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
        top = tar.getnames()[0].split("/")[0]
    return dest / top


def _tree(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under `root`: bytes and permission bits."""
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), stat.S_IMODE(p.stat().st_mode))
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _bundler(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if staging.STAGE_MARK in p.name)


def test_unpack_onto_v1_gives_the_full_v2_kit_byte_for_byte(kits: Kits) -> None:
    new = kits.far / "kit-demo-v2"
    result = unpack.unpack_onto([kits.delta], kits.old, new, archive=True)
    assert result.directory == new and not result.already
    assert _tree(new) == _tree(kits.full_v2)
    assert result.archive == kits.far / "kit-demo.tar.gz"
    assert result.archive.read_bytes() == kits.v2.archive.read_bytes()
    sidecar = kits.far / "kit-demo.tar.gz.sha256"
    assert result.sidecars == [sidecar]
    assert sidecar.read_bytes() == kits.v2.checksum_file.read_bytes()
    assert result.report is not None and result.report.problems == []
    assert result.carried[0] == 8 and result.from_base[0] == 9
    assert _leftovers(kits.far) == []
    again = _bundler("verify", new)  # the assembled kit is an ordinary kit
    assert again.exit_code == 0, again.output


def test_onto_the_old_archive_and_from_split_parts(kits: Kits, tmp_path: Path) -> None:
    parts = tmp_path / "parts"
    parts.mkdir()
    data = kits.delta.read_bytes()
    for i in range(0, len(data), 1500):
        (parts / f"kit-demo.delta.tar.gz.part{i // 1500:03d}").write_bytes(data[i : i + 1500])
    unpack.unpack_onto([parts / "kit-demo.delta.tar.gz.part000"], kits.v1.archive, tmp_path / "new")
    assert _tree(tmp_path / "new") == _tree(kits.full_v2)


def test_a_wrong_base_is_refused_before_anything_is_written(kits: Kits, tmp_path: Path) -> None:
    site = kits.old / "playbooks" / "site.yml"
    site.write_text(site.read_text() + "# another kit\n")
    sums = kits.old / "SHA256SUMS"  # a consistent kit, but not the one the delta was made from
    lines = [
        line if not line.endswith("playbooks/site.yml") else
        f"{hashlib.sha256(site.read_bytes()).hexdigest()}  playbooks/site.yml"
        for line in sums.read_text().splitlines()
    ]  # fmt: skip
    sums.write_text("\n".join(lines) + "\n")
    assert _bundler("verify", kits.old).exit_code == 0
    new = kits.far / "kit-demo-v2"
    with pytest.raises(WrongBase, match=r"was made from kit-demo \(SHA256SUMS sha256 ") as info:
        unpack.unpack_onto([kits.delta], kits.old, new)
    fields = info.value.to_dict()
    assert fields["exit_code"] == 2
    assert fields["expected"]["sums_sha256"] != fields["found"]["sums_sha256"]
    assert not new.exists() and _leftovers(kits.far) == []
    cli = _bundler("unpack", kits.delta, "--onto", kits.old, "-o", new)
    assert cli.exit_code == 2
    assert "bundler: error: kit-demo.delta.tar.gz was made from kit-demo" in cli.output
    assert "carry the full kit-demo.tar.gz" in cli.output
    checked = _bundler("verify", kits.delta, "--onto", kits.old)
    assert checked.exit_code == 2


def test_another_archive_with_the_same_files_is_not_the_base(kits: Kits, tmp_path: Path) -> None:
    """The delta recorded the base archive's sha256: an archive of the same files packed with
    another timestamp is refused (its SHA256SUMS is the same, the archive is not)."""
    with (
        tarfile.open(kits.v1.archive) as src,
        tarfile.open(tmp_path / "kit-demo.tar.gz", "w:gz") as out,
    ):
        for member in src.getmembers():
            member.mtime += 1
            out.addfile(member, src.extractfile(member) if member.isfile() else None)
    with pytest.raises(WrongBase, match=r"another kit \(archive sha256 "):
        unpack.verify_onto([kits.delta], tmp_path / "kit-demo.tar.gz")


def test_the_new_kit_itself_is_told_apart(kits: Kits) -> None:
    with pytest.raises(WrongBase, match=r"already is kit-demo, the kit kit-demo\.delta\.tar\.gz"):
        unpack.verify_onto([kits.delta], kits.full_v2)
    new = kits.far / "kit-demo-v2"
    unpack.unpack_onto([kits.delta], kits.old, new)
    before = _tree(new)
    again = _bundler("unpack", kits.delta, "--onto", kits.old, "-o", new)
    assert again.exit_code == 0, again.output
    assert f"ok: {new} already is kit-demo: nothing to do" in again.output
    assert _tree(new) == before
    other = kits.far / "occupied"
    other.mkdir()
    with pytest.raises(BadInput, match="occupied exists: give -o a new directory") as info:
        unpack.unpack_onto([kits.delta], kits.old, other)
    # not the base: no hint about the base (#16 fresh review, finding 7)
    assert re.fullmatch(
        rf"{re.escape(str(other))} exists: give -o a new directory, e.g. "
        rf"{re.escape(str(other))}\.[0-9a-f]{{8}}",
        str(info.value),
    )


def test_a_base_file_changed_since_packing_fails_and_leaves_nothing(kits: Kits) -> None:
    wheel = kits.old / "wheelhouse" / "demoapp-1.0-py3-none-any.whl"
    data = bytearray(wheel.read_bytes())
    data[-10] ^= 0xFF
    wheel.write_bytes(bytes(data))
    new = kits.far / "kit-demo-v2"
    with pytest.raises(CheckFailed) as info:
        unpack.unpack_onto([kits.delta], kits.old, new)
    assert info.value.problems == [
        "--onto: wheelhouse/demoapp-1.0-py3-none-any.whl: sha256 differs from the base kit's "
        "SHA256SUMS (changed since it was packed; needed for "
        "wheelhouse/demoapp-1.0-py3-none-any.whl)"
    ]
    assert not new.exists() and _leftovers(kits.far) == []
    (kits.old / "sources" / "Python-3.6.15.tgz").unlink()
    cli = _bundler("unpack", kits.delta, "--onto", kits.old, "-o", new)
    assert cli.exit_code == 1
    assert "--onto: sources/Python-3.6.15.tgz: " in cli.output


def _rewrite_delta(src: Path, dest: Path, change: dict[str, bytes]) -> None:
    """The delta archive with some members' bytes replaced (as damage in transit would)."""
    raw = io.BytesIO()
    with (
        tarfile.open(src) as tar,
        tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as out,
    ):
        for member in tar.getmembers():
            rel = member.name.split("/", 1)[-1]
            if member.isfile() and rel in change:
                member.size = len(change[rel])
                out.addfile(member, io.BytesIO(change[rel]))
            else:
                out.addfile(member, tar.extractfile(member) if member.isfile() else None)
    dest.write_bytes(gzip.compress(raw.getvalue(), mtime=0))


def test_a_changed_delta_member_is_named(kits: Kits, tmp_path: Path) -> None:
    bad = tmp_path / "bad" / "kit-demo.delta.tar.gz"
    bad.parent.mkdir()
    wheel = "kit/wheelhouse/extrapkg-0.1-py3-none-any.whl"
    _rewrite_delta(kits.delta, bad, {wheel: b"not the wheel"})
    with pytest.raises(CheckFailed) as info:
        unpack.unpack_onto([bad], kits.old, kits.far / "kit-demo-v2")
    assert info.value.problems == [f"{wheel}: sha256 differs from DELTA.json"]
    alone = _bundler("verify", bad)
    assert alone.exit_code == 1 and f"{wheel}: sha256 differs from DELTA.json" in alone.output


def test_a_record_that_does_not_pack_to_the_recorded_archive_fails(
    kits: Kits, tmp_path: Path
) -> None:
    """Every file intact, but DELTA.json claims another archive (e.g. another epoch): the
    assembled kit is not the kit that was packed, so it is not accepted as that kit."""
    with tarfile.open(kits.delta) as tar:
        member = tar.getmember("kit-demo.delta/DELTA.json")
        stream = tar.extractfile(member)
        assert stream is not None
        doc = json.loads(stream.read())
    doc["kit"]["epoch"] += 1
    bad = tmp_path / "bad" / "kit-demo.delta.tar.gz"
    bad.parent.mkdir()
    _rewrite_delta(kits.delta, bad, {"DELTA.json": json.dumps(doc).encode()})
    with pytest.raises(CheckFailed) as info:
        unpack.verify_onto([bad], kits.old)
    assert len(info.value.problems) == 1
    assert info.value.problems[0].startswith("kit-demo.tar.gz: the assembled kit packs to sha256 ")


def test_a_sidecar_naming_another_archive_is_refused(kits: Kits, tmp_path: Path) -> None:
    """The full archive's .sha256 carried in the delta, consistent with DELTA.json's own hash
    of it, but recording another sha256 than DELTA.json's kit.sha256: refused."""
    forged = f"{'0' * 64}  kit-demo.tar.gz\n".encode()
    with tarfile.open(kits.delta) as tar:
        stream = tar.extractfile("kit-demo.delta/DELTA.json")
        assert stream is not None
        doc = json.loads(stream.read())
    doc["sidecars"][0].update(sha256=hashlib.sha256(forged).hexdigest(), size=len(forged))
    bad = tmp_path / "bad" / "kit-demo.delta.tar.gz"
    bad.parent.mkdir()
    change = {"DELTA.json": json.dumps(doc).encode(), "kit-demo.tar.gz.sha256": forged}
    _rewrite_delta(kits.delta, bad, change)
    expected = ["kit-demo.tar.gz.sha256: does not record kit-demo.tar.gz's sha256 of DELTA.json"]
    with pytest.raises(CheckFailed) as info:
        unpack.unpack_onto([bad], kits.old, tmp_path / "new")
    assert info.value.problems == expected
    with pytest.raises(CheckFailed) as info:
        unpack.check_delta([bad])
    assert info.value.problems == expected


def test_a_damaged_delta_archive_fails_its_own_sha256(kits: Kits, tmp_path: Path) -> None:
    sidecar = kits.delta.with_name(kits.delta.name + ".sha256")
    sidecar.write_text("0" * 64 + "  kit-demo.delta.tar.gz\n")
    with pytest.raises(CheckFailed) as info:
        unpack.unpack_onto([kits.delta], kits.old, kits.far / "new")
    assert info.value.problems == [
        "kit-demo.delta.tar.gz: sha256 differs from kit-demo.delta.tar.gz.sha256 (damaged or "
        "replaced)"
    ]


def test_an_interrupted_assembly_leaves_nothing_and_the_next_run_sweeps_a_killed_one(
    kits: Kits, monkeypatch: pytest.MonkeyPatch
) -> None:
    new = kits.far / "kit-demo-v2"
    real_place = unpack._place
    calls = []

    def place_then_interrupt(*args: object) -> list[str]:
        calls.append(args)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real_place(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(unpack, "_place", place_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        unpack.unpack_onto([kits.delta], kits.old, new)
    assert not new.exists() and _leftovers(kits.far) == []
    monkeypatch.undo()
    killed = kits.far / ".kit-demo-v2.stage-killed"  # a SIGKILLed run's: nobody holds its lock
    (killed / "content" / "wheelhouse").mkdir(parents=True)
    unpack.unpack_onto([kits.delta], kits.old, new)
    assert _tree(new) == _tree(kits.full_v2)
    assert _leftovers(kits.far) == []


def test_operator_files_of_the_base_are_named_not_copied(kits: Kits) -> None:
    (kits.old / "playbooks" / "inventory" / "hosts.ini").write_text("[intranet]\nhost1\n")
    new = kits.far / "kit-demo-v2"
    cli = _bundler("unpack", kits.delta, "--onto", kits.old, "-o", new)
    assert cli.exit_code == 0, cli.output
    assert "note: not copied from" in cli.output and "playbooks/inventory/hosts.ini" in cli.output
    assert not (new / "playbooks" / "inventory" / "hosts.ini").exists()


def test_cli_verify_and_unpack_of_a_delta(kits: Kits, tmp_path: Path) -> None:
    alone = _bundler("verify", kits.delta)
    assert alone.exit_code == 0, alone.output
    assert (
        "ok: kit-demo.delta.tar.gz (delta kit): kit-demo from kit-demo.delta.tar.gz: 8 files"
        in (alone.output)
    )
    onto = _bundler("verify", kits.delta, "--onto", kits.old)
    assert onto.exit_code == 0, onto.output
    assert f"ok: it packs to kit-demo.tar.gz, sha256 {kits.v2.sha256}" in onto.output
    assert not any(p.name.startswith("kit-demo") and p != kits.old for p in kits.far.iterdir())
    no_base = _bundler("unpack", kits.delta)
    assert no_base.exit_code == 2 and "is a delta kit for kit-demo: give --onto" in no_base.output
    wrong = _bundler("verify", kits.delta, "--unpack", tmp_path / "x")
    assert wrong.exit_code == 2 and "bundler unpack DELTA --onto OLD_KIT" in wrong.output
    rehearse = _bundler("verify", kits.delta, "--rehearse", tmp_path / "python3.6")
    assert rehearse.exit_code == 2 and "--rehearse the kit it assembles" in rehearse.output
    policy = tmp_path / "policy.toml"
    policy.write_text("[size]\nmax_kit = '4G'\n", encoding="utf-8")
    no_gate = _bundler("verify", kits.delta, "--policy", policy)  # the delta alone has no wheels
    assert no_gate.exit_code == 2 and "add --onto OLD_KIT" in no_gate.output
    for option in (("--min-sequence", "100"), ("--not-before", "2030-01-01")):
        unchecked = _bundler("verify", kits.delta, *option)  # the delta alone has no release
        assert unchecked.exit_code == 2 and "assembles: add --onto OLD_KIT" in unchecked.output
    full_onto = _bundler("verify", kits.v2.archive, "--onto", kits.old)
    assert full_onto.exit_code == 2 and "--onto is for a delta kit" in full_onto.output
    unpacked = _bundler("unpack", kits.v2.archive, "-o", tmp_path / "plain")
    assert unpacked.exit_code == 0, unpacked.output
    assert _tree(tmp_path / "plain") == _tree(kits.full_v2)
    default = _bundler("unpack", kits.delta, "--onto", kits.old, "--archive")
    assert default.exit_code == 2
    assert f"{kits.old} exists (it is the base kit: the new kit has the same name, kit-demo): " in (
        default.output
    )
    assert f"give -o a new directory, e.g. {kits.old}." in default.output
    assert default.output.endswith(" (the base kit is never replaced)\n")


def test_the_new_kit_is_never_written_inside_the_base(kits: Kits, tmp_path: Path) -> None:
    """#16 fresh review, finding 4: `unpack DELTA --onto kb -o kb/wheelhouse/newkit` wrote
    the new kit inside the base (after which `verify kb` failed on the unlisted files).
    Refused, exit 2, one line, the base untouched: -o inside --onto (also through a
    symlink), and --archive whose archive would land inside it."""
    before = _tree(kits.old)
    (tmp_path / "alias").symlink_to(kits.old)
    for out, extra in [
        (kits.old / "wheelhouse" / "newkit", []),
        (tmp_path / "alias" / "newkit", []),
        (kits.old / "newkit", ["--archive"]),  # (and its archive, beside it, in the base)
    ]:
        result = _bundler("unpack", kits.delta, "--onto", kits.old, "-o", out, *extra)
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith(f"bundler: error: -o {out}: inside the base kit --onto ")
        assert result.stderr.count("\n") == 1
        assert _tree(kits.old) == before and not os.path.lexists(out)
    assert _bundler("verify", kits.old).exit_code == 0


def test_inspect_summarises_a_delta_from_its_record(kits: Kits) -> None:
    text = _bundler("inspect", kits.delta)
    assert text.exit_code == 0, text.output
    assert "delta kit for: kit-demo (kit-demo.tar.gz, " in text.output
    assert f"sha256 {kits.v2.sha256})" in text.output
    assert f"base archive sha256: {kits.v1.sha256}" in text.output
    assert "carried: 8 files" in text.output and "from the base: 9 files" in text.output
    assert "  wheelhouse/extrapkg-0.1-py3-none-any.whl" in text.output
    doc = json.loads(_bundler("inspect", kits.delta, "--json").output)
    assert doc["delta"] is True and doc["base"]["archive_sha256"] == kits.v1.sha256
    assert doc["carried"]["files"] == 8 and doc["from_base"]["files"] == 9
    no_html = _bundler("inspect", kits.delta, "--html", kits.far / "r.html")
    assert no_html.exit_code == 2 and not (kits.far / "r.html").exists()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_damaged_deltas_fail_cleanly_and_leave_nothing(
    kits: Kits, tmp_path: Path, data: st.DataObject
) -> None:
    """Random byte damage anywhere in the delta: unpack fails with an error of the kit's
    family (exit 1 or 2, one line or problem lines), or -- when the damage is in gzip's slack
    and changes nothing -- assembles the same kit; never a traceback, never a partial kit."""
    raw = bytearray(kits.delta.read_bytes())
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] = data.draw(st.integers(0, 255))
    case = Path(tempfile.mkdtemp(dir=tmp_path))
    damaged = case / "kit-demo.delta.tar.gz"
    damaged.write_bytes(bytes(raw))
    new = case / "new"
    try:
        unpack.unpack_onto([damaged], kits.old, new)
    except (BundlerError, CheckFailed):
        assert not new.exists()
    else:
        assert _tree(new) == _tree(kits.full_v2)
    assert _leftovers(case) == []


def test_every_delta_and_freshness_usage_error_is_one_line(kits: Kits, tmp_path: Path) -> None:
    """verify/unpack/inspect refuse each wrong combination of --onto, --archive, --unpack,
    --rehearse, --policy and the freshness options (and a bad value of each) in the kit's
    one line, exit 2, never click's three-line usage form (#16 review finding 12)."""
    policy = tmp_path / "policy.toml"
    policy.write_text("[size]\nmax_kit = '4G'\n", encoding="utf-8")
    missing = tmp_path / "nonexistent"
    delta_, full, old = kits.delta, kits.v2.archive, kits.old
    cases: list[tuple[list[str | Path], str]] = [
        (["unpack", delta_], "give --onto OLD_KIT"),
        (["unpack", delta_, "--onto", missing], f"'--onto': Path '{missing}' does not exist"),
        (["unpack", full, "--onto", old], "--onto and --archive are for a delta kit"),
        (["unpack", full, "--archive"], "--onto and --archive are for a delta kit"),
        (["unpack", missing], f"Path '{missing}' does not exist"),
        (["unpack"], "Missing argument 'KIT...'"),
        (["unpack", delta_, "--onto", old, "--min-sequence", "-1"], "'--min-sequence'"),
        (["unpack", delta_, "--onto", old, "--not-before", "2030-13-01"], "'--not-before'"),
        (["unpack", delta_, "--onto", old, "--state", tmp_path / "s"], "needs --key"),
        (["unpack", delta_, "--onto", old, "--bogus"], "No such option '--bogus'"),
        (["verify", delta_, "--unpack", tmp_path / "x"], "bundler unpack DELTA --onto OLD_KIT"),
        (["verify", delta_, "--rehearse", tmp_path / "py"], "--rehearse the kit it assembles"),
        (["verify", delta_, "--policy", policy], "add --onto OLD_KIT"),
        (["verify", delta_, "--min-sequence", "100"], "assembles: add --onto OLD_KIT"),
        (["verify", delta_, "--not-before", "2030-01-01"], "assembles: add --onto OLD_KIT"),
        (["verify", delta_, "--state", tmp_path / "s"], "needs --key"),
        (["verify", full, "--onto", old], "--onto is for a delta kit"),
        (["verify", delta_, "--onto", missing], f"'--onto': Path '{missing}' does not exist"),
        (["verify", delta_, "--onto", old, "--as-of", "yesterday"], "'--as-of'"),
        (["inspect", delta_, "--html", kits.far / "r.html"], "a delta kit has no report"),
    ]
    for argv, says in cases:
        result = _bundler(*argv)
        shown = " ".join(str(a) for a in argv)
        assert result.exit_code == 2, (shown, result.output)
        assert result.stderr.startswith("bundler: error: "), (shown, result.stderr)
        assert result.stderr.count("\n") == 1, (shown, result.stderr)
        assert says in result.stderr, (shown, result.stderr)
        assert "Usage:" not in result.output, shown
    assert not (kits.far / "r.html").exists()


def test_a_delta_re_tarred_with_its_record_not_first_is_refused_clearly(
    kits: Kits, tmp_path: Path
) -> None:
    """DELTA.json must be the delta's first file (it is read without reading the rest): a
    delta re-tarred in another order is named as such by unpack, verify and inspect, never
    taken for a full kit (#16 review finding 12)."""
    bad = tmp_path / "bad" / "kit-demo.delta.tar.gz"
    bad.parent.mkdir()
    raw = io.BytesIO()
    with (
        tarfile.open(kits.delta) as tar,
        tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as out,
    ):
        members = tar.getmembers()
        last = [m for m in members if m.name.endswith("/DELTA.json")]
        for member in [m for m in members if m not in last] + last:
            out.addfile(member, tar.extractfile(member) if member.isfile() else None)
    bad.write_bytes(gzip.compress(raw.getvalue(), mtime=0))
    for argv in (["unpack", bad, "--onto", kits.old], ["verify", bad], ["inspect", bad]):
        result = _bundler(*argv)
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("bundler: error: kit-demo.delta.tar.gz: kit-demo.delta/")
        assert "is not its DELTA.json: re-packed by hand?" in result.stderr
        assert result.stderr.count("\n") == 1


def _add_member(src: Path, dest: Path, member: tarfile.TarInfo, data: bytes = b"") -> None:
    """The delta archive with one more member at the end (DELTA.json stays first)."""
    raw = io.BytesIO()
    with (
        tarfile.open(src) as tar,
        tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as out,
    ):
        for m in tar.getmembers():
            out.addfile(m, tar.extractfile(m) if m.isfile() else None)
        out.addfile(member, io.BytesIO(data) if member.isfile() else None)
    dest.write_bytes(gzip.compress(raw.getvalue(), mtime=0))


def test_inspect_of_a_broken_delta_says_so_and_exits_1(kits: Kits, tmp_path: Path) -> None:
    """#16 fresh review, finding 5: a delta with a '../' member, a symlink member or cut short
    was summarised, exit 0, no warning, although `inspect --help` promises exit 1 for an
    unsafe member (verify and unpack refuse them). Now the summary, a warning per problem
    (also in --json), exit 1."""
    escape = tarfile.TarInfo("kit-demo.delta/../../evil.sh")
    escape.size = 3
    link = tarfile.TarInfo("kit-demo.delta/kit/wheelhouse/link")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    broken = {}
    for name, member in (("escape", escape), ("link", link)):
        broken[name] = tmp_path / name / "kit-demo.delta.tar.gz"
        broken[name].parent.mkdir()
        _add_member(kits.delta, broken[name], member, b"x\n\n")
    for name, path in broken.items():
        assert _bundler("verify", path).exit_code == 1, name  # as verify says
        text = _bundler("inspect", path)
        assert text.exit_code == 1, (name, text.output)
        assert "delta kit for: kit-demo (kit-demo.tar.gz, " in text.stdout, name
        assert "\nwarning: " in text.stdout, name
        as_json = _bundler("inspect", "--json", path)
        assert as_json.exit_code == 1, name
        doc = json.loads(as_json.stdout)
        assert doc["delta"] is True and doc["warnings"], name
    # cut short: a damaged archive, one line, exit 2, as verify (and inspect of a full kit) say
    cut = tmp_path / "cut" / "kit-demo.delta.tar.gz"
    cut.parent.mkdir()
    data = kits.delta.read_bytes()
    cut.write_bytes(data[: len(data) * 3 // 4])
    for command in ("verify", "inspect"):
        result = _bundler(command, cut)
        assert result.exit_code == 2, (command, result.output)
        assert result.stderr.startswith("bundler: error: kit-demo.delta.tar.gz: damaged archive")
    assert _bundler("inspect", kits.delta).exit_code == 0
    assert json.loads(_bundler("inspect", "--json", kits.delta).stdout)["warnings"] == []


def test_many_stray_members_give_a_bounded_report(kits: Kits, tmp_path: Path) -> None:
    """#16 fresh review, finding 6: a delta with 200,000 extra members made verify print a line
    per member after 'stopped reading'. Each kind of problem is now at most SHOWN lines and
    one '... and N more'; a few problems are all listed, as before."""
    raw = io.BytesIO()
    with (
        tarfile.open(kits.delta) as tar,
        tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as out,
    ):
        for m in tar.getmembers():
            out.addfile(m, tar.extractfile(m) if m.isfile() else None)
        for i in range(60):
            extra = tarfile.TarInfo(f"kit-demo.delta/kit/stray/{i:03d}.txt")
            extra.size = 1
            out.addfile(extra, io.BytesIO(b"x"))
    bad = tmp_path / "bad" / "kit-demo.delta.tar.gz"
    bad.parent.mkdir()
    bad.write_bytes(gzip.compress(raw.getvalue(), mtime=0))
    result = _bundler("verify", bad)
    assert result.exit_code == 1
    listed = [line for line in result.output.splitlines() if line.startswith("  - ")]
    assert len(listed) == unpack.SHOWN + 1, result.output
    assert listed[0] == "  - kit/stray/000.txt: in the delta but not in DELTA.json"
    assert listed[-1] == f"  - ... and {60 - unpack.SHOWN} more members not in DELTA.json"
    from bundler.kit.archive import Limits

    with pytest.raises(CheckFailed) as info:  # stopped reading: the rest is missing
        unpack.check_delta([bad], Limits(max_members=40))
    problems = info.value.problems
    assert problems[0].endswith("more than 40 members: stopped reading the archive")
    assert len(problems) <= 3 * (unpack.SHOWN + 1) + 1, problems
    assert unpack.bounded(["a", "b"], "x") == ["a", "b"]
    assert unpack.bounded([str(i) for i in range(unpack.SHOWN + 1)], "x")[-1] == "20"


def test_a_base_path_the_base_does_not_list_blames_the_delta(kits: Kits, tmp_path: Path) -> None:
    """#16 fresh review, finding 9: a DELTA.json whose base_path names another base file (its
    SHA256SUMS) said the base 'changed since it was packed'. The base is the recorded one
    (its SHA256SUMS digest), so the delta is at fault: named so, exit 1, nothing written."""
    with tarfile.open(kits.delta) as tar:
        stream = tar.extractfile("kit-demo.delta/DELTA.json")
        assert stream is not None
        doc = json.loads(stream.read())
    row = next(f for f in doc["files"] if f["source"] == "base")
    row["base_path"] = "SHA256SUMS"
    bad = tmp_path / "bad" / "kit-demo.delta.tar.gz"
    bad.parent.mkdir()
    _rewrite_delta(kits.delta, bad, {"DELTA.json": json.dumps(doc).encode()})
    new = kits.far / "kit-demo-v2"
    for command in ("verify", "unpack"):
        extra = ["-o", new] if command == "unpack" else []
        result = _bundler(command, bad, "--onto", kits.old, *extra)
        assert result.exit_code == 1, result.output
        assert (
            f"  - DELTA.json: {row['path']}: taken from the base's SHA256SUMS, which the base "
            "kit's SHA256SUMS does not list with that sha256: the delta is wrong, not the base\n"
        ) in result.output
        assert "changed since it was packed" not in result.output
        assert not new.exists() and _leftovers(kits.far) == []
