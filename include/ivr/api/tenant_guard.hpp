#pragma once
// The middleware every tenant route goes through, in this order:
//   1. auth:   token from "Authorization: Bearer <t>" or "X-Api-Key: <t>" (mod_curl cannot send a header
//              value with a space) → 401 when missing/unknown/revoked; wrong scope → 403.
//   2. tenant: X-Domain-UUID (or body domain_uuid; both must match) → 400 invalid_domain_uuid when
//              malformed, 404 unknown_domain when unknown or disabled, 403 when the token is bound to
//              another domain, 503 when the directory cannot be reached.
//   3. limit:  per-domain token bucket in Redis → 429 with Retry-After.
// Scopes: an admin token may also call call-scope routes; a call token may not call admin routes.

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "ivr/core/config.hpp"
#include "ivr/core/logging.hpp"
#include "ivr/core/metrics.hpp"
#include "ivr/net/router.hpp"
#include "ivr/store/redis.hpp"
#include "ivr/store/repositories.hpp"

namespace ivr::api {

struct TenantRequest {
  net::HttpRequest& http;
  store::Domain domain;
  store::TokenRecord token;

  LogContext log_context() const { return {http.request_id, domain.uuid, {}}; }
};

using TenantHandler = std::function<boost::asio::awaitable<net::HttpResponse>(TenantRequest&)>;

struct AuthOutcome {
  std::optional<TenantRequest> request;  // set when admitted
  std::optional<net::HttpResponse> rejection;
};

class TenantGuard {
 public:
  // All references must outlive the guard. `limiter` may be null (rate limiting off).
  // Rate-limit buckets live under `key_prefix` + "rate:" + domain uuid in Redis.
  TenantGuard(store::TokenStore& tokens, store::DomainDirectory& domains, store::RateLimiter* limiter,
              RateLimitSettings limits, MetricsRegistry& metrics, std::string key_prefix = "ivr:");

  // Wraps a handler with auth, tenant and rate-limit checks.
  net::Handler wrap(store::TokenScope scope, TenantHandler handler);

  // The checks alone (used by WebSocket upgrade checks).
  boost::asio::awaitable<AuthOutcome> admit(net::HttpRequest& request, store::TokenScope scope);

  // Step 1 alone: the token and its scope. For a WebSocket whose tenant only arrives in its first frame
  // (mod_audio_stream's metadata): admit() runs again once the tenant is known.
  struct TokenCheck {
    std::optional<store::TokenRecord> token;
    std::optional<net::HttpResponse> rejection;
  };
  boost::asio::awaitable<TokenCheck> authenticate(net::HttpRequest& request, store::TokenScope scope);

  // SIGHUP: new default limits.
  void set_limits(RateLimitSettings limits) { limits_ = std::move(limits); }

 private:
  boost::asio::awaitable<std::optional<net::HttpResponse>> check_rate(const store::Domain& domain);

  store::TokenStore& tokens_;
  store::DomainDirectory& domains_;
  store::RateLimiter* limiter_;
  RateLimitSettings limits_;
  MetricsRegistry& metrics_;
  std::string key_prefix_;
  std::shared_ptr<spdlog::logger> log_;
};

// Extracts the token from Authorization: Bearer or X-Api-Key; nullopt when absent or malformed.
std::optional<std::string> extract_token(const net::HttpRequest& request);

}  // namespace ivr::api
