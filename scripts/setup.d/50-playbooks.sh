# shellcheck shell=bash
# Playbook test prerequisites; sourced by scripts/setup-dev.sh with $ROOT set. Fast, idempotent.
# The Debian packages (xorriso, createrepo-c, dnf, rpm, gnupg, python3-rpm, the CPython build
# dependencies) are in setup-dev.sh's APT_PACKAGES. Nothing is installed here: the tests make
# their own temp ISO, temp apt source list (deb-src, for `apt-get source python3.11`) and temp
# prefixes. This only reports what would make the playbook tests skip (a failure in CI).

pb_warn() { echo "setup: playbooks: warning: $*" >&2; }
for pb_tool in rpmbuild rpmsign gpg createrepo_c xorriso dnf apt-get gcc make; do
  command -v "$pb_tool" >/dev/null 2>&1 || pb_warn "$pb_tool is missing (tests/e2e/test_playbooks_* skip)"
done
/usr/bin/python3 -c 'import rpm' 2>/dev/null \
  || pb_warn "Debian's /usr/bin/python3 cannot import rpm (python3-rpm): the patched-host check tests skip"
[ -r /usr/share/keyrings/debian-archive-keyring.gpg ] \
  || pb_warn "no Debian archive keyring: apt-get source of the CPython tarball cannot be verified"
[ "$(id -u)" = 0 ] || pb_warn "not root: the site.yml e2e tests skip (they install apt build deps)"
unset pb_tool
