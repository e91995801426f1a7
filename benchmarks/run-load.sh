#!/usr/bin/env bash
# KavachPolar against its floor, in one run, on one PostgreSQL, with one wrk (docs/benchmarks.md).
#
#   benchmarks/run-load.sh "Host=127.0.0.1;Port=5432;Username=postgres;Database=postgres" [compare options]
#   KAVACH_TEST_PG="..." benchmarks/run-load.sh [compare options]
#
# compare options: --duration 15 --warmup 3 --rounds 2 --connections 32 --threads 2 --users 10000
# Ports: KAVACH_LOAD_PORT (KavachPolar, 5095), KAVACH_FLOOR_PORT (floor, 5096) and KAVACH_UNCACHED_PORT (KavachPolar
# with the read cache off, on the same database, 5097).
# KAVACH_LOAD_SERVER_OPTIONS: extra options for both KavachPolar servers, e.g. "--logging template" (log as a host whose
# appsettings.json is the web template's: Information, Microsoft.AspNetCore at Warning).
# "--schema ensure-created": the tables without the webhook function (the general path, as an EnsureCreated host).
# The connection string's user must be able to create databases: the servers recreate kavach_load and kavach_floor.
# Needs wrk (apt-get install wrk) and the .NET 10 SDK.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $# -gt 0 && $1 != --* ]]; then
    pg=$1
    shift
else
    pg=${KAVACH_TEST_PG:-}
fi
if [[ -z $pg ]]; then
    echo "usage: $0 '<PostgreSQL connection string>' [compare options]   (or set KAVACH_TEST_PG)" >&2
    exit 2
fi
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }

kavach_port=${KAVACH_LOAD_PORT:-5095}
floor_port=${KAVACH_FLOOR_PORT:-5096}
uncached_port=${KAVACH_UNCACHED_PORT:-5097}
for port in "$kavach_port" "$floor_port" "$uncached_port"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "port $port is in use; set KAVACH_LOAD_PORT / KAVACH_FLOOR_PORT / KAVACH_UNCACHED_PORT" >&2
        exit 2
    fi
done

if git rev-parse --git-dir >/dev/null 2>&1; then
    echo "measuring $(git rev-parse --abbrev-ref HEAD) at $(git rev-parse --short HEAD)$([[ -n $(git status --porcelain -- src benchmarks) ]] && echo ' with uncommitted changes')"
fi
echo "building (Release)..."
dotnet build benchmarks/KavachPolar.Load -c Release -nologo -v quiet
dll=benchmarks/KavachPolar.Load/bin/Release/net10.0/KavachPolar.Load.dll

logs=$(mktemp -d)
pids=()
stop_servers() {
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
}
trap stop_servers EXIT

# KavachPolar as the README writes a host (plain AddDbContext), the floor, and a second KavachPolar instance on the
# same database with the read cache off (for GET without the cache; it runs no OnSubscriptionChange, so the first
# server runs every callback): three processes on the same cores.
read -r -a server_options <<<"${KAVACH_LOAD_SERVER_OPTIONS:-}"
dotnet "$dll" serve --pg "$pg" --urls "http://127.0.0.1:$kavach_port" "${server_options[@]}" >"$logs/kavach.log" 2>&1 &
pids+=($!)
dotnet "$dll" floor --pg "$pg" --urls "http://127.0.0.1:$floor_port" >"$logs/floor.log" 2>&1 &
pids+=($!)
# The first server listens once it has recreated and migrated kavach_load; the second one uses that database.
for _ in $(seq 1 240); do
    (exec 3<>"/dev/tcp/127.0.0.1/$kavach_port") 2>/dev/null && break
    sleep 0.5
done
dotnet "$dll" serve --pg "$pg" --urls "http://127.0.0.1:$uncached_port" --database existing --read-cache false --callbacks false "${server_options[@]}" >"$logs/uncached.log" 2>&1 &
pids+=($!)

status=0
dotnet "$dll" compare --pg "$pg" --kavach "http://127.0.0.1:$kavach_port" --floor "http://127.0.0.1:$floor_port" \
    --kavach-uncached "http://127.0.0.1:$uncached_port" "$@" || status=$?

stop_servers
trap - EXIT
# What the servers logged (Warning and above): a read cache that stopped serving (3003, the listener's probe did not
# come back in time on a starved machine) turns every cached read into a query and explains a low cached figure.
for log in "$logs/kavach.log" "$logs/uncached.log" "$logs/floor.log"; do
    echo "$(basename "$log"): $(grep -c -E '^(warn|fail|crit):' "$log" || true) warnings or errors$(grep -o -E '^(warn|fail|crit): [^[]+\[[0-9]+\]' "$log" | sort | uniq -c | awk '{printf ", %s x %s %s", $1, $2, $3}')"
    # The logs go with a successful run: show what each error said (its first lines) while they are here.
    awk '/^(fail|crit):/ { if (!seen[$2]++) { n = 6 } } n > 0 { print "    " $0; n-- }' "$log"
done
if [[ $status -ne 0 ]]; then
    echo "server logs: $logs" >&2
    tail -n 20 "$logs/kavach.log" "$logs/floor.log" "$logs/uncached.log" >&2
else
    rm -rf "$logs"
fi
exit $status
