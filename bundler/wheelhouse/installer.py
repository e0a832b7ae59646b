"""The target's installer: does its bundled pip read the chosen wheels, and `install.sh`.

CPython 3.6's ensurepip bundles pip 18.1, which only knows manylinux1: a wheelhouse with
manylinux2010/2014 or PEP 600 wheels must carry a newer pip (plus setuptools and wheel) and
install it first. `decide` makes that call from the wheel file names and the `Target`;
`render_install_sh` writes the POSIX sh script that runs on the target host.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.version import Version

from bundler import __version__
from bundler.fs.atomic import atomic_write_text
from bundler.models.target import Target
from bundler.policy.installers import installer_policy
from bundler.resolve.model import Excluded
from bundler.wheelhouse.model import FACTS_CODE

if TYPE_CHECKING:
    import jinja2

BOOTSTRAP_PROJECTS = ("pip", "setuptools", "wheel")
"""What the bootstrap carries: the newest releases of these that support the target Python."""
INSTALL_SH = "install.sh"
REQUIREMENTS_LOCK = "requirements.lock"
BOOTSTRAP_LOCK = "bootstrap.lock"


@dataclass(frozen=True)
class BootstrapDecision:
    """Whether the wheelhouse must bring its own pip, and why."""

    needed: bool
    bundled_pip: str
    min_pip: str
    """The oldest pip that reads every chosen wheel (install.sh skips the bootstrap above it)."""
    unreadable: tuple[str, ...] = ()
    """The wheels the bundled pip would reject."""
    unmatched_names: str = ""
    """Projects whose dependents spell them in ways the bundled pip cannot match to one lock
    line (`bundler.wheelhouse.names.LockNames.describe_conflicts`), '' when none."""

    @property
    def reason(self) -> str:
        if not self.needed:
            return f"the target's bundled pip {self.bundled_pip} reads every chosen wheel"
        what = []
        if self.unreadable:
            shown = ", ".join(self.unreadable[:3]) + (", ..." if len(self.unreadable) > 3 else "")
            what.append(f"cannot install {shown}")
        if self.unmatched_names:
            what.append(f"cannot match the names of {self.unmatched_names}")
        return (
            f"the target's bundled pip {self.bundled_pip} {' and '.join(what)}: "
            f"pip >= {self.min_pip} is bootstrapped from the wheelhouse first"
        )

    def to_dict(self, bootstrap_projects: Sequence[str]) -> dict[str, object]:
        """manifest.json's `installer` section."""
        return {
            "bundled_pip": self.bundled_pip,
            "min_pip": self.min_pip,
            "bootstrap": list(bootstrap_projects) if self.needed else [],
            "reason": self.reason,
        }


def decide(
    target: Target,
    filenames: Iterable[str],
    *,
    names_need: Version | None = None,
    unmatched_names: str = "",
) -> BootstrapDecision:
    """Can `target`'s bundled pip install every wheel in `filenames`?

    `names_need`: the oldest pip that matches the lock's names (`LockNames.min_pip`; None when
    every pip does), with `unmatched_names` saying which projects need it.
    """
    names = sorted(filenames)
    unreadable = tuple(f for f in names if not target.installer_reads(f))
    oldest = min_pip(target, names)
    bundled = Version(target.installer_pip)
    name_problem = names_need is not None and bundled < names_need
    if names_need is not None:
        oldest = max(oldest, names_need)
    return BootstrapDecision(
        needed=bool(unreadable) or name_problem,
        bundled_pip=target.installer_pip,
        min_pip=str(oldest),
        unreadable=unreadable,
        unmatched_names=unmatched_names if name_problem else "",
    )


def bootstrap_possible(target: Target) -> bool:
    """Could any wheel for `target` be one its bundled pip cannot read?"""
    return any(tag not in target.installer_tags for tag in target.tags)


def min_pip(target: Target, filenames: Sequence[str]) -> Version:
    """The oldest pip (of the bundled one and each tag-feature release) reading all `filenames`."""
    features = installer_policy().features.values()
    candidates = sorted({Version(target.installer_pip), *features})
    for pip in candidates:
        probe = dataclasses.replace(target, installer_pip=str(pip))
        if all(probe.installer_reads(f) for f in filenames):
            return pip
    return candidates[-1]


def render_install_sh(
    target: Target,
    decision: BootstrapDecision,
    wheels: Iterable[str],
    *,
    package_count: int,
    excluded: Sequence[Excluded] = (),
    pool: str = ".",
) -> str:
    """The text of install.sh for a wheelhouse holding `wheels` (file names).

    With `excluded` requirements (--exclude, --no-deps) the lock is installed with pip's
    `--no-deps` (only what the lock holds; pip would otherwise look for the excluded
    projects), and `pip check` tolerates exactly the "<parent> <version> requires <name>,
    which is not installed." lines of the excluded (parent, name) pairs -- the wording of
    pip's `commands/check.py`, the same in pip 18.1 and 21.3.1 -- while any other line fails.
    """
    template = _environment().get_template("install.sh.j2")
    tolerated = sorted({f"{e.required_by}:{e.name}" for e in excluded if e.required_by})
    names = sorted(wheels)
    return template.render(
        tool_version=__version__,
        python_short=target.short_version,
        python_full=target.python_version,
        target_line=target.describe(),
        bootstrap=decision.needed,
        min_pip=_version_tuple(decision.min_pip),
        min_pip_text=decision.min_pip,
        wheels=names,
        pip_wheel=pip_wheel(names),
        requirements_lock=REQUIREMENTS_LOCK,
        bootstrap_lock=BOOTSTRAP_LOCK,
        package_count=package_count,
        no_deps=bool(excluded),
        tolerated=tolerated,
        check_filter=PIP_CHECK_FILTER,
        pool=pool,
    )


PICK_SCRIPT = (
    FACTS_CODE
    + """\
version, abi, machine, libc = facts.split(" ")
glibc = tuple(int(p) for p in libc.split(".")) if libc != "-" else None
said = "Python %s (%s, %s, %s)" % (
    version, abi, machine, "glibc " + libc if glibc else "no glibc")
fits, why = [], []
for row in sys.argv[1:]:
    name, xy, abis, arch, need = row.split("|")
    problems = []
    if ".".join(version.split(".")[:2]) != xy:
        problems.append("Python %s, not %s" % (".".join(version.split(".")[:2]), xy))
    if abi not in abis.split(","):
        problems.append("ABI %s, not %s" % (abi, abis.replace(",", "/")))
    if machine != arch:
        problems.append("machine %s, not %s" % (machine, arch))
    if need != "-":
        floor = tuple(int(p) for p in need.split("."))
        if glibc is None or glibc < floor:
            problems.append("glibc %s < %s" % (libc, need))
    if problems:
        why.append("%s: %s" % (name, ", ".join(problems)))
    else:
        fits.append((floor if need != "-" else (0, 0), -len(fits), name))
if not fits:
    print("%s; %s" % (said, "; ".join(why)))
    sys.exit(4)
print("%s %s" % (max(fits)[2], said))
"""
)
"""The picker's Python (3.6 syntax, stdlib): `FACTS_SCRIPT`'s facts, then the rule of
`model.fit_problems` / `model.pick` over the rows 'NAME|X.Y|ABI,ABI|MACHINE|GLIBC' in argv:
prints 'NAME <facts>' (exit 0), or the facts and each target's reasons (exit 4)."""


def render_picker(targets: Sequence[Target]) -> str:
    """The text of a several-target wheelhouse's top install.sh: it runs `PICK_SCRIPT` with
    the interpreter given (`--python`), says which target fits, and runs that target's own
    `targets/NAME/install.sh` with the same arguments; exit 4 when none fits."""
    template = _environment().get_template("install-pick.sh.j2")
    rows = []
    for t in targets:
        need = f"{t.glibc[0]}.{t.glibc[1]}" if t.glibc else "-"
        row = f"{t.name}|{t.short_version}|{','.join(t.abis)}|{t.machine}|{need}"
        rows.append({"name": t.name, "line": t.describe(), "row": row})
    return template.render(tool_version=__version__, targets=rows, facts_and_pick=PICK_SCRIPT)


def pip_wheel(filenames: Iterable[str]) -> str:
    """The pip wheel among `filenames` (the newest by version), or "" when there is none: what
    install.sh runs pip from when the interpreter has none (fetched from the repo server's URL
    with `--find-links`, checked against the lock's hashes)."""
    found = []
    for name in filenames:
        parts = name.split("-")
        if name.endswith(".whl") and len(parts) >= 5 and parts[0] == "pip":
            found.append((Version(parts[1]), name))
    return max(found)[1] if found else ""


PIP_CHECK_FILTER = """\
import re, sys
def canon(name):
    return re.sub(r"[-_.]+", "-", name).lower()
status = int(sys.argv[1])
allowed = set(tuple(pair.split(":", 1)) for pair in sys.argv[2:])
tolerated, bad = [], []
for line in sys.stdin.read().splitlines():
    line = line.strip()
    if not line or line == "No broken requirements found.":
        continue
    m = re.match(r"(\\S+) \\S+ requires (\\S+), which is not installed\\.$", line)
    if m and (canon(m.group(1)), canon(m.group(2))) in allowed:
        tolerated.append(line)
    else:
        bad.append(line)
for line in tolerated:
    print("install.sh: left out on purpose, tolerated: " + line)
for line in bad:
    print(line)
sys.exit(1 if bad or (status != 0 and not tolerated) else 0)
"""
"""Reads `pip check`'s output on stdin; argv: pip check's exit status, then the tolerated
"parent:name" pairs (canonical names). Exit 0 only if every reported problem is a tolerated
missing requirement. Python 3.6 syntax, no quote characters that sh would need escaped."""


def write_install_sh(directory: Path, text: str) -> Path:
    """Atomically write DIR/install.sh, executable."""
    path = directory / INSTALL_SH
    atomic_write_text(path, text, mode=0o755)
    return path


def _version_tuple(version: str) -> str:
    """'19.3' -> '(19, 3)' for the sh script's Python version check."""
    parts = [int(p) for p in Version(version).release[:3]]
    return "(" + ", ".join(str(p) for p in parts) + ("," if len(parts) == 1 else "") + ")"


def _environment() -> jinja2.Environment:
    # jinja2 is imported here, not at the top: the rehearsal (and through it `bundler verify`)
    # reads this module's file names and must not load it (tests/unit/cli/test_imports.py)
    import jinja2

    source = resources.files("bundler").joinpath("templates")
    loader = jinja2.FunctionLoader(lambda name: source.joinpath(name).read_text(encoding="utf-8"))
    env = jinja2.Environment(
        loader=loader,
        autoescape=False,  # a shell script, not HTML: values go through `shquote`
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["shquote"] = shlex.quote
    return env
