"""Fixtures for the converter tests: real clips made by Debian's ffmpeg (session-scoped).

Runs on Python 3.6 (pytest 7.0.x) as well as the kit's Python: no 3.7+ syntax or APIs here.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# isort: off
# avtestlib first: it puts converter/ on sys.path and imports asciivideo, which quiets
# OpenCV's and FFmpeg's logging before cv2 is loaded.
from avtestlib import CLIP_FRAMES, CLIPS, GRAY_FRAMES, SOURCE, ffmpeg, gray_level  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402

# isort: on


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="session")
def ffmpeg_clips(clip_dir):
    """{name: path} of CLIP_FRAMES-frame clips, one per codec/container case in CLIPS."""
    paths = {}
    for name, options in sorted(CLIPS.items()):
        path = str(clip_dir / name)
        ffmpeg(SOURCE + ["-frames:v", str(CLIP_FRAMES), "-pix_fmt", "yuv420p"] + options + [path])
        paths[name] = path
    return paths


@pytest.fixture(scope="session")
def long_clip(clip_dir):
    """A longer, bigger clip with one keyframe, so every worker's seek decodes a lot: a
    conversion with several workers lasts long enough to be interrupted."""
    path = str(clip_dir / "long_one_keyframe.mp4")
    ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=640x480:rate=25",
            "-frames:v",
            "1500",
            "-pix_fmt",
            "yuv420p",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-x264-params",
            "keyint=2000:min-keyint=2000:scenecut=0",
            path,
        ]
    )
    return path


@pytest.fixture(scope="session")
def gray_clip(clip_dir):
    """Frame k is uniformly gray at gray_level(k) (MJPG by OpenCV), so converted frame k must
    be all CHARSET[k % 10]: the order of frames is visible in the output."""
    path = str(clip_dir / "gray.avi")
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (160, 120))
    for index in range(GRAY_FRAMES):
        writer.write(np.full((120, 160, 3), gray_level(index), dtype=np.uint8))
    writer.release()
    return path


@pytest.fixture(scope="session")
def gray_clip_h264(clip_dir, gray_clip):
    """gray_clip re-encoded losslessly to H.264 with B-frames by ffmpeg."""
    path = str(clip_dir / "gray_h264.mp4")
    ffmpeg(
        [
            "-i",
            gray_clip,
            "-c:v",
            "libx264",
            "-qp",
            "0",
            "-g",
            "20",
            "-bf",
            "3",
            "-pix_fmt",
            "yuv444p",
            path,
        ]
    )
    return path


@pytest.fixture(scope="session")
def sample_clip(clip_dir):
    from asciivideo.sample import write_sample

    path = str(clip_dir / "sample.avi")
    write_sample(path, frames=120, size=(160, 120))
    return path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """KIT_STRICT_SKIPS=1 (CI): a skip is a failure, as in tests/conftest.py (which does not
    apply here: this tree also runs on Python 3.6 with pytest 7.0)."""
    outcome = yield
    report = outcome.get_result()
    if (
        os.environ.get("KIT_STRICT_SKIPS") == "1"
        and report.skipped
        and not hasattr(report, "wasxfail")
    ):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = "skipped in CI (KIT_STRICT_SKIPS=1), which counts as a failure: %s" % (
            reason,
        )
