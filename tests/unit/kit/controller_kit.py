"""A controller wheelhouse for the hermetic tests: a STAND-IN ansible-core on the fake index.

`stand_in_ansible_core` builds a real, installable wheel named ansible-core whose only content
is an `ansible-playbook` script (in the wheel's `.data/scripts/`, so pip installs it into the
venv's bin/ with the venv's interpreter) that prints what ansible-core 2.16's real
`ansible-playbook --version` prints first: `ansible-playbook [core X.Y.Z]`. It is not Ansible:
the real wheelhouse from PyPI is proven in tests/e2e/test_controller_real.py.
`serve_controller` puts it (Requires-Dist resolvelib, as the real one) on a `FakeIndex`;
`fetch_controller` runs the real `bundler fetch-controller` against that index.
"""

from __future__ import annotations

import base64
import hashlib
import stat
import zipfile
from pathlib import Path

from click.testing import CliRunner, Result

from bundler.cli import main
from tests.fakeindex import FakeIndex

STAND_IN_VERSION = "2.16.99"


def stand_in_ansible_core(
    directory: Path,
    version: str = STAND_IN_VERSION,
    reports: str | None = None,
    requires_python: str = ">=3.10",
) -> Path:
    """ansible_core-VERSION-py3-none-any.whl whose ansible-playbook reports `reports`
    (default: its own version); it records every argument it was given in
    $STAND_IN_ARGV_LOG when that is set (one run per line, its arguments as a JSON list)."""
    dist = f"ansible_core-{version}"
    # a console_scripts entry point, as the real ansible-core's (pip writes its launcher, which
    # runs from a venv whose path holds a space)
    module = (
        "import json, os, sys\n\n\ndef main():\n"
        f"    print('ansible-playbook [core {reports or version}]')\n"
        "    print('  python version = %s' % sys.version.split()[0])\n"
        "    if os.environ.get('STAND_IN_ARGV_LOG'):\n"
        "        with open(os.environ['STAND_IN_ARGV_LOG'], 'a') as log:\n"
        "            log.write(json.dumps(sys.argv[1:]) + '\\n')\n"
    )
    metadata = (
        f"Metadata-Version: 2.1\nName: ansible-core\nVersion: {version}\n"
        "Summary: STAND-IN for tests, not Ansible\nLicense: GPLv3+\n"
        f"Requires-Python: {requires_python}\n"
        "Requires-Dist: resolvelib<1.1.0,>=0.5.3\n"
    )
    files = {
        "ansible_stand_in/__init__.py": f"VERSION = {version!r}\n",
        "ansible_stand_in/playbook.py": module,
        f"{dist}.dist-info/entry_points.txt": (
            "[console_scripts]\nansible-playbook = ansible_stand_in.playbook:main\n"
        ),
        f"{dist}.dist-info/METADATA": metadata,
        f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: controller_kit\n"
        "Root-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = ""
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record += f"{path},sha256={digest.decode()},{len(text.encode())}\n"
    files[f"{dist}.dist-info/RECORD"] = record + f"{dist}.dist-info/RECORD,,\n"
    directory.mkdir(parents=True, exist_ok=True)
    wheel = directory / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, text in files.items():
            info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
            # a regular file's mode (pip makes a script executable only with S_IFREG set)
            info.external_attr = (stat.S_IFREG | (0o755 if "/scripts/" in path else 0o644)) << 16
            zf.writestr(info, text)
    return wheel


def serve_controller(
    index: FakeIndex, version: str = STAND_IN_VERSION, reports: str | None = None
) -> None:
    """The stand-in ansible-core `version` and resolvelib 1.0.1 on `index`."""
    wheel = stand_in_ansible_core(index.root / "files", version, reports)
    index.add(wheel, requires_python=">=3.10")
    if not any(f.project == "resolvelib" for f in index.files):
        index.add_wheel("resolvelib", "1.0.1")


def fetch_controller(index: FakeIndex, output: Path, *args: str) -> Result:
    """`bundler fetch-controller -o OUTPUT --index-url INDEX` (own cache next to OUTPUT)."""
    return CliRunner().invoke(
        main,
        [
            "fetch-controller",
            "-o",
            str(output),
            "--index-url",
            index.url,
            "--cache-dir",
            str(output.parent / f".{output.name}-cache"),
            *args,
        ],
    )


BOOTSTRAP_VERSION = "2.11.99"


def serve_bootstrap(index: FakeIndex, version: str = BOOTSTRAP_VERSION) -> None:
    """The stand-in ansible-core `version` for CPython 3.6 and resolvelib 1.0.1 on `index`."""
    wheel = stand_in_ansible_core(index.root / "files", version, requires_python=">=2.7")
    index.add(wheel, requires_python=">=2.7")
    if not any(f.project == "resolvelib" for f in index.files):
        index.add_wheel("resolvelib", "1.0.1")
