"""The requests/urllib3 side of `bundler.net.transport`: watched connections, one TLS context
per CA bundle, the session, and which of their exceptions are transient.

Imported by `bundler.net.transport` when a run makes its first request (`Transport.session`),
not before: a fetch that asks no server (`--offline`, a warm cache) never loads requests or
urllib3 (~0.08 s CPU; benchmarks/PROFILE.md, phase 3). Everything here is described in
transport.py's docstring; this module only holds the classes that subclass the libraries'.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import ssl
import threading
from typing import Any

import requests
import urllib3.connection
import urllib3.connectionpool
from requests.adapters import HTTPAdapter
from requests.utils import DEFAULT_CA_BUNDLE_PATH
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import allowed_gai_family
from urllib3.util.ssl_ import create_urllib3_context

from bundler.errors import IndexUnavailable
from bundler.net.hosts import HostAddresses
from bundler.net.transport import CURRENT_REQUEST, USER_AGENT, TransientError, Watch

TRANSIENT: tuple[type[BaseException], ...] = (
    TransientError,
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    urllib3.exceptions.ProtocolError,
)
"""Failures `transport.with_retries` retries."""


def is_read_timeout(exc: BaseException) -> bool:
    """Whether `exc` is a read timeout: requests' own, or the ConnectionError that
    `Response.iter_content` wraps urllib3's `ReadTimeoutError` in."""
    if isinstance(exc, requests.Timeout | urllib3.exceptions.ReadTimeoutError):
        return True
    cause = exc.args[0] if isinstance(exc, requests.ConnectionError) and exc.args else None
    return isinstance(cause, urllib3.exceptions.ReadTimeoutError)


INVALID_URL: tuple[type[BaseException], ...] = (
    requests.exceptions.InvalidURL,
    requests.exceptions.InvalidSchema,
    requests.exceptions.MissingSchema,
    ValueError,
)
"""What requests raises for a URL it cannot request (a `BadAnswer` naming it)."""


HOSTS = HostAddresses()
"""The run's host addresses: every connection of the process looks its host up here, once per
host (`bundler.net.hosts` says why)."""


class _WatchedMixin:
    """A urllib3 connection that registers itself, then its socket, with the current
    request's watch. The socket is kept apart: http.client hands it to the response and
    forgets it when the server says it will close (HTTP/1.0), so `conn.sock` is None then.

    It connects to its host's addresses from `HOSTS` (one lookup per host per run) instead of
    asking the resolver for each new connection."""

    sock: Any
    port: int
    _dns_host: str

    def _new_conn(self) -> socket.socket:
        """urllib3's `_new_conn`, tried on each of the host's kept addresses in turn (as
        urllib3 tries each of getaddrinfo's); when none can be reached, the answer is dropped
        and the last error raised (urllib3's `NewConnectionError` or `ConnectTimeoutError`).
        A name the resolver refuses is urllib3's `NameResolutionError` (asked once, not again by
        urllib3); a numeric host, or a name that is not valid IDNA (`LocationParseError`), goes
        to urllib3 unchanged."""
        base: Any = super()
        name = self._dns_host
        host = name.strip("[]")
        if _numeric(host):
            return base._new_conn()  # type: ignore[no-any-return]
        try:
            addresses = HOSTS.lookup(host, self.port, allowed_gai_family())
        except socket.gaierror as exc:
            raise NameResolutionError(host, self, exc) from exc  # type: ignore[arg-type]
        except UnicodeError:  # not IDNA: urllib3 raises its LocationParseError before a lookup
            return base._new_conn()  # type: ignore[no-any-return]
        last: Exception | None = None
        for address in addresses:
            self._dns_host = address
            try:
                return base._new_conn()  # type: ignore[no-any-return]
            except (NewConnectionError, ConnectTimeoutError) as exc:
                last = exc
            finally:
                self._dns_host = name
        HOSTS.forget(host, self.port, allowed_gai_family())
        assert last is not None  # lookup never returns no address
        raise last

    def request(self, *args: Any, **kwargs: Any) -> Any:
        watch: Watch | None = getattr(CURRENT_REQUEST, "watch", None)
        if watch is not None:
            watch.attach(self)
        return super().request(*args, **kwargs)  # type: ignore[misc]

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        watch: Watch | None = getattr(CURRENT_REQUEST, "watch", None)
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


def _numeric(host: str) -> bool:
    """Whether `host` is an IPv4 or IPv6 address (an IPv6 %scope allowed), not a name."""
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _bundle(verify: Any) -> str | None:
    """The CA bundle requests verifies against for `verify` (None: no verification)."""
    if verify is True:
        return str(DEFAULT_CA_BUNDLE_PATH)
    return verify if isinstance(verify, str) and verify else None


def make_session(pool_size: int = 16) -> requests.Session:
    """A `requests` session with a pool big enough for `pool_size` parallel downloads
    (`bundler.net.transport.make_session`)."""
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    session.trust_env = True
    adapter = _WatchedAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
