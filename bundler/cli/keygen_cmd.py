"""`bundler keygen PREFIX`: a kit signing key pair (OpenPGP RSA 3072, or minisign Ed25519)."""

from __future__ import annotations

from pathlib import Path

import click

from bundler.kit import signing


@click.command()
@click.argument("prefix", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(signing.FORMATS),
    default=signing.OPENPGP,
    show_default=True,
    help="openpgp: verifiable with gpg2 on a bare CentOS 7; minisign: Ed25519, small.",
)
@click.option(
    "--uid",
    default="airgap-kit signing key",
    show_default=True,
    help="OpenPGP user id, e.g. 'Kit signing <ops@example.org>'.",
)
def keygen(prefix: Path, fmt: str, uid: str) -> None:
    """Make a kit signing key pair: PREFIX.key.asc (secret, mode 0600) and PREFIX.pub.asc.

    That is OpenPGP; --format minisign writes PREFIX.key and PREFIX.pub (no password).
    Never overwrites a key.

    Keep the secret key on the connected side (`bundler pack --sign PREFIX.key.asc`); carry
    the public key to the far side separately from the kit (`bundler verify --key`, the
    playbooks' kit_signing_key), and compare its fingerprint there.
    """
    pair = signing.keygen(prefix, uid, fmt)
    click.echo(f"secret key: {pair.secret} (mode 0600; keep it on this side)")
    click.echo(f"public key: {pair.public}")
    label = "fingerprint" if fmt == signing.OPENPGP else "key id"
    click.echo(f"{label}: {pair.key_id}")
