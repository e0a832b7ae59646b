#!/usr/bin/env bash
# The project's test command (README's, and what .ci/run calls): set up, then run every test,
# fast and slow (markers network/slow/e2e included). Extra arguments go to pytest.
# pytest's exit code 5 ("no tests collected") is a failure here, never a silent pass.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup-dev.sh || exit 1
# In CI a skipped test is a failure: every prerequisite is installed by setup, so a skip
# would hide something that did not run (see tests/conftest.py).
if [ "${CI:-}" = "true" ]; then export KIT_STRICT_SKIPS=1; fi
.venv/bin/python -m pytest "$@"
rc=$?
if [ $rc -eq 5 ]; then
  echo "run-tests: pytest collected no tests: failing on purpose" >&2
  exit 1
fi
exit $rc
