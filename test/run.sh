#!/usr/bin/env bash
# Runs every test on a throwaway cluster with the extension preloaded:
#   pg_regress  test/sql/*.sql against expected/*.out   (the SQL surface)
#   pg_prove    test/pgtap/*.sql                        (behaviour, end to end against the
#                                                        simulated ERPNext in test/sim)
#   prove       test/t/*.pl                             (crashes and restarts, with
#                                                        PostgreSQL's own Perl TAP modules)
# As root it builds and installs the extension first, then runs the cluster as postgres.
# With arguments (test/pgtap/*.sql files) it runs only those, for development.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. scripts/cluster.sh

build_and_install
make_work
trap stop_all EXIT
mkdir -p "$WORK/regress/sql" "$WORK/regress/expected"
cp test/sql/*.sql "$WORK/regress/sql/"
cp expected/*.out "$WORK/regress/expected/"
cp -r test/pgtap "$WORK/pgtap"
cp -r test/t "$WORK/t"
cp test/sim/simctl "$WORK/simctl"
cp test/concurrent_start.sh "$WORK/concurrent_start.sh"
[ "$(id -u)" -eq 0 ] && chown -R postgres "$WORK"

start_sim "$ROOT"
start_cluster \
  "provisioning.http_connect_timeout_ms = 1000" \
  "provisioning.http_timeout_ms = 3000" \
  "provisioning.http_retry_delay_ms = 20" \
  "provisioning.health_cache_ttl = 2"
psql_owner -c "CREATE EXTENSION pgtap; CREATE EXTENSION pg_cron; CREATE EXTENSION provisioning;" \
           -c "ALTER DATABASE $PGDATABASE SET test.sim_port = '$SIM_PORT'"
psql_owner -f test/helpers.sql

status=0
if [ $# -gt 0 ]; then
  for f in "$@"; do cp "$f" "$WORK/only-$(basename "$f")"; done
  as_owner env SIM_CONTROL="$SIM_CONTROL" SIMCTL="$WORK/simctl" CONCURRENT_START="$WORK/concurrent_start.sh" PGHOST="$PGHOST" PGPORT="$PGPORT" \
    PGDATABASE="$PGDATABASE" PGUSER=postgres pg_prove --ext .sql -v "$WORK"/only-*.sql || status=1
  [ -n "${KEEP_WORK:-}" ] && echo "cluster kept in $WORK (PGHOST=$PGHOST PGPORT=$PGPORT)"
  exit $status
fi

echo "== pg_regress: the SQL surface"
tests=$(cd test/sql && ls *.sql | sed 's/\.sql$//' | sort)
if ! as_owner "$($PGBIN/pg_config --pgxs | xargs dirname)/../test/regress/pg_regress" \
      --use-existing --dbname="$PGDATABASE" --host="$PGHOST" --port="$PGPORT" --user=postgres \
      --inputdir="$WORK/regress" --outputdir="$WORK/regress" $tests; then
  cat "$WORK/regress/regression.diffs" || true
  status=1
fi

echo "== pg_prove: behaviour against the simulated ERPNext"
if ! as_owner env SIM_CONTROL="$SIM_CONTROL" SIMCTL="$WORK/simctl" CONCURRENT_START="$WORK/concurrent_start.sh" PGHOST="$PGHOST" PGPORT="$PGPORT" \
      PGDATABASE="$PGDATABASE" PGUSER=postgres \
      pg_prove --ext .sql --timer "$WORK/pgtap/"; then
  status=1
fi

echo "== prove: crashes and restarts (PostgreSQL::Test::Cluster)"
pgxs=$(dirname "$($PGBIN/pg_config --pgxs)")/..
if ! (cd "$WORK" && as_owner env SIM_CONTROL="$SIM_CONTROL" SIM_PORT="$SIM_PORT" TESTDIR="$WORK" \
        PG_REGRESS="$pgxs/test/regress/pg_regress" PGHOST= PGPORT= \
        prove -I "$pgxs/test/perl" -I t/lib --timer t/*.pl); then
  status=1
fi

echo "== browser: ui/ in headless Chromium through the PostgREST stand-in"
PATH="$PGBIN:$PATH" WORK="$WORK" SIM_CONTROL="$SIM_CONTROL" PGHOST="$PGHOST" PGPORT="$PGPORT" \
  PGDATABASE="$PGDATABASE" test/ui/run.sh || status=1

if [ $status -ne 0 ]; then
  echo "== server log (tail)"; tail -n 60 "$WORK/server.log"
fi
exit $status
