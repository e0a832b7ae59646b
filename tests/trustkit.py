"""A signed, policy-gated kit made by the real CLI, for the trust tests (integration and e2e).

`connected_side(root)` does what an operator does on the connected machine: `bundler keygen`
(two OpenPGP keys, A the kit's and B another, and a minisign key), `bundler fetch --policy
--vuln-db` against tests/fakeindex.py with the OSV export of tests/fakeosv.py, then `bundler
pack --sign A`. The policy ignores lib's critical CVE (with a reason, until `IGNORE_DAYS` from
today) and denies from `high` up; licenses of the fake wheels are unknown (warned).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner, Result

from bundler.cli import main
from tests.fakeindex import FakeIndex
from tests.fakeosv import write_export

REPO = Path(__file__).resolve().parents[1]
IGNORE_DAYS = 30
TODAY = dt.datetime.now(dt.timezone.utc).date()
EXPIRES = TODAY + dt.timedelta(days=IGNORE_DAYS)


def policy_text(
    deny_severity: str = "high", unknown: str = "warn", expires: dt.date = EXPIRES
) -> str:
    return f"""\
[licenses]
allow = ["MIT", "BSD-3-Clause", "Apache-2.0"]
unknown = "{unknown}"

[vulnerabilities]
deny_severity = "{deny_severity}"

[[vulnerabilities.ignore]]
id = "CVE-2026-0001"
reason = "lib's vulnerable parser is never called by the payload"
expires = {expires.isoformat()}

[size]
max_kit = "50M"
"""


def bundler(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def add_packages(fake: FakeIndex) -> None:
    fake.add_wheel("app", "1.0", requires_dist=["lib>=1", "numpyish"], requires_python=">=3.6")
    fake.add_wheel("lib", "1.0", requires_dist=["tiny"])
    fake.add_wheel("tiny", "0.3", requires_python=">=3.6")
    fake.add_wheel("numpyish", "1.19.5", tags="cp36-cp36m-manylinux1_x86_64")


@dataclass(frozen=True)
class Side:
    root: Path
    index_url: str
    policy: Path
    vuln_db: Path
    wheelhouse: Path
    key_a: Path
    pub_a: Path
    fpr_a: str
    pub_b: Path
    fpr_b: str
    mini_key: Path
    mini_pub: Path
    kit: Path
    """kit-app.tar.gz signed with key A (and its .sha256 + .sha256.asc beside it)."""

    def fetch(self, output: Path, *more: str | Path) -> Result:
        return bundler(
            "fetch", "app", "--python", "3.6.15", "--platform", "manylinux1", "--index-url",
            self.index_url, "--cache-dir", self.root / "cache", "-o", output, *more,
        )  # fmt: skip

    def pack(self, output: Path, *more: str | Path, wheelhouse: Path | None = None) -> Result:
        return bundler(
            "pack", "--wheelhouse", wheelhouse or self.wheelhouse, "--sources",
            self.root / "no-sources", "--playbooks", REPO / "playbooks", "--vagrantfile",
            REPO / "Vagrantfile", "--no-controller", "-o", output, *more,
        )  # fmt: skip


def _keygen(prefix: Path, *more: str) -> str:
    made = bundler("keygen", prefix, *more)
    assert made.exit_code == 0, made.output
    return made.output.strip().splitlines()[-1].split(": ")[1]


def connected_side(root: Path, fake: FakeIndex) -> Side:
    root.mkdir(parents=True, exist_ok=True)
    policy = root / "policy.toml"
    policy.write_text(policy_text())
    vuln_db = write_export(root / "osv-PyPI-all.zip")
    fpr_a = _keygen(root / "keys" / "kit-a", "--uid", "Kit A <a@example.org>")
    fpr_b = _keygen(root / "keys" / "kit-b", "--uid", "Kit B <b@example.org>")
    _keygen(root / "keys" / "kit-m", "--format", "minisign")
    side = Side(
        root=root,
        index_url=fake.url,
        policy=policy,
        vuln_db=vuln_db,
        wheelhouse=root / "wheelhouse",
        key_a=root / "keys" / "kit-a.key.asc",
        pub_a=root / "keys" / "kit-a.pub.asc",
        fpr_a=fpr_a,
        pub_b=root / "keys" / "kit-b.pub.asc",
        fpr_b=fpr_b,
        mini_key=root / "keys" / "kit-m.key",
        mini_pub=root / "keys" / "kit-m.pub",
        kit=root / "out" / "kit-app.tar.gz",
    )
    fetched = side.fetch(side.wheelhouse, "--policy", policy, "--vuln-db", vuln_db)
    assert fetched.exit_code == 0, fetched.output
    packed = side.pack(side.kit, "--sign", side.key_a, "--policy", policy)
    assert packed.exit_code == 0, packed.output
    return side
