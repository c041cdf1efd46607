#include "ivr/store/migrations.hpp"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string_view>
#include <system_error>

#include <pqxx/pqxx>

#include "ivr/core/ids.hpp"
#include "ivr/core/logging.hpp"
#include "pg_pool.hpp"

namespace ivr::store {
namespace {

// Session advisory lock key shared by every instance migrating the same database ("IVRMIGR1").
constexpr std::int64_t kMigrationLockKey = 0x4956524D49475231;

struct MigrationFile {
  int version = 0;
  std::string name;  // file name, e.g. 0001_foundation.sql
  std::filesystem::path path;
};

// NNNN_description.sql: at least four digits (version ≥ 1), '_', then [A-Za-z0-9_-]+.
std::optional<int> parse_version(std::string_view name) {
  constexpr std::string_view kSuffix = ".sql";
  if (!name.ends_with(kSuffix)) return std::nullopt;
  name.remove_suffix(kSuffix.size());
  std::size_t digits = 0;
  while (digits < name.size() && name[digits] >= '0' && name[digits] <= '9') ++digits;
  if (digits < 4 || digits > 9 || digits + 1 >= name.size() || name[digits] != '_') return std::nullopt;
  for (const char c : name.substr(digits + 1)) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return std::nullopt;
  }
  int version = 0;
  for (std::size_t i = 0; i < digits; ++i) version = version * 10 + (name[i] - '0');
  if (version == 0) return std::nullopt;
  return version;
}

Result<std::vector<MigrationFile>> list_migrations(const std::filesystem::path& dir) {
  auto log = module_logger("store");
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    log->error("migrations directory {} does not exist or is not a directory", dir.string());
    return Errc::config_invalid;
  }
  std::vector<MigrationFile> files;
  std::map<int, std::string> seen;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file()) continue;
    const std::string name = entry.path().filename().string();
    // Other files (a README) may sit beside the migrations; a .sql file must be well named.
    if (!name.ends_with(".sql")) continue;
    const std::optional<int> version = parse_version(name);
    if (!version) {
      log->error("migration file {} is not named NNNN_description.sql", name);
      return Errc::config_invalid;
    }
    if (const auto [it, inserted] = seen.emplace(*version, name); !inserted) {
      log->error("migration files {} and {} have the same number", it->second, name);
      return Errc::config_invalid;
    }
    files.push_back({*version, name, entry.path()});
  }
  if (ec) {
    log->error("cannot read migrations directory {}: {}", dir.string(), ec.message());
    return Errc::config_invalid;
  }
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.version < b.version; });
  return files;
}

std::optional<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return std::move(out).str();
}

struct Applied {
  std::string name;
  std::string checksum;
};

// Everything after the advisory lock is taken; `conn` is the dedicated connection holding it.
Result<MigrationReport> migrate_locked(pqxx::connection& conn, const std::vector<MigrationFile>& files) {
  auto log = module_logger("store");
  {
    pqxx::work tx(conn, "schema_migrations");
    tx.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version integer PRIMARY KEY,"
        " name text NOT NULL,"
        " checksum text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())");
    tx.commit();
  }
  std::map<int, Applied> applied;
  {
    pqxx::read_transaction tx(conn);
    for (const auto& row : tx.exec("SELECT version, name, checksum FROM schema_migrations")) {
      applied.emplace(row[0].as<int>(), Applied{row[1].as<std::string>(), row[2].as<std::string>()});
    }
  }

  // Read every file and check the applied ones first: nothing is applied if history was rewritten.
  std::vector<std::pair<const MigrationFile*, std::string>> pending;
  MigrationReport report;
  for (const MigrationFile& file : files) {
    std::optional<std::string> sql = read_file(file.path);
    if (!sql) {
      log->error("cannot read migration file {}", file.path.string());
      return Errc::config_invalid;
    }
    const std::string checksum = sha256_hex(*sql);
    if (const auto it = applied.find(file.version); it != applied.end()) {
      if (it->second.checksum != checksum) {
        log->error(
            "migration {} was changed after it was applied (checksum {} in the database, {} on disk); "
            "add a new migration instead of editing an applied one",
            file.name, it->second.checksum, checksum);
        return Errc::config_invalid;
      }
      if (it->second.name != file.name) {
        log->warn("migration {} was applied under the name {}", file.name, it->second.name);
      }
      ++report.already_applied;
      applied.erase(it);
      continue;
    }
    pending.emplace_back(&file, std::move(*sql));
  }
  for (const auto& [version, row] : applied) {
    log->warn("applied migration {} ({}) has no file in the migrations directory", version, row.name);
  }

  for (const auto& [file, sql] : pending) {
    try {
      pqxx::work tx(conn, "migration");
      tx.exec(sql);
      tx.exec_params("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                     file->version, file->name, sha256_hex(sql));
      tx.commit();
    } catch (const pqxx::broken_connection&) {
      throw;
    } catch (const pqxx::sql_error& e) {
      log->error("migration {} failed (sqlstate {}): {}", file->name, e.sqlstate(),
                 detail::one_line(e.what()));
      return Errc::internal;
    }
    log->info("applied migration {}", file->name);
    report.applied.push_back(file->name);
  }
  return report;
}

}  // namespace

Result<MigrationReport> blocking_migrate(const DatabaseConfig& config, const std::filesystem::path& dir) {
  auto log = module_logger("store");
  Result<std::vector<MigrationFile>> files = list_migrations(dir);
  if (!files) return files.error();

  std::unique_ptr<pqxx::connection> conn;
  try {
    // No statement_timeout on this connection: a migration may legitimately run long, and waiting for
    // another instance's lock is expected.
    conn = std::make_unique<pqxx::connection>(connection_string(config));
  } catch (const std::exception& e) {
    log->error("migrations: cannot connect to PostgreSQL: {}", detail::one_line(e.what()));
    return Errc::unavailable;
  }
  // Leaving early (an exception) destroys the connection, which releases the advisory lock.
  try {
    {
      // Session lock held for the whole run: another instance waits here, then finds the files applied.
      pqxx::nontransaction tx(*conn);
      tx.exec_params("SELECT pg_advisory_lock($1)", kMigrationLockKey);
    }
    Result<MigrationReport> report = migrate_locked(*conn, *files);
    {
      pqxx::nontransaction tx(*conn);
      tx.exec_params("SELECT pg_advisory_unlock($1)", kMigrationLockKey);
    }
    conn->disconnect();
    return report;
  } catch (const pqxx::broken_connection& e) {
    log->error("migrations: PostgreSQL connection lost: {}", detail::one_line(e.what()));
    return Errc::unavailable;
  } catch (const pqxx::sql_error& e) {
    log->error("migrations: SQL error {}: {}", e.sqlstate(), detail::one_line(e.what()));
    return Errc::internal;
  } catch (const std::exception& e) {
    log->error("migrations failed: {}", detail::one_line(e.what()));
    return Errc::internal;
  }
}

}  // namespace ivr::store
