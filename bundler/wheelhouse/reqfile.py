"""Requirements as given: command-line arguments and pip requirements files (`-r FILE`).

What a requirements file may hold (the subset of pip's format the kit reads, see pip's
"Requirements File Format" reference and `pip/_internal/req/req_file.py`):

- one PEP 508 requirement per line (markers allowed, direct URLs refused), `#` comments,
  blank lines, backslash continuations;
- `-r FILE` / `--requirement FILE` (relative to the including file; loops refused);
- per-requirement `--hash=sha256:<hex>` options (several per line, on continuation lines too,
  `--hash sha256:<hex>` as well): the requirement's file must match one of them;
- `--require-hashes`.

Hash-checking mode (pip's `--require-hashes` semantics): it is on as soon as any line has a
`--hash` (or a file says `--require-hashes`), and then every requirement -- from the command
line too -- must be pinned with `==`/`===` and carry hashes, and every package the resolution
needs must be one of them (a dependency missing from the file is an error, as in pip). Errors
name the file and line. Other options (`--index-url`, `--find-links`, `-c`, ...) are refused
with the line named: give them on the command line.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from bundler.errors import BadInput, HashMismatch, RequirementError

COMMAND_LINE = "command line"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_HASH_ALGORITHMS = ("sha256", "sha384", "sha512", "md5", "sha1", "sha224")


@dataclass(frozen=True)
class RequirementLine:
    """One requirement with where it was written and the sha256 hashes its file may have."""

    requirement: Requirement
    where: str
    """'FILE:LINE', or 'command line'."""
    hashes: frozenset[str] = frozenset()
    """Allowed sha256 hex digests (empty: not hash-checked)."""

    @property
    def name(self) -> str:
        return canonicalize_name(self.requirement.name)

    @property
    def pinned(self) -> bool:
        """Pinned exactly: one `==X` (no wildcard) or `===X` specifier."""
        specs = list(self.requirement.specifier)
        return len(specs) == 1 and (
            specs[0].operator == "==="
            or (specs[0].operator == "==" and not specs[0].version.endswith(".*"))
        )


@dataclass(frozen=True)
class RequirementSet:
    """Every requirement given, in order, and whether hash-checking mode is on."""

    lines: tuple[RequirementLine, ...]
    require_hashes: bool = False
    """A file said `--require-hashes` (any `--hash` turns the mode on as well)."""

    @property
    def requirements(self) -> list[Requirement]:
        return [line.requirement for line in self.lines]

    @property
    def hash_mode(self) -> bool:
        return self.require_hashes or any(line.hashes for line in self.lines)

    def hashes(self) -> dict[str, frozenset[str]]:
        """Canonical name -> allowed sha256 digests (intersected when a name is listed twice)."""
        out: dict[str, frozenset[str]] = {}
        for line in self.lines:
            if line.hashes:
                known = out.get(line.name)
                out[line.name] = line.hashes if known is None else known & line.hashes
        return out

    def line_for(self, name: str) -> RequirementLine | None:
        key = canonicalize_name(name)
        return next((line for line in self.lines if line.name == key and line.hashes), None)

    def check_hash_mode(self) -> None:
        """pip's --require-hashes rule for the lines themselves: every line pinned with ==
        and hashed. RequirementError naming the first offending line."""
        if not self.hash_mode:
            return
        for line in self.lines:
            if not line.pinned:
                raise RequirementError(
                    f"{line.where}: {line.requirement} is not pinned with ==: in hash-checking "
                    "mode (a line has --hash) every requirement must be pinned with == and "
                    "have --hash (pip --require-hashes)"
                )
            if not line.hashes:
                raise RequirementError(
                    f"{line.where}: {line.requirement} has no --hash: in hash-checking mode "
                    "(another line has --hash) every requirement must have one "
                    "(pip --require-hashes)"
                )

    def check_file(self, name: str, version: str, filename: str, sha256: str) -> None:
        """The chosen file of `name` must match its line's hashes (when it has a line with
        hashes). HashMismatch naming the file, line, expected and got."""
        line = self.line_for(name)
        if line is None or sha256 in line.hashes:
            return
        expected = ", ".join(f"sha256:{h}" for h in sorted(line.hashes))
        raise HashMismatch(
            f"{line.where}: {name}=={version}: {filename} has sha256:{sha256}, expected {expected}",
            where=line.where,
            filename=filename,
            expected=sorted(line.hashes),
            got=sha256,
        )

    def check_listed(self, name: str, required_by: str) -> None:
        """In hash-checking mode, `name` (needed by the resolution) must have a hashed line."""
        if self.hash_mode and self.line_for(name) is None:
            raise RequirementError(
                f"{name} (required by {required_by}) is not listed with --hash: in "
                "hash-checking mode every package needed must be pinned with its hashes "
                "(pip --require-hashes); add it to the requirements file"
            )


def read(requirements: Sequence[str], files: Sequence[Path]) -> RequirementSet:
    """The requirements on the command line and in `-r` files, each checked (PEP 508), with
    the hash-checking rule applied (`RequirementSet.check_hash_mode`)."""
    lines = [RequirementLine(checked(r, COMMAND_LINE), COMMAND_LINE) for r in requirements]
    require_hashes = False
    for path in files:
        more, require = _read_file(Path(path), seen=frozenset())
        lines += more
        require_hashes = require_hashes or require
    result = RequirementSet(tuple(lines), require_hashes)
    result.check_hash_mode()
    return result


def _read_file(path: Path, seen: frozenset[Path]) -> tuple[list[RequirementLine], bool]:
    resolved = path.resolve()
    if resolved in seen:
        raise BadInput(f"{path}: includes itself (-r loop)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read requirements file {path}: {exc}") from None
    out: list[RequirementLine] = []
    require_hashes = False
    for lineno, line in logical_lines(text):
        where = f"{path}:{lineno}"
        if line.startswith("-"):
            name, value = _split_option(line)
            if name in ("-r", "--requirement"):
                if not value:
                    raise BadInput(f"{where}: {name} needs a file name")
                more, require = _read_file(path.parent / value, seen | {resolved})
                out += more
                require_hashes = require_hashes or require
            elif name == "--require-hashes" and not value:
                require_hashes = True
            else:
                raise BadInput(
                    f"{where}: option {name!r} is not supported here "
                    "(give index and find-links options on the command line)"
                )
        else:
            out.append(parse_line(line, where))
    return out, require_hashes


def _split_option(line: str) -> tuple[str, str]:
    """'--requirement=a.txt' / '--requirement a.txt' / '-r a.txt' / '-ra.txt' -> (name, value)."""
    first, _, rest = line.partition(" ")
    if first.startswith("--") and "=" in first:
        name, _, value = first.partition("=")
        return name, f"{value} {rest}".strip()
    if not first.startswith("--") and len(first) > 2:
        return first[:2], f"{first[2:]} {rest}".strip()
    return first, rest.strip()


def parse_line(line: str, where: str) -> RequirementLine:
    """'name[extras] spec ; marker --hash=sha256:X --hash sha256:Y' -> RequirementLine.

    As in pip (`req_file.break_args_options`), the requirement ends at the first word that
    starts with '-'; the rest are per-requirement options."""
    words = line.split()
    cut = next((i for i, w in enumerate(words) if w.startswith("-")), len(words))
    spec = " ".join(words[:cut]).strip()
    try:
        options = shlex.split(" ".join(words[cut:]))
    except ValueError as exc:
        raise BadInput(f"{where}: cannot parse the options of {line!r} ({exc})") from None
    return RequirementLine(checked(spec, where), where, frozenset(_hashes(options, where)))


def _hashes(options: list[str], where: str) -> list[str]:
    hashes: list[str] = []
    words = iter(options)
    for word in words:
        if word == "--hash":
            value = next(words, "")
        elif word.startswith("--hash="):
            value = word[len("--hash=") :]
        else:
            raise BadInput(
                f"{where}: option {word.split('=')[0]!r} is not supported on a requirement "
                "(only --hash=sha256:...)"
            )
        algorithm, _, digest = value.partition(":")
        if algorithm != "sha256" and algorithm in _HASH_ALGORITHMS:
            raise BadInput(f"{where}: --hash={algorithm}:... is not supported (only sha256)")
        if algorithm != "sha256" or not _SHA256.match(digest.lower()):
            raise BadInput(f"{where}: malformed --hash {value!r} (expected sha256:<64 hex>)")
        hashes.append(digest.lower())
    return hashes


def logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, logical line) without comments, blank lines and backslash continuations
    (a comment starts at '#' at the start of a line or after whitespace, as in pip)."""
    pending = ""
    start = 0
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = re.sub(r"(^|\s+)#.*$", "", raw).strip()
        if not pending:
            start = lineno
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        if full:
            yield start, full
    if pending.strip():
        yield start, pending.strip()


def checked(text: str, where: str) -> Requirement:
    """`text` parsed as a PEP 508 requirement; RequirementError naming `where` if malformed
    or a direct URL."""
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "invalid"
        raise RequirementError(f"malformed requirement {text!r} ({where}): {reason}") from None
    if req.url:
        raise RequirementError(
            f"{text!r} ({where}): direct URL requirements are not supported; "
            "use --find-links for local files"
        )
    return req
