#!/usr/bin/python
"""Fail early when the host is patched past the ISO (run by the media_repo role).

A -devel RPM on the CentOS 7 ISO requires its runtime library at exactly the ISO's version
(openssl-devel-1:1.0.2k-19.el7 requires openssl-libs(x86-64) = 1:1.0.2k-19.el7). yum can
upgrade an older runtime to that version, but it cannot install the -devel package when the
installed runtime is newer (a host updated from the network before it was cut off). The same
holds for every package yum would pull in with it: openssl-devel requires krb5-devel, which
requires krb5-libs at exactly the ISO's version, and so on. So the check walks the dependency
closure of the requested packages as yum would install it from the media: a requirement an
installed package already satisfies stops the walk; one only the media satisfies is followed.

Usage: check_host_matches_media.py --media DIR [--media DIR2] [--dbpath DB] PACKAGE...
DIR is a yum repository (repodata/repomd.xml, primary.xml as .gz, .bz2 or plain). Exit 0 when
every exact (`=`) requirement in that closure is installable, 1 with one message naming each
problem, the chain of packages that leads to it and how to supply matching RPMs. Runs on Python
2.7 (CentOS 7's /usr/bin/python) and 3; needs the rpm command and rpm's Python bindings (rpm's
own version comparison).
"""

# This file runs on the target's Python 2.7 (CentOS 7's /usr/bin/python): no f-strings.
# ruff: noqa: UP004, UP010, UP031, B904, RUF005

from __future__ import print_function

import argparse
import bz2
import gzip
import io
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

try:
    import rpm  # the bindings yum itself uses on CentOS 7
except ImportError:  # pragma: no cover - reported below
    rpm = None

REPO_NS = "{http://linux.duke.edu/metadata/repo}"
COMMON_NS = "{http://linux.duke.edu/metadata/common}"
RPM_NS = "{http://linux.duke.edu/metadata/rpm}"


class Package(object):
    """One binary package of a repository's primary.xml."""

    def __init__(self, name, arch, evr, provides, requires):
        self.name = name
        self.arch = arch
        self.evr = evr  # (epoch, version, release), strings
        self.provides = provides  # capability names
        self.requires = requires  # (capability, flags, evr or None)

    def label(self):
        return "%s-%s" % (self.name, show_evr(self.evr))


class CmpKey(object):
    """Sort key using rpm's own EVR comparison."""

    def __init__(self, evr):
        self.evr = evr

    def __lt__(self, other):
        return rpm.labelCompare(self.evr, other.evr) < 0


def show_evr(evr):
    return "%s:%s-%s" % evr if evr[2] else "%s:%s" % evr[:2]


def parse_evr(text):
    """'1:1.0.2k-19.el7' -> ('1', '1.0.2k', '19.el7'); a missing epoch is '0'."""
    epoch, _, rest = text.rpartition(":")
    version, _, release = rest.partition("-")
    return (epoch if epoch and epoch != "(none)" else "0", version, release)


def _entry_evr(entry):
    if entry.get("ver") is None:
        return None
    return (entry.get("epoch") or "0", entry.get("ver"), entry.get("rel") or "")


def _open_metadata(path):
    if path.endswith(".gz"):
        return gzip.open(path, "rb")
    if path.endswith(".bz2"):
        return bz2.BZ2File(path, "rb")
    if path.endswith(".xz"):
        import lzma  # Python 3 only; CentOS 7's own repodata is .gz

        return lzma.open(path, "rb")
    return open(path, "rb")


def _open_url(url):
    """A file object on URL's body, read whole (media_repo_mode http: the repo server's)."""
    try:
        from urllib.request import urlopen
    except ImportError:  # Python 2.7, CentOS 7's /usr/bin/python
        from urllib2 import urlopen
    try:
        response = urlopen(url, timeout=60)
        try:
            return io.BytesIO(response.read())
        finally:
            response.close()
    except Exception as err:  # URLError, HTTPError, socket errors: one line
        raise SystemExit("media_repo: cannot read %s: %s" % (url, getattr(err, "reason", err)))


def _open_repo_file(top, relative):
    """TOP/RELATIVE from a directory or an http(s) URL, decompressed by its name."""
    if top.startswith(("http://", "https://")):
        raw = _open_url(top.rstrip("/") + "/" + relative)
        if relative.endswith(".gz"):
            return gzip.GzipFile(fileobj=raw, mode="rb")
        if relative.endswith(".bz2"):
            return io.BytesIO(bz2.decompress(raw.read()))
        if relative.endswith(".xz"):
            import lzma

            return lzma.LZMAFile(raw)
        return raw
    return _open_metadata(os.path.join(top, relative))


def read_repository(top, arches):
    """Every binary package of the yum repository at TOP, a directory or an http(s) URL (arch in
    ARCHES or noarch)."""
    handle = _open_repo_file(top, "repodata/repomd.xml")
    try:
        repomd = ET.parse(handle)
    finally:
        handle.close()
    href = None
    for data in repomd.getroot().findall(REPO_NS + "data"):
        if data.get("type") == "primary":
            href = data.find(REPO_NS + "location").get("href")
    if href is None:
        raise SystemExit("media_repo: %s/repodata/repomd.xml names no primary metadata" % top)
    packages = []
    handle = _open_repo_file(top, href)
    try:
        for _event, elem in ET.iterparse(handle):
            if elem.tag != COMMON_NS + "package":
                continue
            arch = elem.findtext(COMMON_NS + "arch")
            if elem.get("type") == "rpm" and (arch in arches or arch == "noarch"):
                version = elem.find(COMMON_NS + "version")
                fmt = elem.find(COMMON_NS + "format")
                entries = fmt.findall(RPM_NS + "provides/" + RPM_NS + "entry")
                provides = [e.get("name") for e in entries]
                requires = [
                    (e.get("name"), e.get("flags"), _entry_evr(e))
                    for e in fmt.findall(RPM_NS + "requires/" + RPM_NS + "entry")
                ]
                evr = (version.get("epoch") or "0", version.get("ver"), version.get("rel"))
                name = elem.findtext(COMMON_NS + "name")
                packages.append(Package(name, arch, evr, provides + [name], requires))
            elem.clear()
    finally:
        handle.close()
    return packages


def installed_provides(dbpath):
    """capability -> [(package name, EVR)] of every installed package (one rpm query)."""
    query = "[%{PROVIDENAME}\\t%{=NAME}\\t%{=EPOCH}:%{=VERSION}-%{=RELEASE}\\n]"
    argv = ["rpm", "-qa", "--qf", query]
    if dbpath:
        argv[1:1] = ["--dbpath", dbpath]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit("media_repo: rpm -qa failed: %s" % err.decode("utf-8", "replace").strip())
    found = {}
    for line in out.decode("utf-8", "replace").splitlines():
        parts = line.split("\t")
        if len(parts) == 3:
            found.setdefault(parts[0], []).append((parts[1], parse_evr(parts[2])))
    return found


def newer_than_pin(installed, pin):
    """Is the installed EVR newer than an exact pin (a pin without release ignores it)?"""
    have = installed if pin[2] else (installed[0], installed[1], "")
    return rpm.labelCompare(have, pin) > 0


class Checker(object):
    def __init__(self, media, installed):
        self.installed = installed
        self.by_capability = {}
        for package in media:
            for capability in set(package.provides):
                self.by_capability.setdefault(capability, []).append(package)
        self.problems = []
        self.seen = set()

    def conflicts(self, package):
        """The exact pins of PACKAGE that an installed, newer package breaks."""
        found = []
        for capability, flags, pin in package.requires:
            if flags != "EQ" or pin is None:
                continue
            for name, evr in self.installed.get(capability, []):
                if newer_than_pin(evr, pin):
                    found.append((name, evr, pin))
        return found

    def visit(self, capability, chain):
        if capability in self.seen or capability.startswith(("/", "rpmlib(")):
            return
        self.seen.add(capability)
        if capability in self.installed:
            return  # an installed package satisfies it: yum installs nothing for it
        candidates = sorted(self.by_capability.get(capability, []), key=lambda p: CmpKey(p.evr))
        if not candidates:
            return  # not on the media: yum reports it, this check is about version pins
        usable = [p for p in candidates if not self.conflicts(p)]
        if not usable:
            newest = candidates[-1]
            for name, evr, pin in self.conflicts(newest):
                self.problems.append((newest, name, evr, pin, chain))
            return
        chosen = usable[-1]
        for required, _flags, _pin in chosen.requires:
            self.visit(required, chain + [chosen.name])


def describe(problem):
    package, runtime, installed, pin, chain = problem
    via = " (needed by %s)" % " -> ".join(chain) if chain else ""
    return "%s %s is installed, newer than the %s that %s on the media requires%s" % (
        runtime,
        show_evr(installed),
        show_evr(pin),
        package.name,
        via,
    )


def wanted(problem):
    package, _runtime, installed, _pin, _chain = problem
    return "%s-%s-%s" % (package.name, installed[1], installed[2])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", action="append", required=True)
    parser.add_argument("--dbpath", default="")
    parser.add_argument("--arch", action="append", default=None)
    parser.add_argument("packages", nargs="+", metavar="PACKAGE")
    args = parser.parse_args(argv)
    if rpm is None:
        print(
            "media_repo: %s has no rpm Python bindings; set media_repo_check_python to the "
            "interpreter yum uses (/usr/bin/python on CentOS 7)" % sys.executable
        )
        return 1
    arches = set(args.arch or [os.uname()[4]])
    media = []
    for top in args.media:
        media.extend(read_repository(top, arches))
    checker = Checker(media, installed_provides(args.dbpath))
    for package in args.packages:
        checker.visit(package, [])
    problems = checker.problems
    if not problems:
        return 0
    print(
        "This host is patched past the ISO: %s. The ISO's packages cannot be installed next to "
        "newer installed versions of what they require exactly. Supply matching RPMs: on a "
        "connected machine download %s (the version-release installed here; CentOS 7 vault, "
        "updates repository) with their dependencies, run createrepo_c on that directory, copy "
        "it to this host and set media_repo_updates_dir to its path; then re-run the play."
        % (
            "; ".join(describe(p) for p in problems),
            " ".join(sorted(set(wanted(p) for p in problems))),
        )
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
