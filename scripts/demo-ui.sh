# Sourced by scripts/demo.sh when UI=1: the PostgREST stand-in (test/ui/gateway) serving
# ui/ on loopback, with an admin token, so a person can watch runs in their own browser.
# start_ui_gateway: starts it (UI_PORT, default a free port) and prints the page's URL.
start_ui_gateway() {
  local secret token
  (cd test/ui && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; })
  psql_owner -f test/ui/roles.sql 2>/dev/null
  secret=$(python3 -c 'import secrets; print(secrets.token_hex(24))')
  JWT_SECRET=$secret PGUSER= GATEWAY_AUTHENTICATOR=ui_authenticator \
    node test/ui/gateway/main.js --port "${UI_PORT:-0}" >"$WORK/gateway.json" 2>"$WORK/gateway.log" &
  GATEWAY_PID=$!
  for _ in $(seq 1 100); do [ -s "$WORK/gateway.json" ] && break; sleep 0.1; done
  [ -s "$WORK/gateway.json" ] || { echo "the gateway did not start:" >&2; cat "$WORK/gateway.log" >&2; return 1; }
  GATEWAY_URL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$WORK/gateway.json")
  token=$(cd test/ui/gateway && node -e 'import("./jwt.js").then(j => console.log(j.sign({role: "provisioning_admin", sub: "demo"}, process.argv[1])))' "$secret")
  echo "The workspaces page (admin token in the fragment):"
  echo "  $GATEWAY_URL/ui/workspaces.html#token=$token&events=../events"
  echo "Token: $token"
}

stop_ui_gateway() {
  [ -n "${GATEWAY_PID:-}" ] && kill "$GATEWAY_PID" 2>/dev/null
  return 0
}
