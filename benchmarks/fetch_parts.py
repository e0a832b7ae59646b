"""The parts of a warm `bundler fetch`, timed one by one on one thread (CPU, no network).

Given the cache and the output of a fetch that already ran (`--cache-dir C -o DIR`), times
each piece of work the fetch repeats on every run, in a fresh process, single-threaded, so
the numbers are the CPU each piece costs and can be compared with what a fix would cost:

- reading the cached index pages; `json.loads` alone; `parse_json_page`; `Index.files` (pages
  into DistFile records); the resolver's candidate lists (`Provider.releases`: every version,
  every file ranked for the target) — against reading only the versions from the filenames;
- one sha256 pass over every wheel of DIR; `read_wheel_metadata` of every wheel;
- the audit's ELF member scan (`read_elf_members`, no fact cache) — against scanning only
  members whose name can be a shared object or executable;
- an fsync'd atomic write per page (what the page cache does) against a plain write;
- loading the CA bundle into an SSLContext (what each new HTTPS connection does today).

Printed, never asserted. benchmarks/PROFILE.md quotes one run.

    .venv/bin/python benchmarks/fetch_parts.py --cache-dir C DIR --python 3.11 \
        --platform manylinux2014
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import ssl
import statistics
import tempfile
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from bundler.audit.elf import is_elf
from bundler.audit.report import read_elf_members
from bundler.fs.atomic import atomic_write_bytes
from bundler.fs.cache import PAGE_MAGIC, Cache
from bundler.fs.hashing import sha256_file
from bundler.index.client import Index
from bundler.index.pages import parse_json_page
from bundler.models.metadata import read_wheel_metadata
from bundler.models.source import index_source
from bundler.models.target import Target
from bundler.net.settings import NetworkSettings
from bundler.resolve.provider import Provider


def timed(label: str, action: Callable[[], Any], note: str = "") -> Any:
    t0, c0 = time.perf_counter(), time.process_time()
    result = action()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"  {wall:7.3f} s wall {cpu:7.3f} s CPU  {label}{'  (' + note + ')' if note else ''}")
    return result


def cached_pages(cache: Cache) -> list[tuple[str, bytes, str]]:
    """(url, body, content type) of every cached index page (not .metadata bodies)."""
    out = []
    for path in sorted((cache.root / "pages").rglob("*")):
        if not path.is_file():
            continue
        raw = path.read_bytes()
        if raw.startswith(PAGE_MAGIC):  # the entry's header (length, sha256), then the page
            raw = raw.partition(b"\n")[2]
        head, _, body = raw.partition(b"\n")
        try:
            meta = json.loads(head)
        except ValueError:
            continue
        if meta.get("status") == 200 and "json" in meta.get("type", ""):
            out.append((meta["url"], body, meta["type"]))
    return out


def versions_only(pages: list[tuple[str, bytes, str]]) -> int:
    """What a lazy index needs first: the distinct versions of each project, from filenames
    split on '-' (no tags, no URLs, no records)."""
    count = 0
    for _, body, _ in pages:
        seen: set[str] = set()
        for f in json.loads(body)["files"]:
            name = f["filename"]
            parts = name[:-4].split("-") if name.endswith(".whl") else None
            raw = parts[1] if parts and len(parts) >= 5 else None
            if raw is not None and raw not in seen:
                seen.add(raw)
                with contextlib.suppress(InvalidVersion):
                    Version(raw)
        count += len(seen)
    return count


ELF_NAMES = (".so", ".so.")
"""Names a shared object carries; executables are recognised by the x bit in the zip entry."""


def elf_candidates_only(wheel: Path) -> int:
    """The audit's scan restricted to members that can be ELF objects: '.so' in the name, or
    an executable mode bit (a cheaper rule the next phase may adopt; counted here)."""
    found = 0
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            mode = info.external_attr >> 16
            if ".so" not in info.filename and not mode & 0o111:
                continue
            with archive.open(info) as member:
                found += is_elf(member.read(4))
    return found


NOT_ELF = (".py", ".pyc", ".pyi", ".pyx", ".pxd", ".h", ".c", ".cpp", ".js", ".mjs", ".ts",
           ".map", ".css", ".html", ".json", ".txt", ".md", ".rst", ".png", ".svg", ".gif",
           ".jpg", ".woff", ".woff2", ".ttf", ".typed", ".cfg", ".toml", ".yml", ".yaml", ".xml",
           "/METADATA", "/RECORD", "/WHEEL", "/LICENSE", ".csv", ".tsv", ".ipynb")  # fmt: skip
"""Member names that are never ELF objects (text, web assets, sources)."""


def elf_unless_known_text(wheel: Path) -> int:
    """A conservative variant: magic-check every member except known non-ELF extensions."""
    found = 0
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            if info.is_dir() or info.file_size < 16 or info.filename.endswith(NOT_ELF):
                continue
            with archive.open(info) as member:
                found += is_elf(member.read(4))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, required=True)
    parser.add_argument("wheelhouse", type=Path)
    parser.add_argument("--python", default="3.11")
    parser.add_argument("--platform", default="manylinux2014")
    args = parser.parse_args()
    cache = Cache(args.cache_dir)
    target = Target.from_spec(args.python, args.platform)
    wheels = sorted(args.wheelhouse.glob("*.whl"))
    size = sum(w.stat().st_size for w in wheels)
    load = os.getloadavg()
    print(f"{len(wheels)} wheels, {size / 2**20:.1f} MiB; load average {load[0]:.2f}")

    print("index pages:")
    pages = timed("read every cached page", lambda: cached_pages(cache))
    files = sum(len(json.loads(b)["files"]) for _, b, _ in pages)
    mib = sum(len(b) for _, b, _ in pages) / 2**20
    print(f"  ({len(pages)} JSON pages, {mib:.1f} MiB, {files} files)")
    timed("json.loads of every page", lambda: [json.loads(b) for _, b, _ in pages])
    index_urls = sorted({url.rstrip("/").rsplit("/", 1)[0] + "/" for url, _, _ in pages})
    timed("parse_json_page (Link records)",
          lambda: [parse_json_page(b, u, index_source(u)) for u, b, _ in pages])  # fmt: skip
    index = Index(index_urls, [], cache, settings=NetworkSettings(offline=True))
    names = [u.rstrip("/").rsplit("/", 1)[1] for u, _, _ in pages]
    timed("Index.files (pages -> DistFile records)", lambda: [index.files(n) for n in names])
    with ThreadPoolExecutor(1) as pool:
        provider = Provider(target, index, build_pure=False, builder=None, pool=pool)
        releases = timed("Provider.releases (every version ranked)",
                         lambda: [provider.releases(n) for n in names])  # fmt: skip
    print(f"  ({sum(len(r.versions) for r in releases)} versions)")
    warm = Index(index_urls, [], cache, settings=NetworkSettings(offline=True))
    timed("Index.project of every page (the compact index, as a warm fetch reads them)",
          lambda: [warm.project(n).versions for n in names])  # fmt: skip
    timed("versions only, from filenames (a lazy index's first step)",
          lambda: versions_only(pages))  # fmt: skip

    print("wheels:")
    timed("one sha256 pass over every wheel", lambda: [sha256_file(w) for w in wheels])
    timed("read_wheel_metadata of every wheel", lambda: [read_wheel_metadata(w) for w in wheels])
    members = timed("audit: read_elf_members (its name rule, then the magic)",
                    lambda: sum(len(read_elf_members(w)) for w in wheels))  # fmt: skip
    found = timed("audit: only '.so' names and x-bit members checked",
                  lambda: sum(elf_candidates_only(w) for w in wheels))  # fmt: skip
    kept = timed("audit: every member but known text/asset extensions checked",
                 lambda: sum(elf_unless_known_text(w) for w in wheels))  # fmt: skip
    print(f"  ({members} ELF members found by the full scan, {found} and {kept} by the others)")

    print("writes and TLS:")
    with tempfile.TemporaryDirectory(dir=cache.root) as tmp:
        bodies = list(enumerate(b for _, b, _ in pages))
        here = Path(tmp)
        timed(f"{len(bodies)} atomic writes with fsync (Cache.put_page)",
              lambda: [atomic_write_bytes(here / f"a{i}", b) for i, b in bodies])  # fmt: skip
        timed(f"{len(bodies)} plain writes + rename, no fsync",
              lambda: [_plain_write(here / f"b{i}", b) for i, b in bodies])  # fmt: skip
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle is None:
        import certifi

        bundle = certifi.where()
    walls, cpus = [], []
    for _ in range(5):
        t0, c0 = time.perf_counter(), time.process_time()
        ssl.create_default_context().load_verify_locations(bundle)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    print(f"  {statistics.median(walls):7.3f} s wall {statistics.median(cpus):7.3f} s CPU  "
          f"one SSLContext with {bundle} loaded (per new HTTPS connection today)")  # fmt: skip
    names_set = {canonicalize_name(n) for n in names}
    print(f"({len(names_set)} projects)")


def _plain_write(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


if __name__ == "__main__":
    main()
