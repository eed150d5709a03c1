#!/usr/bin/env bash
# concurrent_start.sh TENANT [N]: N sessions call provision_start(TENANT) at the same
# moment (they all wait on one advisory lock that is released once all of them wait).
# Prints "<started> <PT409> <other>": how many calls queued a run, were refused, or failed otherwise.
set -euo pipefail
tenant=$1
n=${2:-50}
out=$(mktemp -d)
gate=424242

psql -X -q -At -c "SELECT pg_advisory_lock($gate)" -c "DO \$\$
DECLARE
    deadline timestamptz := clock_timestamp() + interval '60 s';
    waiting  bigint;
BEGIN
    LOOP
        SELECT count(*) INTO waiting FROM pg_locks WHERE locktype = 'advisory' AND objid = $gate AND NOT granted;
        EXIT WHEN waiting >= $n;
        IF clock_timestamp() > deadline THEN
            RAISE EXCEPTION 'concurrent_start: only % of $n sessions reached the gate within 60 s', waiting;
        END IF;
        PERFORM pg_sleep(0.01);
    END LOOP;
END \$\$" -c "SELECT pg_advisory_unlock($gate)" >/dev/null &
gatekeeper=$!
# The sessions start once the gate is closed: one that came first would pass it at once.
deadline=$((SECONDS + 30))
until [ "$(psql -X -q -At -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = $gate AND mode = 'ExclusiveLock' AND granted")" = 1 ]; do
  [ $SECONDS -lt $deadline ] || { echo "concurrent_start: the gate was not closed within 30 s" >&2; exit 1; }
  sleep 0.01
done
for i in $(seq 1 "$n"); do
  psql -X -q -At -v VERBOSITY=verbose -c "SELECT pg_advisory_lock_shared($gate)" \
       -c "SELECT provisioning.provision_start('$tenant')->>'status'" >"$out/$i" 2>&1 &
done
wait
started=$(grep -lx 'PENDING' "$out"/* | wc -l)
refused=$(grep -l 'PT409' "$out"/* | wc -l)
echo "$started $refused $((n - started - refused))"
rm -rf "$out"
