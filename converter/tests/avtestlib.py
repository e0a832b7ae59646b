"""Helpers shared by the converter tests (a plain module: importing from conftest is fragile).

Runs on Python 3.6 (pytest 7.0.x) as well as the kit's Python: no 3.7+ syntax or APIs here.
"""

import os
import shutil
import subprocess
import sys

import pytest

TESTS = os.path.dirname(os.path.abspath(__file__))
CONVERTER = os.path.dirname(TESTS)
REPO = os.path.dirname(CONVERTER)
VENV36 = os.path.join(REPO, ".venv36")
if CONVERTER not in sys.path:
    sys.path.insert(0, CONVERTER)

import asciivideo  # noqa: E402, F401  (quiets OpenCV/FFmpeg logging before cv2 loads)

CLIP_SIZE = "160x120"
CLIP_FRAMES = 150
# testsrc2 draws a moving pattern and a frame counter: no two frames are alike, so a seek that
# lands one frame off changes the output.
SOURCE = ["-f", "lavfi", "-i", "testsrc2=size=%s:rate=25" % CLIP_SIZE]

# name -> ffmpeg output options. Together they cover what makes CAP_PROP_POS_FRAMES seeking
# codec- and container-dependent.
CLIPS = {
    "h264_bframes.mp4": [
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "30",
        "-bf",
        "3",
        "-x264-params",
        "b-pyramid=normal",
    ],
    "h264_longgop_opengop.mkv": [
        "-c:v",
        "libx264",
        "-preset",
        "fast",
        "-g",
        "120",
        "-bf",
        "3",
        "-x264-params",
        "open-gop=1",
    ],
    "h264_one_keyframe.mp4": [
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-x264-params",
        "keyint=1000:min-keyint=1000:scenecut=0",
    ],
    "h264_offset_start.mp4": [
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "30",
        "-bf",
        "2",
        "-output_ts_offset",
        "3",
    ],
    "mjpg.avi": ["-c:v", "mjpeg", "-q:v", "5"],
    "mp4v_bframes.mp4": ["-c:v", "mpeg4", "-g", "30", "-bf", "2"],
    "mp4v.avi": ["-c:v", "mpeg4", "-g", "30"],
    "vp8.webm": ["-c:v", "libvpx", "-g", "30", "-b:v", "500k"],
    # Frame count underestimated by the container (149 of 150): the last range reads to the end.
    "mpeg2_ps.mpg": ["-c:v", "mpeg2video", "-g", "15", "-bf", "2"],
    # No container: no frame count at all, so only a sequential decode is possible.
    "raw.h264": ["-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-bf", "3"],
    # Variable frame rate (25 then 50 fps): seeking by frame number lands on the wrong frame.
    "vfr_seek_inexact.mp4": [
        "-vf",
        "setpts='if(lt(N,75),N/25,3+(N-75)/50)/TB'",
        "-fps_mode",
        "passthrough",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "30",
    ],
}
# Clips on which seeking is not exact (or impossible): the converter must fall back.
SEQUENTIAL_CLIPS = {"raw.h264", "vfr_seek_inexact.mp4"}


GRAY_FRAMES = 60
CHARSET = " .:-=+*#%@"


def gray_level(index):
    # type: (int) -> int
    """Uniform brightness of frame `index` in gray_clip: the centre of CHARSET bin index % 10."""
    return int((index % len(CHARSET) + 0.5) * 256 / len(CHARSET))


def ffmpeg(args):
    # type: (list) -> None
    if shutil.which("ffmpeg") is None:
        pytest.skip("needs Debian's ffmpeg (scripts/setup-dev.sh installs it)")
    subprocess.check_call(["ffmpeg", "-nostdin", "-loglevel", "error", "-y"] + args)


# Children a test sends SIGINT to start with SIGINT at its default: a pytest started in the
# background by a non-interactive shell (`nohup make test &`) has it ignored, an ignored signal
# stays ignored across exec (signal(7)), and Python then raises no KeyboardInterrupt. GNU env's
# --default-signal (coreutils >= 8.31) resets it before exec; see tests/childproc.py.
DEFAULT_SIGINT = ["env", "--default-signal=INT"]


def cli_env():
    # type: () -> dict
    env = dict(os.environ)
    env["PYTHONPATH"] = CONVERTER + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_cli(args, cwd=None, timeout=120):
    # type: (list, object, int) -> subprocess.CompletedProcess
    """`python -m asciivideo ARGS` with this interpreter, from the source tree."""
    return subprocess.run(
        [sys.executable, "-m", "asciivideo"] + [str(a) for a in args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=None if cwd is None else str(cwd),
        env=cli_env(),
        timeout=timeout,
    )


def pyenv_python(version):
    # type: (str) -> object
    root = os.environ.get("PYENV_ROOT")
    if not root and shutil.which("pyenv"):
        root = subprocess.check_output(["pyenv", "root"]).decode().strip()
    if not root:
        return None
    short = ".".join(version.split(".")[:2])
    exe = os.path.join(root, "versions", version, "bin", "python" + short)
    return exe if os.path.exists(exe) else None


def require_python36():
    # type: () -> str
    exe = pyenv_python("3.6.15")
    if exe is None:
        pytest.skip("needs the real Python 3.6.15 (pyenv install 3.6.15)")
    return exe
