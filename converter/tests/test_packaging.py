"""The asciivideo wheel: pure, Requires-Python >=3.6, and installable by Python 3.6's pip 18.1
with no network (the way it reaches the CentOS 7 target)."""

import email.parser
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from avtestlib import REPO, require_python36

pytestmark = [pytest.mark.network, pytest.mark.slow]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    env = dict(os.environ, PIP_CONFIG_FILE=os.devnull)  # not this machine's local indexes
    subprocess.check_call(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "-w",
            str(out),
            os.path.join(REPO, "converter"),
        ],
        env=env,
    )
    (path,) = out.iterdir()
    return str(path)


def test_wheel_is_pure_and_declares_python36(wheel):
    assert os.path.basename(wheel) == "asciivideo-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        metadata = email.parser.Parser().parsestr(
            archive.read("asciivideo-0.1.0.dist-info/METADATA").decode()
        )
        names = archive.namelist()
    # pip 18.1 reads Metadata-Version 2.1; newer setuptools would write 2.2+ (build pin).
    assert metadata["Metadata-Version"] == "2.1"
    assert metadata["Requires-Python"] == ">=3.6"
    assert sorted(metadata.get_all("Requires-Dist")) == ["numpy", "opencv-python"]
    assert not [n for n in names if n.endswith((".so", ".pyd"))]
    assert "asciivideo/__main__.py" in names and "asciivideo/cli.py" in names


def test_wheel_installs_offline_with_pip_18_1(wheel, tmp_path):
    python36 = require_python36()
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare (util-linux) to prove the install is offline")
    venv = str(tmp_path / "venv")
    subprocess.check_call([python36, "-m", "venv", venv])
    pip = os.path.join(venv, "bin", "pip")
    assert subprocess.check_output([pip, "--version"]).decode().startswith("pip 18.1 ")
    env = dict(os.environ, PIP_CONFIG_FILE=os.devnull)
    subprocess.check_call(
        ["unshare", "-n", pip, "install", "-q", "--no-index", "--no-deps", wheel], env=env
    )
    python = os.path.join(venv, "bin", "python")
    out = subprocess.check_output(
        [python, "-c", "import asciivideo, asciivideo.textformat; print(asciivideo.__version__)"]
    )
    assert out.decode().strip() == "0.1.0"
    assert os.path.exists(os.path.join(venv, "bin", "asciivideo"))  # console script
