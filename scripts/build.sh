#!/usr/bin/env bash
# Configures and builds into build/ (or $IVR_BUILD_DIR). Extra arguments go to cmake's configure step,
# e.g. scripts/build.sh -DIVR_SANITIZE=ON with IVR_BUILD_DIR=build-asan.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${IVR_BUILD_DIR:-$root/build}
jobs=${IVR_JOBS:-2}
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE="${IVR_BUILD_TYPE:-Release}" "$@"
elif [ $# -gt 0 ]; then
  cmake -S "$root" -B "$build" "$@"
fi
cmake --build "$build" -j"$jobs"
