# Two commands for a fresh machine: `make run` (the app) and `make test` (ruff, import layers, mypy, pytest).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# A GPU host (nvidia-smi answers) also gets requirements-gpu.txt (README: "GPU host"); each set has its own
# stamp, so a host that gains a GPU installs again.
GPU_HOST := $(shell command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1 && echo yes)
REQUIREMENTS := requirements-dev.txt $(if $(GPU_HOST),requirements-gpu.txt)
STAMP := $(VENV)/.installed$(if $(GPU_HOST),-gpu)

.PHONY: run worker test lint format bench quality clean-venv

$(STAMP): requirements.txt $(REQUIREMENTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(addprefix -r ,$(REQUIREMENTS))
	touch $(STAMP)

run: $(STAMP)
	$(PY) serve.py

# A worker on another host, on the shared Redis, PostgreSQL and folder (README: "More than one machine").
QUEUES ?= io,compute
worker: $(STAMP)
	$(PY) worker.py $(QUEUES)

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) -m mypy
	$(PY) -m pytest $(PYTEST_ARGS)

format: $(STAMP)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench: $(STAMP)
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq wrk >/dev/null; } || \
		echo "bench_web needs wrk: apt-get install wrk"
	$(PY) bench/run_all.py $(BENCH_ARGS)

quality: $(STAMP)
	$(PY) bench/quality.py $(QUALITY_ARGS)

clean-venv:
	rm -rf $(VENV)
