#!/usr/bin/env bash
# concurrent_start.sh TENANT [N]: N sessions call provision_start(TENANT) at the same
# moment. A gatekeeper session holds an advisory lock; each of the N sessions waits for it
# (shared) and the gatekeeper lets go once all N wait. The N are started only after the
# gatekeeper holds the lock: one that got there first would take its shared lock, run and
# leave, and the gatekeeper would wait for it in vain.
# Prints "<started> <PT409> <other>": how many calls queued a run, were refused, or failed otherwise.
set -euo pipefail
here=$(dirname "$0")
tenant=$1
n=${2:-50}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
gate=424242
limit=60

psql -X -q -At -v ON_ERROR_STOP=1 -c "SELECT pg_advisory_lock($gate)" -c "DO \$\$
DECLARE
    deadline timestamptz := clock_timestamp() + interval '$limit s';
    waiting  integer;
BEGIN
    LOOP
        SELECT count(*) INTO waiting FROM pg_locks WHERE locktype = 'advisory' AND objid = $gate AND NOT granted;
        EXIT WHEN waiting >= $n;
        IF clock_timestamp() > deadline THEN
            RAISE EXCEPTION 'TIMEOUT after $limit s waiting for $n sessions to wait on the gate (advisory lock $gate): % wait', waiting;
        END IF;
        PERFORM pg_sleep(0.01);
    END LOOP;
END \$\$" -c "SELECT pg_advisory_unlock($gate)" >/dev/null &
gatekeeper=$!
"$here/wait_for.sh" "the gatekeeper to hold the gate (advisory lock $gate)" \
  "SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND objid = $gate AND mode = 'ExclusiveLock' AND granted)" $limit

sessions=()
for i in $(seq 1 "$n"); do
  psql -X -q -At -v VERBOSITY=verbose -c "SELECT pg_advisory_lock_shared($gate)" \
       -c "SELECT provisioning.provision_start('$tenant')->>'status'" >"$out/$i" 2>&1 &
  sessions+=($!)
done
wait "$gatekeeper" || { echo "concurrent_start.sh: the gatekeeper failed (see above)" >&2; exit 1; }
wait "${sessions[@]}" || true   # a refused start is an outcome, counted below
started=$(grep -lx 'PENDING' "$out"/* | wc -l)
refused=$(grep -l 'PT409' "$out"/* | wc -l)
echo "$started $refused $((n - started - refused))"
