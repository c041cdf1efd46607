#include "ivr/app/systemd.hpp"

#include <string>

#include <systemd/sd-daemon.h>

namespace ivr::app {

void notify_ready() {
  sd_notify(0, "READY=1\nSTATUS=serving");
}
void notify_stopping() {
  sd_notify(0, "STOPPING=1\nSTATUS=draining");
}
void notify_reloading() {
  sd_notify(0, "RELOADING=1");
}
void notify_watchdog() {
  sd_notify(0, "WATCHDOG=1");
}

void notify_status(std::string_view status) {
  const std::string message = "STATUS=" + std::string(status);
  sd_notify(0, message.c_str());
}

std::optional<std::chrono::microseconds> watchdog_interval() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) return std::chrono::microseconds(usec);
  return std::nullopt;
}

}  // namespace ivr::app
