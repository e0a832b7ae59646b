"""Helpers for the CPython-source fit tests (pack, inspect, verify): change the HAND-MADE kit
inputs of tests/unit/handmade_kit.py so that sources/ carries another CPython tarball, or its
demoapp wheel carries other requirements (rebuilt with tests.fakeindex.build_wheel and
re-recorded in manifest.json and requirements.lock, as fetch would have)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bundler.fs import sums
from bundler.models import manifest
from bundler.models.target import Target
from bundler.wheelhouse import lockfile
from tests.fakeindex import build_wheel

FIT_3_6_10 = "CPython 3.6.10 source; wheelhouse resolved for 3.6.15 (same ABI cp36m)"
"""How pack, inspect and verify describe a Python-3.6.10 tarball beside a 3.6.15 wheelhouse."""


def python_tarballs(sources: Path, *versions: str) -> None:
    """Replace every Python-*.tgz placeholder in `sources` with ones of `versions`."""
    for old in sources.glob("Python-*"):
        old.unlink()
    for version in versions:
        (sources / f"Python-{version}.tgz").write_bytes(f"placeholder for {version}\n".encode())


def rebuild_demoapp(
    wheelhouse: Path,
    requires: Iterable[str] = ("demolib>=1.0",),
    requires_python: str | None = None,
) -> Path:
    """demoapp 1.0 again, with these Requires-Dist / Requires-Python, recorded everywhere."""
    wheel = build_wheel(
        wheelhouse, "demoapp", "1.0", requires_dist=list(requires), requires_python=requires_python
    )
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    data = manifest.load(wheelhouse)
    target = Target.from_dict(data["target"])
    applies = sorted(
        {canonicalize_name(r.name) for r in map(Requirement, requires) if target.evaluate(r.marker)}
    )
    for p in data["packages"]:
        if p["name"] == "demoapp":
            p.update(filename=wheel.name, sha256=sha, size=wheel.stat().st_size, requires=applies)
    manifest.save(wheelhouse, data)
    entries = [
        lockfile.LockEntry(e.name, e.version, (sha,) if e.name == "demoapp" else e.hashes, e.via)
        for e in lockfile.read(wheelhouse / "requirements.lock")
    ]
    lockfile.write(wheelhouse / "requirements.lock", entries)
    sums.refresh_directory(wheelhouse)
    return wheel
