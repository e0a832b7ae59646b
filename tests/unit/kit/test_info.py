"""bundler.kit.info / `bundler inspect`: read from the archive stream, summary, HTML page.

Kits are packed from the HAND-MADE wheelhouse of tests/unit/handmade_kit.py. The page is
rendered in a real browser by tests/integration/test_report_chromium.py.
"""

from __future__ import annotations

import dataclasses
import json
import re
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from bundler.cli import main
from bundler.errors import BadInput
from bundler.kit import info as kitinfo
from bundler.kit import pack
from bundler.models.manifest import Role, parse
from bundler.models.target import Target
from bundler.wheelhouse.fetch import FetchOptions, fetch
from tests.fakeindex import FakeIndex
from tests.unit.kit.handmade_kit import TARGET, handmade_inputs, pack_inputs
from tests.unit.kit.pysource_kit import FIT_3_6_10, python_tarballs


def _kit(
    tmp_path: Path,
    split: int | None = None,
    python: tuple[str, ...] = (),
    sequence: int | None = None,
    **kw: bool,
) -> pack.PackResult:
    """A kit packed from handmade inputs (plus fake CPython tarballs of `python` versions)."""
    inputs = handmade_inputs(tmp_path / "in", **kw)
    if python:
        python_tarballs(inputs["sources"], *python)
    out = tmp_path / "out" / "kit-demo.tar.gz"
    return pack_inputs(inputs, out, split=split, sequence=sequence)


def _tree(root: Path) -> list[str]:
    return sorted(str(p) for p in root.rglob("*"))


def test_reads_archive_without_unpacking(tmp_path: Path) -> None:
    kit = _kit(tmp_path).archive
    before = _tree(tmp_path)
    info = kitinfo.read([kit])
    assert _tree(tmp_path) == before
    assert info.name == "kit-demo"
    assert info.target is not None and info.target.python_version == "3.6.15"
    assert (info.count(Role.APP), info.count(Role.BOOTSTRAP)) == (2, 0)
    assert info.python_source == "Python-3.6.15.tgz"
    assert len(info.files) == 16
    assert info.system.packages == ("glib2", "libSM")
    zlib = next(r for r in info.source_rows if r["filename"] == "zlib-9.9.tar.gz")
    assert zlib["project"] == "zlib" and zlib["version"] == "9.9" and len(zlib["sha256"]) == 64


def test_summary_lines(tmp_path: Path) -> None:
    lines = kitinfo.read([_kit(tmp_path).archive]).lines()
    text = "\n".join(lines)
    assert lines[0].startswith("kit: kit-demo  (16 files, ")
    assert "target: CPython 3.6.15 (cp36m), manylinux1_x86_64" in text
    assert "python: 3.6.15  CPython source: Python-3.6.15.tgz" in text
    assert "packages: 2 app, 0 pip bootstrap" in text
    assert "  demolib==1.2  MIT  demolib-1.2-cp36-cp36m-manylinux1_x86_64.whl" in lines
    assert "system packages (centos7): glib2, libSM" in lines


def test_split_parts_and_unpacked_dir_give_the_same_info(tmp_path: Path) -> None:
    whole = kitinfo.read([_kit(tmp_path / "a").archive]).summary()
    split = _kit(tmp_path / "b", split=2048)
    assert kitinfo.read([split.parts[0]]).summary() == whole
    assert kitinfo.read(list(split.parts)).summary() == whole


def test_kit_without_cpython_source(tmp_path: Path) -> None:
    info = kitinfo.read([_kit(tmp_path, with_python_source=False).archive])
    assert info.python_source is None
    assert "CPython source: NONE" in "\n".join(info.lines())
    assert "No CPython source in this kit" in kitinfo.render_html(info)


def test_html_is_self_contained_and_complete(tmp_path: Path) -> None:
    info = kitinfo.read([_kit(tmp_path).archive])
    html = kitinfo.render_html(info)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "external asset"
    assert "<link" not in html and "<script" not in html and "@import" not in html
    assert "<svg" in html and html.count('class="node') == 2 and html.count('class="edge"') == 1
    for p in info.packages:
        assert p.sha256 in html and p.filename in html
    assert "MIT" in html and "libSM" in html and "glib2" in html
    assert "CPython 3.6.15 (cp36m), manylinux1_x86_64" in html
    assert "zlib-9.9.tar.gz" in html


def test_html_escapes_every_value_the_kit_carries(tmp_path: Path) -> None:
    """A wheel's METADATA (Summary, License), a requirement and a warning are the kit's, not
    the kit maker's: none of them may add markup to the review page (#16 review 16x,
    finding 1: the report was not escaped at all)."""
    info = kitinfo.read([_kit(tmp_path).archive])
    assert info.manifest is not None
    evil = "<img src=x onerror=\"document.body.innerHTML='ALL CLEAR'\">"
    first, *rest = info.manifest.packages
    hostile = dataclasses.replace(first, summary=f"fine {evil}", license="MIT <b>owned</b>")
    manifest = dataclasses.replace(info.manifest, packages=(hostile, *rest))
    info = dataclasses.replace(info, manifest=manifest, warnings=[f"<script>{evil}</script>"])
    html = kitinfo.render_html(info)
    assert "<img" not in html and "<b>owned</b>" not in html and "<script" not in html
    assert (
        "fine &lt;img src=x onerror=&#34;document.body.innerHTML=&#39;ALL CLEAR&#39;&#34;&gt;"
        in html
    )
    assert "MIT &lt;b&gt;owned&lt;/b&gt;" in html


def test_graph_puts_roots_left_and_dependencies_right() -> None:
    def row(name: str, version: str, role: str) -> dict[str, str]:
        return {"name": name, "version": version, "role": role, "filename": f"{name}.whl"} | {
            "sha256": "0" * 64
        }

    manifest = {
        "schema": "airgap-kit/manifest",
        "schema_version": 1,
        "target": TARGET.to_dict(),
        "requirements": ["app==1"],
        "packages": [row(n, "1", "app") for n in ("app", "mid", "leaf", "orphan")]
        + [row("pip", "21.3.1", "bootstrap")],
        "edges": [["app", "mid"], ["mid", "leaf"], ["app", "leaf"], ["leaf", "app"]],
    }
    graph = kitinfo.dependency_graph(parse(manifest))
    x = {n.name: n.x for n in graph.nodes}
    assert x["app"] < x["mid"] < x["leaf"]
    assert x["orphan"] == x["app"]
    assert "pip" not in x
    assert {n.name for n in graph.nodes if n.root} == {"app"}
    assert graph.width >= max(x.values()) + graph.node_w


def test_cli_inspect_text_json_html(tmp_path: Path) -> None:
    kit = _kit(tmp_path).archive
    runner = CliRunner()
    text = runner.invoke(main, ["inspect", str(kit)])
    assert text.exit_code == 0, text.output
    assert "packages: 2 app, 0 pip bootstrap" in text.output
    as_json = runner.invoke(main, ["inspect", str(kit), "--json"])
    summary = json.loads(as_json.output)
    assert summary["python_version"] == "3.6.15" and summary["packages"] == {
        "app": 2,
        "bootstrap": 0,
    }
    report = tmp_path / "report.html"
    html = runner.invoke(main, ["inspect", str(kit), "--html", str(report)])
    assert html.exit_code == 0 and report.read_text().startswith("<!DOCTYPE html>")


def test_not_a_kit_is_a_user_error(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    with pytest.raises(BadInput):
        kitinfo.read([tmp_path / "d"])
    junk = tmp_path / "kit-x.tar.gz"
    junk.write_bytes(b"\x1f\x8b junk")
    result = CliRunner().invoke(main, ["inspect", str(junk)])
    assert result.exit_code == 2


def test_inspect_of_a_wheelhouse_says_it_is_one_and_what_to_run(tmp_path: Path) -> None:
    """#16 second review finding 12: `inspect WHEELHOUSE_DIR` said "target: unknown ...
    wheelhouse/manifest.json: missing", exit 1."""
    house = handmade_inputs(tmp_path / "in")["wheelhouse"]
    result = CliRunner().invoke(main, ["inspect", str(house)])
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        f"bundler: error: {house} is a wheelhouse (bundler fetch -o), not a kit: `bundler verify "
        f"{house}` checks it, `bundler pack --wheelhouse {house}` makes a kit of it\n"
    )


def test_same_minor_cpython_source_is_shown_with_both_versions(tmp_path: Path) -> None:
    result = _kit(tmp_path, python=("3.6.10",))
    info = kitinfo.read([result.archive])
    fit = FIT_3_6_10
    assert info.python_source == "Python-3.6.10.tgz"
    lines = info.lines()
    assert "python: 3.6.15  CPython source: Python-3.6.10.tgz" in lines
    assert f"  {fit}" in lines
    summary = info.summary()
    assert (summary["python_version"], summary["python_source_version"]) == ("3.6.15", "3.6.10")
    assert summary["python_source_fit"] == fit
    unpacked = tmp_path / "u"
    with tarfile.open(result.archive) as tar:
        tar.extractall(unpacked, filter="data")
    assert kitinfo.read([unpacked / "kit-demo"]).summary() == summary
    assert "No CPython source in this kit" not in kitinfo.render_html(info)


def test_exact_cpython_source_has_no_second_line(tmp_path: Path) -> None:
    info = kitinfo.read([_kit(tmp_path, python=("3.6.15",)).archive])
    assert info.summary()["python_source_version"] == "3.6.15"
    assert not any("wheelhouse resolved for" in line for line in info.lines())


def test_cpython_source_of_another_minor_is_none(tmp_path: Path) -> None:
    info = kitinfo.read([_kit(tmp_path, python=("3.7.9",)).archive])
    assert info.python_source is None
    assert info.summary()["python_source_fit"] is None
    assert "CPython source: NONE" in "\n".join(info.lines())


# -- README.txt's steps keep the kit valid (review of #18: defect 6) ---------------------------


def test_readme_txt_steps_leave_a_kit_that_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Step 1 of the kit's own README.txt, run as written in the archive's folder: the
    report lands beside the archive, and the unpacked kit still verifies."""
    archive = _kit(tmp_path).archive
    monkeypatch.chdir(archive.parent)
    with tarfile.open(archive) as tar:
        tar.extractall(".", filter="data")
    readme = Path("kit-demo/README.txt").read_text()
    step = next(line.strip() for line in readme.splitlines() if "`bundler inspect" in line)
    command = re.search(r"`bundler (inspect [^`]+)`", step)
    assert command is not None, step
    result = CliRunner().invoke(main, command[1].split())
    assert result.exit_code == 0, result.output
    assert Path("kit-demo-report.html").is_file()
    for kit in ("kit-demo", "kit-demo.tar.gz"):
        verified = CliRunner().invoke(main, ["verify", kit])
        assert verified.exit_code == 0, verified.output


def test_a_report_written_inside_the_kit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reviewer's steps: `cd kit-demo`, then `inspect ... --html report.html`. Refused in
    one line (the page would make verify fail); nothing written; verify still passes."""
    archive = _kit(tmp_path).archive
    with tarfile.open(archive) as tar:
        tar.extractall(archive.parent, filter="data")
    kit_dir = archive.parent / "kit-demo"
    monkeypatch.chdir(kit_dir)
    for inspected in ("../kit-demo.tar.gz", "."):
        result = CliRunner().invoke(main, ["inspect", inspected, "--html", "report.html"])
        assert result.exit_code == 2, result.output
        assert result.stderr == (
            f"bundler: error: report.html: inside {kit_dir}, where `bundler verify` fails on "
            "any file the kit does not list; write the report outside it (e.g. --html "
            f"{archive.parent / 'kit-demo-report.html'})\n"
        )
    ok = CliRunner().invoke(main, ["inspect", ".", "--html", ".vagrant/report.html"])
    assert ok.exit_code == 0, ok.output  # an operator folder: verify lists, never fails it
    assert sorted(p.name for p in kit_dir.iterdir() if p.is_file()) == [
        "README.txt", "SHA256SUMS", "Vagrantfile", "sbom.cdx.json"
    ]  # fmt: skip
    assert CliRunner().invoke(main, ["verify", "."]).exit_code == 0


def test_a_damaged_sha256sums_is_named_not_read_leniently(tmp_path: Path) -> None:
    """inspect reads SHA256SUMS with the one shared parser (bundler.fs.sums.parse): a path
    listed twice or a malformed line is a warning naming the line, not silently skipped."""
    kit = _kit(tmp_path).archive
    unpacked = tmp_path / "unpacked"
    with tarfile.open(kit) as tar:
        tar.extractall(unpacked, filter="data")
    (root,) = unpacked.iterdir()
    sums = root / "SHA256SUMS"
    first = sums.read_text().splitlines()[0]
    sums.write_text(sums.read_text() + first + "\nnot a line\n")
    info = kitinfo.read([root])
    assert any("is listed twice" in w for w in info.warnings), info.warnings
    assert any("not a '<sha256>  <path>' line" in w for w in info.warnings), info.warnings


def test_the_release_record_is_shown_and_its_absence_named(tmp_path: Path) -> None:
    """kit-release.json (pack --sign / --sequence) is what the far side's --state compares:
    inspect shows it in text, JSON and the page; a kit without one says replays cannot be
    refused; a malformed one is a warning."""
    numbered = kitinfo.read([_kit(tmp_path / "a", sequence=41).archive])
    assert numbered.lines()[1].startswith("release: kit-demo sequence 41, created ")
    assert numbered.summary()["release"]["sequence"] == 41
    assert '<div class="card" id="release">Release<b>sequence 41</b>' in kitinfo.render_html(
        numbered
    )
    plain = kitinfo.read([_kit(tmp_path / "b").archive])
    assert plain.lines()[1] == (
        "release: none (no kit-release.json: verify --state cannot refuse a replay)"
    )
    assert plain.summary()["release"] is None
    unpacked = tmp_path / "c"
    with tarfile.open(_kit(tmp_path / "d", sequence=7).archive) as tar:
        tar.extractall(unpacked, filter="data")
    (root,) = unpacked.iterdir()
    (root / "kit-release.json").write_text('{"sequence": "seven"}')
    bad = kitinfo.read([root])
    assert bad.release is None and any("kit-release.json" in w for w in bad.warnings)


def test_a_target_without_system_packages_yml_is_unknown_not_none(tmp_path: Path) -> None:
    """#16 fresh review, finding 2: with one target folder's system-packages.yml removed,
    pack noted it but inspect said 'system packages: none' for that target and overall, no
    note. Now 'unknown' there (text, --json, --html) and a note per target; exit 0 (a kit
    without an audit is still a kit, as a one-target kit's '(?)')."""
    from bundler.fs import sums

    t36, t311 = T36, T311
    wheelhouse = _two_target_wheelhouse(
        tmp_path, lambda fake: fake.add_wheel("app", "1.0", requires_python=">=3.6")
    )
    (wheelhouse / "targets" / t36.name / "system-packages.yml").unlink()
    sums.write_tree(wheelhouse, {})
    inputs = handmade_inputs(tmp_path / "in")
    kit = tmp_path / "out" / "kit-demo.tar.gz"
    pack.pack(
        pack.PackInputs(
            wheelhouse,
            inputs["playbooks"],
            sources_dir=inputs["sources"],
            vagrantfile=inputs["vagrantfile"],
        ),
        kit,
    )
    shown = CliRunner().invoke(main, ["inspect", str(kit)])
    assert shown.exit_code == 0, shown.output
    blocks = {b.split(":")[0]: b for b in shown.stdout.split("\ntarget ")[1:]}
    assert (
        f"\n  system packages: unknown (no wheelhouse/targets/{t36.name}/system-packages.yml)"
        in blocks[t36.name]
    )
    assert "\n  system packages: none\n" in blocks[t311.name]  # audited: needs none
    assert (
        f"system packages (centos7): unknown for {t36.name}; the other targets need: none\n"
        in shown.stdout
    )
    assert (
        f"note: wheelhouse/targets/{t36.name} has no system-packages.yml (run `bundler "
        "audit`): its system packages are unknown\n"
    ) in shown.stdout
    doc = json.loads(CliRunner().invoke(main, ["inspect", "--json", str(kit)]).stdout)
    rows = {t["name"]: t["system_packages"] for t in doc["targets"]}
    assert rows == {t36.name: None, t311.name: []}
    assert (doc["system_packages"], doc["system_packages_unknown"]) == (None, [t36.name])
    assert doc["warnings"] == [] and len(doc["notes"]) == 1
    page = tmp_path / "r.html"
    assert CliRunner().invoke(main, ["inspect", "--html", str(page), str(kit)]).exit_code == 0
    html = page.read_text()
    assert html.count("unknown (no system-packages.yml)") == 1
    assert f"Unknown for target {t36.name}: no system-packages.yml" in html
    assert re.search(r'class="card">System packages<b>\?</b>', html)


def test_a_several_target_kit_has_no_one_target_and_its_graph_shows_each_version(
    tmp_path: Path,
) -> None:
    """#16 review 16x, finding 9: `inspect --json`'s top-level target was the first target's
    and the HTML graph showed one version per project, the last target's. Now the top-level
    target fields are null (each target's are in `targets`) and a node names every version."""

    def add(fake: FakeIndex) -> None:
        fake.add_wheel("app", "1.0", requires_dist=["lib"])
        fake.add_wheel("lib", "1.0")
        fake.add_wheel("lib", "2.0", requires_python=">=3.7")

    t36, t311 = T36, T311
    wheelhouse = _two_target_wheelhouse(tmp_path, add)
    inputs = handmade_inputs(tmp_path / "in")
    argv = ["pack", "--wheelhouse", str(wheelhouse), "--sources", str(inputs["sources"])]
    argv += ["--playbooks", str(inputs["playbooks"]), "--vagrantfile", str(inputs["vagrantfile"])]
    kit = tmp_path / "out" / "kit-demo.tar.gz"
    packed = CliRunner().invoke(main, [*argv, "--no-controller", "-o", str(kit)])
    assert packed.exit_code == 0, packed.output
    summary = json.loads(CliRunner().invoke(main, ["inspect", "--json", str(kit)]).stdout)
    assert (summary["target"], summary["python_version"], summary["python_source"]) == (
        None,
        None,
        None,
    )
    assert [t["target"]["python_version"] for t in summary["targets"]] == [
        t36.python_version,
        t311.python_version,
    ]
    html = kitinfo.render_html(kitinfo.read([kit]))
    assert ">lib 1.0 / 2.0</text>" in html and ">app 1.0</text>" in html
    assert "All 2 targets in one drawing" in html


def test_a_one_target_kit_without_its_audit_is_unknown_not_none(tmp_path: Path) -> None:
    """As for a several-target kit's folder (#16 review 16x, finding 2): no
    wheelhouse/system-packages.yml is 'unknown' in the text and null in --json, never an empty
    list that reads as 'needs nothing'."""
    from bundler.fs import sums

    inputs = handmade_inputs(tmp_path / "in")
    (inputs["wheelhouse"] / "system-packages.yml").unlink()
    sums.write_tree(inputs["wheelhouse"], {})
    kit = pack_inputs(inputs, tmp_path / "out" / "kit-demo.tar.gz").archive
    info = kitinfo.read([kit])
    assert info.summary()["system_packages"] is None
    text = "\n".join(info.lines())
    assert "system packages (?): unknown (no wheelhouse/system-packages.yml" in text
    html = kitinfo.render_html(info)
    assert 'id="system-unknown">Unknown: no wheelhouse/system-packages.yml' in html
    assert "System packages<b>?</b>" in html
    whole = kitinfo.read([_kit(tmp_path / "whole").archive])
    assert whole.summary()["system_packages"] == ["glib2", "libSM"]


T36 = Target.from_spec("3.6", "manylinux1")
T311 = Target.from_spec("3.11", "manylinux2014")


def _two_target_wheelhouse(tmp_path: Path, add: Callable[[FakeIndex], None]) -> Path:
    """A 3.6/manylinux1 + 3.11/manylinux2014 wheelhouse of `app`, fetched from a fake index
    that `add` fills."""
    with FakeIndex(tmp_path / "fakeindex") as fake:
        add(fake)
        options = FetchOptions(
            target=T36,
            targets=(T36, T311),
            requirements=("app",),
            output=tmp_path / "wh",
            index_urls=(fake.url,),
            cache_dir=tmp_path / "cache",
        )
        return fetch(options).output
