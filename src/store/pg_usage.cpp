#include "ivr/store/usage.hpp"

#include "ivr/core/logging.hpp"
#include "pg_pool.hpp"

namespace ivr::store {

namespace {

constexpr std::size_t kMaxGroup = 500;  // rows per INSERT statement

Result<void> blocking_insert(pqxx::connection& c, const std::vector<UsageEvent>& events) {
  pqxx::work tx(c);
  std::string sql =
      "INSERT INTO usage_events (domain_uuid, call_uuid, kind, provider, quantity, unit) VALUES ";
  for (std::size_t i = 0; i < events.size(); ++i) {
    const UsageEvent& e = events[i];
    if (i > 0) sql += ',';
    sql += '(' + tx.quote(e.domain_uuid) + ", nullif(" + tx.quote(e.call_uuid) + ", '')::uuid, " +
           tx.quote(e.kind) + ", " + tx.quote(e.provider) + ", " + tx.quote(e.quantity) + ", " +
           tx.quote(e.unit) + ')';
  }
  tx.exec(sql);
  tx.commit();
  return {};
}

}  // namespace

boost::asio::awaitable<Result<void>> UsageRepository::record(UsageEvent e) {
  pending_.push_back(std::move(e));
  if (writing_) co_return Result<void>();  // the writer in flight takes it with the next group
  writing_ = true;
  Result<void> outcome;
  while (!pending_.empty()) {
    std::vector<UsageEvent> group;
    if (pending_.size() <= kMaxGroup) {
      group.swap(pending_);
    } else {
      group.assign(std::make_move_iterator(pending_.begin()),
                   std::make_move_iterator(pending_.begin() + kMaxGroup));
      pending_.erase(pending_.begin(), pending_.begin() + kMaxGroup);
    }
    auto insert = [group = std::move(group)](pqxx::connection& c) { return blocking_insert(c, group); };
    Result<void> written = co_await db_.impl().run(std::move(insert));
    if (!written) {
      module_logger("store")->warn("usage events not recorded: {}", written.error().message());
      outcome = written;
    }
  }
  writing_ = false;
  co_return outcome;
}

}  // namespace ivr::store
