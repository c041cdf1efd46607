#include "ivr/net/router.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <utility>

namespace ivr::net {
namespace {

// Splits "/a/b/c" into {"a","b","c"}; "/" gives no segments. nullopt when `path` does not start with '/'.
std::optional<std::vector<std::string_view>> split_path(std::string_view path) {
  if (path.empty() || path.front() != '/') return std::nullopt;
  std::vector<std::string_view> segments;
  if (path.size() == 1) return segments;
  std::string_view rest = path.substr(1);
  for (;;) {
    const std::size_t slash = rest.find('/');
    segments.push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  return segments;
}

bool is_param(std::string_view segment) noexcept {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

bool is_name_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool is_token_char(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

// Validates `pattern` and returns its shape: literals as written, every parameter as "{}", so that
// "/calls/{a}" and "/calls/{b}" are recognised as the same route.
std::string validate_pattern(std::string_view pattern) {
  const auto segments = split_path(pattern);
  if (!segments) throw std::invalid_argument("route pattern must start with '/': " + std::string(pattern));
  std::vector<std::string_view> names;
  std::string shape;
  for (const std::string_view segment : *segments) {
    if (segment.empty())
      throw std::invalid_argument("empty segment in route pattern: " + std::string(pattern));
    shape += '/';
    if (is_param(segment)) {
      const std::string_view name = segment.substr(1, segment.size() - 2);
      if (name.empty() || !std::all_of(name.begin(), name.end(), is_name_char)) {
        throw std::invalid_argument("bad parameter name in route pattern: " + std::string(pattern));
      }
      if (std::find(names.begin(), names.end(), name) != names.end()) {
        throw std::invalid_argument("repeated parameter in route pattern: " + std::string(pattern));
      }
      names.push_back(name);
      shape += "{}";
    } else {
      if (segment.find_first_of("{}") != std::string_view::npos) {
        throw std::invalid_argument("parameters must be whole segments: " + std::string(pattern));
      }
      shape += segment;
    }
  }
  return shape.empty() ? std::string("/") : shape;
}

std::string normalize_method(std::string method) {
  if (method.empty()) throw std::invalid_argument("empty HTTP method");
  for (char& c : method) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (!is_token_char(c)) throw std::invalid_argument("bad HTTP method: " + method);
  }
  return method;
}

// Matches `segments` against `pattern`. On success returns, per segment, whether it was a literal (used
// to rank matches: a literal beats a parameter at the first position where two matches differ).
std::optional<std::vector<bool>> match_pattern(std::string_view pattern,
                                               const std::vector<std::string_view>& segments,
                                               std::map<std::string, std::string, std::less<>>* params) {
  const auto pattern_segments = split_path(pattern);
  if (!pattern_segments || pattern_segments->size() != segments.size()) return std::nullopt;
  std::vector<bool> literal(segments.size());
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const std::string_view p = (*pattern_segments)[i];
    if (is_param(p)) {
      if (segments[i].empty()) return std::nullopt;  // a parameter is never empty
      if (params) params->emplace(std::string(p.substr(1, p.size() - 2)), std::string(segments[i]));
      literal[i] = false;
    } else {
      if (p != segments[i]) return std::nullopt;
      literal[i] = true;
    }
  }
  return literal;
}

// Allow lists in a familiar order; unusual methods go last, alphabetically.
std::string format_allow(std::vector<std::string> methods) {
  static constexpr std::array<std::string_view, 7> kOrder = {"GET",   "HEAD",   "POST",   "PUT",
                                                             "PATCH", "DELETE", "OPTIONS"};
  const auto rank = [](const std::string& m) {
    const auto it = std::find(kOrder.begin(), kOrder.end(), m);
    return static_cast<std::size_t>(it - kOrder.begin());
  };
  std::sort(methods.begin(), methods.end(), [&rank](const std::string& a, const std::string& b) {
    const auto ra = rank(a);
    const auto rb = rank(b);
    return ra != rb ? ra < rb : a < b;
  });
  methods.erase(std::unique(methods.begin(), methods.end()), methods.end());
  std::string out;
  for (const std::string& m : methods) {
    if (!out.empty()) out += ", ";
    out += m;
  }
  return out;
}

}  // namespace

void Router::add(std::string method, std::string pattern, Handler handler, RouteOptions options) {
  method = normalize_method(std::move(method));
  const std::string shape = validate_pattern(pattern);
  for (const auto& existing : routes_) {
    if (existing->method == method && validate_pattern(existing->pattern) == shape) {
      throw std::invalid_argument("duplicate route: " + method + " " + pattern);
    }
  }
  auto route = std::make_unique<Route>();
  route->method = std::move(method);
  route->pattern = std::move(pattern);
  route->options = std::move(options);
  route->handler = std::move(handler);
  routes_.push_back(std::move(route));
}

void Router::add_websocket(std::string pattern, WebSocketHandler handler, UpgradeCheck check,
                           RouteOptions options) {
  if (!handler) throw std::invalid_argument("WebSocket route without a handler: " + pattern);
  add("GET", std::move(pattern), Handler{}, std::move(options));
  Route& route = *routes_.back();
  route.websocket_handler = std::move(handler);
  route.upgrade_check = std::move(check);
}

RouteMatch Router::match(std::string_view method, std::string_view path) const {
  RouteMatch result;
  const auto segments = split_path(path);
  if (!segments) return result;

  const bool head = method == "HEAD";
  const Route* best = nullptr;
  std::vector<bool> best_rank;
  bool best_is_exact_method = false;
  std::vector<std::string> allowed;
  for (const auto& route : routes_) {
    auto rank = match_pattern(route->pattern, *segments, nullptr);
    if (!rank) continue;
    allowed.push_back(route->method);
    if (route->method == "GET") allowed.emplace_back("HEAD");
    const bool exact = route->method == method;
    if (!exact && !(head && route->method == "GET")) continue;
    // An explicit HEAD route beats GET-as-HEAD; otherwise the more literal pattern wins.
    const bool better =
        !best || (exact && !best_is_exact_method) ||
        (exact == best_is_exact_method &&
         std::lexicographical_compare(best_rank.begin(), best_rank.end(), rank->begin(), rank->end()));
    if (better) {
      best = route.get();
      best_rank = std::move(*rank);
      best_is_exact_method = exact;
    }
  }
  if (best) {
    result.kind = RouteMatch::Kind::found;
    result.route = best;
    match_pattern(best->pattern, *segments, &result.params);
    return result;
  }
  if (!allowed.empty()) {
    result.kind = RouteMatch::Kind::method_not_allowed;
    result.allow = format_allow(std::move(allowed));
  }
  return result;
}

}  // namespace ivr::net
