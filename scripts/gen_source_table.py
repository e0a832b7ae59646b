#!/usr/bin/env python3
"""Regenerate bundler/data/sources.json from pyenv's python-build definitions.

Source of the facts in the table: the `install_package "NAME" "URL#SHA256"` lines of
pyenv's python-build definitions (`$(pyenv root)/plugins/python-build/share/python-build/`),
which pyenv maintainers copy from python.org / openssl.org release announcements; then the
hand-kept supplement bundler/data/sources_extra.json (versions pyenv does not list, e.g.
openssl 1.1.1w and zlib, each row with its own `_source`, plus `url_templates`) is merged in.
A supplement row never overrides a pyenv row that disagrees with it: that is an error.

Usage: python scripts/gen_source_table.py [PYENV_ROOT]
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

LINE = re.compile(r'install_package\s+"(?P<name>[^"]+)"\s+"(?P<url>[^"#]+)#(?P<sha>[0-9a-f]{64})"')
FINAL = re.compile(r"^(2\.7|3\.\d+)\.\d+$")
PROJECTS = {"Python": "python", "openssl": "openssl", "zlib": "zlib", "readline": "readline"}


def pyenv_root(argv: list[str]) -> Path:
    if len(argv) > 1:
        return Path(argv[1])
    env = os.environ.get("PYENV_ROOT")
    if env:
        return Path(env)
    return Path(subprocess.check_output(["pyenv", "root"], text=True).strip())


def collect(defs: Path) -> dict[str, dict[str, dict[str, dict[str, str]]]]:
    table: dict[str, dict[str, dict[str, dict[str, str]]]] = {p: {} for p in PROJECTS.values()}
    for definition in sorted(defs.iterdir()):
        # only CPython final releases (no -dev, rc, pypy, ...) seed the table
        if not FINAL.match(definition.name):
            continue
        for m in LINE.finditer(definition.read_text()):
            name, url, sha = m["name"], m["url"], m["sha"]
            project, _, version = name.partition("-")
            key = PROJECTS.get(project)
            if key is None or not version:
                continue
            filename = url.rsplit("/", 1)[-1]
            files = table[key].setdefault(version, {})
            files[filename] = {"url": url, "sha256": sha}
    return table


def merge_extra(table: dict[str, dict[str, dict[str, dict[str, str]]]], extra: Path) -> None:
    """Add the supplement's rows (with their `_source`) to `table`; a conflicting hash fails."""
    doc = json.loads(extra.read_text())
    for project, versions in doc.items():
        if project.startswith("_") or project == "url_templates":
            continue
        for version, files in versions.items():
            known = table.setdefault(project, {}).setdefault(version, {})
            for filename, row in files.items():
                if "_source" not in row:
                    raise SystemExit(f"{extra}: {project} {version} {filename} has no _source")
                old = known.get(filename)
                if old and old["sha256"] != row["sha256"]:
                    raise SystemExit(
                        f"{extra}: {filename} sha256 {row['sha256']} disagrees with pyenv's "
                        f"{old['sha256']}"
                    )
                known[filename] = {**(old or {}), **row}


def main(argv: list[str]) -> int:
    defs = pyenv_root(argv) / "plugins" / "python-build" / "share" / "python-build"
    table = collect(defs)
    data = Path(__file__).resolve().parents[1] / "bundler" / "data"
    extra = data / "sources_extra.json"
    merge_extra(table, extra)
    out = data / "sources.json"
    templates = json.loads(extra.read_text())["url_templates"]
    doc = {
        "_source": (
            "pyenv python-build definitions (plugins/python-build/share/python-build/*): "
            "install_package URL#sha256 lines, plus bundler/data/sources_extra.json (rows with "
            "their own _source); regenerate with scripts/gen_source_table.py"
        ),
        **{k: dict(sorted(v.items())) for k, v in table.items()},
        "url_templates": templates,
    }
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n")
    tmp.replace(out)
    counts = ", ".join(f"{k}: {len(v)} versions" for k, v in table.items())
    print(f"wrote {out} ({counts})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
