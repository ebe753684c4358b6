#!/usr/bin/env bash
# A throwaway PostgreSQL (Debian's postgresql package) for tests and benchmarks:
# initdb and pg_ctl in a directory of its own, on a free port of 127.0.0.1,
# trust authentication for the user "daisy". No Docker, nothing system-wide.
#
#   tests/postgres_server.sh start <dir> [fast]  creates and starts it; prints and writes <dir>/uri
#                                                (postgres://daisy@127.0.0.1:<port>/); with "fast",
#                                                fsync is off (tests: durability across a crash of
#                                                PostgreSQL alone still holds, the OS keeps the pages)
#   tests/postgres_server.sh stop <dir>          stops it at once (a crash: -m immediate)
#   tests/postgres_server.sh restart <dir>       starts it again on the same port (after stop)
#   tests/postgres_server.sh destroy <dir>       stops it and removes <dir>
set -euo pipefail

cmd=${1:?usage: $0 start|stop|restart|destroy <dir>}
dir=${2:?usage: $0 $cmd <dir>}
bindir=$(pg_config --bindir 2>/dev/null || true)
if [ ! -x "$bindir/initdb" ]; then bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1); fi
[ -x "$bindir/initdb" ] || { echo "postgres_server: no initdb (install the postgresql package)" >&2; exit 1; }

# initdb refuses to run as root: the cluster then belongs to the postgres user.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_start() {
  local port=$1
  as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 30 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >/dev/null
}

case "$cmd" in
  start)
    if [ -d "$dir/data" ]; then  # left by an interrupted run
      as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
      rm -rf "$dir"
    fi
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir"; fi
    as_owner test -w "$dir" ||
      { echo "postgres_server: $dir (or a directory above it) is not open to the user that runs PostgreSQL" >&2; exit 1; }
    as_owner "$bindir/initdb" -D "$dir/data" -A trust -U daisy --no-sync -E UTF8 --locale=C.UTF-8 >/dev/null
    {
      echo "max_connections = 300"
      echo "shared_buffers = 256MB"
      if [ "${3:-}" = fast ]; then echo "fsync = off"; echo "full_page_writes = off"; fi
    } | as_owner tee -a "$dir/data/postgresql.conf" >/dev/null
    for _ in $(seq 1 20); do
      port=$((20000 + RANDOM % 40000))
      if pg_start "$port" 2>/dev/null; then
        echo "$port" > "$dir/port"
        echo "postgres://daisy@127.0.0.1:$port/" | tee "$dir/uri"
        exit 0
      fi
    done
    echo "postgres_server: could not start; log:" >&2
    cat "$dir/log" >&2 || true
    exit 1
    ;;
  stop)
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    ;;
  restart)
    pg_start "$(cat "$dir/port")"
    ;;
  destroy)
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start|stop|restart|destroy <dir>" >&2
    exit 2
    ;;
esac
