"""Options shared by several subcommands."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

if TYPE_CHECKING:
    from bundler.kit.trust import Trust
    from bundler.models.target import Target

F = TypeVar("F", bound=Callable[..., Any])

JSON_ERRORS = "bundler.json_errors"
"""`click.Context.meta` key (shared by the whole context chain): the command runs with --json,
so `KitGroup` prints a failure as one JSON object on stderr."""


def json_option(help_text: str) -> Callable[[F], F]:
    """--json (the command receives `as_json`): `help_text` for the output, and errors as one
    JSON object on stderr (`BundlerError.to_dict()`), for tools; exit codes are unchanged."""

    def remember(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
        if value:
            ctx.meta[JSON_ERRORS] = True
        return value

    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        is_eager=True,
        callback=remember,
        help=f"{help_text} Errors are one JSON object on stderr.",
    )


def target_options(func: F) -> F:
    """Add --python/--platform/--abi/--implementation; the command receives `target: Target`."""

    decorators = [
        click.option(
            "--python",
            "python",
            default="3.6",
            show_default=True,
            help="Target Python: X.Y (newest X.Y release) or X.Y.Z.",
        ),
        click.option(
            "--platform",
            "platform",
            default="manylinux1",
            show_default=True,
            help="Target ceiling: manylinux1, manylinux2010, manylinux2014, manylinux_2_N or "
            "linux_x86_64 (older manylinux levels are accepted too).",
        ),
        click.option(
            "--abi",
            default=None,
            help="Target ABI (default from the version: cp36m for 3.6, cp38 for 3.8+).",
        ),
        click.option(
            "--implementation",
            default="cp",
            show_default=True,
            type=click.Choice(["cp"]),
            help="Python implementation.",
        ),
    ]
    for deco in reversed(decorators):
        func = deco(func)
    return func


def make_target(python: str, platform: str, abi: str | None, implementation: str) -> Target:
    """The Target for the shared options (raises UnknownTarget on bad values)."""
    from bundler.models.target import Target

    return Target.from_spec(
        python=python, platform=platform, abi=abi, implementation=implementation
    )


def cache_dir_option(help_text: str) -> Callable[[F], F]:
    """--cache-dir DIRECTORY (default None: the user cache dir, see bundler.fs.cache)."""
    return click.option(
        "--cache-dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=None,
        help=f"{help_text} [default: $XDG_CACHE_HOME/airgap-kit].",
    )


def policy_option(help_text: str) -> Callable[[F], F]:
    """--policy FILE: the policy gate's TOML file; the command receives `policy: Path | None`."""
    return click.option(
        "--policy",
        type=click.Path(path_type=Path, dir_okay=False, exists=True),
        default=None,
        help=help_text,
    )


def one_line(text: str) -> str:
    """`text` with every control, format or line-separator character (Unicode categories Cc,
    Cf, Zl, Zp: newline, ESC, U+202E...) escaped as Python writes it (`\\n`, `\\x1b`), so that
    one problem, note or error is one line and an untrusted name (a zip member, a server's
    answer) cannot fake or hide another line."""
    import unicodedata

    return "".join(
        repr(c)[1:-1] if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in text
    )


@dataclass(frozen=True)
class FreshnessArgs:
    """--min-sequence/--not-before/--state/--allow-downgrade as given (bundler.kit.release)."""

    min_sequence: int | None = None
    not_before: datetime | None = None
    state: Path | None = None
    allow_downgrade: bool = False


def trust_options(func: F) -> F:
    """--key (repeatable), --policy, --as-of, and the freshness options: what the far side
    trusts (bundler.kit.trust). The command receives `keys: tuple[Path, ...]`, `policy: Path |
    None`, `as_of: datetime | None`, `freshness: FreshnessArgs`; `make_trust` turns them into a
    `Trust`."""

    @functools.wraps(func)
    def wrapper(
        *args: Any,
        min_sequence: int | None,
        not_before: datetime | None,
        state: Path | None,
        allow_downgrade: bool,
        **kwargs: Any,
    ) -> Any:
        fresh = FreshnessArgs(min_sequence, not_before, state, allow_downgrade)
        return func(*args, freshness=fresh, **kwargs)

    wrapped: Any = wrapper
    wrapped = click.option(
        "--allow-downgrade",
        is_flag=True,
        help="Accept a kit older than the one --state records (a note instead of a problem); "
        "the state file keeps the newer one.",
    )(wrapped)
    wrapped = click.option(
        "--state",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="State file on this side: a kit older than the last one accepted (recorded here "
        "when a verify passes) is refused; created when missing. Needs --key.",
    )(wrapped)
    wrapped = click.option(
        "--not-before",
        "not_before",
        type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%SZ"]),
        default=None,
        help="Refuse a kit created before this date (YYYY-MM-DD, UTC; kit-release.json).",
    )(wrapped)
    wrapped = click.option(
        "--min-sequence",
        type=click.IntRange(0, 2**63 - 1),
        default=None,
        help="Refuse a kit whose sequence (kit-release.json, pack --sequence) is lower.",
    )(wrapped)
    wrapped = click.option(
        "--as-of",
        "as_of",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        default=None,
        help="Evaluate the policy as of this date (YYYY-MM-DD) [default: today, UTC].",
    )(wrapped)
    wrapped = policy_option(
        "Policy gate: re-evaluate the carried findings offline (licenses, vulnerabilities with "
        "their ignores' expiry, size)."
    )(wrapped)
    return cast(
        F,
        click.option(
            "--key",
            "keys",
            multiple=True,
            type=click.Path(path_type=Path, dir_okay=False, exists=True),
            help="Trusted public key (OpenPGP or minisign): the kit must carry a valid signature "
            "by it (repeatable; any key of a format may have signed).",
        )(wrapped),
    )


def make_trust(
    keys: tuple[Path, ...],
    policy: Path | None,
    as_of: datetime | None,
    freshness: FreshnessArgs = FreshnessArgs(),
) -> Trust:
    """The `Trust` of the --key/--policy/--as-of/freshness options (keys' formats sniffed,
    policy read). BadInput for --state without --key: the state file records a kit only once
    its signature verified against a trusted key, or a forged kit with a huge sequence could
    block every genuine one (TUF keeps only signed, verified metadata as trusted state)."""
    from bundler.errors import BadInput
    from bundler.gate import policy as gate_policy
    from bundler.kit import release, signing
    from bundler.kit.trust import Trust

    if freshness.state is not None and not keys:
        raise BadInput(
            f"--state {freshness.state} needs --key: only a kit whose signature verified against "
            "a trusted key is recorded as the last one accepted"
        )
    not_before = freshness.not_before
    return Trust(
        keys=tuple(signing.load_trusted_key(k) for k in keys),
        policy=gate_policy.load(policy) if policy else None,
        today=as_of.date() if as_of else None,
        freshness=release.Freshness(
            min_sequence=freshness.min_sequence,
            not_before=not_before.replace(tzinfo=timezone.utc) if not_before else None,
            state_file=freshness.state,
            allow_downgrade=freshness.allow_downgrade,
        ),
    )
