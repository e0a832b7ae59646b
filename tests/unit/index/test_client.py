"""bundler.index: page parsing, sources, page cache / offline, PEP 658 metadata + fallback."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from bundler.errors import (
    BadAnswer,
    BadInput,
    BundlerError,
    HashMismatch,
    IndexUnavailable,
    PackageNotFound,
)
from bundler.fs.cache import Cache
from bundler.fs.hashing import sha256_file
from bundler.index.client import Index, ProjectFiles, claimed_dist
from bundler.index.pages import parse_html_page, parse_json_page, read_html_page, read_json_page
from bundler.models.metadata import parse_metadata, read_wheel_metadata
from bundler.models.source import Source, SourceKind
from bundler.net.blobs import fetch_blob
from bundler.net.settings import NetworkSettings
from tests.fakeindex import FakeIndex, build_sdist, build_wheel

pytestmark = pytest.mark.usefixtures("fast_retries")

REMOTE = Source(SourceKind.INDEX, "https://idx.example/simple/")


def make_index(fake: FakeIndex | None, tmp_path: Path, **kwargs: object) -> Index:
    urls = [fake.url] if fake is not None else []
    find_links = kwargs.pop("find_links", [])
    settings = NetworkSettings(**kwargs)  # type: ignore[arg-type]
    return Index(urls, find_links, Cache(tmp_path / "cache"), settings=settings)  # type: ignore[arg-type]


# -- parsing ----------------------------------------------------------------------------------


def test_json_page_fields_and_relative_urls() -> None:
    body = b"""{"meta": {"api-version": "1.1"}, "name": "a", "files": [
      {"filename": "a-1.0-py3-none-any.whl", "url": "../../f/a-1.0-py3-none-any.whl",
       "hashes": {"sha256": "<H1>"}, "requires-python": ">=3.6", "yanked": "broken",
       "core-metadata": {"sha256": "<H2>"}, "size": 10},
      {"filename": "a-0.9.tar.gz", "url": "https://files.example/a-0.9.tar.gz#sha256=<H3>",
       "hashes": {}, "yanked": true, "dist-info-metadata": true},
      {"filename": "a-0.8.tar.gz", "url": "a-0.8.tar.gz", "hashes": {}, "yanked": false}]}"""
    for tag, digest in ((b"<H1>", b"AB" * 32), (b"<H2>", b"cd" * 32), (b"<H3>", b"ee" * 32)):
        body = body.replace(tag, digest)
    links = parse_json_page(body, "https://idx.example/simple/a/", REMOTE)
    first, second, third = links
    assert first.url == "https://idx.example/f/a-1.0-py3-none-any.whl"
    assert (first.sha256, first.size, first.requires_python) == (
        "abababababababababababababababababababababababababababababababab",
        10,
        ">=3.6",
    )
    assert (first.yanked, first.metadata) == (
        "broken",
        "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
    )
    assert (second.url, second.sha256) == (
        "https://files.example/a-0.9.tar.gz",
        "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee",
    )
    assert (second.yanked, second.metadata) == ("", True)
    assert (third.yanked, third.metadata) == (None, None)


def test_html_page_attributes_are_unescaped() -> None:
    body = b"""<html><body>
      <a href="../../f/a-1.0.tar.gz#sha256=<H4>" data-requires-python="&gt;=3.6,&lt;4"
         data-yanked="" data-core-metadata="sha256=<H5>">a-1.0.tar.gz</a>
      <a href="/f/a-2.0-py3-none-any.whl" data-yanked="bad build"
         data-dist-info-metadata="true">x</a>
      <a href="/f/a-3.0-py3-none-any.whl" data-core-metadata="false">y</a>
      <a>no href</a></body></html>"""
    body = body.replace(b"<H4>", b"ff" * 32).replace(b"<H5>", b"aa" * 32)
    links = parse_html_page(body, "https://idx.example/simple/a/", REMOTE)
    assert [x.filename for x in links] == [
        "a-1.0.tar.gz",
        "a-2.0-py3-none-any.whl",
        "a-3.0-py3-none-any.whl",
    ]
    one, two, three = links
    assert one.url == "https://idx.example/f/a-1.0.tar.gz" and one.sha256 == "ff" * 32
    assert one.requires_python == ">=3.6,<4" and one.yanked == "" and one.metadata == "aa" * 32
    assert two.yanked == "bad build" and two.metadata is True
    assert three.yanked is None and three.metadata is None


def test_metadata_parsing_and_invalid_requirement() -> None:
    meta = parse_metadata(
        b"Metadata-Version: 2.1\nName: Foo\nVersion: 1.0\nRequires-Python: >=3.6\n"
        b"License: UNKNOWN\nRequires-Dist: bar (>=1.0) ; extra == 'x'\n\n",
        "foo",
    )
    assert meta.name == "Foo" and meta.version == Version("1.0")
    assert meta.requires_python == SpecifierSet(">=3.6") and meta.license is None
    assert str(meta.requires_dist[0]) == 'bar>=1.0; extra == "x"'
    with pytest.raises(Exception, match="invalid Requires-Dist"):
        parse_metadata(b"Name: Foo\nVersion: 1.0\nRequires-Dist: ???\n\n", "foo")


def test_read_wheel_metadata(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path, "my-pkg", "2.0", requires_dist=["x>=1"])
    meta = read_wheel_metadata(wheel)
    assert (meta.name, str(meta.version), [str(r) for r in meta.requires_dist]) == (
        "my-pkg",
        "2.0",
        ["x>=1"],
    )


# -- sources ----------------------------------------------------------------------------------


@pytest.mark.parametrize("json_api", [True, False], ids=["pep691-json", "pep503-html"])
def test_files_from_index(fake_index: FakeIndex, tmp_path: Path, json_api: bool) -> None:
    fake_index.json = json_api
    whl = fake_index.add_wheel("Foo.Bar", "1.0", requires_python=">=3.6", yanked="oops")
    fake_index.add_sdist("foo-bar", "0.9")
    fake_index.add_wheel("other", "1.0")
    files = make_index(fake_index, tmp_path).files("FOO_bar")
    assert [f.filename for f in files] == [whl.filename, "foo_bar-0.9.tar.gz"]
    wheel = files[0]
    assert wheel.project == "foo-bar" and wheel.version == Version("1.0") and wheel.is_wheel
    assert wheel.url == f"{fake_index.base}/files/{whl.filename}"
    assert wheel.sha256 and len(wheel.sha256) == 64
    assert (wheel.requires_python, wheel.yanked) == (">=3.6", "oops")
    assert wheel.metadata_url == wheel.url + ".metadata" and wheel.metadata_sha256
    assert files[1].metadata_url is None and not files[1].is_wheel


def test_find_links_directory_and_page(fake_index: FakeIndex, tmp_path: Path) -> None:
    local = tmp_path / "local"
    build_wheel(local, "foo", "2.0")
    build_sdist(local, "foo", "2.0")
    (local / "notes.txt").write_text("not a distribution")
    fake_index.add_wheel("foo", "1.0")
    fake_index.add_wheel("foo", "2.0")  # same filename as the local one: first source wins
    index = Index(
        [],
        [str(local), fake_index.find_links_url],
        Cache(tmp_path / "cache"),
        settings=NetworkSettings(retries=0),
    )
    files = index.files("foo")
    by_name = {f.filename: f for f in files}
    assert set(by_name) == {
        "foo-2.0-py3-none-any.whl",
        "foo-2.0.tar.gz",
        "foo-1.0-py3-none-any.whl",
    }
    assert by_name["foo-2.0-py3-none-any.whl"].url.startswith("file://")
    assert by_name["foo-1.0-py3-none-any.whl"].url.startswith(fake_index.base)
    local_sha = by_name["foo-2.0.tar.gz"].sha256
    assert local_sha is not None and len(local_sha) == 64


def test_a_symbolic_link_in_a_find_links_directory_is_refused_and_never_read(
    tmp_path: Path,
) -> None:
    """Review of #10/#18, defect 3: a link named like a wheel led the scan to a file outside
    the folder (/etc/passwd was hashed into the cache)."""
    links = tmp_path / "links"
    build_wheel(links, "alpha", "1.0")
    secret = tmp_path / "secret.txt"
    secret.write_text("outside the folder")
    (links / "alpha-2.0-py3-none-any.whl").symlink_to(secret)
    index = make_index(None, tmp_path, find_links=[str(links)])
    with pytest.raises(BadInput) as err:
        index.files("alpha")
    message = str(err.value)
    assert f"find-links directory {links}: alpha-2.0-py3-none-any.whl is a symbolic link" in message
    assert str(secret) in message and "\n" not in message
    cache = tmp_path / "cache"
    assert not cache.exists() or not [p for p in cache.rglob("*") if p.is_file()]


def test_a_find_links_file_swapped_for_a_link_after_the_scan_is_not_followed(
    tmp_path: Path,
) -> None:
    links = tmp_path / "links"
    wheel = build_wheel(links, "alpha", "1.0")
    index = make_index(None, tmp_path, find_links=[str(links)])
    (listed,) = index.files("alpha")
    wheel.unlink()
    wheel.symlink_to("/etc/passwd")
    with pytest.raises(BundlerError, match=r"alpha-1\.0-py3-none-any\.whl: symbolic link refused"):
        fetch_blob(listed, index.cache, index.transport)
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]


def test_unknown_project_is_package_not_found(fake_index: FakeIndex, tmp_path: Path) -> None:
    fake_index.add_wheel("foo", "1.0")
    with pytest.raises(PackageNotFound, match=r"no package named 'nope' on http://127\.0\.0\.1"):
        make_index(fake_index, tmp_path).files("nope")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_index_names_the_url(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/simple/"
    index = Index(
        [url], [], Cache(tmp_path / "cache"), settings=NetworkSettings(retries=1, timeout=2)
    )
    with pytest.raises(IndexUnavailable, match=rf"cannot reach {url}foo/.*2 attempts"):
        index.files("foo")


def test_transient_errors_are_retried(fake_index: FakeIndex, tmp_path: Path) -> None:
    fake_index.add_wheel("foo", "1.0")
    fake_index.fail_times["/simple/foo/"] = 2
    assert len(make_index(fake_index, tmp_path, retries=2).files("foo")) == 1
    assert fake_index.requests.count("/simple/foo/") == 3


def test_retries_exhausted(fake_index: FakeIndex, tmp_path: Path) -> None:
    fake_index.add_wheel("foo", "1.0")
    fake_index.fail_times["/simple/foo/"] = 5
    with pytest.raises(IndexUnavailable, match=r"HTTP 503.*gave up after 3 attempts"):
        make_index(fake_index, tmp_path, retries=2).files("foo")


def test_offline_uses_the_page_cache_only(fake_index: FakeIndex, tmp_path: Path) -> None:
    fake_index.add_wheel("foo", "1.0")
    online = make_index(fake_index, tmp_path).files("foo")
    with pytest.raises(PackageNotFound):
        make_index(fake_index, tmp_path).files("absent")
    fake_index.stop()
    offline = make_index(fake_index, tmp_path, offline=True)
    assert offline.files("foo") == online
    with pytest.raises(PackageNotFound):  # the 404 was cached too
        offline.files("absent")
    with pytest.raises(IndexUnavailable, match=r"not in the cache \(--offline\)"):
        offline.files("never-asked")


# -- metadata ---------------------------------------------------------------------------------


def test_metadata_from_pep658_downloads_no_wheel(fake_index: FakeIndex, tmp_path: Path) -> None:
    fake_index.add_wheel("foo", "1.0", requires_dist=["bar>=2; python_version < '3.7'"])
    index = make_index(fake_index, tmp_path)
    meta = index.metadata(index.files("foo")[0])
    assert [str(r) for r in meta.requires_dist] == ['bar>=2; python_version < "3.7"']
    assert fake_index.downloads() == []
    assert "/files/foo-1.0-py3-none-any.whl.metadata" in fake_index.requests


def test_metadata_falls_back_to_the_wheel(fake_index: FakeIndex, tmp_path: Path) -> None:
    fake_index.pep658 = False
    served = fake_index.add_wheel("foo", "1.0", requires_python=">=3.6")
    index = make_index(fake_index, tmp_path)
    file = index.files("foo")[0]
    assert file.metadata_url is None
    meta = index.metadata(file)
    assert meta.requires_python == SpecifierSet(">=3.6")
    assert fake_index.downloads() == [served.filename]
    assert file.sha256 and index.cache.has_blob(file.sha256)  # the later download is a hit


def test_metadata_hash_mismatch(fake_index: FakeIndex, tmp_path: Path) -> None:
    fake_index.add_wheel("foo", "1.0", tamper_metadata=True)
    index = make_index(fake_index, tmp_path)
    with pytest.raises(HashMismatch, match=r"foo-1\.0-py3-none-any\.whl\.metadata"):
        index.metadata(index.files("foo")[0])


def test_wheel_hash_mismatch_when_reading_metadata(fake_index: FakeIndex, tmp_path: Path) -> None:
    fake_index.pep658 = False
    fake_index.add_wheel("foo", "1.0", tamper=True)
    index = make_index(fake_index, tmp_path)
    with pytest.raises(HashMismatch, match=r"mismatch for foo-1\.0-py3-none-any\.whl from http"):
        index.metadata(index.files("foo")[0])


def test_offline_metadata_from_cache(fake_index: FakeIndex, tmp_path: Path) -> None:
    fake_index.add_wheel("foo", "1.0", requires_dist=["bar"])
    fake_index.add_wheel("old", "1.0", metadata=False)
    index = make_index(fake_index, tmp_path)
    for name in ("foo", "old"):
        index.metadata(index.files(name)[0])
    fake_index.stop()
    offline = make_index(fake_index, tmp_path, offline=True)
    assert [str(r) for r in offline.metadata(offline.files("foo")[0]).requires_dist] == ["bar"]
    assert offline.metadata(offline.files("old")[0]).name == "old"


def test_a_damaged_cache_entry_is_a_miss(fake_index: FakeIndex, tmp_path: Path) -> None:
    """Pages and .metadata bodies are cached without fsync (issue #17, finding 3): an entry a
    crash cut short is fetched again online; offline, the metadata comes from the cached
    wheel, and a damaged page is one line naming it (nothing can replace it offline)."""
    fake_index.add_wheel("foo", "1.0", requires_dist=["bar"])
    index = make_index(fake_index, tmp_path)
    file = index.files("foo")[0]
    assert file.metadata_url
    index.metadata(file)
    cache = index.cache
    entry = cache.page_path(file.metadata_url)
    entry.write_bytes(entry.read_bytes()[:-5])
    again = make_index(fake_index, tmp_path)
    assert [str(r) for r in again.metadata(again.files("foo")[0]).requires_dist] == ["bar"]
    assert fake_index.requests.count("/files/foo-1.0-py3-none-any.whl.metadata") == 2
    fetch_blob(file, cache, index.transport)  # the wheel is cached too
    entry.write_bytes(b"")
    offline = make_index(fake_index, tmp_path, offline=True)
    assert [str(r) for r in offline.metadata(offline.files("foo")[0]).requires_dist] == ["bar"]
    page = cache.page_path(fake_index.url + "foo/")
    page.write_bytes(b"\0" * 100)
    with pytest.raises(BadAnswer, match=r"simple/foo/: the cached answer is unreadable"):
        make_index(fake_index, tmp_path, offline=True).files("foo")


def test_metadata_must_match_filename(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "w", "foo", "1.0")
    wrong = wheel.with_name("foo-1.1-py3-none-any.whl")
    wheel.rename(wrong)
    index = Index([], [str(wrong.parent)], Cache(tmp_path / "cache"))
    with pytest.raises(IndexUnavailable, match=r"its metadata says foo 1\.0"):
        index.metadata(index.files("foo")[0])


def test_local_project_is_answered_only_from_its_own_directory(
    fake_index: FakeIndex, tmp_path: Path
) -> None:
    """A project built here (fetch's local project) is never replaced by an index's file of the
    same filename, nor mixed with the index's other versions; other projects still come from
    the index and find-links."""
    local = tmp_path / "local"
    mine = build_wheel(local, "asciivideo", "0.1.0", summary="built here")
    fake_index.add_wheel("asciivideo", "0.1.0")  # same filename, other bytes
    fake_index.add_wheel("asciivideo", "0.2.0")
    fake_index.add_wheel("lib", "1.0")
    links = tmp_path / "links"
    build_wheel(links, "asciivideo", "0.1.0", summary="in --find-links")
    index = Index(
        [fake_index.url],
        [str(links)],
        Cache(tmp_path / "cache"),
        local_projects={"AsciiVideo": local},
    )
    files = index.files("asciivideo")
    assert [(f.filename, f.url, f.sha256) for f in files] == [
        (mine.name, mine.resolve().as_uri(), sha256_file(mine))
    ]
    assert index.metadata(files[0]).summary == "built here"
    assert "/simple/asciivideo/" not in fake_index.requests
    assert [f.filename for f in index.files("lib")] == ["lib-1.0-py3-none-any.whl"]
    assert str(local) in index.describe_sources()


def test_local_project_directory_without_its_wheel_is_package_not_found(
    fake_index: FakeIndex, tmp_path: Path
) -> None:
    fake_index.add_wheel("asciivideo", "0.1.0")
    (tmp_path / "local").mkdir()
    index = Index(
        [fake_index.url],
        [],
        Cache(tmp_path / "cache"),
        local_projects={"asciivideo": tmp_path / "local"},
    )
    with pytest.raises(PackageNotFound, match="local project 'asciivideo'"):
        index.files("asciivideo")


# -- file: indexes and local find-links pages (issue #12) ------------------------------------


def file_index(tmp_path: Path, *, pep691: bool = False, html: bool = True) -> tuple[Path, Index]:
    """A bandersnatch-layout tree (root/simple/<p>/index.*, root/files/*) and an Index on it."""
    fake = FakeIndex(tmp_path / "mirror")
    fake.add_wheel("foo", "1.0", requires_dist=["bar"], requires_python=">=3.6", yanked="bad")
    fake.add_wheel("foo", "2.0", requires_dist=["bar>=2"])
    fake.add_sdist("foo", "2.0")
    fake.add_wheel("bar", "2.0")
    simple = fake.write_tree(pep691=pep691, html=html)
    return simple, Index([simple.as_uri()], [], Cache(tmp_path / "cache"))


@pytest.mark.parametrize("pep691", [False, True], ids=["pep503-html", "pep691-json"])
def test_file_index_tree_on_disk(tmp_path: Path, pep691: bool) -> None:
    """`--index-url file:///.../simple/` reads `<project>/index.v1_json` or `index.html`; the
    files may lie beside `simple/` (the mirror's tree is its parent); every field of the page
    is kept, PEP 658 files are read from disk and hash-checked."""
    simple, index = file_index(tmp_path, pep691=pep691, html=not pep691)
    files = {f.filename: f for f in index.files("foo")}
    assert set(files) == {"foo-1.0-py3-none-any.whl", "foo-2.0-py3-none-any.whl", "foo-2.0.tar.gz"}
    old = files["foo-1.0-py3-none-any.whl"]
    assert old.url == (simple.parent / "files" / old.filename).as_uri()
    assert old.sha256 == sha256_file(simple.parent / "files" / old.filename)
    assert (old.requires_python, old.yanked) == (">=3.6", "bad")
    assert old.source is not None and old.source.kind is SourceKind.LOCAL_INDEX
    assert old.local and old.hash_source == "local"
    assert [str(r) for r in index.metadata(files["foo-2.0-py3-none-any.whl"]).requires_dist] == [
        "bar>=2"
    ]
    with pytest.raises(PackageNotFound, match=r"no package named 'nope' on file:///"):
        index.files("nope")


def test_file_index_metadata_hash_is_checked(tmp_path: Path) -> None:
    simple, index = file_index(tmp_path)
    wheel = next(f for f in index.files("bar") if f.is_wheel)
    meta = simple.parent / "files" / f"{wheel.filename}.metadata"
    meta.write_bytes(meta.read_bytes().replace(b"Summary:", b"Summary: changed"))
    with pytest.raises(HashMismatch, match=r"bar-2\.0-py3-none-any\.whl\.metadata at /"):
        index.metadata(wheel)


def test_file_index_without_metadata_files_reads_the_wheel(tmp_path: Path) -> None:
    simple, index = file_index(tmp_path)
    for meta in (simple.parent / "files").glob("*.metadata"):
        meta.unlink()
    wheel = next(f for f in index.files("foo") if f.filename == "foo-2.0-py3-none-any.whl")
    assert [str(r) for r in index.metadata(wheel).requires_dist] == ["bar>=2"]


def _page(simple: Path, project: str, body: str) -> None:
    (simple / project).mkdir(parents=True, exist_ok=True)
    (simple / project / "index.html").write_text(body)


HOSTILE_TREES = {
    "dotdot": ('<a href="../../../outside/evil-1.0.tar.gz">e</a>', "outside the local source"),
    "absolute": ('<a href="file://{outside}/evil-1.0.tar.gz">e</a>', "outside the local source"),
    "symlink-file": ('<a href="../../files/evil-1.0.tar.gz">e</a>', "outside the local source"),
    "other-host": ('<a href="file://server/share/evil-1.0.tar.gz">e</a>', "another host"),
    "https": ('<a href="https://files.example/evil-1.0.tar.gz">e</a>', "https URL refused"),
    "base-href": (
        '<base href="file://{outside}/"><a href="evil-1.0.tar.gz">e</a>',
        "outside the local source",
    ),
}


@pytest.mark.parametrize("mode", sorted(HOSTILE_TREES))
def test_a_file_index_only_links_inside_its_tree(tmp_path: Path, mode: str) -> None:
    """No `../`, no absolute file: URL elsewhere, no symbolic link out of the tree, no other
    host, no network: one BadAnswer naming the page and the entry."""
    outside = tmp_path / "outside"
    build_sdist(outside, "evil", "1.0")
    simple = tmp_path / "mirror" / "simple"
    (simple.parent / "files").mkdir(parents=True)
    (simple.parent / "files" / "evil-1.0.tar.gz").symlink_to(outside / "evil-1.0.tar.gz")
    body, message = HOSTILE_TREES[mode]
    _page(simple, "evil", body.format(outside=outside))
    index = Index([simple.as_uri()], [], Cache(tmp_path / "cache"))
    with pytest.raises(BadAnswer, match=rf"{simple}/evil/index\.html: entry .* {message}"):
        index.files("evil")


def test_a_page_outside_the_tree_or_not_a_file_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    build_sdist(outside, "evil", "1.0")
    (outside / "index.html").write_text('<a href="evil-1.0.tar.gz">e</a>')
    simple = tmp_path / "mirror" / "simple"
    simple.mkdir(parents=True)
    (simple / "evil").symlink_to(outside)  # the project's directory is a link out
    (simple / "fifo").mkdir()
    os.mkfifo(simple / "fifo" / "index.html")  # would block a plain open() forever
    _page(simple, "big", "<a>" * 400)
    index = Index(
        [simple.as_uri()],
        [],
        Cache(tmp_path / "cache"),
        settings=NetworkSettings(max_page_bytes=1000),
    )
    with pytest.raises(BadAnswer, match=r"evil/index\.html: leads outside the local source"):
        index.files("evil")
    with pytest.raises(BadAnswer, match=r"fifo/index\.html: fifo refused"):
        index.files("fifo")
    with pytest.raises(BadAnswer, match=r"big/index\.html: larger than 1000 bytes"):
        index.files("big")


def test_a_file_swapped_for_a_link_after_listing_is_refused_when_read(tmp_path: Path) -> None:
    """The tree is checked again when a file is opened: a link planted between the page's
    parse and the read leads nowhere."""
    simple, index = file_index(tmp_path)
    wheel = next(f for f in index.files("bar") if f.is_wheel)
    secret = tmp_path / "secret"
    secret.write_bytes(b"not yours")
    path = simple.parent / "files" / wheel.filename
    path.unlink()
    path.symlink_to(secret)
    with pytest.raises(BadAnswer, match=r"leads outside the local source's tree"):
        fetch_blob(wheel, index.cache, index.transport)


def test_a_changed_file_fails_its_page_hash(tmp_path: Path) -> None:
    simple, index = file_index(tmp_path)
    wheel = next(f for f in index.files("bar") if f.is_wheel)
    path = simple.parent / "files" / wheel.filename
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(HashMismatch, match=rf"{wheel.filename} from file:///.*expected sha256"):
        fetch_blob(wheel, index.cache, index.transport)


def test_find_links_file_page(tmp_path: Path) -> None:
    """`--find-links file:///.../index.html` (or its path) is an HTML page of links on disk,
    confined to its directory like a file: index."""
    local = tmp_path / "vendor"
    build_wheel(local, "foo", "1.0")
    build_sdist(tmp_path, "foo", "0.9")
    page = local / "index.html"
    page.write_text('<a href="foo-1.0-py3-none-any.whl">foo</a>')
    for given in (page.as_uri(), str(page)):
        files = Index([], [given], Cache(tmp_path / "cache")).files("foo")
        assert [(f.filename, f.source.kind if f.source else None) for f in files] == [
            ("foo-1.0-py3-none-any.whl", SourceKind.LOCAL_PAGE)
        ]
    page.write_text('<a href="../foo-0.9.tar.gz">foo</a>')
    with pytest.raises(BadAnswer, match=r"outside the local source's tree"):
        Index([], [page.as_uri()], Cache(tmp_path / "cache")).files("foo")
    with pytest.raises(IndexUnavailable, match=r"find-links page .*/nothere\.html does not exist"):
        Index([], [str(local / "nothere.html")], Cache(tmp_path / "cache")).files("foo")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://mirror.example/simple/", r"only http://, https:// and file:// index URLs"),
        ("srv/mirror/simple", r"a simple tree on disk is file:///.*/srv/mirror/simple/"),
        ("file://server/simple/", r"a file: URL on another host is not a local path"),
    ],
)
def test_index_urls_the_kit_does_not_read(tmp_path: Path, url: str, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        Index([url], [], Cache(tmp_path / "cache"))


def test_a_file_index_that_is_not_a_directory(tmp_path: Path) -> None:
    index = Index([(tmp_path / "nothere").as_uri()], [], Cache(tmp_path / "cache"))
    with pytest.raises(IndexUnavailable, match=r"file: index .*/nothere is not a directory"):
        index.files("foo")


# -- lazy candidates: a version's entries are checked when it is used ------------------------------


def _page_of(*entries: dict[str, object]) -> bytes:
    return json.dumps(
        {"meta": {"api-version": "1.1"}, "name": "a", "files": list(entries)}
    ).encode()


def _entry(filename: str, **override: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "filename": filename,
        "url": filename,
        "hashes": {"sha256": "ab" * 32},
    }
    entry.update(override)
    return entry


def test_project_files_check_only_the_versions_asked_for() -> None:
    """Versions come from the names alone; a refused entry of an unused version is never read,
    one of a used version is refused before any DistFile is made; `all()` refuses it too."""
    body = _page_of(
        _entry("a-2.0-py3-none-any.whl"),
        _entry("a-2.0.tar.gz"),
        _entry("a-1.0-py3-none-any.whl", url="file:///etc/passwd"),
        _entry("b-9.0-py3-none-any.whl"),
        _entry("a-3.0rc1-py3-none-any.whl", hashes={"sha256": "../etc"}),
        _entry("a-setup.exe"),
    )
    page = read_json_page(body, "https://idx.example/simple/a/", REMOTE)
    files = ProjectFiles("a", [(REMOTE, page)])
    assert files.versions == [Version("3.0rc1"), Version("2.0"), Version("1.0")]
    assert page._links == {}  # nothing checked yet
    got = files.files(Version("2.0"))
    assert [f.filename for f in got] == ["a-2.0-py3-none-any.whl", "a-2.0.tar.gz"]
    assert {f.url for f in got} == {"https://idx.example/simple/a/a-2.0-py3-none-any.whl",
                                    "https://idx.example/simple/a/a-2.0.tar.gz"}  # fmt: skip
    assert sorted(page._links) == [0, 1]  # only version 2.0's entries were checked
    with pytest.raises(BadAnswer, match=r"file: URL refused from a remote source"):
        files.files(Version("1.0"))
    with pytest.raises(BadAnswer, match=r"sha256 is not 64 hex digits"):
        files.files(Version("3.0rc1"))
    assert files.files(Version("4.0")) == []
    with pytest.raises(BadAnswer, match=r"file: URL refused"):
        files.all()


def test_a_claimed_version_is_checked_against_the_real_name() -> None:
    """An HTML href whose segment claims 1.0 but whose real name (after checking) is not a
    distribution of `a` at 1.0 gives no file, and a traversal is refused when 1.0 is used."""
    body = (
        b'<a href="/f/a-1.0-1%2F..%2F..%2FPWNED-py3-none-any.whl#sha256=' + b"0" * 64 + b'">x</a>'
        b'<a href="/f/a-2.0-py3-none-any.whl#sha256=' + b"1" * 64 + b'">y</a>'
    )
    page = read_html_page(body, "https://idx.example/simple/a/", REMOTE)
    files = ProjectFiles("a", [(REMOTE, page)])
    assert files.versions == [Version("2.0"), Version("1.0")]
    assert [f.filename for f in files.files(Version("2.0"))] == ["a-2.0-py3-none-any.whl"]
    with pytest.raises(BadAnswer, match=r"path separator"):
        files.files(Version("1.0"))


@pytest.mark.parametrize(
    ("filename", "claim"),
    [
        ("Foo_Bar-1.0-py3-none-any.whl", ("foo-bar", "1.0")),
        ("foo-1.0-1-cp36-cp36m-manylinux1_x86_64.whl", ("foo", "1.0")),
        ("foo-bar-2.0.post1.tar.gz", ("foo-bar", "2.0.post1")),
        ("foo-1.0.zip", ("foo", "1.0")),
        ("foo.whl", None),
        ("foo-notaversion-py3-none-any.whl", None),
        ("foo-1.0.exe", None),
    ],
)
def test_claimed_dist(filename: str, claim: tuple[str, str] | None) -> None:
    got = claimed_dist(filename)
    assert (None if got is None else (got[0], str(got[1]))) == claim


def test_a_page_of_another_project_or_api_version_is_refused_naming_the_url(
    fake_index: FakeIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """#17 review D7: the index answers for `alpha` with `beta`'s page, or with a 2.0 page."""
    fake_index.add_wheel("alpha", "1.0")
    fake_index.add_wheel("beta", "1.0")
    serve = fake_index.json_page
    url = fake_index.url + "alpha/"
    for answer, refusal in (
        (lambda project: serve("beta"), "the page is for project 'beta', not 'alpha'"),
        (lambda project: serve(project).replace(b'"1.1"', b'"2.0"'), "version 2.0"),
    ):
        monkeypatch.setattr(fake_index, "json_page", answer)
        index = Index([fake_index.url], [], Cache(tmp_path / refusal[:8]))
        with pytest.raises(BadAnswer) as err:
            index.files("alpha")
        assert str(err.value).startswith(url + ": ") and refusal in str(err.value)
    monkeypatch.setattr(fake_index, "json_page", lambda p: serve(p).replace(b'"1.1"', b'"1.7"'))
    index = Index([fake_index.url], [], Cache(tmp_path / "newer"))
    assert [f.filename for f in index.files("alpha")] == ["alpha-1.0-py3-none-any.whl"]
    assert index.warnings == [
        f"{url}: simple API version 1.7 is newer than 1.4, the newest "
        "this kit knows: fields added since are ignored (PEP 629)"
    ]
