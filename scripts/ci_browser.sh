#!/usr/bin/env bash
# Install what the hub's browser tests need (tests/integration/hub_web/test_browser.py): Debian's
# chromium, driven by Playwright with executable_path=/usr/bin/chromium. Never runs
# `playwright install` (no browser download). playwright and schemathesis themselves come with the
# project's dev extra (scripts/test.sh installs it). Call before scripts/test.sh in .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
/usr/bin/chromium --version
if [ -x .venv/bin/python ]; then
    .venv/bin/python -m pip install -q "playwright>=1.45" "schemathesis>=3.30"
fi
