"""bundler.index.compact: a page's compact form gives the same checked entries as the page, is
checked when read (damaged or foreign: a miss), and is what a warm fetch reads (#17 phase 3)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bundler.errors import BadAnswer
from bundler.fs.cache import Cache
from bundler.index import client, compact
from bundler.index.client import Index
from bundler.index.pages import Link, Page, json_entries, json_page
from bundler.models.source import Source, SourceKind
from bundler.net.settings import NetworkSettings
from tests.fakeindex import FakeIndex

pytestmark = pytest.mark.usefixtures("fast_retries")

REMOTE = Source(SourceKind.INDEX, "https://idx.example/simple/")
PAGE_URL = "https://idx.example/simple/a/"
DIGEST = "ab" * 32

_names = st.sampled_from(
    ["a-1.0-py3-none-any.whl", "a-1.0.tar.gz", "A_b-2.0rc1-cp36-cp36m-manylinux1_x86_64.whl",
     "a-1.0.0-py3-none-any.whl", "a-setup.exe", "b-3-py2.py3-none-any.whl", "x.whl", "a-x.zip"]
)  # fmt: skip
_hex = st.sampled_from(["ab" * 32, "CD" * 32, "../etc", ""])
_urls = st.sampled_from(
    ["{f}", "../../f/{f}", "https://h.example/p/{f}#sha256=" + "ef" * 32, "file:///etc/{f}",
     "ftp://h/{f}", "https:///{f}", "other.whl"]
)  # fmt: skip
_meta = st.one_of(
    st.none(), st.booleans(), st.fixed_dictionaries({"sha256": _hex}), st.just({"md5": "x"})
)


@st.composite
def _entries(draw: st.DrawFn) -> dict[str, Any]:
    filename = draw(_names)
    entry: dict[str, Any] = {
        "filename": filename,
        "url": draw(_urls).format(f=filename),
        "hashes": draw(st.one_of(st.just({}), st.fixed_dictionaries({"sha256": _hex}))),
    }
    for key, values in (
        ("requires-python", st.one_of(st.none(), st.just(">=3.6"))),
        ("yanked", st.one_of(st.booleans(), st.just("broken"))),
        ("size", st.integers(0, 10**9)),
        ("upload-time", st.just("2024-01-01T00:00:00Z")),
        ("core-metadata", _meta),
        ("dist-info-metadata", _meta),
    ):
        if draw(st.booleans()):
            value = draw(values)
            if value is not None or key == "requires-python":
                entry[key] = value
    return entry


def _outcome(page: Page, i: int) -> Link | str:
    """The entry's Link, or why it is refused (the message quotes the entry: the compact form
    quotes only the fields it keeps)."""
    try:
        return page.link(i)
    except BadAnswer as exc:
        return str(exc).rpartition(" rejected: ")[2]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries=st.lists(_entries(), max_size=8))
def test_the_compact_form_gives_what_the_page_gives(tmp_path_factory: Any, entries: Any) -> None:
    body = json.dumps({"meta": {"api-version": "1.1"}, "files": entries}).encode()
    checked = json_entries(body, PAGE_URL)
    fresh = json_page(checked, PAGE_URL, REMOTE)
    cache = Cache(tmp_path_factory.mktemp("c"))
    compact.store(cache, DIGEST, "a", PAGE_URL, body, checked, fresh.claims())
    kept = compact.load(cache, DIGEST, "a", REMOTE, lambda: (DIGEST, PAGE_URL, body))
    assert kept is not None
    assert kept.names == fresh.names and kept.claims() == fresh.claims()
    assert [_outcome(kept, i) for i in range(len(kept))] == [
        _outcome(fresh, i) for i in range(len(fresh))
    ]


_ENTRIES = [
    {"filename": "a-1.0-py3-none-any.whl", "url": "a-1.0-py3-none-any.whl",
     "hashes": {"sha256": "ab" * 32}, "requires-python": ">=3.6", "size": 10},
    {"filename": "a-2.0-py3-none-any.whl", "url": "a-2.0-py3-none-any.whl",
     "hashes": {"sha256": "cd" * 32}, "yanked": False},
]  # fmt: skip
_BODY = json.dumps({"meta": {"api-version": "1.1"}, "name": "a", "files": _ENTRIES}).encode()


def _answer() -> tuple[str, str, bytes]:
    return DIGEST, PAGE_URL, _BODY


def _stored(tmp_path: Path) -> tuple[Cache, Path]:
    cache = Cache(tmp_path)
    entries = json_entries(_BODY, PAGE_URL, "a")
    claims = json_page(entries, PAGE_URL, REMOTE).claims()
    compact.store(cache, DIGEST, "a", PAGE_URL, _BODY, entries, claims)
    assert compact.load(cache, DIGEST, "a", REMOTE, _answer) is not None
    return cache, cache.derived_path(compact.KIND, DIGEST)


def test_a_damaged_compact_entry_is_a_miss_and_removed(tmp_path: Path) -> None:
    cache, path = _stored(tmp_path)
    whole = path.read_bytes()
    for damaged in (b"", whole[:30], whole[:-1], whole[:-2] + b"0}", b"\0" * len(whole)):
        path.write_bytes(damaged)
        assert compact.load(cache, DIGEST, "a", REMOTE, _answer) is None
        assert not path.exists()


@pytest.mark.parametrize(
    "doc",
    [
        {"url": "file:///etc/", "entries": [], "claims": []},
        {"url": PAGE_URL, "entries": [["a-1.0-py3-none-any.whl"]], "claims": []},
        {"url": PAGE_URL, "entries": [], "claims": [["a", "1.0", [0]]]},
        {"url": PAGE_URL, "entries": {}, "claims": []},
        ["not", "a", "page"],
    ],
    ids=["file-url", "short-row", "claim-out-of-range", "entries-not-a-list", "not-an-object"],
)
def test_a_foreign_compact_entry_is_a_miss(tmp_path: Path, doc: object) -> None:
    """Whole (its header's sha256 matches) but not of this format: the page is read instead."""
    cache = Cache(tmp_path)
    cache.put_derived(compact.KIND, DIGEST, json.dumps(doc).encode())
    assert compact.load(cache, DIGEST, "a", REMOTE, _answer) is None


@settings(max_examples=40, deadline=None)
@given(
    entries=st.lists(_entries(), max_size=5),
    indent=st.sampled_from([None, 0, 2]),
    separators=st.sampled_from([None, (",", ":"), (" , ", " : ")]),
    before=st.sampled_from([{}, {"files": [{"x": 1}]}, {"meta": {"files": [1, 2]}, "s": "]}"}]),
)
def test_entry_spans_find_each_entry_as_json_reads_it(
    entries: Any, indent: Any, separators: Any, before: Any
) -> None:
    doc = {**before, "name": "a\u00e9", "files": entries}
    body = json.dumps(doc, indent=indent, separators=separators, ensure_ascii=False).encode()
    spans = compact.entry_spans(body)
    assert spans is not None
    text = body.decode()
    assert [json.loads(text[a:b]) for a, b in spans] == json.loads(body)["files"]


@pytest.mark.parametrize("body", [b"", b"[]", b'{"files": [1,]}', b'{"files" [1]}', b"\xff{}"])
def test_entry_spans_of_what_is_not_a_page_are_none(body: bytes) -> None:
    assert compact.entry_spans(body) is None


_TAMPER = {
    "sha256": (2, "ee" * 32),
    "url-other-host": (1, "https://evil.example/f/a-1.0-py3-none-any.whl"),
    "requires-python": (3, ">=2.7"),
    "yanked": (4, "bad"),
    "size": (5, 99),
    "metadata": (6, {"sha256": "ff" * 32}),
    "span": (7, 0),
}


@pytest.mark.parametrize("field", list(_TAMPER))
def test_a_compact_row_never_supplies_what_the_page_does_not_say(
    tmp_path: Path, field: str
) -> None:
    """#17 review 17b D1: a row edited (header made valid again) to say another sha256, a URL
    on another host, another Requires-Python, yanked flag, size or metadata flag: the entry
    used is the page's; the compact entry is removed and rebuilt from the page."""
    cache, path = _stored(tmp_path)
    good = path.read_bytes()
    fresh = json_page(json_entries(_BODY, PAGE_URL, "a"), PAGE_URL, REMOTE)
    doc = json.loads(cache.get_derived(compact.KIND, DIGEST) or b"")
    column, value = _TAMPER[field]
    doc["entries"][0][column] = value
    cache.put_derived(compact.KIND, DIGEST, json.dumps(doc).encode())
    page = compact.load(cache, DIGEST, "a", REMOTE, _answer)
    assert page is not None
    assert page.links() == fresh.links()
    assert path.read_bytes() == good  # rebuilt from the page


def test_a_compact_row_of_a_file_the_page_does_not_list_is_refused(tmp_path: Path) -> None:
    cache, _ = _stored(tmp_path)
    doc = json.loads(cache.get_derived(compact.KIND, DIGEST) or b"")
    doc["entries"][1][0] = doc["entries"][1][1] = "a-3.0-py3-none-any.whl"
    cache.put_derived(compact.KIND, DIGEST, json.dumps(doc).encode())
    page = compact.load(cache, DIGEST, "a", REMOTE, _answer)
    assert page is not None
    assert page.link(0).sha256 == "ab" * 32
    with pytest.raises(BadAnswer, match=r"names 'a-3\.0-py3-none-any\.whl', which the page"):
        page.link(1)
    assert compact.load(cache, DIGEST, "a", REMOTE, _answer) is not None  # rebuilt
    assert json.loads(cache.get_derived(compact.KIND, DIGEST) or b"")["entries"][1][0] == (
        "a-2.0-py3-none-any.whl"
    )


def test_a_compact_entry_is_checked_against_the_page_it_was_built_from(tmp_path: Path) -> None:
    """The page at hand changed (another digest or final URL): its own entries are used."""
    cache, _ = _stored(tmp_path)
    moved = "https://other.example/simple/a/"
    page = compact.load(cache, DIGEST, "a", REMOTE, lambda: ("cd" * 32, moved, _BODY))
    assert page is not None
    assert page.link(0).url == "https://other.example/simple/a/a-1.0-py3-none-any.whl"


@pytest.mark.parametrize(
    ("asked", "digest"), [("b", DIGEST), ("a", "cd" * 32)], ids=["other-project", "other-page"]
)
def test_a_compact_entry_of_another_page_or_project_is_a_miss_and_removed(
    tmp_path: Path, asked: str, digest: str
) -> None:
    """#17 review D2: whole (header fixed) but built for another project, or from another page
    than the one it is looked up for: never trusted, removed so that it is rebuilt."""
    cache, path = _stored(tmp_path)
    raw = cache.get_derived(compact.KIND, DIGEST)
    assert raw is not None
    cache.put_derived(compact.KIND, digest, raw)  # moved, header and all
    assert compact.load(cache, digest, asked, REMOTE, _answer) is None
    assert not cache.derived_path(compact.KIND, digest).exists()
    assert path.exists() == (digest != DIGEST)  # the original, where it belongs, stays


def test_swapped_compact_entries_are_rebuilt_from_their_pages(
    fake_index: FakeIndex, tmp_path: Path
) -> None:
    """The reviewer's swap (/tmp/rev17-work/tamper.py swap): alpha's and beta's compact entries
    exchanged, headers valid; online and offline each project still gets its own files."""
    fake_index.add_wheel("alpha", "1.0")
    fake_index.add_wheel("beta", "2.0")
    first = {n: _index(fake_index, tmp_path).files(n) for n in ("alpha", "beta")}
    cache = Cache(tmp_path / "cache")
    paths = {}
    for n in ("alpha", "beta"):
        digest = cache.page_digest(fake_index.url + n + "/")
        assert digest is not None
        paths[n] = cache.derived_path(compact.KIND, digest)
    for offline in (False, True):
        a, b = paths["alpha"].read_bytes(), paths["beta"].read_bytes()
        paths["alpha"].write_bytes(b)
        paths["beta"].write_bytes(a)
        index = _index(fake_index, tmp_path, offline=offline)
        assert {n: index.files(n) for n in ("alpha", "beta")} == first
        assert paths["alpha"].read_bytes() == a and paths["beta"].read_bytes() == b  # rebuilt


# -- the client reads it -------------------------------------------------------------------------


def _index(fake: FakeIndex, tmp_path: Path, *, offline: bool = False) -> Index:
    cache = Cache(tmp_path / "cache")
    return Index([fake.url], [], cache, settings=NetworkSettings(offline=offline))


def _no_page_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(body: bytes, page_url: str) -> Any:
        raise AssertionError(f"{page_url} was read again")

    monkeypatch.setattr(client, "json_entries", refuse)


def test_a_warm_fetch_reads_compact_pages(
    fake_index: FakeIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Offline, and online when the index answers the same bytes, no page is parsed again; the
    page entry of an unchanged answer is not rewritten; a removed compact form is rebuilt."""
    fake_index.add_wheel("foo", "1.0")
    fake_index.add_wheel("foo", "2.0")
    first = _index(fake_index, tmp_path).files("foo")
    cache = Cache(tmp_path / "cache")
    url = fake_index.url + "foo/"
    digest = cache.page_digest(url)
    assert digest is not None and cache.derived_path(compact.KIND, digest).is_file()
    stored = cache.page_path(url).stat()
    with monkeypatch.context() as patched:
        _no_page_reading(patched)
        assert _index(fake_index, tmp_path).files("foo") == first
        assert _index(fake_index, tmp_path, offline=True).files("foo") == first
    again = cache.page_path(url).stat()
    assert (again.st_ino, again.st_mtime_ns) == (stored.st_ino, stored.st_mtime_ns)
    cache.derived_path(compact.KIND, digest).unlink()
    assert _index(fake_index, tmp_path, offline=True).files("foo") == first
    assert cache.derived_path(compact.KIND, digest).is_file()


@pytest.mark.parametrize(
    ("column", "value"),
    [(2, "ee" * 32), (1, "https://evil.example/f/foo-1.0-py3-none-any.whl"), (3, ">=3.99"),
     (4, "withdrawn")],
    ids=["sha256", "url-other-host", "requires-python", "yanked"],
)  # fmt: skip
def test_an_edited_compact_row_is_never_trusted_online_or_offline(
    fake_index: FakeIndex, tmp_path: Path, column: int, value: object
) -> None:
    """#17 review 17b D1: the compact entry of foo's page edited (its header made valid again)
    to give foo 1.0 another sha256, a URL on another host, another Requires-Python or a yanked
    flag: online and offline the files are the page's, and the entry is rebuilt."""
    fake_index.add_wheel("foo", "1.0")
    first = _index(fake_index, tmp_path).files("foo")
    cache = Cache(tmp_path / "cache")
    digest = cache.page_digest(fake_index.url + "foo/")
    assert digest is not None
    good = cache.get_derived(compact.KIND, digest)
    assert good is not None
    for offline in (False, True):
        doc = json.loads(good)
        doc["entries"][0][column] = value
        cache.put_derived(compact.KIND, digest, json.dumps(doc).encode())
        assert _index(fake_index, tmp_path, offline=offline).files("foo") == first
        assert cache.get_derived(compact.KIND, digest) == good


def test_a_page_entry_of_an_older_kit_is_read_offline(
    fake_index: FakeIndex, tmp_path: Path
) -> None:
    """Before the entry header (#17 phase 2) a page entry was the answer's head line and body,
    written durably: after an upgrade it is read, not 'damaged'."""
    fake_index.add_wheel("foo", "1.0")
    first = _index(fake_index, tmp_path).files("foo")
    cache = Cache(tmp_path / "cache")
    path = cache.page_path(fake_index.url + "foo/")
    stored = cache.get_page(fake_index.url + "foo/")
    assert stored is not None and stored.startswith(b'{"status": 200')
    path.write_bytes(stored)  # what an older kit wrote: no header
    for entry in (tmp_path / "cache" / "index").rglob("*"):
        if entry.is_file():
            entry.unlink()
    fake_index.stop()
    assert _index(fake_index, tmp_path, offline=True).files("foo") == first


# -- a wheel's METADATA, kept by the wheel's sha256 -----------------------------------------------


def test_a_wheels_metadata_is_read_from_the_wheel_once(
    fake_index: FakeIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without PEP 658 files the metadata comes from the wheel; the next run takes it from the
    cache by the wheel's sha256 and opens no wheel; what it takes is still checked against the
    file name; a damaged entry is read from the wheel again."""
    fake_index.pep658 = False
    fake_index.add_wheel("foo", "1.0", requires_dist=["bar>=2"])
    index = _index(fake_index, tmp_path)
    file = index.files("foo")[0]
    assert [str(r) for r in index.metadata(file).requires_dist] == ["bar>=2"]
    cache = Cache(tmp_path / "cache")
    assert file.sha256 is not None
    kept = cache.derived_path(client.WHEEL_METADATA, file.sha256)
    assert kept.is_file()
    with monkeypatch.context() as patched:

        def refuse(path: Path, origin: str | None = None) -> bytes:
            raise AssertionError(f"{origin} was opened again")

        patched.setattr(client, "wheel_metadata_body", refuse)
        offline = _index(fake_index, tmp_path, offline=True)
        assert [str(r) for r in offline.metadata(offline.files("foo")[0]).requires_dist] == [
            "bar>=2"
        ]
    good = kept.read_bytes()
    for lie in (b"Name: other\nVersion: 1.0\n", b"Name: foo\nVersion: 1.1\n", b"Version: x\n"):
        # #17 review 17b D4a: not this wheel's (or unreadable): removed, the wheel read again
        cache.put_derived(client.WHEEL_METADATA, file.sha256, lie)
        other = _index(fake_index, tmp_path, offline=True)
        assert [str(r) for r in other.metadata(other.files("foo")[0]).requires_dist] == ["bar>=2"]
        assert kept.read_bytes() == good
    kept.write_bytes(kept.read_bytes()[:-3])  # damaged: a miss, read from the wheel again
    again = _index(fake_index, tmp_path, offline=True)
    assert [str(r) for r in again.metadata(again.files("foo")[0]).requires_dist] == ["bar>=2"]
    assert kept.is_file()
