#pragma once
// sd_notify wrappers: harmless no-ops when not started by systemd (no NOTIFY_SOCKET).

#include <chrono>
#include <optional>
#include <string_view>

namespace ivr::app {

void notify_ready();
void notify_stopping();
void notify_reloading();
void notify_watchdog();
void notify_status(std::string_view status);
// The interval at which WATCHDOG=1 must be sent, when systemd asked for it (WatchdogSec=).
std::optional<std::chrono::microseconds> watchdog_interval();

}  // namespace ivr::app
