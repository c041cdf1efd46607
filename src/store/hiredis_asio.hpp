#pragma once
// Private to the store module: hiredis 0.14 async connections driven by the io_context, re-established with
// backoff whenever they drop. Everything here runs on the io thread (STYLE.md, "Async rules").
//
// Why this exists: hiredis 0.14 ships no Asio adapter and has no timeouts for async connects or commands.
// The adapter waits on the context's fd through a non-owning posix::stream_descriptor (hiredis owns and
// closes the fd) and calls redisAsyncHandleRead/Write when it is ready. hiredis may free its context from
// inside any of those calls (error, EOF, redisAsyncFree from a callback); the cleanup hook is the one
// notification it always sends before the memory goes, so everything that could touch a freed context
// checks a flag that cleanup clears.

#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "ivr/core/errors.hpp"
#include "ivr/core/logging.hpp"
#include "ivr/store/redis.hpp"

struct redisReply;

namespace ivr::store::detail {

struct RedisEndpoint {
  std::string host;
  unsigned short port = 6379;
  std::string username;  // Redis 6 ACL user; empty: AUTH with the password only
  std::string password;
  int db = 0;
};

// Parses redis://[[user]:password@]host[:port][/db] (host may be a bracketed IPv6 literal; user and password
// may be percent-encoded). A non-empty `password` overrides the URL's. Errors: Errc::config_invalid.
Result<RedisEndpoint> parse_redis_url(std::string_view url, std::string_view password);

// Deep copy of a hiredis reply (hiredis frees its reply as soon as the callback returns).
RedisReply convert_reply(const redisReply& reply);

// Called exactly once per command: with the reply, or with nullptr and the reason no reply will come
// (Errc::unavailable: the connection dropped; Errc::cancelled: we closed it). Runs inside hiredis: it must
// not free or reopen the connection, only record the outcome and wake its waiter through the io_context.
using ReplyHandler = std::function<void(const redisReply* reply, Errc gone)>;
// Pub/sub pushes on a subscribed connection: subscribe confirmations and ["message", channel, payload].
using PushHandler = std::function<void(const redisReply& reply)>;

class HiredisConnection;

// One logical connection to Redis: connects in the background (AUTH, SELECT, PING; never HELLO), counts as
// ready once PING answers, and reconnects with exponential backoff and jitter whenever it drops.
// Not thread-safe: io thread only (start() may also run before the io_context runs).
class RedisLink {
 public:
  struct Options {
    std::string name;  // "commands", "pubsub": for the log
    RedisEndpoint endpoint;
    std::chrono::milliseconds connect_timeout{1'000};
    std::chrono::milliseconds reconnect_min{100};
    std::chrono::milliseconds reconnect_max{5'000};
  };

  RedisLink(boost::asio::io_context& io, Options options);
  ~RedisLink();
  RedisLink(const RedisLink&) = delete;
  RedisLink& operator=(const RedisLink&) = delete;

  // Called (inside hiredis) each time a connection becomes ready; may send commands.
  void on_ready(std::function<void()> fn) { on_ready_ = std::move(fn); }
  void on_push(PushHandler fn) { on_push_ = std::move(fn); }

  void start();
  // Closes the connection; its pending commands complete with Errc::cancelled. No reconnect until start().
  void stop();
  bool ready() const;

  // Queues a command (pipelined). Returns false, without calling `handler`, when not ready.
  bool send(const std::vector<std::string>& args, ReplyHandler handler);
  // SUBSCRIBE on the current connection; confirmations and messages go to the push handler.
  bool subscribe(const std::vector<std::string>& channels);

  boost::asio::io_context& io() { return io_; }

 private:
  void connect();
  void open(const std::string& address, unsigned attempt);
  void connection_ready();
  void connection_down(const std::string& reason, bool was_ready);
  // `lost`: a ready connection dropped (log once, retry soon); otherwise one more failed attempt.
  void schedule_reconnect(const std::string& reason, bool lost = false);

  boost::asio::io_context& io_;
  Options options_;
  std::shared_ptr<spdlog::logger> log_;
  std::shared_ptr<HiredisConnection> conn_;
  boost::asio::steady_timer backoff_;
  boost::asio::ip::tcp::resolver resolver_;
  std::minstd_rand jitter_;
  std::function<void()> on_ready_;
  PushHandler on_push_;
  bool started_ = false;
  unsigned attempt_ = 0;   // identifies the current connect attempt for late resolver/timer completions
  unsigned failures_ = 0;  // consecutive failures, for the backoff and to keep the log quiet
  std::shared_ptr<char> alive_ = std::make_shared<char>();  // weak refs guard handlers against ~RedisLink
};

}  // namespace ivr::store::detail
