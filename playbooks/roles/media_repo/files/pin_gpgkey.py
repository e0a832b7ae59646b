#!/usr/bin/python
"""Fetch the repo server's RPM signing key, check its fingerprint, write it locally (media_repo).

pin_gpgkey.py --url URL --dest FILE --fingerprint HEX [--fingerprint HEX ...] [--timeout S]
              [--check]

In http mode the key comes over plain HTTP from the repo server, so anyone answering for the
server could serve their own key with RPMs signed by it. This script downloads URL (at most
1 MiB), reads every ASCII-armored block in it (RFC 4880 section 6.2), and computes the
fingerprint of every primary public key (packet tag 6) it holds: the SHA-1 of 0x99, the
packet's two-byte length and its body (RFC 4880 section 12.2; version 4 keys, the only ones
EL7's rpm reads). Every primary key must be one of the pinned fingerprints (a second, unpinned
key in the file is refused: yum imports every key of a gpgkey file). Only then is the file
written to DEST (mode 0644, written to a temporary name in DEST's directory, fsynced and
renamed), and the repo file's gpgkey= names DEST as a file:// URL: yum never imports a key
from the wire. With --check nothing is written.

Prints {"changed": BOOL, "fingerprints": [HEX, ...]} (upper-case hex). Errors: one line on
stderr, exit 1. Runs on Python 2.7 (CentOS 7's /usr/bin/python) and 3.
"""

# This file runs on the target's Python 2.7 (CentOS 7's /usr/bin/python): no f-strings.
# ruff: noqa: UP010, UP024, UP031, B904

from __future__ import print_function

import argparse
import base64
import binascii
import hashlib
import json
import os
import struct
import sys
import tempfile

try:  # Python 3
    from urllib.request import urlopen
except ImportError:  # Python 2.7
    from urllib2 import urlopen  # type: ignore[import-not-found,no-redef]

LIMIT = 1024 * 1024
BEGIN = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
END = "-----END PGP PUBLIC KEY BLOCK-----"


class Refused(Exception):
    """A problem with the key: one line for the operator."""


def armored_blocks(text):
    """The binary contents of every public key block of TEXT (RFC 4880 section 6.2)."""
    blocks = []
    lines = text.replace("\r", "").split("\n")
    index = 0
    while index < len(lines):
        if lines[index].strip() != BEGIN:
            index += 1
            continue
        index += 1
        while index < len(lines) and lines[index].strip():  # armor headers end at a blank line
            index += 1
        body = []
        while index < len(lines) and lines[index].strip() != END:
            line = lines[index].strip()
            if not line.startswith("="):  # the CRC-24 line
                body.append(line)
            index += 1
        if index == len(lines):
            raise Refused("a key block without its END line")
        try:
            blocks.append(base64.b64decode("".join(body).encode("ascii")))
        except (binascii.Error, TypeError, ValueError, UnicodeError):
            raise Refused("a key block that is not base64")
    if not blocks:
        raise Refused("no PGP public key block")
    return blocks


def packets(data):
    """(tag, body) of each OpenPGP packet of DATA (RFC 4880 section 4.2)."""
    found = []
    offset = 0
    view = bytearray(data)
    while offset < len(view):
        head = view[offset]
        if not head & 0x80:
            raise Refused("not an OpenPGP packet at byte %d" % offset)
        if head & 0x40:  # new format
            tag = head & 0x3F
            if offset + 1 >= len(view):
                raise Refused("a truncated packet header")
            first = view[offset + 1]
            if first < 192:
                length, start = first, offset + 2
            elif first < 224:
                if offset + 2 >= len(view):
                    raise Refused("a truncated packet header")
                length, start = ((first - 192) << 8) + view[offset + 2] + 192, offset + 3
            elif first == 255:
                length, start = (
                    struct.unpack(">I", bytes(view[offset + 2 : offset + 6]))[0],
                    offset + 6,
                )
            else:
                raise Refused("a partial-length packet in a key")
        else:
            tag = (head >> 2) & 0x0F
            size = {0: 1, 1: 2, 2: 4}.get(head & 0x03)
            if size is None:
                raise Refused("an indeterminate-length packet in a key")
            raw = bytes(view[offset + 1 : offset + 1 + size])
            if len(raw) != size:
                raise Refused("a truncated packet header")
            length = struct.unpack(">" + {1: "B", 2: "H", 4: "I"}[size], raw)[0]
            start = offset + 1 + size
        if start + length > len(view):
            raise Refused("a truncated packet")
        found.append((tag, bytes(view[start : start + length])))
        offset = start + length
    return found


def fingerprints(text):
    """Upper-case hex v4 fingerprints of every primary public key in the armored TEXT."""
    result = []
    for block in armored_blocks(text):
        for tag, body in packets(block):
            if tag != 6:
                continue
            if not body or bytearray(body)[0] != 4:
                raise Refused("a public key that is not version 4 (EL7's rpm reads only v4)")
            digest = hashlib.sha1(b"\x99" + struct.pack(">H", len(body)) + body)
            result.append(digest.hexdigest().upper())
    if not result:
        raise Refused("no public key in the key blocks")
    return result


def normalise(fingerprint):
    return fingerprint.replace(" ", "").upper()


def check(text, pinned):
    """The fingerprints of TEXT's keys, when every one is PINNED; Refused otherwise."""
    found = fingerprints(text)
    wanted = set(normalise(f) for f in pinned)
    strangers = [f for f in found if f not in wanted]
    if strangers:
        raise Refused(
            "holds the key %s, not the pinned %s: refused, no key written"
            % (", ".join(strangers), ", ".join(sorted(wanted)))
        )
    return found


def fetch(url, timeout):
    answer = urlopen(url, timeout=timeout)
    try:
        data = answer.read(LIMIT + 1)
    finally:
        answer.close()
    if len(data) > LIMIT:
        raise Refused("more than %d bytes: not a key" % LIMIT)
    return data


def write(dest, data):
    directory = os.path.dirname(os.path.abspath(dest))
    handle, temp = tempfile.mkstemp(prefix="." + os.path.basename(dest) + ".", dir=directory)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o644)
        os.rename(temp, dest)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--dest", required=True)
    parser.add_argument("--fingerprint", action="append", required=True)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    try:
        data = fetch(args.url, args.timeout)
        try:
            text = data.decode("ascii")
        except UnicodeError:
            raise Refused("not an ASCII-armored key")
        found = check(text, args.fingerprint)
        current = None
        if os.path.isfile(args.dest):
            with open(args.dest, "rb") as handle:
                current = handle.read()
        changed = current != data
        if changed and not args.check:
            write(args.dest, data)
    except Refused as exc:
        print("pin_gpgkey: %s: %s" % (args.url, exc), file=sys.stderr)
        return 1
    except (IOError, OSError, ValueError) as exc:  # urllib's URLError is an IOError/OSError
        print("pin_gpgkey: %s: %s" % (args.url, exc), file=sys.stderr)
        return 1
    print(json.dumps({"changed": changed, "fingerprints": found}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
