# Two commands on a fresh machine with Python 3.11:
#   make demo   set up .venv and run the main job (2D mode-collapse comparison, < 5 min on 2 cores),
#               its table then the committed full-protocol rows (benchmarks/demo.py)
#   make test   set up .venv and run the test suite
#   make tables regenerate the result tables of README.md and docs/ from benchmarks/results
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The wheels of these releases lie on the project's machines; a GPU machine may bring its own.
TORCH ?= torch==2.14.1 torchvision==0.29.1
DEMO_METHODS ?= nsgan,reg_gan,mdgan,vlgan,gan_ae_decay,gan_rl
DEMO_SEEDS ?= 1
DEMO_STEPS ?= 3000

.PHONY: demo test setup bench tables docs clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -c "import torch, torchvision" 2>/dev/null || $(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/aegan assets --fetch
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python benchmarks/demo.py --methods $(DEMO_METHODS) --seeds $(DEMO_SEEDS) --steps $(DEMO_STEPS) \
		--out results/demo

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 tests

tables: $(STAMP)
	$(BIN)/aegan tables --strict --update README.md docs/*.md docs/results/*.md

docs: $(STAMP)
	$(BIN)/mkdocs build --strict --site-dir site

bench: $(STAMP)
	$(BIN)/python benchmarks/loop_speed.py

clean:
	rm -rf $(VENV) results runs
