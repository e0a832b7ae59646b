"""The transport layer: one HTTP session per run, bounded requests, retries, cancellation.

Below the index client (`bundler.index`) and the downloader (`bundler.net.download`), which both
use it and never each other. Every request it makes is bounded, whatever the server does:

- **Redirects** are followed by hand, at most `max_redirects`, and only to http/https (a
  `Location: file:///etc/passwd` is refused, not handed to another adapter).
- **Size.** A page or metadata body is refused past its limit (Content-Length first, then the
  bytes actually received, after any Content-Encoding is undone).
- **Time.** `timeout` bounds each connect and each read; a watchdog thread bounds the whole
  request: a page or metadata request must be done within `deadline` seconds, a file download
  within `deadline + received / min_rate` (so a body trickled at 1 byte/s fails at the
  deadline, and an honest slow link keeps going). When time is up, or the run is cancelled
  (Ctrl-C, a failed sibling download), the watchdog shuts the request's socket down, which
  unblocks a read stuck in the kernel.
- **Retries** of transient failures (connection errors, cut bodies, read timeouts, 408/429/5xx)
  with exponential backoff; a deadline or a refused answer is never retried.
"""

from __future__ import annotations

import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urljoin, urlsplit

if TYPE_CHECKING:  # requests and urllib3 load with the first request (`bundler.net.connections`)
    import requests

from bundler import __version__
from bundler.errors import BadAnswer, BundlerError, IndexUnavailable
from bundler.models.source import REMOTE_SCHEMES
from bundler.net.settings import NetworkSettings

T = TypeVar("T")

USER_AGENT = f"airgap-kit/{__version__} (+bundler fetch)"
RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})
BACKOFF = 0.5
"""Seconds before the first retry; doubled for each further attempt."""
CHUNK = 64 * 1024
"""Bytes per body read: small enough that progress (and the rate rule) is seen often."""
SPECULATION_CONNECTIONS = 16
"""Connections kept beyond `jobs`: the resolver's prefetch threads and the pip-bootstrap
resolution share the run's session with the downloads (a smaller pool makes urllib3 discard
connections and log a warning)."""
WATCH_INTERVAL = 0.1
"""Seconds between the watchdog's looks at the requests in flight."""


class TransientError(Exception):
    """A failure worth retrying (connection cut, timeout, 5xx)."""


class Cancelled(BundlerError):
    """Another download of the same batch failed (or Ctrl-C); this one stopped early."""


class DeadlineExceeded(IndexUnavailable):
    """A request did not complete within its overall deadline (never retried)."""


# -- the watchdog: deadlines and cancellation reach a blocked socket read -----------------------


class Watch:
    """One request in flight: its sockets, its byte count, its time budget."""

    def __init__(self, budget: Callable[[int], float], cancel: threading.Event | None) -> None:
        self.start = time.monotonic()
        self.budget = budget
        """Seconds allowed, given the body bytes received so far."""
        self.cancel = cancel
        self.received = 0
        self.reason: str | None = None
        """Why the request was stopped ('deadline' or 'cancelled'), None while it runs."""
        self._conns: list[Any] = []
        self._lock = threading.Lock()

    def attach(self, conn: Any) -> None:
        with self._lock:
            self._conns.append(conn)
            stopped = self.reason is not None
        if stopped:
            _shutdown(conn)

    def check(self, now: float) -> None:
        if self.reason is not None:
            return
        if self.cancel is not None and self.cancel.is_set():
            self.stop("cancelled")
        elif now - self.start > self.budget(self.received):
            self.stop("deadline")

    def stop(self, reason: str) -> None:
        with self._lock:
            if self.reason is None:
                self.reason = reason
            conns = list(self._conns)
        for conn in conns:
            _shutdown(conn)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.start


def _shutdown(thing: Any) -> None:
    """Shut down a socket, or the socket of a connection (unblocks a read in another thread)."""
    sock = thing if isinstance(thing, socket.socket) else getattr(thing, "sock", None)
    if sock is not None:
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class Watchdog:
    """A daemon thread looking at every request in flight every WATCH_INTERVAL seconds."""

    def __init__(self) -> None:
        self._watches: weakref.WeakSet[Watch] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, watch: Watch) -> None:
        with self._lock:
            self._watches.add(watch)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="airgap-kit-watchdog", daemon=True
                )
                self._thread.start()

    def remove(self, watch: Watch) -> None:
        with self._lock:
            self._watches.discard(watch)

    def _run(self) -> None:
        while True:
            time.sleep(WATCH_INTERVAL)
            with self._lock:
                watches = list(self._watches)
            now = time.monotonic()
            for watch in watches:
                watch.check(now)


_WATCHDOG = Watchdog()
CURRENT_REQUEST = threading.local()
"""The watch of the request this thread is making (read by the connection classes below)."""


# -- the transport --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    """A complete, bounded answer: the final URL (after redirects), status, type, body."""

    url: str
    status: int
    content_type: str
    body: bytes


class Body:
    """An open response whose body is read in bounded chunks (see `Transport.stream`)."""

    def __init__(
        self,
        response: requests.Response,
        watch: Watch,
        limit: int,
        what: str,
        timeout: float | None = None,
    ) -> None:
        self.response = response
        self.url = response.url
        self.status = response.status_code
        self.content_type = response.headers.get("Content-Type", "")
        self._watch = watch
        self._limit = limit
        self._what = what
        self._timeout = timeout

    def chunks(self) -> Iterator[bytes]:
        """The body, `CHUNK` bytes at a time; BadAnswer past the limit; `TransientError`
        ("no data for N s") when the server sends nothing for the read timeout (urllib3's
        error would name its pool, not the wait)."""
        blocks = self.response.iter_content(CHUNK)
        while True:
            try:
                block = next(blocks)
            except StopIteration:
                return
            except _transient() as exc:
                from bundler.net import connections

                if self._timeout is None or not connections.is_read_timeout(exc):
                    raise
                raise TransientError(
                    f"no data for {self._timeout:g} s (the read timeout, --timeout)"
                ) from None
            self._watch.received += len(block)
            if self._watch.received > self._limit:
                raise BadAnswer(f"{self._what}: larger than the {self._limit}-byte limit")
            yield block


class Transport:
    """HTTP for one run: one session, the run's `NetworkSettings`, bounded requests."""

    def __init__(self, settings: NetworkSettings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self._session = session
        self._session_lock = threading.Lock()

    @property
    def session(self) -> requests.Session:
        """The run's session, made on first use (so a run that asks no server never imports
        requests: `bundler.net.connections`)."""
        with self._session_lock:
            if self._session is None:
                self._session = make_session(max(self.settings.jobs, 1) + SPECULATION_CONNECTIONS)
            return self._session

    def get(
        self,
        url: str,
        *,
        what: str,
        limit: int,
        accept: str | None = None,
        cancel: threading.Event | None = None,
    ) -> Response:
        """The whole answer at `url` (404 included), retried, within `settings.deadline`.

        Raises `IndexUnavailable` (unreachable after retries, an HTTP error), `BadAnswer`
        (a redirect off http(s), too many redirects, a body over `limit`),
        `DeadlineExceeded`.
        """

        def attempt() -> Response:
            budget = self.settings.deadline
            with self.stream(url, what=what, limit=limit, budget=lambda _: budget,
                             accept=accept, cancel=cancel) as body:  # fmt: skip
                if body.status == 404:
                    return Response(body.url, 404, "", b"")
                check_status(body.response, what)
                data = b"".join(body.chunks())
                return Response(body.url, body.status, body.content_type, data)

        return with_retries(attempt, retries=self.settings.retries, what=what)

    @contextmanager
    def stream(
        self,
        url: str,
        *,
        what: str,
        limit: int,
        budget: Callable[[int], float],
        accept: str | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[Body]:
        """One attempt at `url`: redirects followed (checked), the body left to read.

        `budget(received)` is the seconds the whole request may take once `received` body
        bytes have arrived. The caller checks the status (`check_status`) and retries.
        """
        watch = Watch(budget, cancel)
        _WATCHDOG.add(watch)
        CURRENT_REQUEST.watch = watch
        response: requests.Response | None = None
        try:
            response = self._follow(url, what, accept, watch)
            length = response.headers.get("Content-Length", "")
            if length.isdigit() and int(length) > limit:
                raise BadAnswer(f"{what}: {length} bytes is over the {limit}-byte limit")
            yield Body(response, watch, limit, what, self.settings.timeout)
        except BaseException as exc:
            if watch.reason is not None and not isinstance(exc, BundlerError):
                raise _stopped(watch, what, self.settings) from None
            raise
        finally:
            CURRENT_REQUEST.watch = None
            _WATCHDOG.remove(watch)
            if response is not None:
                response.close()

    def _follow(self, url: str, what: str, accept: str | None, watch: Watch) -> requests.Response:
        headers = {"Accept": accept} if accept else {}
        timeout = self.settings.timeout
        for _ in range(self.settings.max_redirects + 1):
            _check_scheme(url, what)
            if watch.reason is not None:
                raise _stopped(watch, what, self.settings)
            try:
                response = self.session.get(
                    url, headers=headers, timeout=timeout, stream=True, allow_redirects=False
                )
            except _invalid_url() as exc:
                raise BadAnswer(f"{what}: invalid URL {url[:200]!r} ({_reason(exc)})") from None
            if response.status_code not in REDIRECT_STATUS:
                return response
            location = response.headers.get("Location")
            response.close()
            if not location:
                raise BadAnswer(f"{what}: redirect without a Location")
            url = urljoin(url, location)
        raise BadAnswer(f"{what}: more than {self.settings.max_redirects} redirects")


def make_session(pool_size: int = 16) -> requests.Session:
    """A `requests` session with a pool big enough for `pool_size` parallel downloads, its
    connections watched and one TLS context per CA bundle (`bundler.net.connections`).

    Retries are done by `with_retries` (so that a body cut mid-stream is retried too), not by
    urllib3; redirects by `Transport` (scheme-checked, counted).
    """
    from bundler.net import connections  # requests and urllib3, on first use

    return connections.make_session(pool_size)


def _transient() -> tuple[type[BaseException], ...]:
    from bundler.net import connections

    return connections.TRANSIENT


def _invalid_url() -> tuple[type[BaseException], ...]:
    from bundler.net import connections

    return connections.INVALID_URL


def _check_scheme(url: str, what: str) -> None:
    scheme = urlsplit(url).scheme.lower()
    if scheme not in REMOTE_SCHEMES:
        raise BadAnswer(f"{what}: refused to follow {url[:200]!r} (only http/https)")


def _stopped(watch: Watch, what: str, settings: NetworkSettings) -> BundlerError:
    if watch.reason == "cancelled":
        return Cancelled(f"{what}: cancelled")
    return DeadlineExceeded(
        f"{what}: no complete answer within {watch.elapsed:.0f} s "
        f"(deadline {settings.deadline:g} s; the server is too slow or stalling)"
    )


class Cancellation(threading.Event):
    """An Event that stops the requests watching it (see `Transport.stream`'s `cancel`).

    `set()` also makes the watchdog shut their sockets at its next look (<= 0.1 s).
    """


def with_retries(action: Callable[[], T], *, retries: int, what: str) -> T:
    """Run `action`, retrying transient network failures with exponential backoff.

    After `retries` retries the last failure becomes `IndexUnavailable` naming `what`.
    """
    attempt = 0
    while True:
        try:
            return action()
        except _transient() as exc:  # called only when something was raised
            if attempt >= retries:
                raise IndexUnavailable(
                    f"{what}: {_reason(exc)} (gave up after {attempt + 1} attempts)"
                ) from None
            time.sleep(BACKOFF * (2**attempt))
            attempt += 1


def _reason(exc: BaseException) -> str:
    text = " ".join((str(exc) or type(exc).__name__).split())
    return text if len(text) < 200 else text[:197] + "..."


def check_status(response: requests.Response, what: str) -> None:
    """Raise `TransientError` for retryable statuses, `IndexUnavailable` for other errors."""
    if response.status_code in RETRY_STATUS:
        raise TransientError(f"HTTP {response.status_code}")
    if response.status_code >= 400:
        raise IndexUnavailable(f"{what}: HTTP {response.status_code} {response.reason}")
