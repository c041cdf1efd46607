// The HTTP/1.1 + WebSocket server (Beast). The only translation unit of the server that includes Beast:
// the session coroutine, the request pipeline and the WebSocket implementation all live here.
//
// Shape (after Beast's server-flex-awaitable example): one accept loop, one coroutine per connection that
// reads a request, answers it, and only then reads the next one (so pipelined requests stay buffered and
// are answered in order). Every connection is registered in the shared State so shutdown can find it.

#include "ivr/net/http_server.hpp"

#include <algorithm>
#include <exception>
#include <limits>
#include <list>
#include <optional>
#include <utility>

#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detail/socket_option.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "ivr/core/ids.hpp"
#include "ivr/core/logging.hpp"
#include "ivr/net/websocket.hpp"
#include "url_decode.hpp"

namespace ivr::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr auto kUseAwaitable = asio::use_awaitable;
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kWebSocketMessageMax = 1024 * 1024;
// After an error answer the client may still be sending (a body we refused, the rest of a huge header):
// keep reading and discarding for a moment so closing does not reset the connection before the client
// has read our answer.
constexpr std::chrono::milliseconds kLingerTime{1000};
constexpr std::size_t kLingerBytes = 1024 * 1024;
// How long shutdown waits, after force-closing, for the session coroutines to notice and finish.
constexpr std::chrono::milliseconds kForceCloseGrace{1000};

// One open connection. Owned by its session coroutine; listed in State while open.
struct Connection {
  explicit Connection(tcp::socket socket) : stream(std::move(socket)) {}
  beast::tcp_stream stream;
  bool idle = false;  // waiting for the first byte of a request: safe to cancel at shutdown
  std::list<Connection*>::iterator position;
};

// Shared by the server object and its coroutines, so a session that outlives the HttpServer (it is
// being force-closed) never touches freed memory.
struct State {
  State(asio::io_context& io, const Router& r, ServerConfig c, RequestObserver* o)
      : io(io), router(r), config(std::move(c)), observer(o), acceptor(io) {}

  asio::io_context& io;
  const Router& router;
  const ServerConfig config;
  RequestObserver* observer;
  tcp::acceptor acceptor;
  std::uint16_t port = 0;
  bool stopping = false;
  std::list<Connection*> connections;
  asio::steady_timer* drain_waiter = nullptr;  // woken when the last connection closes
  std::shared_ptr<spdlog::logger> log = module_logger("http");

  void add(Connection* c) {
    c->position = connections.insert(connections.end(), c);
    if (observer) observer->on_connection_count(connections.size());
  }
  void remove(Connection* c) {
    connections.erase(c->position);
    if (observer) observer->on_connection_count(connections.size());
    if (connections.empty() && drain_waiter) drain_waiter->cancel();
  }
  void force_close_all() {
    for (Connection* c : connections) {
      beast::error_code ignored;
      c->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      c->stream.close();
    }
  }
};

// ---------------------------------------------------------------------------------------------------------
// WebSocket

using WsStream = websocket::stream<beast::tcp_stream&>;

class BeastWebSocket final : public WebSocket {
 public:
  BeastWebSocket(WsStream& ws, bool compressed) : ws_(ws), compressed_(compressed) {}

  asio::awaitable<Result<void>> read(WebSocketMessage& into) override {
    into.data.clear();
    auto buffer = asio::dynamic_buffer(into.data);
    auto [ec, n] = co_await ws_.async_read(buffer, kAsTuple);
    if (ec) co_return ec;
    into.binary = ws_.got_binary();
    co_return Result<void>{};
  }

  void set_idle_timeout(std::chrono::milliseconds timeout) override {
    websocket::stream_base::timeout options{};
    ws_.get_option(options);
    options.idle_timeout = timeout.count() > 0
                               ? std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout)
                               : websocket::stream_base::none();
    ws_.set_option(options);
  }

  asio::awaitable<Result<void>> write_text(std::string_view text) override {
    ws_.text(true);
    auto [ec, n] = co_await ws_.async_write(asio::buffer(text.data(), text.size()), kAsTuple);
    if (ec) co_return ec;
    co_return Result<void>{};
  }

  asio::awaitable<Result<void>> write_binary(std::span<const std::uint8_t> data) override {
    ws_.binary(true);
    auto [ec, n] = co_await ws_.async_write(asio::buffer(data.data(), data.size()), kAsTuple);
    if (ec) co_return ec;
    co_return Result<void>{};
  }

  asio::awaitable<void> close(std::uint16_t code, std::string_view reason) override {
    if (!ws_.is_open()) co_return;
    // The close handshake is bounded by the handshake timeout: make it brief.
    websocket::stream_base::timeout timeouts{};
    ws_.get_option(timeouts);
    timeouts.handshake_timeout = std::chrono::seconds(5);
    ws_.set_option(timeouts);
    websocket::close_reason why(static_cast<websocket::close_code>(code),
                                beast::string_view(reason.data(), reason.size()));
    auto [ec] = co_await ws_.async_close(why, kAsTuple);
    (void)ec;  // the peer may already be gone; nothing more to do either way
  }

  bool compressed() const override { return compressed_; }

 private:
  WsStream& ws_;
  bool compressed_;
};

// ---------------------------------------------------------------------------------------------------------
// Request pipeline helpers

std::string media_type(std::string_view content_type) {
  const std::size_t semi = content_type.find(';');
  std::string_view type = content_type.substr(0, semi);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  return std::string(type);
}

bool content_type_accepted(const RouteOptions& options, std::string_view content_type) {
  if (options.content_types.empty()) return true;
  const std::string type = media_type(content_type);
  return std::any_of(options.content_types.begin(), options.content_types.end(),
                     [&type](const std::string& accepted) { return iequals(media_type(accepted), type); });
}

bool is_parse_error(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

HttpResponse server_error(Errc code, std::string_view message) {
  return error_response(static_cast<int>(code), message);
}

// What the session does with the connection after a response.
enum class After { keep_alive, close, linger_close };

class Session {
 public:
  Session(std::shared_ptr<State> state, std::unique_ptr<Connection> conn)
      : state_(std::move(state)), conn_(std::move(conn)), stream_(conn_->stream) {}

  asio::awaitable<void> run() {
    struct Unregister {
      State& state;
      Connection* conn;
      ~Unregister() { state.remove(conn); }
    } unregister{*state_, conn_.get()};

    beast::error_code ec;
    const auto endpoint = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_address_ = endpoint.address().to_string();

    bool first = true;
    for (;;) {
      if (buffer_.size() == 0) {
        if (state_->stopping) break;
        // Idle: no byte of the next request yet. A new connection gets the (shorter) read timeout.
        conn_->idle = true;
        stream_.expires_after(first ? state_->config.read_timeout : state_->config.idle_timeout);
        auto [read_ec, n] = co_await stream_.async_read_some(buffer_.prepare(4096), kAsTuple);
        conn_->idle = false;
        if (read_ec) break;  // closed by the peer, idle timeout, or shutdown
        buffer_.commit(n);
      }
      first = false;
      const After after = co_await serve_one();
      if (after == After::keep_alive) continue;
      co_await close_connection(after == After::linger_close);
      break;
    }
  }

 private:
  // Reads, routes and answers one request whose first bytes are already in `buffer_`.
  asio::awaitable<After> serve_one() {
    const auto started = Clock::now();
    HttpRequest request;
    request.remote_address = remote_address_;

    http::request_parser<http::empty_body> header_parser;
    header_parser.header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(state_->config.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
    header_parser.body_limit(boost::none);  // checked against the route's limit below
    // The whole request (header and body) must arrive within read_timeout of its first byte.
    stream_.expires_after(state_->config.read_timeout);
    auto [header_ec, header_n] = co_await http::async_read_header(stream_, buffer_, header_parser, kAsTuple);
    if (header_ec) {
      request.request_id = new_request_id();
      if (header_ec == http::error::header_limit) {
        co_return co_await answer_error(
            request, server_error(Errc::header_too_large, "request header too large"), started);
      }
      if (is_parse_error(header_ec)) {
        state_->log->debug("{} malformed request from {}: {}", LogContext{request.request_id, {}, {}},
                           remote_address_, header_ec.message());
        co_return co_await answer_error(request, server_error(Errc::bad_request, "malformed HTTP request"),
                                        started);
      }
      // Connection lost, shut down, or too slow (slow loris): tcp_stream closes the socket when its expiry
      // passes, so there is no way to send a 408 and nothing to do but close.
      co_return After::close;
    }

    auto& header = header_parser.get();
    request.method = std::string(header.method_string());
    request.target = std::string(header.target());
    for (const auto& field : header) {
      request.headers.add(std::string_view(field.name_string()), std::string_view(field.value()));
    }
    const auto client_id = request.headers.get("X-Request-Id");
    request.request_id =
        client_id && is_acceptable_request_id(*client_id) ? std::string(*client_id) : new_request_id();
    version_ = header.version();
    head_ = request.method == "HEAD";
    keep_alive_ = header.keep_alive();
    const bool has_body =
        header_parser.chunked() || (header_parser.content_length() && *header_parser.content_length() > 0);
    // Any answer given without reading a body must close the connection: the unread body would otherwise
    // be taken for the next request.
    const After refuse = has_body ? After::linger_close : After::close;
    const auto answer_early = [&](HttpResponse response) {
      keep_alive_ = keep_alive_ && !has_body;
      return response;
    };

    const std::string_view target = request.target;
    const std::size_t question = target.find('?');
    const std::string_view raw_path = target.substr(0, question);
    if (question != std::string_view::npos) request.query = std::string(target.substr(question + 1));
    auto decoded_path = detail::percent_decode(raw_path, false);
    if (raw_path.empty() || raw_path.front() != '/' || !decoded_path) {
      co_return co_await answer_error(request, server_error(Errc::bad_request, "invalid request target"),
                                      started);
    }
    request.path = std::move(*decoded_path);

    RouteMatch match = state_->router.match(request.method, request.path);
    if (match.kind == RouteMatch::Kind::not_found) {
      HttpResponse response = answer_early(server_error(Errc::not_found, "no such route"));
      co_return co_await finish(request, response, started, refuse);
    }
    if (match.kind == RouteMatch::Kind::method_not_allowed) {
      HttpResponse response = answer_early(server_error(Errc::method_not_allowed, "method not allowed"));
      response.headers.set("Allow", match.allow);
      co_return co_await finish(request, response, started, refuse);
    }
    const Route& route = *match.route;
    request.route_pattern = route.pattern;
    request.path_params = std::move(match.params);

    if (route.is_websocket()) {
      if (!websocket::is_upgrade(header)) {
        HttpResponse response = answer_early(
            HttpResponse::error(426, "upgrade_required", "this endpoint needs a WebSocket upgrade"));
        response.headers.set("Upgrade", "websocket");
        co_return co_await finish(request, response, started, refuse);
      }
      co_await run_websocket(route, request, header, started);
      co_return After::close;
    }

    const auto content_length = header_parser.content_length();
    if (content_length && *content_length > route.options.max_body_bytes) {
      co_return co_await answer_error(
          request, server_error(Errc::payload_too_large, "request body too large"), started, refuse);
    }
    if (has_body && !content_type_accepted(route.options, request.headers.get("Content-Type").value_or(""))) {
      co_return co_await answer_error(
          request, server_error(Errc::unsupported_media_type, "unsupported content type"), started, refuse);
    }

    if (has_body) {
      if (const auto expect = request.headers.get("Expect"); expect && iequals(*expect, "100-continue")) {
        http::response<http::empty_body> interim{http::status::continue_, version_};
        stream_.expires_after(state_->config.write_timeout);
        auto [ec, n] = co_await http::async_write(stream_, interim, kAsTuple);
        if (ec) co_return After::close;
        stream_.expires_after(state_->config.read_timeout);
      }
      http::request_parser<http::string_body> body_parser(std::move(header_parser));
      body_parser.body_limit(route.options.max_body_bytes);
      auto [body_ec, body_n] = co_await http::async_read(stream_, buffer_, body_parser, kAsTuple);
      if (body_ec == http::error::body_limit) {
        co_return co_await answer_error(request,
                                        server_error(Errc::payload_too_large, "request body too large"),
                                        started, After::linger_close);
      }
      if (body_ec && is_parse_error(body_ec)) {
        co_return co_await answer_error(request, server_error(Errc::bad_request, "malformed request body"),
                                        started);
      }
      if (body_ec) co_return After::close;  // lost, or too slow (the expiry closed the socket)
      request.body = std::move(body_parser.get().body());
    }

    HttpResponse response;
    try {
      response = co_await route.handler(request);
    } catch (const std::exception& e) {
      state_->log->error("{} {} {} handler failed: {}", LogContext{request.request_id, {}, {}},
                         request.method, route.pattern, e.what());
      response = server_error(Errc::internal, "internal error");
    } catch (...) {
      state_->log->error("{} {} {} handler failed with a non-standard exception",
                         LogContext{request.request_id, {}, {}}, request.method, route.pattern);
      response = server_error(Errc::internal, "internal error");
    }
    co_return co_await finish(request, response, started, After::close);
  }

  // An answer after which the connection closes (the request was not, or not wholly, read).
  asio::awaitable<After> answer_error(HttpRequest& request, HttpResponse response, Clock::time_point started,
                                      After after = After::linger_close) {
    keep_alive_ = false;
    co_return co_await finish(request, response, started, after);
  }

  // Writes `response`, reports it, and says what to do with the connection. `when_closing` is used when
  // the connection does not stay open (close, or linger when input may be left unread).
  asio::awaitable<After> finish(HttpRequest& request, HttpResponse& response, Clock::time_point started,
                                After when_closing) {
    const bool keep_alive = keep_alive_ && !state_->stopping;
    http::response<http::string_body> res;
    res.version(version_);
    res.result(static_cast<unsigned>(response.status));
    for (const auto& field : response.headers.fields()) {
      if (iequals(field.name, "Content-Length") || iequals(field.name, "Connection") ||
          iequals(field.name, "Transfer-Encoding") || iequals(field.name, "X-Request-Id")) {
        continue;  // framing and the request id belong to the server
      }
      res.insert(beast::string_view(field.name.data(), field.name.size()),
                 beast::string_view(field.value.data(), field.value.size()));
    }
    res.set("X-Request-Id", request.request_id);
    const bool no_body_allowed = response.status == 204 || response.status == 304 || response.status < 200;
    if (!no_body_allowed) {
      if (!head_) res.body() = response.body;
      res.content_length(response.body.size());
    }
    res.keep_alive(keep_alive);

    stream_.expires_after(state_->config.write_timeout);
    auto [ec, n] = co_await http::async_write(stream_, res, kAsTuple);
    if (state_->observer) state_->observer->on_request(request, response, Clock::now() - started);
    if (ec) co_return After::close;
    co_return keep_alive ? After::keep_alive : when_closing;
  }

  asio::awaitable<void> close_connection(bool linger) {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (linger && !ec && !state_->stopping) {
      // Discard what the client is still sending until it closes, within bounds.
      stream_.expires_after(kLingerTime);
      std::size_t discarded = 0;
      while (discarded < kLingerBytes) {
        buffer_.clear();
        auto [read_ec, n] = co_await stream_.async_read_some(buffer_.prepare(16 * 1024), kAsTuple);
        if (read_ec) break;
        discarded += n;
      }
    }
    stream_.close();
  }

  asio::awaitable<void> run_websocket(const Route& route, HttpRequest& request,
                                      const http::request<http::empty_body>& header,
                                      Clock::time_point started) {
    if (route.upgrade_check) {
      std::optional<HttpResponse> rejection;
      try {
        rejection = co_await route.upgrade_check(request);
      } catch (const std::exception& e) {
        state_->log->error("{} upgrade check for {} failed: {}", LogContext{request.request_id, {}, {}},
                           route.pattern, e.what());
        rejection = server_error(Errc::internal, "internal error");
      }
      if (rejection) {
        keep_alive_ = false;
        const After after = co_await finish(request, *rejection, started, After::close);
        (void)after;
        co_await close_connection(false);
        co_return;
      }
    }

    WsStream ws(stream_);
    // The WebSocket stream has its own timeouts; the TCP stream's would cut long sessions.
    stream_.expires_never();
    ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    websocket::permessage_deflate pmd;
    pmd.server_enable = true;
    ws.set_option(pmd);
    ws.read_message_max(kWebSocketMessageMax);
    // The decorator runs after the extension answer is built, so it sees what was negotiated.
    bool deflate = false;
    bool* deflate_out = &deflate;
    const std::string request_id = request.request_id;
    const auto decorate = [deflate_out, request_id](websocket::response_type& res) {
      res.set("X-Request-Id", request_id);
      const auto extensions = res[http::field::sec_websocket_extensions];
      *deflate_out = extensions.find("permessage-deflate") != beast::string_view::npos;
    };
    ws.set_option(websocket::stream_base::decorator(decorate));
    conn_->idle = false;

    auto [accept_ec] = co_await ws.async_accept(header, kAsTuple);
    if (accept_ec) {
      state_->log->debug("{} WebSocket handshake failed: {}", LogContext{request.request_id, {}, {}},
                         accept_ec.message());
      stream_.close();
      co_return;
    }
    if (state_->observer) {
      HttpResponse switching;
      switching.status = 101;
      state_->observer->on_request(request, switching, Clock::now() - started);
    }

    BeastWebSocket socket(ws, deflate);
    try {
      co_await route.websocket_handler(request, socket);
    } catch (const std::exception& e) {
      state_->log->error("{} WebSocket handler for {} failed: {}", LogContext{request.request_id, {}, {}},
                         route.pattern, e.what());
    } catch (...) {
      state_->log->error("{} WebSocket handler for {} failed", LogContext{request.request_id, {}, {}},
                         route.pattern);
    }
    if (ws.is_open()) {
      co_await socket.close(static_cast<std::uint16_t>(websocket::close_code::normal), "");
    }
    stream_.close();
  }

  std::shared_ptr<State> state_;
  std::unique_ptr<Connection> conn_;
  beast::tcp_stream& stream_;
  beast::flat_buffer buffer_;
  std::string remote_address_;
  unsigned version_ = 11;
  bool head_ = false;
  bool keep_alive_ = true;
};

asio::awaitable<void> run_session(std::shared_ptr<State> state, std::unique_ptr<Connection> conn) {
  Session session(std::move(state), std::move(conn));
  co_await session.run();
}

// Beyond max_connections: a canned 503 written without waiting (it fits the socket buffer), then close.
void refuse_connection(tcp::socket& socket) {
  static constexpr std::string_view kBody =
      R"({"error":{"code":"unavailable","message":"too many connections"}})";
  static const std::string kResponse =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(kBody.size()) + "\r\nConnection: close\r\n\r\n" + std::string(kBody);
  beast::error_code ec;
  socket.non_blocking(true, ec);
  if (!ec) socket.write_some(asio::buffer(kResponse), ec);
  socket.shutdown(tcp::socket::shutdown_send, ec);
  socket.close(ec);
}

asio::awaitable<void> accept_loop(std::shared_ptr<State> state) {
  for (;;) {
    auto [ec, socket] = co_await state->acceptor.async_accept(kAsTuple);
    if (state->stopping || ec == asio::error::operation_aborted) break;
    if (ec) {
      // Out of descriptors and the like: back off briefly instead of spinning.
      state->log->warn("accept failed: {}", ec.message());
      asio::steady_timer pause(state->io, std::chrono::milliseconds(100));
      auto [wait_ec] = co_await pause.async_wait(kAsTuple);
      (void)wait_ec;
      continue;
    }
    if (state->connections.size() >= state->config.max_connections) {
      state->log->warn("refusing a connection: {} open (max_connections)", state->connections.size());
      refuse_connection(socket);
      continue;
    }
    // Audio frames and streamAudio messages are small and latency-bound: with Nagle, a frame written while
    // the previous one awaits its (delayed) ACK waits up to one frame period for nothing.
    boost::system::error_code nodelay_ec;
    socket.set_option(asio::ip::tcp::no_delay(true), nodelay_ec);
    auto conn = std::make_unique<Connection>(std::move(socket));
    state->add(conn.get());  // counted now, so the limit holds even before the session starts
    const auto log = state->log;
    const auto on_done = [log](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log->error("connection ended with an exception: {}", ex.what());
      } catch (...) {
        log->error("connection ended with an unknown exception");
      }
    };
    asio::co_spawn(state->io, run_session(state, std::move(conn)), on_done);
  }
}

}  // namespace

class HttpServer::Impl {
 public:
  Impl(asio::io_context& io, const Router& router, ServerConfig config, RequestObserver* observer)
      : state_(std::make_shared<State>(io, router, std::move(config), observer)) {}

  ~Impl() {
    // Sessions may outlive us by a moment (they keep State alive); they must not call the observer.
    state_->observer = nullptr;
    state_->stopping = true;
    beast::error_code ec;
    state_->acceptor.close(ec);
    state_->force_close_all();
  }

  Result<void> start() {
    State& s = *state_;
    if (s.acceptor.is_open()) return make_error_code(Errc::conflict);
    beast::error_code ec;
    const auto address = asio::ip::make_address(s.config.address, ec);
    if (ec) return ec;
    const tcp::endpoint endpoint(address, s.config.port);
    s.acceptor.open(endpoint.protocol(), ec);
    if (ec) return ec;
    s.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec && s.config.reuse_port) {
      s.acceptor.set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true), ec);
    }
    if (!ec) s.acceptor.bind(endpoint, ec);
    if (!ec) s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) s.port = s.acceptor.local_endpoint(ec).port();
    if (ec) {
      beast::error_code ignored;
      s.acceptor.close(ignored);
      return ec;
    }
    const auto log = s.log;
    const auto on_done = [log](std::exception_ptr e) {
      if (e) log->error("accept loop ended with an exception");
    };
    asio::co_spawn(s.io, accept_loop(state_), on_done);
    return {};
  }

  asio::awaitable<void> shutdown(std::chrono::milliseconds drain) {
    State& s = *state_;
    s.stopping = true;
    beast::error_code ec;
    s.acceptor.close(ec);
    // Idle keep-alive connections have nothing in flight: end them now. Busy ones close after their response.
    for (Connection* c : s.connections) {
      if (c->idle) c->stream.cancel();
    }
    co_await wait_for_connections(drain);
    if (!s.connections.empty()) {
      s.log->warn("shutdown: force-closing {} connection(s) after the drain period", s.connections.size());
      s.force_close_all();
      co_await wait_for_connections(kForceCloseGrace);
    }
  }

  std::uint16_t port() const { return state_->port; }
  std::size_t open_connections() const { return state_->connections.size(); }

 private:
  asio::awaitable<void> wait_for_connections(std::chrono::milliseconds limit) {
    State& s = *state_;
    if (s.connections.empty()) co_return;
    asio::steady_timer timer(s.io, limit);
    struct Waiter {
      State& state;
      ~Waiter() { state.drain_waiter = nullptr; }
    } waiter{s};
    s.drain_waiter = &timer;
    auto [ec] = co_await timer.async_wait(kAsTuple);
    (void)ec;  // cancelled when the last connection closed, or the limit passed
  }

  std::shared_ptr<State> state_;
};

HttpServer::HttpServer(asio::io_context& io, const Router& router, ServerConfig config,
                       RequestObserver* observer)
    : impl_(std::make_unique<Impl>(io, router, std::move(config), observer)) {}

HttpServer::~HttpServer() = default;

Result<void> HttpServer::start() {
  return impl_->start();
}

std::uint16_t HttpServer::port() const {
  return impl_->port();
}

asio::awaitable<void> HttpServer::shutdown(std::chrono::milliseconds drain) {
  return impl_->shutdown(drain);
}

std::size_t HttpServer::open_connections() const {
  return impl_->open_connections();
}

}  // namespace ivr::net
