#include "ivr/store/usage.hpp"

#include "pg_pool.hpp"

namespace ivr::store {

boost::asio::awaitable<Result<void>> UsageRepository::record(UsageEvent e) {
  auto query = [e](pqxx::connection& c) {
    pqxx::work tx(c);
    tx.exec_params(
        "INSERT INTO usage_events (domain_uuid, call_uuid, kind, provider, quantity, unit) "
        "VALUES ($1, nullif($2, '')::uuid, $3, $4, $5, $6)",
        e.domain_uuid, e.call_uuid, e.kind, e.provider, e.quantity, e.unit);
    tx.commit();
  };
  co_return co_await db_.impl().run(std::move(query));
}

}  // namespace ivr::store
