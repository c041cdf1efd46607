#pragma once
// One named spdlog logger per module. spdlog 1.10 has no MDC, so lines about a request or a call carry
// their context explicitly: log->info("{} …", ctx, …) where ctx is a LogContext.

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

namespace ivr {

struct LogSettings {
  std::string level = "info";  // trace, debug, info, warn, error, critical, off
  bool json = false;           // one JSON object per line (for journald/Loki) instead of text
};

// Configures the default sink and pattern; safe to call again (SIGHUP changes the level).
void init_logging(const LogSettings& settings);

// The module's logger, created on first use with the current settings.
std::shared_ptr<spdlog::logger> module_logger(std::string_view module);

// Context carried by every line about a request or a call; formats as "[rid=… domain=… call=…]".
struct LogContext {
  std::string_view request_id;
  std::string_view domain_uuid;
  std::string_view call_uuid;
};

std::string to_string(const LogContext& ctx);

}  // namespace ivr

template <>
struct fmt::formatter<ivr::LogContext> : fmt::formatter<std::string_view> {
  template <class FormatContext>
  auto format(const ivr::LogContext& ctx, FormatContext& fc) const {
    const std::string text = ivr::to_string(ctx);
    return fmt::formatter<std::string_view>::format(text, fc);
  }
};
