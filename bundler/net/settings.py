"""The network settings of a run: one frozen value, built once by the CLI, passed down.

Like pex's `NetworkConfiguration` (pex/network_configuration.py): the transport, the index
client and the downloader read their timeouts, limits and parallelism from this one object
instead of loose keyword arguments.
"""

from __future__ import annotations

from dataclasses import dataclass

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30


@dataclass(frozen=True)
class NetworkSettings:
    """Timeouts (seconds), limits (bytes), retries and parallelism of every request of a run."""

    timeout: float = 30.0
    """A connect, or a single read, may stall this long (then it is retried)."""
    deadline: float = 120.0
    """A whole index page or metadata request (redirects, headers and body) must be done
    within this; a body trickled byte by byte fails here, whatever `timeout` says."""
    min_rate: int = 32 * KiB
    """File downloads get `deadline + size / min_rate` (bytes per second) in all."""
    retries: int = 3
    """Retries of a transient failure (connection error, cut body, 408/429/5xx), with backoff."""
    jobs: int = 8
    """Parallel downloads (and the HTTP connection pool size)."""
    offline: bool = False
    """No network at all: answers come from the cache or the run fails."""
    max_page_bytes: int = 32 * MiB
    """An index or find-links page larger than this is refused (PyPI's largest are a few MiB)."""
    max_metadata_bytes: int = 8 * MiB
    """A PEP 658 `.metadata` file (or a wheel's METADATA) larger than this is refused."""
    max_file_bytes: int = 8 * GiB
    """A distribution file or source tarball larger than this is refused."""
    max_redirects: int = 10
    """Redirects followed per request (each to http/https only)."""

    def file_deadline(self, size: int | None) -> float:
        """Seconds a download of `size` bytes (None: unknown, then the maximum) may take."""
        expected = self.max_file_bytes if size is None else min(size, self.max_file_bytes)
        return self.deadline + expected / self.min_rate
