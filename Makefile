# Entry points. README's quick start is `make fetch` then `make test`.
.PHONY: fetch test test-fast lint setup bench clean vagrant-verify

PYTHON ?= python3
VENV := .venv
FETCH_ARGS ?= --python 3.6 --platform manylinux1

$(VENV)/bin/bundler: pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q -e .
	touch $@

## fetch: set up the kit and fetch the converter's wheelhouse (cp36 / manylinux1) into wheelhouse/
##        and ansible-core 2.16 for the controller (CPython 3.11 / manylinux2014) into controller-wheelhouse/
fetch: $(VENV)/bin/bundler
	$(VENV)/bin/bundler fetch $(FETCH_ARGS) -o wheelhouse
	$(VENV)/bin/bundler fetch-controller -o controller-wheelhouse

## test: set up everything (apt + pip) and run the whole suite, slow and network tests included
test:
	scripts/run-tests.sh

## test-fast: only the hermetic tests (no network, no builds)
test-fast:
	scripts/run-tests.sh -m "not network and not slow and not e2e"

## lint: ruff, mypy, ansible-lint
lint:
	$(VENV)/bin/ruff check bundler tests benchmarks scripts
	$(VENV)/bin/ruff format --check bundler tests benchmarks scripts
	cd converter && ../$(VENV)/bin/ruff check . && ../$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	cd playbooks && ../$(VENV)/bin/ansible-lint --profile production

setup:
	scripts/setup-dev.sh

## bench: the four benchmarks (ratios against baselines measured in the same run; never asserted)
## (fetch_tools.py: 30-35 min on a loaded 2-core machine; BENCH_FETCH_ARGS="--runs 1 --sets small" for a quick look)
BENCH_FETCH_ARGS ?=
bench: setup
	.venv36/bin/python converter/benchmarks/bench_convert.py  # the target interpreter, 3.6.15
	$(VENV)/bin/python benchmarks/audit.py
	$(VENV)/bin/python benchmarks/fetch_tools.py $(BENCH_FETCH_ARGS)
	$(VENV)/bin/python benchmarks/delta_size.py --scenario all

## vagrant-verify: boot a CentOS 7 box, provision twice (changed=0), smoke test (AIRGAP_ISO=... KEEP=1)
vagrant-verify:
	scripts/vagrant-verify.sh $(KIT_DIR)

clean:
	rm -rf $(VENV) build dist *.egg-info
