#!/usr/bin/env bash
# The systemd unit passes `systemd-analyze verify` with no output at all (it exits 0 on warnings).
source "$(dirname "$0")/lib.sh"
unit_dir=$(mktemp -d)
trap 'rm -rf "$unit_dir"' EXIT
# verify checks that executables exist: point the unit at the binary just built.
sed -e "s|/usr/bin/voice-ai-ivr|$bin|g" "$IVR_SOURCE_DIR/config/voice-ai-ivr.service" >"$unit_dir/voice-ai-ivr.service"
out=$(systemd-analyze verify "$unit_dir/voice-ai-ivr.service" 2>&1) && rc=0 || rc=$?
expect_eq "systemd-analyze verify exit code" "0" "$rc"
expect_eq "systemd-analyze verify prints nothing" "" "$out"
grep -q '^Type=notify' "$IVR_SOURCE_DIR/config/voice-ai-ivr.service" && pass "Type=notify" || fail "Type=notify"
grep -q '^WatchdogSec=' "$IVR_SOURCE_DIR/config/voice-ai-ivr.service" && pass "WatchdogSec" || fail "WatchdogSec"
exit $((failures > 0))
