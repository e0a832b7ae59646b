"""bundler.net.transport: bounded requests against tests/hostileindex.py and the fake index."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from bundler.errors import BadAnswer
from bundler.net.settings import NetworkSettings
from bundler.net.transport import Cancellation, Cancelled, DeadlineExceeded, Transport
from tests.fakeindex import FakeIndex
from tests.hostileindex import HostileIndex


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
