"""Check the audit's member-name rule (`bundler.audit.members.may_be_elf`) on every wheel found.

For each wheel under the given directories (default: this user's pip, uv and airgap-kit caches;
a content-addressed blob counts when it is a zip holding a `.dist-info/`), every member of at
least 16 bytes is opened and magic-checked, and the result compared with what the rule opens.
Printed: wheels, members, members the rule opens, ELF objects, ELF objects the rule misses
(with their names: each one is a hole in the rule), and the CPU seconds of the two scans
(magic check only, no parsing). Nothing is asserted; the tests are
tests/unit/audit/test_members.py and tests/e2e/test_audit_real.py.

    .venv/bin/python benchmarks/audit_members.py [DIR ...]
"""

from __future__ import annotations

import argparse
import os
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

from bundler.audit.elf import is_elf
from bundler.audit.members import MIN_ELF_BYTES, may_be_elf

DEFAULT_DIRS = [
    Path.home() / ".cache" / "pip",
    Path.home() / ".cache" / "uv",
    Path.home() / ".cache" / "airgap-kit",
    Path.home() / ".cache" / "airgap-kit-bench",
]


def wheels(dirs: list[Path]) -> Iterator[Path]:
    """Each distinct wheel (by file name and size, or blob name) under `dirs`."""
    seen: set[tuple[str, int]] = set()
    for top in dirs:
        for root, _dirs, files in os.walk(top):
            for name in files:
                path = Path(root) / name
                try:
                    key = (name, path.stat().st_size)
                except OSError:
                    continue
                if key in seen or not (name.endswith(".whl") or _is_wheel_blob(path)):
                    continue
                seen.add(key)
                yield path


def _is_wheel_blob(path: Path) -> bool:
    if "blobs" not in path.parts or not zipfile.is_zipfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            return any(".dist-info/" in n for n in archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def scan(path: Path, every: bool) -> tuple[int, int, set[str]]:
    """(members, members opened, ELF member names)."""
    found: set[str] = set()
    opened = total = 0
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if info.is_dir() or info.file_size < MIN_ELF_BYTES:
                continue
            total += 1
            if not every and not may_be_elf(info.filename):
                continue
            opened += 1
            with archive.open(info) as member:
                if is_elf(member.read(4)):
                    found.add(info.filename)
    return total, opened, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="*", type=Path, default=DEFAULT_DIRS)
    args = parser.parse_args()
    count = members = opened = elf = 0
    missed: list[str] = []
    cpu = {True: 0.0, False: 0.0}
    for path in wheels(args.dirs):
        try:
            results = {}
            for every in (True, False):
                start = time.process_time()
                results[every] = scan(path, every)
                cpu[every] += time.process_time() - start
        except (OSError, zipfile.BadZipFile, EOFError, NotImplementedError) as exc:
            print(f"  skipped {path}: {exc}")
            continue
        total, _, everything = results[True]
        _, chosen, by_rule = results[False]
        count += 1
        members += total
        opened += chosen
        elf += len(everything)
        missed += [f"{path.name}: {m}" for m in sorted(everything - by_rule)]
    print(f"wheels: {count}; members (>= {MIN_ELF_BYTES} bytes): {members}")
    print(f"members the rule opens: {opened} ({opened / max(members, 1):.1%})")
    print(f"ELF objects (every member opened): {elf}; missed by the rule: {len(missed)}")
    for line in missed:
        print(f"  MISSED {line}")
    print(f"CPU s, magic check only: every member {cpu[True]:.2f}, the rule {cpu[False]:.2f}")


if __name__ == "__main__":
    main()
