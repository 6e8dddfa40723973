#!/usr/bin/env bash
# Prints a PostgreSQL URL for the server's maintenance database (or, with a database
# name as $1, for that database, creating it when missing). Finds PostgreSQL in order:
#   1. DATABASE_URL, if set;
#   2. a server on 127.0.0.1:5432 (user postgres);
#   3. (or with PORTAL_PG=private) a private throwaway cluster under target/pg, started with the system's
#      initdb/pg_ctl (PATH or /usr/lib/postgresql/*/bin) on port 55432.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
db=${1:-}

reachable() { # url
  if command -v psql >/dev/null; then psql "$1" -tAc 'select 1' >/dev/null 2>&1
  else (exec 3<>/dev/tcp/127.0.0.1/"${2:-5432}") 2>/dev/null; fi
}

find_bin() { # name
  if command -v "$1" >/dev/null; then command -v "$1"; return; fi
  ls -d /usr/lib/postgresql/*/bin/"$1" 2>/dev/null | sort -V | tail -n 1
}

private_cluster() {
  local dir="$root/target/pg" port=55432 initdb pg_ctl
  initdb=$(find_bin initdb); pg_ctl=$(find_bin pg_ctl)
  [ -n "$initdb" ] && [ -n "$pg_ctl" ] || { echo "no PostgreSQL found: set DATABASE_URL, or install PostgreSQL (initdb, pg_ctl)" >&2; exit 1; }
  local as=()
  if [ "$(id -u)" = 0 ]; then as=(runuser -u postgres --); fi
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    "${as[@]}" "$initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1
  fi
  if ! "${as[@]}" "$pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    "${as[@]}" "$pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" start >/dev/null
  fi
  echo "postgres://postgres@127.0.0.1:$port/postgres"
}

if [ -n "${DATABASE_URL:-}" ]; then
  admin=$DATABASE_URL
elif [ "${PORTAL_PG:-}" != private ] && reachable "postgres://postgres@127.0.0.1:5432/postgres" 5432; then
  admin="postgres://postgres@127.0.0.1:5432/postgres"
else
  admin=$(private_cluster)
fi

if [ -z "$db" ]; then echo "$admin"; exit 0; fi
url="${admin%/*}/$db"
if command -v psql >/dev/null; then
  psql "$admin" -tAc "select 1 from pg_database where datname = '$db'" | grep -q 1 \
    || psql "$admin" -qc "create database \"$db\"" >/dev/null
fi
echo "$url"
