#pragma once
// A server-side WebSocket connection as handlers see it. The implementation (Beast) lives in a .cpp.
// All members must be called from the io_context thread; one read and one write may be in flight at once.

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "ivr/core/errors.hpp"

namespace ivr::net {

struct WebSocketMessage {
  bool binary = false;
  std::string data;
};

class WebSocket {
 public:
  virtual ~WebSocket() = default;
  // Next whole message into `into`, reusing its buffer (the per-frame path: no allocation once it has
  // grown). Errors: closed by peer (boost::beast::websocket::error::closed), timeout, I/O.
  virtual boost::asio::awaitable<Result<void>> read(WebSocketMessage& into) = 0;
  // Next whole message, as a new one.
  boost::asio::awaitable<Result<WebSocketMessage>> read() {
    WebSocketMessage message;
    Result<void> r = co_await read(message);
    if (!r) co_return r.error();
    co_return message;
  }
  virtual boost::asio::awaitable<Result<void>> write_text(std::string_view text) = 0;
  virtual boost::asio::awaitable<Result<void>> write_binary(std::span<const std::uint8_t> data) = 0;
  // Sends a close frame (1000 = normal) and waits briefly for the peer's.
  virtual boost::asio::awaitable<void> close(std::uint16_t code, std::string_view reason) = 0;
  // Per-message deflate negotiated with the peer.
  virtual bool compressed() const = 0;
  // The connection is closed after this long without a byte from the peer (5 minutes unless changed);
  // zero: never. A user that watches the peer's silence itself turns it off, which also spares re-arming
  // a timer on every message read (Beast does it per read: thousands a second on the realtime bridge).
  virtual void set_idle_timeout(std::chrono::milliseconds timeout) = 0;
};

}  // namespace ivr::net
