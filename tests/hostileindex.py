"""A hostile package index for tests: one mode per attack of issue #10, on 127.0.0.1.

    with HostileIndex(tmp_path / "hostile", mode="traversal-json") as hostile:
        run(["fetch", "alpha", "--index-url", hostile.url, ...])

It serves one real project, `alpha` 1.0 (a real wheel built by tests/fakeindex.py, with real
PEP 658 metadata), and lies about it the way its `mode` says (see `MODES`). Every loop in the
server is bounded (bytes, seconds), each request handler gives up when the server stops, and a
timer stops the whole server after `lifetime` seconds even if a test forgets to.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.fakeindex import JSON_TYPE, build_wheel, sha256_hex, wheel_metadata

MODES = {
    "honest": "a correct PEP 691 page (the control)",
    "traversal-json": "JSON entry named alpha-1.0-1/../../../../PWNED-py3-none-any.whl",
    "traversal-html": "HTML link whose last segment is alpha-1.0-1%2F..%2F..%2FPWNED-...whl",
    "nested-tag": "JSON entry named alpha-1.0-py3-none-any.zz/sub.whl",
    "name-not-url": "JSON filename differs from the URL's last segment",
    "file-url": "JSON entry whose url is file:///etc/passwd",
    "redirect-to-file": "the wheel URL answers 302 Location: file:///etc/passwd",
    "redirect-loop": "the project page redirects to itself forever",
    "unhashed-swap": "HTML page without #sha256 serving another valid alpha wheel",
    "pep658-lie": "the .metadata drops a Requires-Dist (its advertised hash matches the lie)",
    "pep658-extra": "the .metadata adds a Requires-Dist on gamma, a project no index has",
    "pep658-ver": "the .metadata narrows Requires-Dist beta to beta<0.5 (no such version)",
    "pep658-spelling": "not a lie: the .metadata spells Requires-Dist beta as 'Beta >= 0.1, != 0.2'"
    " and the wheel as 'beta!=0.2,>=0.1' (the same requirement)",
    "huge-page": "an endless page body without Content-Length",
    "huge-length": "a page announcing a 300 MB Content-Length",
    "trickle": "the page body trickles one byte every 0.2 s",
    "json-no-url": "a JSON entry without url",
    "json-string-entry": "files is a list of strings",
    "json-hashes-string": "hashes is a string",
    "json-files-int": "files is an int",
    "json-filename-int": "filename is an int",
    "garbage": "random bytes with the JSON content type",
    "bad-sha256": "a sha256 that is not 64 hex digits",
}


@dataclass
class HostileIndex:
    root: Path
    mode: str = "honest"
    lifetime: float = 120.0
    """Seconds after which the server stops itself."""
    requests: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        assert self.mode in MODES, self.mode
        files = self.root / "files"
        requires = ["beta!=0.2,>=0.1"] if self.mode == "pep658-spelling" else ["beta"]
        self.wheel = build_wheel(files, "alpha", "1.0", requires_dist=requires)
        self.other = build_wheel(files / "other", "alpha", "1.0", summary="attacker's")
        self.beta = build_wheel(files, "beta", "1.0")

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def base(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        return self.base + "/simple/"

    def start(self) -> HostileIndex:
        hostile = self

        class Handler(_Handler):
            index = hostile

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        self._timer = threading.Timer(self.lifetime, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._timer.cancel()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> HostileIndex:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- answers -----------------------------------------------------------------------------

    def entry(self, wheel: Path, **override: Any) -> dict[str, Any]:
        data = wheel.read_bytes()
        entry = {
            "filename": wheel.name,
            "url": f"{self.base}/files/{wheel.name}",
            "hashes": {"sha256": sha256_hex(data)},
            "size": len(data),
            "core-metadata": {"sha256": sha256_hex(self.metadata(wheel))},
        }
        entry.update(override)
        return entry

    def metadata(self, wheel: Path) -> bytes:
        body = wheel_metadata(wheel)
        if wheel != self.wheel:
            return body
        line = b"Requires-Dist: beta\n"
        lies = {
            "pep658-lie": (line, b""),
            "pep658-extra": (line, line + b"Requires-Dist: gamma\n"),
            "pep658-ver": (line, b"Requires-Dist: beta<0.5\n"),
            "pep658-spelling": (
                b"Requires-Dist: beta!=0.2,>=0.1\n",
                b"Requires-Dist: Beta >= 0.1, != 0.2\n",
            ),
        }
        if self.mode in lies:
            old, new = lies[self.mode]
            assert old in body, body
            body = body.replace(old, new)
        return body

    def page(self, project: str) -> tuple[bytes, str]:
        wheel = self.wheel if project == "alpha" else self.beta
        mode = self.mode if project == "alpha" else "honest"
        evil = "alpha-1.0-1/../../../../PWNED-py3-none-any.whl"
        files: Any = [self.entry(wheel)]
        if mode == "traversal-json":
            files = [self.entry(wheel, filename=evil)]
        elif mode == "nested-tag":
            files = [self.entry(wheel, filename="alpha-1.0-py3-none-any.zz/sub.whl")]
        elif mode == "name-not-url":
            files = [self.entry(wheel, filename="alpha-1.0-py2-none-any.whl")]
        elif mode == "file-url":
            files = [self.entry(wheel, url="file:///etc/passwd")]
        elif mode == "json-no-url":
            files = [{k: v for k, v in self.entry(wheel).items() if k != "url"}]
        elif mode == "json-string-entry":
            files = [wheel.name]
        elif mode == "json-hashes-string":
            files = [self.entry(wheel, hashes="sha256=" + "0" * 64)]
        elif mode == "json-files-int":
            files = 5
        elif mode == "json-filename-int":
            files = [self.entry(wheel, filename=7)]
        elif mode == "bad-sha256":
            files = [self.entry(wheel, hashes={"sha256": "../../etc"})]
        elif mode == "garbage":
            return bytes(range(256)) * 8, JSON_TYPE
        elif mode in ("traversal-html", "unhashed-swap"):
            if mode == "traversal-html":
                href = f"/files/alpha-1.0-1%2F..%2F..%2FPWNED-py3-none-any.whl#sha256={'0' * 64}"
            else:
                href = f"/files/{wheel.name}"  # no hash: and the file served is another one
            return f'<html><body><a href="{href}">x</a></body></html>'.encode(), "text/html"
        body = {"meta": {"api-version": "1.1"}, "name": project, "files": files}
        return json.dumps(body).encode(), JSON_TYPE


class _Handler(BaseHTTPRequestHandler):
    index: HostileIndex

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        hostile = self.index
        path = self.path.split("?", 1)[0]
        hostile.requests.append(path)
        mode = hostile.mode
        if path.startswith("/simple/"):
            project = path[len("/simple/") :].strip("/")
            if project not in ("alpha", "beta"):
                return self._send(404, b"no", "text/plain")
            if project == "alpha" and mode == "redirect-loop":
                return self._redirect(f"/simple/{project}/")
            if project == "alpha" and mode == "huge-length":
                self.send_response(200)
                self.send_header("Content-Type", JSON_TYPE)
                self.send_header("Content-Length", str(300 << 20))
                self.end_headers()
                return self._stream(b"x" * 65536, limit=4 << 20, pause=0.0)
            if project == "alpha" and mode == "huge-page":
                self.send_response(200)
                self.send_header("Content-Type", JSON_TYPE)
                self.end_headers()  # no length: the body ends when the connection closes
                return self._stream(b'{"files": [' + b" " * 65535, limit=256 << 20, pause=0.0)
            body, ctype = hostile.page(project)
            if project == "alpha" and mode == "trickle":
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                return self._stream(body[:1], limit=len(body), pause=0.2, repeat_slowly=body)
            return self._send(200, body, ctype)
        if path.startswith("/files/"):
            name = path[len("/files/") :]
            if name.endswith(".metadata"):
                wheel = hostile.root / "files" / name[: -len(".metadata")]
                if not wheel.is_file():
                    return self._send(404, b"no", "text/plain")
                return self._send(200, hostile.metadata(wheel), "text/plain")
            if mode == "redirect-to-file" and name == hostile.wheel.name:
                return self._redirect("file:///etc/passwd")
            served = hostile.other if mode == "unhashed-swap" else hostile.root / "files" / name
            if not served.is_file():
                return self._send(404, b"no", "text/plain")
            return self._send(200, served.read_bytes(), "application/octet-stream")
        return self._send(404, b"no", "text/plain")

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _stream(
        self, block: bytes, *, limit: int, pause: float, repeat_slowly: bytes | None = None
    ) -> None:
        """Send `block` again and again up to `limit` bytes (or, with `repeat_slowly`, that
        body one byte at a time), `pause` seconds apart; stop when the client goes away, the
        server stops, or after 60 s."""
        sent, deadline = 0, time.monotonic() + 60
        data = repeat_slowly
        try:
            while sent < limit and time.monotonic() < deadline:
                if self.index._stopping.is_set():
                    break
                chunk = data[sent : sent + 1] if data is not None else block
                self.wfile.write(chunk)
                self.wfile.flush()
                sent += len(chunk)
                if pause:
                    time.sleep(pause)
        except OSError:
            pass
        self.close_connection = True

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
