#include "ivr/store/database.hpp"

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <string_view>

#include "ivr/core/logging.hpp"
#include "pg_pool.hpp"

namespace ivr::store {
namespace {

constexpr auto kUnavailableLogInterval = std::chrono::seconds(10);

bool is_uri(std::string_view url) {
  return url.starts_with("postgresql://") || url.starts_with("postgres://");
}

// RFC 3986 percent-encoding of everything but unreserved characters (libpq decodes URI parameters).
std::string percent_encode(std::string_view text) {
  std::string out;
  for (const unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out.append(buf);
    }
  }
  return out;
}

// A key=value connection-string value: single-quoted, with backslash and quote escaped.
std::string quote_value(std::string_view text) {
  std::string out = "'";
  for (const char c : text) {
    if (c == '\\' || c == '\'') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

// SQLSTATEs that mean the server is going away or not there yet, rather than a bad query.
bool is_connection_state(const std::string& sqlstate) {
  return sqlstate.starts_with("08")  // connection_exception
         || sqlstate == "57P01"      // admin_shutdown
         || sqlstate == "57P02"      // crash_shutdown
         || sqlstate == "57P03"      // cannot_connect_now (starting up, shutting down)
         || sqlstate == "53300";     // too_many_connections
}

}  // namespace

std::string connection_string(const DatabaseConfig& config) {
  const std::string_view url = trim(config.url);
  const auto timeout_ms = std::max<std::int64_t>(config.connect_timeout.count(), 1);
  // libpq takes whole seconds; round up so a sub-second setting does not become "wait forever" (0).
  const std::string timeout_s = std::to_string((timeout_ms + 999) / 1000);
  // An explicit connect_timeout in the URL wins over the configured one.
  const bool has_timeout = url.find("connect_timeout") != std::string_view::npos;
  std::string out(url);
  if (is_uri(url)) {
    char sep = url.find('?') == std::string_view::npos ? '?' : '&';
    if (!config.password.empty()) {
      out += sep;
      out += "password=" + percent_encode(config.password);
      sep = '&';
    }
    if (!has_timeout) {
      out += sep;
      out += "connect_timeout=" + timeout_s;
    }
  } else {
    // key=value form: when a keyword repeats, libpq keeps the last value, so the password appended here
    // wins over one in the URL (the environment/file password is the one meant to be used).
    if (!config.password.empty())
      out += (out.empty() ? "" : " ") + std::string("password=") + quote_value(config.password);
    if (!has_timeout) out += (out.empty() ? "" : " ") + std::string("connect_timeout=") + timeout_s;
  }
  return out;
}

// ---- Database::Impl ----

Database::Impl::Impl(boost::asio::thread_pool& pool, DatabaseConfig config)
    : pool_(pool),
      conninfo_(connection_string(config)),
      pool_size_(std::max<std::size_t>(config.pool_size, 1)),
      statement_timeout_(config.statement_timeout),
      // A holder finishes within one statement timeout (plus connecting); waiting longer than that for a
      // free connection means the pool is saturated, and the caller is better off with a 503.
      checkout_wait_(std::max<std::chrono::milliseconds>(config.connect_timeout + config.statement_timeout,
                                                         std::chrono::seconds(1))) {}

Database::Impl::~Impl() {
  std::lock_guard lock(mutex_);
  // Every run() holds a lease only while it executes; the Database must outlive its callers.
  assert(in_use_ == 0);
  for (Idle& idle : idle_) idle.conn->disconnect();
}

std::size_t Database::Impl::connections_in_use() const {
  std::lock_guard lock(mutex_);
  return in_use_;
}

std::size_t Database::Impl::connections_open() const {
  std::lock_guard lock(mutex_);
  return open_;
}

Result<Database::Impl::Lease> Database::Impl::checkout() {
  std::vector<std::unique_ptr<pqxx::connection>> stale;  // closed after the lock is released
  std::uint64_t epoch = 0;
  {
    std::unique_lock lock(mutex_);
    const auto deadline = std::chrono::steady_clock::now() + checkout_wait_;
    for (;;) {
      while (!idle_.empty()) {
        Idle idle = std::move(idle_.back());
        idle_.pop_back();
        if (idle.epoch != epoch_ || !idle.conn->is_open()) {
          --open_;
          stale.push_back(std::move(idle.conn));
          continue;
        }
        ++in_use_;
        lock.unlock();
        stale.clear();
        return Lease(this, std::move(idle.conn), idle.epoch);
      }
      if (open_ < pool_size_) break;
      if (released_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
          open_ >= pool_size_) {
        lock.unlock();
        module_logger("store")->warn("no free PostgreSQL connection within {} ms (pool of {})",
                                     checkout_wait_.count(), pool_size_);
        return Errc::unavailable;
      }
    }
    // Reserve a slot, then connect outside the lock.
    ++open_;
    ++in_use_;
    epoch = epoch_;
  }
  stale.clear();
  try {
    auto conn = std::make_unique<pqxx::connection>(conninfo_);
    if (statement_timeout_.count() > 0) {
      // set_variable is replayed by libpqxx if it ever reactivates the connection by itself.
      conn->set_variable("statement_timeout", std::to_string(statement_timeout_.count()));
    }
    return Lease(this, std::move(conn), epoch);
  } catch (const std::exception& e) {
    give_back(nullptr, epoch, true);
    // libpq's message names host and port, never the password.
    log_unavailable(std::string("cannot connect to PostgreSQL: ") + e.what());
    return Errc::unavailable;
  }
}

void Database::Impl::give_back(std::unique_ptr<pqxx::connection> conn, std::uint64_t epoch, bool broken) {
  {
    std::lock_guard lock(mutex_);
    --in_use_;
    if (broken) {
      // Whatever broke this connection (a server restart, a failover) most likely broke its siblings.
      if (epoch == epoch_) ++epoch_;
      --open_;
    } else if (conn == nullptr || epoch != epoch_ || !conn->is_open()) {
      --open_;
    } else {
      idle_.push_back({std::move(conn), epoch});
    }
  }
  released_.notify_one();
  // A dropped connection (if any) closes here, outside the lock.
}

void Database::Impl::log_unavailable(const std::string& what) {
  // Rate-limited: an outage would otherwise log once per request.
  std::size_t suppressed = 0;
  {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (now - last_unavailable_log_ < kUnavailableLogInterval) {
      ++suppressed_unavailable_logs_;
      return;
    }
    last_unavailable_log_ = now;
    suppressed = std::exchange(suppressed_unavailable_logs_, 0);
  }
  const std::string line = detail::one_line(what);
  if (suppressed > 0) {
    module_logger("store")->warn("{} ({} similar messages suppressed)", line, suppressed);
  } else {
    module_logger("store")->warn("{}", line);
  }
}

Database::Impl::Lease::~Lease() {
  if (owner_ != nullptr) owner_->give_back(std::move(conn_), epoch_, broken_);
}

boost::system::error_code Database::Impl::Lease::fail(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const pqxx::broken_connection& e) {
    broken_ = true;
    owner_->log_unavailable(std::string("PostgreSQL connection lost: ") + e.what());
    return Errc::unavailable;
  } catch (const pqxx::in_doubt_error& e) {
    // The connection died during COMMIT: the outcome is unknown, and the connection is unusable.
    broken_ = true;
    owner_->log_unavailable(std::string("PostgreSQL connection lost during commit: ") + e.what());
    return Errc::unavailable;
  } catch (const pqxx::sql_error& e) {
    if (is_connection_state(e.sqlstate()) || !conn_->is_open()) {
      broken_ = true;
      owner_->log_unavailable("PostgreSQL unavailable: " + std::string(e.what()) + " (sqlstate " +
                              e.sqlstate() + ")");
      return Errc::unavailable;
    }
    if (e.sqlstate() == "57014") {  // query_canceled: our statement_timeout fired
      module_logger("store")->warn("query cancelled after statement_timeout ({} ms): {}",
                                   owner_->statement_timeout_.count(), detail::one_line(e.query(), 200));
      return Errc::timeout;
    }
    module_logger("store")->error("SQL error {}: {} in: {}", e.sqlstate(), detail::one_line(e.what()),
                                  detail::one_line(e.query(), 200));
    return Errc::internal;
  } catch (const std::exception& e) {
    if (!conn_->is_open()) {
      broken_ = true;
      owner_->log_unavailable(std::string("PostgreSQL connection lost: ") + e.what());
      return Errc::unavailable;
    }
    module_logger("store")->error("database operation failed: {}", detail::one_line(e.what()));
    return Errc::internal;
  } catch (...) {
    module_logger("store")->error("database operation failed with a non-standard exception");
    return Errc::internal;
  }
}

// ---- Database ----

namespace {

boost::asio::awaitable<Result<void>> ping_impl(Database::Impl& impl) {
  auto select_one = [](pqxx::connection& conn) {
    pqxx::nontransaction tx(conn);
    tx.exec("SELECT 1");
  };
  co_return co_await impl.run(select_one);
}

}  // namespace

Database::Database(boost::asio::thread_pool& pool, DatabaseConfig config)
    : impl_(std::make_unique<Impl>(pool, std::move(config))) {}

Database::~Database() = default;

boost::asio::awaitable<Result<void>> Database::ping() {
  return ping_impl(*impl_);
}

std::size_t Database::pool_size() const {
  return impl_->pool_size();
}

std::size_t Database::connections_in_use() const {
  return impl_->connections_in_use();
}

}  // namespace ivr::store
