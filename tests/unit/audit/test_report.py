"""bundler.audit.report: the walk, the mapping, symbol versions, outputs and bad input.

Wheels here are zips built in the test from ELF objects compiled with gcc (tests/unit/test_elf.py):
stub libraries give them real DT_NEEDED / SHT_GNU_verneed entries for chosen sonames/versions.
The policy data is checked against this machine's own libraries (dpkg -S, SHT_GNU_verdef).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bundler.audit import elf, members
from bundler.audit import report as audit
from bundler.errors import BadInput
from bundler.fs.cache import Cache
from bundler.models import manifest
from bundler.policy.tables import load_json
from tests.unit.audit.test_elf import build_elf_fixtures, make_wheel

MANYLINUX1 = "cp36-cp36m-manylinux1_x86_64"


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_elf_fixtures(tmp_path_factory.mktemp("elf-audit"))


def wheel(directory: Path, name: str, members: dict[str, bytes | Path]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return make_wheel(directory / name, members)


# -- the walk -------------------------------------------------------------------------------


def test_origin_runpath_bundles_the_neighbour_and_leaves_the_rest(
    tmp_path: Path, built: dict[str, Path]
) -> None:
    whl = wheel(
        tmp_path,
        f"demo-1.0-{MANYLINUX1}.whl",
        {"demo/ext.so": built["ext_runpath.so"], "demo/libbar.so.1": built["libbar.so.1"]},
    )
    result = audit.audit_wheel(whl, audit.load_profile("centos7"))
    assert result.system == {"libfoo.so.1": ["demo/ext.so"]}
    assert result.needs == {"libfoo.so.1": None}
    assert result.elf_objects == 2


def test_without_the_bundled_file_the_soname_goes_to_the_system(
    tmp_path: Path, built: dict[str, Path]
) -> None:
    whl = wheel(tmp_path, f"demo-1.0-{MANYLINUX1}.whl", {"demo/ext.so": built["ext_runpath.so"]})
    result = audit.audit_wheel(whl, audit.load_profile("centos7"))
    assert set(result.system) == {"libfoo.so.1", "libbar.so.1"}


def test_rpath_to_a_libs_directory_and_libs_by_soname(
    tmp_path: Path, built: dict[str, Path]
) -> None:
    # RPATH $ORIGIN/../demo.libs: found through the path.
    via_path = wheel(
        tmp_path / "a",
        f"demo-1.0-{MANYLINUX1}.whl",
        {"demo/ext.so": built["ext_rpath.so"], "demo.libs/libbar.so.1": built["libbar.so.1"]},
    )
    assert audit.audit_wheel(via_path, audit.load_profile("centos7")).system == {
        "libfoo.so.1": ["demo/ext.so"]
    }
    # No RPATH at all, but a grafted `*.libs/` member whose DT_SONAME matches (auditwheel
    # renames files with a hash; the loader matches an already-loaded soname).
    via_soname = wheel(
        tmp_path / "b",
        f"demo-1.0-{MANYLINUX1}.whl",
        {
            "demo/ext.so": built["ext_nopath.so"],
            "demo/.libs/libbar-0a1b2c3d.so.1": built["libbar.so.1"],
        },
    )
    assert set(audit.audit_wheel(via_soname, audit.load_profile("centos7")).system) == {
        "libfoo.so.1"
    }
    # The same file elsewhere in the wheel (not a *.libs dir, not on a path) does not count.
    elsewhere = wheel(
        tmp_path / "c",
        f"demo-1.0-{MANYLINUX1}.whl",
        {"demo/ext.so": built["ext_nopath.so"], "other/libbar.so.1": built["libbar.so.1"]},
    )
    assert set(audit.audit_wheel(elsewhere, audit.load_profile("centos7")).system) == {
        "libfoo.so.1",
        "libbar.so.1",
    }


def test_expand_origin() -> None:
    assert audit._expand_origin("$ORIGIN", "pkg/sub") == "pkg/sub"
    assert audit._expand_origin("${ORIGIN}/../pkg.libs", "pkg/sub") == "pkg/pkg.libs"
    assert audit._expand_origin("$ORIGIN/.", "") == ""
    assert audit._expand_origin("$ORIGIN/../..", "pkg") is None  # leaves the wheel
    assert audit._expand_origin("/usr/lib", "pkg") is None


def test_glibc_dropped_base_packages_dropped_others_mapped(
    tmp_path: Path, built: dict[str, Path]
) -> None:
    whl = wheel(
        tmp_path,
        f"demo-1.0-{MANYLINUX1}.whl",
        {
            "demo/gui.so": built["gui.so"],
            "demo/cxx.so": built["cxx.so"],
            "demo/thr.so": built["glibc234.so"],
        },
    )
    result = audit.audit_wheel(whl, audit.load_profile("centos7"))
    assert "libc.so.6" not in result.system  # glibc's own: every target has it
    assert result.needs == {"libSM.so.6": "libSM"}
    assert result.provided_by_base == ["libstdc++.so.6"]
    debian = audit.audit_wheel(whl, audit.load_profile("debian12"))
    assert debian.needs == {"libSM.so.6": "libsm6"}


def test_pure_wheel_has_no_needs(tmp_path: Path) -> None:
    whl = wheel(tmp_path, "pure-1.0-py3-none-any.whl", {"pure/__init__.py": b"x = 1\n"})
    result = audit.audit_wheel(whl, audit.load_profile("centos7"))
    assert (result.needs, result.elf_objects, result.loadable) == ({}, 0, True)


# -- symbol versions and tags ---------------------------------------------------------------


def test_glibc_234_cannot_load_on_centos7_but_can_on_debian12(
    tmp_path: Path, built: dict[str, Path]
) -> None:
    whl = wheel(tmp_path, f"thr-1.0-{MANYLINUX1}.whl", {"thr/t.so": built["glibc234.so"]})
    centos = audit.audit_wheel(whl, audit.load_profile("centos7"))
    assert centos.symbol_versions["GLIBC"] == "2.34"
    assert not centos.loadable
    assert any("needs GLIBC_2.34 (thr/t.so from libc.so.6)" in p for p in centos.load_problems)
    assert audit.audit_wheel(whl, audit.load_profile("debian12")).loadable


def test_glibcxx_above_centos7_is_flagged(tmp_path: Path, built: dict[str, Path]) -> None:
    whl = wheel(tmp_path, f"cxx-1.0-{MANYLINUX1}.whl", {"cxx/c.so": built["cxx.so"]})
    result = audit.audit_wheel(whl, audit.load_profile("centos7"))
    assert result.symbol_versions == {"GLIBCXX": "3.4.21", "CXXABI": "1.3.9"}
    problems = " | ".join(result.load_problems)
    assert "needs GLIBCXX_3.4.21" in problems and "centos7 has GLIBCXX 3.4.19" in problems
    assert "needs CXXABI_1.3.9" in problems and "centos7 has CXXABI 1.3.7" in problems


def test_named_version_outside_the_profile_is_flagged(
    tmp_path: Path, built: dict[str, Path]
) -> None:
    whl = wheel(tmp_path, f"f-1.0-{MANYLINUX1}.whl", {"f/f.so": built["cxx_f128.so"]})
    centos = audit.audit_wheel(whl, audit.load_profile("centos7"))
    assert any("needs CXXABI_FLOAT128" in p for p in centos.load_problems)
    assert audit.audit_wheel(whl, audit.load_profile("debian12")).loadable


def test_versions_asked_of_bundled_libraries_are_ignored(
    tmp_path: Path, built: dict[str, Path]
) -> None:
    """A wheel that ships its own libstdc++ (next to the object, found by soname in *.libs)."""
    whl = wheel(
        tmp_path,
        f"cxx-1.0-{MANYLINUX1}.whl",
        {"cxx/c.so": built["cxx.so"], "cxx.libs/libstdc++.so.6": built["libstdc++.so.6"]},
    )
    result = audit.audit_wheel(whl, audit.load_profile("centos7"))
    assert result.symbol_versions == {}
    assert result.loadable


@pytest.mark.parametrize(
    ("platform", "fragment"),
    [
        ("manylinux_2_28_x86_64", "tagged for glibc 2.28 or newer but centos7 has glibc 2.17"),
        ("musllinux_1_1_x86_64", "is for musl libc"),
        ("manylinux2014_aarch64", "built for aarch64, centos7 is x86_64"),
        ("macosx_10_9_x86_64", "is for another OS"),
    ],
)
def test_platform_tags_the_profile_cannot_use(
    tmp_path: Path, built: dict[str, Path], platform: str, fragment: str
) -> None:
    whl = wheel(tmp_path, f"p-1.0-cp36-cp36m-{platform}.whl", {"p/x.so": built["plain.so"]})
    result = audit.audit_wheel(whl, audit.load_profile("centos7"))
    assert not result.loadable
    assert any(fragment in p for p in result.load_problems), result.load_problems


@pytest.mark.parametrize(
    "platform",
    ["manylinux1_x86_64", "manylinux2014_x86_64", "manylinux_2_17_x86_64", "linux_x86_64"],
)
def test_platform_tags_centos7_accepts(
    tmp_path: Path, built: dict[str, Path], platform: str
) -> None:
    whl = wheel(tmp_path, f"p-1.0-cp36-cp36m-{platform}.whl", {"p/x.so": built["plain.so"]})
    assert audit.audit_wheel(whl, audit.load_profile("centos7")).loadable


def test_compressed_tag_set_uses_the_lowest_glibc(tmp_path: Path, built: dict[str, Path]) -> None:
    name = "p-1.0-cp36-cp36m-manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl"
    whl = wheel(tmp_path, name, {"p/x.so": built["plain.so"]})
    assert audit.audit_wheel(whl, audit.load_profile("centos7")).loadable


def test_foreign_machine_code_is_flagged(tmp_path: Path, built: dict[str, Path]) -> None:
    data = bytearray(built["plain.so"].read_bytes())
    data[0x12:0x14] = (183).to_bytes(2, "little")  # e_machine = EM_AARCH64
    whl = wheel(tmp_path, f"p-1.0-{MANYLINUX1}.whl", {"p/x.so": bytes(data)})
    problems = audit.audit_wheel(whl, audit.load_profile("centos7")).load_problems
    assert any("p/x.so is aarch64 code" in p for p in problems), problems


# -- the report -----------------------------------------------------------------------------


@pytest.fixture
def house(tmp_path: Path, built: dict[str, Path]) -> Path:
    """A wheelhouse: an opencv-like GUI wheel, a wheel with an unknown soname, a pure wheel."""
    wheel(tmp_path, f"opencv_python-1.0-{MANYLINUX1}.whl", {"cv2/gui.so": built["gui.so"]})
    wheel(tmp_path, f"demo-1.0-{MANYLINUX1}.whl", {"demo/ext.so": built["ext_runpath.so"]})
    wheel(tmp_path, "pure-1.0-py3-none-any.whl", {"pure/__init__.py": b""})
    return tmp_path


def test_report_collects_packages_families_unmapped_and_notes(house: Path) -> None:
    report = audit.audit_directory(house, "centos7")
    assert report.system_packages == ["libSM"]
    assert report.packages_by_family() == {"RedHat": ["libSM"], "Debian": ["libsm6"]}
    assert report.unmapped == ["libbar.so.1", "libfoo.so.1"]
    assert report.unmapped_by_family() == {
        "RedHat": ["libbar.so.1", "libfoo.so.1"],
        "Debian": ["libbar.so.1", "libfoo.so.1"],
    }
    assert report.pulled_by == {"libSM": ["opencv_python-1.0-cp36-cp36m-manylinux1_x86_64.whl"]}
    assert len(report.notes) == 1
    assert "opencv-python-headless needs none of libSM" in report.notes[0]


def test_problems_strict_adds_unmapped(house: Path, built: dict[str, Path]) -> None:
    report = audit.audit_directory(house, "centos7")
    assert report.problems(strict=False) == []
    strict = report.problems(strict=True)
    assert len(strict) == 2
    assert all(p.startswith("demo-1.0-") and "is unmapped" in p for p in strict)
    assert any("libfoo.so.1 (needed by demo/ext.so)" in p for p in strict)
    wheel(house, f"thr-1.0-{MANYLINUX1}.whl", {"thr/t.so": built["glibc234.so"]})
    report = audit.audit_directory(house, "centos7")
    assert [p for p in report.problems(strict=False) if "GLIBC_2.34" in p]


def test_run_writes_the_contract_shape_without_a_manifest(house: Path) -> None:
    report = audit.run(house, "centos7")
    doc = yaml.safe_load((house / "system-packages.yml").read_text())
    assert list(doc)[:5] == [
        "distro",
        "system_packages",
        "system_packages_by_family",
        "unmapped",
        "wheels",
    ]
    assert doc["distro"] == "centos7"
    assert doc["system_packages"] == ["libSM"]
    assert doc["system_packages_by_family"] == {"RedHat": ["libSM"], "Debian": ["libsm6"]}
    gui = doc["wheels"]["opencv_python-1.0-cp36-cp36m-manylinux1_x86_64.whl"]
    assert gui["needs"] == {"libSM.so.6": "libSM"}
    assert gui["loadable"] is True and gui["problems"] == []
    assert doc["wheels"]["demo-1.0-cp36-cp36m-manylinux1_x86_64.whl"]["needs"] == {
        "libbar.so.1": None,
        "libfoo.so.1": None,
    }
    assert doc == json.loads(json.dumps(report.to_dict()))
    assert not (house / "manifest.json").exists()  # never invents a manifest


def test_run_records_the_audit_in_an_existing_manifest(house: Path) -> None:
    manifest.save(house, {"packages": [], "requirements": ["x"]})
    report = audit.run(house, "centos7")
    data = manifest.load(house)
    assert data["requirements"] == ["x"]  # the rest is kept
    assert data["audit"] == json.loads(json.dumps(report.to_dict()))


def test_broken_manifest_is_refused_before_anything_is_written(house: Path) -> None:
    (house / "manifest.json").write_text("{not json")
    with pytest.raises(BadInput, match="manifest"):
        audit.run(house, "centos7")
    assert not (house / "system-packages.yml").exists()


# -- bad input ------------------------------------------------------------------------------


def test_not_a_directory_or_no_wheels(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="not a directory"):
        audit.audit_directory(tmp_path / "nope")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(BadInput, match=r"not a wheelhouse: it holds no \.whl files"):
        audit.audit_directory(tmp_path)
    with pytest.raises(BadInput, match="not a directory"):
        audit.audit_directory(tmp_path / "file.txt")


def test_corrupt_wheels_are_named(tmp_path: Path, built: dict[str, Path]) -> None:
    (tmp_path / f"junk-1.0-{MANYLINUX1}.whl").write_bytes(b"this is not a zip")
    with pytest.raises(BadInput, match=rf"junk-1.0-{MANYLINUX1}.whl: corrupt wheel"):
        audit.audit_directory(tmp_path)


def test_truncated_wheel_is_named(tmp_path: Path, built: dict[str, Path]) -> None:
    good = wheel(tmp_path / "src", f"cut-1.0-{MANYLINUX1}.whl", {"c/x.so": built["cxx.so"]})
    (tmp_path / "house").mkdir()
    (tmp_path / "house" / good.name).write_bytes(good.read_bytes()[:-200])
    with pytest.raises(BadInput, match=rf"cut-1.0-{MANYLINUX1}.whl: corrupt wheel"):
        audit.audit_directory(tmp_path / "house")


def test_damaged_member_data_is_named(tmp_path: Path, built: dict[str, Path]) -> None:
    """Flip bytes inside a deflated member: the CRC (or inflate) check names the wheel."""
    good = wheel(tmp_path / "src", f"flip-1.0-{MANYLINUX1}.whl", {"f/x.so": built["cxx.so"]})
    data = bytearray(good.read_bytes())
    for i in range(200, 260):
        data[i] ^= 0xFF
    (tmp_path / "house").mkdir()
    (tmp_path / "house" / good.name).write_bytes(bytes(data))
    with pytest.raises(BadInput, match=rf"flip-1.0-{MANYLINUX1}.whl"):
        audit.audit_directory(tmp_path / "house")


def test_corrupt_elf_member_names_wheel_and_member(tmp_path: Path) -> None:
    wheel(tmp_path, f"bad-1.0-{MANYLINUX1}.whl", {"bad/x.so": b"\x7fELF" + b"\xff" * 60})
    with pytest.raises(BadInput, match=rf"bad-1.0-{MANYLINUX1}.whl: bad/x.so: not a readable ELF"):
        audit.audit_directory(tmp_path)


def test_bad_wheel_filename_and_unknown_distro(tmp_path: Path) -> None:
    (tmp_path / "not-a-wheel.whl").write_bytes(b"")
    with pytest.raises(BadInput, match=r"not-a-wheel\.whl: not a wheel file name"):
        audit.audit_directory(tmp_path)
    with pytest.raises(BadInput, match="unknown distro 'centos6': known profiles are centos7"):
        audit.audit_directory(tmp_path, "centos6")


# -- libraries another wheel of the wheelhouse provides ------------------------------------------


def test_a_sibling_wheel_reached_through_rpath_provides_the_soname(
    tmp_path: Path, built: dict[str, Path]
) -> None:
    """app/ext.so has RPATH $ORIGIN/../demo.libs; demo.libs/ is another wheel's folder."""
    wheel(tmp_path, f"app-1.0-{MANYLINUX1}.whl", {"app/ext.so": built["ext_rpath.so"]})
    wheel(
        tmp_path,
        f"demo-1.0-{MANYLINUX1}.whl",
        {
            "demo.libs/libfoo.so.1": built["libfoo.so.1"],
            "demo.libs/libbar.so.1": built["libbar.so.1"],
        },
    )
    report = audit.audit_directory(tmp_path)
    app = next(w for w in report.wheels if w.project == "app")
    assert app.system == {} and app.needs == {}
    assert app.provided_by_wheels == {
        "libbar.so.1": f"demo-1.0-{MANYLINUX1}.whl",
        "libfoo.so.1": f"demo-1.0-{MANYLINUX1}.whl",
    }
    assert report.unmapped == []
    assert report.problems(strict=True) == []  # audit --strict passes on a working wheelhouse


def test_a_library_another_wheel_ships_by_that_name_only_is_not_provided(
    tmp_path: Path, built: dict[str, Path]
) -> None:
    """plug/ext.so's RUNPATH is $ORIGIN (plug/): host/lib/libfoo.so.1 shares the name but the
    loader never looks there, so it stays an (unmapped) need; a sibling installing into plug/
    does provide it."""
    wheel(tmp_path, f"plug-1.0-{MANYLINUX1}.whl", {"plug/ext.so": built["ext_runpath.so"]})
    wheel(
        tmp_path,
        f"host-1.0-{MANYLINUX1}.whl",
        {
            "host/lib/libfoo.so.1": built["libfoo.so.1"],
            "host/lib/libbar.so.1": built["libbar.so.1"],
        },
    )
    report = audit.audit_directory(tmp_path)
    plug = next(w for w in report.wheels if w.project == "plug")
    assert plug.provided_by_wheels == {}
    assert set(plug.system) == {"libfoo.so.1", "libbar.so.1"}
    assert report.unmapped == ["libbar.so.1", "libfoo.so.1"]
    wheel(tmp_path, f"plugdata-1.0-{MANYLINUX1}.whl", {"plug/libfoo.so.1": built["libfoo.so.1"]})
    plug = next(w for w in audit.audit_directory(tmp_path).wheels if w.project == "plug")
    assert plug.provided_by_wheels == {"libfoo.so.1": f"plugdata-1.0-{MANYLINUX1}.whl"}
    assert set(plug.system) == {"libbar.so.1"}


def test_without_the_sibling_the_sonames_are_unmapped_system_needs(
    tmp_path: Path, built: dict[str, Path]
) -> None:
    wheel(tmp_path, f"app-1.0-{MANYLINUX1}.whl", {"app/ext.so": built["ext_rpath.so"]})
    report = audit.audit_directory(tmp_path)
    assert report.unmapped == ["libbar.so.1", "libfoo.so.1"]
    assert len(report.problems(strict=True)) == 2


def test_install_path_drops_data_purelib_and_platlib() -> None:
    assert audit.install_path("x-1.0.data/platlib/x/ext.so") == "x/ext.so"
    assert audit.install_path("x-1.0.data/scripts/tool") == "x-1.0.data/scripts/tool"
    assert audit.install_path("x/ext.so") == "x/ext.so"


# -- RPM capabilities ---------------------------------------------------------------------------


def test_capabilities_list_every_system_soname_mapped_or_not(
    tmp_path: Path, built: dict[str, Path]
) -> None:
    wheel(tmp_path, f"app-1.0-{MANYLINUX1}.whl", {"app/ext.so": built["ext_rpath.so"]})
    wheel(tmp_path, f"gui-1.0-{MANYLINUX1}.whl", {"gui/gui.so": built["gui.so"]})
    report = audit.audit_directory(tmp_path)
    assert report.capabilities_by_family() == {
        "RedHat": ["libSM.so.6()(64bit)", "libbar.so.1()(64bit)", "libfoo.so.1()(64bit)"]
    }
    assert report.to_dict()["system_capabilities_by_family"]["RedHat"][0] == "libSM.so.6()(64bit)"


def test_capability_marks_64_bit_like_rpm() -> None:
    assert audit.capability("libodbc.so.2", "x86_64") == "libodbc.so.2()(64bit)"
    assert audit.capability("libodbc.so.2", "i686") == "libodbc.so.2"


# -- the policy data ------------------------------------------------------------------------


def test_every_data_row_cites_a_source() -> None:
    sonames = load_json("sonames.json")
    assert sonames["_source"] and sonames["glibc_provided"]["_source"]
    assert sonames["alternatives"]["_source"]
    for soname, row in sonames["sonames"].items():
        assert set(row) == {"centos7", "debian", "source"}, soname
        assert row["source"].strip(), soname
        assert row["centos7"] or row["debian"], f"{soname}: maps to nothing anywhere"
        assert re.fullmatch(r"(lib|ld)[\w+.-]*\.so(\.\d+)*", soname), soname
    assert not set(sonames["glibc_provided"]["sonames"]) & set(sonames["sonames"])
    distros = load_json("distros.json")
    for name, prof in distros["profiles"].items():
        assert prof["source"].strip(), name
        assert set(prof["symbol_versions"]) == set(audit.FAMILIES), name
    assert set(audit.family_profiles()) == {"RedHat", "Debian"}


def test_centos7_profile_is_the_issue_s_numbers() -> None:
    prof = audit.load_profile("centos7")
    assert prof.glibc == (2, 17)
    assert prof.symbol_versions["GLIBC"] == (2, 17)
    assert prof.symbol_versions["GLIBCXX"] == (3, 4, 19)
    assert prof.symbol_versions["CXXABI"] == (1, 3, 7)
    assert prof.family == "RedHat"


def _dpkg_owner(soname: str) -> str | None:
    out = subprocess.run(["dpkg", "-S", f"*/{soname}"], capture_output=True, text=True).stdout
    owners = {line.split(":")[0] for line in out.splitlines() if line.endswith("/" + soname)}
    return owners.pop() if len(owners) == 1 else None


@pytest.fixture(scope="module")
def dpkg() -> None:
    if shutil.which("dpkg") is None:
        pytest.skip("needs dpkg (a Debian machine) to check the Debian column")


def test_debian_column_matches_dpkg_on_this_machine(dpkg: None) -> None:
    """Every Debian package name whose soname is installed here is what dpkg -S says; the
    manylinux whitelist rows (installed by scripts/setup-dev.sh) must all be checkable."""
    checked = set()
    for soname, row in load_json("sonames.json")["sonames"].items():
        owner = _dpkg_owner(soname)
        if owner is None:
            continue
        assert row["debian"] == owner, f"{soname}: table says {row['debian']}, dpkg says {owner}"
        checked.add(soname)
    whitelist = {
        "libSM.so.6", "libICE.so.6", "libXrender.so.1", "libXext.so.6", "libX11.so.6",
        "libgthread-2.0.so.0", "libglib-2.0.so.0", "libgobject-2.0.so.0", "libGL.so.1",
        "libz.so.1", "libexpat.so.1", "libstdc++.so.6", "libgcc_s.so.1",
    }  # fmt: skip
    assert whitelist <= checked, whitelist - checked


def test_glibc_provided_sonames_come_from_libc6_here(dpkg: None) -> None:
    here = [s for s in load_json("sonames.json")["glibc_provided"]["sonames"] if _dpkg_owner(s)]
    assert {"libc.so.6", "libm.so.6", "libpthread.so.0", "ld-linux-x86-64.so.2"} <= set(here)
    assert {_dpkg_owner(s) for s in here} == {"libc6"}


def _highest(definitions: tuple[str, ...], family: str) -> tuple[int, ...]:
    versions = [
        tuple(int(x) for x in d.split("_", 1)[1].split("."))
        for d in definitions
        if d.startswith(family + "_") and re.fullmatch(r"\d+(\.\d+)*", d.split("_", 1)[1])
    ]
    return max(versions)


def _system_library(soname: str) -> Path:
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.strip().startswith(soname + " ") and "x86-64" in line:
            return Path(line.rsplit("=> ", 1)[1].strip())
    pytest.fail(f"{soname} not in ldconfig -p")


def test_debian12_profile_matches_this_machine_s_libraries(dpkg: None) -> None:
    """The debian12 ceilings are what this machine's libc/libstdc++/libgcc_s define."""
    prof = audit.load_profile("debian12")
    libc = elf.parse_file(_system_library("libc.so.6")).version_definitions
    cxx = elf.parse_file(_system_library("libstdc++.so.6")).version_definitions
    gcc_s = elf.parse_file(_system_library("libgcc_s.so.1")).version_definitions
    assert prof.symbol_versions["GLIBC"] == _highest(libc, "GLIBC") == prof.glibc
    assert prof.symbol_versions["GLIBCXX"] == _highest(cxx, "GLIBCXX")
    assert prof.symbol_versions["CXXABI"] == _highest(cxx, "CXXABI")
    assert prof.symbol_versions["GCC"] == _highest(gcc_s, "GCC")
    named = {d.split("_", 1)[1] for d in cxx if d.startswith("CXXABI_")}
    assert prof.named_versions["CXXABI"] <= named


def test_cache_keeps_parsed_elf_facts_by_wheel_hash(
    house: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second audit of the same bytes reads the facts from the cache (no parsing at all) and
    reports exactly the same; damaged facts are parsed again and rewritten."""
    cache = Cache(tmp_path_factory.mktemp("cache"))
    first = audit.audit_directory(house, "centos7", cache=cache)
    facts = sorted((cache.root / "facts" / audit.ELF_FACTS).rglob("*.json"))
    assert len(facts) == 3

    def no_parsing(path: Path, *, every_member: bool = False) -> None:
        raise AssertionError(f"{path.name} parsed again")

    with monkeypatch.context() as m:
        m.setattr(members, "read_elf_members", no_parsing)
        again = audit.audit_directory(house, "centos7", cache=cache)
    assert again.to_dict() == first.to_dict()

    facts[0].write_text("{not json")
    repaired = audit.audit_directory(house, "centos7", cache=cache)
    assert repaired.to_dict() == first.to_dict()
    assert json.loads(facts[0].read_text()) is not None
