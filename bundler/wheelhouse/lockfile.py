"""requirements.lock: pip-compile's hash-locked format, written and read back.

One entry per chosen file, sorted by name:

    numpy==1.19.5 \\
        --hash=sha256:abc...
        # via opencv-python
    opencv-python==4.2.0.34 \\
        --hash=sha256:def...
        # via
        #   asciivideo
        #   other-root

Every line is one pip 18.1 understands (`pip install --require-hashes -r FILE`): a pinned
requirement, `--hash` options on backslash-continued lines, and comments. Roots carry no `# via`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from bundler.errors import BadInput
from bundler.fs.atomic import atomic_write_text

_HASH_RE = re.compile(r"^--hash=sha256:([0-9a-f]{64})$")
_INDENT = "    "


@dataclass(frozen=True)
class LockEntry:
    """One pinned project: `name==version`, the sha256 of each allowed file, who pulled it in."""

    name: str
    version: str
    hashes: tuple[str, ...]
    via: tuple[str, ...] = ()


def render(entries: Iterable[LockEntry], header: str = "") -> str:
    """The lock file's text: `header` as `#` comment lines, then entries sorted by name."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()] if header else []
    for entry in sorted(entries, key=lambda e: canonicalize_name(e.name)):
        lines.extend(_render_entry(entry))
    return "\n".join(lines) + "\n"


def write(path: Path, entries: Iterable[LockEntry], header: str = "") -> Path:
    """Atomically write the lock file `path`."""
    atomic_write_text(path, render(entries, header))
    return path


def read(path: Path) -> list[LockEntry]:
    """Parse a lock written by `render` (or pip-compile); BadInput naming the file if malformed."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: unreadable lock file ({exc})") from None
    return parse(text, str(path))


def parse(text: str, source: str = "<lock>") -> list[LockEntry]:
    """Parse lock text; `source` names it in errors."""
    chunks = _chunks(text, source)
    entries = [_parse_entry(logical, comments, where) for where, logical, comments in chunks]
    _check_unique(entries, source)
    return entries


def _render_entry(entry: LockEntry) -> list[str]:
    if not entry.hashes:
        raise ValueError(f"lock entry {entry.name} has no hash")
    out = [f"{entry.name}=={entry.version} \\"]
    hashes = [f"{_INDENT}--hash=sha256:{h}" for h in entry.hashes]
    out += [f"{h} \\" for h in hashes[:-1]] + hashes[-1:]
    if len(entry.via) == 1:
        out.append(f"{_INDENT}# via {entry.via[0]}")
    elif entry.via:
        out.append(f"{_INDENT}# via")
        out += [f"{_INDENT}#   {parent}" for parent in entry.via]
    return out


def _chunks(text: str, source: str) -> list[tuple[str, str, list[str]]]:
    """(where, requirement with its options on one line, comment lines after it) per entry.

    Backslash-continued lines are joined; comment lines go to the entry they follow (that is
    where pip-compile writes `# via`); comments before the first entry are the header.
    """
    chunks: list[tuple[str, str, list[str]]] = []
    pending: list[str] = []
    where = source
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not pending:
            if not line:
                continue
            if line.startswith("#"):
                if chunks:
                    chunks[-1][2].append(raw.strip())
                continue
            where = f"{source}:{lineno}"
        line = line.split(" #", 1)[0].rstrip()
        if line.endswith("\\"):
            pending.append(line[:-1].strip())
            continue
        chunks.append((where, " ".join([*pending, line]).strip(), []))
        pending = []
    if pending:
        raise BadInput(f"{where}: the file ends inside a continued line")
    return chunks


def _parse_entry(logical: str, comments: list[str], where: str) -> LockEntry:
    spec, _, rest = logical.partition(" --")
    spec = spec.strip()
    options = ("--" + rest).split() if rest else []
    try:
        req = Requirement(spec)
    except InvalidRequirement as exc:
        raise BadInput(f"{where}: malformed requirement {spec!r} ({exc})") from None
    pins = list(req.specifier)
    if len(pins) != 1 or pins[0].operator != "==" or req.marker or req.url:
        raise BadInput(f"{where}: {spec!r} is not a plain name==version pin")
    hashes = []
    for option in options:
        m = _HASH_RE.match(option)
        if not m:
            raise BadInput(f"{where}: unexpected {option!r} (only --hash=sha256:<64 hex>)")
        hashes.append(m.group(1))
    if not hashes:
        raise BadInput(f"{where}: {spec!r} has no --hash")
    return LockEntry(req.name, pins[0].version, tuple(hashes), _via(comments))


def _via(comments: list[str]) -> tuple[str, ...]:
    """Parents from '# via a' / '# via a, b' / '# via' + '#   a' lines."""
    parents: list[str] = []
    in_via = False
    for comment in comments:
        body = comment.lstrip("#").strip()
        if body.startswith("via"):
            in_via = True
            rest = body[3:].strip()
            parents += [p.strip() for p in rest.split(",") if p.strip()]
        elif in_via and body and comment.startswith("#   "):
            parents.append(body)
        else:
            in_via = False
    return tuple(parents)


def _check_unique(entries: list[LockEntry], source: str) -> None:
    seen: set[str] = set()
    for entry in entries:
        key = canonicalize_name(entry.name)
        if key in seen:
            raise BadInput(f"{source}: {entry.name} is pinned twice")
        seen.add(key)
