"""The index-answer model under random and mutated input: only BundlerError, never a path out."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bundler.errors import BundlerError
from bundler.index import pages
from bundler.index.pages import Link, parse_html_page, parse_json_page
from bundler.models.link import path_in
from bundler.models.source import Source, SourceKind, local_path

PAGE = "https://idx.example/simple/alpha/"
REMOTE = Source(SourceKind.INDEX, "https://idx.example/simple/")
GOOD = {
    "filename": "alpha-1.0-py3-none-any.whl",
    "url": "../../files/alpha-1.0-py3-none-any.whl",
    "hashes": {"sha256": "ab" * 32},
    "size": 10,
    "core-metadata": {"sha256": "cd" * 32},
}
DEST = Path("/nonexistent/dest")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
names = st.text(
    alphabet=st.sampled_from("alpha-1.0py3noeyw_./\\%2F\x00 .whl+!"), min_size=1, max_size=60
)


def _links_stay_inside(links: list[Link]) -> None:
    for link in links:
        assert link.url.startswith(("http://", "https://"))
        assert path_in(DEST, link.filename).parent == DEST
        assert link.sha256 is None or len(link.sha256) == 64


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes_never_crash_either_parser(body: bytes) -> None:
    for parse in (parse_json_page, parse_html_page):
        with contextlib.suppress(BundlerError):
            _links_stay_inside(parse(body, PAGE, REMOTE))


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([*sorted(GOOD), "yanked", "requires-python", "dist-info-metadata"]), json_values
)
def test_a_mutated_json_entry_is_checked_or_rejected(key: str, value: object) -> None:
    entry = {**GOOD, key: value}
    body = json.dumps({"meta": {"api-version": "1.1"}, "files": [entry]}).encode()
    try:
        _links_stay_inside(parse_json_page(body, PAGE, REMOTE))
    except BundlerError as exc:
        assert PAGE in str(exc) and "\n" not in str(exc)


@settings(max_examples=300, deadline=None)
@given(names, st.sampled_from(["", "#sha256=" + "0" * 64, "#sha256=zz", "#md5=1"]))
def test_any_filename_in_a_link_is_a_safe_base_name_or_rejected(name: str, frag: str) -> None:
    for body in (
        json.dumps({"files": [{**GOOD, "filename": name, "url": f"/files/{name}{frag}"}]}),
        f'<a href="/files/{name}{frag}">x</a>',
    ):
        parse = parse_json_page if body.startswith("{") else parse_html_page
        with contextlib.suppress(BundlerError):
            _links_stay_inside(parse(body.encode(), PAGE, REMOTE))


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(
        [
            "file:///etc/passwd",
            "ftp://x/a-1.0.tar.gz",
            "javascript:alert(1)",
            "//evil.example/a-1.0.tar.gz",
            "data:,x",
            "http:///a-1.0.tar.gz",
        ]
    )
)
def test_only_http_links_leave_a_remote_page(url: str) -> None:
    try:
        links = parse_html_page(f'<a href="{url}">x</a>'.encode(), PAGE, REMOTE)
    except BundlerError:
        return
    _links_stay_inside(links)


def test_file_urls_are_followed_only_inside_a_local_source(tmp_path: Path) -> None:
    local = Source(SourceKind.LOCAL_DIR, str(tmp_path))
    inside = (tmp_path / "a-1.0.tar.gz").as_uri()
    links = parse_html_page(f'<a href="{inside}">a</a>'.encode(), tmp_path.as_uri(), local)
    assert [x.filename for x in links] == ["a-1.0.tar.gz"]
    try:
        parse_html_page(b'<a href="file:///etc/a-1.0.tar.gz">a</a>', tmp_path.as_uri(), local)
    except BundlerError as exc:
        assert "outside the local source" in str(exc)
    else:
        raise AssertionError("a file: URL outside the local source was accepted")


@pytest.fixture(scope="module")
def local_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """root/{simple/alpha, files, files/out -> ../../outside, files/up -> ..}: a mirror's tree
    with a link that leads out of it and one that stays inside."""
    top = tmp_path_factory.mktemp("tree")
    root = top / "root"
    (root / "simple" / "alpha").mkdir(parents=True)
    (root / "files").mkdir()
    (top / "outside").mkdir()
    (root / "files" / "out").symlink_to(top / "outside")
    (root / "files" / "up").symlink_to(root)
    return root


segments = st.sampled_from(
    ["..", ".", "", "files", "out", "up", "simple", "alpha", "%2e%2e", "%2F", "outside", "root"]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(segments, max_size=8),
    st.sampled_from(["", "/", "file://", "file:///", "file://localhost/", "https://x/"]),
    st.sampled_from(["index.html", ""]),
    st.booleans(),
)
def test_a_local_index_never_links_out_of_its_tree(
    local_tree: Path, parts: list[str], prefix: str, page: str, as_json: bool
) -> None:
    """Whatever the href (`..`, links out and back in, absolute or schemed), an entry of a
    `file:` index either names a file whose real path is inside the tree, or is refused."""
    source = Source(SourceKind.LOCAL_INDEX, (local_tree / "simple").as_uri() + "/")
    href = prefix + "/".join([*parts, "alpha-1.0.tar.gz"])
    if prefix.startswith("file://") and prefix != "file://":
        href = prefix + str(local_tree).lstrip("/") + "/" + "/".join([*parts, "alpha-1.0.tar.gz"])
    page_url = (local_tree / "simple" / "alpha").as_uri() + "/" + page
    entry = {"filename": "alpha-1.0.tar.gz", "url": href, "hashes": {}}
    body = (
        json.dumps({"files": [entry]}).encode() if as_json else f'<a href="{href}">a</a>'.encode()
    )
    parse = parse_json_page if as_json else parse_html_page
    try:
        links = parse(body, page_url, source)
    except BundlerError:
        return
    for link in links:
        path = local_path(link.url)
        assert path is not None
        real = os.path.realpath(path)
        assert os.path.commonpath([real, os.path.realpath(local_tree)]) == os.path.realpath(
            local_tree
        ), (href, link.url)


page_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-2, 10)
    | st.floats(allow_nan=False, width=16)
    | st.text(max_size=5)
    | st.sampled_from(["x" * 33, "x" * 65, "x" * 257]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=8,
)
entry_keys = st.sampled_from(
    [
        "filename",
        "url",
        "hashes",
        "size",
        "yanked",
        "requires-python",
        "upload-time",
        "core-metadata",
        "dist-info-metadata",
        "other",
    ]
)


@settings(max_examples=600, deadline=None)
@given(
    st.dictionaries(entry_keys, page_values, max_size=4),
    st.sampled_from([None, {}, {"api-version": 1}, {"api-version": "1.1"}, []]),
    st.sampled_from([None, "alpha", 5]),
    st.booleans(),
)
def test_the_fast_check_never_passes_what_the_schema_refuses(
    override: dict[str, object], meta: object, name: object, drop: bool
) -> None:
    """`_obviously_valid` skips jsonschema for speed; it must imply the schema's verdict."""
    entry = {k: v for k, v in {**GOOD, **override}.items() if not (drop and k == "url")}
    page: dict[str, object] = {"files": [entry]}
    if meta is not None:
        page["meta"] = meta
    if name is not None:
        page["name"] = name
    if pages._obviously_valid(page):
        assert pages._VALIDATOR.is_valid(page), page
    assert pages._obviously_valid({"files": [GOOD]})


# -- the page's head: PEP 629 api-version, PEP 691 name (#17 review D7) ------------------------


def _head(meta: object = None, name: object = "alpha", drop: tuple[str, ...] = ()) -> bytes:
    page: dict[str, object] = {"meta": meta or {"api-version": "1.1"}, "name": name, "files": []}
    return json.dumps({k: v for k, v in page.items() if k not in drop}).encode()


@pytest.mark.parametrize(
    ("body", "refusal"),
    [
        (_head({"api-version": "2.0"}), "simple API version 2.0: this kit reads version 1.x"),
        (_head({"api-version": "0.9"}), "simple API version 0.9"),
        (_head({"api-version": "one"}), "unreadable meta.api-version 'one'"),
        (_head(drop=("meta",)), "no meta.api-version"),
        (_head({"x": 1}), "no meta.api-version"),
        (_head(name="beta"), "the page is for project 'beta', not 'alpha'"),
        (_head(drop=("name",)), "no name"),
    ],
    ids=["major-2", "major-0", "unreadable", "no-meta", "no-api-version", "other", "no-name"],
)
def test_a_page_head_is_checked_against_pep_629_and_the_project(body: bytes, refusal: str) -> None:
    with pytest.raises(BundlerError) as err:
        pages.json_entries(body, PAGE, "alpha")
    message = str(err.value)
    assert message.startswith(PAGE + ": ") and refusal in message and "\n" not in message


def test_a_newer_minor_api_version_warns_once_and_is_read() -> None:
    said: list[str] = []
    for version in ("1.0", "1.4", "1.99"):
        pages.json_entries(
            _head({"api-version": version}, name="Alpha"), PAGE, "alpha", said.append
        )
    assert len(said) == 1 and said[0].startswith(PAGE) and "1.99 is newer than 1.4" in said[0]
