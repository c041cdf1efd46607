#pragma once
// The administrative sub-commands (domain …, token …). They block: they run before any io_context.
// After a change they publish an invalidation on Redis so running daemons drop their cached copy.

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "ivr/core/config.hpp"

namespace ivr::app {

int cmd_domain_add(const Config& config, const std::string& name, const std::optional<std::string>& uuid,
                   std::ostream& out, std::ostream& err);
int cmd_domain_list(const Config& config, bool json, std::ostream& out, std::ostream& err);
int cmd_domain_set_enabled(const Config& config, const std::string& uuid, bool enabled, std::ostream& out,
                           std::ostream& err);
int cmd_domain_rate_limit(const Config& config, const std::string& uuid, std::optional<double> per_second,
                          std::optional<double> burst, std::ostream& out, std::ostream& err);
// nullopt: the configured realtime.max_calls_per_domain; 0: no cap.
int cmd_domain_realtime_limit(const Config& config, const std::string& uuid,
                              std::optional<std::int64_t> max_calls, std::ostream& out, std::ostream& err);
int cmd_token_create(const Config& config, const std::string& scope, const std::optional<std::string>& domain,
                     const std::string& label, std::ostream& out, std::ostream& err);
int cmd_token_revoke(const Config& config, const std::string& id, std::ostream& out, std::ostream& err);

// PUBLISH on a fresh synchronous connection; false (and a warning) when Redis cannot be reached.
bool blocking_publish(const RedisSettings& redis, const std::string& channel, const std::string& message);

}  // namespace ivr::app
