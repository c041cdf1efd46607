#pragma once
// Routes by method and path pattern ("/calls/{call_uuid}/end"); path parameters are whole segments.
// Built once at start-up, then read-only: safe to match from any thread.

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "ivr/net/http_types.hpp"

namespace ivr::net {

class WebSocket;

using Handler = std::function<boost::asio::awaitable<HttpResponse>(HttpRequest&)>;

// Runs before a WebSocket upgrade (auth, tenant checks). Returning a response rejects the upgrade with it.
using UpgradeCheck = std::function<boost::asio::awaitable<std::optional<HttpResponse>>(HttpRequest&)>;
// Owns the socket for the life of the connection; returns when the session is over.
using WebSocketHandler = std::function<boost::asio::awaitable<void>(HttpRequest&, WebSocket&)>;

struct RouteOptions {
  std::size_t max_body_bytes = 64 * 1024;  // larger bodies get 413 before they are read
  // Accepted media types of the body (compared without parameters); empty accepts any. A request with a
  // body whose Content-Type is not listed gets 415.
  std::vector<std::string> content_types;
};

struct Route {
  std::string method;
  std::string pattern;
  RouteOptions options;
  Handler handler;                     // HTTP routes
  UpgradeCheck upgrade_check;          // WebSocket routes (optional)
  WebSocketHandler websocket_handler;  // WebSocket routes
  bool is_websocket() const { return static_cast<bool>(websocket_handler); }
};

struct RouteMatch {
  enum class Kind { found, not_found, method_not_allowed } kind = Kind::not_found;
  const Route* route = nullptr;
  std::map<std::string, std::string, std::less<>> params;
  std::string allow;  // for method_not_allowed: "GET, POST"
};

class Router {
 public:
  // Throws std::invalid_argument for a malformed pattern or a duplicate (method, pattern).
  void add(std::string method, std::string pattern, Handler handler, RouteOptions options = {});
  void add_websocket(std::string pattern, WebSocketHandler handler, UpgradeCheck check = {},
                     RouteOptions options = {});

  // `path` is the decoded path without query. HEAD matches GET routes.
  RouteMatch match(std::string_view method, std::string_view path) const;

  const std::vector<std::unique_ptr<Route>>& routes() const { return routes_; }

 private:
  std::vector<std::unique_ptr<Route>> routes_;
};

}  // namespace ivr::net
