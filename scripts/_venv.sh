# Sourced by demo.sh and test.sh: find a Python >= 3.11 and make .venv with it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ ! -x .venv/bin/python ]; then
  for cand in ${PYTHON:-} python3.13 python3.12 python3.11 python3; do
    if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      PY=$cand; break
    fi
  done
  if [ -z "${PY:-}" ]; then
    echo "error: crowdperf needs Python 3.11 or newer; none found on PATH (set PYTHON=/path/to/python3.11)" >&2
    exit 2
  fi
  "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
fi
