#!/usr/bin/env bash
# Installs every Debian package the daemon, its tests and its benchmarks need.
# Idempotent and non-interactive: packages already present are skipped.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git ca-certificates clang-format
  # libraries (Boost: versioned 1.81 packages only; unversioned ones pull 1.74)
  libboost1.81-dev libboost-system1.81-dev libboost-url1.81-dev libboost-program-options1.81-dev
  nlohmann-json3-dev libsimdjson-dev libpqxx-dev libhiredis-dev libspdlog-dev libfmt-dev
  libcurl4-openssl-dev libssl-dev libtomlplusplus-dev libcli11-dev libsystemd-dev
  libfaiss-dev libopenblas0-serial libpoppler-cpp-dev libzip-dev libpugixml-dev
  libspeexdsp-dev libwebrtc-audio-processing-dev libespeak-ng-dev espeak-ng
  libgtest-dev libgmock-dev
  # services used by scripts/services.sh and the integration tests
  postgresql-15 postgresql-client-15 redis-server
  # operations and tests
  systemd curl wrk lua5.3 lua-cjson procps
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
# Debian starts a system redis/postgres on install in some images; ours run on private ports, so leave
# those alone rather than guessing what an operator wants.
