# Sourced by test/run.sh, scripts/demo.sh and bench/run.sh: a throwaway PostgreSQL 15
# cluster with the extension preloaded, and the simulated ERPNext and Odoo, all on loopback.
# Everything lives in $WORK (a temporary directory); stop_all removes it.

# PGBIN may name another (relocated) PostgreSQL 15 installation, so that several checkouts
# can build, install and test at once without sharing one lib/ and extension/ directory.
: "${PGBIN:=/usr/lib/postgresql/15/bin}"
: "${PGDATABASE:=provisioning_test}"
export PGDATABASE

# Runs a command as the cluster's owner: postgres when we are root (PostgreSQL refuses root).
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- env PATH="$PGBIN:$PATH" "$@"; else env PATH="$PGBIN:$PATH" "$@"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# build_and_install: builds the extension and, as root, installs it; elsewhere it must be
# installed already.
build_and_install() {
  make -s PG_CONFIG="$PGBIN/pg_config"
  if [ "$(id -u)" -eq 0 ]; then
    make -s PG_CONFIG="$PGBIN/pg_config" install >/dev/null
  elif [ ! -f "$($PGBIN/pg_config --pkglibdir)/provisioning.so" ]; then
    echo "run 'make install' as root first, or run this as root" >&2
    exit 1
  fi
}

# make_work: creates $WORK, owned by the cluster's owner.
make_work() {
  WORK=$(mktemp -d /tmp/provisioning.XXXXXX)
  [ "$(id -u)" -eq 0 ] && chown postgres "$WORK"
  chmod 755 "$WORK"
  export WORK
}

# sim_port FILE KEY: a port from a simulator's ready file.
sim_port() {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

# start_one_sim SCRIPT NAME: starts test/sim/SCRIPT on free loopback ports, its ready file
# and log named after NAME; sets STARTED_PID.
start_one_sim() {
  local script=$1 name=$2
  python3 "$WORK/$script" --port 0 --control-port 0 --ready-file "$WORK/$name.json" \
    >"$WORK/$name.log" 2>&1 &
  STARTED_PID=$!
  for _ in $(seq 1 100); do [ -s "$WORK/$name.json" ] && break; sleep 0.1; done
  [ -s "$WORK/$name.json" ] || { echo "the simulated engine $name did not start:" >&2; cat "$WORK/$name.log" >&2; return 1; }
}

# start_sim: the simulated ERPNext (sets SIM_PORT and SIM_CONTROL) and the simulated Odoo
# (sets ODOO_SIM_PORT and ODOO_SIM_CONTROL).
start_sim() {
  local src=$1
  local module
  for module in simcore frappe_doc erpnext_pos erpnext_sim odoo_orm odoo_pos odoo_sim; do cp "$src/test/sim/$module.py" "$WORK/"; done
  start_one_sim erpnext_sim.py sim
  SIM_PID=$STARTED_PID
  SIM_PORT=$(sim_port "$WORK/sim.json" port)
  SIM_CONTROL=http://127.0.0.1:$(sim_port "$WORK/sim.json" control_port)
  start_one_sim odoo_sim.py odoo_sim
  ODOO_SIM_PID=$STARTED_PID
  ODOO_SIM_PORT=$(sim_port "$WORK/odoo_sim.json" port)
  ODOO_SIM_CONTROL=http://127.0.0.1:$(sim_port "$WORK/odoo_sim.json" control_port)
  export SIM_PORT SIM_CONTROL ODOO_SIM_PORT ODOO_SIM_CONTROL
}

# start_cluster [extra postgresql.conf lines...]: initdb, preload, start, create the database.
start_cluster() {
  PGPORT=$(free_port)
  PGHOST=$WORK
  export PGPORT PGHOST
  as_owner initdb -D "$WORK/data" -A trust -U postgres >/dev/null
  {
    echo "port = $PGPORT"
    echo "listen_addresses = ''"
    echo "unix_socket_directories = '$WORK'"
    echo "shared_preload_libraries = 'provisioning, pg_cron'"
    echo "provisioning.database_name = '$PGDATABASE'"
    echo "cron.database_name = '$PGDATABASE'"
    echo "cron.use_background_workers = on"
    echo "max_worker_processes = 32"
    echo "log_line_prefix = '%m [%p] %b '"
    for line in "$@"; do echo "$line"; done
  } | as_owner tee -a "$WORK/data/postgresql.conf" >/dev/null
  as_owner pg_ctl -D "$WORK/data" -l "$WORK/server.log" -w start >/dev/null
  as_owner createdb -U postgres "$PGDATABASE"
}

psql_owner() {
  as_owner psql -U postgres -X -q -v ON_ERROR_STOP=1 "$@"
}

stop_all() {
  [ -n "${SIM_PID:-}" ] && kill "$SIM_PID" 2>/dev/null
  [ -n "${ODOO_SIM_PID:-}" ] && kill "$ODOO_SIM_PID" 2>/dev/null
  if [ -n "${WORK:-}" ] && [ -f "$WORK/data/postmaster.pid" ]; then
    as_owner pg_ctl -D "$WORK/data" -m fast -w stop >/dev/null 2>&1
  fi
  # clusters of a Perl TAP test that was stopped by its time limit
  if [ -n "${WORK:-}" ] && [ -d "$WORK/tmp_check" ]; then
    find "$WORK/tmp_check" -name postmaster.pid 2>/dev/null | while read -r pid; do
      as_owner pg_ctl -D "$(dirname "$pid")" -m immediate -w stop >/dev/null 2>&1 || true
    done
  fi
  [ -n "${KEEP_WORK:-}" ] || rm -rf "${WORK:-/nonexistent}"
}
