// Outbound WebSocket client (Beast + OpenSSL). The only translation unit that includes Beast's client side.
//
// Shape: one stream per connection owned by a shared Impl; a writer coroutine drains the send queue (Beast
// allows one write in flight), the caller's coroutine reads. The Impl is shared with the writer and with
// any pending operation, so destroying the WebSocketClient while a read is pending is safe: the socket is
// closed and the operations finish on their own.
//
// Idle timeout: not Beast's. Beast re-arms its idle timer at every read (a timer cancel, a stale handler
// and a new wait per message: measurable at 50 provider events per second per call), so a watchdog checks
// an activity counter four times per idle_timeout instead: a ping (through the writer, which also owns
// the close) after half of it in silence, and the connection is given up after all of it. Any message or
// control frame from the peer counts as activity.

#include "ivr/net/websocket_client.hpp"

#include <algorithm>
#include <deque>
#include <exception>
#include <optional>
#include <tuple>
#include <utility>

#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include "ivr/core/logging.hpp"

namespace ivr::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::chrono::seconds kCloseTimeout{5};
constexpr std::size_t kSpareBuffers = 8;

using PlainWs = websocket::stream<beast::tcp_stream>;
using TlsWs = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

std::shared_ptr<spdlog::logger> net_log() {
  static const auto log = module_logger("net");
  return log;
}

Errc connect_error(const boost::system::error_code& ec) {
  if (ec == beast::error::timeout) return Errc::timeout;
  if (ec == asio::error::operation_aborted) return Errc::cancelled;
  return Errc::unavailable;
}

Errc status_error(int status) {
  if (status == 401 || status == 403) return Errc::unauthorized;
  if (status == 429) return Errc::rate_limited;
  return Errc::upstream_error;
}

// "<context> " for log lines, or nothing.
std::string log_prefix(const WebSocketClientOptions& o) {
  return o.log_context.empty() ? std::string() : o.log_context + " ";
}

struct Outgoing {
  std::string data;
  bool binary = false;
  bool droppable = false;
  bool ping = false;  // a keep-alive ping, not a message
};

}  // namespace

// The state shared by the client object, its writer and pending operations; the stream lives in the
// derived BasicImpl (plain or TLS).
class WebSocketClient::Impl {
 public:
  Impl(asio::any_io_executor ex, const WebSocketClientOptions& o)
      : wake_(ex),
        watchdog_(ex),
        idle_timeout_(o.idle_timeout),
        max_queued_bytes_(o.max_queued_bytes),
        log_context_(log_prefix(o)) {}
  virtual ~Impl() = default;

  virtual asio::awaitable<Result<void>> read(WebSocketMessage& into) = 0;
  virtual asio::awaitable<void> close(std::uint16_t code, std::string_view reason) = 0;
  virtual void expires_after(std::chrono::milliseconds d) = 0;
  virtual void expires_never() = 0;
  virtual void abort() = 0;

  Result<void> send(std::string message, bool binary, bool droppable) {
    if (!open_ || closing_) return make_error_code(Errc::unavailable);
    const std::size_t size = message.size();
    if (droppable && queued_bytes_ + size > max_queued_bytes_) {
      // Drop the oldest droppable messages still waiting (the one being written is no longer queued).
      for (auto it = queue_.begin(); it != queue_.end() && queued_bytes_ + size > max_queued_bytes_;) {
        if (!it->droppable) {
          ++it;
          continue;
        }
        queued_bytes_ -= it->data.size();
        recycle(std::move(it->data));
        it = queue_.erase(it);
        count_drop();
      }
      if (queued_bytes_ + size > max_queued_bytes_) {
        recycle(std::move(message));
        count_drop();
        return {};
      }
    }
    queued_bytes_ += size;
    queue_.push_back(Outgoing{std::move(message), binary, droppable});
    wake_writer();
    return {};
  }

  // Only a parked writer needs waking: a busy one finds the message when its write completes.
  void wake_writer() {
    if (writer_parked_) wake_.cancel();
  }

  std::string take_buffer() {
    if (spare_.empty()) return {};
    std::string s = std::move(spare_.back());
    spare_.pop_back();
    s.clear();
    return s;
  }

  void recycle(std::string&& s) {
    if (spare_.size() < kSpareBuffers && s.capacity() > 0) spare_.push_back(std::move(s));
  }

  void count_drop() {
    ++dropped_;
    // Rate-limited: the first drop, then every 500th.
    if (dropped_ == 1 || dropped_ % 500 == 0) {
      net_log()->warn("{}WebSocket send queue full: dropped {} message(s) so far", log_context_, dropped_);
    }
  }

  bool open_ = false;
  bool closing_ = false;       // close() started: no more sends
  bool closed_by_us_ = false;  // our close or abort: reads end with cancelled
  bool writer_running_ = false;
  bool writer_parked_ = false;  // the writer waits on wake_
  bool timed_out_ = false;      // the watchdog gave up on a silent peer
  std::uint64_t activity_ = 0;  // messages and control frames received
  std::uint16_t peer_close_code_ = 0;
  std::deque<Outgoing> queue_;
  std::size_t queued_bytes_ = 0;
  std::size_t dropped_ = 0;
  std::vector<std::string> spare_;
  asio::steady_timer wake_;                    // the writer sleeps here while the queue is empty
  asio::steady_timer watchdog_;                // idle checks (idle_timeout_ > 0)
  std::optional<asio::steady_timer> drained_;  // close() waits here for the writer to finish
  std::chrono::milliseconds idle_timeout_;
  std::size_t max_queued_bytes_;
  std::string log_context_;
};

namespace {

template <class Ws>
class BasicImpl final : public WebSocketClient::Impl, public std::enable_shared_from_this<BasicImpl<Ws>> {
 public:
  template <class... StreamArgs>
  BasicImpl(asio::any_io_executor ex, const WebSocketClientOptions& o, StreamArgs&&... args)
      : Impl(ex, o), ws_(std::forward<StreamArgs>(args)...) {}

  Ws& ws() { return ws_; }

  void start_writer() {
    open_ = true;
    writer_running_ = true;
    auto self = this->shared_from_this();
    const auto on_done = [self](std::exception_ptr) {
      self->writer_running_ = false;
      if (self->drained_) self->drained_->cancel();
    };
    asio::co_spawn(ws_.get_executor(), writer(self), on_done);
    if (idle_timeout_.count() > 0) {
      const auto control = [impl = this](websocket::frame_type, beast::string_view) { ++impl->activity_; };
      ws_.control_callback(control);
      asio::co_spawn(ws_.get_executor(), watchdog(self), [](std::exception_ptr) {});
    }
  }

  asio::awaitable<Result<void>> read(WebSocketMessage& into) override {
    if (!open_) co_return make_error_code(closed_by_us_ ? Errc::cancelled : Errc::unavailable);
    into.data.clear();
    auto buffer = asio::dynamic_buffer(into.data);
    auto [ec, n] = co_await ws_.async_read(buffer, kAsTuple);
    if (!ec) {
      ++activity_;
      into.binary = ws_.got_binary();
      co_return Result<void>{};
    }
    co_return fail(ec, "read");
  }

  void expires_after(std::chrono::milliseconds d) override { beast::get_lowest_layer(ws_).expires_after(d); }
  void expires_never() override { beast::get_lowest_layer(ws_).expires_never(); }

  asio::awaitable<void> close(std::uint16_t code, std::string_view reason) override {
    if (closing_ || closed_by_us_) co_return;
    closing_ = true;
    auto self = this->shared_from_this();  // keep alive across the waits below
    if (!open_) {
      abort();
      co_return;
    }
    // Let the writer drain what was queued before the close frame (bounded: the peer may not read).
    wake_.cancel();
    watchdog_.cancel();
    if (writer_running_) {
      drained_.emplace(ws_.get_executor());
      drained_->expires_after(kCloseTimeout);
      co_await drained_->async_wait(kAsTuple);
      drained_.reset();
    }
    closed_by_us_ = true;
    if (open_ && ws_.is_open()) {
      websocket::stream_base::timeout timeouts{};
      ws_.get_option(timeouts);
      timeouts.handshake_timeout = kCloseTimeout;
      ws_.set_option(timeouts);
      websocket::close_reason why(static_cast<websocket::close_code>(code),
                                  beast::string_view(reason.data(), reason.size()));
      auto [ec] = co_await ws_.async_close(why, kAsTuple);
      if (ec) net_log()->debug("{}WebSocket close: {}", log_context_, ec.message());
    }
    open_ = false;
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

  void abort() override {
    closed_by_us_ = true;
    closing_ = true;
    open_ = false;
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
    wake_.cancel();
    watchdog_.cancel();
  }

 private:
  // Marks the connection failed and maps the error (see the header).
  boost::system::error_code fail(const boost::system::error_code& ec, std::string_view what) {
    const bool was_open = open_;
    open_ = false;
    wake_.cancel();
    watchdog_.cancel();
    if (timed_out_) {
      net_log()->debug("{}WebSocket peer silent for {} ms: given up", log_context_, idle_timeout_.count());
      return make_error_code(Errc::timeout);
    }
    if (ec == websocket::error::closed) {
      peer_close_code_ = static_cast<std::uint16_t>(ws_.reason().code);
      net_log()->debug("{}WebSocket closed by peer (code {})", log_context_, peer_close_code_);
      return make_error_code(closed_by_us_ ? Errc::cancelled : Errc::unavailable);
    }
    if (closed_by_us_) return make_error_code(Errc::cancelled);
    if (was_open) net_log()->debug("{}WebSocket {} failed: {}", log_context_, what, ec.message());
    if (ec == beast::error::timeout) return make_error_code(Errc::timeout);
    if (ec == websocket::error::message_too_big) return make_error_code(Errc::payload_too_large);
    if (ec == asio::error::operation_aborted) return make_error_code(Errc::cancelled);
    return make_error_code(Errc::unavailable);
  }

  static asio::awaitable<void> writer(std::shared_ptr<BasicImpl> self) {
    for (;;) {
      while (self->open_ && !self->queue_.empty()) {
        Outgoing m = std::move(self->queue_.front());
        self->queue_.pop_front();
        self->queued_bytes_ -= m.data.size();
        boost::system::error_code ec;
        if (m.ping) {
          std::tie(ec) = co_await self->ws_.async_ping({}, kAsTuple);
        } else {
          self->ws_.binary(m.binary);
          std::tie(ec, std::ignore) = co_await self->ws_.async_write(asio::buffer(m.data), kAsTuple);
        }
        self->recycle(std::move(m.data));
        if (ec) {
          // The connection is unusable: refuse further sends; the pending read fails on its own.
          if (self->open_ && !self->closed_by_us_) {
            net_log()->debug("{}WebSocket write failed: {}", self->log_context_, ec.message());
          }
          self->open_ = false;
          co_return;
        }
      }
      if (!self->open_ || self->closing_) co_return;
      self->wake_.expires_at(asio::steady_timer::time_point::max());
      self->writer_parked_ = true;
      co_await self->wake_.async_wait(kAsTuple);
      self->writer_parked_ = false;
    }
  }

  // See the file comment: checks every quarter of idle_timeout; pings after two quiet quarters, gives up
  // after four (so after idle_timeout to 1.25 × idle_timeout of silence).
  static asio::awaitable<void> watchdog(std::shared_ptr<BasicImpl> self) {
    const auto quarter = std::max(std::chrono::milliseconds(1), self->idle_timeout_ / 4);
    std::uint64_t seen = self->activity_;
    int quiet = 0;
    for (;;) {
      self->watchdog_.expires_after(quarter);
      auto [ec] = co_await self->watchdog_.async_wait(kAsTuple);
      if (ec || !self->open_ || self->closing_) co_return;
      if (self->activity_ != seen) {
        seen = self->activity_;
        quiet = 0;
        continue;
      }
      ++quiet;
      if (quiet == 2) {
        self->queue_.push_back(Outgoing{std::string(), false, false, true});
        self->wake_writer();
      } else if (quiet >= 4) {
        // The pending read fails and fail() reports the timeout.
        self->timed_out_ = true;
        beast::error_code ignored;
        beast::get_lowest_layer(self->ws_).socket().close(ignored);
        co_return;
      }
    }
  }

  Ws ws_;
};

struct ParsedUrl {
  bool tls = false;
  std::string host;  // without brackets
  std::string port;
  std::string host_header;
  std::string target;
};

std::optional<ParsedUrl> parse_ws_url(std::string_view text) {
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) return std::nullopt;
  const boost::urls::url_view& u = *parsed;
  ParsedUrl out;
  const std::string scheme(u.scheme());
  if (scheme == "wss") {
    out.tls = true;
  } else if (scheme != "ws") {
    return std::nullopt;
  }
  out.host = std::string(u.host_address());
  if (out.host.empty()) return std::nullopt;
  const std::string default_port = out.tls ? "443" : "80";
  out.port = u.has_port() ? std::string(u.port()) : default_port;
  out.host_header = std::string(u.encoded_host_and_port());
  out.target = std::string(u.encoded_path());
  if (out.target.empty()) out.target = "/";
  if (u.has_query()) out.target += "?" + std::string(u.encoded_query());
  return out;
}

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------

WebSocketClient::WebSocketClient(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

WebSocketClient::~WebSocketClient() {
  if (impl_ && !impl_->closed_by_us_) impl_->abort();
}

asio::awaitable<Result<void>> WebSocketClient::read(WebSocketMessage& into) {
  auto impl = impl_;  // the frame keeps the state alive if the client is destroyed meanwhile
  co_return co_await impl->read(into);
}

asio::awaitable<Result<WebSocketMessage>> WebSocketClient::read() {
  auto impl = impl_;
  WebSocketMessage message;
  auto r = co_await impl->read(message);
  if (!r) co_return r.error();
  co_return message;
}

Result<void> WebSocketClient::send_text(std::string message, bool droppable) {
  return impl_->send(std::move(message), false, droppable);
}

Result<void> WebSocketClient::send_binary(std::string message, bool droppable) {
  return impl_->send(std::move(message), true, droppable);
}

std::string WebSocketClient::take_buffer() {
  return impl_->take_buffer();
}

void WebSocketClient::expires_after(std::chrono::milliseconds d) {
  impl_->expires_after(d);
}

void WebSocketClient::expires_never() {
  impl_->expires_never();
}

asio::awaitable<void> WebSocketClient::close(std::uint16_t code, std::string_view reason) {
  auto impl = impl_;
  co_await impl->close(code, reason);
}

bool WebSocketClient::is_open() const {
  return impl_->open_ && !impl_->closing_;
}

std::uint16_t WebSocketClient::close_code() const {
  return impl_->peer_close_code_;
}

std::size_t WebSocketClient::dropped_messages() const {
  return impl_->dropped_;
}

std::size_t WebSocketClient::queued_bytes() const {
  return impl_->queued_bytes_;
}

// ---------------------------------------------------------------------------------------------------------

class WebSocketConnector::Impl {
 public:
  Impl(asio::io_context& io, WebSocketConnectorSettings settings)
      : io(io), settings(std::move(settings)), tls(ssl::context::tls_client) {
    tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                    ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    boost::system::error_code ec;
    tls.set_default_verify_paths(ec);
    if (ec) net_log()->warn("WebSocket TLS: cannot load the system trust store: {}", ec.message());
    if (!this->settings.extra_ca_file.empty()) {
      tls.load_verify_file(this->settings.extra_ca_file, ec);
      if (ec) {
        net_log()->warn("WebSocket TLS: cannot load CA file {}: {}", this->settings.extra_ca_file,
                        ec.message());
      }
    }
  }

  // Upgrades an already connected stream (TCP, TLS) and hands the client over.
  template <class Ws>
  asio::awaitable<Result<std::unique_ptr<WebSocketClient>>> upgrade(std::shared_ptr<BasicImpl<Ws>> impl,
                                                                    const WebSocketClientOptions& options,
                                                                    const ParsedUrl& url, int* status) {
    Ws& ws = impl->ws();
    auto headers = options.headers;
    const auto decorate = [headers](websocket::request_type& req) {
      req.set(http::field::user_agent, "voice-ai-ivr");
      for (const auto& [name, value] : headers) req.set(name, value);
    };
    ws.set_option(websocket::stream_base::decorator(decorate));
    ws.read_message_max(options.max_message_bytes);
    websocket::response_type response;
    auto [ec] = co_await ws.async_handshake(response, url.host_header, url.target, kAsTuple);
    if (ec) {
      if (ec == websocket::error::upgrade_declined) {
        const int code = static_cast<int>(response.result_int());
        if (status) *status = code;
        net_log()->warn("{}WebSocket upgrade to {} refused: HTTP {}", log_prefix(options), url.host_header,
                        code);
        co_return make_error_code(status_error(code));
      }
      net_log()->warn("{}WebSocket handshake with {} failed: {}", log_prefix(options), url.host_header,
                      ec.message());
      // A server that answers the upgrade with something that is not a WebSocket handshake is up but
      // refusing; connection-level failures stay `unavailable`.
      const bool protocol_error = ec.category() == make_error_code(websocket::error::bad_sec_key).category();
      co_return make_error_code(protocol_error ? Errc::upstream_error : connect_error(ec));
    }
    // Set-up is over: the WebSocket's own timeouts take over from the TCP deadline.
    beast::get_lowest_layer(ws).expires_never();
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = kCloseTimeout;
    timeouts.idle_timeout = websocket::stream_base::none();  // the client's watchdog does it
    timeouts.keep_alive_pings = false;
    ws.set_option(timeouts);
    impl->start_writer();
    co_return std::make_unique<WebSocketClient>(std::move(impl));
  }

  asio::io_context& io;
  WebSocketConnectorSettings settings;
  ssl::context tls;
};

WebSocketConnector::WebSocketConnector(asio::io_context& io, WebSocketConnectorSettings settings)
    : impl_(std::make_unique<Impl>(io, std::move(settings))) {}

WebSocketConnector::~WebSocketConnector() = default;

asio::io_context& WebSocketConnector::io() const {
  return impl_->io;
}

namespace {
void set_no_delay(asio::ip::tcp::socket& socket) {
  boost::system::error_code ignored;
  socket.set_option(asio::ip::tcp::no_delay(true), ignored);
}
}  // namespace

asio::awaitable<Result<std::unique_ptr<WebSocketClient>>> WebSocketConnector::connect(
    WebSocketClientOptions options, int* handshake_status) {
  if (handshake_status) *handshake_status = 0;
  const auto url = parse_ws_url(options.url);
  if (!url) {
    net_log()->warn("{}WebSocket URL is not ws:// or wss://", log_prefix(options));
    co_return make_error_code(Errc::config_invalid);
  }
  auto ex = co_await asio::this_coro::executor;
  const auto deadline = std::chrono::steady_clock::now() + options.connect_timeout;

  // Resolve, bounded by the same deadline (the resolver has no timeout of its own).
  tcp::resolver resolver(ex);
  asio::steady_timer watchdog(ex);
  bool resolve_timed_out = false;
  watchdog.expires_at(deadline);
  const auto on_watchdog = [&resolver, &resolve_timed_out](boost::system::error_code ec) {
    if (ec) return;  // cancelled: the coroutine moved on (its locals may be gone: touch nothing)
    resolve_timed_out = true;
    resolver.cancel();
  };
  watchdog.async_wait(on_watchdog);
  auto [rec, endpoints] = co_await resolver.async_resolve(url->host, url->port, kAsTuple);
  watchdog.cancel();
  if (rec) {
    net_log()->warn("{}WebSocket: cannot resolve {}: {}", log_prefix(options), url->host, rec.message());
    co_return make_error_code(resolve_timed_out ? Errc::timeout : connect_error(rec));
  }
  const auto remaining = [deadline] {
    return std::max(std::chrono::steady_clock::duration::zero(), deadline - std::chrono::steady_clock::now());
  };

  if (!url->tls) {
    auto impl = std::make_shared<BasicImpl<PlainWs>>(ex, options, ex);
    auto& tcp_stream = beast::get_lowest_layer(impl->ws());
    tcp_stream.expires_after(remaining());  // covers connect and the upgrade
    auto [cec, ep] = co_await tcp_stream.async_connect(endpoints, kAsTuple);
    if (cec) {
      net_log()->warn("{}WebSocket: cannot connect to {}: {}", log_prefix(options), url->host_header,
                      cec.message());
      co_return make_error_code(connect_error(cec));
    }
    set_no_delay(tcp_stream.socket());  // provider audio events are small and latency-bound
    co_return co_await impl_->upgrade(std::move(impl), options, *url, handshake_status);
  }

  auto impl = std::make_shared<BasicImpl<TlsWs>>(ex, options, ex, impl_->tls);
  auto& tls_stream = impl->ws().next_layer();
  auto& tcp_stream = beast::get_lowest_layer(impl->ws());
  tcp_stream.expires_after(remaining());  // covers connect, TLS and the upgrade
  auto [cec, ep] = co_await tcp_stream.async_connect(endpoints, kAsTuple);
  if (cec) {
    net_log()->warn("{}WebSocket: cannot connect to {}: {}", log_prefix(options), url->host_header,
                    cec.message());
    co_return make_error_code(connect_error(cec));
  }
  set_no_delay(tcp_stream.socket());
  if (!is_ip_literal(url->host)) {
    // SNI: virtual hosts (and most CDNs) need it to pick the certificate.
    SSL_set_tlsext_host_name(tls_stream.native_handle(), url->host.c_str());
  }
  if (options.verify_tls) {
    tls_stream.set_verify_mode(ssl::verify_peer);
    tls_stream.set_verify_callback(ssl::host_name_verification(url->host));
  } else {
    tls_stream.set_verify_mode(ssl::verify_none);
  }
  auto [tec] = co_await tls_stream.async_handshake(ssl::stream_base::client, kAsTuple);
  if (tec) {
    net_log()->warn("{}WebSocket: TLS with {} failed: {}", log_prefix(options), url->host_header,
                    tec.message());
    co_return make_error_code(connect_error(tec));
  }
  co_return co_await impl_->upgrade(std::move(impl), options, *url, handshake_status);
}

}  // namespace ivr::net
