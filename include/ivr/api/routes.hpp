#pragma once
// Registers the HTTP routes. Handlers are free functions of their inputs; dependencies come in here.

#include <chrono>
#include <functional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "ivr/api/tenant_guard.hpp"
#include "ivr/core/metrics.hpp"
#include "ivr/net/router.hpp"

namespace ivr::api {

// A readiness probe of one dependency: empty string when healthy, else a short reason.
using ReadinessProbe = std::function<boost::asio::awaitable<std::string>()>;

struct OpsDependencies {
  MetricsRegistry& metrics;
  ReadinessProbe postgres;
  ReadinessProbe redis;
  std::string version;
  std::chrono::steady_clock::time_point started;
  std::function<bool()> draining;  // true once SIGTERM arrived: /ready answers 503 so balancers move on
};

// GET /health, /ready, /metrics (no auth).
void register_ops_routes(net::Router& router, OpsDependencies deps);

// GET /domain: the caller's domain as the daemon sees it (call scope) — the tenant-checked route used by
// the Lua scripts to verify their settings and by the benchmark.
void register_tenant_routes(net::Router& router, TenantGuard& guard, const RateLimitSettings& limits);

}  // namespace ivr::api
