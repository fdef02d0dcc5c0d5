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

# The main job on the bundled default: convert all-MiniLM-L6-v2 and embed a few sentences through hub.KerasLayer.
demo: setup
	$(VENV)/bin/sentence-tfx export-encoder --out out/minilm
	$(VENV)/bin/sentence-tfx embed --encoder out/minilm "A gripping, beautifully acted film." \
		"The movie was a tedious mess." "Who wrote the novel Dracula?"

# Regenerates the committed parity fixture with PyTorch sentence-transformers (separate Python 3.11 venv).
parity-fixture:
	bash components/encoder/parity/make_fixture.sh

bench: setup
	$(VENV)/bin/python bench/tokenizer_parity.py
