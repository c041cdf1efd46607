# Helpers for the end-to-end tests: a private database per test, the daemon on a free port, assertions.
# Needs IVR_BUILD_DIR, IVR_SOURCE_DIR, IVR_PG_PORT, IVR_REDIS_PORT (set by scripts/test.sh).
set -euo pipefail

bin="$IVR_BUILD_DIR/voice-ai-ivr"
failures=0
daemon_pid=""
e2e_db=""

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

expect_eq() {  # expect_eq <what> <expected> <actual>
  if [ "$2" == "$3" ]; then pass "$1"; else fail "$1: expected '$2', got '$3'"; fi
}
expect_contains() {  # expect_contains <what> <needle> <haystack>
  if [[ "$3" == *"$2"* ]]; then pass "$1"; else fail "$1: '$2' not in: $3"; fi
}

psql_admin() { psql -h 127.0.0.1 -p "$IVR_PG_PORT" -U postgres -d postgres -qtA -c "$1"; }

new_database() {
  e2e_db="e2e_$(date +%s)_$RANDOM"
  psql_admin "CREATE DATABASE $e2e_db OWNER voice_ai_ivr" >/dev/null
  export VOICE_AI_DATABASE_URL="postgresql://voice_ai_ivr@127.0.0.1:$IVR_PG_PORT/$e2e_db"
  export VOICE_AI_REDIS_URL="redis://127.0.0.1:$IVR_REDIS_PORT/0"
  export VOICE_AI_REDIS_KEY_PREFIX="$e2e_db:"
  export VOICE_AI_DATABASE_MIGRATIONS_DIR="$IVR_SOURCE_DIR/migrations"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

start_daemon() {  # start_daemon [extra args…]; sets port and base_url
  port=$(free_port)
  export VOICE_AI_SERVER_PORT=$port
  base_url="http://127.0.0.1:$port"
  daemon_log=$(mktemp /tmp/ivr-e2e-log.XXXXXX)
  "$bin" "$@" serve >"$daemon_log" 2>&1 &
  daemon_pid=$!
  for _ in $(seq 1 100); do
    if curl -fsS "$base_url/ready" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$daemon_pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "daemon did not become ready; log:" >&2
  cat "$daemon_log" >&2
  return 1
}

stop_daemon() {
  if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid"
    wait "$daemon_pid" || true
  fi
  daemon_pid=""
}

cleanup_e2e() {
  stop_daemon
  if [ -n "$e2e_db" ]; then psql_admin "DROP DATABASE IF EXISTS $e2e_db WITH (FORCE)" >/dev/null || true; fi
}

# status <curl args…>: prints the HTTP status only
status() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

# ---- JSON API helpers: they need $work (a temp dir), $base_url and $domain (or $tenant) ----

# api <token> <method> <path> [curl args…]: sets $code and $body (the response body is also in $work/body).
api() {
  local token=$1 method=$2 path=$3
  shift 3
  rm -f "$work/body"
  code=$(curl -s -o "$work/body" -w '%{http_code}' -X "$method" -H "X-Api-Key: $token" \
    -H "X-Domain-UUID: ${tenant:-$domain}" "$@" "$base_url$path") || true  # 000 when nothing answered
  body=""
  if [ -f "$work/body" ]; then body=$(tr -d '\0' <"$work/body"); fi
}
# post_json <token> <path> <json>
post_json() { api "$1" POST "$2" -H 'Content-Type: application/json' --data-binary "$3"; }
put_json() { api "$1" PUT "$2" -H 'Content-Type: application/json' --data-binary "$3"; }
# jq-less field access: jfield '<python expression on d>' (reads $body), prints "" on any error.
jfield() {
  python3 -c '
import json, sys
try:
    d = json.loads(sys.argv[2])
    v = eval(sys.argv[1], {"d": d})
    print(json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list, bool)) or v is None else v)
except Exception as e:
    print("")' "$1" "$body"
}
expect_status() {  # expect_status <what> <expected code>  (after api/post_json)
  if [ "$code" == "$2" ]; then pass "$1"; else fail "$1: expected HTTP $2, got $code: $body"; fi
}
expect_absent() {  # expect_absent <what> <needle> <haystack>
  if [[ "$3" != *"$2"* ]]; then pass "$1"; else fail "$1: '$2' found in: $3"; fi
}
new_uuid() { python3 -c 'import uuid; print(uuid.uuid4())'; }
