#pragma once
// In-process caches in front of the domain directory and the token store, with short TTLs, negative
// caching for unknown keys, and explicit invalidation (driven by Redis pub/sub from other instances and
// from the CLI). Used from the io thread only: no locks.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>

#include <boost/asio/awaitable.hpp>

#include "ivr/store/repositories.hpp"

namespace ivr::api {

using Clock = std::function<std::chrono::steady_clock::time_point()>;

struct CacheTtl {
  std::chrono::milliseconds positive{30'000};
  std::chrono::milliseconds negative{5'000};
};

class CachedDomainDirectory final : public store::DomainDirectory {
 public:
  CachedDomainDirectory(store::DomainDirectory& inner, CacheTtl ttl, Clock clock = {});
  boost::asio::awaitable<Result<std::optional<store::Domain>>> find(std::string uuid) override;
  void invalidate(const std::string& uuid);
  void invalidate_all();
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::optional<store::Domain> value;
    std::chrono::steady_clock::time_point expires;
  };
  store::DomainDirectory& inner_;
  CacheTtl ttl_;
  Clock clock_;
  std::unordered_map<std::string, Entry> entries_;
};

class CachedTokenStore final : public store::TokenStore {
 public:
  CachedTokenStore(store::TokenStore& inner, CacheTtl ttl, Clock clock = {});
  boost::asio::awaitable<Result<std::optional<store::TokenRecord>>> find_by_hash(
      std::string sha256_hex) override;
  void invalidate_all();

 private:
  struct Entry {
    std::optional<store::TokenRecord> value;
    std::chrono::steady_clock::time_point expires;
  };
  store::TokenStore& inner_;
  CacheTtl ttl_;
  Clock clock_;
  std::unordered_map<std::string, Entry> entries_;
};

// Pub/sub channels (prefixed with redis.key_prefix) and their messages: a domain uuid, or "*" for all.
inline constexpr const char* kDomainInvalidateChannel = "domain-invalidate";
inline constexpr const char* kTokenInvalidateChannel = "token-invalidate";

}  // namespace ivr::api
