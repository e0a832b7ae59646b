#!/usr/bin/python
"""Fail early when the host is patched past the ISO (run by the media_repo role).

A -devel RPM on the CentOS 7 ISO requires its runtime library at exactly the ISO's version
(openssl-devel-1:1.0.2k-19.el7 requires openssl-libs(x86-64) = 1:1.0.2k-19.el7). yum can
upgrade an older runtime to that version, but it cannot install the -devel package when the
installed runtime is newer (a host updated from the network before it was cut off).

Usage: check_host_matches_media.py --media DIR [--media DIR2] [--dbpath DB] RUNTIME=DEVEL...
Exit 0 when every pair is installable from the media, 1 with one message naming each
problem and how to supply matching RPMs. Runs on Python 2.7 (CentOS 7's /usr/bin/python)
and 3; needs the rpm command and rpm's Python bindings (for rpm's own version comparison).
"""

# This file runs on the target's Python 2.7 (CentOS 7's /usr/bin/python): no f-strings.
# ruff: noqa: UP004, UP010, UP031

from __future__ import print_function

import argparse
import os
import re
import subprocess
import sys

try:
    import rpm  # the bindings yum itself uses on CentOS 7
except ImportError:  # pragma: no cover - reported below
    rpm = None

REQUIRE = re.compile(r"^(?P<name>[^\s(]+)(?:\([^)]*\))?\s*=\s*(?P<evr>\S+)$")


def run(argv):
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, _err = proc.communicate()
    return proc.returncode, out.decode("utf-8", "replace")


def parse_evr(text):
    """'1:1.0.2k-19.el7' -> ('1', '1.0.2k', '19.el7'); a missing epoch is '0'."""
    epoch, _, rest = text.rpartition(":")
    version, _, release = rest.partition("-")
    return (epoch or "0", version, release)


def show_evr(evr):
    return "%s:%s-%s" % evr


def devel_rpms(media_dirs, devel):
    """RPM files named DEVEL-<version>... anywhere under the media directories."""
    prefix = devel + "-"
    found = []
    for top in media_dirs:
        for dirpath, _dirs, files in os.walk(top):
            for name in files:
                if (
                    name.endswith(".rpm")
                    and name.startswith(prefix)
                    and name[len(prefix) : len(prefix) + 1].isdigit()
                ):
                    found.append(os.path.join(dirpath, name))
    return sorted(found)


def required_evr(rpm_file, runtime):
    """The exact EVR of RUNTIME that RPM_FILE requires, or None."""
    rc, out = run(["rpm", "-qp", "--nosignature", "--nodigest", "--requires", rpm_file])
    if rc != 0:
        return None
    for line in out.splitlines():
        match = REQUIRE.match(line.strip())
        if match and match.group("name") == runtime:
            return parse_evr(match.group("evr"))
    return None


def installed_evrs(runtime, dbpath):
    argv = ["rpm", "-q", "--qf", "%{EPOCH}:%{VERSION}-%{RELEASE}\\n", runtime]
    if dbpath:
        argv[1:1] = ["--dbpath", dbpath]
    rc, out = run(argv)
    if rc != 0:
        return []  # not installed: yum installs the ISO's version
    return [parse_evr(line.replace("(none):", "0:")) for line in out.split() if line]


def check_pair(media_dirs, dbpath, runtime, devel):
    """(problem sentence, wanted RPM) or None when DEVEL from the media can be installed."""
    candidates = [(f, required_evr(f, runtime)) for f in devel_rpms(media_dirs, devel)]
    candidates = [(f, evr) for f, evr in candidates if evr is not None]
    if not candidates:
        return None  # the media has no such -devel RPM, or it pins nothing: yum decides
    for installed in installed_evrs(runtime, dbpath):
        if all(rpm.labelCompare(evr, installed) < 0 for _f, evr in candidates):
            newest = max((evr for _f, evr in candidates), key=CmpKey)
            problem = "%s %s is installed, newer than the %s that %s on the media requires" % (
                runtime,
                show_evr(installed),
                show_evr(newest),
                devel,
            )
            return problem, "%s-%s-%s" % (devel, installed[1], installed[2])
    return None


class CmpKey(object):
    """Sort key using rpm's own EVR comparison."""

    def __init__(self, evr):
        self.evr = evr

    def __lt__(self, other):
        return rpm.labelCompare(self.evr, other.evr) < 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", action="append", required=True)
    parser.add_argument("--dbpath", default="")
    parser.add_argument("pairs", nargs="+", metavar="RUNTIME=DEVEL")
    args = parser.parse_args(argv)
    if rpm is None:
        print(
            "media_repo: %s has no rpm Python bindings; set media_repo_check_python to the "
            "interpreter yum uses (/usr/bin/python on CentOS 7)" % sys.executable
        )
        return 1
    problems = []
    for pair in args.pairs:
        runtime, _, devel = pair.partition("=")
        problem = check_pair(args.media, args.dbpath, runtime, devel)
        if problem:
            problems.append(problem)
    if not problems:
        return 0
    print(
        "This host is patched past the ISO: %s. The ISO's -devel packages cannot be installed "
        "next to newer runtime libraries. Supply matching RPMs: on a connected machine download "
        "%s (the version-release installed here; CentOS 7 vault, updates repository) with their "
        "dependencies, run createrepo_c on that directory, copy it to this host and set "
        "media_repo_updates_dir to its path; then re-run the play."
        % ("; ".join(p for p, _w in problems), " ".join(w for _p, w in problems))
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
