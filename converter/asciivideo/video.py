"""Opening and probing a video with OpenCV."""

import contextlib
import math
import os

import cv2

from asciivideo.errors import AsciiVideoError

# OpenCV's own thread pool is of no use on small frames and must not exist when we fork workers.
cv2.setNumThreads(1)


class VideoInfo(object):
    """What the container says about a video (frame_count may be an estimate, or 0)."""

    def __init__(self, path, width, height, fps, frame_count):
        # type: (str, int, int, float, int) -> None
        self.path = path
        self.width = width
        self.height = height
        self.fps = fps
        self.frame_count = frame_count


@contextlib.contextmanager
def _quiet_stderr():
    # type: () -> object
    """Silence fd 2 while FFmpeg probes a file: older OpenCV builds (4.2, the one Python 3.6
    gets) print demuxer errors such as "moov atom not found" whatever OPENCV_FFMPEG_LOGLEVEL says.
    """
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
        finally:
            os.close(devnull)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def open_capture(path):
    # type: (str) -> cv2.VideoCapture
    """A VideoCapture on the FFmpeg backend, or AsciiVideoError."""
    if not os.path.exists(path):
        raise AsciiVideoError("%s: no such file" % path)
    if os.path.isdir(path):
        raise AsciiVideoError("%s: is a directory, not a video" % path)
    if not os.access(path, os.R_OK):
        raise AsciiVideoError("%s: permission denied" % path)
    with _quiet_stderr():
        cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
    if not cap.isOpened():
        cap.release()
        raise AsciiVideoError("%s: not a video OpenCV can read" % path)
    return cap


def probe(path):
    # type: (str) -> VideoInfo
    """Open the video and decode its first frame, so 'not a video' and 'no frames' fail early."""
    cap = open_capture(path)
    try:
        ok, frame = cap.read()
        if not ok or frame is None:
            raise AsciiVideoError("%s: the video has no frames" % path)
        fps = cap.get(cv2.CAP_PROP_FPS)
        if not (fps > 0 and math.isfinite(fps)):
            fps = 0.0
        count = cap.get(cv2.CAP_PROP_FRAME_COUNT)
        frame_count = int(count) if count > 0 and math.isfinite(count) else 0
        height, width = frame.shape[:2]
        return VideoInfo(path, int(width), int(height), float(fps), frame_count)
    finally:
        cap.release()
