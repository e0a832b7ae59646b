"""The `bundler inspect --html` page rendered by a real browser (Debian's headless chromium).

The kit is packed from the HAND-MADE wheelhouse of tests/unit/handmade_kit.py. The screenshot
is decoded (a small PNG reader below: 8-bit RGB/RGBA, non-interlaced, as chromium writes) and
must be neither blank nor unstyled: the inline CSS paints the table headers and the dependency
graph's root node in the report's blue, and the page has many distinct colours.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from bundler.cli import main
from tests.unit.kit.handmade_kit import handmade_inputs, pack_inputs

BLUE = (0x2B, 0x6C, 0xB0)  # th and the graph's root node in report.html.j2


def read_png(path: Path) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB bytes) of an 8-bit RGB or RGBA non-interlaced PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and color in (2, 6) and interlace == 0, (depth, color, interlace)
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        prev = line
        rgb = bytes(line) if bpp == 3 else bytes(v for j, v in enumerate(line) if j % 4 != 3)
        rows.append(rgb)
    return width, height, rows


@pytest.mark.slow
def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("needs Debian's chromium (scripts/setup-dev.sh installs it)")
    inputs = handmade_inputs(tmp_path / "in")
    kit = pack_inputs(inputs, tmp_path / "kit-demo.tar.gz").archive
    report = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["inspect", str(kit), "--html", str(report)])
    assert result.exit_code == 0, result.output
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1280,2000",
            report.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert shot.is_file() and shot.stat().st_size > 10_000
    width, height, rows = read_png(shot)
    assert (width, height) == (1280, 2000)
    pixels = [tuple(row[i : i + 3]) for row in rows[::4] for i in range(0, len(row), 12)]
    white = sum(1 for p in pixels if p == (255, 255, 255))
    assert white < 0.97 * len(pixels), "the page is blank"
    assert len(set(pixels)) > 50, "too few colours for a rendered report"
    lum = [sum(p) / 3 for p in pixels]
    mean = sum(lum) / len(lum)
    variance = sum((v - mean) ** 2 for v in lum) / len(lum)
    assert variance > 200, f"pixel variance {variance:.0f}: nearly uniform image"
    blue = sum(1 for p in pixels if all(abs(p[k] - BLUE[k]) <= 6 for k in range(3)))
    assert blue > 200, f"only {blue} sampled pixels in the report's blue: inline CSS not applied?"
