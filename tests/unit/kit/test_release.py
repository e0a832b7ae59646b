"""kit/release.py: the kit's release record and the far side's freshness check."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bundler.errors import BadInput
from bundler.kit import release

T0 = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
SUMS_A, SUMS_B = "a" * 64, "b" * 64


def test_default_sequence_is_the_creation_time_and_round_trips() -> None:
    made = release.make("kit-app", None, T0 + dt.timedelta(microseconds=5))
    assert made.sequence == int(T0.timestamp()) and made.created == T0
    assert release.parse(release.render(made), "x") == made


@pytest.mark.parametrize(
    "doc",
    [
        {"schema_version": 1, "name": "k", "sequence": -1, "created": "2026-12-01T00:00:00Z"},
        {"schema_version": 1, "name": "k", "sequence": 1, "created": "yesterday"},
        {"schema_version": 1, "name": "k", "sequence": "1", "created": "2026-12-01T00:00:00Z"},
        {"schema_version": 2, "name": "k", "sequence": 1, "created": "2026-12-01T00:00:00Z"},
        {"schema_version": 1, "name": "k", "sequence": 1, "created": "2026-13-01T00:00:00Z"},
    ],
)
def test_malformed_records_are_refused(doc: dict[str, object]) -> None:
    with pytest.raises(BadInput, match=r"kit-release\.json|x: "):
        release.parse(json.dumps(doc).encode(), "x")


def test_state_file_refuses_older_and_reused_sequences(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    fresh = release.Freshness(state_file=state)
    seven, five = release.make("k", 7, T0), release.make("k", 5, T0)
    assert release.check(seven, fresh, SUMS_A) == ([], [])  # nothing recorded yet
    release.record(state, seven, SUMS_A, T0)
    assert release.check(seven, fresh, SUMS_A) == ([], [])
    problems, _ = release.check(five, fresh, SUMS_B)
    assert len(problems) == 1 and "older than the last kit accepted here" in problems[0]
    problems, _ = release.check(seven, fresh, SUMS_B)
    assert "reuses a sequence" in problems[0]
    lenient = release.Freshness(state_file=state, allow_downgrade=True)
    problems, notes = release.check(five, lenient, SUMS_B)
    assert not problems and "accepted: --allow-downgrade" in notes[0]
    release.record(state, five, SUMS_B, T0)  # never lowers the bar
    assert release.read_state(state) == release.Accepted(seven, SUMS_A)


@given(st.integers(0, 2**40), st.integers(0, 2**40))
def test_min_sequence(sequence: int, minimum: int) -> None:
    problems, _ = release.check(
        release.make("k", sequence, T0), release.Freshness(min_sequence=minimum), SUMS_A
    )
    assert bool(problems) == (sequence < minimum)


def test_a_damaged_state_file_is_an_error_not_a_pass(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text('{"schema_version": 1, "accepted": {"sequence": 1}}')
    with pytest.raises(BadInput, match="--state"):
        release.check(release.make("k", 9, T0), release.Freshness(state_file=state), SUMS_A)
