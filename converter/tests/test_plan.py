"""plan: frame ranges for workers, and the boundary check that proves a seek was exact."""

import pytest

from asciivideo.plan import MAX_CHUNK_FRAMES, MIN_CHUNK_FRAMES, check_boundary, plan_ranges
from asciivideo.worker import ChunkResult


@pytest.mark.parametrize(
    "frames, workers", [(6572, 2), (6572, 32), (100, 3), (33, 2), (100000, 4), (240, 3)]
)
def test_ranges_cover_every_frame_once_in_order(frames, workers):
    ranges = plan_ranges(frames, workers)
    assert ranges[0][0] == 0 and ranges[-1][1] == frames
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    sizes = [stop - start for start, stop in ranges]
    assert min(sizes) >= MIN_CHUNK_FRAMES and max(sizes) <= MAX_CHUNK_FRAMES
    assert len(ranges) >= min(workers, frames // MIN_CHUNK_FRAMES)
    assert max(sizes) - min(sizes) <= 1  # balanced


@pytest.mark.parametrize("frames, workers", [(6572, 1), (0, 4), (31, 4)])
def test_sequential_when_splitting_cannot_help(frames, workers):
    assert plan_ranges(frames, workers) == [(0, frames)]


def _chunk(start, count, first, following):
    return ChunkResult(0, start, count, b"", first, following)


def test_boundary_check():
    """Simulated chunk results (no video): what each mismatch is reported as."""
    frame_100 = (4000.0, "hash-of-frame-100")
    previous = _chunk(0, 100, (0.0, "h0"), frame_100)
    assert check_boundary(previous, _chunk(100, 100, frame_100, None), 100) is None
    assert "different frame" in check_boundary(
        previous, _chunk(100, 100, (4040.0, "hash-of-frame-101"), None), 100
    )
    # Same pixels (a still scene) but another timestamp: still caught.
    assert "different frame" in check_boundary(
        previous, _chunk(100, 100, (4040.0, "hash-of-frame-100"), None), 100
    )
    assert "no timestamp" in check_boundary(
        _chunk(0, 100, (0.0, "h0"), (0.0, "x")), _chunk(100, 100, (0.0, "x"), None), 100
    )
    assert "found no frame" in check_boundary(previous, _chunk(100, 0, None, None), 100)
    assert "ended early" in check_boundary(
        _chunk(0, 90, (0.0, "h0"), None), _chunk(100, 0, None, None), 100
    )
