#!/usr/bin/env bash
# Quick start, command 1: set up .venv and run the embedded default benchmark (offline, CPU).
source "$(dirname "$0")/_venv.sh"
.venv/bin/python -m pip install -q -e .
exec .venv/bin/crowdperf run "$@"
