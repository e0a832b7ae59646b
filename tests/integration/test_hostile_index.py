"""`bundler fetch` against a hostile index (tests/hostileindex.py): one test per attack of #10.

Each attack must end the same way: exit 2, one `bundler: error:` line naming the problem, no
traceback, nothing written outside the stage (no PWNED file anywhere, no new file next to -o),
the previous wheelhouse in -o unchanged, and a consistent cache (every blob matches its name,
no temp file left).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bundler.cli import main
from bundler.fs.hashing import sha256_file
from bundler.models.target import Target
from bundler.net.settings import NetworkSettings
from bundler.wheelhouse.fetch import FetchOptions, fetch
from tests.fakeindex import FakeIndex
from tests.hostileindex import HostileIndex

pytestmark = pytest.mark.usefixtures("fast_retries")


@pytest.fixture(scope="module")
def old_wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real wheelhouse for the default target (3.6, manylinux1), made once by a good fetch."""
    root = tmp_path_factory.mktemp("old")
    with FakeIndex(root / "fakeindex") as fake:
        fake.add_wheel("tiny", "0.3")
        fetch(
            FetchOptions(
                target=Target.from_spec("3.6", "manylinux1"),
                requirements=("tiny",),
                output=root / "wh",
                index_urls=(fake.url,),
                cache_dir=root / "cache",
                network=NetworkSettings(jobs=2),
                audit=False,
            )
        )
    return root / "wh"


def _snapshot(root: Path) -> dict[str, str]:
    """Every file under `root` but the cache and the server's own files, with its sha256."""
    return {
        str(p.relative_to(root)): sha256_file(p)
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).parts[0] not in ("cache", "hostile")
    }


def _assert_cache_consistent(cache: Path) -> None:
    for blob in (cache / "blobs").rglob("*") if (cache / "blobs").is_dir() else []:
        if blob.is_file():
            assert sha256_file(blob) == blob.name, blob
    assert sorted(p.name for p in cache.rglob("*.part")) == []


def _fetch(tmp_path: Path, url: str, *extra: str) -> Result:
    args = ["fetch", "alpha", "--index-url", url, "--cache-dir", str(tmp_path / "cache")]
    args += ["--no-audit", "-o", str(tmp_path / "work" / "wh"), "--retries", "0", *extra]
    return CliRunner().invoke(main, args)


def _one_error_line(result: Result) -> str:
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bundler: error: "), lines
    return lines[0]


ATTACKS = {
    "traversal-json": r"entry .*PWNED.* rejected: file name .* path separator",
    "traversal-html": r"entry .*PWNED.* rejected: file name .* path separator",
    "nested-tag": r"entry .*sub\.whl.* rejected: file name .* path separator",
    "name-not-url": r"rejected: file name 'alpha-1\.0-py2-none-any\.whl' is not the URL's last",
    "file-url": r"entry .*file:///etc/passwd.* rejected: file: URL refused from a remote source",
    "redirect-to-file": r"refused to follow 'file:///etc/passwd' \(only http/https\)",
    "redirect-loop": r"/simple/alpha/: more than 10 redirects",
    "unhashed-swap": r"alpha-1\.0-py3-none-any\.whl from http.*: the index gives no sha256",
    "pep658-lie": r"alpha-1\.0-py3-none-any\.whl: the index's PEP 658 metadata .* disagrees "
    r"with the wheel's own METADATA: Requires-Dist differs .*only in the wheel: \['beta'\]",
    # review of #10/#18, defect 4: a lie the resolver acted on is named before the failure
    "pep658-extra": r"alpha-1\.0-py3-none-any\.whl: the index's PEP 658 metadata .* disagrees "
    r"with the wheel's own METADATA: Requires-Dist differs \(only here: \['gamma'\], only in "
    r"the wheel: \[\]\); resolving with what it said failed: no package named 'gamma'",
    "pep658-ver": r"alpha-1\.0-py3-none-any\.whl: the index's PEP 658 metadata .* disagrees "
    r"with the wheel's own METADATA: Requires-Dist differs \(only here: \['beta<0\.5'\], only "
    r"in the wheel: \['beta'\]\); resolving with what it said failed: no version of beta",
    "huge-page": r"/simple/alpha/: larger than the 33554432-byte limit",
    "huge-length": r"/simple/alpha/: 314572800 bytes is over the 33554432-byte limit",
    "trickle": r"/simple/alpha/: no complete answer within \d+ s \(deadline 2 s",
    "json-no-url": r"/simple/alpha/: entry .* rejected: the entry: 'url' is a required property",
    "json-string-entry": r"entry alpha-1\.0-py3-none-any\.whl rejected: the entry: .* not of "
    r"type 'object'",
    "json-hashes-string": r"entry .* rejected: hashes: 'sha256=0+' is not of type 'object'",
    "json-files-int": r"/simple/alpha/: not a PEP 691 page: files: 5 is not of type 'array'",
    "json-filename-int": r"entry .* rejected: filename: 7 is not of type 'string'",
    "garbage": r"/simple/alpha/: not a JSON simple page",
    "bad-sha256": r"entry .* rejected: sha256 is not 64 hex digits",
}


@pytest.mark.parametrize("mode", sorted(ATTACKS))
def test_an_attack_is_one_error_line_and_changes_nothing(
    tmp_path: Path, old_wheelhouse: Path, mode: str
) -> None:
    shutil.copytree(old_wheelhouse, tmp_path / "work" / "wh")
    before = _snapshot(tmp_path)
    with HostileIndex(tmp_path / "hostile", mode=mode) as hostile:
        started = time.monotonic()
        result = _fetch(tmp_path, hostile.url, "--deadline", "2")
        elapsed = time.monotonic() - started
    line = _one_error_line(result)
    assert re.search(ATTACKS[mode], line), line
    assert elapsed < 20, f"{mode} took {elapsed:.1f} s"
    assert _snapshot(tmp_path) == before  # -o unchanged, nothing written beside it
    assert not list(tmp_path.rglob("*PWNED*"))
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == ["wh"]
    _assert_cache_consistent(tmp_path / "cache")
    passwd = hashlib.sha256(Path("/etc/passwd").read_bytes()).hexdigest()
    assert not list(tmp_path.rglob(passwd))


def test_the_honest_mode_of_the_fixture_fetches(tmp_path: Path, old_wheelhouse: Path) -> None:
    """The control: the same server without a lie gives a wheelhouse (the attacks above fail
    because of their lie, not because of the fixture)."""
    shutil.copytree(old_wheelhouse, tmp_path / "work" / "wh")
    with HostileIndex(tmp_path / "hostile", mode="honest") as hostile:
        result = _fetch(tmp_path, hostile.url)
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "work" / "wh").iterdir())
    assert "alpha-1.0-py3-none-any.whl" in names and "beta-1.0-py3-none-any.whl" in names
    packages = json.loads((tmp_path / "work" / "wh" / "manifest.json").read_text())["packages"]
    assert {p["hash_source"] for p in packages} == {"index"}


def test_pep658_metadata_that_spells_a_requirement_differently_is_not_a_lie(
    tmp_path: Path,
) -> None:
    """Review of #10/#18, defect 10: `Beta >= 0.1, != 0.2` in the .metadata and
    `beta!=0.2,>=0.1` in the wheel are one requirement, not "Requires-Dist differs"."""
    with HostileIndex(tmp_path / "hostile", mode="pep658-spelling") as hostile:
        result = _fetch(tmp_path, hostile.url)
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "work" / "wh").glob("*.whl"))
    assert names == ["alpha-1.0-py3-none-any.whl", "beta-1.0-py3-none-any.whl"]


def test_allow_unhashed_takes_the_file_warns_and_records_it(
    tmp_path: Path, old_wheelhouse: Path
) -> None:
    with HostileIndex(tmp_path / "hostile", mode="unhashed-swap") as hostile:
        result = _fetch(tmp_path, hostile.url, "--allow-unhashed")
        other = hostile.other
    assert result.exit_code == 0, result.output
    warnings = [x for x in result.stderr.splitlines() if x.startswith("bundler: warning:")]
    assert len(warnings) == 1 and "alpha-1.0-py3-none-any.whl" in warnings[0]
    manifest = json.loads((tmp_path / "work" / "wh" / "manifest.json").read_text())
    alpha = next(p for p in manifest["packages"] if p["name"] == "alpha")
    assert alpha["hash_source"] == "computed" and alpha["sha256"] == sha256_file(other)


def test_garbage_in_the_offline_cache_is_one_line(tmp_path: Path, old_wheelhouse: Path) -> None:
    with HostileIndex(tmp_path / "hostile", mode="honest") as hostile:
        assert _fetch(tmp_path, hostile.url).exit_code == 0
        url = hostile.url
    pages = [p for p in (tmp_path / "cache" / "pages").rglob("*") if p.is_file()]
    assert pages
    for i, page in enumerate(pages):
        page.write_bytes(b"" if i % 2 else b"\x00garbage\xff\n<html>")
    before = _snapshot(tmp_path)
    line = _one_error_line(_fetch(tmp_path, url, "--offline"))
    assert "the cached answer is unreadable (damaged cache entry)" in line
    assert _snapshot(tmp_path) == before


def test_a_link_in_a_find_links_folder_is_one_line_and_reads_nothing(
    tmp_path: Path, old_wheelhouse: Path
) -> None:
    """Review of #10/#18, defect 3, as the reviewer ran it: a symbolic link named like a wheel
    in a local find-links folder, pointing at /etc/passwd."""
    shutil.copytree(old_wheelhouse, tmp_path / "work" / "wh")
    links = tmp_path / "links"
    links.mkdir()
    (links / "alpha-2.0-py3-none-any.whl").symlink_to("/etc/passwd")
    before = _snapshot(tmp_path)
    with HostileIndex(tmp_path / "hostile", mode="honest") as hostile:
        result = _fetch(tmp_path, hostile.url, "--find-links", str(links))
    line = _one_error_line(result)
    assert "alpha-2.0-py3-none-any.whl is a symbolic link (to /etc/passwd)" in line
    assert _snapshot(tmp_path) == before
    passwd = hashlib.sha256(Path("/etc/passwd").read_bytes()).hexdigest()
    assert not list(tmp_path.rglob(passwd)) and passwd not in line
