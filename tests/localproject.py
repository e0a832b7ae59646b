"""Tiny local Python projects for the build and fetch tests, buildable without any network.

Each project carries its own PEP 517 backend (`backend-path = ["."]`, `requires = []`), so
`pip wheel` builds it in an isolated environment without downloading setuptools: the tests
exercise the real `pip wheel` path, offline. The backend writes a spec-conformant wheel
(METADATA, WHEEL, RECORD); `tag`/`pure` let a test make a compiled-looking wheel, `fail` a
backend that errors out.
"""

from __future__ import annotations

import json
from pathlib import Path

_BACKEND = '''\
"""In-tree PEP 517 backend of a test project (see tests/localproject.py)."""
import base64
import hashlib
import json
import os
import zipfile

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "project.json")) as f:
    P = json.load(f)


def _record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (name, digest, len(data))


def get_requires_for_build_wheel(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    if P["fail"]:
        raise SystemExit("error: this test project refuses to build")
    dist = P["name"].replace("-", "_")
    info = "%s-%s.dist-info" % (dist, P["version"])
    meta = ["Metadata-Version: 2.1", "Name: " + P["name"], "Version: " + P["version"],
            "Summary: test project " + P["name"], "License: MIT"]
    meta += ["Requires-Dist: " + d for d in P["deps"]]
    if P["requires_python"]:
        meta.append("Requires-Python: " + P["requires_python"])
    wheel = ["Wheel-Version: 1.0", "Generator: localproject", "Tag: " + P["tag"],
             "Root-Is-Purelib: " + ("true" if P["pure"] else "false")]
    files = {
        dist + "/__init__.py": ("VALUE = %r\\n" % P["version"]).encode(),
        info + "/METADATA": ("\\n".join(meta) + "\\n").encode(),
        info + "/WHEEL": ("\\n".join(wheel) + "\\n").encode(),
    }
    record = [_record_line(n, d) for n, d in files.items()] + [info + "/RECORD,,"]
    files[info + "/RECORD"] = ("\\n".join(record) + "\\n").encode()
    filename = "%s-%s-%s.whl" % (dist, P["version"], P["tag"])
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as zf:
        for name, data in files.items():
            zf.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), data)
    return filename
'''


def make_project(
    root: Path,
    name: str = "tinyapp",
    version: str = "0.1.0",
    deps: tuple[str, ...] = (),
    *,
    requires_python: str = ">=3.6",
    tag: str = "py3-none-any",
    pure: bool = True,
    fail: bool = False,
) -> Path:
    """Write a buildable project into `root` (created) and return `root`."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "_backend"\nbackend-path = ["."]\n'
    )
    (root / "_backend.py").write_text(_BACKEND)
    spec = {
        "name": name,
        "version": version,
        "deps": list(deps),
        "requires_python": requires_python,
        "tag": tag,
        "pure": pure,
        "fail": fail,
    }
    (root / "project.json").write_text(json.dumps(spec, indent=1))
    return root
