"""Finding the target's own interpreter on this machine (for target builds and rehearsals).

The exact target version (`Target.python_version`, e.g. 3.6.15) is looked for where developers
keep several CPythons: pyenv's `$(pyenv root)/versions/X.Y.Z/bin/pythonX.Y` (PYENV_ROOT, else
~/.pyenv), then `pythonX.Y` on PATH. A candidate counts only if running it reports exactly that
version: the target stays data, the host's own `sys` is never consulted.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from bundler.errors import BadInput

_VERSION = "import sys; print('%d.%d.%d' % sys.version_info[:3])"


def interpreter_version(python: Path, timeout: float = 30) -> str | None:
    """'3.6.15' for a runnable interpreter at `python`, None when it does not run."""
    try:
        proc = subprocess.run(
            [str(python), "-I", "-c", _VERSION],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def find_interpreter(version: str) -> Path | None:
    """The CPython `version` (X.Y.Z) on this machine, None when there is none."""
    short = ".".join(version.split(".")[:2])
    candidates: list[Path] = []
    root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    candidates.append(Path(root) / "versions" / version / "bin" / f"python{short}")
    on_path = shutil.which(f"python{short}")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and interpreter_version(candidate) == version:
            return candidate
    return None


def check_interpreter(python: Path, version: str, option: str = "--build-python") -> str | None:
    """Check that `python` is CPython `version`'s X.Y (the target's, e.g. 3.6.15): None when
    it is exactly `version`, a warning line when only the micro version differs. Raises
    BadInput (one line naming `option`) when it does not run or its X.Y is another."""
    found = interpreter_version(python)
    if found is None:
        raise BadInput(f"{option} {python}: not a runnable Python interpreter")
    if found.split(".")[:2] != version.split(".")[:2]:
        raise BadInput(
            f"{option} {python}: it is Python {found}, the target is {version}; "
            f"give a Python {'.'.join(version.split('.')[:2])} interpreter"
        )
    if found != version:
        return f"{option} {python} is Python {found}, the target is {version} (same X.Y)"
    return None
