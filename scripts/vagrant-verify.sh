#!/usr/bin/env bash
# Rehearse the deployment in a real CentOS 7 box (VirtualBox or libvirt, on a machine that can
# run VMs): boot, provision, provision AGAIN and require changed=0 (idempotence), run the smoke
# test inside the box, then destroy it (KEEP=1 keeps it).
#
# Usage: AIRGAP_ISO=/path/CentOS-7-x86_64-Everything-2009.iso scripts/vagrant-verify.sh [KIT_DIR]
#   KIT_DIR  an unpacked kit (default: the repository, with wheelhouse/ and sources/ filled by
#            `make fetch` and `bundler fetch-source`)
# Other knobs: the Vagrantfile's AIRGAP_* variables, VAGRANT_DEFAULT_PROVIDER, KEEP=1.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
KIT_DIR=$(cd "${1:-$ROOT}" && pwd)
LOG_DIR=${LOG_DIR:-$(mktemp -d /tmp/vagrant-verify.XXXXXX)}
export AIRGAP_KIT_DIR=$KIT_DIR

die() {
    echo "vagrant-verify: error: $*" >&2
    exit 2
}

say() {
    echo "vagrant-verify: $*"
}

[ -n "${AIRGAP_ISO:-}" ] || die "set AIRGAP_ISO to the CentOS 7 Everything/DVD ISO"
[ -f "$AIRGAP_ISO" ] || die "AIRGAP_ISO=$AIRGAP_ISO does not exist"
[ -f "$KIT_DIR/wheelhouse/requirements.lock" ] || die "$KIT_DIR/wheelhouse is not a fetched wheelhouse"
[ -f "$KIT_DIR/playbooks/site.yml" ] || die "$KIT_DIR/playbooks/site.yml is missing"
command -v vagrant >/dev/null || die "vagrant is not installed"
command -v ansible-playbook >/dev/null || die "ansible-playbook (ansible-core 2.16.x) is not on PATH"

# Use the kit's own Vagrantfile when KIT_DIR is an unpacked kit, else the repository's.
if [ -f "$KIT_DIR/Vagrantfile" ]; then
    export VAGRANT_CWD=$KIT_DIR
else
    export VAGRANT_CWD=$ROOT
fi

cleanup() {
    if [ "${KEEP:-0}" = 1 ]; then
        say "KEEP=1: the box is left running (vagrant destroy -f in $VAGRANT_CWD to remove it)"
    else
        vagrant destroy -f >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT

say "validate"
vagrant validate

say "up + first provision (log: $LOG_DIR/provision-1.log)"
vagrant up --provision 2>&1 | tee "$LOG_DIR/provision-1.log"

say "second provision: every task must report ok, none changed (log: $LOG_DIR/provision-2.log)"
vagrant provision 2>&1 | tee "$LOG_DIR/provision-2.log"
recap=$(grep -E 'changed=[0-9]+' "$LOG_DIR/provision-2.log" || true)
[ -n "$recap" ] || die "no PLAY RECAP in the second provision"
if echo "$recap" | grep -Eq 'changed=[1-9]|failed=[1-9]|unreachable=[1-9]'; then
    die "the second provision was not idempotent: $recap"
fi
say "idempotent: $recap"

say "smoke test inside the box"
workers=${AIRGAP_SMOKE_WORKERS:-${AIRGAP_CPUS:-2}}
vagrant ssh -c "/opt/asciivideo/venv/bin/python -m asciivideo selftest --workers $workers" \
    | tee "$LOG_DIR/smoke.log"
grep -q '^selftest ok:' "$LOG_DIR/smoke.log" || die "the smoke test did not report 'selftest ok'"
say "ok: provisioned, idempotent, smoke test passed (logs in $LOG_DIR)"
