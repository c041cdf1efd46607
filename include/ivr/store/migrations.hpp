#pragma once
// Applies numbered SQL files (migrations/NNNN_description.sql) in order, each in its own transaction,
// recording them in schema_migrations. A session advisory lock serialises concurrent instances, so several
// daemons may start at once. Blocking: call from main before the io_context runs, or from a worker.

#include <filesystem>
#include <string>
#include <vector>

#include "ivr/core/errors.hpp"
#include "ivr/store/database.hpp"

namespace ivr::store {

struct MigrationReport {
  std::vector<std::string> applied;  // file names applied by this call
  std::size_t already_applied = 0;
};

// Errors: Errc::unavailable (cannot connect), Errc::config_invalid (bad file name, missing dir, a file
// whose checksum changed after it was applied), Errc::internal (SQL failed; the failing file is logged).
Result<MigrationReport> blocking_migrate(const DatabaseConfig& config, const std::filesystem::path& dir);

}  // namespace ivr::store
