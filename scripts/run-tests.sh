#!/usr/bin/env bash
# The project's test command (README's, and what .ci/run calls): set up, then run every test,
# fast and slow (markers network/slow/e2e included). Extra arguments go to pytest.
# pytest's exit code 5 ("no tests collected") is a failure here, never a silent pass.
#
# It says what it is doing as it goes: a line per phase (with the clock time), setup's own
# line per step with its duration, then pytest in verbose mode (each test's name is printed
# when it starts, so a long end-to-end test shows what is running) and, at the end, the 25
# slowest tests. KIT_SKIP_SETUP=1 skips the setup phase (a quick re-run of part of the suite:
# KIT_SKIP_SETUP=1 scripts/run-tests.sh tests/unit/kit -k verify).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
started=$SECONDS

phase() {
  printf '\n==> [%s] %s\n' "$(date -u +%H:%M:%S)" "$*"
}

if [ "${KIT_SKIP_SETUP:-}" = "1" ]; then
  phase "1/2 setup: skipped (KIT_SKIP_SETUP=1)"
else
  phase "1/2 setup: Debian packages, .venv, each area's extras (scripts/setup-dev.sh)"
  scripts/setup-dev.sh || exit 1
fi
# In CI a skipped test is a failure: every prerequisite is installed by setup, so a skip
# would hide something that did not run (see tests/conftest.py).
if [ "${CI:-}" = "true" ]; then export KIT_STRICT_SKIPS=1; fi
phase "2/2 tests: pytest -v (each test named as it starts; the 25 slowest listed at the end)"
.venv/bin/python -m pytest -v --durations=25 "$@"
rc=$?
elapsed=$((SECONDS - started))
phase "done: pytest exit code $rc after $((elapsed / 60))m$((elapsed % 60))s"
if [ $rc -eq 5 ]; then
  echo "run-tests: pytest collected no tests: failing on purpose" >&2
  exit 1
fi
exit $rc
