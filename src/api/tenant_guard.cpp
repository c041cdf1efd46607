#include "ivr/api/tenant_guard.hpp"

#include <cmath>

#include <nlohmann/json.hpp>

#include "ivr/api/json_body.hpp"
#include "ivr/core/ids.hpp"

namespace ivr::api {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool scope_allows(store::TokenScope have, store::TokenScope need) {
  return have == need || have == store::TokenScope::admin;
}

// The body's domain_uuid when the body is a JSON object that has one (other bodies are the handler's
// business: multipart uploads, WAV audio).
std::optional<std::string> body_domain_uuid(const net::HttpRequest& request) {
  if (request.body.empty() || request.body.front() != '{') return std::nullopt;
  const auto type = request.headers.get("content-type");
  if (type && type->find("json") == std::string_view::npos) return std::nullopt;
  const nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
  if (!body.is_object()) return std::nullopt;
  const auto it = body.find("domain_uuid");
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) return std::string("<not a string>");
  return it->get<std::string>();
}

}  // namespace

std::optional<std::string> extract_token(const net::HttpRequest& request) {
  if (auto auth = request.headers.get("authorization")) {
    std::string_view value = trim(*auth);
    constexpr std::string_view kBearer = "bearer ";
    if (value.size() > kBearer.size() && net::iequals(value.substr(0, kBearer.size()), kBearer)) {
      std::string_view token = trim(value.substr(kBearer.size()));
      if (!token.empty()) return std::string(token);
    }
    return std::nullopt;
  }
  if (auto key = request.headers.get("x-api-key")) {
    std::string_view token = trim(*key);
    if (!token.empty()) return std::string(token);
  }
  return std::nullopt;
}

TenantGuard::TenantGuard(store::TokenStore& tokens, store::DomainDirectory& domains,
                         store::RateLimiter* limiter, RateLimitSettings limits, MetricsRegistry& metrics,
                         std::string key_prefix)
    : tokens_(tokens),
      domains_(domains),
      limiter_(limiter),
      limits_(std::move(limits)),
      metrics_(metrics),
      key_prefix_(std::move(key_prefix)),
      log_(module_logger("tenant")) {}

boost::asio::awaitable<TenantGuard::TokenCheck> TenantGuard::authenticate(net::HttpRequest& request,
                                                                          store::TokenScope scope) {
  TokenCheck out;
  auto reject = [&out](Errc code, std::string_view message) {
    out.rejection = api_error(code, message);
    return out;
  };
  const std::optional<std::string> token = extract_token(request);
  if (!token) {
    auto r = reject(Errc::unauthorized,
                    "missing API token: send 'Authorization: Bearer <token>' or "
                    "'X-Api-Key: <token>'");
    r.rejection->headers.set("WWW-Authenticate", "Bearer");
    co_return r;
  }
  Result<std::optional<store::TokenRecord>> record = co_await tokens_.find_by_hash(sha256_hex(*token));
  if (!record) {
    log_->warn("{} token lookup failed: {}", LogContext{request.request_id, {}, {}},
               record.error().message());
    co_return reject(Errc::unavailable, "the token store is unavailable; retry shortly");
  }
  if (!record->has_value() || (*record)->revoked) {
    auto r = reject(Errc::unauthorized, "invalid or revoked API token");
    r.rejection->headers.set("WWW-Authenticate", "Bearer error=\"invalid_token\"");
    co_return r;
  }
  if (!scope_allows((*record)->scope, scope)) {
    co_return reject(Errc::forbidden,
                     "this route needs a token of scope '" + std::string(store::to_string(scope)) + "'");
  }
  out.token = std::move(**record);
  co_return out;
}

boost::asio::awaitable<AuthOutcome> TenantGuard::admit(net::HttpRequest& request, store::TokenScope scope) {
  AuthOutcome out;
  auto reject = [&out](Errc code, std::string_view message) {
    out.rejection = api_error(code, message);
    return out;
  };

  // 1. Authentication.
  TokenCheck checked = co_await authenticate(request, scope);
  if (checked.rejection) {
    out.rejection = std::move(checked.rejection);
    co_return out;
  }
  const store::TokenRecord& tok = *checked.token;

  // 2. Tenant.
  std::optional<std::string> header_uuid;
  if (auto h = request.headers.get("x-domain-uuid")) header_uuid = std::string(trim(*h));
  std::optional<std::string> body_uuid = body_domain_uuid(request);
  if (!header_uuid && !body_uuid) {
    co_return reject(Errc::invalid_domain_uuid, "missing X-Domain-UUID header (the FusionPBX domain_uuid)");
  }
  std::optional<std::string> uuid;
  if (header_uuid) {
    uuid = normalize_uuid(*header_uuid);
    if (!uuid) co_return reject(Errc::invalid_domain_uuid, "X-Domain-UUID is not a valid UUID");
  }
  if (body_uuid) {
    std::optional<std::string> from_body = normalize_uuid(*body_uuid);
    if (!from_body) co_return reject(Errc::invalid_domain_uuid, "body domain_uuid is not a valid UUID");
    if (uuid && *uuid != *from_body) {
      co_return reject(Errc::domain_mismatch, "body domain_uuid differs from the X-Domain-UUID header");
    }
    uuid = from_body;
  }
  if (tok.domain_uuid && *tok.domain_uuid != *uuid) {
    co_return reject(Errc::forbidden, "this token is bound to another domain");
  }
  Result<std::optional<store::Domain>> domain = co_await domains_.find(*uuid);
  if (!domain) {
    log_->warn("{} domain lookup failed: {}", LogContext{request.request_id, *uuid, {}},
               domain.error().message());
    co_return reject(Errc::unavailable, "the domain directory is unavailable; retry shortly");
  }
  if (!domain->has_value() || !(*domain)->enabled) {
    co_return reject(Errc::unknown_domain, "unknown or disabled domain");
  }

  // 3. Rate limit.
  if (auto limited = co_await check_rate(**domain)) {
    out.rejection = std::move(*limited);
    co_return out;
  }
  out.request.emplace(TenantRequest{request, std::move(**domain), tok});
  co_return out;
}

boost::asio::awaitable<std::optional<net::HttpResponse>> TenantGuard::check_rate(
    const store::Domain& domain) {
  if (limiter_ == nullptr || !limits_.enabled) co_return std::nullopt;
  const double per_second = domain.rate_limit_per_second.value_or(limits_.requests_per_second);
  const double burst = domain.rate_limit_burst.value_or(limits_.burst);
  Result<store::RateDecision> decision =
      co_await limiter_->acquire(key_prefix_ + "rate:" + domain.uuid, per_second, burst);
  if (!decision) {
    metrics_.counter("ivr_rate_limit_errors_total", "Rate-limit checks that could not reach Redis").inc();
    if (limits_.on_redis_error == "allow") co_return std::nullopt;
    log_->warn("{} rate limiter unavailable: {}", LogContext{{}, domain.uuid, {}},
               decision.error().message());
    co_return api_error(Errc::unavailable, "the rate limiter is unavailable; retry shortly");
  }
  if (decision->allowed) co_return std::nullopt;
  metrics_.counter("ivr_rate_limit_rejections_total", "Requests refused by the per-domain rate limit").inc();
  const auto retry_after = static_cast<long>(std::max(1.0, std::ceil(decision->retry_after_seconds)));
  net::HttpResponse response = api_error(Errc::rate_limited, "too many requests for this domain");
  response.headers.set("Retry-After", std::to_string(retry_after));
  co_return response;
}

net::Handler TenantGuard::wrap(store::TokenScope scope, TenantHandler handler) {
  return [this, scope, handler = std::move(handler)](
             net::HttpRequest& request) -> boost::asio::awaitable<net::HttpResponse> {
    AuthOutcome outcome = co_await admit(request, scope);
    if (outcome.rejection) co_return std::move(*outcome.rejection);
    co_return co_await handler(*outcome.request);
  };
}

}  // namespace ivr::api
