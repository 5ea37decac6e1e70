#!/usr/bin/env bash
# The database's own limit for Portico's ticket-creation transaction: pgbench runs
# create_ticket.sql at 1, 8 and 32 clients for DURATION seconds each (default 10)
# against the data set kept by
#   cargo bench -p portico-core --bench tickets -- postgres --data DIR
# (database portico_bench_tickets). Run it while Portico is stopped; the tickets it
# adds stay in the data set like any others.
set -euo pipefail
cd "$(dirname "$0")"
database=${PGDATABASE:-portico_bench_tickets}
duration=${1:-10}
psql=(psql -h 127.0.0.1 -U postgres -d "$database" -Atq)
first=$("${psql[@]}" -c "SELECT min(id) FROM tenant_1.users WHERE role IN ('contact', 'main_contact')")
last=$("${psql[@]}" -c "SELECT max(id) FROM tenant_1.users WHERE role IN ('contact', 'main_contact')")
for clients in 1 8 32; do
    echo "== $clients clients"
    pgbench -h 127.0.0.1 -U postgres -n -M simple -c "$clients" -j 2 -T "$duration" -r \
        -D first_contact="$first" -D last_contact="$last" -f create_ticket.sql "$database" \
        | grep -E "^(tps|latency average|number of transactions actually processed)"
done
