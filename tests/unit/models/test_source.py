"""bundler.models.source: which kind of source a --index-url / --find-links names, its tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from bundler.errors import BadInput
from bundler.models.source import (
    Source,
    SourceKind,
    file_url_path,
    find_links_source,
    index_source,
    local_path,
    within,
)


def test_index_urls_remote_and_on_disk(tmp_path: Path) -> None:
    assert index_source("https://mirror.example/simple") == Source(
        SourceKind.INDEX, "https://mirror.example/simple/"
    )
    mirror = index_source(f"file://{tmp_path}/web/simple")
    assert (mirror.kind, mirror.location) == (
        SourceKind.LOCAL_INDEX,
        f"file://{tmp_path}/web/simple/",
    )
    # a mirror's simple/ sits beside its packages/ (bandersnatch): the tree is the parent
    assert (mirror.path, mirror.root) == (tmp_path / "web" / "simple", tmp_path / "web")
    own = index_source(f"file://localhost{tmp_path}/idx/")
    assert (own.path, own.root) == (tmp_path / "idx", tmp_path / "idx")
    assert own.confined and not own.remote and own.allows_file_urls


def test_find_links_kinds(tmp_path: Path) -> None:
    (tmp_path / "pages.html").mkdir()  # a directory, whatever its name
    page = tmp_path / "vendor" / "index.htm"
    assert find_links_source("https://x.example/links/").kind is SourceKind.FIND_LINKS_PAGE
    assert find_links_source(str(tmp_path)) == Source(SourceKind.LOCAL_DIR, str(tmp_path))
    assert find_links_source(tmp_path.as_uri()) == Source(SourceKind.LOCAL_DIR, str(tmp_path))
    assert find_links_source(str(tmp_path / "pages.html")).kind is SourceKind.LOCAL_DIR
    for given in (str(page), page.as_uri()):
        source = find_links_source(given)
        assert (source.kind, source.path, source.root) == (SourceKind.LOCAL_PAGE, page, page.parent)
    assert not find_links_source(str(tmp_path)).confined


def test_file_urls_on_another_host_or_relative_are_refused() -> None:
    with pytest.raises(BadInput, match=r"--find-links file://srv/x: a file: URL on another host"):
        find_links_source("file://srv/x")
    with pytest.raises(BadInput, match="not an absolute file: URL"):
        file_url_path("file:relative/simple", "--index-url")
    assert local_path("file://srv/x.whl") is None and local_path("file:x.whl") is None
    assert local_path("file:///a%20b/x.whl") == Path("/a b/x.whl")


def test_within_resolves_dots_and_links(tmp_path: Path) -> None:
    (tmp_path / "root" / "in").mkdir(parents=True)
    (tmp_path / "root" / "out").symlink_to(tmp_path)
    root = tmp_path / "root"
    assert within(root / "in" / ".." / "x", root)
    assert not within(root / "in" / ".." / ".." / "x", root)
    assert not within(root / "out" / "x", root)
    assert not within(tmp_path / "rootx", root)  # a sibling sharing the prefix
    assert Source(SourceKind.LOCAL_DIR, str(root)).contains(root / "in")
    assert not Source(SourceKind.INDEX, "https://x/simple/").contains(root)
