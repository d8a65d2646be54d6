#!/usr/bin/env bash
# Quick start, command 2: set up .venv with the test extras and run lint + the test suite.
source "$(dirname "$0")/_venv.sh"
# The suite starts a few hundred Python processes (CLI commands, LoadGen children): let them share
# compiled bytecode instead of each compiling crowdperf anew (~15 % of tests/cli's time).
unset PYTHONDONTWRITEBYTECODE
# torch 2.13.0: the CPU build these machines carry; a bare "torch" would pull a multi-GB CUDA build.
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[dev,torch]"
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
.venv/bin/lint-imports  # the layer contract: pyproject.toml [tool.importlinter]
.venv/bin/python scripts/check_import_cycles.py  # no file-level import cycles, no hidden folders
.venv/bin/mypy src
# Two pytest-xdist workers (CI's 2 cores), each file on one worker in its own order, so module and
# session fixtures are built once per worker. Tests own what they touch (tmp_path, CROWDPERF_CACHE,
# a free port, a PostgreSQL schema of their own). A later -n wins: `-n 0 -s` runs in this process.
exec .venv/bin/python -m pytest -n 2 --dist loadfile "$@"
