"""Start-up cost of the CLI, as import sets (never timings): each path imports what it needs.

`bundler --help` imports no subcommand module and no library; `bundler SUB --help` imports only
its own module; a run imports the libraries that subcommand needs. One subprocess (a clean
interpreter) forks once per case, so each case sees exactly what its own path imported.
`fetch --no-audit` loads neither yaml nor pyelftools (the audit is imported when it runs), no
fetch loads jinja2 before it renders install.sh, and none loads requests before it makes a
request (`--offline` never does: `net/connections.py` is imported by the first request);
verify, pack and inspect load neither requests nor the fetch pipeline (`kit.controller` holds
only the policy and `ControllerInfo`; `kit.controller_fetch` the pipeline), and inspect not the
SBOM library (`kit.templates` renders its HTML). benchmarks/PROFILE.md, finding 7.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest

from bundler.cli import COMMANDS, main

REPO = Path(__file__).resolve().parents[3]

HEAVY = ("requests", "resolvelib", "jinja2", "yaml", "elftools", "cyclonedx", "tqdm")
"""Libraries that cost tens of milliseconds each to import (python -X importtime)."""

PROBE = r"""
import json, os, sys
out = {}
for key, args in json.loads(sys.argv[1]).items():
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        code = 0
        try:
            from bundler.cli import main
            main(args, prog_name="bundler")
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        with os.fdopen(w, "w") as pipe:
            json.dump({"modules": sorted(sys.modules), "exit": code}, pipe)
        os._exit(0)
    os.close(w)
    with os.fdopen(r) as pipe:
        out[key] = json.load(pipe)
    os.waitpid(pid, 0)
print(json.dumps(out))
"""


def _case(key: str, args: list[str], needs: set[str], reaches: str, fix: str | None = None) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=fix)] if fix else []
    return pytest.param(key, args, needs, reaches, marks=marks, id=key)


REFUSED = ("--url", "http://127.0.0.1:1/Python-9.9.9.tgz")
"""A download that fails at once (nothing listens on port 1), after its imports."""

EMPTY = "{empty}"
"""Replaced by an empty directory: each run then fails (exit 2) right after its imports."""

CASES = [
    _case("help", ["--help"], set(), "bundler.cli"),
    *(
        _case(f"{name}-help", [name, "--help"], set(), entry.module)
        for name, entry in COMMANDS.items()
    ),
    _case("target", ["target", "--python", "3.6"], set(), "bundler.models.target"),
    _case("audit", ["audit", EMPTY], {"yaml"}, "bundler.audit.report"),  # elftools: first ELF
    _case(
        "fetch",
        ["fetch", "--offline", "--cache-dir", f"{EMPTY}/c", "-o", f"{EMPTY}/o", "x"],
        {"resolvelib", "yaml"},  # jinja2 only to render install.sh, elftools to parse an ELF
        "bundler.wheelhouse.fetch",
    ),
    _case(
        "fetch-no-audit",
        ["fetch", "--offline", "--no-audit", "--cache-dir", f"{EMPTY}/c", "-o", f"{EMPTY}/o", "x"],
        {"resolvelib"},
        "bundler.wheelhouse.fetch",
    ),
    _case("fetch-source", ["fetch-source", "python", "9.9.9"], set(), "bundler.kit.sources"),
    _case(
        "fetch-source-download",
        ["fetch-source", "python", "9.9.9", "--sha256", "0" * 64, "-o", f"{EMPTY}/s", *REFUSED],
        {"requests"},
        "bundler.kit.sources",
    ),
    _case(
        "fetch-controller",
        ["fetch-controller", "--controller-python", "2.7"],  # refused before the audit loads
        {"resolvelib"},
        "bundler.kit.controller_fetch",
    ),
    _case(
        "verify",
        ["verify", EMPTY],
        set(),
        "bundler.kit.verify",
    ),
    _case(
        "unpack",
        ["unpack", EMPTY],
        set(),
        "bundler.kit.unpack",
    ),
    _case(
        "pack",
        ["pack", "--wheelhouse", EMPTY, "-o", f"{EMPTY}/kit-x.tar.gz"],
        {"jinja2", "yaml", "cyclonedx"},
        "bundler.kit.pack",
    ),
    _case(
        "inspect",
        ["inspect", EMPTY],
        {"jinja2", "yaml"},
        "bundler.kit.info",
    ),
]


@pytest.fixture(scope="module")
def probed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """{case key: {"modules": [...], "exit": N}} for every case, from one clean interpreter."""
    empty = tmp_path_factory.mktemp("empty")
    cases = {
        p.values[0]: [str(a).replace(EMPTY, str(empty)) for a in p.values[1]]  # type: ignore[attr-defined]
        for p in CASES
    }
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(cases)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


@pytest.mark.parametrize(("key", "args", "needs", "reaches"), CASES)
def test_each_path_imports_only_what_it_needs(
    probed: dict[str, Any], key: str, args: list[str], needs: set[str], reaches: str
) -> None:
    modules = set(probed[key]["modules"])
    assert reaches in modules, f"{args}: never reached {reaches} (exit {probed[key]['exit']})"
    loaded = {m.split(".")[0] for m in modules} & set(HEAVY)
    assert loaded == needs, f"{args}: imports {sorted(loaded - needs)}, lacks {needs - loaded}"


def test_top_level_help_imports_no_subcommand(probed: dict[str, Any]) -> None:
    ours = {m for m in probed["help"]["modules"] if m.startswith("bundler")}
    assert ours == {"bundler", "bundler.cli", "bundler.cli.options", "bundler.errors"}
    assert probed["help"]["exit"] == 0


def test_command_list_summaries_are_the_docstrings() -> None:
    """COMMANDS' summaries (shown by --help without importing) match each command's own."""
    ctx = click.Context(main)
    for name, entry in COMMANDS.items():
        command = main.get_command(ctx, name)
        assert command is not None
        for limit in (40, 80, 200):
            shown = click.Command(name, help=entry.summary).get_short_help_str(limit)
            assert shown == command.get_short_help_str(limit), name


def test_help_constants_match_the_library() -> None:
    """Values spelled in the CLI so that --help needs no library import."""
    from bundler.audit.report import known_distros
    from bundler.cli import audit_cmd, fetch_cmd, pack_cmd, sources_cmd
    from bundler.index.client import DEFAULT_INDEX
    from bundler.kit import controller, sources

    assert fetch_cmd.PYPI_SIMPLE == DEFAULT_INDEX
    assert sources_cmd.PROJECTS == sources.PROJECTS
    assert audit_cmd.known_distros() == known_distros()
    assert pack_cmd.CONTROLLER_DIR == controller.DEFAULT_DIR
    assert pack_cmd.BOOTSTRAP_DIR == controller.BOOTSTRAP_DIR
