#include "support/local_http_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <exception>
#include <optional>
#include <thread>

namespace ivr::test {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
using Request = http::request<http::string_body>;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

std::optional<std::string> query_value(std::string_view target, std::string_view name) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return std::string(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::size_t query_number(std::string_view target, std::string_view name, std::size_t fallback) {
  const auto value = query_value(target, name);
  return value ? static_cast<std::size_t>(std::stoull(*value)) : fallback;
}

// Absolute-form targets ("http://host/path", sent to proxies) are served like their path.
std::string_view path_of(std::string_view target) {
  if (target.starts_with("http://")) {
    const auto slash = target.find('/', 7);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  return target.substr(0, target.find('?'));
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

}  // namespace

struct LocalHttpServer::Impl {
  std::atomic<std::size_t> started{0};
  std::atomic<std::size_t> active{0};
  std::atomic<std::size_t> peak{0};
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::uint16_t port = 0;
  std::thread thread;

  struct ActiveScope {
    explicit ActiveScope(Impl& impl) : impl(impl) {
      const std::size_t now = ++impl.active;
      std::size_t seen = impl.peak.load();
      while (now > seen && !impl.peak.compare_exchange_weak(seen, now)) {
      }
    }
    ~ActiveScope() { --impl.active; }
    Impl& impl;
  };

  static asio::awaitable<bool> write_response(tcp::socket& socket, const Request& req, http::status status,
                                              std::string body, std::string_view content_type) {
    http::response<http::string_body> res{status, req.version()};
    res.set(http::field::content_type, content_type);
    res.set("X-Server", "local-test");
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    auto [ec, n] = co_await http::async_write(socket, res, kTuple);
    co_return !ec && req.keep_alive();
  }

  static asio::awaitable<bool> write_chunked(tcp::socket& socket, const Request& req, std::size_t chunks,
                                             std::chrono::milliseconds delay, std::size_t bytes) {
    http::response<http::empty_body> res{http::status::ok, req.version()};
    res.set(http::field::content_type, "text/plain");
    res.chunked(true);
    http::response_serializer<http::empty_body> serializer{res};
    if (auto [ec, n] = co_await http::async_write_header(socket, serializer, kTuple); ec) co_return false;
    asio::steady_timer timer(socket.get_executor());
    std::string piece;
    for (std::size_t i = 0; i < chunks; ++i) {
      if (delay.count() > 0) {
        timer.expires_after(delay);
        co_await timer.async_wait(kTuple);
      }
      piece = bytes > 0 ? std::string(bytes, 'x') : "chunk-" + std::to_string(i) + "\n";
      if (auto [ec, n] = co_await asio::async_write(socket, http::make_chunk(asio::buffer(piece)), kTuple);
          ec) {
        co_return false;
      }
    }
    auto [ec, n] = co_await asio::async_write(socket, http::make_chunk_last(), kTuple);
    co_return !ec && req.keep_alive();
  }

  // Returns whether the connection stays open.
  static asio::awaitable<bool> handle(tcp::socket& socket, const Request& req) {
    const std::string_view target = req.target();
    const std::string_view path = path_of(target);
    if (path == "/json") {
      co_return co_await write_response(socket, req, http::status::ok, R"({"ok":true})", "application/json");
    }
    if (path == "/echo") {
      nlohmann::json headers = nlohmann::json::object();
      for (const auto& field : req) headers[lower(field.name_string())] = std::string(field.value());
      const nlohmann::json echo = {{"method", std::string(req.method_string())},
                                   {"target", std::string(target)},
                                   {"headers", headers},
                                   {"body", req.body()}};
      co_return co_await write_response(socket, req, http::status::ok, echo.dump(), "application/json");
    }
    if (path == "/slow") {
      asio::steady_timer timer(socket.get_executor(),
                               std::chrono::milliseconds(query_number(target, "ms", 100)));
      co_await timer.async_wait(kTuple);
      co_return co_await write_response(socket, req, http::status::ok, "slow", "text/plain");
    }
    if (path == "/stream") {
      co_return co_await write_chunked(socket, req, query_number(target, "chunks", 5),
                                       std::chrono::milliseconds(query_number(target, "delay_ms", 50)), 0);
    }
    if (path == "/status/500") {
      co_return co_await write_response(socket, req, http::status::internal_server_error,
                                        R"({"error":"boom"})", "application/json");
    }
    if (path == "/huge") {
      std::string body(query_number(target, "bytes", 1 << 20), 'x');
      co_return co_await write_response(socket, req, http::status::ok, std::move(body),
                                        "application/octet-stream");
    }
    if (path == "/huge-chunked") {
      constexpr std::size_t kPiece = 64 * 1024;
      const std::size_t bytes = query_number(target, "bytes", 1 << 20);
      co_return co_await write_chunked(socket, req, (bytes + kPiece - 1) / kPiece,
                                       std::chrono::milliseconds(0), kPiece);
    }
    if (path == "/continue") {
      static constexpr std::string_view kRaw =
          "HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n"
          "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Final: yes\r\nConnection: close\r\n\r\nok";
      co_await asio::async_write(socket, asio::buffer(kRaw), kTuple);
      co_return false;
    }
    co_return co_await write_response(socket, req, http::status::not_found, "not found", "text/plain");
  }

  asio::awaitable<void> session(tcp::socket socket) {
    boost::beast::flat_buffer buffer;
    for (;;) {
      Request req;
      auto [ec, n] = co_await http::async_read(socket, buffer, req, kTuple);
      if (ec) break;
      ++started;
      const ActiveScope scope(*this);
      if (!co_await handle(socket, req)) break;
    }
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(kTuple);
      if (ec) co_return;
      asio::co_spawn(io, session(std::move(socket)), [](std::exception_ptr) {});
    }
  }
};

LocalHttpServer::LocalHttpServer() : impl_(std::make_unique<Impl>()) {
  const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen();
  impl_->port = impl_->acceptor.local_endpoint().port();
  asio::co_spawn(impl_->io, impl_->accept_loop(), [](std::exception_ptr) {});
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

LocalHttpServer::~LocalHttpServer() {
  impl_->io.stop();
  impl_->thread.join();
}

std::uint16_t LocalHttpServer::port() const {
  return impl_->port;
}

std::string LocalHttpServer::url(std::string_view target) const {
  return "http://127.0.0.1:" + std::to_string(impl_->port) + std::string(target);
}

std::size_t LocalHttpServer::requests_started() const {
  return impl_->started.load();
}
std::size_t LocalHttpServer::peak_concurrency() const {
  return impl_->peak.load();
}

std::uint16_t closed_local_port() {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const std::uint16_t port = acceptor.local_endpoint().port();
  acceptor.close();
  return port;
}

}  // namespace ivr::test
