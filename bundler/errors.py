"""The one family of expected failures.

Library code raises these; only the CLI turns them into a message and an exit code:
`BundlerError` (bad input, unreachable index, unsatisfiable pins, ...) is one line on stderr and
exit 2; `CheckFailed` (a verify or a strict audit found problems) is a report and exit 1.

Every error also has a machine-readable form, `to_dict()` (what `--json` prints on stderr):
`{"error": class name, "message": str(error), "exit_code": N, **fields()}`. The resolver's
errors (`PackageNotFound`, `NoWheelForTarget`, `ResolutionConflict`, `NoMatchingVersion`) keep
their data as attributes (package, requirement, chain, versions, hint) and render their one-line
message from them, in the manner of pip-tools' `NoCandidateFound(ireq, candidates_tried)`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

WRITTEN_NOT_REHEARSED = "bundler_written_not_rehearsed"
"""The attribute (a `Path`) a KeyboardInterrupt (Ctrl-C, or SIGTERM raised like it) carries
when it arrived after the new wheelhouse replaced the output, during its rehearsal: the CLI
then says the wheelhouse was written but not rehearsed, not that nothing partial was left
(issue #17 review, D4)."""


class BundlerError(Exception):
    """A user-facing error: one clear line, exit status 2."""

    exit_code = 2

    def fields(self) -> dict[str, Any]:
        """The error's data for tools (JSON-ready); empty for a message-only error."""
        return {}

    def to_dict(self) -> dict[str, Any]:
        """`{"error", "message", "exit_code", **fields()}`: what `--json` prints."""
        return {
            "error": type(self).__name__,
            "message": str(self),
            "exit_code": self.exit_code,
            **self.fields(),
        }


class UnknownTarget(BundlerError):
    """The target Python version, platform or ABI is not one the kit knows."""


class RequirementError(BundlerError):
    """A requirement is malformed, names an unknown package, or cannot be satisfied."""


class ResolutionError(RequirementError):
    """A requirement the resolver cannot meet, with its data.

    - `package`: canonical name of the project concerned (None when several are).
    - `requirement`: the requirement as written (`lib>=2`), when one is concerned.
    - `chain`: who asked for it, root first (`("app", "mid")` for app -> mid -> package);
      empty when the package is itself one of the requirements given. The message says
      "(required by ...)" whenever `package` is set.
    - `versions`: the versions considered, newest first (only those the requirement admits).
    - `hint`: what to try next, or None.
    - `reason`: the core sentence; each subclass renders it with the fields above.

    `str()` is one line built from these fields; `fields()` gives them to tools.
    """

    def __init__(
        self,
        reason: str = "",
        *,
        package: str | None = None,
        requirement: str | None = None,
        chain: Sequence[str] = (),
        versions: Sequence[str] = (),
        hint: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.package = package
        self.requirement = requirement
        self.chain = tuple(chain)
        self.versions = tuple(versions)
        self.hint = hint

    def with_context(self, package: str, chain: Sequence[str]) -> ResolutionError:
        """A copy naming `package` (if not yet named) and who required it."""
        other = copy.copy(self)
        other.package = self.package or package
        other.chain = tuple(chain)
        return other

    def required_by(self) -> str:
        """'app -> mid', or 'your requirements' for a root."""
        return " -> ".join(self.chain) if self.chain else "your requirements"

    def __str__(self) -> str:
        return self.render()

    def render(self) -> str:
        message = self.reason
        if self.package is not None:
            message += f" (required by {self.required_by()})"
        if self.hint:
            message += f"; hint: {self.hint}"
        return message

    def fields(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "requirement": self.requirement,
            "chain": list(self.chain),
            "versions": list(self.versions),
            "hint": self.hint,
        }


class PackageNotFound(ResolutionError):
    """No configured index or find-links source has a project of that name.

    `reason` names the sources asked (the index client's message); the resolver adds
    `package` and `chain` (`with_context`)."""


class NoWheelForTarget(ResolutionError):
    """A required project has no wheel the target accepts.

    Extra data: `target` (described), `what_exists` (version -> 'sdist; wheels for ... on
    ...', for the versions listed), `excluded` (why some versions were left out: yanked,
    requires Python ...). Message: '<req> has no wheel for the target (<target>); required
    by <chain>; what exists: ...; excluded: ...; hint: ...'. A `reason` given explicitly
    (Requires-Python of every release, a compiled sdist) replaces the first part."""

    def __init__(
        self,
        reason: str = "",
        *,
        package: str | None = None,
        requirement: str | None = None,
        chain: Sequence[str] = (),
        versions: Sequence[str] = (),
        hint: str | None = None,
        target: str | None = None,
        what_exists: Mapping[str, str] | None = None,
        excluded: Sequence[str] = (),
    ) -> None:
        super().__init__(
            reason,
            package=package,
            requirement=requirement,
            chain=chain,
            versions=versions,
            hint=hint,
        )
        self.target = target
        self.what_exists = dict(what_exists or {})
        self.excluded = tuple(excluded)

    def render(self) -> str:
        if self.reason:
            return super().render()
        what = self.requirement or self.package
        exists = "; ".join(f"{v} ({d})" for v, d in self.what_exists.items())
        message = (
            f"{what} has no wheel for the target ({self.target}); required by "
            f"{self.required_by()}; what exists: {exists or 'no release matches'}"
        )
        if self.excluded:
            message += f"; excluded: {', '.join(self.excluded)}"
        if self.hint:
            message += f"; hint: {self.hint}"
        return message

    def fields(self) -> dict[str, Any]:
        return {
            **super().fields(),
            "target": self.target,
            "what_exists": dict(self.what_exists),
            "excluded": list(self.excluded),
        }


class NoMatchingVersion(ResolutionError):
    """No release of the project matches the requirement's specifier (or only yanked ones do).

    `versions` are the releases that exist (newest first, pre-releases only when the
    requirement asks for one or nothing else exists); `reason` says which case it is."""

    def render(self) -> str:
        message = super().render()
        if self.versions and not self.hint:
            message += f"; available: {', '.join(self.versions)}"
        return message


class ResolutionConflict(ResolutionError):
    """The requirements cannot all hold at once.

    Extra data: `conflicts`, each `(requirement, required_by)` ('shared<2', 'a 1.0'), sorted.
    Message: 'conflicting requirements for <names>: <req> (from <who>); ...'."""

    def __init__(
        self,
        reason: str = "",
        *,
        package: str | None = None,
        requirement: str | None = None,
        chain: Sequence[str] = (),
        versions: Sequence[str] = (),
        hint: str | None = None,
        conflicts: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(
            reason,
            package=package,
            requirement=requirement,
            chain=chain,
            versions=versions,
            hint=hint,
        )
        self.conflicts = tuple(sorted(set(conflicts)))

    def render(self) -> str:
        message = self.reason
        if self.conflicts:
            parts = "; ".join(f"{req} (from {who})" for req, who in self.conflicts)
            message += f": {parts}"
        if self.hint:
            message += f"; hint: {self.hint}"
        return message

    def fields(self) -> dict[str, Any]:
        return {
            **super().fields(),
            "conflicts": [{"requirement": r, "required_by": w} for r, w in self.conflicts],
        }


class IndexUnavailable(BundlerError):
    """The package index cannot be reached or answered something unusable."""


class BadAnswer(IndexUnavailable):
    """An index or server answer that breaks the rules (a malformed page or entry, a file name
    that is not a plain base name, a redirect off http(s), a body over its size limit): one
    line naming the URL and the entry."""


class MetadataMismatch(BundlerError):
    """A PEP 658 `.metadata` file says something else than the wheel's own METADATA."""


class FilesystemError(BundlerError):
    """An operating-system error on a path the user chose (disk full, read-only, no
    permission, busy, missing): one line naming the path."""

    def __init__(self, message: str, path: str | None = None, errno: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.errno = errno

    def fields(self) -> dict[str, Any]:
        return {"path": self.path, "errno": self.errno}


class HashMismatch(BundlerError):
    """Downloaded or carried bytes do not match the expected sha256.

    Optional data (a `--hash` requirement line): `where` ('FILE:LINE'), `filename`, `expected`
    (the allowed sha256 digests), `got`."""

    def __init__(
        self,
        message: str,
        *,
        where: str | None = None,
        filename: str | None = None,
        expected: Sequence[str] = (),
        got: str | None = None,
    ) -> None:
        super().__init__(message)
        self.where = where
        self.filename = filename
        self.expected = tuple(expected)
        self.got = got

    def fields(self) -> dict[str, Any]:
        if self.where is None:
            return {}
        return {
            "where": self.where,
            "filename": self.filename,
            "expected": list(self.expected),
            "got": self.got,
        }


class BadInput(BundlerError):
    """A file or directory given on the command line is not what the command needs."""


class WrongBase(BadInput):
    """A delta kit given a base (`--onto`) other than the kit it was made from.

    `delta` is the delta archive's name; `expected` and `found` describe the base by
    `name`, `sums_sha256` (its SHA256SUMS) and `archive_sha256` (None where unknown)."""

    def __init__(
        self,
        message: str,
        *,
        delta: str,
        expected: Mapping[str, str | None],
        found: Mapping[str, str | None],
    ) -> None:
        super().__init__(message)
        self.delta = delta
        self.expected = dict(expected)
        self.found = dict(found)

    def fields(self) -> dict[str, Any]:
        return {"delta": self.delta, "expected": self.expected, "found": self.found}


class CheckFailed(Exception):
    """A check ran and found problems (verify, strict audit): exit status 1.

    `problems` holds one human-readable line per problem, each naming the file concerned.
    """

    exit_code = 1

    def __init__(self, summary: str, problems: list[str]) -> None:
        super().__init__(summary)
        self.summary = summary
        self.problems = problems

    def to_dict(self) -> dict[str, Any]:
        """`{"error": "CheckFailed", "message", "exit_code": 1, "problems": [...]}`."""
        return {
            "error": type(self).__name__,
            "message": self.summary,
            "exit_code": self.exit_code,
            "problems": list(self.problems),
        }
