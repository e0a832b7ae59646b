"""fs/sums.py: a directory's SHA256SUMS, in the format `sha256sum -c` reads."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from bundler.fs import sums


def _dir(tmp_path: Path) -> Path:
    d = tmp_path / "wh"
    d.mkdir()
    (d / "a.whl").write_bytes(b"a")
    (d / "requirements.lock").write_text("a==1\n")
    (d / ".gitkeep").write_text("")
    (d / "sub").mkdir()
    return d


def test_written_sums_are_what_sha256sum_checks(tmp_path: Path) -> None:
    d = _dir(tmp_path)
    sums.write_directory(d)
    names = [line.split("  ")[1] for line in (d / "SHA256SUMS").read_text().splitlines()]
    assert names == ["a.whl", "requirements.lock"]  # not hidden files, not itself
    assert (
        subprocess.run(["sha256sum", "--quiet", "--strict", "-c", "SHA256SUMS"], cwd=d).returncode
        == 0
    )
    assert sums.check_directory(d) == []


def test_changes_are_named(tmp_path: Path) -> None:
    d = _dir(tmp_path)
    sums.write_directory(d)
    (d / "a.whl").write_bytes(b"b")
    (d / "requirements.lock").unlink()
    (d / "new.whl").write_bytes(b"n")
    (d / "SHA256SUMS.asc").write_text("a signature is not listed, nor an extra file")
    with (d / "SHA256SUMS").open("a") as f:
        f.write("not a line\n" + "0" * 64 + "  ../escape\n")
    assert sums.check_directory(d, "wheelhouse/") == [
        "wheelhouse/SHA256SUMS:3: not a '<sha256>  <path>' line",
        "wheelhouse/SHA256SUMS:4: path '../escape' points outside the directory",
        "wheelhouse/a.whl: sha256 differs from wheelhouse/SHA256SUMS",
        "wheelhouse/requirements.lock: listed in SHA256SUMS but missing",
        "wheelhouse/new.whl: not listed in wheelhouse/SHA256SUMS",
    ]


def test_refresh_only_rewrites_an_existing_file(tmp_path: Path) -> None:
    d = _dir(tmp_path)
    assert sums.refresh_directory(d) is None and not (d / "SHA256SUMS").exists()
    sums.write_directory(d)
    (d / "a.whl").write_bytes(b"changed by a tool")
    assert sums.refresh_directory(d) == d / "SHA256SUMS"
    assert sums.check_directory(d) == []


def test_a_path_listed_twice_is_a_problem_not_last_wins(tmp_path: Path) -> None:
    """sha256sum -c checks every line: a wrong first line FAILS there. Letting the last line
    win would make `bundler verify` pass a kit the by-hand check refuses."""
    d = _dir(tmp_path)
    sums.write_directory(d)
    good = (d / "SHA256SUMS").read_text()
    (d / "SHA256SUMS").write_text("0" * 64 + "  a.whl\n" + good)
    assert sums.check_directory(d) == [
        "SHA256SUMS:2: path 'a.whl' is listed twice",
        "a.whl: sha256 differs from SHA256SUMS",  # the first line counts, as for sha256sum
    ]


def test_known_digests_are_listed_without_reading_the_file(tmp_path: Path) -> None:
    """`bundler fetch` passes the digests its downloads checked: those files are not hashed
    again (one pass per byte, #17), every other file is; a copy that no longer has its known
    digest then fails its line, as sha256sum -c shows."""
    d = _dir(tmp_path)
    known = {"a.whl": hashlib.sha256(b"a").hexdigest(), "absent.whl": "0" * 64}
    hashed: list[Path] = []
    real = sums.sha256_file
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sums, "sha256_file", lambda p: hashed.append(p) or real(p))
        sums.write_directory(d, known=known)
    assert [p.name for p in hashed] == ["requirements.lock"]
    assert sums.check_directory(d) == []
    (d / "a.whl").write_bytes(b"b")  # damaged after the check its digest came from
    sums.write_directory(d, known=known)
    assert sums.check_directory(d) == ["a.whl: sha256 differs from SHA256SUMS"]
    assert subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=d).returncode == 1
