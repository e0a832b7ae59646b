"""Where one `bundler fetch` spends its time: stages, hashing passes, parsing, waits.

Runs `bundler fetch ARGS...` in this process under cProfile, one profiler per thread (the
resolver's prefetch and the download pool run in threads), and prints:

- the import of the fetch path (`bundler.wheelhouse.fetch` and everything it pulls in);
- the pipeline's stages on the main thread (cumulative seconds of wheelhouse/fetch.py's steps);
- every sha256 pass over a whole file, by call site (count and MiB), and the streaming hash of
  each download, so repeated hashing of the same wheel shows;
- selected functions summed over all threads (page parsing, metadata, resolvelib, HTTP reads,
  waits on locks and futures, zip inflation, ELF parsing) and the top functions by own time.

cProfile slows pure-Python code (page parsing, the resolver) by ~1.5-2x; use it for counts and
proportions, and py-spy (`py-spy record --threads --idle -r 250 -f raw -o out.txt -- bundler
fetch ...`) for unbiased wall-time samples. Printed, never asserted.

    .venv/bin/python benchmarks/profile_fetch.py [--top 25] [--pstats FILE] -- FETCH ARGS...
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

STAGES = [
    ("fetch", "bundler/wheelhouse/fetch.py", "fetch"),
    ("  check -o, load the audit profile", "bundler/wheelhouse/fetch.py", "_check_output"),
    ("  plan: requirements, resolve, bootstrap", "bundler/wheelhouse/fetch.py", "_plan"),
    ("    resolve (resolvelib + provider)", "bundler/resolve/resolver.py", "resolve"),
    ("  download into the staging dir", "bundler/wheelhouse/fetch.py", "_download"),
    ("  locks, manifest, install.sh", "bundler/wheelhouse/fetch.py", "_write_outputs"),
    ("  audit", "bundler/wheelhouse/fetch.py", "_audit"),
    (
        "  sources: requirements, local build, Index (inside plan for one target)",
        "bundler/wheelhouse/fetch.py",
        "_sources",
    ),
    (
        "  several targets, whole (waits for the resolutions on threads: below)",
        "bundler/wheelhouse/fetch.py",
        "_run_several",
    ),
    (
        "    download (several targets: their union, into the pool)",
        "bundler/wheelhouse/fetch.py",
        "_download_many",
    ),
    (
        "    wheel members checked (per target when several)",
        "bundler/wheelhouse/fetch.py",
        "_check_wheels",
    ),
    (
        "    METADATA compared (per target when several)",
        "bundler/wheelhouse/fetch.py",
        "_check_metadata",
    ),
    ("    audit of each target (several)", "bundler/wheelhouse/fetch.py", "_audit_target"),
    ("    SHA256SUMS of the whole tree (several)", "bundler/fs/sums.py", "write_tree"),
    ("  swap into place", "bundler/fs/staging.py", "commit"),
    (
        "  install rehearsal (3.6: the real interpreter)",
        "bundler/wheelhouse/rehearse.py",
        "rehearse",
    ),
    ("    wait for the venv made in the background", "bundler/wheelhouse/rehearse.py", "made"),
    ("    venv wait + install.sh + imports", "bundler/wheelhouse/rehearse.py", "_rehearse"),
    ("    imports of every module", "bundler/wheelhouse/rehearse.py", "_imports"),
]
"""(label, file suffix, function) of the main thread's pipeline; the rehearsal's install.sh
(pip 18.1 under `unshare -n`) is its `_rehearse` less the venv wait and the imports."""

ALL_THREADS = [
    (
        "resolutions (_plan: one per target, on threads when several)",
        "bundler/wheelhouse/fetch.py",
        "_plan",
    ),
    ("JSON project pages read (structure checked)", "bundler/index/pages.py", "read_json_page"),
    ("HTML project pages read (anchors parsed)", "bundler/index/pages.py", "read_html_page"),
    ("entries checked (Page.link)", "bundler/index/pages.py", "link"),
    ("Index.project (pages grouped by version)", "bundler/index/client.py", "project"),
    ("DistFile records of used versions", "bundler/index/client.py", "_check"),
    ("page fetch or cache read", "bundler/index/client.py", "_get_uncached"),
    ("Index.metadata", "bundler/index/client.py", "_load_metadata"),
    ("core metadata parsed", "bundler/models/metadata.py", "parse_metadata"),
    ("METADATA read from a wheel", "bundler/models/metadata.py", "read_wheel_metadata"),
    ("candidate releases built (per version used)", "bundler/resolve/model.py", "release"),
    ("provider.get_dependencies", "bundler/resolve/provider.py", "get_dependencies"),
    ("sdist builds (pip wheel by the target)", "bundler/wheelhouse/build.py", "build_wheel"),
    ("fetch_blob (download or cached)", "bundler/net/blobs.py", "fetch_blob"),
    ("Cache.verify_blob (re-hash a cached blob)", "bundler/fs/cache.py", "verify_blob"),
    ("sha256 file passes", "bundler/fs/hashing.py", "sha256_file"),
    ("hashlib update (all sha256 work)", "~", "<method 'update' of '_hashlib.HASH' objects>"),
    ("socket reads", "~", "<method 'recv_into' of '_socket.socket' objects>"),
    ("TLS reads", "~", "<method 'read' of '_ssl._SSLSocket' objects>"),
    ("TLS handshakes", "~", "<method 'do_handshake' of '_ssl._SSLSocket' objects>"),
    ("connects", "~", "<method 'connect' of '_socket.socket' objects>"),
    ("CA bundle loads", "~", "<method 'load_verify_locations' of '_ssl._SSLContext' objects>"),
    ("syncfs (stage flushed before the swap)", "bundler/fs/staging.py", "flush_filesystem"),
    ("wheel tags ranked", "bundler/models/target.py", "wheel_rank"),
    ("lock waits (futures, queues, joins)", "~", "<method 'acquire' of '_thread.lock' objects>"),
    ("zlib inflate", "~", "<method 'decompress' of 'zlib.Decompress' objects>"),
    ("fsync", "~", "<built-in method posix.fsync>"),
    ("audit: ELF members read", "bundler/audit/members.py", "read_elf_members"),
    ("audit: ELF parsed", "bundler/audit/elf.py", "parse"),
    ("audit: cached ELF facts", "bundler/audit/members.py", "cached_elf_members"),
    ("yaml dump", "yaml/__init__.py", "dump"),
]


class HashLedger:
    """Counts whole-file sha256 passes (sha256_file) by caller, streamed download bytes, and
    cache hits hashed while copied into the output (`net.download`)."""

    def __init__(self) -> None:
        self.passes: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        self.lock = threading.Lock()

    def install(self) -> None:
        import bundler.audit.members  # noqa: F401  (imported by the fetch only when it audits)
        from bundler.fs import hashing

        original = hashing.sha256_file

        def counted(path: Path) -> str:
            caller = sys._getframe(1)
            where = f"{Path(caller.f_code.co_filename).name}:{caller.f_code.co_name}"
            size = Path(path).stat().st_size
            with self.lock:
                self.passes[where][0] += 1
                self.passes[where][1] += size
            return original(path)

        for module in list(sys.modules.values()):
            name = getattr(module, "__name__", "")
            if name.startswith("bundler") and getattr(module, "sha256_file", None) is original:
                module.sha256_file = counted  # type: ignore[attr-defined]

        from bundler.fs.cache import Cache

        adopt = Cache.adopt_blob

        def adopted(cache: Cache, tmp: Path, sha256: str) -> Path:
            size = tmp.stat().st_size
            with self.lock:
                self.passes["blobs.py:_adopt (streamed while downloading)"][0] += 1
                self.passes["blobs.py:_adopt (streamed while downloading)"][1] += size
            return adopt(cache, tmp, sha256)

        Cache.adopt_blob = adopted  # type: ignore[method-assign]

        from bundler.net import download

        checked_copy = download.atomic_copy_checked

        def copied(src: Path, dest: Path, sha256: str, *args: Any, **kwargs: Any) -> Path:
            where = "download.py:_place_cached (hashed while copied from the cache)"
            size = Path(src).stat().st_size
            with self.lock:
                self.passes[where][0] += 1
                self.passes[where][1] += size
            return checked_copy(src, dest, sha256, *args, **kwargs)

        download.atomic_copy_checked = copied  # type: ignore[assignment]

    def lines(self) -> list[str]:
        out = []
        for where, (count, size) in sorted(self.passes.items(), key=lambda kv: -kv[1][1]):
            out.append(f"  {count:6d} x {size / 2**20:9.1f} MiB  {where}")
        return out


def profile_threads(profiles: list[cProfile.Profile]) -> Callable[..., Any]:
    """A threading.setprofile hook that starts one cProfile per new thread."""

    def hook(*_: Any) -> None:
        profile = cProfile.Profile()
        profiles.append(profile)
        profile.enable()  # replaces this hook for the thread

    return hook


def find(stats: pstats.Stats, suffix: str, func: str) -> tuple[int, float, float]:
    """(calls, own s, cumulative s) of the functions matching (file suffix, name), summed."""
    calls, own, cum = 0, 0.0, 0.0
    for (filename, _, name), row in stats.stats.items():  # type: ignore[attr-defined]
        if name == func and ((suffix == "~" and filename == "~") or filename.endswith(suffix)):
            calls += row[1]
            own += row[2]
            cum += row[3]
    return calls, own, cum


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--pstats", type=Path, help="also dump the combined stats here")
    parser.add_argument("fetch_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    fetch_args = [a for a in args.fetch_args if a != "--"]

    start = time.perf_counter()
    import bundler.wheelhouse.fetch  # noqa: F401  (the import cost of the fetch path)

    imported = time.perf_counter() - start
    from bundler.cli import main as cli

    ledger = HashLedger()
    ledger.install()
    profiles: list[cProfile.Profile] = []
    threading.setprofile(profile_threads(profiles))
    main_profile = cProfile.Profile()
    cpu0 = os.times()
    t0 = time.perf_counter()
    main_profile.enable()
    code = 0
    try:
        cli(["fetch", *fetch_args], standalone_mode=False)
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        main_profile.disable()
        threading.setprofile(None)  # type: ignore[arg-type]
    wall = time.perf_counter() - t0
    cpu1 = os.times()
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)

    main_stats = pstats.Stats(main_profile)
    every = pstats.Stats(main_profile)
    for profile in profiles:
        every.add(profile)
    if args.pstats:
        every.dump_stats(args.pstats)

    print(f"\n== profile of `bundler fetch {' '.join(fetch_args)}` (exit {code})")
    print(
        f"import of the fetch path: {imported:.3f} s (before the profiler; compare -X importtime)"
    )
    print(f"fetch under cProfile: {wall:.2f} s wall, {cpu:.2f} s CPU, {len(profiles)} threads")
    print("\nmain thread, cumulative s:")
    for label, suffix, func in STAGES:
        calls, _, cum = find(main_stats, suffix, func)
        if calls:
            print(f"  {cum:8.3f}  {label}  ({calls} call(s))")
    print("\nwhole-file sha256 passes (count x size, by call site):")
    print("\n".join(ledger.lines()) or "  none")
    print("\nall threads summed (threads overlap, so sums can exceed the wall time):")
    print(f"  {'cumulative s':>12} {'own s':>8} {'calls':>8}")
    for label, suffix, func in ALL_THREADS:
        calls, own, cum = find(every, suffix, func)
        if calls:
            print(f"  {cum:12.3f} {own:8.3f} {calls:8d}  {label}")
    print(f"\ntop {args.top} functions by own time, all threads:")
    rows = sorted(every.stats.items(), key=lambda kv: -kv[1][2])[: args.top]  # type: ignore[attr-defined]
    for (filename, line, name), row in rows:
        where = "built-in" if filename == "~" else f"{_short(filename)}:{line}"
        print(f"  {row[2]:8.3f} {row[3]:8.3f} {row[1]:8d}  {name}  ({where})")


def _short(filename: str) -> str:
    for marker in ("/site-packages/", "/bundler/", "/lib/python3"):
        if marker in filename:
            return (
                filename.split(marker, 1)[1]
                if marker != "/bundler/"
                else "bundler/" + (filename.split(marker, 1)[1])
            )
    return filename


if __name__ == "__main__":
    main()
