"""The transport layer: one HTTP session per run, retries with backoff, cancellation.

Below the index client and the downloader (`bundler.net.download`); imports nothing above it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import requests
from requests.adapters import HTTPAdapter

from bundler import __version__
from bundler.errors import BundlerError, IndexUnavailable

T = TypeVar("T")

USER_AGENT = f"airgap-kit/{__version__} (+bundler fetch)"
RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
BACKOFF = 0.5
"""Seconds before the first retry; doubled for each further attempt."""


class TransientError(Exception):
    """A failure worth retrying (connection cut, timeout, 5xx)."""


_TRANSIENT = (
    TransientError,
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


class Cancelled(BundlerError):
    """Another download of the same batch failed (or Ctrl-C); this one stopped early."""


class Cancellation(threading.Event):
    """An Event that, when set, also interrupts the HTTP bodies being read under it.

    A body stalled in a socket read would otherwise hold Ctrl-C up for the whole read timeout;
    urllib3's `HTTPResponse.shutdown()` (urllib3 >= 2.3) unblocks that read from another thread.
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._active: set[Any] = set()

    def set(self) -> None:
        super().set()
        with self._lock:
            active = list(self._active)
        for raw in active:
            _shutdown(raw)

    @contextmanager
    def watching(self, raw: Any) -> Iterator[None]:
        with self._lock:
            self._active.add(raw)
        try:
            if self.is_set():
                _shutdown(raw)
            yield
        finally:
            with self._lock:
                self._active.discard(raw)


def _shutdown(raw: Any) -> None:
    shutdown = getattr(raw, "shutdown", None)
    if shutdown is not None:
        with suppress(Exception):
            shutdown()


def make_session(pool_size: int = 16) -> requests.Session:
    """A `requests` session with a pool big enough for `pool_size` parallel downloads.

    Retries are done by `with_retries` (so that a body cut mid-stream is retried too), not by
    urllib3.
    """
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def with_retries(action: Callable[[], T], *, retries: int, what: str) -> T:
    """Run `action`, retrying transient network failures with exponential backoff.

    After `retries` retries the last failure becomes `IndexUnavailable` naming `what`.
    """
    attempt = 0
    while True:
        try:
            return action()
        except _TRANSIENT as exc:
            if attempt >= retries:
                raise IndexUnavailable(
                    f"{what}: {_reason(exc)} (gave up after {attempt + 1} attempts)"
                ) from exc
            time.sleep(BACKOFF * (2**attempt))
            attempt += 1


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) < 200 else text[:197] + "..."


def check_status(response: requests.Response, what: str) -> None:
    """Raise `TransientError` for retryable statuses, `IndexUnavailable` for other errors."""
    if response.status_code in RETRY_STATUS:
        raise TransientError(f"HTTP {response.status_code}")
    if response.status_code >= 400:
        raise IndexUnavailable(f"{what}: HTTP {response.status_code} {response.reason}")


def local_path(url: str) -> Path | None:
    """The filesystem path of a file:// URL, else None."""
    parts = urlsplit(url)
    if parts.scheme != "file":
        return None
    return Path(unquote(parts.path))
