#!/usr/bin/env bash
# Runs every test of the repository against a throwaway PostgreSQL cluster.
#   scripts/test.sh                 build and run all tests
#   scripts/test.sh --filter ...    extra arguments go to `dotnet test`
# Installs PostgreSQL (and Chromium for the browser tests) from Debian's packages when missing,
# starts a private cluster on 127.0.0.1 as the `postgres` user, and stops it at the end.
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
  for data in "$pg_root"/*/data; do
    [ -d "$data" ] && run_pg "$pg_bin/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1 || true
  done
  rm -rf "$pg_root"
}
trap stop_pg EXIT

# start_cluster NAME: a throwaway cluster in $pg_root/NAME on a free port; prints the port.
start_cluster() {
  local dir="$pg_root/$1" port
  port=$(free_port)
  run_pg mkdir -p "$dir"
  run_pg "$pg_bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --no-locale >/dev/null
  # One role that must give a password (first matching line wins): tests of hosts whose data source supplies it.
  run_pg sed -i '1i host all kavach_password_user 127.0.0.1/32 scram-sha-256' "$dir/data/pg_hba.conf"
  cat >> "$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300
CONF
  run_pg "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w start >/dev/null
  echo "$port"
}

echo "== starting PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') clusters on 127.0.0.1"
main_port=$(start_cluster main)
# A second cluster that outage and convergence tests may stop and restart without disturbing the rest.
chaos_port=$(start_cluster chaos)

# What the tests read: connection strings, and how to stop/start the chaos cluster.
export KAVACH_TEST_PG="Host=127.0.0.1;Port=$main_port;Username=postgres;Database=postgres;Pooling=true;Timeout=5;Command Timeout=10"
export KAVACH_TEST_PG_CHAOS="Host=127.0.0.1;Port=$chaos_port;Username=postgres;Database=postgres;Pooling=true;Timeout=5;Command Timeout=10"
export KAVACH_TEST_PG_CTL="$pg_bin/pg_ctl"
export KAVACH_TEST_PG_CHAOS_DATA="$pg_root/chaos/data"
export KAVACH_TEST_PG_CHAOS_LOG="$pg_root/chaos/log"
export KAVACH_TEST_CHROMIUM="$(command -v chromium)"

echo "== building"
UseSharedCompilation=true MSBUILDDISABLENODEREUSE=0 dotnet build KavachPolar.sln -c Release -nologo -clp:NoSummary
dotnet build-server shutdown >/dev/null 2>&1 || true

echo "== testing"
dotnet test --solution KavachPolar.sln -c Release --no-build "$@"
