#include "ivr/store/usage.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "ivr/core/logging.hpp"
#include "pg_pool.hpp"

namespace ivr::store {

namespace {

constexpr std::size_t kMaxGroup = 500;  // rows per INSERT statement

Result<void> blocking_insert(pqxx::connection& c, const std::vector<UsageEvent>& events) {
  pqxx::nontransaction tx(c);  // one statement: atomic by itself, and one round trip instead of three
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
  return {};
}

}  // namespace

struct UsageRepository::Timers {
  explicit Timers(const boost::asio::any_io_executor& executor) : linger(executor), written(executor) {}
  boost::asio::steady_timer linger;
  boost::asio::steady_timer written;
};

UsageRepository::UsageRepository(Database& db, std::chrono::milliseconds linger) : db_(db), linger_(linger) {}
UsageRepository::~UsageRepository() = default;

boost::asio::awaitable<Result<void>> UsageRepository::record(UsageEvent e) {
  pending_.push_back(std::move(e));
  if (!writing_) {
    writing_ = true;
    const boost::asio::any_io_executor executor = co_await boost::asio::this_coro::executor;
    if (!timers_) timers_ = std::make_unique<Timers>(executor);
    boost::asio::co_spawn(executor, write_pending(), boost::asio::detached);
  }
  co_return Result<void>();
}

boost::asio::awaitable<void> UsageRepository::flush() {
  if (!writing_) co_return;
  flushing_ = true;
  timers_->linger.cancel();
  timers_->written.expires_at(boost::asio::steady_timer::time_point::max());
  boost::system::error_code woken;  // operation_aborted: the writer's cancel() is the wake-up
  while (writing_)
    co_await timers_->written.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, woken));
  flushing_ = false;
}

boost::asio::awaitable<void> UsageRepository::write_pending() {
  if (linger_.count() > 0 && !flushing_) {
    timers_->linger.expires_after(linger_);
    boost::system::error_code cut_short;  // flush() cancels the wait
    co_await timers_->linger.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, cut_short));
  }
  while (!pending_.empty()) {
    std::vector<UsageEvent> group;
    if (pending_.size() <= kMaxGroup) {
      group.swap(pending_);
    } else {
      group.assign(std::make_move_iterator(pending_.begin()),
                   std::make_move_iterator(pending_.begin() + kMaxGroup));
      pending_.erase(pending_.begin(), pending_.begin() + kMaxGroup);
    }
    const std::size_t events = group.size();
    auto insert = [group = std::move(group)](pqxx::connection& c) { return blocking_insert(c, group); };
    Result<void> written = co_await db_.impl().run(std::move(insert));
    if (!written)
      module_logger("store")->warn("{} usage events not recorded: {}", events, written.error().message());
  }
  writing_ = false;
  timers_->written.cancel();
}

}  // namespace ivr::store
