"""A wheel's member names: what may be inside a wheel the kit carries.

A wheel is a zip archive (PEP 427) whose members install relative to site-packages (or to a
`.data/<scheme>/` directory). A member named with an absolute path or a `..` component, or
stored as a symbolic link (zip `external_attr` high 16 bits = an `st_mode` with `S_IFLNK`,
as Info-ZIP writes it), points outside that root. The installer on the target does not stop
it: pip 18.1 (CPython 3.6's bundled pip; `pip/_internal/utils/misc.py`, `unzip_file`, which
joins each member name to the unpack folder without a containment check) installed a wheel
with the members `../../../../tmp/X` and `/tmp/Y` and wrote both files there (run here
2026-11-30 on CPython 3.6.15, kept by tests/unit/models/test_wheel.py). So the kit refuses
such a wheel wherever one enters it: at fetch time, in `pack` and in `verify`.
"""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

from bundler.errors import BadInput

MAX_SHOWN = 120
"""Characters of a member name shown in a message (an untrusted name may be huge)."""


class UnsafeWheel(BadInput):
    """A wheel holds a member that points outside the install root, or is not a zip.

    `wheel` is the wheel's file name, `member` the offending member name (None when the
    archive itself is unreadable), `reason` what is wrong with it."""

    def __init__(self, wheel: str, member: str | None, reason: str) -> None:
        shown = "" if member is None else f" member {_cut(member)!r}"
        super().__init__(f"{wheel}:{shown} {reason}")
        self.wheel = wheel
        self.member = member
        self.reason = reason


def member_problem(info: zipfile.ZipInfo) -> str | None:
    """Why one zip member must not be in a wheel (None when it may): an absolute name, a
    `..` component, a NUL byte, a backslash-rooted name, or a link, device, fifo or socket
    mode in its `external_attr`."""
    name = info.filename
    if "\x00" in name:
        return "has a NUL byte in its name"
    if name.startswith(("/", "\\")):  # what `PurePosixPath(name).is_absolute()` also says
        return "is an absolute path (it would install outside site-packages)"
    if ".." in name and ".." in name.replace("\\", "/").split("/"):
        # the components `PurePosixPath(...).parts` gives, less the empty and '.' ones it
        # drops: a '..' is one either way (string tests: 11,898 members of a large set in
        # 2.3 ms instead of 48 ms; tests/unit/models/test_wheel.py compares the two)
        return "has a '..' component (it would install outside site-packages)"
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "is a symbolic link"
    if mode and stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        return "is not a regular file or a directory"
    return None


def check_wheel_members(path: Path, name: str | None = None) -> None:
    """Refuse a wheel at `path` with a member that points outside the install root.

    `name` is how messages name the wheel (default: the file name). Raises `UnsafeWheel`
    naming the wheel and the first bad member (`member_problem`), or naming the wheel when
    it is not a readable zip archive; returns None for a safe wheel. Reads only the zip's
    central directory (no member is inflated)."""
    shown = name or path.name
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as exc:
        raise UnsafeWheel(shown, None, f"not a readable wheel ({exc})") from None
    except OSError as exc:
        raise UnsafeWheel(shown, None, f"cannot read ({exc.strerror or exc})") from None
    for info in infos:
        problem = member_problem(info)
        if problem is not None:
            raise UnsafeWheel(shown, info.filename, f"{problem}: refused")


def _cut(text: str) -> str:
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."
