"""gate/osv.py: OSV advisories parsed, matched by the schema's range rule, read from an export
zip and from the API (tests/fakeosv.py on 127.0.0.1)."""

from __future__ import annotations

import contextlib
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.version import Version

from bundler.errors import BadInput, IndexUnavailable
from bundler.gate import osv
from tests.fakeosv import ADVISORIES, NEWEST_PYPI, OsvServer, write_export

V3_CRIT = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
V3_LOW = "CVSS:3.1/AV:N/AC:H/PR:L/UI:R/S:U/C:L/I:N/A:N"
V3_NONE = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N"  # base score 0.0
V4_CRIT = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
PINS = [osv.Pinned("lib", "1.0"), osv.Pinned("tiny", "0.3"), osv.Pinned("numpyish", "1.19.5")]


def _advisory(events: list[dict[str, str]], versions: list[str] = (), **more: Any) -> osv.Advisory:
    doc = {
        "id": "TEST-1",
        "modified": "2026-01-01T00:00:00Z",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "Some.Pkg"},
                "ranges": [{"type": "ECOSYSTEM", "events": events}],
                "versions": list(versions),
            }
        ],
        **more,
    }
    parsed = osv.parse_advisory(doc, "test")
    assert parsed is not None
    return parsed


@pytest.mark.parametrize(
    ("version", "affected"),
    [("0.9", False), ("1.0", True), ("1.4.1", True), ("1.4.2", False), ("2.0", True),
     ("2.1", True), ("2.2", False), ("3.0rc1", False)],
)  # fmt: skip
def test_ranges_follow_the_schema_evaluation(version: str, affected: bool) -> None:
    advisory = _advisory(
        [{"introduced": "1.0"}, {"fixed": "1.4.2"}, {"introduced": "2.0"}, {"last_affected": "2.1"}]
    )
    assert advisory.matches(osv.Pinned("some-pkg", version)) is affected
    assert advisory.ranges_for("some_pkg") == ([">=1.0, <1.4.2", ">=2.0, <=2.1"], ["1.4.2"])


def test_listed_versions_match_and_names_are_canonical() -> None:
    advisory = _advisory([], versions=["0.5"])
    assert advisory.matches(osv.Pinned("SOME_PKG", "0.5"))
    assert not advisory.matches(osv.Pinned("some-pkg", "0.6"))
    assert not advisory.matches(osv.Pinned("other", "0.5"))
    padded = _advisory([], versions=["1.0.0", "not a version!"])  # PEP 440: 1.0.0 == 1.0
    assert padded.matches(osv.Pinned("some-pkg", "1.0"))
    assert not padded.matches(osv.Pinned("some-pkg", "1.0.1"))


@pytest.mark.parametrize(
    ("extra", "severity", "score"),
    [
        ({"severity": [{"type": "CVSS_V3", "score": V3_CRIT}]}, "critical", 9.8),
        ({"severity": [{"type": "CVSS_V3", "score": V3_LOW}]}, "low", 2.6),
        ({"severity": [{"type": "CVSS_V4", "score": V4_CRIT}]}, "critical", 9.3),
        ({"database_specific": {"severity": "MODERATE"}}, "medium", None),
        ({"severity": [{"type": "CVSS_V3", "score": "garbage"}]}, None, None),
        ({"severity": [{"type": "CVSS_V3", "score": V3_NONE}]}, "none", 0.0),
        ({}, None, None),
    ],
)  # fmt: skip
def test_severity_from_cvss_or_the_database(
    extra: dict[str, Any], severity: str | None, score: float | None
) -> None:
    advisory = _advisory([{"introduced": "0"}], **extra)
    assert (advisory.severity, advisory.score) == (severity, score)


def test_withdrawn_and_other_ecosystems_are_dropped_and_garbage_refused() -> None:
    assert osv.parse_advisory({**ADVISORIES[4]}, "x") is None  # withdrawn
    assert osv.parse_advisory({**ADVISORIES[5]}, "x") is None  # npm
    with pytest.raises(BadInput, match="not an OSV advisory"):
        osv.parse_advisory(["not", "a", "dict"], "x")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 30), min_size=1, max_size=6, unique=True).map(sorted),
    st.integers(0, 31),
    st.booleans(),
)
def test_in_range_equals_the_union_of_half_open_intervals(
    bounds: list[int], probe: int, open_end: bool
) -> None:
    """introduced/fixed pairs over versions 1.N: affected exactly inside [introduced, fixed)."""
    if open_end and len(bounds) % 2 == 0:
        bounds = bounds[:-1]
    events = [{"introduced" if i % 2 == 0 else "fixed": f"1.{b}"} for i, b in enumerate(bounds)]
    pairs = [
        (bounds[i], bounds[i + 1] if i + 1 < len(bounds) else 99) for i in range(0, len(bounds), 2)
    ]
    expected = any(low <= probe < high for low, high in pairs)
    assert osv._in_range(Version(f"1.{probe}"), list(reversed(events))) is expected


_KEYS = st.sampled_from(
    ["id", "affected", "package", "ecosystem", "name", "ranges", "events", "versions", "type",
     "severity", "score", "withdrawn", "aliases", "database_specific", "introduced", "fixed"]
)  # fmt: skip
_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from(["PyPI", "ECOSYSTEM", "0", "1.0", "x"])
)


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        _KEYS,
        st.recursive(
            _LEAVES,
            lambda c: st.lists(c, max_size=3) | st.dictionaries(_KEYS, c, max_size=4),
            max_leaves=16,
        ),
        max_size=6,
    ).map(lambda d: {**d, "id": "FUZZ-1"} if d.get("id") is None else d)
)
def test_advisory_shaped_json_is_an_advisory_none_or_refused(document: Any) -> None:
    """Untrusted advisories: typed, dropped or refused; never a crash, and matching them
    never crashes either."""
    with contextlib.suppress(BadInput):
        result = osv.parse_advisory(document, "fuzz")
        if result is not None:
            result.matches(osv.Pinned("x", "1.0"))
            result.ranges_for("x")


def test_export_zip_and_match(tmp_path: Path) -> None:
    database, advisories = osv.read_export(write_export(tmp_path / "all.zip"), PINS)
    assert database.kind == "osv-export" and database.date == NEWEST_PYPI
    assert database.source.startswith("all.zip (sha256 ")
    matched = [(p.name, a.id) for p, a in osv.match(PINS, advisories)]
    assert matched == [("lib", "GHSA-lib1-crit-0001"), ("tiny", "GHSA-tiny-medi-0002")]


def test_a_future_modified_date_does_not_make_the_export_look_fresh(tmp_path: Path) -> None:
    """The date is the newest `modified` not after the read time: an entry dated 2099 (of any
    package) says nothing about when the export was made (review #15, item 4)."""
    future = {"id": "FUTURE-1", "modified": "2099-01-01T00:00:00Z",
              "affected": [{"package": {"ecosystem": "PyPI", "name": "unrelated"}}]}  # fmt: skip
    path = _export_with(tmp_path, {"FUTURE-1.json": json.dumps(future).encode()})
    database, _ = osv.read_export(path, PINS)
    assert database.date == NEWEST_PYPI, database


def test_export_that_is_not_a_zip_or_has_no_pypi_advisory_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    with pytest.raises(BadInput, match="not a readable OSV export zip"):
        osv.read_export(junk, PINS)
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("X.json", json.dumps(ADVISORIES[5]))
    with pytest.raises(BadInput, match="no OSV advisory for the PyPI ecosystem"):
        osv.read_export(empty, PINS)


def test_api_pages_and_fetches_each_advisory_once() -> None:
    with OsvServer(lifetime=30) as server:
        database, advisories = osv.query_api(server.url, PINS, timeout=5, retries=0)
    assert database.kind == "osv-api" and database.source == server.url
    assert sorted(a.id for a in advisories) == [
        "GHSA-lib1-crit-0001", "GHSA-tiny-medi-0002", "PYSEC-2026-1",
    ]  # fmt: skip
    assert server.requests.count("POST /v1/querybatch") == 2


def test_api_failure_names_the_url() -> None:
    with OsvServer(lifetime=30) as server:
        url = server.url
    with pytest.raises(IndexUnavailable, match=f"{url}/v1/querybatch"):
        osv.query_api(url, PINS, timeout=2, retries=0)


class _LoopingServer(OsvServer):
    """Answers every query with one more page: a new token each time, or always the same."""

    def __init__(self, same_token: bool) -> None:
        super().__init__(lifetime=30)
        self.same_token = same_token
        self.pages = 0

    def answer(self, query: dict[str, Any]) -> dict[str, Any]:
        self.pages += 1
        return {"vulns": [], "next_page_token": "again" if self.same_token else str(self.pages)}


@pytest.mark.parametrize("same_token", [True, False])
def test_an_api_that_pages_for_ever_is_refused(same_token: bool) -> None:
    """Found by a review: a server always sending next_page_token held the fetch for ever."""
    with _LoopingServer(same_token) as server:
        with pytest.raises(IndexUnavailable, match=r"loops|still paging after 100 pages"):
            osv.query_api(server.url, PINS, timeout=5, retries=0)
        rounds = server.requests.count("POST /v1/querybatch")
    assert rounds == (2 if same_token else osv.MAX_PAGES)


# -- one bad entry is rejected alone (issue #15 review) -------------------------------------------


def _export_with(tmp_path: Path, extra: dict[str, bytes]) -> Path:
    path = write_export(tmp_path / "all.zip")
    with zipfile.ZipFile(path, "a") as zf:
        for name, data in extra.items():
            zf.writestr(name, data)
    return path


BAD_FOR_LIB = {"id": "BAD-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "Lib"},
                                            "versions": "1.0"}]}  # fmt: skip
BAD_FOR_OTHER = {"id": "BAD-2", "affected": [{"package": {"ecosystem": "PyPI", "name": "other"}}],
                 "aliases": "CVE-x"}  # fmt: skip


def test_a_malformed_entry_is_rejected_alone_and_reported(tmp_path: Path) -> None:
    path = _export_with(
        tmp_path,
        {
            "BAD-0.json": b"{not json",
            "BAD-1.json": json.dumps(BAD_FOR_LIB).encode(),
            "BAD-2.json": json.dumps(BAD_FOR_OTHER).encode(),
            "BAD-3.json": json.dumps({"id": 7}).encode(),
        },
    )
    database, advisories = osv.read_export(path, PINS)
    # the good advisories are all still read
    matched = [(p.name, a.id) for p, a in osv.match(PINS, advisories)]
    assert matched == [("lib", "GHSA-lib1-crit-0001"), ("tiny", "GHSA-tiny-medi-0002")]
    rejected = {r.file: r for r in database.rejected}
    assert sorted(rejected) == ["BAD-0.json", "BAD-1.json", "BAD-2.json", "BAD-3.json"]
    assert rejected["BAD-0.json"].reason.startswith("not JSON")
    assert rejected["BAD-0.json"].packages is None and rejected["BAD-0.json"].problem
    assert rejected["BAD-1.json"].packages == ("Lib",) and rejected["BAD-1.json"].problem
    assert "affected/0/versions" in rejected["BAD-1.json"].reason
    assert rejected["BAD-2.json"].packages == ("other",) and not rejected["BAD-2.json"].problem
    assert rejected["BAD-3.json"].packages is None and rejected["BAD-3.json"].problem
    assert rejected["BAD-2.json"].describe() == (
        "BAD-2.json rejected (not an OSV advisory (aliases: 'CVE-x' is not of type 'array'); "
        "names other)"
    )


def test_an_oversized_entry_is_rejected_not_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(osv, "MAX_ADVISORY", 2000)
    path = _export_with(tmp_path, {"BIG.json": b" " * 3000})
    database, _ = osv.read_export(path, PINS)
    assert [(r.file, r.problem) for r in database.rejected] == [("BIG.json", True)]
    assert "over 2000" in database.rejected[0].reason


def test_too_many_rejected_entries_refuse_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(osv, "MAX_REJECTED", 2)
    path = _export_with(tmp_path, {f"J{n}.json": b"junk" for n in range(3)})
    with pytest.raises(BadInput, match="more than 2 entries are not OSV advisories"):
        osv.read_export(path, PINS)
