"""Summarise a py-spy raw profile of `bundler fetch` by pipeline stage and by cost.

    py-spy record --idle --threads -r 200 -f raw -o spy.txt -- .venv/bin/python \
        .venv/bin/bundler fetch ...          # wall time: every sample, waiting or not
    py-spy record --gil --threads -r 200 -f raw -o gil.txt -- ...   # only the GIL holder: CPU
    .venv/bin/python benchmarks/spy_summary.py spy.txt [--rate 200]

Prints, for the main thread, the share of samples (and seconds at --rate) in each stage and,
inside it, in each kind of cost (first matching rule of `KINDS`); then the same kinds summed
over the other threads. Printed, never asserted; the rules are substring matches on frames.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter, defaultdict
from pathlib import Path

STAGES = [
    ("import", ("_find_and_load",)),
    ("audit", ("_audit (bundler/wheelhouse/fetch.py",)),
    ("write outputs", ("_write_outputs (bundler/wheelhouse/fetch.py",)),
    ("download", ("_download (bundler/wheelhouse/fetch.py",)),
    ("resolve", ("_plan (bundler/wheelhouse/fetch.py",)),
    ("swap", ("Stage.commit (bundler/fs/staging.py",)),
    ("fetch: other", ("fetch (bundler/wheelhouse/fetch.py",)),
    ("start-up and exit", ("",)),
]
"""(stage, any of these substrings in the stack), first match wins."""

KINDS = [
    ("JSON page parsing", ("parse_json_page",)),
    ("HTML page parsing", ("parse_html_page",)),
    ("DistFile records (Index._add)", ("Index._add ",)),
    ("candidate releases (tags, ranks)", ("Provider._release ", "Provider.releases_for")),
    ("yaml dump", ("yaml/",)),
    ("ELF parsing", ("bundler/audit/elf.py",)),
    ("zip member reads (inflate)", ("zipfile.py",)),
    ("sha256 of files", ("sha256_file",)),
    ("fsync/atomic writes", ("atomic_open", "_adopt (bundler/net/blobs.py")),
    ("TLS setup (CA bundle, handshake)", ("ssl_wrap_socket", "do_handshake", "create_connection")),
    ("HTTP read (network)", ("SSLSocket.read", "SSLSocket.recv_into", "socket.readinto")),
    ("requests per-request overhead", ("requests/sessions.py", "requests/adapters.py")),
    ("waiting (locks, futures, memo)", ("Condition.wait", "Event.wait", "_wait_for_tstate_lock")),
    ("resolvelib", ("resolvelib/",)),
    ("metadata parsing", ("parse_metadata", "read_wheel_metadata")),
    ("other", ("",)),
]

LINE = re.compile(r"^thread \((\d+)\): (\S+?);(.*) (\d+)$")


def classify(stack: str, rules: list[tuple[str, tuple[str, ...]]]) -> str:
    """The rule of the first matching rule in `rules` (stages: outermost-first order)."""
    for name, needles in rules:
        if any(n in stack for n in needles):
            return name
    return rules[-1][0]


def kind_of(stack: str) -> str:
    """The cost a sample is charged to: the innermost frame any rule of `KINDS` matches (a
    wait inside a page fetch counts as the wait, not as the caller)."""
    frames = stack.split(";")
    if frames[-1].startswith("_worker (concurrent/futures/thread.py"):
        return "idle pool thread (no work queued)"
    for frame in reversed(frames):
        for name, needles in KINDS[:-1]:
            if any(n in frame for n in needles):
                return name
    return KINDS[-1][0]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("raw", type=Path)
    parser.add_argument("--rate", type=float, default=200.0, help="py-spy's -r (samples/s)")
    args = parser.parse_args()
    main_stage: dict[str, Counter[str]] = defaultdict(Counter)
    others: Counter[str] = Counter()
    threads: set[str] = set()
    for line in args.raw.read_text().splitlines():
        m = LINE.match(line)
        if not m:
            continue
        _, name, stack, count = m.groups()
        n = int(count)
        if name == "MainThread":
            main_stage[classify(stack, STAGES)][kind_of(stack)] += n
        else:
            threads.add(name.rstrip("0123456789_"))
            others[kind_of(stack)] += n
    total = sum(sum(c.values()) for c in main_stage.values())
    print(f"main thread: {total} samples = {total / args.rate:.2f} s at {args.rate:g}/s")
    for stage, _ in STAGES:
        kinds = main_stage.get(stage)
        if not kinds:
            continue
        n = sum(kinds.values())
        print(f"  {n / args.rate:7.2f} s {100 * n / total:5.1f}%  {stage}")
        for kind, k in kinds.most_common():
            if k / args.rate >= 0.01:
                print(f"  {'':18}{k / args.rate:7.2f} s  {kind}")
    spent = sum(others.values())
    print(f"other threads ({', '.join(sorted(threads))}): {spent / args.rate:.2f} thread-seconds")
    for kind, k in others.most_common():
        if k / args.rate >= 0.01:
            print(f"  {k / args.rate:7.2f} s  {kind}")


if __name__ == "__main__":
    main()
