"""The install rehearsal: install a wheelhouse the way the target will, offline, then import it.

`rehearse(wheelhouse, python)`:
1. a throwaway venv made by `python` (its ensurepip: the target's own bundled pip);
2. `sh install.sh --python PYTHON --venv VENV` with no network: inside `unshare -n` when this
   machine allows it, otherwise with a `sitecustomize.py` in the venv that refuses every
   non-Unix socket connection (install.sh runs Python with -I, which still imports site);
3. `import` of every module each application wheel installs (`importable_modules`: decided
   from the wheel's files, a namespace package's own sub-packages; `top_level.txt` is only a
   hint), one line of result per module: the pure wheels' modules in one interpreter, each
   wheel with ELF objects in an interpreter of its own (a library it finds only because
   another wheel loaded it first would be missing on the target);
4. the venv removed, whatever happened: each step runs in a process group of its own, killed
   whole on a timeout, Ctrl-C or SIGTERM before the removal. What a SIGKILLed run leaves (no
   code of its own runs) the next rehearsal on this machine removes (`sweep`): its work dir
   records its owner (`owner`: pid and start time) and stays locked while the owner or any
   step it started lives.

Step 1 does not depend on the wheelhouse: `ThrowawayVenv(python)` starts it in the background
(bundler fetch does, while it resolves and downloads) and `rehearse(..., prepared=)` takes it.
In the rehearsal only, install.sh's pip runs with `PIP_COMPILE=0` (pip's `--compile` option set
from the environment: no bytecode written at install; install.sh unsets only the PIP_ variables
that choose what is installed, and on hosts runs as it always did): pip ignores a file that
does not compile (`compileall` with its result unread), so skipping it changes no verdict, and
the imports compile what they load.

With a `cache` (bundler fetch passes its own), a rehearsal that passed is remembered under a
digest of everything it read (`inputs_digest`: the wheelhouse's SHA256SUMS, which lists
install.sh, the locks, the manifest and every wheel by sha256; the interpreter's real path,
the sha256 of its binary, its version and bundled pip; this host's `/etc/ld.so.cache`, which
changes when a system library is added or removed; how the network is cut; this module's own
code) and the next identical rehearsal is answered from it (`Rehearsal.reused`). A failed
rehearsal is never remembered: it runs again.

Each failure is a problem line naming the wheel (what `bundler verify --rehearse` reports with
exit 1). A failure can come from this machine rather than the wheelhouse (a system library the
target gets from system-packages.yml but this host lacks): the line says which library.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bundler.errors import BadInput
from bundler.fs.cache import Cache
from bundler.fs.hashing import sha256_file
from bundler.fs.sums import FILENAME as SUMS
from bundler.models import manifest as manifest_mod
from bundler.wheelhouse import model
from bundler.wheelhouse.installer import INSTALL_SH

TIMEOUT = 1800.0
"""Seconds install.sh or the imports may take before the rehearsal gives up."""
_WORK_PREFIX = "airgap-kit-rehearse-"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MISSING_LIB = re.compile(r"(lib[^\s:]+\.so[.\d]*): cannot open shared object file")
_BLOCK_NETWORK = '''\
"""airgap-kit rehearsal: no network (installed by bundler verify --rehearse)."""
import socket

_connect = socket.socket.connect


def _refuse(self, address):
    if self.family != socket.AF_UNIX:
        raise OSError(101, "network blocked by the airgap-kit rehearsal")
    return _connect(self, address)


socket.socket.connect = _refuse
'''
_IMPORTER = r"""
import importlib, json, sys, traceback
for line in sys.stdin:
    wheel, module = json.loads(line)
    print(json.dumps(["begin", wheel, module]), flush=True)
    try:
        importlib.import_module(module)
    except BaseException as exc:
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()
        print(json.dumps(["fail", wheel, module, text[-1] if text else repr(exc)]), flush=True)
    else:
        print(json.dumps(["ok", wheel, module]), flush=True)
"""


@dataclass
class Rehearsal:
    """What a rehearsal did: the imports that worked, and every problem (one line each)."""

    python: Path
    offline: str
    """How the network was cut: 'unshare -n' or 'sitecustomize'."""
    imported: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    not_imported: list[str] = field(default_factory=list)
    """Wheels not imported because they need, directly or through other wheels, a requirement
    the manifest records as excluded (`--exclude`, `--no-deps`: installed by other means)."""
    reused: bool = False
    """True when this is a passed rehearsal of identical inputs remembered in the cache."""
    skipped: str = ""
    """Why nothing was rehearsed: the interpreter does not fit the wheelhouse's target
    (`misfit`); '' when the rehearsal ran."""


def unshare_works() -> bool:
    """True when `unshare -n` can run a command here (root, or user namespaces allowed)."""
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False)
    return probe.returncode == 0


def interpreter(python: Path) -> model.Interpreter:
    """What `python` reports of itself for picking a target (`model.FACTS_SCRIPT`); BadInput
    when it does not run."""
    try:
        done = subprocess.run(
            [str(python), "-I", "-c", model.FACTS_SCRIPT],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BadInput(f"--rehearse {python}: does not run ({exc})") from None
    if done.returncode != 0:
        raise BadInput(f"--rehearse {python}: does not run as a Python interpreter")
    return model.Interpreter.parse(done.stdout)


def target_folder(wheelhouse: Path, python: Path) -> Path:
    """Where to rehearse `python`'s install: the wheelhouse itself, or the folder of the
    target of a several-target wheelhouse that fits it (`model.pick`: NoTargetFits names each
    target and why)."""
    found = model.open_wheelhouse(wheelhouse)
    if not found.several:
        return wheelhouse
    chosen = model.pick([v.target for v in found.targets], interpreter(python))
    return next(v.folder for v in found.targets if v.target == chosen)


def misfit(folder: Path, python: Path) -> str:
    """Why `python` cannot rehearse the one-target wheelhouse (or target folder) `folder`: the
    test install.sh applies (`model.fit_problems`: X.Y, ABI, machine, glibc), e.g. 'Python
    3.6.15 (cp36m, x86_64, glibc 2.36) does not fit cp36-cp36dm-manylinux1_x86_64: ABI cp36m,
    not cp36dm'; '' when it fits, or for a several-target top (install.sh picks there).
    BadInput when `python` does not run, BadManifest for an unreadable manifest."""
    found = manifest_mod.read_any(folder)
    if not isinstance(found, manifest_mod.Manifest):
        return ""
    facts = interpreter(python)
    problems = model.fit_problems(found.target, facts)
    if not problems:
        return ""
    return f"{facts.describe()} does not fit {found.target.name}: {', '.join(problems)}"


@functools.cache
def python_version(python: Path) -> str:
    """The X.Y `python` reports ('3.6'); BadInput when it does not run. Asked once per path
    in a process (a fetch checks each --rehearse before any download and matches it to its
    target at the end: one subprocess, not two)."""
    try:
        done = subprocess.run(
            [str(python), "-I", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BadInput(f"--rehearse {python}: does not run ({exc})") from None
    if done.returncode != 0:
        raise BadInput(f"--rehearse {python}: does not run as a Python interpreter")
    return done.stdout.strip()


OWNER = "owner"
"""The file in a work dir that names the process that made it, `PID START\n` (START: the
process's start time in clock ticks after boot, field 22 of /proc/PID/stat, proc(5), so that a
reused pid is not taken for the owner), and that the owner holds an exclusive `flock` on, with
every step it starts (inherited: `pass_fds`) until the work dir is removed."""


def sweep(directory: Path) -> list[Path]:
    """Remove the rehearsal work dirs (`airgap-kit-rehearse-*`) in `directory` that killed runs
    left: those of this user whose `OWNER` names a process that is gone, and whose lock no
    process (a step the dead owner started, still running as an orphan) holds. A work dir
    without a readable `OWNER` (one being made, or made by a kit before 2026-12-01) is never
    touched. Returns what was removed; OSError is not raised (a sweep is a courtesy)."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        with contextlib.suppress(OSError):
            if (
                entry.name.startswith(_WORK_PREFIX)
                and entry.is_dir(follow_symlinks=False)
                and entry.stat(follow_symlinks=False).st_uid == os.getuid()
                and _remove_abandoned(Path(entry.path))
            ):
                removed.append(Path(entry.path))
    return removed


def _remove_abandoned(work: Path) -> bool:
    """Remove `work` if its owner is dead and nothing holds its lock; whether it was removed."""
    owner = _read_owner(work / OWNER)
    if owner is None or _process_start(owner[0]) == owner[1]:
        return False  # no record, or the owner lives
    try:
        fd = os.open(work / OWNER, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # a step of the dead run still runs: it would write into it again
        shutil.rmtree(work, ignore_errors=True)
        return not work.exists()
    finally:
        os.close(fd)


def _read_owner(path: Path) -> tuple[int, str] | None:
    """(pid, start time) from an `OWNER` file; None for anything else."""
    try:
        pid, start = path.read_text(encoding="ascii").split()
        return int(pid), start
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def _process_start(pid: int) -> str | None:
    """Process `pid`'s start time (clock ticks after boot, /proc/PID/stat field 22; proc(5)),
    or None when no such process exists."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # after the command name, which may hold spaces
    return fields[19] if len(fields) > 19 else None


def _claim(work: Path) -> int:
    """Write `work`'s `OWNER` record of this process and lock it; the locked file descriptor."""
    fd = os.open(work / OWNER, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, f"{os.getpid()} {_process_start(os.getpid())}\n".encode("ascii"))
    except BaseException:
        os.close(fd)
        raise
    return fd


_HELD: dict[Path, int] = {}
"""Work dir -> the locked `OWNER` descriptor its steps inherit (`_start`)."""


class ThrowawayVenv:
    """Step 1 of a rehearsal, started now in the background: `python -I -m venv` (its
    ensurepip: the target's own bundled pip) into a fresh work dir (`airgap-kit-rehearse-*`
    under TMPDIR), in a process group of its own. `rehearse(..., prepared=)` waits for it and
    uses it; `close()` kills the group if it still runs, reaps it and removes the work dir
    (idempotent; also what a rehearsal does when it ends, and what a fetch that fails or is
    interrupted does). The work dir records its owner (`OWNER`) and what SIGKILLed runs left
    in the same temp dir is swept first (`sweep`). OSError from the work dir's creation is
    raised; an interpreter that does not start is reported by `made()` like a failed venv."""

    def __init__(self, python: Path) -> None:
        self.python = Path(python)
        self.work = Path(tempfile.mkdtemp(prefix=_WORK_PREFIX))
        self.venv = self.work / "venv"
        self._done: subprocess.CompletedProcess[str] | None = None
        try:
            _HELD[self.work] = _claim(self.work)
            sweep(self.work.parent)
            (self.work / "tmp").mkdir()
            self._step = _start([str(self.python), "-I", "-m", "venv", str(self.venv)], self.work)
        except BaseException:
            self._remove()
            raise

    def made(self) -> subprocess.CompletedProcess[str]:
        """Wait for the venv (at most TIMEOUT seconds; then the group is killed, exit 124)."""
        if self._done is None:
            self._done = self._step.finish()
        return self._done

    def close(self) -> None:
        """Kill what still runs of the venv's creation and remove the work dir."""
        self._step.kill()
        self._remove()

    def _remove(self) -> None:
        """Remove the work dir, then give up its lock (a sweep meanwhile sees it held)."""
        shutil.rmtree(self.work, ignore_errors=True)
        fd = _HELD.pop(self.work, None)
        if fd is not None:
            os.close(fd)

    def __enter__(self) -> ThrowawayVenv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def rehearse(
    wheelhouse: Path,
    python: Path,
    *,
    prefix: str = "",
    cache: Cache | None = None,
    prepared: ThrowawayVenv | None = None,
) -> Rehearsal:
    """Rehearse the install of `wheelhouse` with the interpreter `python` (see the module
    docstring). `prefix` goes before each problem's file name ('wheelhouse/' in a kit).
    `cache`: answer from a passed rehearsal of identical inputs, remember a passed one.
    `prepared`: step 1 already started for `python` (closed here whatever happens; one made
    by another interpreter is closed unused). Raises BadInput when `python` does not run or
    the wheelhouse has no install.sh."""
    python = Path(python)
    with contextlib.ExitStack() as stack:
        if prepared is not None:
            stack.callback(prepared.close)
            if prepared.python != python:
                prepared.close()
                prepared = None
        if not (wheelhouse / INSTALL_SH).is_file():
            raise BadInput(f"{wheelhouse}: no {INSTALL_SH} to rehearse")
        if shutil.which(str(python)) is None and not python.is_file():
            raise BadInput(f"--rehearse {python}: no such interpreter")
        isolate = ["unshare", "-n"] if unshare_works() else []
        offline = "unshare -n" if isolate else "sitecustomize"
        why = misfit(wheelhouse, python)
        if why:
            return Rehearsal(python, offline, skipped=why)
        key = inputs_digest(wheelhouse, python, offline, prefix) if cache is not None else None
        if cache is not None and key is not None:
            known = _remembered(cache.get_facts(_FACTS, key), python, offline)
            if known is not None:
                return known
        venv = stack.enter_context(prepared or ThrowawayVenv(python))
        result = _rehearse(wheelhouse, venv, prefix, isolate, Rehearsal(python, offline))
    if cache is not None and key is not None and not result.problems:
        cache.put_facts(_FACTS, key, _facts(result))
    return result


def remembered_any(cache: Cache) -> bool:
    """Whether `cache` holds any passed rehearsal (a cache that never rehearsed cannot answer
    one: bundler fetch then starts step 1 at once)."""
    return cache.has_facts(_FACTS)


_PROBE = "import sys, ensurepip; print(sys.version); print(ensurepip.version())"
_FACTS = "rehearsal"
"""The cache's facts kind for passed rehearsals (bundler.fs.cache.Cache.put_facts)."""


def inputs_digest(wheelhouse: Path, python: Path, offline: str, prefix: str = "") -> str | None:
    """sha256 (hex) of everything a rehearsal of `wheelhouse` with `python` reads (see the
    module docstring), or None when part of it cannot be read (then nothing is remembered):
    no SHA256SUMS in the wheelhouse, or an interpreter that does not answer. A target folder
    of a several-target wheelhouse (`targets/NAME/`) is keyed by the SHA256SUMS at the
    wheelhouse's top (its manifest's `pool`), which lists every file of every target, and by
    the folder's path below it."""
    root = _pool_root(wheelhouse)
    sums = root / SUMS
    binary = Path(shutil.which(str(python)) or python).resolve()
    if not sums.is_file() or not binary.is_file():
        return None
    probe = subprocess.run(
        [str(python), "-I", "-c", _PROBE], capture_output=True, text=True, check=False, timeout=60
    )
    if probe.returncode != 0:
        return None
    ld_cache = Path("/etc/ld.so.cache")
    parts = [
        "airgap-kit rehearsal 1",
        sha256_file(Path(__file__)),
        sha256_file(sums),
        str(binary),
        sha256_file(binary),
        probe.stdout,
        sha256_file(ld_cache) if ld_cache.is_file() else "no ld.so.cache",
        offline,
        prefix,
        wheelhouse.resolve().relative_to(root).as_posix(),
    ]
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def _pool_root(folder: Path) -> Path:
    """The top of the wheelhouse `folder` belongs to: `folder` itself, or, for a target
    folder, where its manifest's `pool` points (kept only when `folder` lies inside it)."""
    folder = folder.resolve()
    try:
        pool = str(manifest_mod.load(folder).get("pool", "."))
    except (BadInput, AttributeError):
        return folder
    root = (folder / pool).resolve()
    return root if folder.is_relative_to(root) else folder


def _facts(result: Rehearsal) -> dict[str, Any]:
    return {
        "python": str(result.python),
        "offline": result.offline,
        "imported": list(result.imported),
        "not_imported": list(result.not_imported),
    }


def _remembered(facts: Any, python: Path, offline: str) -> Rehearsal | None:
    """A remembered passed rehearsal, or None for anything that is not one (a miss)."""
    if not isinstance(facts, dict) or facts.get("offline") != offline:
        return None
    lists = [facts.get("imported"), facts.get("not_imported")]
    if not all(isinstance(x, list) and all(isinstance(i, str) for i in x) for x in lists):
        return None
    return Rehearsal(python, offline, list(lists[0] or []), [], list(lists[1] or []), True)


def _rehearse(
    wheelhouse: Path, prepared: ThrowawayVenv, prefix: str, isolate: list[str], result: Rehearsal
) -> Rehearsal:
    """Steps 2 and 3 in `prepared`'s venv (its caller closes it)."""
    python, work, venv = prepared.python, prepared.work, prepared.venv
    made = prepared.made()
    if made.returncode != 0:
        raise BadInput(f"--rehearse {python}: cannot create a venv ({_last_line(made)})")
    if not isolate:
        _install_network_block(venv)
    install = _run(
        [*isolate, "sh", str(wheelhouse / INSTALL_SH), "--python", str(python),
         "--venv", str(venv)],
        work,
        env=_REHEARSAL_PIP,
    )  # fmt: skip
    if install.returncode != 0:
        result.problems.append(
            f"{prefix}{INSTALL_SH}: the rehearsal's install failed "
            f"(exit {install.returncode}): {_last_line(install)}"
        )
        return result
    _imports(wheelhouse, venv, isolate, prefix, result)
    return result


_REHEARSAL_PIP = {"PIP_COMPILE": "0"}
"""pip settings of the rehearsal's install only (see the module docstring): `--compile`'s
destination set false through its environment variable, which pip reads for every option
(https://pip.pypa.io/en/stable/topics/configuration/#environment-variables; the same in pip
18.1, CPython 3.6.15's bundled pip, whose `--compile` is a store_true option with default True).
Measured 2026-12-01 on the small 3.6 set: install.sh 2.1-2.4 s CPU with compiling, 1.3-1.4 s
without (benchmarks/PROFILE.md, phase 4)."""


def importable_modules(wheel: Path) -> list[str]:
    """The modules a wheel's install makes importable, decided from the files it installs
    (its RECORD: the zip's members, `NAME.data/purelib|platlib/` mapped to site-packages):
    each top-level `NAME/__init__.py` package, `NAME.py` module and `NAME*.so` extension; for a
    namespace package (a folder without `__init__.py`, PEP 420, or a pkgutil/pkg_resources one
    named in `namespace_packages.txt` or whose `__init__.py` calls `extend_path` /
    `declare_namespace`) the first level below it that is a package or module, so that the
    distribution's own code is imported, not only the shared namespace. `top_level.txt` is only
    a hint (setuptools lists `_openssl` for cryptography < 40 whose module lives in
    `cryptography/hazmat/bindings/`) and is not read. A test suite the wheel ships beside its
    code (a package or module named `tests` or `test`, e.g. matplotlib 3.3.4's
    `mpl_toolkits.tests`, whose import raises OSError by design when the test images are not
    installed) is left out unless it is all the wheel installs: the application never imports
    it. Dotted names, sorted; raises BadInput for an unreadable wheel."""
    try:
        with zipfile.ZipFile(wheel) as zf:
            files = [f for f in (_installed_path(n) for n in zf.namelist()) if f]
            declared = _declared_namespaces(zf)
            inits = {
                f: zf.read(m)
                for m in zf.namelist()
                for f in [_installed_path(m)]
                if f.endswith("/__init__.py") and f.count("/") <= _NAMESPACE_DEPTH
            }
    except (OSError, zipfile.BadZipFile, KeyError) as exc:
        raise BadInput(f"{wheel.name}: not a readable wheel ({exc})") from None
    modules = _Tree(files, inits, declared).modules("", 0)
    code = {m for m in modules if m.rsplit(".", 1)[-1] not in _TEST_SUITES}
    return sorted(code or modules)


_TEST_SUITES = frozenset({"tests", "test"})
"""Last names of the test suites wheels ship beside their code (not `testing`: `zope.testing`
is a distribution's own code)."""


_NAMESPACE_DEPTH = 4
"""How deep nested namespace packages are followed (`a.b.c.pkg`)."""
_NAMESPACE_CALL = re.compile(rb"\b(extend_path|declare_namespace)\s*\(")
_EXTENSION = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(\.[A-Za-z0-9_-]+)?\.(so|pyd)$")
_SOURCE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\.py$")
_DATA_LIB = re.compile(r"^[^/]+\.data/(purelib|platlib)/(.+)$")


def _installed_path(member: str) -> str:
    """Where `member` lands relative to site-packages ('' for scripts, headers, metadata)."""
    data = _DATA_LIB.match(member)
    if data:
        return data.group(2)
    first = member.split("/", 1)[0]
    if first.endswith((".dist-info", ".data")) or member.endswith("/"):
        return ""
    return member


def _declared_namespaces(zf: zipfile.ZipFile) -> set[str]:
    """setuptools' `namespace_packages.txt` entries (dotted names)."""
    listed = [
        n for n in zf.namelist() if re.fullmatch(r"[^/]+\.dist-info/namespace_packages\.txt", n)
    ]
    found: set[str] = set()
    for name in listed:
        text = zf.read(name).decode("utf-8", errors="replace")
        found.update(ln.strip() for ln in text.splitlines() if ln.strip())
    return found


@dataclass
class _Tree:
    files: list[str]
    inits: dict[str, bytes]
    declared: set[str]

    def modules(self, folder: str, depth: int) -> set[str]:
        """The importable names directly in `folder` ('' = site-packages), descending into
        namespace packages."""
        base = f"{folder}/" if folder else ""
        dotted = folder.replace("/", ".")
        found: set[str] = set()
        subdirs: set[str] = set()
        for path in self.files:
            if not path.startswith(base):
                continue
            head, sep, _ = path[len(base) :].partition("/")
            if sep:
                if _IDENTIFIER.match(head):
                    subdirs.add(head)
                continue
            match = _SOURCE.match(head) or _EXTENSION.match(head)
            if match and match.group(1) != "__init__":
                found.add(f"{dotted}.{match.group(1)}" if dotted else match.group(1))
        for sub in subdirs:
            path = f"{base}{sub}"
            name = path.replace("/", ".")
            if self._is_package(path) and not self._is_namespace(path, name):
                found.add(name)
            elif depth < _NAMESPACE_DEPTH:
                found.update(self.modules(path, depth + 1))
        return found

    def _is_package(self, path: str) -> bool:
        return any(f == f"{path}/__init__.py" or _is_init_extension(f, path) for f in self.files)

    def _is_namespace(self, path: str, name: str) -> bool:
        code = self.inits.get(f"{path}/__init__.py")
        return name in self.declared or (code is not None and bool(_NAMESPACE_CALL.search(code)))


def _is_init_extension(member: str, path: str) -> bool:
    head, sep, rest = member.partition(f"{path}/")
    if head or not sep or "/" in rest:
        return False
    ext = _EXTENSION.match(rest)
    return ext is not None and ext.group(1) == "__init__"


def _app_wheels(wheelhouse: Path) -> tuple[list[Path], list[str]]:
    """(the application's wheels to import (manifest role APP, else every wheel of the
    folder), the wheel names left out because they need an excluded requirement)."""
    try:
        found = manifest_mod.read(wheelhouse)
    except BadInput:
        names = [p.name for p in wheelhouse.glob("*.whl")]
        return [wheelhouse / n for n in sorted(names) if (wheelhouse / n).is_file()], []
    packages = [p for p in found.app if p.is_wheel]
    needy = _needing_excluded(packages, found.excluded)
    pool = wheelhouse / found.pool  # '../..' in a several-target one
    names = [p.filename for p in packages if p.key not in needy]
    left = sorted(p.filename for p in packages if p.key in needy)
    return [pool / n for n in sorted(names) if (pool / n).is_file()], left


def _canon(text: object) -> str:
    """The PEP 503 name of a project name or of a requirement string's name part."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", str(text))
    return re.sub(r"[-_.]+", "-", match[1] if match else str(text)).lower()


def _needing_excluded(
    packages: Sequence[manifest_mod.Package], excluded: Sequence[Mapping[str, Any]]
) -> set[str]:
    """Canonical names of the packages whose import needs an excluded requirement: the
    `required_by` of each `excluded` record, then whatever requires one of those (manifest
    `requires`), to a fixed point."""
    needy = {_canon(e["required_by"]) for e in excluded if e.get("required_by")}
    requires = {p.key: {_canon(r) for r in p.requires} for p in packages}
    grown = True
    while grown:
        grown = False
        for name, deps in requires.items():
            if name not in needy and deps & needy:
                needy.add(name)
                grown = True
    return needy


def _imports(
    wheelhouse: Path, venv: Path, isolate: list[str], prefix: str, result: Rehearsal
) -> None:
    wheels, result.not_imported = _app_wheels(wheelhouse)
    for batch in _batches(wheels):
        jobs = batch
        while jobs:  # after a crash, a new interpreter for the modules left
            jobs = _import_batch(jobs, venv, isolate, prefix, result)


def _batches(wheels: list[Path]) -> list[list[tuple[str, str]]]:
    """(wheel, module) jobs per interpreter: pure wheels share one; each wheel with ELF
    objects gets its own, so that a library it finds only because another wheel loaded it
    first (same soname, not on its RPATH) fails here as it would on the target."""
    pure: list[tuple[str, str]] = []
    own: list[list[tuple[str, str]]] = []
    for wheel in wheels:
        jobs = [(wheel.name, m) for m in importable_modules(wheel)]
        if _has_elf(wheel):
            own.append(jobs)
        else:
            pure.extend(jobs)
    return [b for b in [pure, *own] if b]


def _has_elf(wheel: Path) -> bool:
    """Whether `wheel` holds a shared object (`*.so`, `*.so.N`); BadInput when unreadable."""
    try:
        with zipfile.ZipFile(wheel) as zf:
            return any(re.search(r"\.so(\.[0-9]+)*$", n) for n in zf.namelist())
    except (OSError, zipfile.BadZipFile) as exc:
        raise BadInput(f"{wheel.name}: not a readable wheel ({exc})") from None


def _import_batch(
    jobs: list[tuple[str, str]], venv: Path, isolate: list[str], prefix: str, result: Rehearsal
) -> list[tuple[str, str]]:
    """Import `jobs` ((wheel, module) pairs) in one interpreter of `venv`; the jobs still to
    try when that interpreter died inside an import (a crash, not an exception), else []."""
    feed = "".join(json.dumps(job) + "\n" for job in jobs)
    proc = _run(
        [*isolate, str(venv / "bin" / "python"), "-I", "-c", _IMPORTER],
        venv.parent,
        stdin=feed,
        cwd=venv,
    )
    started = 0
    pending: tuple[str, str] | None = None
    for line in proc.stdout.splitlines():
        try:
            kind, wheel, module, *rest = json.loads(line)
        except (ValueError, TypeError):
            continue
        if kind == "begin":
            pending = (wheel, module)
            started += 1
        elif kind == "ok":
            result.imported.append(module)
            pending = None
        else:
            result.problems.append(_import_problem(prefix, wheel, module, str(rest[0])))
            pending = None
    if pending is None and started == len(jobs):
        return []
    if pending is None:  # died before the next import began: blame the interpreter, once
        why = f"the interpreter died (exit {proc.returncode}) {_last_line(proc)}".strip()
        result.problems.extend(_import_problem(prefix, w, m, why) for w, m in jobs[started:])
        return []
    wheel, module = pending
    why = f"the interpreter died (exit {proc.returncode}) {_last_line(proc)}".strip()
    result.problems.append(_import_problem(prefix, wheel, module, why))
    return jobs[started:]


def _import_problem(prefix: str, wheel: str, module: str, error: str) -> str:
    line = f"{prefix}{wheel}: import {module} fails after an offline install: {error}"
    missing = _MISSING_LIB.search(error)
    if missing:
        line += (
            f" (the system library {missing.group(1)} is missing on this machine: "
            "system-packages.yml says what provides it)"
        )
    return line


def _install_network_block(venv: Path) -> None:
    purelib = _run(
        [str(venv / "bin" / "python"), "-I", "-c",
         "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        venv.parent,
    ).stdout.strip()  # fmt: skip
    if purelib:
        Path(purelib, "sitecustomize.py").write_text(_BLOCK_NETWORK, encoding="utf-8")


def _run(
    argv: list[str],
    work: Path,
    stdin: str | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run one step of the rehearsal whose work dir is `work` and wait for it (`_Step`)."""
    return _start(argv, work, stdin, cwd, env).finish()


def _start(
    argv: list[str],
    work: Path,
    stdin: str | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> _Step:
    """Start one step of the rehearsal whose work dir is `work` in a process group of its own
    (`start_new_session`), holding the work dir's locked `OWNER` (`pass_fds`: the lock
    lasts while any step lives). TMPDIR is `work/tmp`: what a killed ensurepip or pip leaves
    goes with the work dir. `env` is added to this environment without its PIP_/PYTHON variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))}
    clean.update(env or {})
    clean["TMPDIR"] = str(work / "tmp")
    held = _HELD.get(work)
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=clean,
            cwd=cwd,
            start_new_session=True,
            pass_fds=(held,) if held is not None else (),
        )
    except OSError as exc:
        return _Step(argv, None, stdin, subprocess.CompletedProcess(argv, 127, "", str(exc)))
    try:
        return _Step(argv, proc, stdin, None)
    except BaseException:  # Ctrl-C or SIGTERM right after the start: no step left running
        _kill_group(proc)
        raise


@dataclass
class _Step:
    """One started step: `finish()` waits; on a timeout and on any exception while waiting
    (Ctrl-C, the CLI's SIGTERM `Terminated`) the whole group is killed and reaped before the
    caller removes the work dir, so no grandchild (pip, venv's ensurepip) outlives the
    rehearsal and writes into it again. `kill()` does the same for a step no one waits for."""

    argv: list[str]
    proc: subprocess.Popen[str] | None
    stdin: str | None
    done: subprocess.CompletedProcess[str] | None

    def finish(self) -> subprocess.CompletedProcess[str]:
        if self.done is not None:
            return self.done
        assert self.proc is not None
        try:
            out, err = self.proc.communicate(self.stdin, timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            _kill_group(self.proc)
            self.done = subprocess.CompletedProcess(
                self.argv, 124, "", f"timed out after {TIMEOUT:.0f} s"
            )
            return self.done
        except BaseException:
            _kill_group(self.proc)
            raise
        self.done = subprocess.CompletedProcess(self.argv, self.proc.returncode, out, err)
        return self.done

    def kill(self) -> None:
        if self.proc is not None and self.done is None:
            _kill_group(self.proc)
            with contextlib.suppress(OSError, ValueError, subprocess.SubprocessError):
                self.proc.communicate(timeout=TIMEOUT)  # closes the pipes
            self.done = subprocess.CompletedProcess(self.argv, -signal.SIGKILL, "", "killed")


def _kill_group(proc: subprocess.Popen[str]) -> None:
    """SIGKILL the process group `proc` leads (it is not reaped yet, so the group id is still
    its own), then reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _last_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The most telling line of a failed step: pip's requirement that did not match (it names
    the package) before the generic last error line."""
    lines = [ln.strip() for ln in (proc.stdout + "\n" + proc.stderr).splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error" in ln.lower()]
    last = (errors or lines or [""])[-1]
    for i, line in enumerate(lines[:-1]):
        if line.endswith("These do not:"):
            return f"{lines[i + 1]}: not pinned for pip ({last})"
    return last
