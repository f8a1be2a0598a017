#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests and scripts/cluster.sh, from the Debian package's binaries:
#   scripts/postgres-local.sh start DIR PORT   initdb into DIR/data (first time), listen on 127.0.0.1:PORT with its
#                                              unix socket in DIR, trust authentication for user postgres; waits until ready
#   scripts/postgres-local.sh stop DIR         fast shutdown (open sessions are ended), waits until stopped
# PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user (the package creates it) and
# DIR is handed to that user. Exits non-zero with one line naming the problem.
set -euo pipefail
action=${1:-} dir=${2:-}
[ -n "$action" ] && [ -n "$dir" ] || { echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2; }
dir=$(realpath -m "$dir")

# Debian keeps the server programs out of PATH, one folder per major version: take the newest.
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
[ -n "$bin" ] || bin=$(dirname "$(command -v pg_ctl 2>/dev/null || echo /nonexistent/pg_ctl)")
[ -x "$bin/pg_ctl" ] || { echo "PostgreSQL is not installed (no pg_ctl): apt-get install -y postgresql (scripts/test.sh does it)" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then (cd "$dir" && runuser -u postgres -- "$@"); else (cd "$dir" && "$@"); fi
}

case "$action" in
  start)
    port=${3:?usage: $0 start DIR PORT}
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then
      chown postgres: "$dir"
      runuser -u postgres -- test -w "$dir" \
        || { echo "the postgres user cannot reach $dir: a folder above it is closed to others (chmod o+x it, or use another folder)" >&2; exit 1; }
    fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 \
        || { echo "initdb failed in $dir/data: $(tail -3 "$dir/initdb.log")" >&2; exit 1; }
    fi
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c shared_buffers=32MB -c max_connections=200" start >/dev/null \
      || { echo "PostgreSQL did not start on port $port: $(tail -3 "$dir/postgres.log" 2>/dev/null)" >&2; exit 1; }
    ;;
  stop)
    [ -f "$dir/data/postmaster.pid" ] || exit 0
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
    ;;
  *) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
