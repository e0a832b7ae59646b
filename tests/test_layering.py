"""The package layering of docs/DESIGN.md, enforced: a package imports only packages below it.

Read from the source with `ast` (no import side effects): every `bundler.X` import of a module
in package P must name a package of a lower layer, or P itself. The CLI sits on top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BUNDLER = REPO / "bundler"

LAYERS = [
    "errors",
    "policy",
    "fs",
    "models",
    "net",
    "index",
    "resolve",
    "audit",
    "gate",
    "wheelhouse",
    "kit",
    "cli",
]
"""Lowest first. `bundler/__init__.py` (the version) is importable from anywhere."""


def _package_of(path: Path) -> str:
    rel = path.relative_to(BUNDLER)
    return rel.parts[0].removesuffix(".py")


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] != "bundler":
                continue
            if len(parts) > 1:
                found.add(parts[1])
            else:  # from bundler import x
                found.update(a.name for a in node.names if a.name != "__version__")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "bundler" and len(parts) > 1:
                    found.add(parts[1])
    return found


MODULES = sorted(p for p in BUNDLER.rglob("*.py") if p.name not in {"__init__.py", "__main__.py"})


def test_every_package_is_in_a_layer() -> None:
    packages = {_package_of(p) for p in MODULES}
    assert packages <= set(LAYERS), packages - set(LAYERS)


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(BUNDLER)))
def test_imports_only_lower_layers(module: Path) -> None:
    own = _package_of(module)
    rank = LAYERS.index(own)
    upward = sorted(
        pkg for pkg in _imported_packages(module) if pkg in LAYERS and LAYERS.index(pkg) > rank
    )
    assert not upward, f"{module.relative_to(REPO)} ({own}) imports upward: {upward}"


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    """The walk finds `from bundler.kit import pack` and `from bundler import cli` forms."""
    probe = tmp_path / "probe.py"
    probe.write_text("from bundler.kit import pack\nfrom bundler import cli, __version__\n")
    assert _imported_packages(probe) == {"kit", "cli"}
