#pragma once
// PostgreSQL access: a pool of libpqxx connections used on the db worker pool, one thread per connection
// at a time. libpqxx types stay inside src/store; repositories are the public face.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "ivr/core/errors.hpp"

namespace boost::asio {
class thread_pool;
}

namespace ivr::store {

struct DatabaseConfig {
  std::string url = "postgresql://voice_ai_ivr@127.0.0.1:55432/voice_ai_ivr";  // libpq URI or key=value
  std::string password;  // from VOICE_AI_DATABASE_PASSWORD or database.password_file; never logged
  std::size_t pool_size = 8;
  std::chrono::milliseconds connect_timeout{3'000};
  std::chrono::milliseconds statement_timeout{5'000};
};

// The libpq connection string for `config` (password included; never log it).
std::string connection_string(const DatabaseConfig& config);

class Database {
 public:
  // `pool` runs every query; it must outlive the Database.
  Database(boost::asio::thread_pool& pool, DatabaseConfig config);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // SELECT 1. Errc::unavailable when the server cannot be reached (the connection is reopened next time).
  boost::asio::awaitable<Result<void>> ping();

  std::size_t pool_size() const;
  std::size_t connections_in_use() const;

  class Impl;  // defined in src/store/pg_pool.hpp, used by the Pg repositories
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ivr::store
