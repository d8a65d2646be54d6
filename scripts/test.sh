#!/usr/bin/env bash
# Quick start, command 2: set up .venv with the test extras and run lint + the test suite.
source "$(dirname "$0")/_venv.sh"
# torch 2.13.0: the CPU build these machines carry; a bare "torch" would pull a multi-GB CUDA build.
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[dev,torch]"
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
.venv/bin/lint-imports  # the layer contract: pyproject.toml [tool.importlinter]
.venv/bin/mypy src
exec .venv/bin/python -m pytest "$@"
