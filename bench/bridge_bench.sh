#!/usr/bin/env bash
# The realtime bridge under load (prints figures; not a test): bench_bridge_bench against private
# PostgreSQL and Redis on their own ports (work dir .work/bench). See bench/bridge_bench.cpp.
#   bench/bridge_bench.sh [calls=500] [seconds=10] [echo|openai|openai-g711] [guarded]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh" >/dev/null
"$root/scripts/build.sh" >/dev/null
build=${IVR_BUILD_DIR:-$root/build}
export IVR_WORK_DIR=$root/.work/bench IVR_PG_PORT=55434 IVR_REDIS_PORT=56381
"$root/scripts/services.sh" start >/dev/null
trap '"$root/scripts/services.sh" stop >/dev/null' EXIT
export VOICE_AI_DATABASE_URL="postgresql://voice_ai_ivr@127.0.0.1:$IVR_PG_PORT/voice_ai_ivr"
export VOICE_AI_DATABASE_MIGRATIONS_DIR="$root/migrations"
"$build/bench_bridge_bench" "${1:-500}" "${2:-10}" "${3:-echo}" ${4:+"$4"}
