"""textformat: header round trip, patching the frame count, truncated files."""

import io

import pytest

from asciivideo import textformat
from asciivideo.errors import AsciiVideoError


def test_header_round_trip_and_layout():
    header = textformat.Header(29.97002997, 80, 30, 6572, ' .:"\\@')
    data = textformat.encode_header(header)
    assert data.startswith(b"ASCIIVIDEO 1\nfps: 29.970030\ncolumns: 80\nrows: 30\n")
    assert b"\nframes: 0000006572\n" in data
    assert data.endswith(b"\n\n")
    parsed = textformat.read_header(io.BytesIO(data + b"rest"))
    assert (parsed.columns, parsed.rows, parsed.frames, parsed.charset) == (80, 30, 6572, ' .:"\\@')
    assert parsed.fps == pytest.approx(29.97003, abs=1e-6)
    assert parsed.frame_bytes == 30 * 81


def test_frames_field_can_be_patched_in_place():
    data = bytearray(textformat.encode_header(textformat.Header(25.0, 4, 2, 0, "ab")))
    offset = textformat.frames_field_offset(bytes(data))
    data[offset : offset + textformat.FRAMES_WIDTH] = b"%010d" % 1234
    assert textformat.read_header(io.BytesIO(bytes(data))).frames == 1234


def test_unknown_keys_are_ignored():
    data = b"ASCIIVIDEO 1\nfps: 25\ncolumns: 2\nrows: 1\nframes: 1\nfuture: x\n\nab\n"
    stream = io.BytesIO(data)
    header = textformat.read_header(stream)
    assert list(textformat.iter_frames(stream, header)) == [b"ab\n"]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"ASCIIVIDEO 2\n\n",
        b"ASCIIVIDEO 1\nfps: 25\n",
        b"ASCIIVIDEO 1\nnonsense\n\n",
        b"ASCIIVIDEO 1\nfps: 25\ncolumns: x\nrows: 1\nframes: 1\n\n",
    ],
)
def test_bad_headers(data):
    with pytest.raises(AsciiVideoError):
        textformat.read_header(io.BytesIO(data))


def test_truncated_frames_are_an_error():
    data = textformat.encode_header(textformat.Header(25.0, 2, 1, 3, "ab")) + b"ab\nba\nb"
    stream = io.BytesIO(data)
    header = textformat.read_header(stream)
    frames = textformat.iter_frames(stream, header)
    assert next(frames) == b"ab\n" and next(frames) == b"ba\n"
    with pytest.raises(AsciiVideoError, match="frame 2 of 3"):
        next(frames)
