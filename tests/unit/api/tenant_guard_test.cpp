#include "ivr/api/tenant_guard.hpp"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "ivr/api/tenant_cache.hpp"
#include "ivr/core/ids.hpp"
#include "support/test_env.hpp"
#include "unit/api/fakes.hpp"

namespace ivr::api {
namespace {

constexpr const char* kDomainA = "0f8fad5b-d9cb-469f-a165-70867728950e";
constexpr const char* kDomainB = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
constexpr const char* kDisabled = "16fd2706-8baf-433b-82eb-8c7fada847da";

class TenantGuardTest : public ::testing::Test {
 protected:
  TenantGuardTest() {
    tokens.by_hash[sha256_hex("call-any")] = {"t1", store::TokenScope::call, std::nullopt, false};
    tokens.by_hash[sha256_hex("call-a")] = {"t2", store::TokenScope::call, std::string(kDomainA), false};
    tokens.by_hash[sha256_hex("admin")] = {"t3", store::TokenScope::admin, std::nullopt, false};
    tokens.by_hash[sha256_hex("revoked")] = {"t4", store::TokenScope::call, std::nullopt, true};
    domains.domains[kDomainA] = {kDomainA, "a.example.com", true, std::nullopt, std::nullopt, std::nullopt};
    domains.domains[kDomainB] = {kDomainB, "b.example.com", true, 2.0, 3.0, std::nullopt};
    domains.domains[kDisabled] = {kDisabled,    "off.example.com", false,
                                  std::nullopt, std::nullopt,      std::nullopt};
  }

  net::HttpResponse call(net::HttpRequest request, store::TokenScope scope = store::TokenScope::call) {
    net::Handler handler =
        guard.wrap(scope, [this](TenantRequest& r) -> boost::asio::awaitable<net::HttpResponse> {
          ++handled;
          last_domain = r.domain.uuid;
          co_return net::HttpResponse::json(200, "{}");
        });
    return test::run(io, handler(request));
  }

  static net::HttpRequest request(std::initializer_list<std::pair<std::string, std::string>> headers,
                                  std::string body = {}) {
    net::HttpRequest r;
    r.method = "POST";
    r.path = "/x";
    r.request_id = "rid";
    for (const auto& [k, v] : headers) r.headers.add(k, v);
    r.body = std::move(body);
    return r;
  }

  static std::string code(const net::HttpResponse& r) {
    return nlohmann::json::parse(r.body)["error"]["code"].get<std::string>();
  }

  boost::asio::io_context io;
  test::FakeTokenStore tokens;
  test::FakeDomainDirectory domains;
  test::FakeRateLimiter limiter;
  MetricsRegistry metrics;
  RateLimitSettings limits;
  TenantGuard guard{tokens, domains, &limiter, limits, metrics};
  int handled = 0;
  std::string last_domain;
};

TEST_F(TenantGuardTest, AdmitsBearerAndApiKeyForms) {
  EXPECT_EQ(call(request({{"Authorization", "Bearer call-any"}, {"X-Domain-UUID", kDomainA}})).status, 200);
  EXPECT_EQ(call(request({{"X-Api-Key", "call-any"}, {"X-Domain-UUID", kDomainA}})).status, 200);
  EXPECT_EQ(call(request({{"authorization", "bearer   call-any  "}, {"x-domain-uuid", kDomainA}})).status,
            200);
  EXPECT_EQ(handled, 3);
}

TEST_F(TenantGuardTest, MissingOrWrongTokenIs401) {
  auto missing = call(request({{"X-Domain-UUID", kDomainA}}));
  EXPECT_EQ(missing.status, 401);
  EXPECT_EQ(code(missing), "unauthorized");
  EXPECT_TRUE(missing.headers.contains("WWW-Authenticate"));
  EXPECT_EQ(call(request({{"X-Api-Key", "nope"}, {"X-Domain-UUID", kDomainA}})).status, 401);
  EXPECT_EQ(call(request({{"Authorization", "Basic abc"}, {"X-Domain-UUID", kDomainA}})).status, 401);
  EXPECT_EQ(call(request({{"X-Api-Key", "revoked"}, {"X-Domain-UUID", kDomainA}})).status, 401);
  EXPECT_EQ(handled, 0);
}

TEST_F(TenantGuardTest, ScopesCallTokensCannotUseAdminRoutes) {
  auto r = call(request({{"X-Api-Key", "call-any"}, {"X-Domain-UUID", kDomainA}}), store::TokenScope::admin);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(code(r), "forbidden");
  EXPECT_EQ(
      call(request({{"X-Api-Key", "admin"}, {"X-Domain-UUID", kDomainA}}), store::TokenScope::admin).status,
      200);
  EXPECT_EQ(call(request({{"X-Api-Key", "admin"}, {"X-Domain-UUID", kDomainA}})).status, 200);
}

TEST_F(TenantGuardTest, MalformedDomainIs400) {
  auto r = call(request({{"X-Api-Key", "call-any"}, {"X-Domain-UUID", "not-a-uuid"}}));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(code(r), "invalid_domain_uuid");
  auto missing = call(request({{"X-Api-Key", "call-any"}}));
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(code(missing), "invalid_domain_uuid");
  EXPECT_EQ(domains.lookups, 0);  // garbage never reaches the database
}

TEST_F(TenantGuardTest, UnknownOrDisabledDomainIs404) {
  auto unknown =
      call(request({{"X-Api-Key", "call-any"}, {"X-Domain-UUID", "11111111-2222-4333-8444-555555555555"}}));
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(code(unknown), "unknown_domain");
  EXPECT_EQ(call(request({{"X-Api-Key", "call-any"}, {"X-Domain-UUID", kDisabled}})).status, 404);
}

TEST_F(TenantGuardTest, UpperCaseDomainIsNormalised) {
  std::string upper = kDomainA;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(call(request({{"X-Api-Key", "call-any"}, {"X-Domain-UUID", upper}})).status, 200);
  EXPECT_EQ(last_domain, kDomainA);
}

TEST_F(TenantGuardTest, TokenBoundToAnotherDomainIs403) {
  EXPECT_EQ(call(request({{"X-Api-Key", "call-a"}, {"X-Domain-UUID", kDomainA}})).status, 200);
  auto r = call(request({{"X-Api-Key", "call-a"}, {"X-Domain-UUID", kDomainB}}));
  EXPECT_EQ(r.status, 403);
}

TEST_F(TenantGuardTest, BodyDomainMustMatchHeaderAndMayStandAlone) {
  const std::string body_a = std::string(R"({"domain_uuid":")") + kDomainA + R"(","text":"hi"})";
  const std::string body_b = std::string(R"({"domain_uuid":")") + kDomainB + R"("})";
  EXPECT_EQ(
      call(request(
               {{"X-Api-Key", "call-any"}, {"X-Domain-UUID", kDomainA}, {"Content-Type", "application/json"}},
               body_a))
          .status,
      200);
  auto mismatch = call(
      request({{"X-Api-Key", "call-any"}, {"X-Domain-UUID", kDomainA}, {"Content-Type", "application/json"}},
              body_b));
  EXPECT_EQ(mismatch.status, 400);
  EXPECT_EQ(code(mismatch), "domain_mismatch");
  EXPECT_EQ(call(request({{"X-Api-Key", "call-any"}, {"Content-Type", "application/json"}}, body_b)).status,
            200);
  EXPECT_EQ(last_domain, kDomainB);
  auto bad = call(
      request({{"X-Api-Key", "call-any"}, {"Content-Type", "application/json"}}, R"({"domain_uuid":"x"})"));
  EXPECT_EQ(code(bad), "invalid_domain_uuid");
}

TEST_F(TenantGuardTest, StoresDownAre503) {
  tokens.down = true;
  EXPECT_EQ(call(request({{"X-Api-Key", "call-any"}, {"X-Domain-UUID", kDomainA}})).status, 503);
  tokens.down = false;
  domains.down = true;
  EXPECT_EQ(call(request({{"X-Api-Key", "call-any"}, {"X-Domain-UUID", kDomainA}})).status, 503);
}

TEST_F(TenantGuardTest, RateLimitIs429WithRetryAfterAndUsesDomainOverrides) {
  limiter.allowed = 2;
  EXPECT_EQ(call(request({{"X-Api-Key", "call-any"}, {"X-Domain-UUID", kDomainA}})).status, 200);
  EXPECT_EQ(call(request({{"X-Api-Key", "call-any"}, {"X-Domain-UUID", kDomainA}})).status, 200);
  auto refused = call(request({{"X-Api-Key", "call-any"}, {"X-Domain-UUID", kDomainA}}));
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(code(refused), "rate_limited");
  EXPECT_EQ(refused.headers.get("Retry-After").value_or(""), "2");  // ceil(1.5)
  // Another domain has its own bucket and its own limits.
  EXPECT_EQ(call(request({{"X-Api-Key", "call-any"}, {"X-Domain-UUID", kDomainB}})).status, 200);
  EXPECT_EQ(limiter.limits_seen[std::string("ivr:rate:") + kDomainB], (std::pair<double, double>{2.0, 3.0}));
  EXPECT_EQ(limiter.limits_seen[std::string("ivr:rate:") + kDomainA],
            (std::pair<double, double>{limits.requests_per_second, limits.burst}));
  EXPECT_NE(metrics.render().find("ivr_rate_limit_rejections_total 1"), std::string::npos);
}

TEST_F(TenantGuardTest, RedisDownFollowsPolicy) {
  limiter.down = true;
  EXPECT_EQ(call(request({{"X-Api-Key", "call-any"}, {"X-Domain-UUID", kDomainA}})).status, 503);
  RateLimitSettings allow = limits;
  allow.on_redis_error = "allow";
  guard.set_limits(allow);
  EXPECT_EQ(call(request({{"X-Api-Key", "call-any"}, {"X-Domain-UUID", kDomainA}})).status, 200);
}

TEST(TenantCache, CachesHitsAndMissesAndInvalidates) {
  boost::asio::io_context io;
  test::FakeDomainDirectory inner;
  inner.domains[kDomainA] = {kDomainA, "a", true, std::nullopt, std::nullopt, std::nullopt};
  auto now = std::chrono::steady_clock::now();
  CachedDomainDirectory cache(inner, {std::chrono::seconds(30), std::chrono::seconds(5)},
                              [&] { return now; });
  EXPECT_TRUE(test::run(io, cache.find(kDomainA)).value().has_value());
  EXPECT_TRUE(test::run(io, cache.find(kDomainA)).value().has_value());
  EXPECT_EQ(inner.lookups, 1);
  EXPECT_FALSE(test::run(io, cache.find(kDomainB)).value().has_value());
  EXPECT_FALSE(test::run(io, cache.find(kDomainB)).value().has_value());
  EXPECT_EQ(inner.lookups, 2);
  now += std::chrono::seconds(6);  // negative entry expired, positive not
  inner.domains[kDomainB] = {kDomainB, "b", true, std::nullopt, std::nullopt, std::nullopt};
  EXPECT_TRUE(test::run(io, cache.find(kDomainB)).value().has_value());
  EXPECT_EQ(inner.lookups, 3);
  inner.domains[kDomainA].enabled = false;
  EXPECT_TRUE(test::run(io, cache.find(kDomainA)).value()->enabled);  // still cached
  cache.invalidate(kDomainA);
  EXPECT_FALSE(test::run(io, cache.find(kDomainA)).value()->enabled);
}

TEST(TenantCache, ErrorsAreNotCached) {
  boost::asio::io_context io;
  test::FakeDomainDirectory inner;
  inner.domains[kDomainA] = {kDomainA, "a", true, std::nullopt, std::nullopt, std::nullopt};
  CachedDomainDirectory cache(inner, {});
  inner.down = true;
  EXPECT_FALSE(test::run(io, cache.find(kDomainA)));
  inner.down = false;
  EXPECT_TRUE(test::run(io, cache.find(kDomainA)).value().has_value());
}

TEST(ExtractToken, Forms) {
  net::HttpRequest r;
  EXPECT_FALSE(extract_token(r));
  r.headers.set("X-Api-Key", " tok ");
  EXPECT_EQ(*extract_token(r), "tok");
  r.headers.set("Authorization", "Bearer b");
  EXPECT_EQ(*extract_token(r), "b");  // Authorization wins when both are present
}

}  // namespace
}  // namespace ivr::api
