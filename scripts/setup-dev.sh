#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh Debian machine, idempotently:
# system tools (apt), the kit's venv with dev extras, and each part's extras (scripts/setup.d/*.sh,
# sourced in name order; each one owns one area: converter, audit, playbooks, ...).
# Usage: scripts/setup-dev.sh            (safe to re-run; skips what is already there)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export ROOT
step_started=$SECONDS
# One line per finished step, with its duration (run-tests.sh prints the phases around it).
step_done() {
  echo "setup: $1: ok ($((SECONDS - step_started))s)"
  step_started=$SECONDS
}

# --- system packages (Debian names); one apt-get run for all areas -------------------------
APT_PACKAGES=(
  ffmpeg                      # converter tests: clips in H.264/MJPG/mp4v made by a real encoder
  xorriso createrepo-c dnf rpm  # playbooks e2e: a real ISO with real yum metadata, checked by dnf
  gnupg python3-rpm           # playbooks e2e: signing the test ISO's RPMs, and kit signatures (bundler keygen/pack --sign/verify --key, kit_verify role); rpm bindings for the patched-host check
  python3-dnf                 # wheels role e2e: Ansible's dnf backend installs by RPM capability (tests/e2e/test_wheels_capabilities.py)
  libssl-dev zlib1g-dev libbz2-dev libffi-dev liblzma-dev libsqlite3-dev libreadline-dev libncurses-dev tk-dev libgdbm-dev libdb-dev uuid-dev pkg-config xz-utils  # playbooks e2e: CPython build deps (the role's apt task finds them, so the play can run offline under unshare -n)
  vagrant vagrant-libvirt     # `vagrant validate` of the kit's Vagrantfile (needs one usable provider: libvirt)
  shellcheck                  # lint of scripts/vagrant-verify.sh (tests/unit/test_vagrantfile.py)
  chromium fonts-dejavu-core  # screenshot of the HTML inspect report
  tmux                        # driving `asciivideo play` in a real terminal
  gcc make                    # ELF fixtures for audit tests; CPython build in the e2e test
  libsm6 libice6 libxrender1 libxext6 libx11-6 libglib2.0-0 libgl1  # what `bundler audit` names for opencv-python
  dpkg-dev                    # `apt-get source` (CPython tarball for the build e2e)
  iproute2 util-linux         # ip netns, unshare -n, losetup
  e2fsprogs                   # playbooks e2e: mke2fs -d, an ext2 image standing in for the ISO (this kernel has no iso9660)
  openssh-server openssh-client sudo  # playbooks over real SSH to network-namespace hosts
  acl                         # setfacl: Ansible's become from the SSH login user to python_build_user shares its temp files with it (CentOS 7 has acl in @core)
  nginx-light apache2         # the repo server role's web server, in a namespace
  minisign                    # the second signature format, checked with the real tool
  unixodbc libodbc2           # audit tests: a wheel needing libodbc.so.2 loads once the named package is there
  hyperfine                   # benchmarks
  openssl                     # tests/unit/net/test_transport.py: a self-signed certificate for the local HTTPS server
  xdelta3                     # benchmarks/delta_size.py: a generic binary diff (VCDIFF) of two kits, the delta kit's yardstick
)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian packages: ${missing[*]}"
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: warning: missing Debian packages (tests needing them will skip): ${missing[*]}" >&2
  fi
fi
step_done "Debian packages (${#APT_PACKAGES[@]} checked, ${#missing[@]} missing before)"

# --- the kit's own venv ------------------------------------------------------------------
HOST_PYTHON=${HOST_PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$HOST_PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q -e '.[dev]'
step_done ".venv with the kit and its dev extras"

# --- per-area extras ---------------------------------------------------------------------
for part in scripts/setup.d/*.sh; do
  [ -e "$part" ] || continue
  echo "setup: $(basename "$part")"
  # shellcheck source=/dev/null
  . "$part"
  step_done "$(basename "$part")"
done
echo "setup: ok"
