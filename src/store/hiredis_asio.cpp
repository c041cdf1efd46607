#include "hiredis_asio.hpp"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <utility>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

namespace ivr::store::detail {

namespace asio = boost::asio;

// ---------------------------------------------------------------------------------------------------------
// URL

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = hex_value(in[i + 1]);
    const int lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

}  // namespace

Result<RedisEndpoint> parse_redis_url(std::string_view url, std::string_view password) {
  const auto invalid = make_error_code(Errc::config_invalid);
  constexpr std::string_view kScheme = "redis://";
  if (url.substr(0, kScheme.size()) != kScheme) return invalid;  // rediss:// needs TLS, which 0.14 lacks
  std::string_view rest = url.substr(kScheme.size());
  RedisEndpoint ep;

  std::string_view authority = rest.substr(0, rest.find('/'));
  std::string_view path =
      authority.size() < rest.size() ? rest.substr(authority.size() + 1) : std::string_view{};
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const auto colon = userinfo.find(':');
    const std::string_view user = userinfo.substr(0, colon);
    const std::string_view pass =
        colon == std::string_view::npos ? std::string_view{} : userinfo.substr(colon + 1);
    if (!percent_decode(user, ep.username) || !percent_decode(pass, ep.password)) return invalid;
    // redis://secret@host (no colon) is commonly meant as a password, as redis-cli reads it.
    if (colon == std::string_view::npos) std::swap(ep.username, ep.password);
  }

  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return invalid;
    ep.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return invalid;
      port_text = after.substr(1);
    }
  } else {
    const auto colon = authority.find(':');
    ep.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (ep.host.empty()) return invalid;
  if (!port_text.empty()) {
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
      return invalid;
    }
    ep.port = static_cast<unsigned short>(port);
  }
  if (!path.empty()) {
    const auto [end, ec] = std::from_chars(path.data(), path.data() + path.size(), ep.db);
    if (ec != std::errc{} || end != path.data() + path.size() || ep.db < 0) return invalid;
  }
  if (!password.empty()) ep.password = std::string(password);
  return ep;
}

RedisReply convert_reply(const redisReply& reply) {
  RedisReply out;
  switch (reply.type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::string;
      out.str.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::status;
      out.str.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::error;
      out.str.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::integer;
      out.integer = reply.integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::array;
      out.elements.reserve(reply.elements);
      for (std::size_t i = 0; i < reply.elements; ++i)
        out.elements.push_back(convert_reply(*reply.element[i]));
      break;
    default:  // REDIS_REPLY_NIL (0.14 knows no other types: no RESP3)
      out.type = RedisReply::Type::nil;
      break;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// One hiredis async context attached to the io_context.

class HiredisConnection : public std::enable_shared_from_this<HiredisConnection> {
 public:
  HiredisConnection(asio::io_context& io, std::shared_ptr<spdlog::logger> log)
      : fd_(io), connect_timer_(io), log_(std::move(log)) {}

  ~HiredisConnection() {
    // Normally cleanup() has run already; this covers a context never attached.
    assert(ac_ == nullptr);
  }

  // Takes ownership of `ac` (connecting, no error) and starts driving it.
  void attach(redisAsyncContext* ac) {
    ac_ = ac;
    live_ = true;
    ac->ev.data = new std::shared_ptr<HiredisConnection>(shared_from_this());
    ac->ev.addRead = &HiredisConnection::add_read;
    ac->ev.delRead = &HiredisConnection::del_read;
    ac->ev.addWrite = &HiredisConnection::add_write;
    ac->ev.delWrite = &HiredisConnection::del_write;
    ac->ev.cleanup = &HiredisConnection::cleanup;
    boost::system::error_code ec;
    fd_.assign(ac->c.fd, ec);
    if (ec) fail("cannot watch the socket: " + ec.message());
  }

  void start_connect_timer(std::chrono::milliseconds timeout) {
    connect_timer_.expires_after(timeout);
    connect_timer_.async_wait([weak = weak_from_this(), timeout](const boost::system::error_code& ec) {
      auto self = weak.lock();
      if (ec || !self || !self->live_ || self->ready_) return;
      self->fail("no answer within the connect timeout (" + std::to_string(timeout.count()) + " ms)");
    });
  }

  bool live() const { return live_ && !freeing_; }
  bool ready() const { return ready_ && live(); }
  void mark_ready() {
    ready_ = true;
    connect_timer_.cancel();
  }

  bool send(const std::vector<std::string>& args, ReplyHandler handler) {
    if (!live()) return false;
    auto* holder = new ReplyHandler(std::move(handler));
    if (!command(args, &HiredisConnection::on_reply, holder)) {
      delete holder;
      return false;
    }
    return true;
  }

  // SUBSCRIBE keeps its callback in hiredis' channel table and calls it once per channel with NULL when the
  // context goes, so it carries no owned privdata: pushes are routed through the connection instead.
  bool subscribe(const std::vector<std::string>& channels) {
    if (!live() || channels.empty()) return false;
    std::vector<std::string> args;
    args.reserve(channels.size() + 1);
    args.emplace_back("SUBSCRIBE");
    args.insert(args.end(), channels.begin(), channels.end());
    return command(args, &HiredisConnection::on_push_reply, nullptr);
  }

  // Frees the context because of a failure: pending commands get Errc::unavailable, the owner is told.
  void fail(std::string reason) {
    if (failure_.empty()) failure_ = std::move(reason);
    free_context();
  }

  // Frees the context on our own behalf: pending commands get Errc::cancelled, the owner is not told.
  void close() {
    closed_by_us_ = true;
    on_ready = nullptr;
    on_down = nullptr;
    on_push = nullptr;
    free_context();
  }

  std::function<void()> on_ready;
  std::function<void(const std::string& reason, bool was_ready)> on_down;
  PushHandler on_push;

 private:
  static HiredisConnection& from(void* privdata) {
    return **static_cast<std::shared_ptr<HiredisConnection>*>(privdata);
  }

  // The connection behind a context, or nullptr once cleanup has run.
  static HiredisConnection* owner_of(const redisAsyncContext* ac) {
    if (ac == nullptr || ac->ev.data == nullptr) return nullptr;
    return &from(ac->ev.data);
  }

  bool command(const std::vector<std::string>& args, redisCallbackFn* fn, void* privdata) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    argv.reserve(args.size());
    lengths.reserve(args.size());
    for (const auto& a : args) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
    return redisAsyncCommandArgv(ac_, fn, privdata, static_cast<int>(args.size()), argv.data(),
                                 lengths.data()) == REDIS_OK;
  }

  void free_context() {
    if (ac_ == nullptr || freeing_) return;
    freeing_ = true;
    // Inside a hiredis callback this only marks the context; hiredis frees it when the callback returns and
    // calls cleanup() then.
    redisAsyncFree(ac_);
  }

  // --- hiredis event hooks (idempotent, as hiredis requires) ---
  static void add_read(void* privdata) {
    auto& self = from(privdata);
    self.want_read_ = true;
    self.arm_read();
  }
  static void del_read(void* privdata) { from(privdata).want_read_ = false; }
  static void add_write(void* privdata) {
    auto& self = from(privdata);
    self.want_write_ = true;
    self.arm_write();
  }
  static void del_write(void* privdata) { from(privdata).want_write_ = false; }

  // The last hook hiredis calls before it closes the fd and frees the context.
  static void cleanup(void* privdata) {
    auto* holder = static_cast<std::shared_ptr<HiredisConnection>*>(privdata);
    std::shared_ptr<HiredisConnection> self = std::move(*holder);
    delete holder;
    self->on_cleanup();
  }

  void on_cleanup() {
    std::string reason = failure_;
    if (reason.empty()) {
      reason = (ac_->err != 0 && ac_->errstr != nullptr) ? ac_->errstr : "connection closed";
    }
    // No hook may reach us after this point.
    ac_->ev = {};
    ac_ = nullptr;
    const bool was_ready = ready_;
    live_ = false;
    ready_ = false;
    want_read_ = want_write_ = false;
    // Cancels the pending waits (their handlers see live_ == false) and leaves the fd to hiredis.
    if (fd_.is_open()) fd_.release();
    connect_timer_.cancel();
    on_ready = nullptr;
    on_push = nullptr;
    auto down = std::move(on_down);
    on_down = nullptr;
    if (down && !closed_by_us_) down(reason, was_ready);
  }

  void arm_read() {
    if (read_armed_ || !live_ || !fd_.is_open()) return;
    read_armed_ = true;
    fd_.async_wait(asio::posix::stream_descriptor::wait_read,
                   [self = shared_from_this()](const boost::system::error_code& ec) {
                     self->read_armed_ = false;
                     if (ec || !self->live_ || !self->want_read_) return;
                     redisAsyncHandleRead(self->ac_);
                     // hiredis re-adds reads itself; this covers paths where it leaves the flag set silently.
                     if (self->live_ && self->want_read_) self->arm_read();
                   });
  }

  void arm_write() {
    if (write_armed_ || !live_ || !fd_.is_open()) return;
    write_armed_ = true;
    fd_.async_wait(asio::posix::stream_descriptor::wait_write,
                   [self = shared_from_this()](const boost::system::error_code& ec) {
                     self->write_armed_ = false;
                     if (ec || !self->live_ || !self->want_write_) return;
                     // While connect(2) is still in progress hiredis returns without re-adding the write.
                     redisAsyncHandleWrite(self->ac_);
                     if (self->live_ && self->want_write_) self->arm_write();
                   });
  }

  // --- reply callbacks (C, called by hiredis; exceptions must not cross them) ---
  static void on_reply(redisAsyncContext* ac, void* reply, void* privdata) {
    std::unique_ptr<ReplyHandler> handler(static_cast<ReplyHandler*>(privdata));
    Errc gone = Errc::unavailable;
    if (reply == nullptr) {
      if (auto* self = owner_of(ac); self != nullptr && self->closed_by_us_) gone = Errc::cancelled;
    }
    try {
      (*handler)(static_cast<const redisReply*>(reply), gone);
    } catch (const std::exception& e) {
      module_logger("redis")->error("reply handler failed: {}", e.what());
    } catch (...) {
      module_logger("redis")->error("reply handler failed");
    }
  }

  static void on_push_reply(redisAsyncContext* ac, void* reply, void* /*privdata*/) {
    if (reply == nullptr) return;  // the context is going away
    auto* self = owner_of(ac);
    if (self == nullptr || !self->on_push) return;
    // A copy: the handler may stop the link, which clears on_push while it runs.
    const PushHandler handler = self->on_push;
    try {
      handler(*static_cast<const redisReply*>(reply));
    } catch (const std::exception& e) {
      self->log_->error("subscription handler failed: {}", e.what());
    } catch (...) {
      self->log_->error("subscription handler failed");
    }
  }

  asio::posix::stream_descriptor fd_;  // non-owning: hiredis closes the fd
  asio::steady_timer connect_timer_;
  std::shared_ptr<spdlog::logger> log_;
  redisAsyncContext* ac_ = nullptr;
  std::string failure_;
  bool live_ = false;     // ac_ is valid (cleared by cleanup)
  bool freeing_ = false;  // redisAsyncFree called: send nothing more
  bool ready_ = false;    // handshake done
  bool closed_by_us_ = false;
  bool want_read_ = false, want_write_ = false;
  bool read_armed_ = false, write_armed_ = false;
};

// ---------------------------------------------------------------------------------------------------------
// RedisLink

namespace {

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

bool is_error(const redisReply* reply) {
  return reply != nullptr && reply->type == REDIS_REPLY_ERROR;
}

std::string error_text(const redisReply* reply) {
  return std::string(reply->str, reply->len);
}

}  // namespace

RedisLink::RedisLink(asio::io_context& io, Options options)
    : io_(io),
      options_(std::move(options)),
      log_(module_logger("redis")),
      backoff_(io),
      resolver_(io),
      jitter_(std::random_device{}()) {}

RedisLink::~RedisLink() {
  stop();
}

void RedisLink::start() {
  if (started_) return;
  started_ = true;
  failures_ = 0;
  connect();
}

void RedisLink::stop() {
  started_ = false;
  ++attempt_;
  backoff_.cancel();
  resolver_.cancel();
  if (auto conn = std::move(conn_)) conn->close();
}

bool RedisLink::ready() const {
  return conn_ != nullptr && conn_->ready();
}

bool RedisLink::send(const std::vector<std::string>& args, ReplyHandler handler) {
  if (!ready()) return false;
  return conn_->send(args, std::move(handler));
}

bool RedisLink::subscribe(const std::vector<std::string>& channels) {
  if (!ready()) return false;
  return conn_->subscribe(channels);
}

void RedisLink::connect() {
  if (!started_) return;
  const unsigned attempt = ++attempt_;
  const auto& host = options_.endpoint.host;
  if (is_ip_literal(host)) {
    open(host, attempt);
    return;
  }
  // hiredis would resolve the name with a blocking getaddrinfo on the io thread: resolve here instead.
  resolver_.async_resolve(
      host, std::to_string(options_.endpoint.port),
      [this, attempt, weak = std::weak_ptr<char>(alive_)](const boost::system::error_code& ec,
                                                          asio::ip::tcp::resolver::results_type results) {
        if (weak.expired() || attempt != attempt_ || !started_) return;
        if (ec || results.empty()) {
          schedule_reconnect("cannot resolve " + options_.endpoint.host + ": " +
                             (ec ? ec.message() : std::string("no address")));
          return;
        }
        open(results.begin()->endpoint().address().to_string(), attempt);
      });
}

void RedisLink::open(const std::string& address, unsigned attempt) {
  redisAsyncContext* ac = redisAsyncConnect(address.c_str(), options_.endpoint.port);
  if (ac == nullptr) {
    schedule_reconnect("out of memory");
    return;
  }
  if (ac->err != 0) {
    std::string reason = ac->errstr;
    redisAsyncFree(ac);
    schedule_reconnect(reason);
    return;
  }
  auto conn = std::make_shared<HiredisConnection>(io_, log_);
  conn->on_ready = [this] { connection_ready(); };
  conn->on_down = [this](const std::string& reason, bool was_ready) { connection_down(reason, was_ready); };
  conn->on_push = [this](const redisReply& reply) {
    if (on_push_) on_push_(reply);
  };
  // TCP keepalive so a silently dead peer (no FIN, no RST) is noticed (hiredis: 15 s idle, 3 probes).
  redisEnableKeepAlive(&ac->c);
  conn_ = conn;
  conn->attach(ac);
  if (!conn->live()) return;  // attach failed; cleanup already reported it
  conn->start_connect_timer(options_.connect_timeout);

  // The handshake is pipelined; replies come in order, so PING answering means AUTH and SELECT succeeded.
  // Never HELLO: hiredis 0.14 speaks RESP2 only.
  std::weak_ptr<HiredisConnection> weak = conn;
  auto refuse = [weak](const char* what) {
    return [weak, what](const redisReply* reply, Errc) {
      if (!is_error(reply)) return;
      if (auto c = weak.lock()) c->fail(std::string(what) + " refused: " + error_text(reply));
    };
  };
  const auto& ep = options_.endpoint;
  if (!ep.password.empty()) {
    std::vector<std::string> auth{"AUTH"};
    if (!ep.username.empty()) auth.push_back(ep.username);
    auth.push_back(ep.password);
    conn->send(auth, refuse("AUTH"));
  }
  if (ep.db != 0) conn->send({"SELECT", std::to_string(ep.db)}, refuse("SELECT"));
  conn->send({"PING"}, [weak, attempt, this](const redisReply* reply, Errc) {
    auto c = weak.lock();
    if (!c || reply == nullptr || !c->live()) return;
    if (is_error(reply)) {
      c->fail("PING refused: " + error_text(reply));
      return;
    }
    if (attempt != attempt_) return;
    c->mark_ready();
    if (const auto ready = c->on_ready) ready();  // a copy, as it may close the connection
  });
}

void RedisLink::connection_ready() {
  if (failures_ > 0) {
    log_->info("{}: connected to {}:{} after {} failed attempt(s)", options_.name, options_.endpoint.host,
               options_.endpoint.port, failures_);
  } else {
    log_->info("{}: connected to {}:{}", options_.name, options_.endpoint.host, options_.endpoint.port);
  }
  failures_ = 0;
  if (on_ready_) on_ready_();
}

void RedisLink::connection_down(const std::string& reason, bool was_ready) {
  // Runs inside hiredis' cleanup: only bookkeeping and a timer, never a new context from here.
  conn_.reset();
  schedule_reconnect(reason, was_ready);
}

void RedisLink::schedule_reconnect(const std::string& reason, bool lost) {
  if (!started_) return;
  if (lost) {
    failures_ = 0;
    log_->warn("{}: connection to {}:{} lost: {}; reconnecting", options_.name, options_.endpoint.host,
               options_.endpoint.port, reason);
  } else if (++failures_ == 1 || failures_ % 20 == 0) {
    // The first failure of a streak and then every 20th, so an outage does not flood the log.
    log_->warn("{}: cannot connect to {}:{} ({} attempt(s)): {}", options_.name, options_.endpoint.host,
               options_.endpoint.port, failures_, reason);
  } else {
    log_->debug("{}: attempt {} failed: {}", options_.name, failures_, reason);
  }
  const auto min = std::max<std::int64_t>(1, options_.reconnect_min.count());
  const auto max = std::max<std::int64_t>(min, options_.reconnect_max.count());
  std::int64_t delay = min;
  for (unsigned i = 1; i < failures_ && delay < max; ++i) delay *= 2;  // failures_ == 0: lost, retry soon
  delay = std::min(delay, max);
  // Full jitter over the upper half, so many daemons restarting together do not reconnect in lock step.
  std::uniform_int_distribution<std::int64_t> spread(delay / 2, delay);
  backoff_.expires_after(std::chrono::milliseconds(spread(jitter_)));
  const unsigned attempt = ++attempt_;
  backoff_.async_wait(
      [this, attempt, weak = std::weak_ptr<char>(alive_)](const boost::system::error_code& ec) {
        if (ec || weak.expired() || attempt != attempt_) return;
        connect();
      });
}

}  // namespace ivr::store::detail
