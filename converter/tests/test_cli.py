"""The command line: every command end to end, and bad input -> one line, exit 2, no output."""

import os
import re

import cv2
import numpy as np
import pytest

from asciivideo import textformat
from avtestlib import run_cli


def _one_error_line(proc):
    lines = proc.stderr.decode().splitlines()
    assert len(lines) == 1, proc.stderr.decode()
    assert lines[0].startswith("asciivideo: error: ")
    return lines[0]


def test_convert_writes_the_file_and_nothing_else(sample_clip, tmp_path):
    proc = run_cli(["convert", sample_clip, "-o", tmp_path / "out.txt", "--workers", "2"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b""  # stderr is no terminal here: no progress bar
    assert os.listdir(str(tmp_path)) == ["out.txt"]
    with open(str(tmp_path / "out.txt"), "rb") as handle:
        assert textformat.read_header(handle).frames == 120


def test_convert_options(sample_clip, tmp_path):
    out = tmp_path / "out.txt"
    proc = run_cli(
        [
            "convert",
            sample_clip,
            "-o",
            out,
            "--width",
            "30",
            "--height",
            "9",
            "--charset",
            "#. ",
            "--invert",
            "--workers",
            "3",
        ]
    )
    assert proc.returncode == 0, proc.stderr
    with open(str(out), "rb") as handle:
        header = textformat.read_header(handle)
        frame = next(textformat.iter_frames(handle, header))
    assert (header.columns, header.rows, header.charset) == (30, 9, " .#")
    assert set(frame) <= set(b" .#\n")


def test_convert_notes_a_sequential_fallback(ffmpeg_clips, tmp_path):
    proc = run_cli(
        [
            "convert",
            ffmpeg_clips["vfr_seek_inexact.mp4"],
            "-o",
            tmp_path / "o.txt",
            "--workers",
            "3",
        ]
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.decode().startswith("asciivideo: note: decoded sequentially: ")


@pytest.fixture(scope="module")
def empty_video(tmp_path_factory):
    """A real AVI container with a video stream and zero frames (OpenCV's writer, no write())."""
    path = str(tmp_path_factory.mktemp("empty") / "empty.avi")
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (160, 120))
    writer.release()
    assert os.path.getsize(path) > 0
    return path


@pytest.mark.parametrize(
    "case, pattern",
    [
        ("missing", r"no such file"),
        ("text", r"not a video"),
        ("truncated", r"not a video"),
        ("directory", r"is a directory"),
        ("empty", r"has no frames"),
    ],
)
def test_bad_video_input(case, pattern, tmp_path, sample_clip, empty_video):
    inputs = tmp_path / "in"
    inputs.mkdir()
    video = {
        "missing": str(inputs / "nope.mp4"),
        "text": str(inputs / "text.avi"),
        "truncated": str(inputs / "truncated.avi"),
        "directory": str(inputs),
        "empty": empty_video,
    }[case]
    (inputs / "text.avi").write_text("this is not a video\n")
    with open(sample_clip, "rb") as handle:
        (inputs / "truncated.avi").write_bytes(handle.read(200))
    outdir = tmp_path / "out"
    outdir.mkdir()
    proc = run_cli(["convert", video, "-o", outdir / "o.txt"])
    assert proc.returncode == 2
    assert re.search(pattern, _one_error_line(proc))
    assert os.listdir(str(outdir)) == []


@pytest.mark.parametrize(
    "option, pattern",
    [
        (["--width", "0"], r"--width must be between 1 and 1000"),
        (["--width", "100000"], r"--width must be between"),
        (["--width", "wide"], r"--width: invalid int value"),
        (["--height", "0"], r"--height must be between"),
        (["--height", "tall"], r"--height: invalid"),
        (["--charset", ""], r"at least 2 characters"),
        (["--charset", "@"], r"at least 2 characters"),
        (["--charset", "ab\u00e9"], r"printable ASCII"),
        (["--charset", "a\tb"], r"printable ASCII"),
        (["--workers", "0"], r"--workers must be at least 1"),
    ],
)
def test_bad_options(option, pattern, sample_clip, tmp_path):
    proc = run_cli(["convert", sample_clip, "-o", tmp_path / "o.txt"] + option)
    assert proc.returncode == 2
    assert re.search(pattern, _one_error_line(proc))
    assert os.listdir(str(tmp_path)) == []


@pytest.mark.parametrize("case", ["no_directory", "is_directory", "unwritable"])
def test_unwritable_output(case, sample_clip, tmp_path):
    target = {
        "no_directory": tmp_path / "missing" / "o.txt",
        "is_directory": tmp_path,
        "unwritable": "/proc/asciivideo-test-output.txt",  # even root cannot create files there
    }[case]
    proc = run_cli(["convert", sample_clip, "-o", target])
    assert proc.returncode == 2
    assert re.search(r"cannot write output|is a directory", _one_error_line(proc))
    assert os.listdir(str(tmp_path)) == []


@pytest.mark.parametrize("how", ["same_path", "another_path", "symlink", "hard_link"])
def test_output_that_is_the_input_is_refused(how, sample_clip, tmp_path):
    video = tmp_path / "in" / "clip.avi"
    video.parent.mkdir()
    with open(sample_clip, "rb") as src:
        original = src.read()
    video.write_bytes(original)
    out = {
        "same_path": video,
        "another_path": tmp_path / "in" / ".." / "in" / "clip.avi",
        "symlink": tmp_path / "link.avi",
        "hard_link": tmp_path / "hard.avi",
    }[how]
    if how == "symlink":
        os.symlink(str(video), str(out))
    elif how == "hard_link":
        os.link(str(video), str(out))
    before = sorted(os.listdir(str(tmp_path)))
    proc = run_cli(["convert", str(video), "-o", str(out)])
    assert proc.returncode == 2
    line = _one_error_line(proc)
    assert (
        line == "asciivideo: error: %s: is the input video %s itself; choose another output "
        "file" % (out, video)
    )
    assert video.read_bytes() == original
    assert sorted(os.listdir(str(tmp_path))) == before and os.listdir(str(video.parent)) == [
        "clip.avi"
    ]


def test_sample_writes_a_readable_clip(tmp_path):
    clip = str(tmp_path / "clip.avi")
    proc = run_cli(["sample", clip, "--frames", "25", "--size", "96x64"])
    assert proc.returncode == 0, proc.stderr
    cap = cv2.VideoCapture(clip)
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    assert len(frames) == 25
    assert frames[0].shape == (64, 96, 3)
    assert not np.array_equal(frames[0], frames[1])  # it moves
    assert os.listdir(str(tmp_path)) == ["clip.avi"]


@pytest.mark.parametrize("args", [["--size", "480"], ["--size", "2x2"], ["--frames", "0"]])
def test_sample_bad_options(args, tmp_path):
    proc = run_cli(["sample", tmp_path / "c.avi"] + args)
    assert proc.returncode == 2
    _one_error_line(proc)
    assert os.listdir(str(tmp_path)) == []


def test_selftest_smoke(tmp_path):
    proc = run_cli(["selftest", "--workers", "3"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert re.match(rb"^selftest ok: 240 frames, 3 workers, \d+ frames/s\n$", proc.stdout)
    assert os.listdir(str(tmp_path)) == []


def test_play_to_a_pipe(sample_clip, tmp_path):
    out = tmp_path / "o.txt"
    assert run_cli(["convert", sample_clip, "-o", out, "--width", "20"]).returncode == 0
    proc = run_cli(["play", out, "--fps", "2000"])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(b"\x1b[?1049h\x1b[?25l")
    assert proc.stdout.endswith(b"\x1b[?25h\x1b[?1049l")
    assert 1 <= proc.stdout.count(b"\x1b[H") <= 120


@pytest.mark.parametrize("content", [b"", b"hello\n", b"ASCIIVIDEO 1\nfps: x\n\n"])
def test_play_bad_file(content, tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    proc = run_cli(["play", path])
    assert proc.returncode == 2
    _one_error_line(proc)


def test_play_missing_file(tmp_path):
    proc = run_cli(["play", tmp_path / "nope.txt"])
    assert proc.returncode == 2
    assert "nope.txt" in _one_error_line(proc)


def test_no_command_is_a_usage_error():
    proc = run_cli([])
    assert proc.returncode == 2
