"""OSV advisories for the fake index's packages: an export zip and a local OSV API.

`ADVISORIES` are OSV-schema documents (https://ossf.github.io/osv-schema/) about the packages
tests/integration/test_trust.py fetches from tests/fakeindex.py (app 1.0, lib 1.0, tiny 0.3,
numpyish 1.19.5): a critical GHSA for lib with its PYSEC twin (aliases of each other), a
medium one for tiny listed by version, one for numpyish whose range starts above the pinned
version, a withdrawn one and one for another ecosystem (neither may match).

`write_export(path)` writes them as an OSV export zip (one ID.json per member, as
https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip). `OsvServer` answers
`POST /v1/querybatch` (ids only, one per page, with `next_page_token`, as the real API pages)
and `GET /v1/vulns/{id}` on 127.0.0.1, in a thread that stops itself after `lifetime`
seconds if the test does not stop it first.
"""

from __future__ import annotations

import json
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from packaging.version import Version

CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"  # 9.8

ADVISORIES: list[dict[str, Any]] = [
    {
        "id": "GHSA-lib1-crit-0001",
        "modified": "2026-11-20T10:00:00Z",
        "published": "2026-11-01T00:00:00Z",
        "aliases": ["CVE-2026-0001", "PYSEC-2026-1"],
        "summary": "lib: remote code execution in the parser",
        "severity": [{"type": "CVSS_V3", "score": CRITICAL}],
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "lib"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.1"}]}
                ],
            }
        ],
        "database_specific": {"severity": "CRITICAL"},
    },
    {
        "id": "PYSEC-2026-1",
        "modified": "2026-11-21T09:00:00Z",
        "aliases": ["CVE-2026-0001", "GHSA-lib1-crit-0001"],
        "details": "the same flaw, as PyPA's advisory database records it",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "lib"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.1"}]}
                ],
            }
        ],
    },
    {
        "id": "GHSA-tiny-medi-0002",
        "modified": "2026-10-02T00:00:00Z",
        "aliases": ["CVE-2026-0002"],
        "summary": "tiny: denial of service on huge inputs",
        "affected": [
            {"package": {"ecosystem": "PyPI", "name": "tiny"}, "versions": ["0.1", "0.2", "0.3"]}
        ],
        "database_specific": {"severity": "MODERATE"},
    },
    {
        "id": "GHSA-nump-high-0003",
        "modified": "2026-09-03T00:00:00Z",
        "summary": "numpyish 2.x only",
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}],
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "numpyish"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "2.0"}, {"fixed": "2.0.3"}]}
                ],
            }
        ],
    },
    {
        "id": "PYSEC-2026-9",
        "modified": "2026-08-01T00:00:00Z",
        "withdrawn": "2026-08-02T00:00:00Z",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "app"}, "versions": ["1.0"]}],
    },
    {
        "id": "GHSA-npm0-lib0-0004",
        "modified": "2026-11-25T00:00:00Z",
        "affected": [{"package": {"ecosystem": "npm", "name": "lib"}, "versions": ["1.0"]}],
    },
]
NEWEST_PYPI = "2026-11-21T09:00:00Z"
"""The newest `modified` among the PyPI advisories (the withdrawn one is not read)."""


def write_export(path: Path, advisories: list[dict[str, Any]] = ADVISORIES) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for advisory in advisories:
            zf.writestr(f"{advisory['id']}.json", json.dumps(advisory))
    return path


def _affects(advisory: dict[str, Any], name: str, version: str) -> bool:
    """A deliberately independent, simple matcher: listed versions and introduced/fixed."""
    if advisory.get("withdrawn"):
        return False
    for entry in advisory["affected"]:
        package = entry["package"]
        if package["ecosystem"] != "PyPI" or package["name"] != name:
            continue
        if version in entry.get("versions", []):
            return True
        for rng in entry.get("ranges", []):
            events = {k: v for e in rng["events"] for k, v in e.items()}
            low = Version(events["introduced"]) if events.get("introduced", "0") != "0" else None
            high = Version(events["fixed"]) if "fixed" in events else None
            v = Version(version)
            if (low is None or v >= low) and (high is None or v < high):
                return True
    return False


class OsvServer:
    """The OSV API subset the kit uses, on 127.0.0.1, stopping itself after `lifetime` s."""

    def __init__(self, advisories: list[dict[str, Any]] = ADVISORIES, lifetime: float = 120):
        self.advisories = {a["id"]: a for a in advisories}
        self.requests: list[str] = []
        self.lifetime = lifetime
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                server.requests.append(f"POST {self.path}")
                if self.path != "/v1/querybatch":
                    return self._send(404, {"message": "not found"})
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                results = [server.answer(q) for q in body["queries"]]
                self._send(200, {"results": results})

            def do_GET(self) -> None:
                server.requests.append(f"GET {self.path}")
                vuln_id = self.path.removeprefix("/v1/vulns/")
                if vuln_id not in server.advisories:
                    return self._send(404, {"message": "Bug not found."})
                self._send(200, server.advisories[vuln_id])

            def _send(self, status: int, data: Any) -> None:
                payload = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._timer = threading.Timer(lifetime, self.stop)
        self._timer.daemon = True

    def answer(self, query: dict[str, Any]) -> dict[str, Any]:
        """One page (one id) of the ids affecting the query's package, by id order."""
        name, version = query["package"]["name"], query["version"]
        ids = sorted(i for i, a in self.advisories.items() if _affects(a, name, version))
        start = int(query.get("page_token") or 0)
        page: dict[str, Any] = {}
        if ids[start : start + 1]:
            page["vulns"] = [
                {"id": ids[start], "modified": self.advisories[ids[start]]["modified"]}
            ]
        if start + 1 < len(ids):
            page["next_page_token"] = str(start + 1)
        return page

    def __enter__(self) -> OsvServer:
        self._thread.start()
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._timer.cancel()
        self.httpd.shutdown()
        self.httpd.server_close()
