#!/usr/bin/env bash
# Runs every test of the repository against a throwaway PostgreSQL cluster.
#   scripts/test.sh                 build and run all tests
#   scripts/test.sh --filter-class 'KavachPolar.Tests.Storage.*'
#                                   extra arguments go to `dotnet test` (xunit v3 filters: --filter-class,
#                                   --filter-method, ...); modules the filter leaves empty do not count as failures
#   scripts/test.sh --repeat 20 --filter-class ...
#                                   the same tests up to 20 times on the same clusters, stopping at the first failure
# Installs PostgreSQL, PgBouncer (pooler tests) and Chromium (browser tests) from Debian's packages when missing,
# starts private clusters and a PgBouncer in transaction mode on 127.0.0.1 as the `postgres` user, and stops them at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_GENERATE_ASPNET_CERTIFICATE=false

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=0
apt_install() {
  if [ "$apt_updated" -eq 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
  echo "== installing PostgreSQL from Debian's packages"
  # No system cluster on port 5432: the tests start their own.
  as_root mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" | as_root tee /etc/postgresql-common/createcluster.d/kavach-no-main.conf >/dev/null
  apt_install postgresql
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi

# PgBouncer in transaction mode in front of the main cluster: the pooler tests (tests/KavachPolar.Tests/Storage/PoolerTests.cs).
pgbouncer_bin=$(command -v pgbouncer || ls /usr/sbin/pgbouncer 2>/dev/null || true)
if [ -z "$pgbouncer_bin" ]; then
  echo "== installing PgBouncer from Debian's packages (pooler tests)"
  apt_install pgbouncer
  pgbouncer_bin=$(command -v pgbouncer || ls /usr/sbin/pgbouncer)
fi

if ! command -v chromium >/dev/null 2>&1; then
  echo "== installing Chromium from Debian's packages (browser tests)"
  apt_install chromium
fi

run_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

pg_root=$(mktemp -d /tmp/kavach-pg.XXXXXX)
chmod 755 "$pg_root"
if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$pg_root"; fi

stop_pg() {
  if [ -f "$pg_root/pgbouncer/pid" ]; then kill "$(cat "$pg_root/pgbouncer/pid")" 2>/dev/null || true; fi
  for data in "$pg_root"/*/data; do
    [ -d "$data" ] && run_pg "$pg_bin/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1 || true
  done
  rm -rf "$pg_root"
}
trap stop_pg EXIT

# start_cluster NAME [durable]: a throwaway cluster in $pg_root/NAME on a free port; prints the port. Without "durable"
# commits skip the flush (fast tests); with it the cluster keeps PostgreSQL's defaults (fsync, synchronous_commit and
# full_page_writes on), as production runs.
start_cluster() {
  local dir="$pg_root/$1" port durability
  durability="fsync = off
synchronous_commit = off
full_page_writes = off"
  if [ "${2:-}" = durable ]; then durability="# PostgreSQL's durable defaults"; fi
  port=$(free_port)
  run_pg mkdir -p "$dir"
  run_pg "$pg_bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --no-locale >/dev/null
  # One role that must give a password (first matching line wins): tests of hosts whose data source supplies it.
  run_pg sed -i '1i host all kavach_password_user 127.0.0.1/32 scram-sha-256' "$dir/data/pg_hba.conf"
  cat >> "$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
$durability
max_connections = 300
CONF
  run_pg "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w start >/dev/null
  echo "$port"
}

echo "== starting PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') clusters on 127.0.0.1"
main_port=$(start_cluster main)
# A second cluster that outage and convergence tests may stop and restart without disturbing the rest. It flushes every
# commit: the convergence run and the short load run (Convergence/DurableLoadTests) must see what production sees, since
# fsync off once hid a commit lock that cost the webhook 6x (docs/benchmarks.md).
chaos_port=$(start_cluster chaos durable)

# start_pgbouncer: PgBouncer on a free port in transaction mode, in front of every database of the main cluster; prints the port.
start_pgbouncer() {
  local dir="$pg_root/pgbouncer" port
  port=$(free_port)
  run_pg mkdir -p "$dir"
  run_pg tee "$dir/users.txt" >/dev/null <<USERS
"postgres" ""
USERS
  run_pg tee "$dir/pgbouncer.ini" >/dev/null <<INI
[databases]
* = host=127.0.0.1 port=$main_port
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/users.txt
pool_mode = transaction
default_pool_size = 20
max_client_conn = 1000
logfile = $dir/log
pidfile = $dir/pid
INI
  run_pg "$pgbouncer_bin" -d -q "$dir/pgbouncer.ini"
  for _ in $(seq 1 50); do
    "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres && break
    sleep 0.1
  done
  "$pg_bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres || { echo "PgBouncer did not start: $(cat "$dir/log")" >&2; exit 1; }
  echo "$port"
}

echo "== starting $("$pgbouncer_bin" --version | head -n 1) in transaction mode in front of the main cluster"
pgbouncer_port=$(start_pgbouncer)

# What the tests read: connection strings, and how to stop/start the chaos cluster.
export KAVACH_TEST_PG="Host=127.0.0.1;Port=$main_port;Username=postgres;Database=postgres;Pooling=true;Timeout=5;Command Timeout=10"
export KAVACH_TEST_PG_CHAOS="Host=127.0.0.1;Port=$chaos_port;Username=postgres;Database=postgres;Pooling=true;Timeout=5;Command Timeout=10"
export KAVACH_TEST_PGBOUNCER="Host=127.0.0.1;Port=$pgbouncer_port;Username=postgres;Database=postgres;Pooling=true;Timeout=5;Command Timeout=10"
export KAVACH_TEST_PG_CTL="$pg_bin/pg_ctl"
export KAVACH_TEST_PG_CHAOS_DATA="$pg_root/chaos/data"
export KAVACH_TEST_PG_CHAOS_LOG="$pg_root/chaos/log"
export KAVACH_TEST_CHROMIUM="$(command -v chromium)"

echo "== building"
UseSharedCompilation=true MSBUILDDISABLENODEREUSE=0 dotnet build KavachPolar.sln -c Release -nologo -clp:NoSummary
dotnet build-server shutdown >/dev/null 2>&1 || true

repeat=1
if [ "${1:-}" = "--repeat" ]; then repeat=$2; shift 2; fi
extra=()
# With a filter, test modules that hold none of the chosen tests answer "zero tests ran" (exit code 8).
if [ "$#" -gt 0 ]; then extra=(--ignore-exit-code 8); fi

# The runner's output is kept so that what failed can be listed once more at the end, where it is seen.
test_log="$pg_root/test.log"
count() { sed -n "s/^  $1: \([0-9]*\)$/\1/p" "$test_log" | tail -n 1; }
status=0
for ((run = 1; run <= repeat; run++)); do
  if [ "$repeat" -gt 1 ]; then echo "== testing (run $run of $repeat)"; else echo "== testing"; fi
  dotnet test --solution KavachPolar.sln -c Release --no-build "${extra[@]}" "$@" 2>&1 | tee "$test_log" || status=$?
  if [ "$status" -eq 0 ] && [ "$(count total)" = "0" ]; then
    echo "no test ran: check the filter"; status=1
  fi
  [ "$status" -eq 0 ] || break
done

echo
if grep -q '^failed ' "$test_log"; then
  echo "== failed tests"
  grep '^failed ' "$test_log" | sed 's/ ([0-9hms ]*)$//' | sort -u
  # What each failure said, up to its first stack frame: CI shows the end of this output, and a name alone does not
  # say which assertion failed.
  echo "== what they said"
  awk '/^failed / { print; said = 0; on = 1; next }
       on && (/^    at / || /^[^ ]/ || said >= 12) { on = 0 }
       on && !/^  from / { print; said++ }' "$test_log"
fi
echo "tests: $(count succeeded || true) passed, $(count failed || true) failed, $(count skipped || true) skipped"
exit "$status"
