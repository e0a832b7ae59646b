"""Brightness -> character mapping and frame geometry, all in numpy (no per-pixel Python)."""

import cv2
import numpy as np

from asciivideo.errors import AsciiVideoError

DEFAULT_CHARSET = " .:-=+*#%@"  # dark -> bright
DEFAULT_WIDTH = 80
MAX_COLUMNS = 1000
MAX_ROWS = 1000
# A terminal cell is about twice as tall as it is wide: half as many rows as the pixel aspect says.
CHAR_ASPECT = 0.5


def check_charset(charset):
    # type: (str) -> str
    if len(charset) < 2:
        raise AsciiVideoError("--charset needs at least 2 characters, got %r" % charset)
    bad = [c for c in charset if not (" " <= c <= "~")]
    if bad:
        raise AsciiVideoError(
            "--charset must be printable ASCII (space to '~'), got %r" % "".join(bad)
        )
    return charset


def make_lut(charset, invert=False):
    # type: (str, bool) -> np.ndarray
    """256-entry uint8 table: brightness -> ASCII code, charset[0] for the darkest pixels."""
    codes = np.frombuffer(check_charset(charset).encode("ascii"), dtype=np.uint8)
    if invert:
        codes = codes[::-1]
    index = (np.arange(256, dtype=np.int64) * len(codes)) // 256
    return codes[index].astype(np.uint8)


def geometry(src_width, src_height, columns, rows=None):
    # type: (int, int, int, object) -> tuple
    """(columns, rows) of the text frame; rows=None means 'auto' (keep the picture's aspect)."""
    if not 1 <= columns <= MAX_COLUMNS:
        raise AsciiVideoError("--width must be between 1 and %d, got %d" % (MAX_COLUMNS, columns))
    if rows is None:
        rows = max(1, int(round(columns * src_height / float(src_width) * CHAR_ASPECT)))
    if not 1 <= rows <= MAX_ROWS:
        raise AsciiVideoError("--height must be between 1 and %d, got %d" % (MAX_ROWS, rows))
    return columns, rows


class FrameRenderer(object):
    """Turns decoded BGR frames into text frames: rows lines of columns chars, each + b"\\n"."""

    def __init__(self, columns, rows, lut):
        # type: (int, int, np.ndarray) -> None
        self.columns = columns
        self.rows = rows
        self.lut = lut
        self.frame_bytes = rows * (columns + 1)
        self._buf = np.full((rows, columns + 1), ord("\n"), dtype=np.uint8)

    def render(self, frame):
        # type: (np.ndarray) -> bytes
        # Gray first: resizing one channel is 2-3x cheaper than resizing three.
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
        small = cv2.resize(
            halve_while_exact(gray, self.columns, self.rows),
            (self.columns, self.rows),
            interpolation=cv2.INTER_AREA,
        )
        self._buf[:, : self.columns] = cv2.LUT(small, self.lut)
        return self._buf.tobytes()


def halve_while_exact(gray, columns, rows):
    # type: (np.ndarray, int, int) -> np.ndarray
    """Halve `gray` (2x2 box average) while the text grid still falls on whole pixels of the
    halved image, i.e. while both sides are multiples of twice the text size.

    OpenCV averages an exact 2x2 reduction on a fast SIMD path, and the general INTER_AREA
    step that follows then works on a quarter of the pixels. Every cell stays the plain
    average of the same block of source pixels, so the result is the one-step INTER_AREA one
    up to rounding of the intermediate images (at most one level of 255 per halving); on a
    480x360 frame at 80x30 the resize costs about a third as much. Other sizes (odd sides,
    fractional cells) are left as they are.
    """
    height, width = gray.shape[:2]
    while width % (2 * columns) == 0 and height % (2 * rows) == 0:
        width //= 2
        height //= 2
        gray = cv2.resize(gray, (width, height), interpolation=cv2.INTER_AREA)
    return gray
