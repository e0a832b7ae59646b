"""The kit's layout: which paths belong to the kit, and which are the operator's.

An unpacked kit is used in place: its README.txt tells the operator to copy
`playbooks/inventory/hosts.example.ini` to `playbooks/inventory/hosts.ini`, to put variables in
`playbooks/inventory/host_vars/HOST.yml` or `playbooks/inventory/group_vars/GROUP.yml`
(Ansible reads both folders next to the inventory file: "Organizing host and group variables",
docs.ansible.com/ansible/2.16/inventory_guide/intro_inventory.html), and `vagrant validate` /
`vagrant up` in the kit leave `.vagrant/` beside the Vagrantfile (Vagrant's local data path,
developer.hashicorp.com/vagrant/docs/other/environmental-variables#vagrant_dotfile_path).
Those are *operator files*: never packed, never listed in SHA256SUMS; `verify` of an unpacked
kit lists them without failing, and refuses them inside an archive (pack never writes them).
README.txt has the operator write `bundler inspect --html` reports beside the archive, outside
the kit: a review page is not an operator file (a page left in the kit could claim anything).

A wheelhouse holds what its manifest.json lists plus its own files (`WHEELHOUSE_FILES`);
`unaccounted` names anything else, which `pack` refuses and `verify` fails.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from bundler.fs.staging import PART_SUFFIX, PRESERVED, STAGE_MARK
from bundler.models.manifest import Manifest
from bundler.wheelhouse import model

OPERATOR_FILES = ("playbooks/inventory/hosts.ini",)
"""Single files the operator creates (paths relative to the kit's top directory)."""
OPERATOR_DIRS = (
    "playbooks/inventory/host_vars",
    "playbooks/inventory/group_vars",
    ".vagrant",
)
"""Folders whose whole content is the operator's."""


def is_operator_path(rel: str) -> bool:
    """True for a '/'-separated path under the kit's top directory that is an operator file
    (or inside an operator folder), e.g. 'playbooks/inventory/hosts.ini', '.vagrant/x'."""
    parts = PurePosixPath(rel).parts
    if ".." in parts:
        return False
    path = "/".join(parts)
    if path in OPERATOR_FILES:
        return True
    return any(path == d or path.startswith(d + "/") for d in OPERATOR_DIRS)


def operator_entries(paths: set[str] | list[str]) -> list[str]:
    """How `paths` (operator paths) are shown: each operator file, and each operator folder
    once as 'DIR/ (N files)', sorted."""
    shown: dict[str, int] = {}
    for rel in paths:
        folder = next((d for d in OPERATOR_DIRS if rel.startswith(d + "/")), None)
        key = f"{folder}/" if folder else rel
        shown[key] = shown.get(key, 0) + 1
    return [
        f"{key} ({count} file{'s' if count != 1 else ''})" if key.endswith("/") else key
        for key, count in sorted(shown.items())
    ]


WHEELHOUSE_FILES = model.WHEELHOUSE_FILES
"""A wheelhouse's own files besides the files its manifest.json lists: owned by the wheelhouse
model (`bundler.wheelhouse.model`); see docs/DESIGN.md "The wheelhouse"."""


def is_staging_leftover(name: str) -> bool:
    """A name the staging primitive uses inside a folder (a work directory `.X.stage-*`, a
    hidden `.X.*.part` temp file, a mount point's `lost+found`): swept, never a kit file."""
    return (
        name in PRESERVED
        or (name.startswith(".") and STAGE_MARK in name)
        or (name.startswith(".") and name.endswith(PART_SUFFIX))
    )


def unaccounted(wheelhouse: Path, manifest: Manifest) -> list[str]:
    """The entries of `wheelhouse` (top level, sorted; a folder as 'NAME/') that are neither a
    file manifest.json lists nor one of `WHEELHOUSE_FILES` (staging leftovers aside): a stray
    script, a nested kit archive, a folder. OSError propagates (callers map it)."""
    accounted = {p.filename for p in manifest.packages} | set(WHEELHOUSE_FILES)
    found = []
    for entry in os.scandir(wheelhouse):
        if entry.name in accounted and not entry.is_dir(follow_symlinks=False):
            continue
        if is_staging_leftover(entry.name):
            continue
        found.append(entry.name + ("/" if entry.is_dir(follow_symlinks=False) else ""))
    return sorted(found)


def kit_containing(path: Path) -> Path | None:
    """The unpacked kit (a folder with SHA256SUMS and wheelhouse/manifest.json) or the
    wheelhouse (manifest.json and requirements.lock) that a new file at `path` would land in,
    the nearest first; None when neither. A file written there that is not an operator path
    fails `bundler verify` as an extra file."""
    here = Path(os.path.abspath(path)).parent
    for folder in (here, *here.parents):
        if (folder / "SHA256SUMS").is_file() and (folder / "wheelhouse/manifest.json").is_file():
            rel = Path(os.path.abspath(path)).relative_to(folder).as_posix()
            return None if is_operator_path(rel) else folder
        if (folder / "manifest.json").is_file() and (folder / "requirements.lock").is_file():
            return folder
    return None
