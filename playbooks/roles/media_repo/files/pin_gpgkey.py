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
key in the file is refused: yum imports every key of a gpgkey file). A block another reader
could read differently (an armor header RFC 4880 does not define, which makes rpm skip to the
next BEGIN; a BEGIN inside a block; data after the base64 padding or the CRC-24 line; a wrong
CRC-24) is refused. Only then is a key file written to DEST, built from the checked packets
alone (one header-less block per key), so rpm reads exactly the keys that were checked; it is
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
import re
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


# The armor headers RFC 4880 section 6.2 defines. rpm (rpmpgp.c, pgpParsePkts) abandons a
# block whose header it does not know and looks for the next BEGIN, so a header this script
# skipped would let rpm and this script read different keys out of one file: refused.
KNOWN_HEADERS = ("Version", "Comment", "MessageID", "Hash", "Charset")
BASE64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")


def crc24(data):
    """The CRC-24 of DATA that armor's checksum line carries (RFC 4880 section 6.1)."""
    crc = 0xB704CE
    for byte in bytearray(data):
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def _block_body(lines, index):
    """(binary contents, index after END) of the block whose BEGIN line is LINES[INDEX - 1].

    Strict, so that no reader finds another key in it: only RFC 4880's armor headers, no
    second BEGIN before the END, base64 whose padding ends the data, one CRC-24 line that
    matches, and nothing between it and END.
    """
    while index < len(lines) and lines[index].strip():  # armor headers end at a blank line
        name = lines[index].split(":", 1)[0].strip()
        if ":" not in lines[index] or name not in KNOWN_HEADERS:
            raise Refused("a key block with the unknown armor header %r" % lines[index][:40])
        index += 1
    body = []
    checksum = None
    while index < len(lines) and lines[index].strip() != END:
        line = lines[index].strip()
        index += 1
        if line.startswith("-----"):
            raise Refused("a BEGIN or other armor line inside a key block")
        if checksum is not None and line:
            raise Refused("data after a key block's CRC-24 line")
        if line.startswith("="):
            checksum = line[1:]
        elif line:
            body.append(line)
    if index == len(lines):
        raise Refused("a key block without its END line")
    joined = "".join(body)
    if not BASE64.match(joined) or len(joined) % 4:
        raise Refused("a key block that is not base64 (or has data after its padding)")
    data = base64.b64decode(joined.encode("ascii"))
    if checksum is not None:
        try:
            expected = bytearray(base64.b64decode(checksum.encode("ascii")))
        except (binascii.Error, TypeError, ValueError, UnicodeError):
            raise Refused("a key block whose CRC-24 line is not base64")
        if len(expected) != 3 or (expected[0] << 16 | expected[1] << 8 | expected[2]) != crc24(
            data
        ):
            raise Refused("a key block whose CRC-24 does not match its data")
    return data, index + 1


def armored_blocks(text):
    """The binary contents of every public key block of TEXT (RFC 4880 section 6.2).

    Text outside the blocks is skipped (as gpg and rpm do); inside a block anything a stricter
    or laxer reader could read differently is Refused (see _block_body).
    """
    blocks = []
    lines = text.replace("\r", "").split("\n")
    index = 0
    while index < len(lines):
        line = lines[index].strip()
        index += 1
        if line == BEGIN:
            data, index = _block_body(lines, index)
            blocks.append(data)
        elif line.startswith("-----BEGIN PGP"):
            raise Refused("a %s block in a key file" % line.strip("-").strip())
    if not blocks:
        raise Refused("no PGP public key block")
    return blocks


def packets(data):
    """(tag, body, whole packet) of each OpenPGP packet of DATA (RFC 4880 section 4.2)."""
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
        found.append(
            (tag, bytes(view[start : start + length]), bytes(view[offset : start + length]))
        )
        offset = start + length
    return found


def keys(text):
    """[(upper-case hex v4 fingerprint, the key's packets as bytes)] of the armored TEXT.

    A key is its primary public key packet (tag 6) and the user ids (13), user attributes (17)
    and signatures (2) after it (RFC 4880 section 11.1): what the fingerprint check covers.
    Subkeys (14) and their binding signatures are left out of the result (no fingerprint of
    theirs is checked; EL7's rpm 4.11 ignores subkeys, and an rpm that reads them must not get
    a stranger's: CVE-2021-3521), as are trust packets (12). Any other packet (a secret key, a
    compressed packet that could hold another key, ...) and a packet before the first primary
    key are Refused.
    """
    result = []
    for block in armored_blocks(text):
        in_subkey = False
        for tag, body, whole in packets(block):
            if tag == 6:
                if not body or bytearray(body)[0] != 4:
                    raise Refused("a public key that is not version 4 (EL7's rpm reads only v4)")
                digest = hashlib.sha1(b"\x99" + struct.pack(">H", len(body)) + body)
                result.append((digest.hexdigest().upper(), [whole]))
                in_subkey = False
                continue
            if not result:
                raise Refused("a packet (tag %d) before the first public key" % tag)
            if tag in (14, 12):  # a subkey (its signatures follow) or a trust packet: left out
                in_subkey = in_subkey or tag == 14
                continue
            if tag not in KEY_PACKETS:
                raise Refused(
                    "a packet of tag %d in a public key block (only keys, user ids and "
                    "signatures belong there)" % tag
                )
            if tag == 2 and in_subkey:
                continue  # a subkey's binding signature goes with it
            if in_subkey:
                raise Refused("a user id after a subkey (RFC 4880 section 11.1 puts them before)")
            result[-1][1].append(whole)
    if not result:
        raise Refused("no public key in the key blocks")
    return [(fingerprint, b"".join(parts)) for fingerprint, parts in result]


KEY_PACKETS = (2, 13, 17)
"""The packets kept after a primary key: signatures, user ids, user attributes (RFC 4880 4.3)."""


def fingerprints(text):
    """Upper-case hex v4 fingerprints of every primary public key in the armored TEXT."""
    return [fingerprint for fingerprint, _ in keys(text)]


def armor(data):
    """DATA as one canonical public key block: no armor headers, 64-column base64, CRC-24."""
    encoded = base64.b64encode(data).decode("ascii")
    crc = base64.b64encode(struct.pack(">I", crc24(data))[1:]).decode("ascii")
    lines = [BEGIN, ""] + [encoded[i : i + 64] for i in range(0, len(encoded), 64)]
    lines.append("=" + crc)
    lines.append(END)
    return ("\n".join(lines) + "\n").encode("ascii")


def canonical(checked):
    """The key file written for the CHECKED [(fingerprint, packets)]: one block per key.

    rpm then reads exactly the packets whose fingerprints were checked, whatever else (text,
    headers, a reader's quirks) the served file held.
    """
    return b"".join(armor(data) for _, data in checked)


def normalise(fingerprint):
    return fingerprint.replace(" ", "").upper()


def check(text, pinned):
    """[(fingerprint, packets)] of TEXT's keys, when every one is PINNED; Refused otherwise."""
    checked = keys(text)
    found = [fingerprint for fingerprint, _ in checked]
    wanted = set(normalise(f) for f in pinned)
    strangers = [f for f in found if f not in wanted]
    if strangers:
        raise Refused(
            "holds the key %s, not the pinned %s: refused, no key written"
            % (", ".join(strangers), ", ".join(sorted(wanted)))
        )
    return checked


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
        checked = check(text, args.fingerprint)
        found = [fingerprint for fingerprint, _ in checked]
        data = canonical(checked)
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
