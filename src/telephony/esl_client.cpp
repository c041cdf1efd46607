#include "ivr/telephony/esl_client.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <deque>
#include <exception>
#include <map>
#include <optional>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "ivr/core/logging.hpp"

namespace ivr::telephony {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using asio::as_tuple;
using asio::use_awaitable;

namespace {

constexpr std::string_view kBackgroundJob = "BACKGROUND_JOB";

bool has_line_break(std::string_view text) {
  return text.find_first_of("\r\n") != std::string_view::npos;
}

void add_unique(std::vector<std::string>& list, std::string value) {
  if (value.empty()) return;
  if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(std::move(value));
}

// One command in flight. Shared by the awaiting coroutine and the connection (which completes it), so a
// reply arriving after the waiter gave up lands here harmlessly.
struct Pending {
  enum class Kind { api, bgapi, command };
  Pending(const asio::any_io_executor& executor, Kind k) : wake(executor), kind(k) {}

  asio::steady_timer wake;  // expires at the deadline; cancelled when an outcome is set
  Kind kind;
  std::optional<Result<EslMessage>> reply;  // the command/reply or api/response, or why none will come
  std::optional<Result<std::string>> job;   // bgapi: the BACKGROUND_JOB body, or why none will come
  std::string job_uuid;
  bool abandoned = false;  // the waiter gave up (timeout or cancellation)

  void complete_reply(Result<EslMessage> outcome) {
    reply.emplace(std::move(outcome));
    if (!abandoned) wake.cancel();
  }
  void complete_job(Result<std::string> outcome) {
    job.emplace(std::move(outcome));
    if (!abandoned) wake.cancel();
  }
};

// Blocks the caller until `pending` has the outcome `ready()` looks for, or `timeout`.
template <class Ready>
asio::awaitable<boost::system::error_code> wait_for(Pending& pending, std::chrono::milliseconds timeout,
                                                    Ready ready) {
  if (ready()) co_return boost::system::error_code{};
  pending.wake.expires_after(timeout);
  auto [ec] = co_await pending.wake.async_wait(as_tuple(use_awaitable));
  if (ready()) co_return boost::system::error_code{};
  pending.abandoned = true;
  if (ec == asio::error::operation_aborted) co_return make_error_code(Errc::cancelled);
  co_return make_error_code(Errc::timeout);
}

// The Job-UUID of a bgapi acceptance: the Job-UUID header, else the Reply-Text "+OK Job-UUID: <id>".
std::string job_uuid_of(const EslMessage& reply) {
  if (auto header = reply.headers.find("Job-UUID"); header && !header->empty()) return std::string(*header);
  const std::string_view text = reply.headers.get("Reply-Text");
  constexpr std::string_view kPrefix = "+OK Job-UUID:";
  if (text.substr(0, kPrefix.size()) != kPrefix) return {};
  std::string_view id = text.substr(kPrefix.size());
  while (!id.empty() && id.front() == ' ') id.remove_prefix(1);
  while (!id.empty() && (id.back() == ' ' || id.back() == '\r' || id.back() == '\n')) id.remove_suffix(1);
  return std::string(id);
}

}  // namespace

std::string subscription_command(const std::vector<std::string>& events,
                                 const std::vector<std::string>& subclasses) {
  std::vector<std::string> names;
  for (const auto& e : events) {
    if (e != "CUSTOM") add_unique(names, e);
  }
  std::vector<std::string> custom;
  for (const auto& s : subclasses) add_unique(custom, s);
  std::string line = "event json";
  for (const auto& n : names) line += " " + n;
  if (!custom.empty()) {
    line += " CUSTOM";
    for (const auto& s : custom) line += " " + s;
  }
  return line;
}

class EslClient::Impl : public std::enable_shared_from_this<EslClient::Impl> {
 public:
  Impl(asio::io_context& io, EslClientOptions options)
      : io_(io),
        options_(std::move(options)),
        log_(module_logger("telephony")),
        socket_(io),
        resolver_(io),
        backoff_timer_(io),
        handshake_timer_(io),
        parser_(options_.limits) {
    for (auto& e : options_.events) add_unique(events_, std::move(e));
    for (auto& s : options_.subclasses) add_unique(subclasses_, std::move(s));
    add_unique(events_, std::string(kBackgroundJob));
  }

  // ----- life cycle -------------------------------------------------------------------------------------

  void start() {
    if (running_) return;
    running_ = true;
    if (loop_active_) return;  // a stop() not yet unwound: the loop sees running_ again and carries on
    loop_active_ = true;
    asio::co_spawn(io_, run(shared_from_this()), [self = shared_from_this()](std::exception_ptr e) {
      self->loop_active_ = false;
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        self->log_->critical("esl[{}]: connection loop ended by an exception: {}", self->options_.node.name,
                             ex.what());
      }
    });
  }

  void stop() {
    running_ = false;
    backoff_timer_.cancel();
    drop_connection(Errc::cancelled);
    for (ConnectWaiter* waiter : connect_waiters_) waiter->timer.cancel();
  }

  // ----- commands ---------------------------------------------------------------------------------------

  // Queues `line` as a command. nullptr result = the error to report.
  Result<std::shared_ptr<Pending>> send(std::string line, Pending::Kind kind) {
    assert(io_.get_executor().running_in_this_thread());
    if (has_line_break(line)) return make_error_code(Errc::bad_request);
    if (!connected_) return make_error_code(Errc::unavailable);
    if (fifo_.size() >= options_.max_in_flight) {
      // FreeSWITCH stopped answering: do not queue without limit behind it.
      log_->warn("esl[{}]: {} commands already awaiting a reply; refusing more", options_.node.name,
                 fifo_.size());
      return make_error_code(Errc::unavailable);
    }
    auto pending = std::make_shared<Pending>(io_.get_executor(), kind);
    fifo_.push_back(pending);
    line += "\n\n";
    outbox_.push_back(std::move(line));
    if (!writing_) start_write();
    return pending;
  }

  void register_job(const std::shared_ptr<Pending>& pending) { jobs_[pending->job_uuid] = pending; }
  void forget_job(const std::string& job_uuid) { jobs_.erase(job_uuid); }

  // ----- state ------------------------------------------------------------------------------------------

  struct ConnectWaiter {
    explicit ConnectWaiter(asio::io_context& io) : timer(io) {}
    asio::steady_timer timer;
    bool notified = false;
  };

  asio::io_context& io_;
  EslClientOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  std::vector<std::string> events_;
  std::vector<std::string> subclasses_;
  std::vector<std::pair<HandlerId, EventHandler>> handlers_;
  HandlerId next_handler_id_ = 1;
  std::vector<ConnectWaiter*> connect_waiters_;
  bool running_ = false;
  bool loop_active_ = false;
  bool connected_ = false;
  bool auth_failed_ = false;
  std::uint64_t connections_ = 0;
  std::string remote_address_;

 private:
  // ----- connection loop --------------------------------------------------------------------------------

  asio::awaitable<void> run(std::shared_ptr<Impl> self) {
    (void)self;  // keeps us alive while the loop runs
    auto backoff = options_.reconnect_min;
    std::uint64_t failures = 0;
    while (running_) {
      const bool up = co_await connect_once(failures);
      if (up) {
        if (failures > 0)
          log_->info("esl[{}]: connected again after {} failed attempts", options_.node.name, failures);
        failures = 0;
        backoff = options_.reconnect_min;
        const Errc why = co_await read_loop();
        drop_connection(why);
        if (running_) log_->warn("esl[{}]: connection lost; reconnecting", options_.node.name);
      } else {
        ++failures;
        drop_connection(Errc::unavailable);
      }
      if (!running_) break;
      backoff_timer_.expires_after(backoff);
      co_await backoff_timer_.async_wait(as_tuple(use_awaitable));
      if (!up) backoff = std::min(backoff * 2, options_.reconnect_max);
    }
  }

  // TCP connect, auth, subscription. True when connected.
  asio::awaitable<bool> connect_once(std::uint64_t failures) {
    const EslNode& node = options_.node;
    // Only the first failure of a series is a warning; the rest would flood the log during an outage.
    auto failed = [&](std::string_view what) {
      if (failures == 0) {
        log_->warn("esl[{}]: {} ({}:{}); retrying with backoff", node.name, what, node.host, node.port);
      } else {
        log_->debug("esl[{}]: {} ({}:{})", node.name, what, node.host, node.port);
      }
      return false;
    };
    if (has_line_break(node.password)) {
      log_->error("esl[{}]: the password contains a line break; not connecting", node.name);
      co_return false;
    }
    const std::uint64_t generation = ++generation_;
    parser_.reset();
    inbox_.clear();
    handshake_expired_ = false;
    handshake_timer_.expires_after(options_.connect_timeout);
    handshake_timer_.async_wait([self = shared_from_this(), generation](boost::system::error_code ec) {
      if (ec || generation != self->generation_ || self->connected_) return;
      self->handshake_expired_ = true;
      self->resolver_.cancel();
      boost::system::error_code ignored;
      self->socket_.close(ignored);
    });

    auto [rec, endpoints] =
        co_await resolver_.async_resolve(node.host, std::to_string(node.port), as_tuple(use_awaitable));
    if (rec || !running_) co_return failed(handshake_expired_ ? "connect timed out" : "cannot resolve host");
    auto [cec, endpoint] = co_await asio::async_connect(socket_, endpoints, as_tuple(use_awaitable));
    if (cec || !running_) co_return failed(handshake_expired_ ? "connect timed out" : "cannot connect");
    remote_address_ = endpoint.address().to_string();
    // uuid_break on a barge-in must leave at once, not wait behind Nagle for the last command's ACK.
    boost::system::error_code nodelay_ec;
    socket_.set_option(asio::ip::tcp::no_delay(true), nodelay_ec);

    Result<EslMessage> greeting = co_await read_message();
    if (!greeting) co_return failed(handshake_expired_ ? "no auth/request in time" : "closed before auth");
    if (greeting->content_type() != content_type::kAuthRequest) co_return failed("no auth/request greeting");

    const std::string auth = "auth " + node.password + "\n\n";
    auto [aec, an] = co_await asio::async_write(socket_, asio::buffer(auth), as_tuple(use_awaitable));
    if (aec) co_return failed("closed during auth");
    Result<EslMessage> auth_reply = co_await read_reply();
    if (!auth_reply) co_return failed(handshake_expired_ ? "auth timed out" : "closed during auth");
    if (!parse_reply_status(auth_reply->headers.get("Reply-Text")).ok) {
      auth_failed_ = true;
      // An error every time: a wrong password never heals by itself. The password is not logged.
      log_->error("esl[{}]: authentication refused by {}:{} (check the event socket password)", node.name,
                  node.host, node.port);
      co_return false;
    }
    auth_failed_ = false;

    const std::string subscribe = subscription_command(events_, subclasses_) + "\n\n";
    auto [sec, sn] = co_await asio::async_write(socket_, asio::buffer(subscribe), as_tuple(use_awaitable));
    if (sec) co_return failed("closed during subscription");
    Result<EslMessage> sub_reply = co_await read_reply();
    if (!sub_reply) co_return failed("no answer to the subscription");
    if (const auto status = parse_reply_status(sub_reply->headers.get("Reply-Text")); !status.ok) {
      log_->error("esl[{}]: subscription refused: {}", node.name, status.text);
    }

    handshake_timer_.cancel();
    if (!running_) co_return false;
    connected_ = true;
    ++connections_;
    log_->info("esl[{}]: connected to {}:{} (connection {})", node.name, node.host, node.port, connections_);
    for (ConnectWaiter* waiter : connect_waiters_) {
      waiter->notified = true;
      waiter->timer.cancel();
    }
    co_return true;
  }

  // The next whole message, from what was already parsed or from the socket.
  asio::awaitable<Result<EslMessage>> read_message() {
    while (inbox_.empty()) {
      auto [ec, n] = co_await socket_.async_read_some(asio::buffer(read_buffer_), as_tuple(use_awaitable));
      if (ec) co_return make_error_code(Errc::unavailable);
      parsed_.clear();
      const auto perr = parser_.feed(std::string_view(read_buffer_.data(), n), parsed_);
      for (auto& message : parsed_) inbox_.push_back(std::move(message));
      if (perr) {
        log_->warn("esl[{}]: unreadable data from FreeSWITCH ({}); dropping the connection",
                   options_.node.name, perr.message());
        parse_failed_ = true;
        if (inbox_.empty()) co_return perr;
      }
    }
    EslMessage message = std::move(inbox_.front());
    inbox_.pop_front();
    co_return message;
  }

  // During the handshake: the next command/reply, skipping anything else (log lines).
  asio::awaitable<Result<EslMessage>> read_reply() {
    for (;;) {
      Result<EslMessage> message = co_await read_message();
      if (!message) co_return message;
      const std::string_view type = message->content_type();
      if (type == content_type::kCommandReply) co_return message;
      if (type == content_type::kDisconnectNotice) co_return make_error_code(Errc::unavailable);
    }
  }

  // Dispatches messages until the connection ends; returns why it ended.
  asio::awaitable<Errc> read_loop() {
    while (running_ && connected_) {
      Result<EslMessage> message = co_await read_message();
      if (!message) co_return running_ ? Errc::unavailable : Errc::cancelled;
      if (!handle(std::move(*message))) co_return Errc::unavailable;
      if (parse_failed_ && inbox_.empty()) co_return Errc::unavailable;
    }
    co_return running_ ? Errc::unavailable : Errc::cancelled;
  }

  // False when the message ends the connection.
  bool handle(EslMessage message) {
    const std::string_view type = message.content_type();
    if (type == content_type::kCommandReply || type == content_type::kApiResponse) {
      on_reply(std::move(message));
      return true;
    }
    if (type == content_type::kEventPlain || type == content_type::kEventJson) {
      on_event(message);
      return true;
    }
    if (type == content_type::kDisconnectNotice) {
      log_->info("esl[{}]: FreeSWITCH sent a disconnect notice", options_.node.name);
      return false;
    }
    if (type == content_type::kLogData) return true;  // we never ask for logs
    log_->debug("esl[{}]: ignoring a message of type '{}'", options_.node.name, type);
    return true;
  }

  void on_reply(EslMessage message) {
    if (fifo_.empty()) {
      log_->warn("esl[{}]: a reply arrived with no command in flight; ignored", options_.node.name);
      return;
    }
    std::shared_ptr<Pending> pending = std::move(fifo_.front());
    fifo_.pop_front();
    if (pending->kind == Pending::Kind::bgapi && !pending->abandoned &&
        parse_reply_status(message.headers.get("Reply-Text")).ok) {
      // Registered here, not by the waiter: the BACKGROUND_JOB event may be in the same read.
      pending->job_uuid = job_uuid_of(message);
      if (!pending->job_uuid.empty()) register_job(pending);
    }
    pending->complete_reply(std::move(message));
  }

  void on_event(const EslMessage& message) {
    Result<EslEvent> event = parse_event(message);
    if (!event) {
      log_->warn("esl[{}]: undecodable event ({}); ignored", options_.node.name, event.error().message());
      return;
    }
    if (event->name == kBackgroundJob) {
      if (auto it = jobs_.find(std::string(event->job_uuid())); it != jobs_.end()) {
        std::shared_ptr<Pending> pending = std::move(it->second);
        jobs_.erase(it);
        pending->complete_job(event->body);
      }
    }
    // A copy: a handler may add or remove handlers.
    const auto handlers = handlers_;
    for (const auto& [id, handler] : handlers) {
      try {
        handler(*event);
      } catch (const std::exception& ex) {
        log_->error("esl[{}]: an event handler threw on {}: {}", options_.node.name, event->name, ex.what());
      }
    }
  }

  void start_write() {
    writing_ = true;
    // Moved out of the queue so dropping the connection (which clears the queue) cannot free the bytes of
    // the write in flight.
    auto data = std::make_shared<std::string>(std::move(outbox_.front()));
    outbox_.pop_front();
    const std::uint64_t generation = generation_;
    asio::async_write(
        socket_, asio::buffer(*data),
        [self = shared_from_this(), data, generation](boost::system::error_code ec, std::size_t) {
          if (generation != self->generation_) return;  // that connection is gone
          self->writing_ = false;
          if (ec) {
            boost::system::error_code ignored;
            self->socket_.close(ignored);  // the read loop notices and reconnects
            return;
          }
          if (!self->outbox_.empty()) self->start_write();
        });
  }

  void drop_connection(Errc why) {
    ++generation_;
    connected_ = false;
    writing_ = false;
    parse_failed_ = false;
    handshake_timer_.cancel();
    resolver_.cancel();
    boost::system::error_code ignored;
    socket_.close(ignored);
    outbox_.clear();
    inbox_.clear();
    parser_.reset();
    auto fifo = std::move(fifo_);
    fifo_.clear();
    auto jobs = std::move(jobs_);
    jobs_.clear();
    for (auto& pending : fifo) pending->complete_reply(make_error_code(why));
    for (auto& [id, pending] : jobs) pending->complete_job(make_error_code(why));
  }

  tcp::socket socket_;
  tcp::resolver resolver_;
  asio::steady_timer backoff_timer_;
  asio::steady_timer handshake_timer_;
  bool handshake_expired_ = false;
  EslParser parser_;
  bool parse_failed_ = false;
  std::vector<EslMessage> parsed_;
  std::deque<EslMessage> inbox_;  // parsed, not yet handled
  std::array<char, 16 * 1024> read_buffer_{};
  std::deque<std::string> outbox_;  // command lines waiting behind the write in flight
  bool writing_ = false;
  std::deque<std::shared_ptr<Pending>> fifo_;             // commands awaiting their reply, in send order
  std::map<std::string, std::shared_ptr<Pending>> jobs_;  // bgapi accepted, awaiting BACKGROUND_JOB
  std::uint64_t generation_ = 0;                          // bumped per connection attempt and drop
};

// ---------------------------------------------------------------------------------------------------------

EslClient::EslClient(asio::io_context& io, EslClientOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {}

EslClient::~EslClient() {
  impl_->stop();
  impl_->handlers_.clear();  // they may point into objects that die with us
}

void EslClient::start() {
  impl_->start();
}

void EslClient::stop() {
  impl_->stop();
}

bool EslClient::connected() const {
  return impl_->connected_;
}

bool EslClient::auth_failed() const {
  return impl_->auth_failed_;
}

std::uint64_t EslClient::connection_count() const {
  return impl_->connections_;
}

std::string EslClient::remote_address() const {
  return impl_->remote_address_;
}

const EslNode& EslClient::node() const {
  return impl_->options_.node;
}

asio::awaitable<Result<void>> EslClient::wait_connected(std::chrono::milliseconds timeout) {
  std::shared_ptr<Impl> impl = impl_;
  if (impl->connected_) co_return Result<void>{};
  Impl::ConnectWaiter waiter(impl->io_);
  waiter.timer.expires_after(timeout);
  impl->connect_waiters_.push_back(&waiter);
  co_await waiter.timer.async_wait(as_tuple(use_awaitable));
  std::erase(impl->connect_waiters_, &waiter);
  if (waiter.notified || impl->connected_) co_return Result<void>{};
  if (!impl->running_) co_return make_error_code(Errc::cancelled);
  co_return make_error_code(Errc::timeout);
}

asio::awaitable<Result<std::string>> EslClient::api(std::string command) {
  std::shared_ptr<Impl> impl = impl_;  // the waits below must not outlive it
  const auto timeout = impl->options_.command_timeout;
  Result<std::shared_ptr<Pending>> sent = impl->send("api " + command, Pending::Kind::api);
  if (!sent) co_return sent.error();
  std::shared_ptr<Pending> pending = std::move(*sent);
  auto has_reply = [&pending] { return pending->reply.has_value(); };
  const boost::system::error_code ec = co_await wait_for(*pending, timeout, has_reply);
  if (ec) {
    impl->log_->warn("esl[{}]: api {} failed: {}", impl->options_.node.name,
                     command.substr(0, command.find(' ')), ec.message());
    co_return ec;
  }
  if (!*pending->reply) co_return pending->reply->error();
  EslMessage& reply = pending->reply->value();
  // FreeSWITCH answers api with api/response; a refusal before execution comes as a command/reply.
  if (reply.content_type() == content_type::kApiResponse) co_return std::move(reply.body);
  co_return std::string(reply.headers.get("Reply-Text"));
}

asio::awaitable<Result<EslJobResult>> EslClient::bgapi(std::string command) {
  std::shared_ptr<Impl> impl = impl_;
  const auto command_timeout = impl->options_.command_timeout;
  const auto job_timeout = impl->options_.job_timeout;
  const std::string name = command.substr(0, command.find(' '));
  Result<std::shared_ptr<Pending>> sent = impl->send("bgapi " + command, Pending::Kind::bgapi);
  if (!sent) co_return sent.error();
  std::shared_ptr<Pending> pending = std::move(*sent);
  auto has_reply = [&pending] { return pending->reply.has_value(); };
  const boost::system::error_code reply_ec = co_await wait_for(*pending, command_timeout, has_reply);
  if (reply_ec) {
    const auto& ec = reply_ec;
    impl->log_->warn("esl[{}]: bgapi {} failed: {}", impl->options_.node.name, name, ec.message());
    co_return ec;
  }
  if (!*pending->reply) co_return pending->reply->error();
  const auto status = parse_reply_status(pending->reply->value().headers.get("Reply-Text"));
  if (!status.ok || pending->job_uuid.empty()) {
    impl->log_->warn("esl[{}]: bgapi {} refused: {}", impl->options_.node.name, name, status.text);
    co_return make_error_code(Errc::upstream_error);
  }
  auto has_job = [&pending] { return pending->job.has_value(); };
  const boost::system::error_code job_ec = co_await wait_for(*pending, job_timeout, has_job);
  if (job_ec) {
    const auto& ec = job_ec;
    impl->forget_job(pending->job_uuid);
    impl->log_->warn("esl[{}]: bgapi {} job {} failed: {}", impl->options_.node.name, name, pending->job_uuid,
                     ec.message());
    co_return ec;
  }
  if (!*pending->job) co_return pending->job->error();
  EslJobResult result{pending->job_uuid, std::move(pending->job->value())};
  co_return result;
}

asio::awaitable<Result<std::string>> EslClient::command(std::string line) {
  std::shared_ptr<Impl> impl = impl_;
  const auto timeout = impl->options_.command_timeout;
  Result<std::shared_ptr<Pending>> sent = impl->send(std::move(line), Pending::Kind::command);
  if (!sent) co_return sent.error();
  std::shared_ptr<Pending> pending = std::move(*sent);
  auto has_reply = [&pending] { return pending->reply.has_value(); };
  const boost::system::error_code ec = co_await wait_for(*pending, timeout, has_reply);
  if (ec) co_return ec;
  if (!*pending->reply) co_return pending->reply->error();
  co_return std::string(pending->reply->value().headers.get("Reply-Text"));
}

asio::awaitable<Result<void>> EslClient::subscribe(std::vector<std::string> events,
                                                   std::vector<std::string> subclasses) {
  std::shared_ptr<Impl> impl = impl_;
  bool changed = false;
  for (auto& e : events) {
    const std::size_t before = impl->events_.size();
    add_unique(impl->events_, std::move(e));
    changed = changed || impl->events_.size() != before;
  }
  for (auto& s : subclasses) {
    const std::size_t before = impl->subclasses_.size();
    add_unique(impl->subclasses_, std::move(s));
    changed = changed || impl->subclasses_.size() != before;
  }
  if (!changed || !impl->connected_) co_return Result<void>{};  // sent with the next connection
  // ESL subscriptions add up, so sending the whole set again is harmless.
  Result<std::string> reply = co_await command(subscription_command(impl->events_, impl->subclasses_));
  if (!reply) co_return reply.error();
  if (const auto status = parse_reply_status(*reply); !status.ok) {
    impl->log_->error("esl[{}]: subscription refused: {}", impl->options_.node.name, status.text);
    co_return make_error_code(Errc::upstream_error);
  }
  co_return Result<void>{};
}

EslClient::HandlerId EslClient::add_event_handler(EventHandler handler) {
  const HandlerId id = impl_->next_handler_id_++;
  impl_->handlers_.emplace_back(id, std::move(handler));
  return id;
}

void EslClient::remove_event_handler(HandlerId id) {
  std::erase_if(impl_->handlers_, [id](const auto& entry) { return entry.first == id; });
}

}  // namespace ivr::telephony
