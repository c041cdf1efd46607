#include "ivr/core/logging.hpp"

#include <mutex>

#include <spdlog/sinks/stdout_color_sinks.h>

namespace ivr {
namespace {

std::mutex settings_mutex;  // guards current_settings and logger creation
LogSettings current_settings;

void apply(spdlog::logger& logger) {
  logger.set_level(spdlog::level::from_str(current_settings.level));
  if (current_settings.json) {
    logger.set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","module":"%n","msg":"%v"})");
  } else {
    logger.set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ [%n] %v");
  }
}

}  // namespace

void init_logging(const LogSettings& settings) {
  std::lock_guard lock(settings_mutex);
  current_settings = settings;
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { apply(*l); });
}

std::shared_ptr<spdlog::logger> module_logger(std::string_view module) {
  std::lock_guard lock(settings_mutex);
  const std::string name(module);
  if (auto existing = spdlog::get(name)) return existing;
  auto logger = spdlog::stderr_color_mt(name);
  apply(*logger);
  return logger;
}

std::string to_string(const LogContext& ctx) {
  std::string out = "[";
  auto add = [&out](std::string_view key, std::string_view value) {
    if (value.empty()) return;
    if (out.size() > 1) out.push_back(' ');
    out.append(key).append("=").append(value);
  };
  add("rid", ctx.request_id);
  add("domain", ctx.domain_uuid);
  add("call", ctx.call_uuid);
  out.push_back(']');
  return out;
}

}  // namespace ivr
