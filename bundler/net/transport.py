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

import os
import socket
import ssl
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.connection
import urllib3.connectionpool
from requests.adapters import HTTPAdapter
from requests.utils import DEFAULT_CA_BUNDLE_PATH
from urllib3.util.ssl_ import create_urllib3_context

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


_TRANSIENT = (
    TransientError,
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    urllib3.exceptions.ProtocolError,
)


# -- the watchdog: deadlines and cancellation reach a blocked socket read -----------------------


class _Watch:
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


class _Watchdog:
    """A daemon thread looking at every request in flight every WATCH_INTERVAL seconds."""

    def __init__(self) -> None:
        self._watches: weakref.WeakSet[_Watch] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, watch: _Watch) -> None:
        with self._lock:
            self._watches.add(watch)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="airgap-kit-watchdog", daemon=True
                )
                self._thread.start()

    def remove(self, watch: _Watch) -> None:
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


_WATCHDOG = _Watchdog()
_CURRENT = threading.local()
"""The watch of the request this thread is making (read by the connection classes below)."""


class _WatchedMixin:
    """A urllib3 connection that registers itself, then its socket, with the current
    request's watch. The socket is kept apart: http.client hands it to the response and
    forgets it when the server says it will close (HTTP/1.0), so `conn.sock` is None then."""

    sock: Any

    def request(self, *args: Any, **kwargs: Any) -> Any:
        watch: _Watch | None = getattr(_CURRENT, "watch", None)
        if watch is not None:
            watch.attach(self)
        return super().request(*args, **kwargs)  # type: ignore[misc]

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        watch: _Watch | None = getattr(_CURRENT, "watch", None)
        if watch is not None and self.sock is not None:
            watch.attach(self.sock)
        return super().getresponse(*args, **kwargs)  # type: ignore[misc]


class _HTTPConnection(_WatchedMixin, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_WatchedMixin, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _WatchedAdapter(HTTPAdapter):
    """requests' adapter with watched connections and one TLS context per CA bundle.

    requests hands urllib3 the CA bundle's *path* (`verify`: REQUESTS_CA_BUNDLE,
    CURL_CA_BUNDLE, else certifi's), and urllib3 loads that file into a fresh `SSLContext`
    for every new connection: ~35 ms of CPU each with OpenSSL 3 (python/cpython#95031), 10-16
    times a cold fetch (issue #17, benchmarks/PROFILE.md finding 2). Here the bundle is loaded
    once into a context (`tls_context`) that every https pool of the adapter shares, and the
    path is taken out of the pool and connection arguments so urllib3 does not load it again
    into that context (its `ssl_wrap_socket` would: urllib3/urllib3#4983 is its own, unmerged
    cache). Verification is unchanged: CERT_REQUIRED and urllib3's hostname check, against
    the same bundle requests would use. pip keeps one context per session the same way
    (pypa/pip#13199); requests itself only preloads when no bundle variable is set
    (psf/requests#6667).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._tls_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}

    def tls_context(self, bundle: str) -> ssl.SSLContext:
        """The context holding CA bundle `bundle` (a file, or a directory as for OpenSSL's
        -CApath), loaded on first use; OSError when it cannot be read."""
        with self._tls_lock:
            context = self._contexts.get(bundle)
            if context is None:
                context = create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED)
                if os.path.isdir(bundle):
                    context.load_verify_locations(capath=bundle)
                else:
                    context.load_verify_locations(cafile=bundle)
                self._contexts[bundle] = context
            return context

    def build_connection_pool_key_attributes(
        self, request: Any, verify: Any, cert: Any = None
    ) -> Any:
        base: Any = super()
        host_params, pool_kwargs = base.build_connection_pool_key_attributes(request, verify, cert)
        bundle = _bundle(verify)
        if host_params.get("scheme") == "https" and bundle is not None:
            pool_kwargs.pop("ca_certs", None)
            pool_kwargs.pop("ca_cert_dir", None)
            try:
                pool_kwargs["ssl_context"] = self.tls_context(bundle)
            except (OSError, ssl.SSLError) as exc:  # one line, not requests' raw OSError
                raise IndexUnavailable(
                    f"cannot read the TLS CA bundle {bundle} (REQUESTS_CA_BUNDLE, "
                    f"CURL_CA_BUNDLE, else certifi's): {exc.strerror or exc}"
                ) from None
        return host_params, pool_kwargs

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        base: Any = super()
        base.cert_verify(conn, url, verify, cert)
        if url.lower().startswith("https") and _bundle(verify) is not None:
            conn.ca_certs = None  # already in the pool's ssl_context (see the class docstring)
            conn.ca_cert_dir = None


def _bundle(verify: Any) -> str | None:
    """The CA bundle requests verifies against for `verify` (None: no verification)."""
    if verify is True:
        return str(DEFAULT_CA_BUNDLE_PATH)
    return verify if isinstance(verify, str) and verify else None


def make_session(pool_size: int = 16) -> requests.Session:
    """A `requests` session with a pool big enough for `pool_size` parallel downloads.

    Retries are done by `with_retries` (so that a body cut mid-stream is retried too), not by
    urllib3; redirects by `Transport` (scheme-checked, counted).
    """
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    session.trust_env = True
    adapter = _WatchedAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


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

    def __init__(self, response: requests.Response, watch: _Watch, limit: int, what: str) -> None:
        self.response = response
        self.url = response.url
        self.status = response.status_code
        self.content_type = response.headers.get("Content-Type", "")
        self._watch = watch
        self._limit = limit
        self._what = what

    def chunks(self) -> Iterator[bytes]:
        """The body, `CHUNK` bytes at a time; BadAnswer past the limit."""
        for block in self.response.iter_content(CHUNK):
            self._watch.received += len(block)
            if self._watch.received > self._limit:
                raise BadAnswer(f"{self._what}: larger than the {self._limit}-byte limit")
            yield block


class Transport:
    """HTTP for one run: one session, the run's `NetworkSettings`, bounded requests."""

    def __init__(self, settings: NetworkSettings, session: requests.Session | None = None) -> None:
        self.settings = settings
        self.session = session or make_session(max(settings.jobs, 1) + SPECULATION_CONNECTIONS)

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
        watch = _Watch(budget, cancel)
        _WATCHDOG.add(watch)
        _CURRENT.watch = watch
        response: requests.Response | None = None
        try:
            response = self._follow(url, what, accept, watch)
            length = response.headers.get("Content-Length", "")
            if length.isdigit() and int(length) > limit:
                raise BadAnswer(f"{what}: {length} bytes is over the {limit}-byte limit")
            yield Body(response, watch, limit, what)
        except BaseException as exc:
            if watch.reason is not None and not isinstance(exc, BundlerError):
                raise _stopped(watch, what, self.settings) from None
            raise
        finally:
            _CURRENT.watch = None
            _WATCHDOG.remove(watch)
            if response is not None:
                response.close()

    def _follow(self, url: str, what: str, accept: str | None, watch: _Watch) -> requests.Response:
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
            except (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema,
                    requests.exceptions.MissingSchema, ValueError) as exc:  # fmt: skip
                raise BadAnswer(f"{what}: invalid URL {url[:200]!r} ({_reason(exc)})") from None
            if response.status_code not in REDIRECT_STATUS:
                return response
            location = response.headers.get("Location")
            response.close()
            if not location:
                raise BadAnswer(f"{what}: redirect without a Location")
            url = urljoin(url, location)
        raise BadAnswer(f"{what}: more than {self.settings.max_redirects} redirects")


def _check_scheme(url: str, what: str) -> None:
    scheme = urlsplit(url).scheme.lower()
    if scheme not in REMOTE_SCHEMES:
        raise BadAnswer(f"{what}: refused to follow {url[:200]!r} (only http/https)")


def _stopped(watch: _Watch, what: str, settings: NetworkSettings) -> BundlerError:
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
        except _TRANSIENT as exc:
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
