"""Signed delta kits: `bundler pack --sign KEY --base OLD` and `unpack/verify --onto --key PUB`.

A delta is signed like a full kit: the new kit's SHA256SUMS.asc is a file of the new kit (the
delta carries it), the full archive's .sha256.asc is a sidecar the delta carries, and the
delta's own .sha256 gets its .asc beside it. The far side with --key requires all of them by a
trusted key (real gpg, throw-away keyrings: bundler.kit.signing), and the kit it assembles is the
signed full kit byte for byte, so `verify --key` accepts it as a directory and as the archive.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bundler.cli import main
from bundler.errors import CheckFailed
from bundler.kit import delta, signing, unpack
from bundler.kit.pack import PackInputs
from bundler.kit.trust import Trust
from tests.unit.kit.delta_kit import upgrade
from tests.unit.kit.handmade_kit import handmade_inputs, pack_inputs


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, signing.KeyPair]:
    root = tmp_path_factory.mktemp("delta-keys")
    return {
        "a": signing.keygen(root / "a", "Kit A <a@example.org>"),
        "b": signing.keygen(root / "b", "Kit B <b@example.org>"),
    }


class Signed:
    """v1 signed by A, then v2 packed with --base v1 and signed by `signer`."""

    def __init__(self, tmp: Path, signer: signing.KeyPair) -> None:
        inputs = handmade_inputs(tmp / "in")
        key = signing.load_key(signer.secret)
        self.v1 = pack_inputs(inputs, tmp / "v1" / "kit-demo.tar.gz")
        upgrade(inputs)
        self.made = delta.pack_with_base(
            self.v1.archive,
            PackInputs(
                inputs["wheelhouse"],
                inputs["playbooks"],
                sources_dir=inputs["sources"],
                vagrantfile=inputs["vagrantfile"],
                sign=[key],
            ),
            tmp / "v2" / "kit-demo.tar.gz",
        )
        self.delta = self.made.delta.archive
        self.far = tmp / "far"
        self.far.mkdir()


def _trust(pair: signing.KeyPair) -> Trust:
    return Trust(keys=(signing.load_key(pair.public),))


def _bundler(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def test_a_signed_delta_carries_the_kits_signatures_and_is_signed_itself(
    tmp_path: Path, keys: dict[str, signing.KeyPair]
) -> None:
    kits = Signed(tmp_path, keys["a"])
    record = kits.made.record
    carried = {f.path for f in record.carried}
    assert "SHA256SUMS.asc" in carried  # the new kit's signature over its SHA256SUMS
    assert [s.name for s in record.sidecars] == [
        "kit-demo.tar.gz.sha256",
        "kit-demo.tar.gz.sha256.asc",
    ]
    assert kits.made.delta.signatures == [kits.delta.with_name("kit-demo.delta.tar.gz.sha256.asc")]
    assert kits.made.full.signers == [keys["a"].key_id]

    checked = unpack.check_delta([kits.delta], trust=_trust(keys["a"]))
    assert checked.signers == [keys["a"].key_id]
    with pytest.raises(CheckFailed) as foreign:
        unpack.check_delta([kits.delta], trust=_trust(keys["b"]))
    assert any(keys["a"].key_id[-16:] in p for p in foreign.value.problems), foreign.value.problems


def test_unpack_onto_with_key_gives_the_signed_full_kit_that_verifies_with_that_key(
    tmp_path: Path, keys: dict[str, signing.KeyPair]
) -> None:
    kits = Signed(tmp_path, keys["a"])
    new = kits.far / "kit-v2"
    done = _bundler(
        "unpack", kits.delta, "--onto", kits.v1.archive, "-o", new, "--archive",
        "--key", keys["a"].public,
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert f"signature: good, the delta's by trusted key {keys['a'].key_id}" in done.output
    assert f"signature: good, by trusted key {keys['a'].key_id}" in done.output
    full = kits.made.full
    assert (kits.far / "kit-demo.tar.gz").read_bytes() == full.archive.read_bytes()
    for sidecar in (full.checksum_file, *full.signatures):
        assert (kits.far / sidecar.name).read_bytes() == sidecar.read_bytes()
    for what in (new, kits.far / "kit-demo.tar.gz"):
        again = _bundler("verify", what, "--key", keys["a"].public)
        assert again.exit_code == 0, again.output
        assert f"signature: good, by trusted key {keys['a'].key_id}" in again.output


def test_a_delta_signed_by_another_key_or_unsigned_is_refused_and_leaves_nothing(
    tmp_path: Path, keys: dict[str, signing.KeyPair]
) -> None:
    kits = Signed(tmp_path, keys["b"])  # signed, but by a key the far side does not trust
    new = kits.far / "kit-v2"
    with pytest.raises(CheckFailed) as foreign:
        unpack.unpack_onto([kits.delta], kits.v1.archive, new, trust=_trust(keys["a"]))
    assert any("kit-demo.delta.tar.gz.sha256" in p for p in foreign.value.problems)
    assert not os.path.lexists(new) and list(kits.far.iterdir()) == []

    kits.delta.with_name(kits.delta.name + ".sha256.asc").unlink()  # the delta unsigned
    refused = _bundler("verify", kits.delta, "--onto", kits.v1.archive, "--key", keys["b"].public)
    assert refused.exit_code == 1, refused.output
    assert "kit-demo.delta.tar.gz.sha256.asc" in refused.output
    # without --key the same delta assembles, and says the kit inside is signed
    plain = unpack.unpack_onto([kits.delta], kits.v1.archive, new)
    assert plain.report is not None and plain.report.signers == []
    assert any("SHA256SUMS is signed" in n for n in plain.report.notes), plain.report.notes
