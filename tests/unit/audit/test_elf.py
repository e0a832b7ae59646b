"""bundler.audit.elf on real ELF objects compiled in the test session with the machine's gcc.

`build_elf_fixtures` is also used by the audit tests: stub libraries carry the sonames and
symbol versions to be referenced (a fake `libfoo.so.1`, a stub with the soname `libSM.so.6`,
a stub `libstdc++.so.6` defining GLIBCXX_3.4.21), so every path is covered without network.
"""

from __future__ import annotations

import io
import json
import random
import shutil
import struct
import subprocess
import zipfile
from pathlib import Path

import pytest

from bundler.audit import elf
from bundler.errors import BadInput

LIBSTDCXX_STUB_VERSIONS = """\
GLIBCXX_3.4.21 { global: cxx_new; };
CXXABI_1.3.9 { global: cxx_abi; };
CXXABI_FLOAT128 { global: cxx_f128; local: *; };
"""


def gcc(out: Path, source: str, *args: str) -> Path:
    """Compile `source` (C) into the shared object `out`."""
    if shutil.which("gcc") is None:
        pytest.skip("needs gcc (scripts/setup-dev.sh installs it)")
    src = out.parent / (out.name.replace(".", "_") + ".c")
    src.write_text(source)
    cmd = ["gcc", "-shared", "-fPIC", "-O0", "-o", str(out), str(src), *args]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return out


def build_elf_fixtures(root: Path) -> dict[str, Path]:
    """Compile the stub libraries and the objects that link against them into `root`."""
    root.mkdir(parents=True, exist_ok=True)
    built: dict[str, Path] = {}

    def stub(name: str, body: str, *extra: str) -> Path:
        built[name] = gcc(root / name, body, f"-Wl,-soname,{name}", *extra)
        return built[name]

    foo = stub("libfoo.so.1", "int foo(void) { return 1; }\n")
    bar = stub("libbar.so.1", "int bar(void) { return 2; }\n")
    sm = stub("libSM.so.6", "int sm_stub(void) { return 3; }\n")
    script = root / "libstdcxx.map"
    script.write_text(LIBSTDCXX_STUB_VERSIONS)
    cxx = stub(
        "libstdc++.so.6",
        "int cxx_new(void) { return 4; }\nint cxx_abi(void) { return 5; }\n"
        "int cxx_f128(void) { return 6; }\n",
        f"-Wl,--version-script,{script}",
    )
    uses_foo_bar = "int foo(void); int bar(void);\nint ext(void) { return foo() + bar(); }\n"
    built["ext_runpath.so"] = gcc(
        root / "ext_runpath.so",
        uses_foo_bar,
        str(foo),
        str(bar),
        "-Wl,--enable-new-dtags,-rpath,$ORIGIN",
    )
    built["ext_rpath.so"] = gcc(
        root / "ext_rpath.so",
        uses_foo_bar,
        str(foo),
        str(bar),
        "-Wl,--disable-new-dtags,-rpath,$ORIGIN/../demo.libs:/opt/elsewhere",
    )
    built["ext_nopath.so"] = gcc(root / "ext_nopath.so", uses_foo_bar, str(foo), str(bar))
    built["gui.so"] = gcc(
        root / "gui.so", "int sm_stub(void);\nint gui(void) { return sm_stub(); }\n", str(sm)
    )
    built["cxx.so"] = gcc(
        root / "cxx.so",
        "int cxx_new(void); int cxx_abi(void);\nint f(void) { return cxx_new() + cxx_abi(); }\n",
        str(cxx),
    )
    built["cxx_f128.so"] = gcc(
        root / "cxx_f128.so", "int cxx_f128(void);\nint g(void) { return cxx_f128(); }\n", str(cxx)
    )
    built["glibc234.so"] = gcc(
        root / "glibc234.so",
        "#include <pthread.h>\nstatic void *run(void *a) { return a; }\n"
        "int start(void) { pthread_t t; return pthread_create(&t, 0, run, 0); }\n",
    )
    built["plain.so"] = gcc(root / "plain.so", "int plain(void) { return 7; }\n")
    return built


def make_wheel(path: Path, members: dict[str, bytes | Path]) -> Path:
    """A wheel (zip) at `path` holding `members` (bytes, or a file to copy), deflated."""
    name = path.name.split("-")[0]
    version = path.name.split("-")[1]
    dist_info = f"{name}-{version}.dist-info"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for arcname, content in members.items():
            data = content.read_bytes() if isinstance(content, Path) else content
            z.writestr(arcname, data)
        z.writestr(f"{dist_info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\n")
        z.writestr(f"{dist_info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: false\n")
    return path


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_elf_fixtures(tmp_path_factory.mktemp("elf"))


def test_magic() -> None:
    assert elf.is_elf(b"\x7fELF\x02\x01")
    assert not elf.is_elf(b"PK\x03\x04")
    assert not elf.is_elf(b"\x7fEL")


def test_soname_needed_and_runpath(built: dict[str, Path]) -> None:
    lib = elf.parse_file(built["libfoo.so.1"])
    assert lib.soname == "libfoo.so.1"
    assert lib.elf_type == "ET_DYN"
    assert lib.machine == "x86_64"

    ext = elf.parse_file(built["ext_runpath.so"])
    assert ext.soname is None
    assert ext.needed[:2] == ("libfoo.so.1", "libbar.so.1")
    assert ext.runpath == ("$ORIGIN",)
    assert ext.rpath == ()
    assert ext.search_path == ("$ORIGIN",)


def test_rpath_is_split_and_kept_apart_from_runpath(built: dict[str, Path]) -> None:
    ext = elf.parse_file(built["ext_rpath.so"])
    assert ext.rpath == ("$ORIGIN/../demo.libs", "/opt/elsewhere")
    assert ext.runpath == ()
    assert ext.search_path == ext.rpath
    assert elf.parse_file(built["ext_nopath.so"]).search_path == ()


def test_version_needs_name_library_and_version(built: dict[str, Path]) -> None:
    obj = elf.parse_file(built["glibc234.so"])
    libc = {n.library: n for n in obj.version_needs}["libc.so.6"]
    # pthread_create moved into libc in glibc 2.34: this machine's glibc (2.36) versions it so.
    assert "GLIBC_2.34" in libc.versions
    assert libc.weak == ()

    cxx = {n.library: n for n in elf.parse_file(built["cxx.so"]).version_needs}
    assert set(cxx["libstdc++.so.6"].versions) == {"GLIBCXX_3.4.21", "CXXABI_1.3.9"}


def test_version_definitions_of_a_library(built: dict[str, Path]) -> None:
    stub = elf.parse_file(built["libstdc++.so.6"])
    assert set(stub.version_definitions) == {"GLIBCXX_3.4.21", "CXXABI_1.3.9", "CXXABI_FLOAT128"}
    assert elf.parse_file(built["plain.so"]).version_definitions == ()


def test_bytes_and_file_agree(built: dict[str, Path]) -> None:
    path = built["cxx.so"]
    assert elf.parse_bytes(path.read_bytes(), "x") == elf.parse_file(path)
    with path.open("rb") as f:
        assert elf.parse(f, "x") == elf.parse_file(path)


def test_without_section_headers_dynamic_segment_still_gives_needed(
    built: dict[str, Path],
) -> None:
    """Like `sstrip`: zero e_shoff/e_shnum/e_shstrndx, so only program headers remain."""
    data = bytearray(built["ext_runpath.so"].read_bytes())
    struct.pack_into("<Q", data, 0x28, 0)  # e_shoff (ELF64)
    struct.pack_into("<HH", data, 0x3C, 0, 0)  # e_shnum, e_shstrndx
    stripped = elf.parse_bytes(bytes(data), "stripped")
    full = elf.parse_file(built["ext_runpath.so"])
    assert stripped.needed == full.needed
    assert stripped.runpath == full.runpath
    assert stripped.version_needs == ()  # needs sections; documented as unknown


def _section_header(data: bytes, wanted_type: int) -> int:
    """File offset of the first section header of type `wanted_type` (ELF64 little endian)."""
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    for i in range(shnum):
        off = shoff + i * shentsize
        if struct.unpack_from("<I", data, off + 4)[0] == wanted_type:
            return off
    raise AssertionError("section type not found")


def test_damaged_verneed_count_does_not_loop(built: dict[str, Path]) -> None:
    """Regression: pyelftools trusts sh_info as the entry count and ignores the ending vn_next=0;
    a huge sh_info once made the audit spin and eat gigabytes."""
    data = bytearray(built["glibc234.so"].read_bytes())
    sht_gnu_verneed = 0x6FFFFFFE
    header = _section_header(bytes(data), sht_gnu_verneed)
    struct.pack_into("<I", data, header + 0x2C, 486539266)  # sh_info
    damaged = elf.parse_bytes(bytes(data), "damaged")
    assert damaged.version_needs == elf.parse_file(built["glibc234.so"]).version_needs


def test_not_elf_is_bad_input_naming_it(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=r"demo\.whl: pkg/x\.so: not a readable ELF object"):
        elf.parse_bytes(b"\x7fELF" + b"\0" * 10, "demo.whl: pkg/x.so")
    with pytest.raises(BadInput, match=r"missing\.so: cannot read"):
        elf.parse_file(tmp_path / "missing.so")


def test_corrupted_objects_only_ever_raise_bad_input(built: dict[str, Path]) -> None:
    """Deterministic fuzz: truncations and random byte flips never escape as other errors."""
    original = built["cxx.so"].read_bytes()
    rnd = random.Random(20261123)
    outcomes = {"parsed": 0, "bad": 0}
    for i in range(300):
        data = bytearray(original)
        if i % 3 == 0:
            data = data[: rnd.randrange(4, len(data))]
        else:
            for _ in range(rnd.randrange(1, 100)):
                data[rnd.randrange(len(data))] = rnd.randrange(256)
        try:
            elf.parse_bytes(bytes(data), f"case{i}")
            outcomes["parsed"] += 1
        except BadInput as exc:
            assert f"case{i}: not a readable ELF object" in str(exc)
            outcomes["bad"] += 1
    assert outcomes["bad"] > 0  # the corruptions were real


def test_make_wheel_helper_round_trips(tmp_path: Path, built: dict[str, Path]) -> None:
    whl = make_wheel(tmp_path / "demo-1.0-py3-none-any.whl", {"demo/x.so": built["plain.so"]})
    with zipfile.ZipFile(whl) as z:
        obj = elf.parse(io.BytesIO(z.read("demo/x.so")), "demo/x.so")
    assert obj == elf.parse_file(built["plain.so"])


def test_dict_round_trip_keeps_every_fact(built: dict[str, Path]) -> None:
    for path in built.values():
        obj = elf.parse_file(path)
        assert elf.ElfObject.from_dict(json.loads(json.dumps(obj.to_dict()))) == obj
