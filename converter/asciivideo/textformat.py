"""The .txt output format (version 1): a header, then fixed-size text frames.

    ASCIIVIDEO 1\\n
    fps: 29.970030\\n          source frame rate (6 decimals; 0.000000 when the video has none)
    columns: 80\\n             characters per line
    rows: 30\\n                lines per frame
    frames: 0000006572\\n      frame count, zero-padded to 10 digits (patched in at the end)
    charset: " .:-=+*#%@"\\n   JSON string, darkest first (after --invert: as used)
    \\n                        an empty line ends the header
    frame 0, frame 1, ...     each exactly rows * (columns + 1) bytes: rows lines of
                              columns ASCII characters, each line ending in \\n

Readers must check the magic line and ignore header keys they do not know.
"""

import json

from asciivideo.errors import AsciiVideoError

MAGIC = b"ASCIIVIDEO 1\n"
FORMAT_VERSION = 1
FRAMES_WIDTH = 10


class Header(object):
    def __init__(self, fps, columns, rows, frames, charset):
        # type: (float, int, int, int, str) -> None
        self.fps = fps
        self.columns = columns
        self.rows = rows
        self.frames = frames
        self.charset = charset

    @property
    def frame_bytes(self):
        # type: () -> int
        return self.rows * (self.columns + 1)

    def __repr__(self):
        # type: () -> str
        return "Header(fps=%r, columns=%r, rows=%r, frames=%r, charset=%r)" % (
            self.fps,
            self.columns,
            self.rows,
            self.frames,
            self.charset,
        )


def encode_header(header):
    # type: (Header) -> bytes
    lines = [
        MAGIC.decode("ascii").rstrip("\n"),
        "fps: %.6f" % header.fps,
        "columns: %d" % header.columns,
        "rows: %d" % header.rows,
        "frames: %0*d" % (FRAMES_WIDTH, header.frames),
        "charset: %s" % json.dumps(header.charset),
        "",
        "",
    ]
    return "\n".join(lines).encode("ascii")


def frames_field_offset(header_bytes):
    # type: (bytes) -> int
    """Byte offset of the 10 frame-count digits inside an encoded header (to patch them)."""
    return header_bytes.index(b"\nframes: ") + len(b"\nframes: ")


def read_header(stream, name="file"):
    # type: (object, str) -> Header
    """Parse the header from a binary stream, leaving it at the first frame."""
    magic = stream.readline()  # type: ignore
    if magic != MAGIC:
        raise AsciiVideoError("%s: not an asciivideo file (no %r line)" % (name, MAGIC.strip()))
    fields = {}
    while True:
        line = stream.readline()  # type: ignore
        if not line:
            raise AsciiVideoError("%s: truncated header" % name)
        if line == b"\n":
            break
        key, sep, value = line.decode("ascii", "replace").rstrip("\n").partition(": ")
        if not sep:
            raise AsciiVideoError("%s: bad header line %r" % (name, line))
        fields[key] = value
    try:
        return Header(
            fps=float(fields["fps"]),
            columns=int(fields["columns"]),
            rows=int(fields["rows"]),
            frames=int(fields["frames"]),
            charset=json.loads(fields.get("charset", '""')),
        )
    except (KeyError, ValueError) as exc:
        raise AsciiVideoError("%s: bad header (%s)" % (name, exc)) from None


def iter_frames(stream, header):
    # type: (object, Header) -> object
    """Yield each frame's bytes; raise if the file holds fewer frames than the header says."""
    size = header.frame_bytes
    for index in range(header.frames):
        data = stream.read(size)  # type: ignore
        if len(data) != size:
            raise AsciiVideoError(
                "truncated file: frame %d of %d is incomplete" % (index, header.frames)
            )
        yield data
