#!/usr/bin/env bash
# The demo: a throwaway cluster with the extension preloaded and the simulated ERPNext and
# Odoo, a tenant inserted on each, side by side, a live progress bar for each until both
# runs end, then what each engine holds.
# DEMO_LATENCY_MS (default 120) slows every engine call so the steps can be watched.
# UI=1 also serves ui/workspaces.html on loopback (scripts/demo-ui.sh) and keeps serving it
# after the demo run, until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PGDATABASE=provisioning_demo
. scripts/cluster.sh
. scripts/demo-ui.sh

build_and_install
make_work
trap 'stop_ui_gateway; stop_all' EXIT
start_sim "$ROOT"
start_cluster
for control in "$SIM_CONTROL" "$ODOO_SIM_CONTROL"; do
  curl -sSf -X POST "$control/latency" -d "{\"ms\": ${DEMO_LATENCY_MS:-120}}" >/dev/null
done

echo "PostgreSQL 15 on $PGHOST:$PGPORT, simulated ERPNext on 127.0.0.1:$SIM_PORT," \
     "simulated Odoo 17 on 127.0.0.1:$ODOO_SIM_PORT"
# Odoo: the login in api_key, its API key in api_secret, the database in options
psql_owner <<SQL
CREATE EXTENSION provisioning;
INSERT INTO provisioning.engines (name, kind, base_url, api_key, api_secret)
VALUES ('acme-erp', 'erpnext', 'http://acme.localhost:$SIM_PORT', 'simkey', 'simsecret');
INSERT INTO provisioning.engines (name, kind, base_url, api_key, api_secret, options)
VALUES ('bistro-odoo', 'odoo', 'http://127.0.0.1:$ODOO_SIM_PORT', 'admin', 'simsecret',
        '{"database": "bistro"}');
SQL
if [ -n "${UI:-}" ]; then
  start_ui_gateway
  echo "Create a workspace on the page (engine acme-erp or bistro-odoo) and watch it there."
  echo "Press Enter to run the terminal demo as well."
  [ -t 0 ] && read -r _
fi
tenant=$(psql_owner -At -c "INSERT INTO provisioning.tenants (name, engine, settings)
                            VALUES ('Acme Retail', 'acme-erp', '{\"abbr\": \"AR\", \"include_demo_data\": true}')
                            RETURNING id")
odoo_tenant=$(psql_owner -At -c "INSERT INTO provisioning.tenants (name, engine, settings)
                                 VALUES ('Bistro Retail', 'bistro-odoo', '{\"include_demo_data\": true}')
                                 RETURNING id")
echo "INSERT INTO provisioning.tenants ... -> tenant $tenant (ERPNext) and $odoo_tenant (Odoo);"
echo "the trigger queued their runs"
echo

# One tenant's progress: a bar, its status and its current step.
show() {
  local line progress step done total filled bar
  line=$(psql_owner -At -F '|' -c "SELECT d->>'status', d->>'progress', coalesce(d->>'current_step', ''),
                                           d->>'steps_completed', d->>'steps_total'
                                      FROM provisioning.provision_status('$1') d")
  IFS='|' read -r status progress step done total <<<"$line"
  filled=$((progress / 10))
  bar=$(printf '%*s' "$filled" '' | tr ' ' '#')$(printf '%*s' $((10 - filled)) '' | tr ' ' '.')
  printf '%-8s [%s] %3s%% %-11s %s/%s %-24s' "$2" "$bar" "$progress" "$status" "$done" "$total" "$step"
}

# The live view: both tenants' provision_status() every 100 ms, one line each, redrawn.
first=1
while :; do
  [ -n "$first" ] || printf '\033[2A'
  first=
  printf '\r%s\n\r%s\n' "$(show "$tenant" ERPNext)" "$(show "$odoo_tenant" Odoo)"
  final=0
  for t in "$tenant" "$odoo_tenant"; do
    case $(psql_owner -At -c "SELECT provisioning.provision_status('$t')->>'status'") in
      PENDING|IN_PROGRESS) ;;
      *) final=$((final + 1)) ;;
    esac
  done
  [ "$final" -eq 2 ] && break
  sleep 0.1
done
echo

for t in "$tenant" "$odoo_tenant"; do
  psql_owner -c "SELECT d->>'engine_kind' AS engine, s->>'step' AS step, s->>'status' AS status,
                        s->>'attempts' AS attempts, round((s->>'duration_ms')::numeric, 1) AS ms,
                        s->>'message' AS message
                   FROM provisioning.provision_status('$t') d, jsonb_array_elements(d->'steps') s"
done
psql_owner -c "SELECT t.name, e.kind AS engine, t.provisioning_status, t.provisioned_at,
                      provisioning.provision_status(t.id)->>'workspace_url' AS workspace_url
                 FROM provisioning.tenants t JOIN provisioning.engines e ON e.name = t.engine"
print_summary() {
  python3 -c '
import json, sys
for what, n in json.load(sys.stdin).items():
    print(f"  {what:<36} {n}")'
}
echo "What ERPNext (site acme.localhost) now holds:"
curl -sSf "$SIM_CONTROL/summary?site=acme.localhost" | print_summary
echo "What Odoo (database bistro, company Bistro Retail) now holds:"
curl -sSf "$ODOO_SIM_CONTROL/summary?db=bistro&company=Bistro%20Retail" | print_summary

if [ -n "${UI:-}" ]; then
  echo
  echo "Still serving $GATEWAY_URL/ui/workspaces.html: create more workspaces there. Ctrl-C stops."
  wait "$GATEWAY_PID"
fi
