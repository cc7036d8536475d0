#!/bin/sh
# Starts a second PostgreSQL cluster with TimescaleDB preloaded, for
# make test-timescale, and prints its test database's URL. The machine's main
# cluster (port 5432) and the other tests are left untouched. Idempotent: an
# existing cluster is reused and started if stopped.
#
#   tools/timescale/cluster.sh [start|stop|url]
#
# LLMSWEEP_TSDB_PORT picks the port (default 5433).
set -eu
DIR=$(cd "$(dirname "$0")" && pwd)
PORT=${LLMSWEEP_TSDB_PORT:-5433}
NAME=tsdb
URL="postgres://postgres@127.0.0.1:$PORT/test?sslmode=disable"
ACTION=${1:-start}

"$DIR/build.sh" >/dev/null
PGMAJOR=$(pg_config --version | sed -n 's/^PostgreSQL \([0-9]*\).*/\1/p')
ctl() { pg_ctlcluster --skip-systemctl-redirect "$PGMAJOR" "$NAME" "$@"; }
exists() { pg_lsclusters -h | awk -v n="$NAME" -v v="$PGMAJOR" '$1 == v && $2 == n { f = 1 } END { exit !f }'; }

case "$ACTION" in
stop)
  if exists; then ctl stop || true; fi
  exit 0 ;;
url)
  echo "$URL"; exit 0 ;;
start) ;;
*) echo "cluster.sh: unknown action $ACTION (start, stop or url)" >&2; exit 2 ;;
esac

if ! exists; then
  # Port collisions are pg_createcluster's to report.
  pg_createcluster "$PGMAJOR" "$NAME" -p "$PORT" -- --auth=trust >&2
fi
CONF=/etc/postgresql/$PGMAJOR/$NAME/conf.d/90-timescaledb.conf
cat > "$CONF.tmp" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
shared_preload_libraries = 'timescaledb'
timescaledb.telemetry_level = off
CONF
if ! cmp -s "$CONF.tmp" "$CONF"; then
  mv "$CONF.tmp" "$CONF"
  # A running cluster reads shared_preload_libraries only at start.
  if ctl status >/dev/null 2>&1; then ctl restart >&2; fi
else
  rm -f "$CONF.tmp"
fi
ctl status >/dev/null 2>&1 || ctl start >&2
for _ in $(seq 1 60); do
  pg_isready -q -h 127.0.0.1 -p "$PORT" && break
  sleep 0.5
done
pg_isready -q -h 127.0.0.1 -p "$PORT" || { echo "cluster.sh: the $NAME cluster did not come up on port $PORT" >&2; exit 1; }
if [ "$(psql -h 127.0.0.1 -p "$PORT" -U postgres -XAtc "SELECT 1 FROM pg_database WHERE datname = 'test'")" != 1 ]; then
  psql -h 127.0.0.1 -p "$PORT" -U postgres -Xqc "CREATE DATABASE test" >&2
fi
# As a database owner would: every test schema then finds the extension, and
# dropping a test schema cannot take it along.
psql -h 127.0.0.1 -p "$PORT" -U postgres -Xq -d test -c "SET client_min_messages = warning" \
  -c "CREATE EXTENSION IF NOT EXISTS timescaledb SCHEMA public" >&2
echo "$URL"
