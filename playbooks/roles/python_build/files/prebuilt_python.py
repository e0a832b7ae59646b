#!/usr/bin/python
"""Pack an installed CPython tree into a deterministic tarball, or install one (python_build).

The repo server builds CPython once (python_build_mode publish) and packs what
`make altinstall DESTDIR=STAGE` installed; the clients (python_build_mode http) download that
tarball, check its sha256 and install it into the same prefix. This script does the two file
jobs; the role does the rest (download, checks, the completion record).

pack --root DIR --out DIR --name NAME --epoch N --meta JSON
    Writes OUT/NAME.tar.gz and OUT/NAME.json. The tarball holds DIR's tree, member names
    relative to DIR (bin/python3.11, lib/python3.11/os.py, ...), in the reproducible-builds.org
    way of GNU tar's --sort=name --owner=0 --group=0 --numeric-owner --mtime=@EPOCH
    (https://reproducible-builds.org/docs/archives/; CentOS 7's tar 1.26 has no --sort):
    members sorted by name, uid/gid 0 and no owner names, mtime EPOCH, modes 0755/0644 (the
    owner's bits kept, write for others dropped), PAX format, gzip with mtime 0 and no file
    name. Timestamp-based .pyc files record their source's mtime (PEP 552's flags field 0; 3.6
    has no flags field): that field is set to EPOCH too, or Python would find every .pyc stale
    once its .py carries EPOCH. Regular files, directories and symbolic links that stay inside
    DIR only. Both files are written under temporary names in OUT, fsynced and renamed into
    place, the tarball first: a NAME.json names a complete tarball. Prints
    {"sha256": ..., "size": ..., "members": ...}. The .json is META plus those three: a
    description for people; clients take the sha256 from the repo server over SSH (or from
    the operator), never over HTTP.

install --tarball FILE --sha256 HEX --prefix DIR
    Checks FILE's sha256, then unpacks it into DIR/.airgap-kit-unpack (a leftover of a killed
    run is removed first), refusing absolute names, `..`, hard links, devices and fifos, any
    member whose path goes through a link member, and links whose real path (chains included)
    leaves the stage; links are created last, after every file. Then it moves each file into DIR
    with rename(2) (atomic per file: a reader sees the old file or the new one, never half of
    one) and removes the stage, also when it refuses the tarball. The caller writes its
    completion record only after this succeeded, so a run killed half-way is redone by the next
    one. Directories it creates get mode 0755 whatever the umask. A directory of DIR that is a
    symbolic link to a directory is followed (as `make altinstall` follows it), never replaced;
    a file where the tarball has a directory is refused. Prints {"files": N}.

Errors: one line on stderr, exit 1 (exit 3 when FILE does not match HEX).
Runs on Python 2.7 (CentOS 7's /usr/bin/python) and 3.
"""

# This file runs on the target's Python 2.7 (CentOS 7's /usr/bin/python): no f-strings.
# ruff: noqa: UP010, UP031, SIM117

from __future__ import print_function

import argparse
import gzip
import hashlib
import io
import json
import os
import shutil
import stat
import struct
import sys
import tarfile
import tempfile

STAGE = ".airgap-kit-unpack"
CHUNK = 1024 * 1024


class Refused(Exception):
    """A problem with the input: one line for the operator."""


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while True:
            block = handle.read(CHUNK)
            if not block:
                return digest.hexdigest()
            digest.update(block)


def _walk(root):
    """Every path below ROOT (relative, '/'-separated), sorted, without following links."""
    found = []
    for top, dirs, files in os.walk(root):
        rel = os.path.relpath(top, root)
        for name in dirs + files:
            found.append(name if rel == "." else rel.replace(os.sep, "/") + "/" + name)
    return sorted(found)


def _inside(name, target):
    """True when link NAME pointing at TARGET (relative) stays inside the tree."""
    if target.startswith("/"):
        return False
    depth = len(name.split("/")) - 1
    for part in target.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return False
        elif part not in ("", "."):
            depth += 1
    return True


def pyc_with_epoch(data, epoch):
    """DATA (a .pyc) with its recorded source mtime set to EPOCH when it is timestamp-based
    (3.7+: flags word 0, mtime at offset 8; 3.6 and older: mtime at offset 4)."""
    if len(data) < 16 or data[2:4] != b"\r\n":
        return data
    magic = struct.unpack("<H", data[:2])[0]
    stamp = struct.pack("<I", epoch & 0xFFFFFFFF)
    if magic >= 3390:  # 3.7a4's magic number (PEP 552): a flags word follows the magic
        if struct.unpack("<I", data[4:8])[0] != 0:
            return data  # hash-based: no mtime to fix
        return data[:8] + stamp + data[12:]
    return data[:4] + stamp + data[8:]


def _member(root, name, epoch):
    path = os.path.join(root, name)
    info = os.lstat(path)
    member = tarfile.TarInfo(name)
    member.uid = member.gid = 0
    member.uname = member.gname = ""
    member.mtime = epoch
    member.mode = stat.S_IMODE(info.st_mode) & 0o755 | 0o644
    if stat.S_ISDIR(info.st_mode):
        member.type = tarfile.DIRTYPE
        member.mode = 0o755
        return member, None
    if stat.S_ISLNK(info.st_mode):
        target = os.readlink(path)
        if not _inside(name, target):
            raise Refused("%s: a link to %s, outside the tree" % (path, target))
        member.type = tarfile.SYMTYPE
        member.linkname = target
        member.mode = 0o777
        return member, None
    if not stat.S_ISREG(info.st_mode):
        raise Refused("%s: not a regular file, directory or link" % path)
    with open(path, "rb") as handle:
        data = handle.read()
    if name.endswith(".pyc"):
        data = pyc_with_epoch(data, epoch)
    member.size = len(data)
    return member, data


def _write_atomic(directory, name, write):
    handle, temp = tempfile.mkstemp(prefix="." + name + ".", suffix=".part", dir=directory)
    try:
        with os.fdopen(handle, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o644)
        os.rename(temp, os.path.join(directory, name))
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def pack(root, out, name, epoch, meta):
    if not os.path.isdir(root):
        raise Refused("%s: no such directory (nothing installed to pack)" % root)
    names = _walk(root)
    if not names:
        raise Refused("%s is empty: nothing to pack" % root)
    _mkdirs(out)
    result = {}

    def write_tar(handle):
        digest = hashlib.sha256()

        class Hashing(io.RawIOBase):
            def writable(self):
                return True

            def write(self, block):
                digest.update(block)
                handle.write(block)
                return len(block)

        sink = Hashing()
        gzipped = gzip.GzipFile(filename="", mode="wb", compresslevel=6, fileobj=sink, mtime=0)
        with gzipped as compressed:
            with tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as tar:
                for member_name in names:
                    member, data = _member(root, member_name, epoch)
                    tar.addfile(member, io.BytesIO(data) if data is not None else None)
        handle.flush()
        result.update(sha256=digest.hexdigest(), size=handle.tell(), members=len(names))

    _write_atomic(out, name + ".tar.gz", write_tar)
    record = dict(meta)
    record.update(result, file=name + ".tar.gz")
    text = json.dumps(record, indent=2, sort_keys=True) + "\n"
    _write_atomic(out, name + ".json", lambda handle: handle.write(text.encode("utf-8")))
    return result


def _check_member(member):
    name = member.name
    parts = name.split("/")
    if name.startswith("/") or ".." in parts or "\0" in name or not name.strip("/."):
        raise Refused("member %r: an absolute name or one with '..'" % name)
    if member.issym():
        if not _inside(name, member.linkname):
            raise Refused("member %r: a link to %r, outside the tree" % (name, member.linkname))
    elif not (member.isreg() or member.isdir()):
        raise Refused("member %r: not a regular file, directory or symbolic link" % name)


def _mkdirs(path):
    """Create PATH and its missing parents with mode 0755 whatever the umask (as
    `install -d -m 755` does); directories that exist keep their mode."""
    if os.path.isdir(path):
        return
    parent = os.path.dirname(path.rstrip(os.sep))
    if parent and parent != path:
        _mkdirs(parent)
    os.mkdir(path)
    os.chmod(path, 0o755)


def _through_link(name, links):
    """The link member that NAME's parent path passes through, or None."""
    parts = name.split("/")
    for end in range(1, len(parts)):
        if "/".join(parts[:end]) in links:
            return "/".join(parts[:end])
    return None


def _unpack(tarball, stage):
    """Unpack regular files and directories first, then the links: nothing is written through
    a link, since none exists while files are written, and a member whose path passes
    through a link member is refused. Each link's real path (the kernel's resolution, chains
    included) must then stay below STAGE."""
    links = []
    names = []
    with tarfile.open(tarball, mode="r:gz") as tar:
        for member in tar:
            _check_member(member)
            name = member.name.strip("/")
            names.append(name)
            target = os.path.join(stage, *name.split("/"))
            if member.issym():
                links.append((name, member.linkname))
                continue
            if member.isdir():
                _mkdirs(target)
                continue
            _mkdirs(os.path.dirname(target))
            source = tar.extractfile(member)
            with open(target, "wb") as out:
                shutil.copyfileobj(source, out, CHUNK)
            os.chmod(target, member.mode & 0o755)
            os.utime(target, (member.mtime, member.mtime))
    link_names = set(name for name, _ in links)
    for name in names:
        via = _through_link(name, link_names)
        if via is not None:
            raise Refused("member %r: its path goes through the link member %r" % (name, via))
    for name, linkname in links:
        target = os.path.join(stage, *name.split("/"))
        if os.path.lexists(target):
            raise Refused("member %r: a link where the tarball has another member" % name)
        _mkdirs(os.path.dirname(target))
        os.symlink(linkname, target)
    real_stage = os.path.realpath(stage)
    for name, linkname in links:
        real = os.path.realpath(os.path.join(stage, *name.split("/")))
        if real != real_stage and not real.startswith(real_stage + os.sep):
            raise Refused("member %r: a link to %r, outside the tree" % (name, linkname))


def _move_into(stage, prefix):
    """rename(2) every file and link of STAGE to the same place below PREFIX. A directory of
    PREFIX that is a link to a directory is followed, as `make altinstall` (install -d, cp)
    follows it; a file or any other link where the tarball has a directory is refused."""
    moved = 0
    for name in _walk(stage):
        source = os.path.join(stage, name)
        target = os.path.join(prefix, name)
        if os.path.isdir(source) and not os.path.islink(source):
            if os.path.lexists(target) and not os.path.isdir(target):
                raise Refused("%s is not a directory; the tarball has a directory there" % target)
            _mkdirs(target)
            continue
        if os.path.isdir(target) and not os.path.islink(target):
            raise Refused("%s is a directory; the tarball has a file there" % target)
        os.rename(source, target)
        moved += 1
    return moved


def install(tarball, expected, prefix):
    actual = sha256_file(tarball)
    if actual != expected.lower():
        raise Mismatch(
            "%s has sha256 %s, not the %s recorded when it was built: refused, nothing installed"
            % (tarball, actual, expected)
        )
    _mkdirs(prefix)
    stage = os.path.join(prefix, STAGE)
    if os.path.lexists(stage):
        shutil.rmtree(stage)  # a killed run's leftover
    os.mkdir(stage, 0o700)
    try:
        _unpack(tarball, stage)
        moved = _move_into(stage, prefix)
    finally:  # refused or done: no stage is left in the prefix (rmtree never follows a link)
        shutil.rmtree(stage, ignore_errors=True)
    return {"files": moved}


class Mismatch(Refused):
    """The tarball is not the one recorded."""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    packing = sub.add_parser("pack")
    packing.add_argument("--root", required=True)
    packing.add_argument("--out", required=True)
    packing.add_argument("--name", required=True)
    packing.add_argument("--epoch", required=True, type=int)
    packing.add_argument("--meta", default="{}")
    installing = sub.add_parser("install")
    installing.add_argument("--tarball", required=True)
    installing.add_argument("--sha256", required=True)
    installing.add_argument("--prefix", required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "pack":
            result = pack(args.root, args.out, args.name, args.epoch, json.loads(args.meta))
        elif args.command == "install":
            result = install(args.tarball, args.sha256, args.prefix)
        else:
            parser.error("pack or install")
    except Mismatch as exc:
        print("prebuilt_python: %s" % exc, file=sys.stderr)
        return 3
    except (Refused, tarfile.TarError, OSError, ValueError) as exc:
        print("prebuilt_python: %s" % exc, file=sys.stderr)
        return 1
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
