"""A HAND-MADE wheelhouse and kit inputs for the pack/verify/inspect unit tests.

Not produced by `bundler fetch`: two tiny but valid wheels (METADATA with Requires-Dist, WHEEL,
RECORD), a requirements.lock written by bundler.lockfile, a manifest.json written by
bundler.manifest for a real `Target`, a stand-in install.sh, a system-packages.yml, a minimal
playbooks/ tree, a Vagrantfile and a sources/ directory whose "Python-3.6.15.tgz" is a few
bytes of placeholder (added with `bundler.sources.fetch(--from, --sha256)`). The round trip
with a real wheelhouse lives in tests/integration/test_kit_roundtrip.py.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

import yaml

from bundler.fs import sums
from bundler.kit import pack, sources
from bundler.models import manifest
from bundler.models.target import Target
from bundler.wheelhouse import lockfile

TARGET = Target.from_spec("3.6.15", "manylinux1")


def make_wheel(
    directory: Path,
    name: str,
    version: str,
    requires: tuple[str, ...] = (),
    tag: str = "py3-none-any",
) -> Path:
    """A minimal valid wheel `name-version-tag.whl` with one module and the given requirements."""
    directory.mkdir(parents=True, exist_ok=True)
    module = name.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nLicense: MIT\n"
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
    files = {
        f"{module}/__init__.py": f"VERSION = {version!r}\n",
        f"{dist_info}/METADATA": metadata,
        f"{dist_info}/WHEEL": f"Wheel-Version: 1.0\nGenerator: handmade\nRoot-Is-Purelib: true\n"
        f"Tag: {tag}\n",
    }
    record = ""
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record += f"{path},sha256={digest.decode()},{len(text.encode())}\n"
    record += f"{dist_info}/RECORD,,\n"
    files[f"{dist_info}/RECORD"] = record
    wheel = directory / f"{module}-{version}-{tag}.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, text in sorted(files.items()):
            info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
            zf.writestr(info, text)
    return wheel


def handmade_wheelhouse(root: Path) -> Path:
    """root/wheelhouse: demoapp 1.0 -> demolib>=1.0 (cp36m manylinux1), locked and recorded."""
    wh = root / "wheelhouse"
    app = make_wheel(
        wh,
        "demoapp",
        "1.0",
        requires=(
            "demolib>=1.0",
            "only-on-py2; python_version < '3'",
            "only-with-extra; extra == 'gui'",
        ),
    )
    lib = make_wheel(wh, "demolib", "1.2", tag="cp36-cp36m-manylinux1_x86_64")
    packages = []
    for wheel, name, version, via in (
        (app, "demoapp", "1.0", []),
        (lib, "demolib", "1.2", ["demoapp"]),
    ):
        packages.append(
            {
                "name": name,
                "version": version,
                "filename": wheel.name,
                "sha256": sources_sha(wheel),
                "size": wheel.stat().st_size,
                "url": f"https://files.example.invalid/{wheel.name}",
                "role": "app",
                "requires": ["demolib"] if name == "demoapp" else [],
                "via": via,
                "license": "MIT",
                "summary": f"{name} (hand-made test wheel)",
                "built_from": None,
            }
        )
    lockfile.write(
        wh / "requirements.lock",
        [
            lockfile.LockEntry(p["name"], p["version"], (p["sha256"],), tuple(p["via"]))
            for p in packages
        ],
    )
    manifest.save(
        wh,
        {
            "tool": {"name": "airgap-kit", "version": "0.1.0"},
            "target": TARGET.to_dict(),
            "tags": [str(t) for t in TARGET.tags],
            "requirements": ["demoapp==1.0"],
            "installer": {"bundled_pip": "18.1", "bootstrap": [], "reason": "hand-made"},
            "packages": packages,
            "edges": [["demoapp", "demolib"]],
        },
    )
    (wh / "install.sh").write_text("#!/bin/sh\necho 'hand-made stand-in install.sh'\n")
    (wh / "system-packages.yml").write_text(
        yaml.safe_dump(
            {
                "distro": "centos7",
                "system_packages": ["glib2", "libSM"],
                "system_packages_by_family": {"RedHat": ["glib2", "libSM"]},
                "unmapped": [],
                "wheels": {lib.name: {"needs": {"libSM.so.6": "libSM"}, "problems": []}},
            }
        )
    )
    sums.write_directory(wh)  # as fetch does, last
    return wh


def sources_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def handmade_inputs(root: Path, with_python_source: bool = True) -> dict[str, Path]:
    """Everything `pack` takes: wheelhouse, sources, playbooks, Vagrantfile."""
    wh = handmade_wheelhouse(root)
    src = root / "sources"
    src.mkdir()
    # a tarball recorded by fetch-source (a version the table does not know, with --sha256) ...
    zlib = root / "zlib-9.9.tar.gz"
    zlib.write_bytes(b"placeholder, not zlib's source\n" * 10)
    chosen = sources.resolve("zlib", "9.9", sha256=sources_sha(zlib))
    sources.fetch(chosen, src, from_file=zlib)
    if with_python_source:
        # ... and one copied in by hand (no index.json row): a placeholder, not CPython
        (src / "Python-3.6.15.tgz").write_bytes(b"placeholder, not CPython's source\n" * 10)
    playbooks = root / "playbooks"
    (playbooks / "inventory").mkdir(parents=True)
    (playbooks / "site.yml").write_text("---\n- name: Hand-made stand-in.\n  hosts: all\n")
    (playbooks / "inventory" / "hosts.example.ini").write_text("[intranet]\nhost1\n")
    vagrantfile = root / "Vagrantfile"
    vagrantfile.write_text("# hand-made stand-in Vagrantfile\n")
    return {"wheelhouse": wh, "sources": src, "playbooks": playbooks, "vagrantfile": vagrantfile}


def pack_inputs(inputs: dict[str, Path], output: Path, **kwargs: object) -> pack.PackResult:
    """`pack.pack` of everything `handmade_inputs` made, into the archive `output`."""
    split = kwargs.pop("split", None)
    return pack.pack(kit_inputs(inputs, **kwargs), output, split)  # type: ignore[arg-type]


def kit_inputs(inputs: dict[str, Path], **kwargs: object) -> pack.PackInputs:
    """`pack.PackInputs` of everything `handmade_inputs` made (`kwargs`: its other fields)."""
    return pack.PackInputs(
        inputs["wheelhouse"],
        inputs["playbooks"],
        sources_dir=inputs["sources"],
        vagrantfile=inputs["vagrantfile"],
        **kwargs,  # type: ignore[arg-type]
    )
