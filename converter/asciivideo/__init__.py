"""asciivideo: convert a video to ASCII-art frames and play them in a terminal.

Runs on Python 3.6+ with numpy and opencv-python only.
"""

import os

__version__ = "0.1.0"

# Before any `import cv2`: keep OpenCV's and FFmpeg's own log lines off stderr, where each
# error is meant to be one line of ours (a user can still raise the levels via the environment).
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
# numpy and opencv-python each bundle an OpenBLAS that starts a thread pool at import. We use
# no BLAS at all, and forking workers from a process with idle BLAS threads can deadlock.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
