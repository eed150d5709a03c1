#!/usr/bin/env bash
# The demo: a throwaway cluster with the extension preloaded and the simulated ERPNext,
# a tenant inserted, a live progress bar until its run ends, then what the engine holds.
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
curl -sSf -X POST "$SIM_CONTROL/latency" -d "{\"ms\": ${DEMO_LATENCY_MS:-120}}" >/dev/null

echo "PostgreSQL 15 on $PGHOST:$PGPORT, simulated ERPNext on 127.0.0.1:$SIM_PORT"
psql_owner <<SQL
CREATE EXTENSION provisioning;
INSERT INTO provisioning.engines (name, kind, base_url, api_key, api_secret)
VALUES ('acme-erp', 'erpnext', 'http://acme.localhost:$SIM_PORT', 'simkey', 'simsecret');
SQL
if [ -n "${UI:-}" ]; then
  start_ui_gateway
  echo "Create a workspace on the page (engine acme-erp) and watch it there."
  echo "Press Enter to run the terminal demo as well."
  [ -t 0 ] && read -r _
fi
tenant=$(psql_owner -At -c "INSERT INTO provisioning.tenants (name, engine, settings)
                            VALUES ('Acme Retail', 'acme-erp', '{\"abbr\": \"AR\", \"include_demo_data\": true}')
                            RETURNING id")
echo "INSERT INTO provisioning.tenants ... -> tenant $tenant; the trigger queued its run"
echo

# The live view: one provision_status() call every 100 ms.
while :; do
  line=$(psql_owner -At -F '|' -c "SELECT d->>'status', d->>'progress', coalesce(d->>'current_step', ''),
                                           d->>'steps_completed', d->>'steps_total'
                                      FROM provisioning.provision_status('$tenant') d")
  IFS='|' read -r status progress step done total <<<"$line"
  filled=$((progress / 5))
  bar=$(printf '%*s' "$filled" '' | tr ' ' '#')$(printf '%*s' $((20 - filled)) '' | tr ' ' '.')
  printf '\r[%s] %3s%%  %-12s %s/%s  %-28s' "$bar" "$progress" "$status" "$done" "$total" "$step"
  case $status in PENDING|IN_PROGRESS) sleep 0.1 ;; *) break ;; esac
done
echo; echo

psql_owner -c "SELECT s->>'step' AS step, s->>'status' AS status, s->>'attempts' AS attempts,
                      round((s->>'duration_ms')::numeric, 1) AS ms, s->>'message' AS message
                 FROM jsonb_array_elements(provisioning.provision_status('$tenant')->'steps') s"
psql_owner -c "SELECT name, provisioning_status, provisioned_at FROM provisioning.tenants"
echo "What the engine (site acme.localhost) now holds:"
curl -sSf "$SIM_CONTROL/summary?site=acme.localhost" | python3 -c '
import json, sys
for doctype, n in json.load(sys.stdin).items():
    print(f"  {doctype:<20} {n}")'

if [ -n "${UI:-}" ]; then
  echo
  echo "Still serving $GATEWAY_URL/ui/workspaces.html: create more workspaces there. Ctrl-C stops."
  wait "$GATEWAY_PID"
fi
