#!/usr/bin/env bash
# PostgreSQL and Redis going away and coming back: /health stays 200, /ready and the routes that need
# them answer 503 (never hang, never crash), and the daemon recovers by itself.
source "$(dirname "$0")/lib.sh"
trap 'cleanup_e2e; "$IVR_SOURCE_DIR/scripts/services.sh" start >/dev/null' EXIT
new_database
"$bin" migrate >/dev/null
domain=$("$bin" domain add --name outage.example.com 2>/dev/null | cut -f1)
token=$("$bin" token create --scope call 2>/dev/null)
export VOICE_AI_TENANCY_DOMAIN_CACHE_TTL_MS=1 VOICE_AI_TENANCY_TOKEN_CACHE_TTL_MS=1 VOICE_AI_TENANCY_NEGATIVE_CACHE_TTL_MS=1
export VOICE_AI_DATABASE_CONNECT_TIMEOUT_MS=1000
start_daemon
api() { status -m 10 -H "X-Api-Key: $token" -H "X-Domain-UUID: $domain" "$base_url/domain"; }
expect_eq "tenant route before the outage" "200" "$(api)"

pg_ctl_as_postgres() { runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$IVR_TEST_PG_DATA" "$@"; }
pg_ctl_as_postgres -m fast -w stop >/dev/null
expect_eq "postgres down: /health" "200" "$(status -m 10 "$base_url/health")"
expect_eq "postgres down: /ready" "503" "$(status -m 10 "$base_url/ready")"
expect_eq "postgres down: tenant route" "503" "$(api)"
pg_ctl_as_postgres -l "$IVR_WORK_DIR/postgres/server.log" -w start >/dev/null
code=000
for _ in $(seq 1 50); do code=$(api); [ "$code" == "200" ] && break; sleep 0.2; done
expect_eq "postgres back: tenant route recovers" "200" "$code"
expect_eq "postgres back: /ready" "200" "$(status -m 10 "$base_url/ready")"

redis-cli -p "$IVR_REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
sleep 0.3
expect_eq "redis down: /health" "200" "$(status -m 10 "$base_url/health")"
expect_eq "redis down: /ready" "503" "$(status -m 10 "$base_url/ready")"
expect_eq "redis down: rate-limited route" "503" "$(api)"
"$IVR_SOURCE_DIR/scripts/services.sh" start >/dev/null
code=000
for _ in $(seq 1 50); do code=$(api); [ "$code" == "200" ] && break; sleep 0.2; done
expect_eq "redis back: tenant route recovers" "200" "$code"
kill -0 "$daemon_pid" && pass "daemon survived both outages" || fail "daemon died"
exit $((failures > 0))
