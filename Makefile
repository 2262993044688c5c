# pgbooks — the two commands a new machine needs are `make setup` and `make test`.
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
PG_PACKAGES := postgresql-15 postgresql-client-15 postgresql-contrib postgresql-15-plpgsql-check
PYTEST_ARGS ?=

.PHONY: help setup system-packages venv test lint fmt migrate demo bench bench-tools chaos clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

setup: system-packages venv ## install PostgreSQL 15 + plpgsql_check (apt, as root) and the virtualenv

system-packages: ## apt-install the PostgreSQL server packages when missing
	missing=$$(for p in $(PG_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done)
	if [ -z "$$missing" ]; then echo "system packages: present"; exit 0; fi
	if [ "$$(id -u)" != 0 ]; then
	  echo "error: missing Debian packages: $$missing" >&2
	  echo "run as root: apt-get install -y $$missing" >&2; exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y --no-install-recommends $$missing || { apt-get update && apt-get install -y --no-install-recommends $$missing; }

venv: $(BIN)/pgbooks ## create .venv and install pinned dependencies

$(BIN)/pgbooks: pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --no-compile -e '.[dev]'  # no .pyc pass: setup ~1.5 min faster; modules compile on first import
	touch $@

test: venv ## run the whole suite against a real PostgreSQL (exit 0 only if every test passed)
	$(BIN)/pytest -n 2 --dist loadfile $(PYTEST_ARGS)

lint: venv ## sqlfluff, ruff, mypy
	$(BIN)/sqlfluff lint sql views migrations/versions
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy worker sandbox migrations

fmt: venv ## auto-format Python and SQL
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(BIN)/sqlfluff fix sql views migrations/versions

migrate: venv ## migrate $$DATABASE_URL (alembic upgrade head + reload code)
	$(BIN)/pgbooks db migrate

demo: venv ## run the main job end to end on local Postgres + the local QuickBooks sandbox
	$(BIN)/python -m pgbooks.demo

bench: venv bench-tools ## benchmarks: ratios measured side by side in one run, with peak RSS
	$(BIN)/python bench/run_all.py

bench-tools: ## apt-install wrk (a C load generator, so the client is not the bottleneck) when root
	command -v wrk >/dev/null && exit 0
	if [ "$$(id -u)" != 0 ]; then echo "note: wrk missing (apt-get install wrk); benches fall back to Python clients" >&2; exit 0; fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y --no-install-recommends wrk || { apt-get update && apt-get install -y --no-install-recommends wrk; } || echo "note: wrk not installed; Python clients used" >&2

chaos: venv ## delivery chaos run: 10,000 orders, every fault + worker SIGKILL + PostgreSQL restart
	$(BIN)/python bench/chaos.py $(CHAOS_ARGS)

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache *.egg-info worker/*.egg-info
