"""roles/repo_server/filter_plugins/selinux_port.py: `semanage port` add, modify or nothing.

The listing below is the shape `semanage port --list` prints (policycoreutils-python 2.5 on
EL7, semanage-port(8): https://manpath.be/c7/policycoreutils-python/2.5-29.el7_6.1.x86_64/8/semanage-port
-- "local definitions ... override default definitions for the same port", which is what
--modify on a policy-typed port makes). The http types' ports are as EL7's targeted policy
lists them according to the review of #13 (8080 http_cache_port_t); they were not listed on
a running EL7 here. SELinux is not enabled on this machine: the role's commands are proven
with faked probes (tests/e2e/test_playbooks_repo_server_ipv6.py).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from hypothesis import given
from hypothesis import strategies as st

PLUGIN = (
    Path(__file__).resolve().parents[3]
    / "playbooks/roles/repo_server/filter_plugins/selinux_port.py"
)

EL7_LISTING = """SELinux Port Type              Proto    Port Number

afs3_callback_port_t           tcp      7001
http_cache_port_t              tcp      8080, 8118, 8123, 10001-10010
http_cache_port_t              udp      3130
http_port_t                    tcp      80, 81, 443, 488, 8008, 8009, 8443, 9000
unreserved_port_t              tcp      61000-65535, 1024-32767
"""


def _plugin() -> ModuleType:
    spec = importlib.util.spec_from_file_location("selinux_port", PLUGIN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_el7_ports_get_nothing_modify_or_add() -> None:
    action = _plugin().selinux_port_action
    assert action(EL7_LISTING, 80) == "none"
    assert action(EL7_LISTING, "8443") == "none"  # an inventory value is a string
    assert action(EL7_LISTING, 8080) == "modify"  # exact rule of http_cache_port_t
    assert action(EL7_LISTING, 3130) == "add"  # http_cache_port_t for udp only
    assert action(EL7_LISTING, 10005) == "add"  # only inside another type's range
    assert action(EL7_LISTING, 8088) == "add"  # in unreserved_port_t's range only
    assert action("", 8080) == "add"


def test_a_port_modified_to_http_port_t_is_then_left_alone() -> None:
    """After `semanage port --modify -t http_port_t -p tcp 8080` the listing names 8080 under
    both types (the local rule and the policy's): a second run does nothing."""
    after = EL7_LISTING.replace("8008, 8009", "8080, 8008, 8009")
    assert _plugin().selinux_port_action(after, 8080) == "none"


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["http_port_t", "http_cache_port_t", "ssh_port_t"]),
            st.sampled_from(["tcp", "udp"]),
            st.lists(st.tuples(st.integers(1, 65535), st.integers(0, 50)), min_size=1, max_size=4),
        ),
        max_size=6,
    ),
    st.integers(1, 65535),
)
def test_the_action_follows_the_rules_listed(
    rows: list[tuple[str, str, list[tuple[int, int]]]], port: int
) -> None:
    """Any listing: none exactly when an http_port_t tcp rule covers the port, else modify
    exactly when some tcp rule is that one port, else add."""
    lines = ["SELinux Port Type              Proto    Port Number", ""]
    rules = []
    for kind, proto, spans in rows:
        cells = []
        for low, width in spans:
            high = min(low + width, 65535)
            cells.append(str(low) if high == low else f"{low}-{high}")
            rules.append((kind, proto, low, high))
        lines.append(f"{kind:<30} {proto:<8} {', '.join(cells)}")
    tcp = [r for r in rules if r[1] == "tcp"]
    if any(k == "http_port_t" and lo <= port <= hi for k, _p, lo, hi in tcp):
        expected = "none"
    elif any(lo == hi == port for _k, _p, lo, hi in tcp):
        expected = "modify"
    else:
        expected = "add"
    assert _plugin().selinux_port_action("\n".join(lines), port) == expected
