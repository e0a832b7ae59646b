"""charmap: the numpy brightness -> character table, geometry, and rendering."""

import cv2
import numpy as np
import pytest

from asciivideo.charmap import (
    FrameRenderer,
    check_charset,
    geometry,
    halve_while_exact,
    make_lut,
)
from asciivideo.errors import AsciiVideoError


def test_lut_maps_dark_to_first_and_bright_to_last():
    lut = make_lut(" .:-=+*#%@")
    assert lut.dtype == np.uint8 and lut.shape == (256,)
    assert chr(lut[0]) == " " and chr(lut[255]) == "@"
    assert list(np.diff(lut.astype(int)) != 0).count(True) == 9  # 10 bins, monotonic steps
    bins = [bytes(lut[i : i + 1]).decode() for i in (0, 25, 26, 127, 128, 230, 231, 255)]
    assert bins == [" ", " ", ".", "=", "+", "%", "@", "@"]


def test_invert_reverses_the_charset():
    assert bytes(make_lut("ab", invert=True)) == bytes(make_lut("ba"))


@pytest.mark.parametrize("charset", ["", "x", "ab\n", "\u2588\u2593", "a\x7f"])
def test_bad_charsets(charset):
    with pytest.raises(AsciiVideoError):
        check_charset(charset)


def test_geometry_keeps_the_aspect_with_tall_characters():
    assert geometry(480, 360, 80) == (80, 30)
    assert geometry(160, 120, 40) == (40, 15)
    assert geometry(1920, 1080, 80) == (80, 22)
    assert geometry(480, 360, 1) == (1, 1)
    assert geometry(480, 360, 80, 50) == (80, 50)


@pytest.mark.parametrize("columns, rows", [(0, None), (1001, None), (80, 0), (80, 1001)])
def test_geometry_limits(columns, rows):
    with pytest.raises(AsciiVideoError):
        geometry(480, 360, columns, rows)


def test_renderer_output_shape_and_content():
    frame = np.zeros((120, 160, 3), dtype=np.uint8)
    frame[:, 80:] = 255  # right half white
    renderer = FrameRenderer(8, 3, make_lut(" @"))
    text = renderer.render(frame)
    assert text == b"    @@@@\n" * 3
    assert len(text) == renderer.frame_bytes
    gray = np.full((120, 160), 255, dtype=np.uint8)
    assert renderer.render(gray) == b"@@@@@@@@\n" * 3


@pytest.mark.parametrize(
    "size, text, halved_size",
    [
        ((360, 480), (80, 30), (180, 240)),  # the sample clip: 6x12 cells -> 3x6
        ((480, 640), (80, 30), (60, 80)),  # 8x16 cells -> 1x2
        ((1080, 1920), (80, 45), (135, 240)),  # 24x24 cells -> 3x3
        ((1080, 1920), (80, 22), (1080, 1920)),  # 1080 / 22: fractional cells, left alone
        ((360, 480), (160, 60), (360, 480)),  # 3x6 cells: 3 is odd
        ((361, 480), (80, 30), (361, 480)),  # odd height
        ((100, 100), (1, 1), (25, 25)),  # down to the first odd side
    ],
)
def test_halving_keeps_the_area_average(size, text, halved_size):
    rng = np.random.RandomState(7)
    gray = rng.randint(0, 256, size=size).astype(np.uint8)
    gray[: size[0] // 3] //= 4  # some structure, not only noise
    columns, rows = text
    halved = halve_while_exact(gray, columns, rows)
    assert halved.shape == halved_size
    one_step = cv2.resize(gray, (columns, rows), interpolation=cv2.INTER_AREA).astype(int)
    two_step = cv2.resize(halved, (columns, rows), interpolation=cv2.INTER_AREA).astype(int)
    halvings = int(np.log2(size[0] // halved_size[0]))
    # the same block averages; each intermediate image rounds once (1 level of 255 at most)
    assert np.abs(one_step - two_step).max() <= max(1, halvings)
