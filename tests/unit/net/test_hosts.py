"""bundler.net.hosts (one lookup per host) and its use by bundler.net.connections: a run's
connections to one host share one name lookup, try each address, drop an answer that reached
nothing, and still verify TLS against the host's name. Names under `.test` (RFC 6761) are
answered by a fake getaddrinfo with loopback addresses; nothing asks a real resolver."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bundler.errors import IndexUnavailable
from bundler.net import connections
from bundler.net.hosts import HostAddresses
from bundler.net.settings import NetworkSettings
from bundler.net.transport import Transport
from tests.fakeindex import FakeIndex
from tests.tlsserver import tls_server


class FakeResolver:
    """getaddrinfo for names in `table` (name -> addresses); counts the lookups per name."""

    def __init__(self, table: dict[str, list[str]], hold: threading.Event | None = None) -> None:
        self.table = table
        self.hold = hold
        self.asked: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, host: str, port: int, family: int, kind: int) -> list[tuple[Any, ...]]:
        with self._lock:
            self.asked.append(host)
        if self.hold is not None:
            self.hold.wait(5)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, kind, 6, "", (a, port)) for a in self.table[host]]


# -- HostAddresses alone --------------------------------------------------------------------


def test_parallel_callers_share_one_lookup() -> None:
    """Eight threads ask for one host while the first lookup is still out: one query."""
    hold = threading.Event()
    fake = FakeResolver({"index.test": ["127.0.0.1"]}, hold)
    hosts = HostAddresses(getaddrinfo=fake)
    got: list[tuple[str, ...]] = []
    threads = [
        threading.Thread(target=lambda: got.append(hosts.lookup("index.test", 80)))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    hold.set()
    for t in threads:
        t.join()
    assert got == [("127.0.0.1",)] * 8
    assert fake.asked == ["index.test"]


def test_names_differ_by_host_port_and_family_not_by_case() -> None:
    fake = FakeResolver({"index.test": ["127.0.0.1"], "files.test": ["127.0.0.2"]})
    hosts = HostAddresses(getaddrinfo=fake)
    assert hosts.lookup("index.test", 80) == ("127.0.0.1",)
    assert hosts.lookup("INDEX.test", 80) == ("127.0.0.1",)
    assert hosts.lookup("files.test", 80) == ("127.0.0.2",)
    hosts.lookup("index.test", 443)
    hosts.lookup("index.test", 443, socket.AF_INET)
    assert fake.asked == ["index.test", "files.test", "index.test", "index.test"]


def test_a_failed_lookup_is_not_kept() -> None:
    fake = FakeResolver({})
    hosts = HostAddresses(getaddrinfo=fake)
    for _ in range(2):
        with pytest.raises(socket.gaierror):
            hosts.lookup("gone.test", 80)
    assert fake.asked == ["gone.test", "gone.test"]


def test_an_empty_answer_is_a_lookup_error() -> None:
    hosts = HostAddresses(getaddrinfo=FakeResolver({"empty.test": []}))
    with pytest.raises(socket.gaierror, match=r"no address for empty\.test"):
        hosts.lookup("empty.test", 80)


def test_duplicates_are_dropped_and_order_kept() -> None:
    fake = FakeResolver({"index.test": ["127.0.0.3", "127.0.0.1", "127.0.0.3"]})
    assert HostAddresses(getaddrinfo=fake).lookup("index.test", 80) == ("127.0.0.3", "127.0.0.1")


def test_an_answer_expires_after_max_age_and_when_forgotten() -> None:
    now = [100.0]
    fake = FakeResolver({"index.test": ["127.0.0.1"]})
    hosts = HostAddresses(max_age=60.0, getaddrinfo=fake, clock=lambda: now[0])
    hosts.lookup("index.test", 80)
    now[0] += 60.0
    hosts.lookup("index.test", 80)
    assert len(fake.asked) == 1  # 60 s old: still used
    now[0] += 0.5
    hosts.lookup("index.test", 80)
    assert len(fake.asked) == 2  # older than max_age: asked again
    hosts.forget("INDEX.test", 80)
    hosts.lookup("index.test", 80)
    assert len(fake.asked) == 3


# -- through the transport: what a run's connections do ----------------------------------------


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeResolver]:
    """The run's HOSTS answered by a FakeResolver; a real lookup fails the test."""
    fake = FakeResolver({})
    monkeypatch.setattr(connections, "HOSTS", HostAddresses(getaddrinfo=fake))

    def no_real_lookup(host: str, *args: Any, **kwargs: Any) -> Any:
        try:
            socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
        except OSError:
            pytest.fail(f"a real name lookup of {host!r}")
        return real(host, *args, **kwargs)

    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", no_real_lookup)
    yield fake


def _named(fake_index: FakeIndex, name: str) -> str:
    return fake_index.base.replace("127.0.0.1", name)


def test_a_run_looks_a_host_up_once_for_all_its_connections(
    fake_index: FakeIndex, resolver: FakeResolver
) -> None:
    """Twelve parallel downloads open several connections to one host: one lookup (urllib3
    alone asks for every new connection)."""
    served = fake_index.add_wheel("tiny", "1.0", payload=50_000)
    resolver.table["index.test"] = ["127.0.0.1"]
    transport = Transport(NetworkSettings(jobs=4))
    url = f"{_named(fake_index, 'index.test')}/files/{served.filename}"
    bodies: list[bytes] = []

    def get() -> None:
        bodies.append(transport.get(url, limit=1 << 20, what="file").body)

    threads = [threading.Thread(target=get) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(bodies) == 12 and all(b == served.path.read_bytes() for b in bodies)
    assert resolver.asked == ["index.test"]


def test_each_address_is_tried_and_an_answer_that_reached_nothing_is_dropped(
    fake_index: FakeIndex, resolver: FakeResolver
) -> None:
    """127.0.0.2 refuses (the index listens on 127.0.0.1 only): the next address serves. An
    answer whose every address refuses fails the request and is looked up again next time."""
    fake_index.add_wheel("tiny", "1.0")
    resolver.table["two.test"] = ["127.0.0.2", "127.0.0.1"]
    transport = Transport(NetworkSettings(retries=0))
    page = f"{_named(fake_index, 'two.test')}/simple/tiny/"
    assert b"tiny-1.0" in transport.get(page, limit=1 << 20, what="page").body

    resolver.table["dead.test"] = ["127.0.0.2"]
    dead = f"{_named(fake_index, 'dead.test')}/simple/tiny/"
    for _ in range(2):
        with pytest.raises(IndexUnavailable, match=r"dead\.test"):
            transport.get(dead, limit=1 << 20, what="page")
    assert resolver.asked == ["two.test", "dead.test", "dead.test"]


def test_an_unknown_name_is_one_error_and_one_lookup(
    fake_index: FakeIndex, resolver: FakeResolver
) -> None:
    transport = Transport(NetworkSettings(retries=0))
    with pytest.raises(IndexUnavailable, match=r"nowhere\.test"):
        transport.get(f"{_named(fake_index, 'nowhere.test')}/simple/", limit=1 << 20, what="page")
    assert resolver.asked == ["nowhere.test"]


@pytest.fixture(scope="module")
def named_tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """An HTTPS server on 127.0.0.1 whose certificate names only `index.test` (no IP in its
    subjectAltName): (port, the certificate as a CA bundle)."""
    with tls_server(tmp_path_factory.mktemp("named-tls"), "index.test", "DNS:index.test") as server:
        yield server.port, server.cert


def test_tls_is_verified_against_the_name_not_the_address(
    named_tls_server: tuple[int, Path], resolver: FakeResolver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection goes to the kept address, the certificate is checked for the host's
    name: a certificate for `index.test` passes for https://index.test, and the same server
    reached as https://other.test (same address) is refused."""
    port, cert = named_tls_server
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    resolver.table.update({"index.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    transport = Transport(NetworkSettings(retries=0))
    assert transport.get(f"https://index.test:{port}/x", limit=100, what="page").body == (
        b"hello /x"
    )
    with pytest.raises(IndexUnavailable, match=r"other\.test|hostname|CERTIFICATE_VERIFY_FAILED"):
        transport.get(f"https://other.test:{port}/x", limit=100, what="page")
