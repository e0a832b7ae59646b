"""selinux_port_action: what `semanage port` must do so that a web server may listen on a port.

Input: the text of `semanage port --list` (policycoreutils; lines `TYPE PROTO PORTS`, PORTS a
comma-separated list of numbers and LOW-HIGH ranges, e.g.
`http_cache_port_t  tcp  8080, 10001-10010`), the port, its protocol and the wanted type.
Output, one word:
  none    a rule of the wanted type already covers the port (a number or a range);
  modify  the port is an exact rule of another type (EL7's policy: 8080 is http_cache_port_t):
          `semanage port --add` fails there with "Port tcp/8080 already defined", `--modify`
          gives it the wanted type as a local definition, which overrides the policy's
          (semanage-port(8) of EL7's policycoreutils-python 2.5,
          https://manpath.be/c7/policycoreutils-python/2.5-29.el7_6.1.x86_64/8/semanage-port);
  add     no exact rule for it: `semanage port --add` (a port inside another type's range only
          is not "already defined": semanage compares the exact protocol and range).
Pure text parsing on the controller; the repo_server role runs the command it names after this
probe (ansible-core has no SELinux module: community.general.seport is a Galaxy collection the
kit does not carry).
"""

import re

LINE = re.compile(r"^(\S+)\s+(tcp|udp|dccp|sctp)\s+(\S.*)$")


def _ranges(text):
    """[(low, high)] of a PORTS cell; an entry that is not a number or a range is skipped."""
    out = []
    for item in text.split(","):
        item = item.strip()
        match = re.match(r"^(\d+)(?:-(\d+))?$", item)
        if match:
            low = int(match.group(1))
            out.append((low, int(match.group(2) or low)))
    return out


def selinux_port_rules(listing):
    """[(type, proto, low, high)] of `semanage port --list` text (its header is skipped)."""
    rules = []
    for line in str(listing).splitlines():
        match = LINE.match(line.strip())
        if match:
            for low, high in _ranges(match.group(3)):
                rules.append((match.group(1), match.group(2), low, high))
    return rules


def selinux_port_action(listing, port, proto="tcp", wanted="http_port_t"):
    """'none' | 'modify' | 'add' (see the module's docstring)."""
    port = int(port)
    rules = [r for r in selinux_port_rules(listing) if r[1] == proto]
    if any(kind == wanted and low <= port <= high for kind, _p, low, high in rules):
        return "none"
    if any(low == high == port for _kind, _p, low, high in rules):
        return "modify"
    return "add"


class FilterModule:
    def filters(self):
        return {"selinux_port_action": selinux_port_action}
