"""A synthetic Bad-Apple-like clip: black and white shapes moving, written with OpenCV only."""

import math
import os

import cv2
import numpy as np

from asciivideo.errors import AsciiVideoError

SAMPLE_FOURCC = "MJPG"  # encodable by every opencv-python wheel's bundled FFmpeg, seeks exactly


def parse_size(text):
    # type: (str) -> tuple
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise AsciiVideoError("--size must look like 480x360, got %r" % text) from None
    if not (16 <= width <= 4096 and 16 <= height <= 4096):
        raise AsciiVideoError("--size must be between 16x16 and 4096x4096, got %r" % text)
    return width, height


def draw_frame(index, width, height):
    # type: (int, int, int) -> np.ndarray
    """Frame `index`: a silhouette-like scene, different on every frame."""
    t = index / 30.0
    frame = np.zeros((height, width, 3), dtype=np.uint8)
    # A white half-plane whose edge sweeps sideways (light vs shadow).
    edge = int((0.5 + 0.4 * math.sin(t * 0.7)) * width)
    frame[:, edge:] = 255
    # A black or white disc bouncing around (the dancer's head).
    cx = int((0.5 + 0.35 * math.sin(t * 1.3)) * width)
    cy = int((0.5 + 0.35 * math.cos(t * 1.7)) * height)
    radius = max(2, int(min(width, height) * (0.12 + 0.05 * math.sin(t * 2.0))))
    color = (0, 0, 0) if cx >= edge else (255, 255, 255)
    cv2.circle(frame, (cx, cy), radius, color, -1)
    # A rotating bar, and a frame counter so no two frames are the same.
    angle = t * 1.1
    length = min(width, height) * 0.3
    p1 = (int(width * 0.3 - length * math.cos(angle)), int(height * 0.6 - length * math.sin(angle)))
    p2 = (int(width * 0.3 + length * math.cos(angle)), int(height * 0.6 + length * math.sin(angle)))
    cv2.line(frame, p1, p2, (128, 128, 128), max(1, height // 30))
    bar = int((index % 100) / 100.0 * width)
    frame[height - max(2, height // 40) :, :bar] = 200
    return frame


def write_sample(path, frames=300, size=(480, 360), fps=30.0):
    # type: (str, int, tuple, float) -> int
    """Write the clip (MJPG in AVI) to `path` atomically; return the number of frames."""
    if frames < 1:
        raise AsciiVideoError("--frames must be at least 1, got %d" % frames)
    if not fps > 0:
        raise AsciiVideoError("--fps must be positive, got %r" % fps)
    width, height = size
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise AsciiVideoError("%s: directory %s does not exist" % (path, directory))
    tmp = os.path.join(directory, ".%s.%d.tmp.avi" % (os.path.basename(path), os.getpid()))
    writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*SAMPLE_FOURCC), fps, (width, height))
    try:
        if not writer.isOpened():
            raise AsciiVideoError("%s: cannot write a video there" % path)
        for index in range(frames):
            writer.write(draw_frame(index, width, height))
        writer.release()
        os.replace(tmp, path)
    finally:
        writer.release()
        if os.path.exists(tmp):
            os.unlink(tmp)
    return frames
