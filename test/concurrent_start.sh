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
BEGIN
    WHILE (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = $gate AND NOT granted) < $n
          AND clock_timestamp() < statement_timestamp() + interval '60 seconds' LOOP
        PERFORM pg_sleep(0.01);
    END LOOP;
END \$\$" -c "SELECT pg_advisory_unlock($gate)" >/dev/null &
gatekeeper=$!
# The starters go only once the gate is shut: one that got in first would never wait, and the
# gatekeeper would wait for it forever.
for _ in $(seq 1 500); do
  [ "$(psql -X -q -At -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = $gate AND granted AND mode = 'ExclusiveLock'")" = 1 ] && break
  sleep 0.02
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
