#!/usr/bin/env bash
# Benchmarks (not tests): a throwaway cluster and the simulated ERPNext and Odoo on loopback, then
# bench/bench.py prints a table and writes BENCHMARKS.md. See bench.py for the sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PGDATABASE=provisioning_bench
. scripts/cluster.sh

build_and_install
make_work
trap stop_all EXIT
start_sim "$ROOT"
start_cluster "provisioning.http_connect_timeout_ms = 1000" "max_connections = 200" \
              "shared_buffers = 256MB" "track_commit_timestamp = on" ${BENCH_PG_CONF:+"$BENCH_PG_CONF"}
psql_owner -c "CREATE EXTENSION provisioning"
# wait for the launcher: it started before the database existed and retries every second
for _ in $(seq 1 100); do
  [ "$(psql_owner -At -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'provisioning launcher'")" = 1 ] && break
  sleep 0.1
done
PGUSER=postgres python3 bench/bench.py
