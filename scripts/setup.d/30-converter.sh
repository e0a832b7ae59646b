# shellcheck shell=bash
# Converter (asciivideo) test prerequisites; sourced by scripts/setup-dev.sh with $ROOT set.
# (a) numpy + opencv-python in the kit's .venv (pytest collects converter/tests with it);
# (b) $ROOT/.venv36 from the real CPython 3.6.15 (pyenv) with pytest 7.0.x, numpy, opencv-python,
#     so converter/tests/test_py36.py can prove the converter runs on the target interpreter.
# Idempotent: each step is skipped when its imports already work.
# PIP_CONFIG_FILE=/dev/null: this machine's global pip config adds local indexes/constraints.

# Run from / so `python -m pip` does not see the repo's *.egg-info in its cwd as installed.
conv_pip() { (cd / && PIP_CONFIG_FILE=/dev/null "$@" -q --disable-pip-version-check); }

if ! "$ROOT/.venv/bin/python" -c 'import numpy, cv2' 2>/dev/null; then
  echo "setup: converter: numpy + opencv-python into .venv"
  conv_pip "$ROOT/.venv/bin/python" -m pip install numpy opencv-python
fi

conv_py36=""
if command -v pyenv >/dev/null 2>&1 || [ -n "${PYENV_ROOT:-}" ]; then
  conv_py36="${PYENV_ROOT:-$(pyenv root)}/versions/3.6.15/bin/python3.6"
fi
if [ -n "$conv_py36" ] && [ -x "$conv_py36" ]; then
  if ! "$ROOT/.venv36/bin/python" -c 'import numpy, cv2, pytest' 2>/dev/null; then
    echo "setup: converter: .venv36 (CPython 3.6.15) with pytest, numpy, opencv-python"
    [ -x "$ROOT/.venv36/bin/python" ] || "$conv_py36" -m venv "$ROOT/.venv36"
    # The versions Python 3.6's own pip 18.1 can install (manylinux1 binaries only), i.e. the
    # same numpy/opencv-python the kit's wheelhouse carries to the CentOS 7 target.
    conv_pip "$ROOT/.venv36/bin/python" -m pip install --only-binary :all: \
      "pytest>=7.0,<7.1" "numpy==1.19.5" "opencv-python==4.2.0.34"
  fi
else
  echo "setup: converter: warning: pyenv CPython 3.6.15 not found; skipping .venv36" >&2
fi
unset conv_py36
unset -f conv_pip
