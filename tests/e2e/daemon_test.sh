#!/usr/bin/env bash
# The daemon binary end to end, as the README's quick start uses it: CLI domain/token commands, the
# tenant-checked API with both token header forms, error envelopes, cross-instance cache invalidation,
# rate limiting, SIGHUP and a clean SIGTERM.
source "$(dirname "$0")/lib.sh"
trap cleanup_e2e EXIT
new_database

"$bin" migrate >/dev/null 2>&1 && pass "migrate" || fail "migrate"
"$bin" migrate >/dev/null 2>&1 && pass "migrate is idempotent" || fail "second migrate"

domain_line=$("$bin" domain add --name pbx.example.com)
domain=$(cut -f1 <<<"$domain_line")
expect_eq "domain add prints the uuid and name" "pbx.example.com" "$(cut -f2 <<<"$domain_line")"
expect_contains "domain list shows it" "$domain" "$("$bin" domain list)"
other=$("$bin" domain add --name other.example.com --uuid 7C9E6679-7425-40DE-944B-E07FC1F90AE7 | cut -f1)
expect_eq "domain add with a given uuid (normalised)" "7c9e6679-7425-40de-944b-e07fc1f90ae7" "$other"
call_token=$("$bin" token create --scope call 2>/dev/null)
bound_token=$("$bin" token create --scope call --domain "$domain" --label fs1 2>/dev/null)
admin_token=$("$bin" token create --scope admin 2>/dev/null)
expect_contains "tokens have the ivr_ prefix" "ivr_" "$call_token"
stored=$(psql -h 127.0.0.1 -p "$IVR_PG_PORT" -U postgres -d "$e2e_db" -qtA -c "SELECT count(*) FROM api_tokens WHERE token_hash = '$call_token'")
expect_eq "tokens are stored hashed, never in clear" "0" "$stored"

start_daemon
expect_eq "/health" "200" "$(status "$base_url/health")"
expect_eq "/ready" "200" "$(status "$base_url/ready")"

body=$(curl -s -H "X-Api-Key: $call_token" -H "X-Domain-UUID: $domain" "$base_url/domain")
expect_contains "X-Api-Key form admits" "\"domain_name\":\"pbx.example.com\"" "$body"
expect_eq "Bearer form admits" "200" "$(status -H "Authorization: Bearer $call_token" -H "X-Domain-UUID: $domain" "$base_url/domain")"
expect_eq "mod_curl style header without space" "200" "$(status -H "X-Api-Key:$call_token" -H "X-Domain-UUID:$domain" "$base_url/domain")"
expect_eq "no token → 401" "401" "$(status -H "X-Domain-UUID: $domain" "$base_url/domain")"
expect_eq "wrong token → 401" "401" "$(status -H "X-Api-Key: ivr_wrong" -H "X-Domain-UUID: $domain" "$base_url/domain")"
err=$(curl -s -H "X-Api-Key: $call_token" -H "X-Domain-UUID: nope" "$base_url/domain")
expect_contains "malformed domain → invalid_domain_uuid" '"code":"invalid_domain_uuid"' "$err"
err=$(curl -s -H "X-Api-Key: $call_token" -H "X-Domain-UUID: 11111111-2222-4333-8444-555555555555" "$base_url/domain")
expect_contains "unknown domain → unknown_domain" '"code":"unknown_domain"' "$err"
expect_eq "token bound to another domain → 403" "403" "$(status -H "X-Api-Key: $bound_token" -H "X-Domain-UUID: $other" "$base_url/domain")"
expect_eq "bound token on its own domain" "200" "$(status -H "X-Api-Key: $bound_token" -H "X-Domain-UUID: $domain" "$base_url/domain")"
expect_eq "admin token may use call routes" "200" "$(status -H "X-Api-Key: $admin_token" -H "X-Domain-UUID: $domain" "$base_url/domain")"
expect_eq "unknown route → 404" "404" "$(status "$base_url/nope")"
allow=$(curl -s -o /dev/null -D - -X POST "$base_url/health" | tr -d '\r' | grep -i '^allow:' || true)
expect_contains "wrong method → 405 with Allow" "GET" "$allow"
rid=$(curl -s -D - -o /dev/null -H "X-Request-Id: trace-42" "$base_url/health" | tr -d '\r' | grep -i '^x-request-id:' || true)
expect_contains "request id echoed" "trace-42" "$rid"
metrics=$(curl -s "$base_url/metrics")
expect_contains "metrics: requests by route and status" 'ivr_http_requests_total{route="/domain",method="GET",status="200"}' "$metrics"
expect_contains "metrics: latency histogram" 'ivr_http_request_duration_seconds_bucket' "$metrics"
expect_contains "metrics: pool usage" 'ivr_db_pool_in_use' "$metrics"
expect_contains "metrics: io loop lag" 'ivr_io_loop_lag_seconds' "$metrics"
expect_contains "metrics: io loop busy" 'ivr_io_loop_busy_ratio' "$metrics"

# Disabling a domain reaches the running daemon through Redis pub/sub, well before the cache TTL.
"$bin" domain disable "$domain" >/dev/null
code=000
for _ in $(seq 1 30); do
  code=$(status -H "X-Api-Key: $call_token" -H "X-Domain-UUID: $domain" "$base_url/domain")
  [ "$code" == "404" ] && break
  sleep 0.1
done
expect_eq "disabled domain → 404 at once (pub/sub invalidation)" "404" "$code"
"$bin" domain enable "$domain" >/dev/null

# Per-domain cap on realtime calls: set, listed, lifted.
expect_contains "realtime-limit set" "realtime calls 3" "$("$bin" domain realtime-limit "$domain" --max 3)"
expect_contains "domain list --json shows it" '"max_realtime_calls": 3' "$("$bin" domain list --json)"
expect_contains "realtime-limit back to the default" "realtime calls default" "$("$bin" domain realtime-limit "$domain")"

# Per-domain rate limit override: burst 2, then 429 with Retry-After.
"$bin" domain rate-limit "$domain" --per-second 0.5 --burst 2 >/dev/null
sleep 0.3
codes=""
for _ in 1 2 3; do codes="$codes $(status -H "X-Api-Key: $call_token" -H "X-Domain-UUID: $domain" "$base_url/domain")"; done
expect_eq "burst of 2 then 429" " 200 200 429" "$codes"
retry=$(curl -s -D - -o /dev/null -H "X-Api-Key: $call_token" -H "X-Domain-UUID: $domain" "$base_url/domain" | tr -d '\r' | grep -i '^retry-after:' || true)
expect_contains "429 carries Retry-After" "Retry-After: " "$retry"

kill -HUP "$daemon_pid"
sleep 0.2
expect_eq "still serving after SIGHUP" "200" "$(status "$base_url/health")"
kill -TERM "$daemon_pid"
rc=0
wait "$daemon_pid" || rc=$?
daemon_pid=""
expect_eq "SIGTERM exits cleanly" "0" "$rc"

# Configuration errors name the key.
out=$(VOICE_AI_SERVER_PORT=abc "$bin" --check-config 2>&1 || true)
expect_contains "--check-config names the bad key" "VOICE_AI_SERVER_PORT" "$out"
expect_contains "the shipped config file is valid" "configuration OK" "$("$bin" --config "$IVR_SOURCE_DIR/config/voice-ai-ivr.toml" --check-config 2>&1)"

exit $((failures > 0))
