#!/usr/bin/env bash
# Runs every test on a throwaway cluster with the extension preloaded:
#   pg_regress  test/sql/*.sql against expected/*.out   (the SQL surface; `make installcheck`)
#   pg_prove    test/pgtap/*.sql                        (behaviour, end to end against the
#                                                        simulated ERPNext and Odoo in test/sim)
#   prove       test/t/*.pl                             (crashes, restarts, failover, upgrades,
#                                                        with PostgreSQL's own Perl TAP modules)
#   test/unit/*_test.c                                  (the pure code, without a server: first)
# As root it builds and installs the extension first, then runs the cluster as postgres.
# With arguments (test/unit/*_test.c, test/sql/*.sql, test/pgtap/*.sql or test/t/*.pl files,
# or test/ui for the browser tests) it runs only those, for development.
# Each test file gets TEST_FILE_LIMIT seconds (default 300); one that runs out fails, named.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. scripts/cluster.sh
: "${TEST_FILE_LIMIT:=300}"

build_and_install
# make rebuilt the SQL scripts whose sources changed; one edited by hand (newer than its
# sources) would be installed as it is: it must be what sql/src gives
make -s sql-check
make_work
file_pid=
stop_file() { [ -z "$file_pid" ] || kill -- -"$file_pid" 2>/dev/null || true; }
trap 'stop_file; stop_all' EXIT
trap 'exit 130' INT TERM
mkdir "$WORK/out"
cp -r test/pgtap "$WORK/pgtap"
cp -r test/t "$WORK/t"
cp test/sim/simctl test/concurrent_start.sh test/wait_for.sh "$WORK/"
[ "$(id -u)" -eq 0 ] && chown -R postgres "$WORK"

ran=0
failed=()
# run_file FILE CMD...: runs one test file's command under the time limit; a file that
# failed or ran out of time is remembered by name.
run_file() {
  local file=$1 rc=0
  shift
  ran=$((ran + 1))
  # timeout runs the file in a process group of its own (so that it can end all of it):
  # an interrupt of this script must end that group too (stop_file)
  timeout -k 10 "$TEST_FILE_LIMIT" "$@" > >(tee "$WORK/out/$(basename "$file").out") 2>&1 &
  file_pid=$!
  wait "$file_pid" || rc=$?
  file_pid=
  case $rc in
    0) ;;
    124|137) echo "TIME LIMIT: $file ran out of its $TEST_FILE_LIMIT s"; failed+=("$file (ran out of time)") ;;
    *) failed+=("$file") ;;
  esac
}

# unit_file test/unit/X_test.c: builds test/unit/X_test against src/X.c alone and runs it.
unit_file() {
  run_file "$1" sh -c 'make -s PG_CONFIG="$1" "$2" && "./$2"' sh "$PGBIN/pg_config" "${1%.c}"
}

# The unit tests need no cluster: they run before it starts, each reported like any file.
unit_tests=()
if [ $# -eq 0 ]; then
  unit_tests=(test/unit/*_test.c)
else
  for f in "$@"; do case $f in test/unit/*_test.c) unit_tests+=("$f") ;; esac; done
fi
if [ ${#unit_tests[@]} -gt 0 ]; then
  echo "== unit: the pure code, without a server"
  for f in "${unit_tests[@]}"; do unit_file "$f"; done
fi

start_sim "$ROOT"
start_cluster \
  "provisioning.http_connect_timeout_ms = 1000" \
  "provisioning.http_timeout_ms = 3000" \
  "provisioning.write_settle_ms = 6000" \
  "provisioning.http_retry_delay_ms = 20" \
  "provisioning.health_cache_ttl = 2" \
  "provisioning.engine_probe_interval = 500" \
  "provisioning.test_engine_kinds = on"
psql_owner -c "CREATE EXTENSION pgtap; CREATE EXTENSION pg_cron; CREATE EXTENSION provisioning;" \
           -c "ALTER DATABASE $PGDATABASE SET test.sim_port = '$SIM_PORT'" \
           -c "ALTER DATABASE $PGDATABASE SET test.odoo_sim_port = '$ODOO_SIM_PORT'"
psql_owner -f test/helpers.sql
export SIM_CONTROL SIM_PORT ODOO_SIM_CONTROL ODOO_SIM_PORT SIMCTL="$WORK/simctl" CONCURRENT_START="$WORK/concurrent_start.sh" \
       WAIT_FOR="$WORK/wait_for.sh" PGUSER=postgres

# The test commands, as the cluster's owner (postgres when we are root).
owner=(env PATH="$PGBIN:$PATH")
[ "$(id -u)" -eq 0 ] && owner=(runuser -u postgres -- "${owner[@]}")
pgxs=$(dirname "$($PGBIN/pg_config --pgxs)")/..
pgtap_file() { run_file "$1" "${owner[@]}" pg_prove --ext .sql --timer "$WORK/pgtap/$(basename "$1")"; }
tap_file() {
  run_file "$1" "${owner[@]}" sh -c 'cd "$0" && rm -rf tmp_check && exec "$@"' "$WORK" \
    env TESTDIR="$WORK" PG_REGRESS="$pgxs/test/regress/pg_regress" PGHOST= PGPORT= PGDATABASE= \
    prove -I "$pgxs/test/perl" -I t/lib --timer "t/$(basename "$1")"
}

ui_tests() {
  run_file test/ui/run.sh env PATH="$PGBIN:$PATH" SIM_CONTROL="$SIM_CONTROL" PGHOST="$PGHOST" \
    PGPORT="$PGPORT" PGDATABASE="$PGDATABASE" test/ui/run.sh
}

regress_file() {
  run_file "$1" make -s PG_CONFIG="$PGBIN/pg_config" CONTRIB_TESTDB="$PGDATABASE" \
    REGRESS="$(basename "$1" .sql)" installcheck
  if [ -s regression.diffs ]; then cat regression.diffs; fi
}

if [ $# -gt 0 ]; then
  for f in "$@"; do
    case $f in
      test/unit/*_test.c) ;;  # run before the cluster started
      test/sql/*.sql) regress_file "$f" ;;
      *.sql) pgtap_file "$f" ;;
      *.pl)  tap_file "$f" ;;
      test/ui|test/ui/) ui_tests ;;
      *) echo "test/run.sh: $f is neither a unit test (test/unit/*_test.c), a pg_regress, a pgTAP (.sql) nor a Perl TAP (.pl) file, nor test/ui" >&2; exit 2 ;;
    esac
  done
else
  echo "== the simulated Odoo's self-test"
  run_file test/sim/test_odoo_sim.py python3 test/sim/test_odoo_sim.py

  echo "== the engine boundary: no core file names an engine"
  run_file test/engine_boundary.sh test/engine_boundary.sh

  echo "== pg_regress: the SQL surface (make installcheck)"
  for f in test/sql/*.sql; do regress_file "$f"; done

  echo "== pg_prove: behaviour against the simulated ERPNext and Odoo"
  for f in test/pgtap/*.sql; do pgtap_file "$f"; done

  echo "== prove: crashes, restarts, failover and upgrades (PostgreSQL::Test::Cluster)"
  for f in test/t/*.pl; do tap_file "$f"; done

  echo "== browser: ui/ in headless Chromium through the PostgREST stand-in"
  ui_tests
fi

[ -n "${KEEP_WORK:-}" ] && echo "cluster kept in $WORK (PGHOST=$PGHOST PGPORT=$PGPORT)"
if [ ${#failed[@]} -gt 0 ]; then
  echo "== server log (tail)"; tail -n 30 "$WORK/server.log"
  # last, so that a short tail of this run's output still shows why each file failed
  for f in "${failed[@]}"; do
    echo "== why ${f%% *} failed:"
    grep -E '^(not ok|#|TIMEOUT|ERROR|psql:)|Failed|Dubious|TIMEOUT' "$WORK/out/$(basename "${f%% *}").out" | tail -n 12 | cut -c1-300 || true
  done
  printf '== failed: %s\n' "${failed[@]}"
fi
echo "files: $((ran - ${#failed[@]})) passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
