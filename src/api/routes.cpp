#include "ivr/api/routes.hpp"

#include <nlohmann/json.hpp>

#include "ivr/api/json_body.hpp"

namespace ivr::api {

void register_ops_routes(net::Router& router, OpsDependencies deps) {
  const auto shared = std::make_shared<OpsDependencies>(std::move(deps));

  router.add("GET", "/health", [shared](net::HttpRequest&) -> boost::asio::awaitable<net::HttpResponse> {
    const auto uptime =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - shared->started);
    co_return json_response(
        200, {{"status", "ok"}, {"version", shared->version}, {"uptime_seconds", uptime.count()}});
  });

  router.add("GET", "/ready", [shared](net::HttpRequest&) -> boost::asio::awaitable<net::HttpResponse> {
    const std::string postgres = co_await shared->postgres();
    const std::string redis = co_await shared->redis();
    const bool draining = shared->draining && shared->draining();
    const bool ready = postgres.empty() && redis.empty() && !draining;
    nlohmann::json body = {{"status", ready ? "ready" : (draining ? "draining" : "unavailable")},
                           {"postgres", postgres.empty() ? "ok" : postgres},
                           {"redis", redis.empty() ? "ok" : redis}};
    co_return json_response(ready ? 200 : 503, body);
  });

  router.add("GET", "/metrics", [shared](net::HttpRequest&) -> boost::asio::awaitable<net::HttpResponse> {
    co_return net::HttpResponse::text(200, shared->metrics.render(),
                                      "text/plain; version=0.0.4; charset=utf-8");
  });
}

void register_tenant_routes(net::Router& router, TenantGuard& guard, const RateLimitSettings& limits) {
  const RateLimitSettings defaults = limits;
  router.add("GET", "/domain",
             guard.wrap(store::TokenScope::call,
                        [defaults](TenantRequest& request) -> boost::asio::awaitable<net::HttpResponse> {
                          const store::Domain& d = request.domain;
                          nlohmann::json body = {{"domain_uuid", d.uuid},
                                                 {"domain_name", d.name},
                                                 {"enabled", d.enabled},
                                                 {"token_scope", store::to_string(request.token.scope)},
                                                 {"rate_limit",
                                                  {{"requests_per_second", d.rate_limit_per_second.value_or(
                                                                               defaults.requests_per_second)},
                                                   {"burst", d.rate_limit_burst.value_or(defaults.burst)}}}};
                          co_return json_response(200, body);
                        }));
}

}  // namespace ivr::api
