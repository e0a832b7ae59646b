"""bundler.kit.wheelhouse_check: the wheelhouse checks pack and verify share (#16: "a wheelhouse
model owned by one module ... today verify hosts the source-fit logic that pack imports").

The checks themselves are exercised through pack and verify (tests/unit/kit/test_verify.py,
test_pack.py); here: who imports what, and that package roles are compared as the enum.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from bundler.kit import verify, wheelhouse_check

BUNDLER = Path(__file__).resolve().parents[3] / "bundler"


def _imported(path: Path) -> set[str]:
    """Every `bundler.` module a file imports (`from bundler.kit import x` gives
    'bundler.kit.x')."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {name for name in found if name.startswith("bundler.")}


def test_pack_checks_a_wheelhouse_without_importing_verify() -> None:
    pack_imports = _imported(BUNDLER / "kit" / "pack.py")
    assert "bundler.kit.verify" not in pack_imports
    assert "bundler.kit.wheelhouse_check" in pack_imports
    assert "bundler.kit.wheelhouse_check" in _imported(BUNDLER / "kit" / "verify.py")
    assert not hasattr(verify, "source_fit_problems")  # one home: wheelhouse_check
    assert callable(wheelhouse_check.source_fit_problems)


_ROLE_AS_STRING = re.compile(
    r"""(\.role|get\(\s*["']role["'][^)]*\))\s*(==|!=|\bin\b)\s*["'(\[{]"""
    r"""|["'](app|bootstrap|controller)["']\s*(==|!=)\s*\S*role"""
)


def test_no_package_role_is_compared_as_a_string() -> None:
    """Package roles are `manifest.Role` members from the reader on: no `.role == "app"` nor
    `p.get("role", ...) == "app"` left in bundler/ (#16 review16d finding 4)."""
    found = [
        f"{path.relative_to(BUNDLER)}:{n}: {line.strip()}"
        for path in sorted(BUNDLER.rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _ROLE_AS_STRING.search(line)
    ]
    assert found == []
