"""A small but real CentOS-7-style install ISO for the playbook tests.

Real tools throughout: `rpmbuild` makes tiny RPMs, `rpmsign` signs them with a throwaway GPG
key made here, `createrepo_c` writes real yum metadata, the public key goes in as
`RPM-GPG-KEY-CentOS-7` (the name the media_repo role expects), and `xorriso -as mkisofs` makes
the ISO. dnf then installs from the repo file the role wrote, with gpgcheck on.

The packages are stand-ins, not CentOS's: `airgap-probe` (signed, noarch), `airgap-unsigned`
(no signature: gpgcheck must refuse it), and `openssl-libs` / `openssl-devel` and `krb5-libs` /
`krb5-devel` named and versioned like CentOS 7.9's ISO (openssl 1:1.0.2k-19.el7, krb5
1.15.1-50.el7; each -devel requires its exact runtime, and openssl-devel requires krb5-devel as
the real one does) but empty, to exercise the role's patched-host check, transitive
dependencies included, against an rpm database.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ISO_TOOLS = ("rpmbuild", "rpmsign", "gpg", "createrepo_c", "xorriso", "rpm", "dnf")
KEY_NAME = "airgap-kit throwaway test key"
ISO_OPENSSL_EVR = ("1", "1.0.2k", "19.el7")
PATCHED_OPENSSL_EVR = ("1", "1.0.2k", "26.el7_9")
ISO_KRB5_EVR = ("0", "1.15.1", "50.el7")
PATCHED_KRB5_EVR = ("0", "1.15.1", "55.el7_9")


@dataclass(frozen=True)
class MediaIso:
    path: Path
    tree: Path  # the ISO's files (for images of another file system, e.g. mke2fs -d)
    gnupg: Path
    key_fingerprint: str


def missing_tools() -> list[str]:
    return [tool for tool in ISO_TOOLS if shutil.which(tool) is None]


def _run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload, no-any-return]


def _spec(
    name: str,
    evr: tuple[str, str, str],
    arch: str = "noarch",
    requires: str = "",
    provides: str = "",
) -> str:
    epoch, version, release = evr
    lines = [
        f"Name: {name}",
        *([f"Epoch: {epoch}"] if epoch != "0" else []),
        f"Version: {version}",
        f"Release: {release}",
        "Summary: airgap-kit test stand-in package",
        "License: MIT",
        f"BuildArch: {arch}",
        "AutoReqProv: no",
        *([f"Requires: {requires}"] if requires else []),
        *([f"Provides: {provides}"] if provides else []),
        "%description",
        "Stand-in package built by the airgap-kit tests.",
        "%install",
        f"mkdir -p %{{buildroot}}/usr/share/{name}",
        f"echo {name} > %{{buildroot}}/usr/share/{name}/README",
        "%files",
        f"/usr/share/{name}/README",
        "",
    ]
    return "\n".join(lines)


def build_rpm(workdir: Path, spec_text: str, name: str, arch: str = "noarch") -> Path:
    """rpmbuild one package from SPEC_TEXT; returns the .rpm path."""
    specs = workdir / "specs"
    specs.mkdir(parents=True, exist_ok=True)
    spec = specs / f"{name}.spec"
    spec.write_text(spec_text)
    rpmdir = workdir / "rpms"
    _run(
        [
            "rpmbuild",
            "-bb",
            "--target",
            arch,
            "--define",
            f"_topdir {workdir / 'rpmbuild'}",
            "--define",
            f"_rpmdir {rpmdir}",
            str(spec),
        ]
    )
    built = sorted((rpmdir / arch).glob(f"{name}-[0-9]*.rpm"))
    assert built, f"rpmbuild made no {name} package"
    return built[-1]


def devel_pair(
    workdir: Path, name: str, evr: tuple[str, str, str], requires: str = ""
) -> tuple[Path, Path]:
    """Stand-in NAME-libs and NAME-devel at EVR (the -devel pins the exact runtime, plus
    REQUIRES)."""
    epoch, version, release = evr
    exact = f"{epoch}:{version}-{release}" if epoch != "0" else f"{version}-{release}"
    libs = build_rpm(
        workdir,
        _spec(f"{name}-libs", evr, "x86_64", provides=f"{name}-libs(x86-64) = {exact}"),
        f"{name}-libs",
        "x86_64",
    )
    pins = f"{name}-libs(x86-64) = {exact}" + (f", {requires}" if requires else "")
    devel = build_rpm(
        workdir, _spec(f"{name}-devel", evr, "x86_64", requires=pins), f"{name}-devel", "x86_64"
    )
    return libs, devel


def openssl_pair(workdir: Path, evr: tuple[str, str, str]) -> tuple[Path, Path]:
    """Stand-in openssl-libs and openssl-devel at EVR; openssl-devel requires krb5-devel."""
    return devel_pair(workdir, "openssl", evr, requires="krb5-devel")


def krb5_pair(workdir: Path, evr: tuple[str, str, str]) -> tuple[Path, Path]:
    """Stand-in krb5-libs and krb5-devel at EVR (openssl-devel's transitive exact pin)."""
    return devel_pair(workdir, "krb5", evr)


def make_key(gnupg: Path) -> str:
    """A passphrase-less RSA signing key in a private GNUPGHOME; returns its fingerprint."""
    gnupg.mkdir(mode=0o700, parents=True, exist_ok=True)
    _run(
        [
            "gpg",
            "--homedir",
            str(gnupg),
            "--batch",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            "--quick-gen-key",
            f"{KEY_NAME} <test@invalid>",
            "rsa2048",
            "sign",
            "never",
        ]
    )
    listing = _run(["gpg", "--homedir", str(gnupg), "--with-colons", "--list-keys"]).stdout
    return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))


def sign(rpms: list[Path], gnupg: Path) -> None:
    gpg = shutil.which("gpg")
    assert gpg
    _run(
        [
            "rpmsign",
            "--addsign",
            "--define",
            f"__gpg {gpg}",
            "--define",
            f"_gpg_name {KEY_NAME}",
            "--define",
            f"_gpg_path {gnupg}",
            *map(str, rpms),
        ]
    )
    _stop_agent(gnupg)


def _stop_agent(gnupg: Path) -> None:
    """Stop the gpg-agent that gpg started for `gnupg` (`gpgconf --kill all`, GnuPG's
    documented way): a test leaves no daemon behind; gpg starts another when next needed."""
    subprocess.run(["gpgconf", "--homedir", str(gnupg), "--kill", "all"], check=False)


def build_test_iso(workdir: Path) -> MediaIso:
    """Build WORKDIR/CentOS-7-x86_64-test.iso (see the module docstring)."""
    gnupg = workdir / "gnupg"
    fingerprint = make_key(gnupg)
    probe = build_rpm(workdir, _spec("airgap-probe", ("0", "1.0", "1.el7")), "airgap-probe")
    unsigned = build_rpm(
        workdir, _spec("airgap-unsigned", ("0", "1.0", "1.el7")), "airgap-unsigned"
    )
    libs, devel = openssl_pair(workdir / "iso-openssl", ISO_OPENSSL_EVR)
    krb5_libs, krb5_devel = krb5_pair(workdir / "iso-krb5", ISO_KRB5_EVR)
    signed = [probe, libs, devel, krb5_libs, krb5_devel]
    sign(signed, gnupg)
    tree = workdir / "tree"
    packages = tree / "Packages"
    packages.mkdir(parents=True)
    for rpm in [*signed, unsigned]:
        shutil.copy2(rpm, packages / rpm.name)
    _run(["createrepo_c", "--quiet", str(tree)])
    key = _run(["gpg", "--homedir", str(gnupg), "--armor", "--export", fingerprint]).stdout
    _stop_agent(gnupg)
    (tree / "RPM-GPG-KEY-CentOS-7").write_text(key)
    iso = workdir / "CentOS-7-x86_64-test.iso"
    _run(
        [
            "xorriso",
            "-as",
            "mkisofs",
            "-quiet",
            "-R",
            "-J",
            "-V",
            "CentOS 7 x86_64",
            "-o",
            str(iso),
            str(tree),
        ]
    )
    return MediaIso(path=iso, tree=tree, gnupg=gnupg, key_fingerprint=fingerprint)


def install_into_rpmdb(dbpath: Path, rpm_file: Path) -> None:
    """Record RPM_FILE as installed in a private rpm database (no files, no scripts)."""
    dbpath.mkdir(parents=True, exist_ok=True)
    _run(["rpm", "--dbpath", str(dbpath), "--initdb"])
    _run(
        [
            "rpm",
            "--dbpath",
            str(dbpath),
            "-i",
            "--justdb",
            "--nodeps",
            "--noscripts",
            "--nosignature",
            "--ignorearch",
            "--ignoreos",
            str(rpm_file),
        ]
    )


def dnf_install(
    reposdir: Path,
    repo_ids: list[str],
    installroot: Path,
    package: str,
    netns: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """`dnf install PACKAGE` into INSTALLROOT using only REPO_IDS from REPOSDIR, gpgcheck on.

    dnf.conf says gpgcheck=0, so signature checking comes from the repo file alone;
    dnf imports the key from the repo's gpgkey URL into the installroot's rpm database.
    With NETNS, dnf runs inside that network namespace (a fleet test's client host, whose
    repo file names the repo server's URL).
    """
    conf = installroot.parent / f"{installroot.name}-dnf.conf"
    conf.write_text("[main]\ngpgcheck=0\nrepo_gpgcheck=0\n")
    enable = ",".join(repo_ids)
    return subprocess.run(
        [
            *(["ip", "netns", "exec", netns] if netns else []),
            "dnf",
            "--assumeyes",
            "--config",
            str(conf),
            "--releasever",
            "7",
            "--installroot",
            str(installroot),
            "--setopt",
            f"reposdir={reposdir}",
            "--setopt",
            f"cachedir={installroot.parent / (installroot.name + '-cache')}",
            "--disablerepo",
            "*",
            "--enablerepo",
            enable,
            "install",
            package,
        ],
        capture_output=True,
        text=True,
    )
