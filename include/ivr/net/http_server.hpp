#pragma once
// The HTTP/1.1 + WebSocket server on the io_context (Beast). One coroutine per connection, keep-alive,
// pipelined requests answered in order, limits from ServerConfig, per-route body limits from the Router.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "ivr/core/errors.hpp"
#include "ivr/net/http_types.hpp"
#include "ivr/net/router.hpp"

namespace boost::asio {
class io_context;
}

namespace ivr::net {

struct ServerConfig {
  std::string address = "127.0.0.1";
  std::uint16_t port = 8100;  // 0 = ephemeral (tests)
  std::size_t max_connections = 1024;
  std::size_t max_header_bytes = 16 * 1024;        // larger → 431
  std::chrono::milliseconds read_timeout{10'000};  // a request must arrive whole within this
  std::chrono::milliseconds idle_timeout{60'000};  // keep-alive connection with no request
  std::chrono::milliseconds write_timeout{30'000};
  bool reuse_port = true;  // SO_REUSEPORT: several processes may share the port
};

// Called once per finished request (access log, metrics); runs on the io thread.
struct RequestObserver {
  virtual ~RequestObserver() = default;
  virtual void on_request(const HttpRequest& request, const HttpResponse& response,
                          std::chrono::nanoseconds elapsed) = 0;
  virtual void on_connection_count(std::size_t open) = 0;
};

class HttpServer {
 public:
  // `router` and `observer` (may be null) must outlive the server.
  HttpServer(boost::asio::io_context& io, const Router& router, ServerConfig config,
             RequestObserver* observer = nullptr);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens; errors (address in use…) are returned, not thrown. Then accepts in the background.
  Result<void> start();
  // The bound port (useful with port 0).
  std::uint16_t port() const;
  // Stops accepting, asks idle keep-alive connections to close, waits up to `drain` for in-flight
  // requests and WebSocket sessions, then closes whatever is left.
  boost::asio::awaitable<void> shutdown(std::chrono::milliseconds drain);
  std::size_t open_connections() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ivr::net
