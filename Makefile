# Every target bootstraps itself: it creates .venv and installs the project (pinned by
# constraints.txt) when the venv is missing or pyproject.toml / constraints.txt changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench
DATA_DIR ?= $(CURDIR)/.tradeloop

export TRADELOOP_DATA_DIR ?= $(DATA_DIR)
export PREFECT_HOME ?= $(DATA_DIR)/prefect
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_LOGGING_LEVEL ?= WARNING
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test lint bench lock clean help

help:
	@echo "make demo   - install and run the demo on the synthetic market"
	@echo "make test   - install and run the whole test suite"
	@echo "make lint   - ruff, mypy and the import contracts"
	@echo "make bench  - speed and memory measurements against peers"
	@echo "make lock   - refresh constraints.txt on purpose (needs the package index)"

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,bench]'
	@touch $(BENCH_STAMP)

demo: $(STAMP)
	@mkdir -p "$(PREFECT_HOME)"
	$(BIN)/python -m tradeloop.cli.demo $(ARGS)

test: $(STAMP)
	@mkdir -p "$(PREFECT_HOME)"
	$(BIN)/python -m pytest; status=$$?; \
	if [ $$status -eq 5 ]; then echo "no tests were collected"; exit 0; fi; exit $$status

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(BENCH_STAMP)
	@for script in benchmarks/bench_*.py; do \
		echo "== $$script"; $(BIN)/python $$script || exit $$?; done

lock:
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^tradeloop' > constraints.txt
	@echo "constraints.txt refreshed; run make test before committing it"

clean:
	rm -rf $(VENV) .tradeloop .pytest_cache .mypy_cache .ruff_cache
