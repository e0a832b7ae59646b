"""What makes a wheel built here byte-reproducible: its timestamp, file modes and umask.

A wheel is a zip: every member carries a date and the file's mode (PEP 427 archives made by
`wheel`'s WheelFile, which writes members in sorted order). Two builds of the same source give
the same bytes when those are fixed, so `build.build_wheel` runs the backend with:

- `SOURCE_DATE_EPOCH` (reproducible-builds.org/specs/source-date-epoch/, honoured by `wheel`'s
  WheelFile for every member's date): the one the caller's environment sets, else, for a
  project directory, the date of the last git commit touching it (`git log -1 --format=%ct`,
  reproducible-builds.org/docs/source-date-epoch/ "use the date of the last commit"), else the
  newest modification time of its files (`newest_mtime`); for an sdist, the newest member
  date inside it (what its author froze).
- modes normalised in the private copy of the project: 0644, or 0755 for files with any
  execute bit, directories 0755 (a checkout's modes follow the user's umask);
- umask 022 for the backend (`with_umask`), so the files it generates (METADATA, RECORD, ...)
  get 0644 whatever the caller's umask is.
"""

from __future__ import annotations

import calendar
import os
import subprocess
import tarfile
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

ZIP_EPOCH = 315532800
"""1980-01-01T00:00:00Z: the oldest date a zip member can carry (the floor for any epoch)."""
UMASK = 0o022


def source_date_epoch(
    source: Path, files: Iterable[Path], environ: Mapping[str, str] | None = None
) -> int:
    """The SOURCE_DATE_EPOCH for building `source` (a project directory whose files are
    `files`, or an sdist): the environment's if set (a valid integer), else the last git commit
    date of the directory, else its newest file; for an sdist, its newest member date."""
    env = os.environ if environ is None else environ
    given = env.get("SOURCE_DATE_EPOCH", "").strip()
    if given.isdigit():
        return max(int(given), ZIP_EPOCH)
    if source.is_file():
        return max(sdist_epoch(source), ZIP_EPOCH)
    committed = git_commit_epoch(source)
    if committed is not None:
        return max(committed, ZIP_EPOCH)
    return max(newest_mtime(files), ZIP_EPOCH)


def git_commit_epoch(directory: Path) -> int | None:
    """Commit time (seconds) of the last commit touching `directory`, if it is in a git work
    tree with such a commit; None otherwise (no git, not a repository, never committed)."""
    try:
        proc = subprocess.run(
            ["git", "-C", str(directory), "log", "-1", "--format=%ct", "--", "."],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    text = proc.stdout.strip()
    return int(text) if proc.returncode == 0 and text.isdigit() else None


def newest_mtime(files: Iterable[Path]) -> int:
    """The newest modification time (whole seconds) among `files` (0 for none)."""
    return max((int(p.stat().st_mtime) for p in files), default=0)


def sdist_epoch(sdist: Path) -> int:
    """The newest member date inside an sdist (.tar.gz or .zip); 0 if it cannot be read (the
    build then fails on its own, naming the file)."""
    try:
        if sdist.name.endswith(".zip"):
            with zipfile.ZipFile(sdist) as zf:
                return max((_zip_time(i.date_time) for i in zf.infolist()), default=0)
        with tarfile.open(sdist) as tar:
            return max((int(m.mtime) for m in tar.getmembers()), default=0)
    except (OSError, tarfile.TarError, zipfile.BadZipFile, ValueError, EOFError):
        return 0


def normalize_modes(root: Path) -> None:
    """Modes of a private copy of a project: directories and files with an execute bit
    0755, other files 0644 (links are left: they are not followed)."""
    for dirpath, dirnames, filenames in os.walk(root):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            path = Path(dirpath) / name
            mode = path.lstat().st_mode
            if path.is_symlink():
                continue
            os.chmod(path, 0o755 if mode & 0o111 else 0o644)
        dirnames.sort()


def with_umask(cmd: list[str]) -> list[str]:
    """`cmd` run under umask 022 (through sh: a preexec_fn is unsafe in a process with
    threads, and fetch runs builds beside its download threads)."""
    return ["sh", "-c", f'umask {UMASK:03o} && exec "$@"', "sh", *cmd]


def _zip_time(date_time: tuple[int, int, int, int, int, int]) -> int:
    return calendar.timegm((*date_time, 0, 0, 0))
