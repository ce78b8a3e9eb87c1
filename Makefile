# Every target bootstraps itself: it creates .venv and installs the project (pinned by
# constraints.txt) when the venv is missing or pyproject.toml / constraints.txt changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench
AGENT_BENCH_STAMP := $(VENV)/.installed-agent-bench
AGENT_MODEL ?= $(DATA_DIR)/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf
AGENT_BENCH_DIR := $(CURDIR)/.tmp/bench-agent
DATA_DIR ?= $(CURDIR)/.tradeloop

export TRADELOOP_DATA_DIR ?= $(DATA_DIR)
export PREFECT_HOME ?= $(DATA_DIR)/prefect
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export PREFECT_LOGGING_LEVEL ?= WARNING
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test lint bench bench-agent lock clean help

help:
	@echo "make demo   - install and run the demo on the synthetic market"
	@echo "make test   - install and run the whole test suite"
	@echo "make lint   - ruff, mypy and the import contracts"
	@echo "make bench  - speed and memory measurements against peers"
	@echo "make bench-agent - agent quality with a real small model on the CPU (slow; ARGS=...)"
	@echo "make lock   - refresh constraints.txt on purpose (needs the package index)"

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	$(BIN)/python -m tradeloop.app.warm_up
	@touch $(STAMP)

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,bench]'
	@touch $(BENCH_STAMP)

# The agent-bench extra is pinned exactly in pyproject.toml; constraints.txt does not need it.
$(AGENT_BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,agent-bench]'
	@touch $(AGENT_BENCH_STAMP)

demo: $(STAMP)
	@mkdir -p "$(PREFECT_HOME)"
	$(BIN)/python -m tradeloop.cli.demo $(ARGS)

test: $(STAMP)
	@mkdir -p "$(PREFECT_HOME)"
	$(BIN)/python -m pytest; status=$$?; \
	if [ $$status -eq 5 ]; then echo "no tests were collected"; exit 0; fi; exit $$status

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(BENCH_STAMP)
	@for script in benchmarks/bench_*.py; do \
		case $$script in *bench_agent_quality.py) continue;; esac; \
		echo "== $$script"; $(BIN)/python $$script || exit $$?; done

# Assemble and check the model, serve it on a free loopback port, run the goals, stop the server.
bench-agent: $(AGENT_BENCH_STAMP)
	@mkdir -p "$(PREFECT_HOME)" "$(AGENT_BENCH_DIR)"
	$(BIN)/python benchmarks/ollama_compat/assemble.py "$(AGENT_MODEL)"
	@rm -f "$(AGENT_BENCH_DIR)/server.json"; \
	$(BIN)/python benchmarks/ollama_compat/server.py --model "$(AGENT_MODEL)" --port 0 \
		--ready-file "$(AGENT_BENCH_DIR)/server.json" 2> "$(AGENT_BENCH_DIR)/server.log" & \
	server=$$!; trap 'kill $$server 2>/dev/null' EXIT; \
	for second in $$(seq 600); do \
		test -f "$(AGENT_BENCH_DIR)/server.json" && break; \
		kill -0 $$server 2>/dev/null || { echo "the server stopped: see $(AGENT_BENCH_DIR)/server.log"; exit 1; }; \
		sleep 1; done; \
	test -f "$(AGENT_BENCH_DIR)/server.json" || { echo "the server did not start in 600 s"; exit 1; }; \
	$(BIN)/python benchmarks/bench_agent_quality.py --server-info "$(AGENT_BENCH_DIR)/server.json" $(ARGS)

lock:
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^tradeloop' > constraints.txt
	@echo "constraints.txt refreshed; run make test before committing it"

clean:
	rm -rf $(VENV) .tradeloop .pytest_cache .mypy_cache .ruff_cache
