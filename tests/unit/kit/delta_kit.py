"""Kit v2 of the HAND-MADE kit inputs (tests/unit/kit/handmade_kit.py), for the delta tests.

`upgrade(inputs)` turns v1's wheelhouse into v2 as a new fetch would: demolib 1.2 -> 1.3 (the
upgrade: a new wheel file, the old one gone) and a new root `extrapkg 0.1` (the extra
package), both recorded in manifest.json and requirements.lock; everything else (demoapp's
wheel, sources, playbooks, Vagrantfile) stays byte for byte.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from bundler.fs import sums
from bundler.kit import pack
from bundler.models import manifest
from bundler.wheelhouse import lockfile
from tests.unit.kit.handmade_kit import make_wheel, pack_inputs

NEW_WHEELS = ("demolib-1.3-cp36-cp36m-manylinux1_x86_64.whl", "extrapkg-0.1-py3-none-any.whl")
"""The wheels v2 has and v1 has not."""


def upgrade(inputs: dict[str, Path]) -> None:
    """v1's wheelhouse -> v2 (see the module docstring)."""
    wh = inputs["wheelhouse"]
    (wh / "demolib-1.2-cp36-cp36m-manylinux1_x86_64.whl").unlink()
    lib = make_wheel(wh, "demolib", "1.3", tag="cp36-cp36m-manylinux1_x86_64")
    extra = make_wheel(wh, "extrapkg", "0.1")
    data = manifest.load(wh)
    packages = [p for p in data["packages"] if p["name"] != "demolib"]
    template = dict(next(p for p in data["packages"] if p["name"] == "demolib"))
    for wheel, name, version, via in (
        (lib, "demolib", "1.3", ["demoapp"]),
        (extra, "extrapkg", "0.1", []),
    ):
        packages.append(
            {
                **template,
                "name": name,
                "version": version,
                "filename": wheel.name,
                "sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(),
                "size": wheel.stat().st_size,
                "url": f"https://files.example.invalid/{wheel.name}",
                "via": via,
            }
        )
    data["packages"] = sorted(packages, key=lambda p: p["name"])
    data["requirements"] = ["demoapp==1.0", "extrapkg==0.1"]
    manifest.save(wh, data)
    lockfile.write(
        wh / "requirements.lock",
        [
            lockfile.LockEntry(p["name"], p["version"], (p["sha256"],), tuple(p["via"]))
            for p in data["packages"]
        ],
    )
    sums.refresh_directory(wh)  # as a fetch writes it


def pack_v1_v2(inputs: dict[str, Path], out: Path) -> tuple[pack.PackResult, pack.PackResult]:
    """Full v1 into out/v1/, then `upgrade` and full v2 into out/full/ (both kit-demo)."""
    v1 = pack_inputs(inputs, out / "v1" / "kit-demo.tar.gz")
    upgrade(inputs)
    v2 = pack_inputs(inputs, out / "full" / "kit-demo.tar.gz")
    return v1, v2
