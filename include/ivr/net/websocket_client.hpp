#pragma once
// Outbound WebSocket connections (ws:// and wss://) for realtime provider adapters. Beast + OpenSSL live in
// src/net/websocket_client.cpp only.
//
// A WebSocketConnector is built once (composition root) and owns the TLS context: the system trust store,
// plus an optional extra CA file; certificates and host names (SNI + verification) are checked unless a
// connection asks otherwise (tests). connect() returns one WebSocketClient per connection.
//
// Threading: io thread only (the connector's io_context). On one client, one coroutine may read while any
// number of others send: sends go into a bounded queue drained by the client's own writer, so a send never
// waits on the network. Pings from the peer are answered while a read is pending (Beast does it); with
// `idle_timeout` set, the client also pings an idle peer and gives up when nothing arrives for that long.
//
// Errors are our codes (ivr::Errc), with Beast/Asio details logged at debug by module_logger("net"):
//  - connect(): unavailable (DNS, refused, TLS, reset), timeout (connect_timeout over resolve + TCP + TLS +
//    upgrade), unauthorized (upgrade answered 401/403), rate_limited (429), upstream_error (any other
//    refused upgrade; connect()'s `handshake_status` tells which), config_invalid (URL not ws/wss, or
//    unparseable), cancelled.
//  - read(): unavailable (peer closed, normally or not: close_code() says how; connection lost), timeout
//    (deadline or idle timeout), cancelled (we closed it), payload_too_large (message over the limit).
//  - send_*(): unavailable once the connection is gone.
// Secrets in headers are never logged.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "ivr/core/errors.hpp"
#include "ivr/net/websocket.hpp"

namespace boost::asio {
class io_context;
}

namespace ivr::net {

struct WebSocketClientOptions {
  std::string url;                                           // ws://host[:port]/path?query or wss://…
  std::vector<std::pair<std::string, std::string>> headers;  // extra handshake headers (Authorization, …)
  std::chrono::milliseconds connect_timeout{10'000};         // resolve + TCP + TLS + upgrade, in total
  bool verify_tls = true;                                    // false only for tests / private endpoints
  // 0 = none. Otherwise: ping the peer after idle_timeout/2 to 3/4 of silence, fail reads (timeout) after
  // idle_timeout to 5/4 of it. Anything from the peer (a message, a pong) counts.
  std::chrono::milliseconds idle_timeout{0};
  std::size_t max_message_bytes = 16 * 1024 * 1024;  // a larger incoming message fails the read
  // Bound on bytes waiting to be written. Droppable messages (audio) are dropped oldest first to stay
  // under it; other messages are always queued.
  std::size_t max_queued_bytes = 1024 * 1024;
  std::string log_context;  // prefixed to log lines (e.g. "[call=…] openai realtime")
};

class WebSocketClient {
 public:
  class Impl;
  explicit WebSocketClient(std::shared_ptr<Impl> impl);  // made by WebSocketConnector::connect()
  ~WebSocketClient();  // closes the socket abruptly if still open (call close() for a clean close)
  WebSocketClient(const WebSocketClient&) = delete;
  WebSocketClient& operator=(const WebSocketClient&) = delete;

  // The next whole message. `into` is reused (its capacity is kept), so a reader loop does not allocate
  // per message once warmed up. Only one read at a time.
  boost::asio::awaitable<Result<void>> read(WebSocketMessage& into);
  boost::asio::awaitable<Result<WebSocketMessage>> read();

  // Queue a message (see the header comment); returns at once. `droppable` marks data that may be dropped
  // under back-pressure (oldest first). Errors: unavailable once the connection is closed or failed.
  Result<void> send_text(std::string message, bool droppable = false);
  Result<void> send_binary(std::string message, bool droppable = false);
  // An empty string with spare capacity from messages already written (avoids an allocation per frame).
  std::string take_buffer();

  // A deadline for everything in flight and to come (reads, writes) until expires_never(): on expiry the
  // connection is closed and operations fail with Errc::timeout. Used to bound session set-up.
  void expires_after(std::chrono::milliseconds d);
  void expires_never();

  // Waits (bounded by 5 s) for queued messages to be written, sends a close frame with `code` and waits
  // briefly for the peer's. Idempotent; a pending read() completes with Errc::cancelled.
  boost::asio::awaitable<void> close(std::uint16_t code = 1000, std::string_view reason = {});

  bool is_open() const;
  // The peer's close code once it closed the connection (0 otherwise).
  std::uint16_t close_code() const;
  std::size_t dropped_messages() const;  // droppable messages dropped so far
  std::size_t queued_bytes() const;

 private:
  std::shared_ptr<Impl> impl_;
};

struct WebSocketConnectorSettings {
  std::string extra_ca_file;  // PEM file trusted in addition to the system store (empty = none)
};

class WebSocketConnector {
 public:
  explicit WebSocketConnector(boost::asio::io_context& io, WebSocketConnectorSettings settings = {});
  ~WebSocketConnector();
  WebSocketConnector(const WebSocketConnector&) = delete;
  WebSocketConnector& operator=(const WebSocketConnector&) = delete;

  // Errors: see the header comment. On an upgrade refused with an HTTP status, `*handshake_status` (when
  // given) receives it.
  boost::asio::awaitable<Result<std::unique_ptr<WebSocketClient>>> connect(WebSocketClientOptions options,
                                                                           int* handshake_status = nullptr);

  boost::asio::io_context& io() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ivr::net
