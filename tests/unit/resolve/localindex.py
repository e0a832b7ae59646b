"""Helpers for resolver tests over a local find-links directory of real tiny wheels."""

from __future__ import annotations

from pathlib import Path

from packaging.requirements import Requirement

from bundler.fs.cache import Cache
from bundler.index.client import Index
from bundler.models.target import Target
from bundler.resolve.model import Resolution
from tests.fakeindex import build_wheel

CP36 = Target.from_spec("3.6.15", "manylinux1")


def reqs(*lines: str) -> list[Requirement]:
    return [Requirement(x) for x in lines]


def local_index(tmp_path: Path) -> Index:
    """An Index over tmp_path/wheels only (no server)."""
    return Index([], [str(tmp_path / "wheels")], Cache(tmp_path / "cache"))


def wheel(tmp_path: Path, name: str, version: str, **kwargs: object) -> Path:
    return build_wheel(tmp_path / "wheels", name, version, **kwargs)  # type: ignore[arg-type]


def versions(resolution: Resolution) -> dict[str, str]:
    return {name: str(pin.version) for name, pin in resolution.pins.items()}
