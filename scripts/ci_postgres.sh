#!/usr/bin/env bash
# Start a real PostgreSQL server (Debian's package) on 127.0.0.1 for the hub's store tests and export
# CROWDPERF_TEST_PG_URL. SOURCE it so the export reaches the test run:
#     source scripts/ci_postgres.sh && bash scripts/test.sh -q
# Idempotent: an installed package, a running cluster, an existing role or database are reused.
# Needs root (or passwordless sudo) for apt-get and for acting as the postgres user.
# sourced: remember the caller's -e/-u/pipefail and restore them at the end
_saved_flags="$-"; _saved_pipefail="$(shopt -po pipefail)"
set -euo pipefail
_sudo=""; [ "$(id -u)" -eq 0 ] || _sudo="sudo"
if ! command -v pg_lsclusters >/dev/null || [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
    $_sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $_sudo apt-get install -y -qq postgresql >/dev/null
fi
_ver="$(ls /usr/lib/postgresql | sort -V | tail -1)"
if ! pg_lsclusters -h | awk '{print $1"/"$2}' | grep -qx "$_ver/main"; then
    $_sudo pg_createcluster "$_ver" main -- --auth-local=peer --auth-host=scram-sha-256 >/dev/null
fi
# loopback only (listen_addresses defaults to localhost in Debian's cluster config)
$_sudo pg_ctlcluster "$_ver" main start >/dev/null 2>&1 || true   # already running is fine
_port="$(pg_lsclusters -h | awk -v v="$_ver" '$1==v && $2=="main" {print $3}')"
_psql() {  # run SQL as the postgres superuser (peer auth over the local socket)
    if [ -z "$_sudo" ]; then su postgres -c "psql -p $_port -v ON_ERROR_STOP=1 -qtAc \"$1\""
    else sudo -u postgres psql -p "$_port" -v ON_ERROR_STOP=1 -qtAc "$1"; fi
}
for _ in $(seq 1 30); do _psql "SELECT 1" >/dev/null 2>&1 && break; sleep 1; done
[ "$(_psql "SELECT 1 FROM pg_roles WHERE rolname='crowdperf'")" = "1" ] \
    || _psql "CREATE ROLE crowdperf LOGIN PASSWORD 'crowdperf'"
[ "$(_psql "SELECT 1 FROM pg_database WHERE datname='crowdperf_test'")" = "1" ] \
    || _psql "CREATE DATABASE crowdperf_test OWNER crowdperf"
export CROWDPERF_TEST_PG_URL="postgresql+psycopg://crowdperf:crowdperf@127.0.0.1:${_port}/crowdperf_test"
echo "PostgreSQL $_ver on 127.0.0.1:$_port; CROWDPERF_TEST_PG_URL=$CROWDPERF_TEST_PG_URL"
set +eu; eval "$_saved_pipefail"
case "$_saved_flags" in *e*) set -e ;; esac
case "$_saved_flags" in *u*) set -u ;; esac
