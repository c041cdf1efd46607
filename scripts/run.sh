#!/usr/bin/env bash
# The main job: install what is missing, build, start the private PostgreSQL and Redis, apply migrations,
# then run the daemon in the foreground on its embedded defaults (127.0.0.1:8100, offline providers).
# Arguments are passed to the daemon, e.g. scripts/run.sh --config config/voice-ai-ivr.toml
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
"$root/scripts/services.sh" start
build=${IVR_BUILD_DIR:-$root/build}
"$build/voice-ai-ivr" "$@" migrate
echo "run.sh: starting voice-ai-ivr; in another terminal: curl -s http://127.0.0.1:8100/ready"
exec "$build/voice-ai-ivr" "$@" serve
