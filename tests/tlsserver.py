"""An HTTPS server on 127.0.0.1 for transport tests: a self-signed certificate made with the
openssl CLI for the names given, an answer `hello PATH` per request, each connection closed
after one answer (so every request is a new TLS handshake), and a count of the connections."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class TLSServer:
    port: int
    cert: Path
    """The self-signed certificate, usable as a CA bundle."""
    accepted: list[int] = field(default_factory=lambda: [0])
    """[number of TLS connections accepted]."""


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = b"hello " + self.path.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True


@contextmanager
def tls_server(root: Path, subject: str, alt_names: str) -> Iterator[TLSServer]:
    """Serve HTTPS on 127.0.0.1 with a certificate for `subject` (CN) and `alt_names`
    (subjectAltName, e.g. 'IP:127.0.0.1' or 'DNS:index.test'); files go into `root`."""
    cert, key = root / "cert.pem", root / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={subject}",
         "-addext", f"subjectAltName={alt_names}"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    accepted = [0]

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def get_request(self) -> tuple[socket.socket, object]:
            sock, addr = super().get_request()
            accepted[0] += 1
            return context.wrap_socket(sock, server_side=True), addr

    server = Server(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield TLSServer(server.server_address[1], cert, accepted)
    finally:
        server.shutdown()
        server.server_close()
