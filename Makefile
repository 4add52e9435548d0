# Reflex: `make run` serves (web + worker), `make test` runs the suite. Both set up what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
export HF_HUB_OFFLINE := 1
export HF_HUB_DISABLE_PROGRESS_BARS := 1

.PHONY: install run test test-fast test-cluster lint bench bench-train bench-quality bench-jobs bench-defaults bench-predict bench-precision check-cuda cluster-demo clean bench-load bench-batches bench-webs bench-sizing

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/pip install --quiet --upgrade pip
	# torch first and pinned: an unpinned torch pulls a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# What only a bench uses (uvicorn, measured against daphne by bench-webs), on top of the above.
$(VENV)/.bench-installed: $(VENV)/.installed requirements-bench.txt
	$(BIN)/pip install --quiet -r requirements-bench.txt
	touch $@

run: install
	$(BIN)/python serve.py --port $(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The in-process tier: everything but the tests that start real web and worker processes (-m e2e).
test-fast: install
	$(BIN)/python -m pytest -m "not e2e" $(PYTEST_ARGS)

# Two web processes and two worker nodes on this machine (tests/test_two_nodes.py); minutes, so not in `make test`.
test-cluster: install
	$(BIN)/python -m pytest -m cluster $(PYTEST_ARGS)

# Format and lint (ruff.toml), types (mypy.ini), the architecture's import contracts (.importlinter), and no model change without its migration.
lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python manage.py makemigrations --check --dry-run

bench: bench-quality bench-train bench-jobs bench-defaults bench-predict bench-precision

bench-quality: install
	$(BIN)/python bench/bench_quality.py $(ARGS)

bench-train: install
	$(BIN)/python bench/bench_train.py $(ARGS)

bench-jobs: install
	$(BIN)/python bench/bench_jobs.py $(ARGS)

bench-predict: install
	$(BIN)/python bench/bench_predict.py $(ARGS)

bench-precision: install
	$(BIN)/python bench/bench_precision.py $(ARGS)

# Not part of `bench`: 100 predict clients, a long text and 10 job creators for 60 s against one server.
bench-load: install
	$(BIN)/python bench/bench_load.py $(ARGS)

# Short predictions served by one web process against two, daphne against uvicorn, on this machine (not part of `bench`).
bench-webs: $(VENV)/.bench-installed
	$(BIN)/python bench/bench_webs.py $(ARGS)

# Memory per web and worker process and per cached model, as `make run` runs them (not part of `bench`).
bench-sizing: install
	$(BIN)/python bench/bench_sizing.py $(ARGS)

bench-batches: install
	$(BIN)/python bench/bench_batches.py $(ARGS)

bench-defaults: install
	$(BIN)/python bench/bench_defaults.py $(ARGS)

# Two web processes and two worker nodes on this machine (DATABASE_URL: PostgreSQL; REDIS_URL optional), driven by the SDK.
cluster-demo: install
	$(BIN)/python bench/cluster_demo.py $(ARGS)

# On a machine with a GPU: training and prediction on CUDA checked against the CPU (not part of `bench`).
check-cuda: install
	$(BIN)/python bench/check_cuda.py $(ARGS)

clean:
	rm -rf var
