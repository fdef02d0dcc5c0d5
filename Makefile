# Set-up and checks. `make setup` builds .venv from requirements.lock with --no-deps (reproducible, no resolver).
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3.10
VENV := .venv
PIP := $(VENV)/bin/pip
QUIET_PIP := { grep -v 'is ignored: it is neither a file nor a directory' || true; }
PYTEST_ARGS ?=

.PHONY: setup test demo parity-fixture bench

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.lock setup.py
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --disable-pip-version-check pip==24.2 2>&1 | $(QUIET_PIP)
	$(PIP) install -q --no-deps -r requirements.lock 2>&1 | $(QUIET_PIP)
	$(PIP) install -q --no-deps --no-build-isolation -e . 2>&1 | $(QUIET_PIP)
	touch $@

test: setup
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# The main job on the bundled default: the whole pipeline on the SST-2 sample with all-MiniLM-L6-v2 (frozen).
demo: setup
	$(VENV)/bin/sentence-tfx run --train data/sst2/train.tsv --eval data/sst2/eval.tsv --text-column sentence \
		--pipeline-root runs/demo/pipeline --serving-dir runs/demo/serving

# Regenerates the committed parity fixture with PyTorch sentence-transformers (separate Python 3.11 venv).
parity-fixture:
	bash components/encoder/parity/make_fixture.sh

bench: setup
	$(VENV)/bin/python bench/tokenizer_parity.py
	$(VENV)/bin/python bench/accuracy.py
