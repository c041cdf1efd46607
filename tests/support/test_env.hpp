#pragma once
// Shared test helpers: where the real services are, and driving coroutines to completion.

#include <chrono>
#include <exception>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "ivr/store/database.hpp"
#include "ivr/store/redis.hpp"

namespace ivr::test {

// From IVR_TEST_DATABASE_URL / IVR_TEST_REDIS_URL, set by scripts/test.sh. Throws (the test fails, it is
// not skipped) when the variable is missing.
std::string database_url();
std::string redis_url();
store::DatabaseConfig database_config();
store::RedisConfig redis_config();
// Adds libpq parameters to a URI (query string; later values win) or to a key=value string.
std::string with_params(const std::string& url, const std::map<std::string, std::string>& params);

// What a helpdesk computes to check X-Webhook-Signature: "sha256=" + hex HMAC-SHA256(secret, "ts.body").
// Written independently of webhooks::webhook_signature, so a test compares two implementations.
std::string expected_signature(const std::string& secret, const std::string& timestamp,
                               const std::string& body);

// The repository root (for migrations/, config/): IVR_SOURCE_DIR, set by CMake for tests.
std::string source_dir();

// Runs `aw` on `io` until it completes (or `limit` passes, which throws) and returns its value.
template <class T>
T run(boost::asio::io_context& io, boost::asio::awaitable<T> aw,
      std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  std::optional<T> value;
  std::exception_ptr error;
  bool done = false;
  boost::asio::co_spawn(io, std::move(aw), [&](std::exception_ptr e, T v) {
    error = e;
    if (!e) value.emplace(std::move(v));
    done = true;
  });
  io.restart();
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done && std::chrono::steady_clock::now() < deadline) {
    io.run_one_for(std::chrono::milliseconds(50));
  }
  if (!done) throw std::runtime_error("coroutine did not finish in time");
  if (error) std::rethrow_exception(error);
  return std::move(*value);
}

inline void run(boost::asio::io_context& io, boost::asio::awaitable<void> aw,
                std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  std::exception_ptr error;
  bool done = false;
  boost::asio::co_spawn(io, std::move(aw), [&](std::exception_ptr e) {
    error = e;
    done = true;
  });
  io.restart();
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done && std::chrono::steady_clock::now() < deadline) {
    io.run_one_for(std::chrono::milliseconds(50));
  }
  if (!done) throw std::runtime_error("coroutine did not finish in time");
  if (error) std::rethrow_exception(error);
}

}  // namespace ivr::test
