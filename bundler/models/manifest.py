"""manifest.json: the machine-readable record of a wheelhouse (schema-versioned).

Layout (schema_version 1), written by `bundler fetch`, extended by `bundler audit`:

    {
      "schema": "airgap-kit/manifest", "schema_version": 1,
      "tool": {"name": "airgap-kit", "version": "0.1.0"},
      "target": Target.to_dict(),                  # python_version, abis, platforms, ...
      "tags": ["cp36-cp36m-manylinux_2_5_x86_64", ...],   # ordered, most preferred first
      "requirements": ["asciivideo==0.1.0"],       # the roots as given
      "installer": {"bundled_pip": "18.1", "bootstrap": ["pip", "setuptools", "wheel"] | [],
                    "reason": "..."},
      "packages": [                                # one per chosen file, sorted by name
        {"name": "numpy", "version": "1.19.5", "filename": "...whl", "sha256": "...",
         "size": 123, "url": "https://..." | null (built here), "role": "app" | "bootstrap",
         "requires": ["..."], "via": ["opencv-python"], "license": "BSD" | null,
         "summary": "...", "built_from": null | "sdist filename (--build-pure / local project)",
         "yanked": null | "reason"}                # a yanked release pinned with == (PEP 592)
      ],
      "edges": [["opencv-python", "numpy"], ...],  # parent -> child, names canonicalised
      "excluded": [                                # left out on purpose (--exclude, --no-deps)
        {"name": "mysqlclient", "specifier": ">=1.3.8", "required_by": "flask-mysqldb" | null,
         "reason": "--exclude" | "--no-deps"}
      ],
      "audit": {...}                               # added by `bundler audit` (see audit.py)
    }
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bundler.errors import BadInput
from bundler.fs.atomic import atomic_write_text

FILENAME = "manifest.json"
SCHEMA = "airgap-kit/manifest"
SCHEMA_VERSION = 1


def load(directory: Path) -> dict[str, Any]:
    """Read and sanity-check DIR/manifest.json; BadInput naming the file if unusable."""
    path = directory / FILENAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"{directory} is not a wheelhouse: {FILENAME} is missing") from None
    except (OSError, ValueError) as exc:
        raise BadInput(f"{path}: unreadable manifest ({exc})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise BadInput(f"{path}: not an airgap-kit manifest")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise BadInput(
            f"{path}: manifest schema_version {data.get('schema_version')!r} is not "
            f"{SCHEMA_VERSION} (made by another version of the kit)"
        )
    return data


def dumps(data: dict[str, Any]) -> str:
    """Canonical text: sorted keys, 2-space indent, trailing newline (stable across runs)."""
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def save(directory: Path, data: dict[str, Any]) -> Path:
    """Atomically (re)write DIR/manifest.json."""
    data = {**data, "schema": SCHEMA, "schema_version": SCHEMA_VERSION}
    path = directory / FILENAME
    atomic_write_text(path, dumps(data))
    return path


def update(directory: Path, key: str, value: Any) -> Path:
    """Set one top-level section (e.g. 'audit') of an existing manifest, atomically."""
    data = load(directory)
    data[key] = value
    return save(directory, data)
