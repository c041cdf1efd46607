#pragma once
// Outbound HTTP for every provider adapter: libcurl's multi interface driven by the io_context
// (CURLMOPT_SOCKETFUNCTION + CURLMOPT_TIMERFUNCTION), no thread per request. Call only from the io thread.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "ivr/core/errors.hpp"
#include "ivr/net/http_types.hpp"

namespace boost::asio {
class io_context;
}

namespace ivr::net {

struct ClientRequest {
  std::string method = "GET";
  std::string url;
  Headers headers;
  std::string body;
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds total_timeout{30'000};
  // When set, body bytes are handed over as they arrive (SSE, chunked audio) instead of collected in
  // ClientResponse::body. Called on the io thread; must not block. Returning false aborts the transfer.
  std::function<bool(std::string_view chunk)> on_body_chunk;
  bool verify_tls = true;
  std::size_t max_response_bytes = 64 * 1024 * 1024;  // larger responses fail with payload_too_large
};

struct ClientResponse {
  int status = 0;
  Headers headers;
  std::string body;  // empty when on_body_chunk was set
};

class HttpClient {
 public:
  explicit HttpClient(boost::asio::io_context& io);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Errors: Errc::timeout (connect or total), Errc::unavailable (DNS, connect refused, TLS),
  // Errc::payload_too_large, Errc::cancelled (the awaiting coroutine's cancellation slot fired, e.g. via
  // awaitable_operators ||). HTTP error statuses are NOT errors: check response.status.
  // Proxies come from the environment (http_proxy, https_proxy, no_proxy) as curl reads them.
  boost::asio::awaitable<Result<ClientResponse>> send(ClientRequest request);

  std::size_t in_flight() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ivr::net
