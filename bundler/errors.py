"""The one family of expected failures.

Library code raises these; only the CLI turns them into a message and an exit code:
`BundlerError` (bad input, unreachable index, unsatisfiable pins, ...) is one line on stderr and
exit 2; `CheckFailed` (a verify or a strict audit found problems) is a report and exit 1.
"""

from __future__ import annotations


class BundlerError(Exception):
    """A user-facing error: one clear line, exit status 2."""

    exit_code = 2


class UnknownTarget(BundlerError):
    """The target Python version, platform or ABI is not one the kit knows."""


class RequirementError(BundlerError):
    """A requirement is malformed, names an unknown package, or cannot be satisfied."""


class PackageNotFound(RequirementError):
    """No configured index or find-links source has a project of that name."""


class NoWheelForTarget(RequirementError):
    """A required project has no wheel the target accepts (message: chain, what exists, hint)."""


class ResolutionConflict(RequirementError):
    """The requirements cannot all hold at once (message: each conflicting pin and who asked)."""


class IndexUnavailable(BundlerError):
    """The package index cannot be reached or answered something unusable."""


class HashMismatch(BundlerError):
    """Downloaded or carried bytes do not match the expected sha256."""


class BadInput(BundlerError):
    """A file or directory given on the command line is not what the command needs."""


class CheckFailed(Exception):
    """A check ran and found problems (verify, strict audit): exit status 1.

    `problems` holds one human-readable line per problem, each naming the file concerned.
    """

    exit_code = 1

    def __init__(self, summary: str, problems: list[str]) -> None:
        super().__init__(summary)
        self.summary = summary
        self.problems = problems
