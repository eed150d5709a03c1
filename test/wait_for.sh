#!/usr/bin/env bash
# wait_for.sh WHAT SQL [SECONDS]: runs SQL (psql, a new session each time, so it sees a
# reloaded configuration) until it returns true. After SECONDS (default 30) it fails,
# naming WHAT it waited for.
set -euo pipefail
what=$1
sql=$2
limit=${3:-30}
deadline=$((SECONDS + limit))
until [ "$(psql -X -At -c "$sql" 2>/dev/null)" = t ]; do
  if [ $SECONDS -ge $deadline ]; then
    echo "TIMEOUT after $limit s waiting for $what" >&2
    exit 1
  fi
  sleep 0.05
done
