#include "ivr/store/redis.hpp"

#include <cassert>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include <hiredis/hiredis.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "hiredis_asio.hpp"
#include "ivr/core/logging.hpp"

namespace ivr::store {

namespace asio = boost::asio;

namespace {

detail::RedisLink::Options link_options(const RedisConfig& config, std::string name,
                                        const std::shared_ptr<spdlog::logger>& log, bool& valid) {
  detail::RedisLink::Options options;
  options.name = std::move(name);
  options.connect_timeout = config.connect_timeout;
  options.reconnect_min = config.reconnect_min;
  options.reconnect_max = config.reconnect_max;
  Result<detail::RedisEndpoint> endpoint = detail::parse_redis_url(config.url, config.password);
  valid = endpoint.has_value();
  if (valid) {
    options.endpoint = std::move(*endpoint);
  } else {
    // The config loader validates the URL, so this is a wiring mistake; stay unavailable rather than crash.
    // The URL is not logged: it may carry a password.
    log->error("{}: invalid Redis URL (expected redis://[:password@]host:port[/db]); staying disconnected",
               options.name);
  }
  return options;
}

// Error replies and timeouts are logged, at most kBurst lines per second, so an outage does not flood the
// log.
class ErrorLog {
 public:
  explicit ErrorLog(std::shared_ptr<spdlog::logger> log) : log_(std::move(log)) {}

  template <class... Args>
  void warn(fmt::format_string<Args...> format, Args&&... args) {
    const auto now = std::chrono::steady_clock::now();
    if (now - window_ >= std::chrono::seconds(1)) {
      if (suppressed_ > 0) log_->warn("{} similar Redis errors suppressed", suppressed_);
      window_ = now;
      in_window_ = 0;
      suppressed_ = 0;
    }
    if (++in_window_ > kBurst) {
      ++suppressed_;
      return;
    }
    log_->warn(format, std::forward<Args>(args)...);
  }

  spdlog::logger& logger() { return *log_; }

 private:
  static constexpr int kBurst = 10;
  std::shared_ptr<spdlog::logger> log_;
  std::chrono::steady_clock::time_point window_{};
  int in_window_ = 0;
  int suppressed_ = 0;
};

// Commands in flight, written together. Shared by the waiting coroutine and the hiredis callbacks, so a
// reply arriving after the timeout lands here harmlessly instead of in a finished coroutine.
struct PendingCommands {
  PendingCommands(asio::io_context& io, std::size_t count) : wake(io), outcomes(count), remaining(count) {}
  asio::steady_timer wake;  // expires at the command timeout; cancelled when every outcome is known
  std::vector<std::optional<Result<RedisReply>>> outcomes;
  std::size_t remaining;
  bool abandoned = false;  // the waiter gave up (timeout or cancellation)
};

}  // namespace

// ---------------------------------------------------------------------------------------------------------
// RedisClient

class RedisClient::Impl {
 public:
  Impl(asio::io_context& io, RedisConfig config)
      : io_(io),
        config_(std::move(config)),
        errors_(std::make_shared<ErrorLog>(module_logger("redis"))),
        link_(io, link_options(config_, "commands", module_logger("redis"), valid_url_)) {}

  asio::io_context& io_;
  RedisConfig config_;
  std::shared_ptr<ErrorLog> errors_;
  bool valid_url_ = false;
  detail::RedisLink link_;
};

RedisClient::RedisClient(asio::io_context& io, RedisConfig config)
    : impl_(std::make_unique<Impl>(io, std::move(config))) {}

RedisClient::~RedisClient() = default;

void RedisClient::start() {
  if (impl_->valid_url_) impl_->link_.start();
}

void RedisClient::stop() {
  impl_->link_.stop();
}

bool RedisClient::connected() const {
  return impl_->link_.ready();
}

asio::awaitable<Result<RedisReply>> RedisClient::command(std::vector<std::string> args) {
  if (args.empty()) co_return make_error_code(Errc::bad_request);
  std::vector<std::vector<std::string>> one;
  one.push_back(std::move(args));
  Result<std::vector<Result<RedisReply>>> replies = co_await pipeline(std::move(one));
  if (!replies) co_return replies.error();
  co_return std::move(replies->front());
}

asio::awaitable<Result<std::vector<Result<RedisReply>>>> RedisClient::pipeline(
    std::vector<std::vector<std::string>> commands) {
  Impl& impl = *impl_;
  assert(impl.io_.get_executor().running_in_this_thread());
  if (commands.empty()) co_return make_error_code(Errc::bad_request);
  for (const auto& args : commands)
    if (args.empty()) co_return make_error_code(Errc::bad_request);
  if (!impl.link_.ready()) co_return make_error_code(Errc::unavailable);

  auto pending = std::make_shared<PendingCommands>(impl.io_, commands.size());
  std::shared_ptr<ErrorLog> errors = impl.errors_;
  const auto timeout = impl.config_.command_timeout;
  pending->wake.expires_after(timeout);

  for (std::size_t i = 0; i < commands.size(); ++i) {
    // Runs inside hiredis: record the outcome and, with the last one, wake the waiter (cancel() posts its
    // completion).
    auto on_reply = [pending, errors, i, name = commands[i].front()](const redisReply* reply, Errc gone) {
      std::optional<Result<RedisReply>>& outcome = pending->outcomes[i];
      if (reply == nullptr) {
        outcome.emplace(make_error_code(gone));
      } else if (reply->type == REDIS_REPLY_ERROR) {
        const std::string_view text(reply->str, reply->len);
        // NOSCRIPT is the expected first answer to EVALSHA after a restart or SCRIPT FLUSH.
        if (text.substr(0, 8) == "NOSCRIPT") {
          errors->logger().debug("{}: {}", name, text);
        } else {
          errors->warn("{} failed: {}", name, text);
        }
        outcome.emplace(make_error_code(Errc::upstream_error));
      } else {
        outcome.emplace(detail::convert_reply(*reply));
      }
      if (--pending->remaining > 0) return;
      if (pending->abandoned) {
        errors->logger().debug("{}: reply arrived after the caller gave up; dropped", name);
        return;
      }
      pending->wake.cancel();
    };
    if (!impl.link_.send(commands[i], std::move(on_reply))) {
      if (i == 0) co_return make_error_code(Errc::unavailable);
      // The link went down half-way: the commands already sent complete through their callbacks (with
      // the link's error); the rest never left.
      for (std::size_t j = i; j < commands.size(); ++j)
        pending->outcomes[j].emplace(make_error_code(Errc::unavailable));
      pending->remaining -= commands.size() - i;
      if (pending->remaining == 0) break;
    }
  }

  boost::system::error_code ec;
  if (pending->remaining > 0)
    co_await pending->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  // No access to `impl` from here on: the client may have been destroyed while we waited.
  if (pending->remaining == 0) {
    std::vector<Result<RedisReply>> replies;
    replies.reserve(pending->outcomes.size());
    for (auto& outcome : pending->outcomes) replies.push_back(std::move(*outcome));
    co_return replies;
  }
  pending->abandoned = true;
  if (ec == asio::error::operation_aborted) co_return make_error_code(Errc::cancelled);  // caller cancelled
  errors->warn("{} timed out after {} ms", commands.front().front(), timeout.count());
  co_return make_error_code(Errc::timeout);
}

// ---------------------------------------------------------------------------------------------------------
// RedisSubscriber

class RedisSubscriber::Impl {
 public:
  Impl(asio::io_context& io, RedisConfig config)
      : log_(module_logger("redis")), link_(io, link_options(config, "pubsub", log_, valid_url_)) {
    link_.on_ready([this] { resubscribe(); });
    link_.on_push([this](const redisReply& reply) { on_push(reply); });
  }

  void subscribe(std::string channel, Callback callback) {
    const bool is_new = callbacks_.find(channel) == callbacks_.end();
    callbacks_[channel].push_back(std::move(callback));
    if (is_new && link_.ready()) {
      unconfirmed_.insert(channel);
      link_.subscribe({channel});
    }
  }

  bool connected() const { return link_.ready() && unconfirmed_.empty(); }

  void resubscribe() {
    unconfirmed_.clear();
    if (callbacks_.empty()) return;
    std::vector<std::string> channels;
    for (const auto& [channel, _] : callbacks_) {
      channels.push_back(channel);
      unconfirmed_.insert(channel);
    }
    if (!link_.subscribe(channels)) log_->warn("pubsub: SUBSCRIBE could not be sent");
  }

  void on_push(const redisReply& reply) {
    if (reply.type != REDIS_REPLY_ARRAY || reply.elements < 3) return;
    const redisReply& kind = *reply.element[0];
    const redisReply& channel = *reply.element[1];
    if (kind.type != REDIS_REPLY_STRING || channel.type != REDIS_REPLY_STRING) return;
    const std::string_view kind_text(kind.str, kind.len);
    const std::string name(channel.str, channel.len);
    if (kind_text == "subscribe") {
      unconfirmed_.erase(name);
      return;
    }
    if (kind_text != "message" || reply.element[2]->type != REDIS_REPLY_STRING) return;
    const std::string_view message(reply.element[2]->str, reply.element[2]->len);
    const auto it = callbacks_.find(name);
    if (it == callbacks_.end()) return;
    // A copy: a callback may register more channels.
    const std::vector<Callback> callbacks = it->second;
    for (const auto& callback : callbacks) callback(name, message);
  }

  std::shared_ptr<spdlog::logger> log_;
  bool valid_url_ = false;
  detail::RedisLink link_;
  std::map<std::string, std::vector<Callback>> callbacks_;
  std::set<std::string> unconfirmed_;  // subscribed on this connection but not yet confirmed
};

RedisSubscriber::RedisSubscriber(asio::io_context& io, RedisConfig config)
    : impl_(std::make_unique<Impl>(io, std::move(config))) {}

RedisSubscriber::~RedisSubscriber() = default;

void RedisSubscriber::subscribe(std::string channel, Callback callback) {
  impl_->subscribe(std::move(channel), std::move(callback));
}

void RedisSubscriber::start() {
  if (impl_->valid_url_) impl_->link_.start();
}

void RedisSubscriber::stop() {
  impl_->link_.stop();
}

// Connected and every registered channel confirmed, so a PUBLISH from now on is delivered.
bool RedisSubscriber::connected() const {
  return impl_->connected();
}

}  // namespace ivr::store
