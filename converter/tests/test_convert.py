"""convert: byte-identical output for any --workers, on real clips of every codec/container case."""

import multiprocessing
import os
import signal

import pytest

from asciivideo import convert as convert_module
from asciivideo import textformat, worker
from asciivideo.convert import STRATEGY_RANGES, STRATEGY_SEQUENTIAL, convert
from asciivideo.errors import AsciiVideoError
from avtestlib import CHARSET, CLIP_FRAMES, CLIPS, GRAY_FRAMES, SEQUENTIAL_CLIPS


def _read(path):
    with open(path, "rb") as handle:
        return handle.read()


@pytest.mark.parametrize("name", sorted(CLIPS))
def test_output_is_byte_identical_for_any_worker_count(ffmpeg_clips, tmp_path, name):
    clip = ffmpeg_clips[name]
    outputs = {}
    results = {}
    for workers in (1, 2, 3, 5):
        out = str(tmp_path / ("w%d.txt" % workers))
        results[workers] = convert(clip, out, workers=workers, progress=False)
        outputs[workers] = _read(out)
    assert results[1].strategy == STRATEGY_SEQUENTIAL  # the reference: one decode, no seeking
    for workers in (2, 3, 5):
        assert results[workers].frames == CLIP_FRAMES
        assert outputs[workers] == outputs[1], "%d workers differ from 1 on %s" % (workers, name)
    expected = STRATEGY_SEQUENTIAL if name in SEQUENTIAL_CLIPS else STRATEGY_RANGES
    assert results[3].strategy == expected, results[3].note


def test_inexact_seek_is_detected_and_reported(ffmpeg_clips, tmp_path):
    result = convert(
        ffmpeg_clips["vfr_seek_inexact.mp4"], str(tmp_path / "o.txt"), workers=3, progress=False
    )
    assert result.strategy == STRATEGY_SEQUENTIAL
    assert "landed on a different frame" in result.note


class _SeekPatchedCapture(object):
    """Wraps a real capture; `on_seek(frame)` returns the frame to really seek to (or raises)."""

    def __init__(self, cap, on_seek):
        self._cap = cap
        self._on_seek = on_seek

    def set(self, prop, value):
        return self._cap.set(prop, self._on_seek(int(value)))

    def __getattr__(self, name):
        return getattr(self._cap, name)


def _patch_seeks(monkeypatch, on_seek):
    """Patch the workers' open_capture; fork carries the patch into the pool's processes (forced
    here: with other threads in the test process, convert would use a fork server instead)."""
    monkeypatch.setattr(convert_module, "_mp_context", lambda: multiprocessing.get_context("fork"))
    original = worker.open_capture
    monkeypatch.setattr(
        worker, "open_capture", lambda path: _SeekPatchedCapture(original(path), on_seek)
    )


def test_simulated_off_by_one_seek_falls_back_to_sequential(sample_clip, tmp_path, monkeypatch):
    """Simulated: every worker's seek lands one frame too far."""
    reference = str(tmp_path / "ref.txt")
    convert(sample_clip, reference, workers=1, progress=False)
    _patch_seeks(monkeypatch, lambda frame: frame + 1)
    out = str(tmp_path / "o.txt")
    result = convert(sample_clip, out, workers=3, progress=False)
    assert result.strategy == STRATEGY_SEQUENTIAL
    assert "landed on a different frame" in result.note
    assert _read(out) == _read(reference)


@pytest.mark.parametrize("fixture", ["gray_clip", "gray_clip_h264"])
@pytest.mark.parametrize("workers", [1, 3])
def test_frames_stay_in_order(request, tmp_path, fixture, workers):
    clip = request.getfixturevalue(fixture)
    out = str(tmp_path / "o.txt")
    result = convert(clip, out, width=8, charset=CHARSET, workers=workers, progress=False)
    assert result.frames == GRAY_FRAMES
    if workers > 1:
        assert result.strategy == STRATEGY_RANGES
    with open(out, "rb") as handle:
        header = textformat.read_header(handle)
        frames = list(textformat.iter_frames(handle, header))
    got = [sorted(set(frame.replace(b"\n", b"").decode())) for frame in frames]
    assert got == [[CHARSET[k % len(CHARSET)]] for k in range(GRAY_FRAMES)]


def test_header_describes_the_output(sample_clip, tmp_path):
    out = str(tmp_path / "o.txt")
    convert(sample_clip, out, width=40, workers=2, progress=False)
    with open(out, "rb") as handle:
        header = textformat.read_header(handle)
        body = handle.read()
    assert (header.columns, header.rows, header.frames) == (40, 15, 120)
    assert header.fps == pytest.approx(30.0)
    assert header.charset == " .:-=+*#%@"
    assert len(body) == 120 * 15 * 41
    lines = body.split(b"\n")[:-1]
    assert len(lines) == 120 * 15 and all(len(line) == 40 for line in lines)


def test_invert_and_custom_charset(gray_clip, tmp_path):
    plain, inverted = str(tmp_path / "p.txt"), str(tmp_path / "i.txt")
    convert(gray_clip, plain, width=4, height=2, charset="ab", workers=1, progress=False)
    convert(gray_clip, inverted, width=4, height=2, charset="ab", invert=True, progress=False)
    with open(plain, "rb") as a, open(inverted, "rb") as b:
        header_a, header_b = textformat.read_header(a), textformat.read_header(b)
        assert (header_a.charset, header_b.charset) == ("ab", "ba")
        swapped = a.read().translate(bytes.maketrans(b"ab", b"ba"))
        assert swapped == b.read()


def test_explicit_height(sample_clip, tmp_path):
    out = str(tmp_path / "o.txt")
    result = convert(sample_clip, out, width=20, height=7, workers=1, progress=False)
    assert (result.columns, result.rows) == (20, 7)
    assert os.path.getsize(out) > 120 * 7 * 21


def test_worker_error_leaves_no_output(sample_clip, tmp_path, monkeypatch):
    """Simulated: one worker fails while seeking; nothing is left in the output directory."""

    def fail(frame):
        raise RuntimeError("simulated worker failure at frame %d" % frame)

    _patch_seeks(monkeypatch, fail)
    outdir = tmp_path / "out"
    outdir.mkdir()
    with pytest.raises(RuntimeError, match="simulated worker failure"):
        convert(sample_clip, str(outdir / "o.txt"), workers=4, progress=False)
    assert os.listdir(str(outdir)) == []


def test_a_worker_that_dies_fails_the_conversion_in_one_line(sample_clip, tmp_path, monkeypatch):
    """Simulated: workers that seek are killed outright (as by the OOM killer). The conversion
    fails with one line naming the signal instead of waiting for them for ever."""
    _patch_seeks(monkeypatch, lambda frame: os.kill(os.getpid(), signal.SIGKILL))
    outdir = tmp_path / "out"
    outdir.mkdir()
    with pytest.raises(AsciiVideoError, match=r"^worker \d died .*\(killed by signal 9\)$"):
        convert(sample_clip, str(outdir / "o.txt"), workers=3, progress=False)
    assert os.listdir(str(outdir)) == []
