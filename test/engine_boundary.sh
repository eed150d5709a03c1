#!/usr/bin/env bash
# The engine boundary, as TAP: the run core (src/*.c, src/*.h) and the SQL (sql/src, outside
# comments) name no engine kind; each kind lives in a folder of its own under src/engines/
# (whose files include their own headers and the core's, never another kind's) and in one
# registry entry; and no driver reaches past its StepContext into the run (RunContext,
# run.h: the core's). The test-only kind (src/engines/sample/) is held to the same rules.
set -uo pipefail
cd "$(dirname "$0")/.."
kinds=$(cd src/engines && for d in */; do echo "${d%/}"; done)
n=0
fail=0
for kind in $kinds; do
  n=$((n + 1))
  hits=$(grep -n -i -w -- "$kind" src/*.c src/*.h || true)
  if [ -z "$hits" ]; then
    echo "ok $n - no core file names $kind"
  else
    echo "not ok $n - core files name $kind:"
    echo "$hits" | sed 's/^/#   /'
    fail=1
  fi
  n=$((n + 1))
  hits=$(sed 's/--.*$//' sql/src/*.sql | grep -n -i -w -- "$kind" || true)
  if [ -z "$hits" ]; then
    echo "ok $n - no SQL in sql/src names $kind"
  else
    echo "not ok $n - sql/src names $kind outside comments:"
    echo "$hits" | sed 's/^/#   /'
    fail=1
  fi
  n=$((n + 1))
  hits=$(grep -H -o -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"]+"' src/engines/"$kind"/*.[ch] |
         sed -E 's/^([^:]*):.*"([^"]+)"$/\1 \2/' |
         while read -r file header; do
           # PostgreSQL's and the core's headers, and its own; never a path up or another folder's
           case $header in */../*|../*|*engines/*) echo "$file includes $header"; continue ;; esac
           [ -f "src/engines/$kind/$header" ] || ! ls src/engines/*/"$header" >/dev/null 2>&1 ||
             echo "$file includes $header, another kind's"
         done)
  if [ -z "$hits" ]; then
    echo "ok $n - $kind includes no other kind's headers"
  else
    echo "not ok $n - $kind includes another kind's headers:"
    echo "$hits" | sed 's/^/#   /'
    fail=1
  fi
  n=$((n + 1))
  if grep -q "X(${kind}_driver)" src/engines/registry.h; then
    echo "ok $n - $kind has its registry entry"
  else
    echo "not ok $n - src/engines/registry.h has no entry X(${kind}_driver)"
    fail=1
  fi
done
n=$((n + 1))
hits=$(grep -rn -E -w 'RunContext|#[[:space:]]*include[[:space:]]*[<"]([^">]*/)?run\.h[">]' \
         --include='*.c' --include='*.h' src/engines || true)
if [ -z "$hits" ]; then
  echo "ok $n - no file under src/engines names RunContext or includes run.h"
else
  echo "not ok $n - files under src/engines reach into the run (RunContext, run.h):"
  echo "$hits" | sed 's/^/#   /'
  fail=1
fi
echo "1..$n"
exit $fail
