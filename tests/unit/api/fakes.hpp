#pragma once
// Hand-written fakes of the tenancy interfaces for middleware tests.

#include <map>
#include <string>

#include "ivr/store/redis.hpp"
#include "ivr/store/repositories.hpp"

namespace ivr::test {

class FakeTokenStore final : public store::TokenStore {
 public:
  std::map<std::string, store::TokenRecord> by_hash;
  bool down = false;
  int lookups = 0;
  boost::asio::awaitable<Result<std::optional<store::TokenRecord>>> find_by_hash(std::string hash) override {
    ++lookups;
    if (down) co_return make_error_code(Errc::unavailable);
    auto it = by_hash.find(hash);
    if (it == by_hash.end()) co_return std::optional<store::TokenRecord>();
    co_return std::optional<store::TokenRecord>(it->second);
  }
};

class FakeDomainDirectory final : public store::DomainDirectory {
 public:
  std::map<std::string, store::Domain> domains;
  bool down = false;
  int lookups = 0;
  boost::asio::awaitable<Result<std::optional<store::Domain>>> find(std::string uuid) override {
    ++lookups;
    if (down) co_return make_error_code(Errc::unavailable);
    auto it = domains.find(uuid);
    if (it == domains.end()) co_return std::optional<store::Domain>();
    co_return std::optional<store::Domain>(it->second);
  }
};

// Allows `allowed` requests per key, then refuses with retry_after 1.5 s.
class FakeRateLimiter final : public store::RateLimiter {
 public:
  int allowed = 1000;
  bool down = false;
  std::map<std::string, int> taken;
  std::map<std::string, std::pair<double, double>> limits_seen;
  boost::asio::awaitable<Result<store::RateDecision>> acquire(std::string key, double per_second,
                                                              double burst, double) override {
    if (down) co_return make_error_code(Errc::unavailable);
    limits_seen[key] = {per_second, burst};
    if (taken[key] >= allowed) co_return store::RateDecision{false, 1.5, 0};
    ++taken[key];
    co_return store::RateDecision{true, 0, static_cast<double>(allowed - taken[key])};
  }
};

}  // namespace ivr::test
