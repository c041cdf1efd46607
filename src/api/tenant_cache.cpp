#include "ivr/api/tenant_cache.hpp"

namespace ivr::api {
namespace {

// Bounds memory if a client floods us with made-up keys: past this size the cache starts over.
constexpr std::size_t kMaxEntries = 100'000;

Clock or_steady(Clock clock) {
  if (clock) return clock;
  return [] { return std::chrono::steady_clock::now(); };
}

}  // namespace

CachedDomainDirectory::CachedDomainDirectory(store::DomainDirectory& inner, CacheTtl ttl, Clock clock)
    : inner_(inner), ttl_(ttl), clock_(or_steady(std::move(clock))) {}

boost::asio::awaitable<Result<std::optional<store::Domain>>> CachedDomainDirectory::find(std::string uuid) {
  const auto now = clock_();
  if (auto it = entries_.find(uuid); it != entries_.end() && it->second.expires > now) {
    co_return it->second.value;
  }
  Result<std::optional<store::Domain>> fresh = co_await inner_.find(uuid);
  if (!fresh) co_return fresh;  // errors are not cached: the next request asks again
  if (entries_.size() >= kMaxEntries) entries_.clear();
  const auto ttl = fresh->has_value() ? ttl_.positive : ttl_.negative;
  entries_[uuid] = Entry{*fresh, clock_() + ttl};
  co_return fresh;
}

void CachedDomainDirectory::invalidate(const std::string& uuid) {
  entries_.erase(uuid);
}
void CachedDomainDirectory::invalidate_all() {
  entries_.clear();
}

CachedTokenStore::CachedTokenStore(store::TokenStore& inner, CacheTtl ttl, Clock clock)
    : inner_(inner), ttl_(ttl), clock_(or_steady(std::move(clock))) {}

boost::asio::awaitable<Result<std::optional<store::TokenRecord>>> CachedTokenStore::find_by_hash(
    std::string sha256_hex) {
  const auto now = clock_();
  if (auto it = entries_.find(sha256_hex); it != entries_.end() && it->second.expires > now) {
    co_return it->second.value;
  }
  Result<std::optional<store::TokenRecord>> fresh = co_await inner_.find_by_hash(sha256_hex);
  if (!fresh) co_return fresh;
  if (entries_.size() >= kMaxEntries) entries_.clear();
  const auto ttl = fresh->has_value() ? ttl_.positive : ttl_.negative;
  entries_[sha256_hex] = Entry{*fresh, clock_() + ttl};
  co_return fresh;
}

void CachedTokenStore::invalidate_all() {
  entries_.clear();
}

}  // namespace ivr::api
