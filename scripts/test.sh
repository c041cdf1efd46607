#!/usr/bin/env bash
# The whole test suite: unit tests, integration tests against a real PostgreSQL and Redis (private test
# instances on their own ports, stopped afterwards), end-to-end tests of the daemon binary and the
# service file. Exits non-zero on any failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
build=${IVR_BUILD_DIR:-$root/build}

export IVR_WORK_DIR=${IVR_TEST_WORK_DIR:-$root/.work/test}
export IVR_PG_FAST=1  # throw-away test cluster: no fsync
export IVR_PG_PORT=${IVR_TEST_PG_PORT:-55433}
export IVR_REDIS_PORT=${IVR_TEST_REDIS_PORT:-56380}
export IVR_SOURCE_DIR=$root
export IVR_BUILD_DIR=$build
export IVR_TEST_DATABASE_URL="postgresql://voice_ai_ivr@127.0.0.1:$IVR_PG_PORT/voice_ai_ivr"
export IVR_TEST_REDIS_URL="redis://127.0.0.1:$IVR_REDIS_PORT/0"
export IVR_TEST_PG_DATA="$IVR_WORK_DIR/postgres/data"

cleanup() { "$root/scripts/services.sh" stop >/dev/null 2>&1 || true; }
trap cleanup EXIT
"$root/scripts/services.sh" start

# Serial: some integration tests restart PostgreSQL or Redis on purpose.
ctest --test-dir "$build" --output-on-failure --timeout 300 "$@"
