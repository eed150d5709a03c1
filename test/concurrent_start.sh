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
    WHILE (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = $gate AND NOT granted) < $n LOOP
        PERFORM pg_sleep(0.01);
    END LOOP;
END \$\$" -c "SELECT pg_advisory_unlock($gate)" >/dev/null &
gatekeeper=$!
for i in $(seq 1 "$n"); do
  psql -X -q -At -v VERBOSITY=verbose -c "SELECT pg_advisory_lock_shared($gate)" \
       -c "SELECT provisioning.provision_start('$tenant')->>'status'" >"$out/$i" 2>&1 &
done
wait
started=$(grep -lx 'PENDING' "$out"/* | wc -l)
refused=$(grep -l 'PT409' "$out"/* | wc -l)
echo "$started $refused $((n - started - refused))"
rm -rf "$out"
