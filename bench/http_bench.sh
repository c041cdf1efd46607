#!/usr/bin/env bash
# HTTP throughput and latency of the daemon, measured with wrk (Debian) over keep-alive connections:
#   1. GET /health                       (no auth, no stores)
#   2. GET /domain                       (token + tenant check + Redis rate limit on every request)
# and the daemon's idle RSS. Prints figures; it is a benchmark, not a test.
#   bench/http_bench.sh [duration_s=10] [connections=50]
# Builds Release in build/ and uses private services on their own ports (work dir .work/bench).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
duration=${1:-10}
connections=${2:-50}
"$root/scripts/setup.sh" >/dev/null
"$root/scripts/build.sh" >/dev/null
bin=${IVR_BUILD_DIR:-$root/build}/voice-ai-ivr

export IVR_WORK_DIR=$root/.work/bench IVR_PG_PORT=55434 IVR_REDIS_PORT=56381
"$root/scripts/services.sh" start >/dev/null
export VOICE_AI_DATABASE_URL="postgresql://voice_ai_ivr@127.0.0.1:$IVR_PG_PORT/voice_ai_ivr"
export VOICE_AI_REDIS_URL="redis://127.0.0.1:$IVR_REDIS_PORT/0"
export VOICE_AI_DATABASE_MIGRATIONS_DIR="$root/migrations"
export VOICE_AI_SERVER_PORT=18100
export VOICE_AI_SERVER_ACCESS_LOG=${IVR_BENCH_ACCESS_LOG:-false}
export VOICE_AI_LOG_LEVEL=warn

"$bin" migrate >/dev/null
domain=$("$bin" domain add --name "bench-$(date +%s%N).example.com" | cut -f1)
"$bin" domain rate-limit "$domain" --per-second 1000000 --burst 1000000 >/dev/null
token=$("$bin" token create --scope call --label bench 2>/dev/null)

"$bin" serve >/tmp/ivr-bench.log 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; "$root/scripts/services.sh" stop >/dev/null' EXIT
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:18100/ready" >/dev/null 2>&1 && break; sleep 0.1; done
sleep 1
rss_idle=$(awk '/VmRSS/{print $2}' /proc/$pid/status)

echo "== machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo); wrk and the daemon share them"
echo "== idle RSS after start: $((rss_idle / 1024)) MiB ($rss_idle kB)"
echo
echo "== GET /health, $connections connections, ${duration}s"
wrk -t2 -c"$connections" -d"${duration}s" --latency "http://127.0.0.1:18100/health" | grep -E "Requests/sec|Latency|50%|90%|99%|Non-2xx|Socket errors"
echo
echo "== GET /domain (auth + tenant + rate limit), $connections connections, ${duration}s"
wrk -t2 -c"$connections" -d"${duration}s" --latency -H "X-Api-Key: $token" -H "X-Domain-UUID: $domain" \
  "http://127.0.0.1:18100/domain" | grep -E "Requests/sec|Latency|50%|90%|99%|Non-2xx|Socket errors"
rss_after=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
echo
echo "== RSS after load: $((rss_after / 1024)) MiB"
