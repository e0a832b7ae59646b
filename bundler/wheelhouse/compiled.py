"""Does an sdist build a compiled extension? Evidence read from the archive, never executed.

`--build-pure` builds an sdist only to get a pure-Python wheel. When the build fails (a C
extension whose headers or `mysql_config` are missing, say) pip reports only
"subprocess-exited-with-error"; this module says why in one line, from the sdist's own files:
`ext_modules` / `Extension(...)` in setup.py (setuptools' way to declare a C extension),
setup.py driving a compiler (`build_ext`, `new_compiler`, `cythonize`, `*_config` helpers), a
build backend that exists to compile (scikit-build-core, meson-python, maturin), or C/C++/
Cython/Rust sources. The archive is only listed and its few text files read (tar or zip,
members up to `MAX_READ` bytes); nothing is extracted.
"""

from __future__ import annotations

import re
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

MAX_READ = 1 << 20
"""Bytes read at most from one member (setup.py, pyproject.toml)."""

_SETUP_PY = [
    (re.compile(r"\bext_modules\s*="), "setup.py declares ext_modules"),
    (re.compile(r"\bExtension\s*\("), "setup.py declares an Extension"),
    (re.compile(r"\bcythonize\s*\("), "setup.py calls cythonize"),
    (re.compile(r"\b(new_compiler|build_ext|ccompiler)\b"), "setup.py drives a C compiler"),
    (re.compile(r"\b[a-z_]+_config\b['\"]?\s*,?\s*['\"]--(cflags|libs|include)"),
     "setup.py asks a *_config tool for C flags"),
]  # fmt: skip
_BACKENDS = {
    "scikit_build_core.build": "scikit-build-core (CMake)",
    "mesonpy": "meson-python",
    "maturin": "maturin (Rust)",
    "setuptools_rust": "setuptools-rust",
}
_SOURCES = (".c", ".cc", ".cpp", ".cxx", ".pyx", ".rs", ".f90")


def evidence(sdist: Path) -> str | None:
    """One line naming why `sdist` builds compiled code ('setup.py declares ext_modules'), or
    None if nothing says so. An unreadable archive gives None (the build error stands)."""
    try:
        names, texts = _contents(sdist)
    except (OSError, tarfile.TarError, zipfile.BadZipFile, ValueError):
        return None
    setup_py = texts.get("setup.py", "")
    for pattern, what in _SETUP_PY:
        if pattern.search(setup_py):
            return f"compiled extension detected: {what}"
    pyproject = texts.get("pyproject.toml", "")
    for backend, label in _BACKENDS.items():
        if re.search(rf"build-backend\s*=\s*['\"]{re.escape(backend)}['\"]", pyproject):
            return f"compiled extension detected: pyproject.toml builds with {label}"
    sources = sorted(n for n in names if PurePosixPath(n).suffix in _SOURCES)
    if sources:
        shown = ", ".join(n.split("/", 1)[-1] for n in sources[:2])
        return f"compiled extension detected: the sdist has compiled sources ({shown})"
    return None


_READ = ("setup.py", "pyproject.toml")


def _contents(sdist: Path) -> tuple[list[str], dict[str, str]]:
    """(every file member's name, {top-level setup.py / pyproject.toml: text})."""
    texts: dict[str, str] = {}
    if sdist.name.endswith(".zip"):
        with zipfile.ZipFile(sdist) as zf:
            names = [i.filename for i in zf.infolist() if not i.is_dir()]
            for name in names:
                if _top_level(name) in _READ:
                    with zf.open(name) as f:
                        texts[_top_level(name)] = f.read(MAX_READ).decode("utf-8", "replace")
        return names, texts
    with tarfile.open(sdist) as tar:
        members = [m for m in tar.getmembers() if m.isfile()]
        for m in members:
            data = tar.extractfile(m) if _top_level(m.name) in _READ else None
            if data is not None:
                texts[_top_level(m.name)] = data.read(MAX_READ).decode("utf-8", "replace")
        return [m.name for m in members], texts


def _top_level(name: str) -> str:
    """'pkg-1.0/setup.py' -> 'setup.py'; deeper members -> ''."""
    parts = name.split("/")
    return parts[1] if len(parts) == 2 else ""
