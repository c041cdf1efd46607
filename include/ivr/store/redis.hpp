#pragma once
// Redis on the io_context: hiredis 0.14 async API with a small Asio adapter, reconnecting by itself.
// Call only from the io thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "ivr/core/errors.hpp"

namespace boost::asio {
class io_context;
}

namespace ivr::store {

struct RedisConfig {
  std::string url = "redis://127.0.0.1:56379/0";  // redis://[:password@]host:port[/db]
  std::string password;                           // from VOICE_AI_REDIS_PASSWORD or redis.password_file
  std::chrono::milliseconds command_timeout{1'000};
  std::chrono::milliseconds connect_timeout{1'000};
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{5'000};
};

struct RedisReply {
  enum class Type { nil, integer, string, status, array, error } type = Type::nil;
  long long integer = 0;
  std::string str;  // string, status or error text
  std::vector<RedisReply> elements;
};

class RedisClient {
 public:
  RedisClient(boost::asio::io_context& io, RedisConfig config);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Connects in the background and reconnects with backoff whenever the connection drops.
  void start();
  // Closes the connection; pending commands complete with Errc::cancelled.
  void stop();
  bool connected() const;

  // One command, binary-safe arguments. Errors: Errc::unavailable (not connected), Errc::timeout
  // (no reply within command_timeout), Errc::upstream_error (Redis error reply; text in the log).
  boost::asio::awaitable<Result<RedisReply>> command(std::vector<std::string> args);
  // Several commands written at once and answered in order: one round trip instead of one each (not a
  // transaction: use MULTI/EXEC inside for that). Each command's reply or error is in its slot; the call
  // itself fails only when nothing could be sent, or on timeout or cancellation.
  boost::asio::awaitable<Result<std::vector<Result<RedisReply>>>> pipeline(
      std::vector<std::vector<std::string>> commands);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// A separate connection for SUBSCRIBE; re-subscribes after reconnecting.
class RedisSubscriber {
 public:
  RedisSubscriber(boost::asio::io_context& io, RedisConfig config);
  ~RedisSubscriber();
  using Callback = std::function<void(std::string_view channel, std::string_view message)>;
  // Register before start(). Callbacks run on the io thread.
  void subscribe(std::string channel, Callback callback);
  void start();
  void stop();
  bool connected() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

struct RateDecision {
  bool allowed = true;
  double retry_after_seconds = 0;  // when refused: time until one token is available
  double remaining = 0;            // tokens left after this request
};

class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  // Token bucket `key` refilling at `per_second` up to `burst`; takes `cost` tokens when available.
  virtual boost::asio::awaitable<Result<RateDecision>> acquire(std::string key, double per_second,
                                                               double burst, double cost = 1.0) = 0;
};

// Atomic Lua token bucket (EVALSHA, falling back to EVAL on NOSCRIPT), time from Redis TIME so several
// instances agree.
std::unique_ptr<RateLimiter> make_redis_rate_limiter(RedisClient& redis);

}  // namespace ivr::store
