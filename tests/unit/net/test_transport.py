"""bundler.net.transport: bounded requests against tests/hostileindex.py and the fake index."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bundler.errors import BadAnswer, IndexUnavailable
from bundler.net.settings import NetworkSettings
from bundler.net.transport import Cancellation, Cancelled, DeadlineExceeded, Transport
from tests.fakeindex import FakeIndex
from tests.hostileindex import HostileIndex
from tests.tlsserver import tls_server as serve_tls


def _get(transport: Transport, url: str, limit: int = 1 << 20) -> bytes:
    return transport.get(url, what=f"GET {url}", limit=limit).body


def test_redirects_are_followed_to_http_only(tmp_path: Path) -> None:
    with HostileIndex(tmp_path, mode="redirect-to-file") as hostile:
        url = f"{hostile.base}/files/{hostile.wheel.name}"
        with pytest.raises(BadAnswer, match=r"refused to follow 'file:///etc/passwd'"):
            _get(Transport(NetworkSettings(retries=0)), url)


def test_redirects_are_counted(tmp_path: Path) -> None:
    with HostileIndex(tmp_path, mode="redirect-loop") as hostile:
        transport = Transport(NetworkSettings(retries=0, max_redirects=3))
        with pytest.raises(BadAnswer, match="more than 3 redirects"):
            _get(transport, hostile.url + "alpha/")
        assert hostile.requests.count("/simple/alpha/") == 4


def test_a_body_over_the_limit_is_refused_while_it_streams(tmp_path: Path) -> None:
    with HostileIndex(tmp_path, mode="huge-page") as hostile:
        started = time.monotonic()
        with pytest.raises(BadAnswer, match="larger than the 1048576-byte limit"):
            _get(Transport(NetworkSettings(retries=0)), hostile.url + "alpha/")
        assert time.monotonic() - started < 10


def test_the_deadline_reaches_a_trickled_body(tmp_path: Path) -> None:
    """A byte every 0.2 s never trips a 30 s read timeout; the 1 s deadline stops it."""
    with HostileIndex(tmp_path, mode="trickle") as hostile:
        transport = Transport(NetworkSettings(retries=3, timeout=30, deadline=1))
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded, match=r"no complete answer within 1 s"):
            _get(transport, hostile.url + "alpha/")
        assert time.monotonic() - started < 5  # and a deadline is not retried


def test_cancellation_reaches_a_stalled_read(fake_index: FakeIndex) -> None:
    served = fake_index.add_wheel("big", "1.0", payload=200_000)
    fake_index.hang_after[served.filename] = 1000
    cancel = Cancellation()
    threading.Timer(0.5, cancel.set).start()
    transport = Transport(NetworkSettings(retries=0, timeout=60, deadline=60))
    started = time.monotonic()
    with pytest.raises(Cancelled):
        transport.get(f"{fake_index.base}/files/{served.filename}", what="x", limit=1 << 20,
                      cancel=cancel)  # fmt: skip
    assert time.monotonic() - started < 5


def test_an_honest_answer_and_a_404(fake_index: FakeIndex) -> None:
    served = fake_index.add_wheel("tiny", "1.0")
    transport = Transport(NetworkSettings())
    assert _get(transport, f"{fake_index.base}/files/{served.filename}") == served.data
    answer = transport.get(f"{fake_index.base}/nothing", what="x", limit=10)
    assert answer.status == 404 and answer.body == b""


def test_the_session_pool_covers_downloads_and_speculation(
    fake_index: FakeIndex, caplog: pytest.LogCaptureFixture
) -> None:
    """Downloads (`jobs`) and the resolver's prefetch threads share one session: with a pool
    of only `jobs` connections urllib3 discards the extra ones and logs a warning, which
    reached stderr beside the one error line."""
    served = fake_index.add_wheel("tiny", "1.0", payload=50_000)
    transport = Transport(NetworkSettings(jobs=1))
    url = f"{fake_index.base}/files/{served.filename}"
    threads = [threading.Thread(target=_get, args=(transport, url)) for _ in range(12)]
    with caplog.at_level("WARNING", logger="urllib3"):
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert "Connection pool is full" not in caplog.text


# -- TLS: one context per CA bundle, loaded once (issue #17, finding 2) ----------------------------


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, list[int]]]:
    """An HTTPS server on 127.0.0.1 with a self-signed certificate that closes every connection
    after one answer: (base URL, the certificate as a CA bundle, a list with the number of TLS
    connections accepted)."""
    with serve_tls(tmp_path_factory.mktemp("tls"), "127.0.0.1", "IP:127.0.0.1") as server:
        yield f"https://127.0.0.1:{server.port}", server.cert, server.accepted


def test_the_ca_bundle_is_loaded_once_per_session(
    tls_server: tuple[str, Path, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With REQUESTS_CA_BUNDLE set (as on this machine and many corporate ones), five new TLS
    connections load the bundle once, not five times, and still verify against it."""
    url, cert, accepted = tls_server
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    loads: list[object] = []
    real = ssl.SSLContext.load_verify_locations

    def counted(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        loads.append(args or kwargs)
        real(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counted)
    transport = Transport(NetworkSettings(retries=0))
    before = accepted[0]
    for n in range(5):
        assert _get(transport, f"{url}/page{n}") == f"hello /page{n}".encode()
    assert accepted[0] - before == 5  # the server closed each: five TLS handshakes
    assert loads == [{"cafile": str(cert)}]


def test_verification_still_refuses_an_unknown_certificate(
    tls_server: tuple[str, Path, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shared context verifies: against the system bundle, the self-signed server is
    refused (one line, no traceback), and a missing bundle is an error, not 'no check'."""
    url, _, _ = tls_server
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    with pytest.raises(IndexUnavailable, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify"):
        _get(Transport(NetworkSettings(retries=0)), f"{url}/x")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/bundle.pem")
    with pytest.raises(IndexUnavailable, match=r"cannot read the TLS CA bundle /nonexistent/"):
        _get(Transport(NetworkSettings(retries=0)), f"{url}/x")
