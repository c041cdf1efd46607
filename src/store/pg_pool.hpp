#pragma once
// Private to src/store (and the store's integration tests): the libpqxx connection pool behind Database.
// A connection is used by one thread at a time; connections open lazily up to pool_size and a broken one
// is dropped, so the next use reconnects. libpqxx exceptions stop here and become our error codes.

#include "ivr/store/database.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <pqxx/pqxx>

#include "ivr/core/errors.hpp"
#include "ivr/core/offload.hpp"

namespace ivr::store {

namespace detail {
// What run() returns for a function returning T: Result<T>, or T itself when T is already a Result (so a
// function can report its own errors, e.g. Errc::conflict on a unique violation).
template <class T>
struct RunResultOf {
  using type = Result<T>;
};
template <class T>
struct RunResultOf<Result<T>> {
  using type = Result<T>;
};
// One log line per error: libpq messages and queries span lines (LINE 1: … and a caret line).
inline std::string one_line(std::string_view text, std::size_t max = 400) {
  std::string out;
  for (const char c : text) {
    const bool space = c == '\n' || c == '\r' || c == '\t' || c == ' ';
    if (space) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(c);
    }
    if (out.size() >= max) {
      out += "…";
      break;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace detail

class Database::Impl {
 public:
  Impl(boost::asio::thread_pool& pool, DatabaseConfig config);
  ~Impl();
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  template <class Fn>
  using RunResult = typename detail::RunResultOf<std::invoke_result_t<Fn&, pqxx::connection&>>::type;

  // co_await run(fn): fn(pqxx::connection&) runs on the db pool with a pooled connection, which no other
  // thread uses meanwhile. fn opens its own transaction (one pqxx::work per operation). Errors:
  // Errc::unavailable (cannot connect, connection lost, no free connection within the checkout wait),
  // Errc::timeout (statement_timeout hit), Errc::internal (any other SQL or libpqxx error; logged).
  // fn must not touch io_context-owned objects. The Impl must outlive the call.
  template <class Fn>
  boost::asio::awaitable<RunResult<Fn>> run(Fn fn) {
    auto work = [this, fn = std::move(fn)]() mutable { return blocking_run(fn); };
    co_return co_await offload(pool_, std::move(work));
  }

  // The same on the calling thread (CLI, tests, start-up). Never call it on the io thread.
  template <class Fn>
  RunResult<std::remove_reference_t<Fn>> blocking_run(Fn&& fn) {
    using Out = RunResult<std::remove_reference_t<Fn>>;
    Result<Lease> lease = checkout();
    // in_place_error: a bare error_code would be ambiguous for Result<bool> (bool is constructible from it).
    if (!lease) return Out(boost::system::in_place_error, lease.error());
    try {
      if constexpr (std::is_void_v<std::invoke_result_t<Fn&, pqxx::connection&>>) {
        fn(lease->connection());
        return {};
      } else {
        return fn(lease->connection());
      }
    } catch (...) {
      return Out(boost::system::in_place_error, lease->fail(std::current_exception()));
    }
  }

  std::size_t pool_size() const { return pool_size_; }
  std::size_t connections_in_use() const;
  std::size_t connections_open() const;

 private:
  // One checked-out connection; returns it to the pool (or drops it when broken) on destruction.
  class Lease {
   public:
    Lease(Impl* owner, std::unique_ptr<pqxx::connection> conn, std::uint64_t epoch)
        : owner_(owner), conn_(std::move(conn)), epoch_(epoch) {}
    Lease(Lease&& other) noexcept
        : owner_(std::exchange(other.owner_, nullptr)),
          conn_(std::move(other.conn_)),
          epoch_(other.epoch_),
          broken_(other.broken_) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease();

    pqxx::connection& connection() { return *conn_; }
    // Classifies the exception, logs it and marks the connection broken when it is. Returns the code.
    boost::system::error_code fail(std::exception_ptr error);

   private:
    Impl* owner_;
    std::unique_ptr<pqxx::connection> conn_;
    std::uint64_t epoch_;
    bool broken_ = false;
  };

  struct Idle {
    std::unique_ptr<pqxx::connection> conn;
    std::uint64_t epoch;
  };

  Result<Lease> checkout();
  void give_back(std::unique_ptr<pqxx::connection> conn, std::uint64_t epoch, bool broken);
  void log_unavailable(const std::string& what);

  boost::asio::thread_pool& pool_;
  const std::string conninfo_;  // holds the password: never log it
  const std::size_t pool_size_;
  const std::chrono::milliseconds statement_timeout_;
  const std::chrono::milliseconds checkout_wait_;

  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable released_;
  std::vector<Idle> idle_;
  std::size_t open_ = 0;    // connections that exist or are being opened, idle or not
  std::size_t in_use_ = 0;  // checked out
  // Bumped when a connection breaks: connections opened before it are suspect (a server restart breaks all
  // of them), so they are dropped instead of failing one request each.
  std::uint64_t epoch_ = 0;
  std::chrono::steady_clock::time_point last_unavailable_log_{};
  std::size_t suppressed_unavailable_logs_ = 0;
};

}  // namespace ivr::store
