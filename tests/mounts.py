"""Small tmpfs mounts for tests of a full disk and of a read-only folder (root only).

`mounted_tmpfs(path, size=..., readonly=...)` mounts a fresh tmpfs on `path` (created if
needed) and always unmounts it, also when the test fails. The mount's source name starts with
`i10b-` so a leftover is easy to find (`findmnt -t tmpfs`). Without root the test is skipped
(CI runs as root, where a skip fails: KIT_STRICT_SKIPS).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def mounted_tmpfs(path: Path, size: str = "256k", readonly: bool = False) -> Iterator[Path]:
    """A tmpfs of `size` bytes on `path` for the duration of the block."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a tmpfs (a full disk / a read-only folder)")
    path.mkdir(parents=True, exist_ok=True)
    options = f"size={size},mode=0755" + (",ro" if readonly else "")
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, f"i10b-{path.name}", str(path)], check=True
    )
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)
