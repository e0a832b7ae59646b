"""A hermetic package index for tests: tiny wheels and sdists, served on 127.0.0.1 in a thread.

Build artefacts with `build_wheel` / `build_sdist` (real zip/tar files with real metadata, a
few hundred bytes each), or let a `FakeIndex` build and serve them:

    def test_x(fake_index, tmp_path):          # the pytest fixture (see the end of the file)
        fake_index.add_wheel("alpha", "1.0", requires_dist=["beta>=2"])
        fake_index.add_wheel("beta", "2.1", tags="cp36-abi3-manylinux2014_x86_64")
        index = Index([fake_index.url], [], Cache(tmp_path / "cache"))

What the server speaks (the parts of the simple-repository API the kit reads):
- `GET /simple/<name>/`: PEP 691 JSON when the Accept header asks for it (and `json=True`),
  else PEP 503 HTML; `data-requires-python`, `data-yanked`, PEP 658/714 `data-core-metadata`
  (JSON: `core-metadata`) with the metadata's sha256 when `pep658=True` and the file allows it;
  a non-canonical name redirects (301) to the canonical page, like PyPI.
- `GET /files/<filename>` the file, `GET /files/<filename>.metadata` its METADATA.
- `GET /find-links/` one flat HTML page linking every file (a `--find-links URL` source).

`write_tree()` writes the same pages to disk instead (a `file:` index, bandersnatch's layout).

Failure modes (set per filename, all *simulated* on purpose): `served.tamper = True` serves
bytes that differ from the advertised sha256 (`tamper_metadata`: the same for the .metadata
file); `cut_after[filename] = n` sends a full Content-Length then only n bytes and closes the
connection; `hang_after[filename] = n` sends n bytes then stalls (up to `hang_seconds`);
`fail_times[path] = k` answers 503 k times; `advertise_hash=False` lists a file without hash.
Every request path is recorded in `requests` (to prove what was, or was not, downloaded).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import random
import tarfile
import threading
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename

JSON_TYPE = "application/vnd.pypi.simple.v1+json"

# -- artefacts --------------------------------------------------------------------------------


def _metadata_text(
    name: str,
    version: str,
    requires_dist: Iterable[str],
    requires_python: str | None,
    extras: Iterable[str],
    summary: str,
) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}", f"Summary: {summary}"]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Provides-Extra: {e}" for e in extras]
    lines += [f"Requires-Dist: {r}" for r in requires_dist]
    return "\n".join(lines) + "\n\n"


def _extras_of(requires_dist: Iterable[str]) -> list[str]:
    found = []
    for req in requires_dist:
        if "extra ==" in req:
            extra = req.split("extra ==", 1)[1].strip().strip("'\"").split("'")[0].split('"')[0]
            if extra not in found:
                found.append(extra)
    return found


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def build_wheel(
    directory: Path,
    name: str,
    version: str,
    *,
    tags: str = "py3-none-any",
    requires_dist: Iterable[str] = (),
    requires_python: str | None = None,
    summary: str = "a test wheel",
    payload: int = 0,
    dist_name: str | None = None,
    extra_metadata: Iterable[str] = (),
) -> Path:
    """A real, installable wheel `{name}-{version}-{tags}.whl` holding one module.

    `dist_name` overrides the distribution part of the file and .dist-info names (default:
    the canonical name with underscores); e.g. 'ruamel.yaml.clib', as older wheels spell it.
    `extra_metadata`: more METADATA header lines ('License-Expression: MIT', 'Classifier: ...').

    `tags` is the wheel's tag triple as it appears in the filename, compressed sets allowed
    (e.g. 'cp36-cp36m-manylinux1_x86_64.manylinux2010_x86_64'). `requires_dist` lines may
    carry markers and `extra == "x"` conditions; Provides-Extra is derived from them.
    `payload` adds that many incompressible bytes (a big file, for multi-chunk downloads).
    """
    requires = list(requires_dist)
    dist = f"{dist_name or canonicalize_name(name).replace('-', '_')}-{version}"
    module = canonicalize_name(name).replace("-", "_")
    filename = f"{dist}-{tags}.whl"
    parse_wheel_filename(filename)  # fail early on a bad test setup
    pure = tags.split("-")[1] == "none" and tags.split("-")[2] == "any"
    files: dict[str, bytes] = {
        f"{module}/__init__.py": f"__version__ = {version!r}\n".encode(),
        **({f"{module}/payload.bin": random.Random(name).randbytes(payload)} if payload else {}),
        f"{dist}.dist-info/METADATA": _metadata_text(
            name, version, requires, requires_python, _extras_of(requires), summary
        )
        .replace("\n\n", "".join(f"\n{line}" for line in extra_metadata) + "\n\n", 1)
        .encode(),
        f"{dist}.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: fakeindex\n"
            f"Root-Is-Purelib: {'true' if pure else 'false'}\n"
            + "".join(f"Tag: {t}\n" for t in _expand(tags))
        ).encode(),
    }
    record = [_record_line(p, d) for p, d in files.items()] + [f"{dist}.dist-info/RECORD,,"]
    files[f"{dist}.dist-info/RECORD"] = ("\n".join(record) + "\n").encode()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / filename
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for arcname, data in files.items():
            info = zipfile.ZipInfo(arcname, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return path


def _expand(tags: str) -> list[str]:
    interpreters, abis, platforms = tags.split("-")
    return [
        f"{i}-{a}-{p}"
        for i in interpreters.split(".")
        for a in abis.split(".")
        for p in platforms.split(".")
    ]


def build_sdist(
    directory: Path,
    name: str,
    version: str,
    *,
    requires_dist: Iterable[str] = (),
    requires_python: str | None = None,
    compiled: bool = False,
    static: bool = True,
) -> Path:
    """A real setuptools sdist `{name}-{version}.tar.gz`; `compiled=True` adds a C extension.

    `static`: PKG-INFO says Metadata-Version 2.2 (PEP 643: its Requires-Dist is binding, so a
    host build may be trusted) and, unless `compiled`, the project is a pyproject.toml
    `[project]` table with no setup.py (a setup.py run by setuptools is never trusted); False
    says 2.1 and has a setup.py (dynamic, like most sdists before 2022).

    It builds with `pip wheel --no-build-isolation` (or `python -m build -n`) given setuptools:
    pure -> `py3-none-any`, compiled -> a platform wheel (needs gcc and Python headers).
    """
    requires = list(requires_dist)
    module = canonicalize_name(name).replace("-", "_")
    base = f"{module}-{version}"
    filename = f"{base}.tar.gz"
    parse_sdist_filename(filename)
    ext = (
        f"    ext_modules=[Extension({module + '_speedups'!r}, ['speedups.c'])],\n"
        if compiled
        else ""
    )
    setup_py = (
        "from setuptools import Extension, setup\n\n"
        "setup(\n"
        f"    name={name!r},\n    version={version!r},\n    packages=[{module!r}],\n"
        f"    install_requires={requires!r},\n"
        + (f"    python_requires={requires_python!r},\n" if requires_python else "")
        + ext
        + ")\n"
    )
    pyproject = (
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
    )
    if static and not compiled:  # static dependencies: a [project] table, no setup.py
        pyproject = pyproject.replace('["setuptools"]', '["setuptools>=61"]') + (
            f"\n[project]\nname = {name!r}\nversion = {version!r}\ndependencies = {requires!r}\n"
            + (f"requires-python = {requires_python!r}\n" if requires_python else "")
            + f"\n[tool.setuptools]\npackages = [{module!r}]\n"
        )
    files: dict[str, bytes] = {
        "PKG-INFO": _metadata_text(
            name, version, requires, requires_python, _extras_of(requires), "a test sdist"
        )
        .replace("Metadata-Version: 2.1", f"Metadata-Version: {'2.2' if static else '2.1'}", 1)
        .encode(),
        "pyproject.toml": pyproject.encode(),
        f"{module}/__init__.py": f"__version__ = {version!r}\n".encode(),
    }
    if not (static and not compiled):
        files["setup.py"] = setup_py.encode()
    if compiled:
        files["speedups.c"] = (
            "#include <Python.h>\n"
            f"static struct PyModuleDef m = {{PyModuleDef_HEAD_INIT, "
            f'"{module}_speedups", NULL, -1, NULL}};\n'
            f"PyMODINIT_FUNC PyInit_{module}_speedups(void) {{ return PyModule_Create(&m); }}\n"
        ).encode()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / filename
    with tarfile.open(path, "w:gz") as tar:
        for arcname, data in files.items():
            info = tarfile.TarInfo(f"{base}/{arcname}")
            info.size = len(data)
            info.mtime = 1577836800
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return path


def wheel_metadata(path: Path) -> bytes:
    """The METADATA bytes inside wheel `path`."""
    with zipfile.ZipFile(path) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        return zf.read(name)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- the server -------------------------------------------------------------------------------


@dataclass
class Served:
    """One file on the fake index and how it is advertised."""

    path: Path
    yanked: str | None = None
    """None: not yanked; '' yanked without reason; text: the reason."""
    requires_python: str | None = None
    """Advertised as data-requires-python (independent of the file's own metadata)."""
    metadata: bool = True
    """Offer PEP 658 metadata for this file (wheels only; also needs FakeIndex.pep658)."""
    tamper: bool = False
    """Serve different bytes than the advertised sha256 (simulated corruption/attack)."""
    tamper_metadata: bool = False
    """Serve a .metadata body that differs from its advertised sha256."""
    advertise_hash: bool = True
    """List the file's sha256 (False: an index that gives no hash)."""

    @property
    def filename(self) -> str:
        return self.path.name

    @property
    def project(self) -> str:
        if self.filename.endswith(".whl"):
            return parse_wheel_filename(self.filename)[0]
        return parse_sdist_filename(self.filename)[0]

    @property
    def data(self) -> bytes:
        return self.path.read_bytes()

    @property
    def served_data(self) -> bytes:
        data = self.data
        if self.tamper:
            return data[:-1] + bytes([data[-1] ^ 0xFF])
        return data


@dataclass
class FakeIndex:
    """A PEP 503/691/658 index on 127.0.0.1, started by `start()` (or the `fake_index` fixture)."""

    root: Path
    json: bool = True
    """Answer PEP 691 JSON when asked (False: HTML only, like a bare PEP 503 server)."""
    pep658: bool = True
    files: list[Served] = field(default_factory=list)
    cut_after: dict[str, int] = field(default_factory=dict)
    hang_after: dict[str, int] = field(default_factory=dict)
    fail_times: dict[str, int] = field(default_factory=dict)
    hang_seconds: float = 60.0
    """How long a `hang_after` body stalls at most (then the connection closes)."""
    requests: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- content ----------------------------------------------------------------------------

    def add(self, path: Path, **options: Any) -> Served:
        served = Served(path, **options)
        self.files.append(served)
        return served

    def add_wheel(
        self,
        name: str,
        version: str,
        *,
        tags: str = "py3-none-any",
        requires_dist: Iterable[str] = (),
        requires_python: str | None = None,
        payload: int = 0,
        advertise_requires_python: bool = True,
        **options: Any,
    ) -> Served:
        """Build a wheel into root/files and serve it. `options` go to `Served`; the
        advertised requires_python is the wheel's own unless `advertise_requires_python=False`
        (an index that only has it in the metadata)."""
        path = build_wheel(
            self.root / "files",
            name,
            version,
            tags=tags,
            requires_dist=requires_dist,
            requires_python=requires_python,
            payload=payload,
        )
        if advertise_requires_python:
            options.setdefault("requires_python", requires_python)
        return self.add(path, **options)

    def add_sdist(
        self,
        name: str,
        version: str,
        *,
        requires_dist: Iterable[str] = (),
        requires_python: str | None = None,
        compiled: bool = False,
        **options: Any,
    ) -> Served:
        path = build_sdist(
            self.root / "files",
            name,
            version,
            requires_dist=requires_dist,
            requires_python=requires_python,
            compiled=compiled,
        )
        options.setdefault("requires_python", requires_python)
        return self.add(path, **options)

    def served(self, filename: str) -> Served:
        return next(f for f in self.files if f.filename == filename)

    def downloads(self) -> list[str]:
        """Filenames fetched in full (not .metadata), in request order."""
        return [
            p.rsplit("/", 1)[-1]
            for p in self.requests
            if p.startswith("/files/") and not p.endswith(".metadata")
        ]

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def base(self) -> str:
        assert self._server is not None, "FakeIndex not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        """The simple index URL (what --index-url takes)."""
        return self.base + "/simple/"

    @property
    def find_links_url(self) -> str:
        return self.base + "/find-links/"

    def start(self) -> FakeIndex:
        index = self

        class Handler(_Handler):
            fake = index

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeIndex:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- pages ------------------------------------------------------------------------------

    def project_files(self, project: str) -> list[Served]:
        return [f for f in self.files if f.project == project]

    def offers_metadata(self, f: Served) -> bool:
        return self.pep658 and f.metadata and f.filename.endswith(".whl")

    def json_page(self, project: str) -> bytes:
        entries = []
        for f in self.project_files(project):
            entry: dict[str, Any] = {
                "filename": f.filename,
                "url": f"../../files/{f.filename}",
                "hashes": {"sha256": sha256_hex(f.data)} if f.advertise_hash else {},
                "size": len(f.data),
            }
            if f.requires_python:
                entry["requires-python"] = f.requires_python
            if f.yanked is not None:
                entry["yanked"] = f.yanked or True
            if self.offers_metadata(f):
                entry["core-metadata"] = {"sha256": sha256_hex(wheel_metadata(f.path))}
            entries.append(entry)
        page = {"meta": {"api-version": "1.1"}, "name": project, "files": entries}
        return json.dumps(page).encode()

    def html_page(self, project: str | None) -> bytes:
        rows = []
        chosen = self.files if project is None else self.project_files(project)
        prefix = "/files/" if project is None else "../../files/"
        for f in chosen:
            href = prefix + f.filename
            if f.advertise_hash:
                href += f"#sha256={sha256_hex(f.data)}"
            attrs = [f'href="{escape(href)}"']
            if f.requires_python:
                attrs.append(f'data-requires-python="{escape(f.requires_python)}"')
            if f.yanked is not None:
                attrs.append(f'data-yanked="{escape(f.yanked)}"')
            if self.offers_metadata(f):
                digest = sha256_hex(wheel_metadata(f.path))
                attrs.append(f'data-core-metadata="sha256={digest}"')
                attrs.append(f'data-dist-info-metadata="sha256={digest}"')
            rows.append(f"<a {' '.join(attrs)}>{escape(f.filename)}</a><br/>")
        body = "<!DOCTYPE html><html><body>\n" + "\n".join(rows) + "\n</body></html>\n"
        return body.encode()

    def write_tree(self, *, html: bool = True, pep691: bool = False) -> Path:
        """The same index as a tree on disk (issue #12's `--index-url file:///.../simple/`), in
        bandersnatch's layout: `root/simple/<project>/index.html` (PEP 503, what pip reads)
        and/or `index.v1_json` (PEP 691), linking `../../files/<filename>` (+ `.metadata`
        beside each wheel when PEP 658 is on). Needs no server. Returns `root/simple`."""
        simple = self.root / "simple"
        for project in sorted({f.project for f in self.files}):
            page = simple / project
            page.mkdir(parents=True, exist_ok=True)
            if html:
                (page / "index.html").write_bytes(self.html_page(project))
            if pep691:
                (page / "index.v1_json").write_bytes(self.json_page(project))
            for f in self.project_files(project):
                if self.offers_metadata(f):
                    Path(f"{f.path}.metadata").write_bytes(wheel_metadata(f.path))
        return simple

    def record(self, path: str) -> None:
        with self._lock:
            self.requests.append(path)

    def take_failure(self, path: str) -> bool:
        with self._lock:
            left = self.fail_times.get(path, 0)
            if left:
                self.fail_times[path] = left - 1
            return bool(left)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeIndex

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        self.fake.record(path)
        if self.fake.take_failure(path):
            self._send(503, b"try again", "text/plain")
            return
        if path == "/find-links/":
            self._send(200, self.fake.html_page(None), "text/html")
        elif path.startswith("/simple/"):
            self._project_page(path)
        elif path.startswith("/files/"):
            self._file(path[len("/files/") :])
        else:
            self._send(404, b"not found", "text/plain")

    def _project_page(self, path: str) -> None:
        name = path[len("/simple/") :].strip("/")
        if not name:
            projects = sorted({f.project for f in self.fake.files})
            links = "".join(f'<a href="{p}/">{p}</a>\n' for p in projects)
            self._send(200, f"<html><body>{links}</body></html>".encode(), "text/html")
            return
        canonical = canonicalize_name(name)
        if canonical != name or not path.endswith("/"):
            self.send_response(301)
            self.send_header("Location", f"/simple/{canonical}/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if not self.fake.project_files(canonical):
            self._send(404, b"not found", "text/plain")
        elif self.fake.json and JSON_TYPE in self.headers.get("Accept", ""):
            self._send(200, self.fake.json_page(canonical), JSON_TYPE)
        else:
            self._send(200, self.fake.html_page(canonical), "text/html")

    def _file(self, filename: str) -> None:
        if filename.endswith(".metadata"):
            served = self._find(filename[: -len(".metadata")])
            if served is None or not self.fake.offers_metadata(served):
                self._send(404, b"not found", "text/plain")
            else:
                body = wheel_metadata(served.path)
                if served.tamper_metadata:
                    body = body.replace(b"Summary:", b"Summary: tampered")
                self._send(200, body, "text/plain")
            return
        served = self._find(filename)
        if served is None:
            self._send(404, b"not found", "text/plain")
            return
        data = served.served_data
        cut = self.fake.cut_after.get(filename)
        hang = self.fake.hang_after.get(filename)
        limit = cut if cut is not None else hang
        if limit is None:
            self._send(200, data, "application/octet-stream")
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[:limit])
        self.wfile.flush()
        if hang is not None:
            # Stall until the client times out and goes away, or the server stops.
            deadline = time.monotonic() + self.fake.hang_seconds
            while not self.fake._stopping.is_set() and time.monotonic() < deadline:
                time.sleep(0.05)
        self.close_connection = True

    def _find(self, filename: str) -> Served | None:
        return next((f for f in self.fake.files if f.filename == filename), None)

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


# -- pytest fixtures --------------------------------------------------------------------------
#
# Either load this module as a plugin (`pytest_plugins = ["tests.fakeindex"]` in the root
# conftest) and take `fake_index`, or define a local fixture in a test module:
#
#     @pytest.fixture
#     def fake_index(tmp_path: Path) -> Iterator[FakeIndex]:
#         yield from serving(tmp_path / "fakeindex")


def serving(root: Path) -> Iterator[FakeIndex]:
    """Start a FakeIndex rooted at `root`, yield it, stop it (the body of a fixture)."""
    with FakeIndex(root) as index:
        yield index


@pytest.fixture
def fake_index(tmp_path: Path) -> Iterator[FakeIndex]:
    """A started, empty FakeIndex rooted in tmp_path/fakeindex; stopped after the test."""
    yield from serving(tmp_path / "fakeindex")
