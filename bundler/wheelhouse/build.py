"""Build a wheel on the host from a local project directory or an sdist; tell pure from compiled.

The build runs `pip wheel --no-deps` with the host interpreter, isolated from the machine's pip
configuration (PIP_CONFIG_FILE=/dev/null and no PIP_* variable that changes where packages come
from), on a copy of the project so the source tree is never written to. The build backend that
pip's isolated build environment installs comes from the sources fetch was given (its
`--index-url`s and `--find-links`, passed as PIP_INDEX_URL / PIP_EXTRA_INDEX_URL /
PIP_FIND_LINKS, or PIP_NO_INDEX when there is no index), so a mirror-only network works.

Built wheels are kept in the cache under a digest of their input (`built/<digest>/`), so an
unchanged project is not rebuilt on the next fetch (and an `--offline` fetch can reuse it). The
digest covers what the wheel is built from (the project's files or the sdist, and the host
Python's X.Y), not where the backend was downloaded from: the same source built with a backend
from PyPI or from a mirror is the same project's wheel, and an `--offline` fetch (which gives no
index) must still find it.
"""

from __future__ import annotations

import email.parser
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from bundler.errors import BadInput, BundlerError
from bundler.fs.atomic import atomic_copy
from bundler.fs.hashing import sha256_file
from bundler.wheelhouse import reproducible

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found, no-redef, unused-ignore]

# Variables that would make pip look somewhere else than it is told (this machine sets some).
_PIP_SOURCE_VARS = (
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_FIND_LINKS",
    "PIP_NO_INDEX",
    "PIP_CONSTRAINT",
    "PIP_REQUIREMENT",
    "PIP_PRE",
    "PIP_ONLY_BINARY",
    "PIP_NO_BINARY",
    "PIP_REQUIRE_HASHES",
    "PIP_USER",
    "PIP_TARGET",
    "PIP_PREFIX",
)
_IGNORED = shutil.ignore_patterns(
    ".git", ".hg", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", "*.pyc",
    ".pytest_cache", ".mypy_cache", ".ruff_cache", ".tox", ".nox",
)  # fmt: skip


_PIP_GENERIC_ERRORS = ("subprocess-exited-with-error", "-failed")


class BuildFailed(BundlerError):
    """A project or sdist could not be built into a wheel on the host; `detail` is the
    backend's most telling error line ('pip wheel exited 1: error: ...')."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail or message


def pip_env(
    base: Mapping[str, str] | None = None,
    *,
    index_urls: Sequence[str] | None = None,
    find_links: Sequence[str] = (),
) -> dict[str, str]:
    """`base` (default os.environ) without pip config files or PIP_* source overrides, then
    pointed at exactly the given sources: the first index URL as PIP_INDEX_URL, the others as
    PIP_EXTRA_INDEX_URL, an empty list as PIP_NO_INDEX (None keeps pip's default, PyPI), and
    `find_links` as PIP_FIND_LINKS (local paths as absolute file: URLs)."""
    env = dict(os.environ if base is None else base)
    for name in _PIP_SOURCE_VARS:
        env.pop(name, None)
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    if index_urls is not None:
        urls = [_one_word(u, "index URL") for u in index_urls]
        if urls:
            env["PIP_INDEX_URL"] = urls[0]
            if urls[1:]:
                env["PIP_EXTRA_INDEX_URL"] = " ".join(urls[1:])
        else:
            env["PIP_NO_INDEX"] = "1"
    links = [_find_links_url(x) for x in find_links]
    if links:
        env["PIP_FIND_LINKS"] = " ".join(links)
    return env


def _find_links_url(source: str) -> str:
    """A find-links source as pip reads it from the environment: URLs as given, local paths as
    absolute file: URLs (no spaces: pip splits PIP_FIND_LINKS on whitespace)."""
    if "://" in source:
        return _one_word(source, "find-links URL")
    return Path(source).resolve().as_uri()


def _one_word(url: str, what: str) -> str:
    if not url or any(c.isspace() for c in url):
        raise BadInput(f"{what} {url!r} cannot be given to pip's build (contains a space)")
    return url


def build_wheel(
    source: Path,
    dest: Path,
    *,
    isolated: bool = True,
    cache_root: Path | None = None,
    index_urls: Sequence[str] | None = None,
    find_links: Sequence[str] = (),
) -> Path:
    """Build `source` (a project directory or an sdist file) into one wheel in `dest`.

    `isolated` builds in pip's isolated build environment (build requirements come from
    `index_urls` and `find_links`, see `pip_env`; PyPI when `index_urls` is None); without it
    the host environment's build backend is used (works offline). With `cache_root`, a wheel
    built earlier from identical input is reused. Raises BadInput if `source` is not a project
    or sdist, BuildFailed if the build fails.
    """
    source = Path(source).resolve()
    dest = Path(dest).resolve()
    digest = source_digest(source)
    dest.mkdir(parents=True, exist_ok=True)
    cached = _cached_wheel(cache_root, digest)
    if cached is not None:
        return _copy_into(cached, dest)
    with tempfile.TemporaryDirectory(prefix=".build-", dir=dest) as tmp:
        work = Path(tmp)
        staged = _stage_source(source, work / source.name)
        env = pip_env(index_urls=index_urls, find_links=find_links)
        env["SOURCE_DATE_EPOCH"] = str(build_epoch(source))  # byte-reproducible wheels
        built = _run_pip_wheel(staged, work / "out", isolated, env)
        if cache_root is not None:  # temp file in the cache's tmp/, swept if a run is killed
            atomic_copy(
                built, cache_root / "built" / digest / built.name, tmp_dir=cache_root / "tmp"
            )
        return _copy_into(built, dest)


def is_pure(wheel: Path) -> bool:
    """True if `wheel` is pure Python: only `*-none-any` tags and `Root-Is-Purelib: true`."""
    try:
        _, _, _, tags = parse_wheel_filename(wheel.name)
    except InvalidWheelFilename as exc:
        raise BadInput(f"{wheel}: not a wheel file name ({exc})") from None
    if not all(t.abi == "none" and t.platform == "any" for t in tags):
        return False
    return _wheel_info(wheel).get("Root-Is-Purelib", "").strip().lower() == "true"


def source_digest(source: Path) -> str:
    """sha256 over what a build reads: the sdist's bytes, or the project's files (not build
    output or VCS data), plus the host Python's X.Y (a compiled build depends on it) and the
    build's SOURCE_DATE_EPOCH (the wheel's member dates)."""
    h = hashlib.sha256(f"python{sys.version_info[0]}.{sys.version_info[1]}\0".encode())
    if source.is_file():
        h.update(sha256_file(source).encode())
    else:
        for path in _project_files(source):
            h.update(path.relative_to(source).as_posix().encode() + b"\0")
            h.update(sha256_file(path).encode() + b"\0")
    h.update(f"SOURCE_DATE_EPOCH={build_epoch(source)}".encode())
    return h.hexdigest()


def build_epoch(source: Path) -> int:
    """SOURCE_DATE_EPOCH of a build of `source` (see bundler.wheelhouse.reproducible)."""
    if source.is_file():
        return reproducible.source_date_epoch(source, [])
    if not (source / "pyproject.toml").is_file() and not (source / "setup.py").is_file():
        raise BadInput(f"{source}: not a Python project (no pyproject.toml or setup.py)")
    return reproducible.source_date_epoch(source, _project_files(source))


def _project_files(root: Path) -> list[Path]:
    files: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        ignored = _IGNORED(dirpath, [*dirnames, *filenames])
        dirnames[:] = sorted(d for d in dirnames if d not in ignored)
        files += [Path(dirpath) / f for f in sorted(filenames) if f not in ignored]
    return files


def _stage_source(source: Path, work: Path) -> Path:
    """A private copy of the project (so the build writes nothing into it), or the sdist."""
    if source.is_file():
        return source
    shutil.copytree(source, work, ignore=_IGNORED, symlinks=True)
    reproducible.normalize_modes(work)
    return work


def _run_pip_wheel(source: Path, out: Path, isolated: bool, env: dict[str, str]) -> Path:
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(out)]
    if not isolated:
        cmd.append("--no-build-isolation")
    cmd.append(str(source))
    proc = subprocess.run(
        reproducible.with_umask(cmd), env=env, capture_output=True, text=True, check=False
    )
    wheels = sorted(out.glob("*.whl")) if out.is_dir() else []
    if proc.returncode != 0 or len(wheels) != 1:
        detail = _last_error(proc)
        raise BuildFailed(f"building a wheel from {source.name} failed: {detail}", detail)
    return wheels[0]


def _last_error(proc: subprocess.CompletedProcess[str]) -> str:
    """The most telling line of pip's output: the backend's own error if it printed one."""
    lines = [ln.strip() for ln in (proc.stdout + "\n" + proc.stderr).splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.lower().startswith("error")]
    specific = [ln for ln in errors if not any(g in ln for g in _PIP_GENERIC_ERRORS)]
    detail = (specific or errors or lines or ["no output"])[-1]
    return f"pip wheel exited {proc.returncode}: {detail}"


def _cached_wheel(cache_root: Path | None, digest: str) -> Path | None:
    if cache_root is None:
        return None
    wheels = sorted((cache_root / "built" / digest).glob("*.whl"))
    return wheels[0] if len(wheels) == 1 else None


def _copy_into(wheel: Path, directory: Path) -> Path:
    """Copy `wheel` into `directory` atomically (a locked temp name, then a rename; a killed
    run's temp file is swept by the next run, see `bundler.fs.staging`)."""
    return atomic_copy(wheel, directory / wheel.name)


def _wheel_info(wheel: Path) -> dict[str, str]:
    """The `.dist-info/WHEEL` fields of `wheel`."""
    try:
        with zipfile.ZipFile(wheel) as zf:
            names = [
                n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/WHEEL")
            ]
            if len(names) != 1:
                raise BadInput(f"{wheel}: no single .dist-info/WHEEL file")
            text = zf.read(names[0]).decode("utf-8")
    except (OSError, zipfile.BadZipFile) as exc:
        raise BadInput(f"{wheel}: unreadable wheel ({exc})") from None
    message = email.parser.Parser().parsestr(text)
    return {k: str(v) for k, v in message.items()}


# -- sdists built for the target ------------------------------------------------------------------

DEFAULT_BUILD_REQUIRES = ("setuptools>=40.8.0", "wheel")
"""PEP 517's fallback when an sdist has no [build-system] requires (what pip uses)."""
_MAX_SDIST_MEMBER = 1 << 20


def sdist_member(sdist: Path, name: str) -> bytes | None:
    """The top-level file `name` (PKG-INFO, pyproject.toml) of a .tar.gz or .zip sdist."""
    try:
        if sdist.name.endswith(".zip"):
            with zipfile.ZipFile(sdist) as zf:
                hits = [n for n in zf.namelist() if n.count("/") == 1 and n.endswith("/" + name)]
                return zf.read(hits[0]) if hits else None
        with tarfile.open(sdist) as tar:
            for member in tar:
                parts = member.name.split("/")
                if len(parts) == 2 and parts[1] == name and member.isfile():
                    if member.size > _MAX_SDIST_MEMBER:
                        return None
                    handle = tar.extractfile(member)
                    return handle.read() if handle else None
    except (OSError, tarfile.TarError, zipfile.BadZipFile, EOFError) as exc:
        raise BadInput(f"{sdist.name}: unreadable sdist ({exc})") from None
    return None


def static_metadata_problem(sdist: Path) -> str | None:
    """Why a host build of `sdist` may not give the target's dependencies (None: it gives
    them): PEP 643 makes an sdist's PKG-INFO binding only from Metadata-Version 2.2 on, and
    only for fields not listed as `Dynamic`. That is no proof for a setup.py run by setuptools:
    a recent setuptools writes Metadata-Version 2.4 with no `Dynamic:` line even when the
    setup.py picks `install_requires` by `sys.version_info` (an sdist so built, seen by the #11
    review on 2026-11-30, lists no Requires-Dist when built on 3.11 though it needs
    dataclasses on 3.6), so such an sdist, or one with a setup.py whose PKG-INFO lists no
    Requires-Dist, is treated as dynamic. Raises BadInput for an unreadable pyproject.toml."""
    body = sdist_member(sdist, "PKG-INFO")
    if body is None:
        return "it has no PKG-INFO"
    headers = email.parser.BytesParser().parsebytes(body, headersonly=True)
    version = str(headers.get("Metadata-Version", "0")).strip()
    try:
        static = tuple(int(p) for p in version.split(".")[:2]) >= (2, 2)
    except ValueError:
        static = False
    if not static:
        return f"its metadata is not static (Metadata-Version {version}, PEP 643 needs 2.2)"
    dynamic = {str(v).strip().lower() for v in headers.get_all("Dynamic") or []}
    if "requires-dist" in dynamic:
        return "its Requires-Dist is Dynamic (PEP 643)"
    if sdist_member(sdist, "setup.py") is None:
        return None
    backend = build_backend(sdist)
    if backend.split(":")[0].split(".")[0] == "setuptools":
        return (
            f"it has a setup.py run by setuptools ({backend}), whose PKG-INFO does not say "
            "whether the dependencies depend on the Python running it"
        )
    if not headers.get_all("Requires-Dist"):
        return "it has a setup.py and its PKG-INFO lists no Requires-Dist"
    return None


def build_backend(sdist: Path) -> str:
    """The sdist's PEP 517 `build-backend`; PEP 517's fallback `setuptools.build_meta:__legacy__`
    when pyproject.toml does not name one. Raises BadInput for an unreadable pyproject.toml."""
    backend = _build_system(sdist).get("build-backend")
    return backend if isinstance(backend, str) else "setuptools.build_meta:__legacy__"


def _build_system(sdist: Path) -> dict[str, object]:
    body = sdist_member(sdist, "pyproject.toml")
    if body is None:
        return {}
    try:
        doc = tomllib.loads(body.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"{sdist.name}: unreadable pyproject.toml ({exc})") from None
    table = doc.get("build-system", {})
    return table if isinstance(table, dict) else {}


def build_requires(sdist: Path) -> list[str]:
    """The sdist's PEP 518 `[build-system] requires` (PEP 517's default when absent)."""
    requires = _build_system(sdist).get("requires")
    if not isinstance(requires, list):
        return list(DEFAULT_BUILD_REQUIRES)
    return [str(r) for r in requires]


def build_with_target(
    sdist: Path,
    dest: Path,
    *,
    python: Path,
    provide: Callable[[Sequence[str]], Sequence[Path]],
    cache_root: Path | None = None,
) -> Path:
    """Build `sdist` into one wheel in `dest` with the target interpreter `python`.

    The build environment is a fresh venv of `python`. `provide(requirements)` gives the wheels
    (resolved for the target, downloaded) of a list of requirement strings: first the sdist's
    `[build-system] requires` plus wheel and pip (a pip that builds PEP 517 projects), then,
    if the backend's `get_requires_for_build_wheel` hook (PEP 517, run in the venv on the
    unpacked sdist) asks for more (`setup_requires`, say), those as well; each set is
    installed offline. Then `pip wheel --no-build-isolation --no-deps --no-index` with the
    sdist's SOURCE_DATE_EPOCH and umask 022 (byte-reproducible, as host builds are). So
    `setup.py` runs under the target's version: `sys.version_info` decides what it declares.
    Cached under a digest of the sdist and the interpreter's version. Raises BuildFailed
    naming the sdist.
    """
    dest = Path(dest).resolve()
    dest.mkdir(parents=True, exist_ok=True)
    version = _interpreter_version(python)
    epoch = build_epoch(sdist)
    key = f"target-python{version}\0{sha256_file(sdist)}\0SOURCE_DATE_EPOCH={epoch}"
    digest = hashlib.sha256(key.encode()).hexdigest()
    cached = _cached_wheel(cache_root, digest)
    if cached is not None:
        return _copy_into(cached, dest)
    with tempfile.TemporaryDirectory(prefix=".target-build-", dir=dest) as tmp:
        work = Path(tmp)
        venv = work / "venv"
        env = pip_env(index_urls=[])
        env["SOURCE_DATE_EPOCH"] = str(epoch)  # byte-reproducible wheels, as on the host
        _checked_run([str(python), "-m", "venv", str(venv)], env, sdist, "creating the venv")
        vpython = str(venv / "bin" / "python")
        wanted = [*build_requires(sdist), "wheel", "pip"]
        _install_offline(vpython, provide(wanted), env, sdist)
        source = _unpack_sdist(sdist, work / "src")
        reproducible.normalize_modes(source)
        more = _hook_requires(vpython, source, sdist, env)
        if set(more) - set(wanted):
            _install_offline(vpython, provide([*wanted, *more]), env, sdist)
        out = work / "out"
        cmd = [vpython, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
               "--wheel-dir", str(out), str(source)]  # fmt: skip
        proc = subprocess.run(
            reproducible.with_umask(cmd), env=env, capture_output=True, text=True, check=False
        )
        wheels = sorted(out.glob("*.whl")) if out.is_dir() else []
        if proc.returncode != 0 or len(wheels) != 1:
            raise BuildFailed(
                f"building {sdist.name} with {python} (Python {version}) failed: "
                f"{_last_error(proc)}"
            )
        if cache_root is not None:
            _copy_into(wheels[0], cache_root / "built" / digest)
        return _copy_into(wheels[0], dest)


_HOOK = """
import importlib, json, sys
name, paths = sys.argv[1], json.loads(sys.argv[2])
sys.path[:0] = paths
module, _, attrs = name.partition(":")
backend = importlib.import_module(module)
for attr in filter(None, attrs.split(".")):
    backend = getattr(backend, attr)
hook = getattr(backend, "get_requires_for_build_wheel", None)
print("AIRGAP-KIT-REQUIRES " + json.dumps(list(hook({})) if hook else []))
"""
DEFAULT_BACKEND = "setuptools.build_meta:__legacy__"
"""PEP 517's fallback backend for an sdist without [build-system] build-backend (pip's)."""


def _hook_requires(python: str, source: Path, sdist: Path, env: dict[str, str]) -> list[str]:
    """The backend's `get_requires_for_build_wheel({})`, run by `python` in `source`."""
    backend, paths = _backend(sdist)
    proc = subprocess.run(
        [python, "-c", _HOOK, backend, json.dumps([str(source / p) for p in paths])],
        cwd=source, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    for line in proc.stdout.splitlines():
        if line.startswith("AIRGAP-KIT-REQUIRES "):
            found = json.loads(line.split(" ", 1)[1])
            return [str(r) for r in found] if isinstance(found, list) else []
    raise BuildFailed(
        f"building {sdist.name}: the backend's get_requires_for_build_wheel failed: "
        f"{_last_error(proc)}"
    )


def _backend(sdist: Path) -> tuple[str, list[str]]:
    """(build-backend, backend-path) of the sdist's pyproject.toml, PEP 517's default else."""
    body = sdist_member(sdist, "pyproject.toml")
    if body is None:
        return DEFAULT_BACKEND, []
    try:
        system = tomllib.loads(body.decode("utf-8")).get("build-system", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"{sdist.name}: unreadable pyproject.toml ({exc})") from None
    backend = system.get("build-backend")
    paths = system.get("backend-path", [])
    return (
        str(backend) if isinstance(backend, str) and backend else DEFAULT_BACKEND,
        [str(p) for p in paths] if isinstance(paths, list) else [],
    )


def _unpack_sdist(sdist: Path, dest: Path) -> Path:
    """Unpack `sdist` into `dest` safely (tarfile's 'data' filter: no links out, no absolute
    paths, no devices); returns its single top directory."""
    dest.mkdir(parents=True)
    try:
        if sdist.name.endswith(".zip"):
            with zipfile.ZipFile(sdist) as zf:
                for name in zf.namelist():
                    target = (dest / name).resolve()
                    if not target.is_relative_to(dest.resolve()):
                        raise BadInput(f"{sdist.name}: member {name!r} points outside")
                zf.extractall(dest)
        else:
            with tarfile.open(sdist) as tar:
                tar.extractall(dest, filter="data")
    except (OSError, tarfile.TarError, zipfile.BadZipFile, EOFError) as exc:
        raise BadInput(f"{sdist.name}: unreadable sdist ({exc})") from None
    tops = [p for p in dest.iterdir() if p.is_dir()]
    if len(tops) != 1:
        raise BadInput(f"{sdist.name}: not one top directory in the sdist")
    return tops[0]


def _install_offline(python: str, wheels: Sequence[Path], env: dict[str, str], sdist: Path) -> None:
    if wheels:
        _checked_run(
            [python, "-m", "pip", "install", "--no-index", "--no-deps", *map(str, wheels)],
            env, sdist, "installing the build requirements",
        )  # fmt: skip


def _interpreter_version(python: Path) -> str:
    proc = subprocess.run(
        [str(python), "-I", "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise BadInput(f"--build-python {python}: does not run as a Python interpreter")
    return proc.stdout.strip()


def _checked_run(argv: list[str], env: dict[str, str], sdist: Path, step: str) -> None:
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BuildFailed(f"building {sdist.name}: {step} failed: {_last_error(proc)}")
