"""compiled.py: evidence of a compiled extension, read from an sdist without building it."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from bundler.wheelhouse import compiled
from tests.fakeindex import build_sdist


def _tar(path: Path, files: dict[str, str]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"pkg-1.0/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_setuptools_extension_is_named(tmp_path: Path) -> None:
    sdist = build_sdist(tmp_path, "speedy", "1.0", compiled=True)
    assert compiled.evidence(sdist) == "compiled extension detected: setup.py declares ext_modules"


def test_pure_sdist_has_no_evidence(tmp_path: Path) -> None:
    assert compiled.evidence(build_sdist(tmp_path, "plain", "1.0")) is None


@pytest.mark.parametrize(
    ("files", "found"),
    [
        ({"setup.py": "from Cython.Build import cythonize\nsetup(x=cythonize('a.pyx'))"},
         "setup.py calls cythonize"),
        ({"setup.py": "import subprocess\nsubprocess.check_output(['mysql_config', '--cflags'])"},
         "setup.py asks a *_config tool for C flags"),
        ({"pyproject.toml": '[build-system]\nbuild-backend = "mesonpy"\n'},
         "pyproject.toml builds with meson-python"),
        ({"setup.py": "setup()", "src/_speed.c": "int x;"},
         "the sdist has compiled sources (src/_speed.c)"),
        ({"setup.py": "setup(name='x')", "README": "ext_modules are not used here"}, None),
    ],
)  # fmt: skip
def test_other_kinds_of_evidence(tmp_path: Path, files: dict[str, str], found: str | None) -> None:
    expected = f"compiled extension detected: {found}" if found else None
    assert compiled.evidence(_tar(tmp_path / "pkg-1.0.tar.gz", files)) == expected


def test_zip_sdists_and_unreadable_files(tmp_path: Path) -> None:
    path = tmp_path / "pkg-1.0.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("pkg-1.0/setup.py", "setup(ext_modules=[Extension('a', ['a.c'])])")
    assert compiled.evidence(path) == "compiled extension detected: setup.py declares ext_modules"
    (tmp_path / "bad.tar.gz").write_bytes(b"not an archive")
    assert compiled.evidence(tmp_path / "bad.tar.gz") is None
