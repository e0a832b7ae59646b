"""Host addresses: one name lookup per host and port for a run's connections, not one per
connection.

Why. A fetch opens tens of HTTP/1.1 connections to the same two hosts (the index's pages and its
files host), most of them within the first second: the resolver's prefetch threads, one
resolution per target and the download pool each open their own. urllib3 calls
`socket.getaddrinfo` for every new connection, and glibc's stub resolver sends an A and an AAAA
query for each. A burst of such queries is where a lossy DNS path shows: glibc waits
`options timeout` (5 s by default, resolv.conf(5)) for a lost answer before it asks again. Seen
here on 2026-12-02 (benchmarks/runs/fetch_targets-2026-12-02T0526-pure8-idle.txt): about one
three-target fetch in three of a pure-Python set waited 5.0 s in `getaddrinfo` for
files.pythonhosted.org, while the fetch itself took 1.5 s; never once with one lookup per host.

What. `HostAddresses.lookup(host, port)` asks `getaddrinfo` once and keeps the answer
(`max_age` seconds); callers that ask for the same host meanwhile wait for that one lookup
(single flight) instead of sending their own queries. A failed lookup is not kept (the next
caller asks again), and a connection that reached none of the kept addresses drops them
(`forget`), so a host that moved is looked up again by the next attempt. Only names are
cached: numeric addresses never reach the resolver anyway.

Below `bundler.net.connections` (which connects to the addresses returned here); imports
nothing of bundler.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_AGE = 60.0
"""Seconds an answer is reused. getaddrinfo does not return the records' TTL; a run is short
and a connection that fails drops the answer, so a minute only bounds how stale it can be."""

Lookup = Callable[[str, int, int, int], list[tuple[Any, ...]]]
"""`socket.getaddrinfo(host, port, family, type)`'s shape."""


@dataclass(frozen=True)
class _Answer:
    addresses: tuple[str, ...]
    """Numeric addresses (IPv4 dotted, IPv6 with any %scope), in getaddrinfo's order, no
    duplicates."""
    at: float
    """`time.monotonic()` when looked up."""


class HostAddresses:
    """The addresses of the hosts a run connects to, looked up once per (host, port, family).

    Thread-safe. `lookup` raises `socket.gaierror` as `socket.getaddrinfo` does (name unknown,
    resolver unreachable), and an empty answer as `socket.gaierror(EAI_NONAME)`.
    """

    def __init__(
        self,
        max_age: float = MAX_AGE,
        getaddrinfo: Lookup | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_age = max_age
        self._getaddrinfo: Lookup | None = getaddrinfo
        """None: `socket.getaddrinfo` as it is at each lookup."""
        self._clock = clock
        self._answers: dict[tuple[str, int, int], _Answer] = {}
        self._flights: dict[tuple[str, int, int], threading.Lock] = {}
        self._lock = threading.Lock()

    def lookup(self, host: str, port: int, family: int = socket.AF_UNSPEC) -> tuple[str, ...]:
        """The numeric addresses of `host` for TCP `port`, as `socket.getaddrinfo(host, port,
        family, SOCK_STREAM)` gives them (one tuple, getaddrinfo's order, duplicates dropped)."""
        key = (host.lower(), port, family)
        answer = self._fresh(key)
        if answer is not None:
            return answer.addresses
        with self._flight(key):  # one lookup at a time per host: the others wait for it
            answer = self._fresh(key)
            if answer is not None:
                return answer.addresses
            ask = self._getaddrinfo or socket.getaddrinfo
            infos = ask(host, port, family, socket.SOCK_STREAM)
            addresses = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
            if not addresses:
                raise socket.gaierror(socket.EAI_NONAME, f"no address for {host}")
            with self._lock:
                self._answers[key] = _Answer(addresses, self._clock())
            return addresses

    def forget(self, host: str, port: int, family: int = socket.AF_UNSPEC) -> None:
        """Drop the kept answer for `host` (none of its addresses could be reached)."""
        with self._lock:
            self._answers.pop((host.lower(), port, family), None)

    def _fresh(self, key: tuple[str, int, int]) -> _Answer | None:
        with self._lock:
            answer = self._answers.get(key)
        if answer is None or self._clock() - answer.at > self._max_age:
            return None
        return answer

    def _flight(self, key: tuple[str, int, int]) -> threading.Lock:
        with self._lock:
            return self._flights.setdefault(key, threading.Lock())
