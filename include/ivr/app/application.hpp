#pragma once
// The composition root: builds every service once, in dependency order, runs the io_context until
// SIGTERM/SIGINT, then drains and exits. SIGHUP reloads what can change at run time.

#include "ivr/core/config.hpp"

namespace ivr::app {

struct RunOptions {
  ConfigSource source;  // re-read on SIGHUP
  std::string version;
};

// Returns the process exit code.
int run_daemon(const Config& config, const RunOptions& options);

// Applies migrations, retrying while the database is unreachable (it may start after us) up to `wait`.
// Returns the process exit code.
int migrate(const Config& config, std::chrono::seconds wait);

}  // namespace ivr::app
