#!/usr/bin/env bash
# The browser tests: ui/ in headless Chromium (Debian's chromium, driven by playwright-core;
# no browser is downloaded) against a running cluster, the simulated ERPNext and the
# PostgREST stand-in, which the tests start themselves.
# Needs PGHOST, PGPORT, PGDATABASE (the extension and test/helpers.sql loaded), SIM_CONTROL,
# psql on PATH. Screenshots go to test/ui/screenshots (ignored by git, kept after the run,
# emptied at the next), or UI_ARTIFACTS.
# Prints TAP, then "N passed, N failed" and where the screenshots are; exits non-zero when a
# test failed. UI_TEST_PATTERN (a regular expression) runs only the tests whose names match,
# for development: UI_TEST_PATTERN='suspend|offboard' test/run.sh test/ui
set -uo pipefail
cd "$(dirname "$0")"
command -v chromium >/dev/null || { echo "chromium is not installed (scripts/install-deps.sh)" >&2; exit 1; }
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  npm ci --no-audit --no-fund --loglevel=error >&2 || exit 1
fi
psql -X -q -v ON_ERROR_STOP=1 -U postgres -f roles.sql || exit 1
export UI_ARTIFACTS=${UI_ARTIFACTS:-$PWD/screenshots}
mkdir -p "$UI_ARTIFACTS"
rm -f "$UI_ARTIFACTS"/*.png "$UI_ARTIFACTS/tap.txt"
node --test --test-reporter=tap --test-timeout=900000 ${UI_TEST_PATTERN:+--test-name-pattern="$UI_TEST_PATTERN"} browser.test.js | tee "$UI_ARTIFACTS/tap.txt"
status=${PIPESTATUS[0]}
echo "$(grep -c '^ok ' "$UI_ARTIFACTS/tap.txt") passed, $(grep -c '^not ok ' "$UI_ARTIFACTS/tap.txt") failed (screenshots: $UI_ARTIFACTS)"
exit "$status"
