#!/usr/bin/env bash
# Private PostgreSQL 15 cluster and Redis server on loopback, under a work folder, for scripts/run.sh and
# the tests. Never touches a system PostgreSQL or Redis.
#   scripts/services.sh start|stop|status|env
# Environment: IVR_WORK_DIR (default .work), IVR_PG_PORT (55432), IVR_REDIS_PORT (56379),
#              IVR_PG_DB / IVR_PG_USER (voice_ai_ivr).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work=${IVR_WORK_DIR:-$root/.work}
pg_port=${IVR_PG_PORT:-55432}
redis_port=${IVR_REDIS_PORT:-56379}
pg_db=${IVR_PG_DB:-voice_ai_ivr}
pg_user=${IVR_PG_USER:-voice_ai_ivr}
pg_bin=/usr/lib/postgresql/15/bin
pg_dir=$work/postgres
redis_dir=$work/redis

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_running() { as_postgres "$pg_bin/pg_ctl" -D "$pg_dir/data" status >/dev/null 2>&1; }
redis_running() { redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null | grep -q PONG; }

start_postgres() {
  mkdir -p "$pg_dir"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$pg_dir"
    # postgres must be able to reach its folder through the work dir.
    chmod o+x "$work" 2>/dev/null || true
    d=$work
    while [ "$d" != "/" ]; do chmod o+x "$d" 2>/dev/null || true; d=$(dirname "$d"); done
  fi
  if [ ! -f "$pg_dir/data/PG_VERSION" ]; then
    as_postgres "$pg_bin/initdb" -D "$pg_dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >>"$pg_dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$pg_dir'
max_connections = 200
CONF
    if [ "${IVR_PG_FAST:-0}" = 1 ]; then
      # Test clusters only (scripts/test.sh): throw-away data, so durability is traded for speed.
      printf 'fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n' >>"$pg_dir/data/postgresql.conf"
    fi
    # Loopback only, private to this checkout: trust is acceptable here. Production uses a password.
    cat >"$pg_dir/data/pg_hba.conf" <<CONF
local all all trust
host  all all 127.0.0.1/32 trust
CONF
  fi
  # The port may have changed since initdb (IVR_PG_PORT): the last `port =` line wins.
  if [ "$(grep '^port = ' "$pg_dir/data/postgresql.conf" | tail -1)" != "port = $pg_port" ]; then
    echo "port = $pg_port" >>"$pg_dir/data/postgresql.conf"
  fi
  if ! pg_running; then
    as_postgres "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 30 start >/dev/null
  fi
  local psql=(as_postgres psql -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -qtA)
  if [ -z "$("${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname='$pg_user'")" ]; then
    "${psql[@]}" -c "CREATE ROLE $pg_user LOGIN"
  fi
  if [ -z "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname='$pg_db'")" ]; then
    "${psql[@]}" -c "CREATE DATABASE $pg_db OWNER $pg_user"
  fi
}

start_redis() {
  mkdir -p "$redis_dir"
  if ! redis_running; then
    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
      --dir "$redis_dir" --logfile "$redis_dir/server.log" --pidfile "$redis_dir/redis.pid"
    for _ in $(seq 1 50); do redis_running && break; sleep 0.1; done
    redis_running || { echo "redis did not start; see $redis_dir/server.log" >&2; exit 1; }
  fi
}

stop_postgres() {
  if [ -f "$pg_dir/data/PG_VERSION" ] && pg_running; then
    as_postgres "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast -w stop >/dev/null
  fi
}

stop_redis() {
  if redis_running; then redis-cli -h 127.0.0.1 -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true; fi
}

case "${1:-status}" in
  start)
    start_postgres
    start_redis
    echo "postgres: 127.0.0.1:$pg_port db=$pg_db user=$pg_user; redis: 127.0.0.1:$redis_port"
    ;;
  stop)
    stop_postgres
    stop_redis
    ;;
  status)
    rc=0
    if pg_running; then echo "postgres: running on 127.0.0.1:$pg_port"; else echo "postgres: stopped"; rc=1; fi
    if redis_running; then echo "redis: running on 127.0.0.1:$redis_port"; else echo "redis: stopped"; rc=1; fi
    exit $rc
    ;;
  env)
    echo "VOICE_AI_DATABASE_URL=postgresql://$pg_user@127.0.0.1:$pg_port/$pg_db"
    echo "VOICE_AI_REDIS_URL=redis://127.0.0.1:$redis_port/0"
    ;;
  *)
    echo "usage: $0 start|stop|status|env" >&2
    exit 2
    ;;
esac
