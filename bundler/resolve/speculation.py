"""Speculation: fetch in the background what the resolver will probably ask about next.

resolvelib asks one question at a time (a page, then one file's metadata, then the next
project...), so a cold resolution would wait for every round trip in turn. `Speculator.prefetch`
fetches, in a thread pool, a project's page, the metadata of its newest usable wheel and, from
that metadata, the same for each dependency that applies to the target: the likely tree arrives
in parallel and the resolver mostly finds its answers waiting in the index's per-key memo. Per
project only one file is speculated on: the newest usable wheel of a version the specifier known
at prefetch time admits (the root requirement's, or the one in the `Requires-Dist` that named
the project), whose metadata comes from the PEP 658 file or, on an index without them, from the
wheel itself (which the resolver would download next anyway, one at a time). So `jupyterlab==
4.2.5` prefetches 4.2.5, not the newest jupyterlab and its new dependencies. Only pages and
metadata are speculative, never a download the resolver would not make. A failure here is left
for the resolver to meet. An offline index (`--offline`: every answer from the cache) is not
speculated on: there is no round trip to overlap, and the prefetch threads only took the GIL
from the resolver in turn (benchmarks/PROFILE.md, phase 5).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from bundler.index.client import Index
from bundler.models.link import DistFile
from bundler.models.target import Target
from bundler.resolve.model import Releases


class Speculator:
    """Prefetches project trees through `index` on `pool`, each project once.

    `releases(name)` is the provider's (memoised) view of a project's versions for the target;
    projects in `skip` (e.g. `--exclude`d ones) are never fetched. Nothing is submitted when
    `index.offline` (`active` is False): the resolver then reads each answer from the cache
    itself, when it asks.
    """

    def __init__(
        self,
        target: Target,
        index: Index,
        releases: Callable[[str], Releases],
        pool: ThreadPoolExecutor,
        *,
        skip: Collection[str] = (),
        follow_dependencies: bool = True,
    ) -> None:
        self.target = target
        self.index = index
        self.releases = releases
        self.pool = pool
        self.skip = frozenset(skip)
        self.follow_dependencies = follow_dependencies
        self.active = not index.offline
        """False offline: nothing to wait for, so nothing is fetched ahead."""
        self._started: set[str] = set()
        self._lock = threading.Lock()

    def prefetch(self, name: str, specifier: SpecifierSet | None = None) -> None:
        """Start fetching `name`'s page and its likely tree, once per project: the newest
        version `specifier` admits (pre-releases only if it names one; any version when
        None), as the first caller knew it."""
        if name in self.skip or not self.active:
            return
        with self._lock:
            if name in self._started:
                return
            self._started.add(name)
        self.pool.submit(self._tree, name, specifier or SpecifierSet())

    def warm_metadata(self, file: DistFile) -> None:
        """Fetch `file`'s metadata in the background (the resolver asks for it next)."""
        if file.is_wheel and self.active:
            self.pool.submit(self.index.metadata, file)

    def _tree(self, name: str, specifier: SpecifierSet) -> None:
        try:
            best = self.likely(name, specifier)
            if best is None:
                return
            metadata = self.index.metadata(best)
        except Exception:  # speculative: the resolver asks again and reports any error
            return
        if not self.follow_dependencies:
            return
        for requirement in metadata.requires_dist:
            if not requirement.url and self.target.evaluate(requirement.marker, frozenset()):
                self.prefetch(canonicalize_name(requirement.name), requirement.specifier)

    def likely(self, name: str, specifier: SpecifierSet) -> DistFile | None:
        """The wheel the resolver will most likely pick for `name` under `specifier`: that of
        the newest admitted version that has one and is not yanked (each version's `Release`
        made only as far as the search goes)."""
        releases = self.releases(name)
        for version in releases.versions:
            if not specifier.contains(version):  # pre-releases only if it names one
                continue
            rel = releases.release(version)
            if rel.file is not None and rel.file.is_wheel and not rel.yanked:
                return rel.file
        return None
