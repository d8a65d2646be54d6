#!/usr/bin/env bash
# Install and start what the full test suite needs: a PostgreSQL server on 127.0.0.1 and Debian's
# Chromium. Writes the variables the tests read to /tmp/crowdperf-ci.env. Needs root + apt.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
need=()
command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql)
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
ver=$(ls /usr/lib/postgresql | sort -V | tail -1)
pg_lsclusters -h | grep -q . || pg_createcluster "$ver" main >/dev/null
pg_ctlcluster "$ver" main start 2>/dev/null || true
for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -q && break; sleep 1; done
su postgres -c "psql -qtc \"SELECT 1 FROM pg_roles WHERE rolname='crowdperf'\" | grep -q 1 || psql -qc \"CREATE ROLE crowdperf LOGIN PASSWORD 'crowdperf' CREATEDB\""
su postgres -c "psql -qtc \"SELECT 1 FROM pg_database WHERE datname='crowdperf_test'\" | grep -q 1 || createdb -O crowdperf crowdperf_test"
echo "export CROWDPERF_TEST_PG_URL=postgresql+psycopg://crowdperf:crowdperf@127.0.0.1:5432/crowdperf_test" > /tmp/crowdperf-ci.env
