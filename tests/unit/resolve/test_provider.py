"""bundler.resolve.provider: purity of built wheels, and the file chosen per version."""

from __future__ import annotations

import hashlib
from pathlib import Path

from packaging.tags import parse_tag

from bundler.resolve.provider import is_pure
from bundler.resolve.resolver import resolve
from tests.unit.resolve.localindex import CP36, local_index, reqs, wheel


def test_purity() -> None:
    assert is_pure(frozenset(parse_tag("py2.py3-none-any")))
    assert not is_pure(frozenset(parse_tag("py2-none-any")))
    assert not is_pure(frozenset(parse_tag("cp36-cp36m-linux_x86_64")))


def test_a_listed_hash_beats_a_better_tag(tmp_path: Path) -> None:
    """pip's hash-filtered candidates: with --hash of the py3 wheel, that file is chosen even
    though the cp36m wheel ranks higher for the target; without hashes, the best tag wins."""
    pure = wheel(tmp_path, "lib", "1.0")
    wheel(tmp_path, "lib", "1.0", tags="cp36-cp36m-manylinux1_x86_64")
    index = local_index(tmp_path)
    best = resolve(reqs("lib==1.0"), CP36, index).pins["lib"].file.filename
    assert best == "lib-1.0-cp36-cp36m-manylinux1_x86_64.whl"
    listed = frozenset({hashlib.sha256(pure.read_bytes()).hexdigest()})
    got = resolve(reqs("lib==1.0"), CP36, index, prefer_hashes={"lib": listed})
    assert got.pins["lib"].file.filename == pure.name
    other = resolve(reqs("lib==1.0"), CP36, index, prefer_hashes={"lib": frozenset({"0" * 64})})
    assert other.pins["lib"].file.filename == best  # nothing listed matches: checked later
