#pragma once
// Metered usage per domain (usage_events): audio seconds, LLM tokens, synthesised characters.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "ivr/core/errors.hpp"

namespace ivr::store {

class Database;

struct UsageEvent {
  std::string domain_uuid;
  std::string call_uuid;  // may be empty
  std::string kind;       // stt | llm | tts
  std::string provider;
  double quantity = 0;
  std::string unit;  // seconds | prompt_tokens | completion_tokens | characters
};

// Usage is written in groups, off every request's path: record() queues the event and returns. A writer
// coroutine, spawned when none runs, waits `linger` so a burst of events (every turn records one) becomes one
// INSERT, writes what is queued, and repeats until the queue is empty. Metering thus adds nothing to a
// call's latency and no Postgres transaction of its own per turn. flush() writes what is queued at once;
// the daemon awaits it when it stops, so a clean shutdown loses nothing. io thread only.
class UsageRepository {
 public:
  explicit UsageRepository(Database& db, std::chrono::milliseconds linger = std::chrono::milliseconds(200));
  ~UsageRepository();
  UsageRepository(const UsageRepository&) = delete;
  UsageRepository& operator=(const UsageRepository&) = delete;

  // Queues the event. The events of a group Postgres refuses are dropped and logged: metering must never
  // fail a call.
  boost::asio::awaitable<Result<void>> record(UsageEvent event);
  // Returns once everything recorded so far is written (or dropped and logged).
  boost::asio::awaitable<void> flush();

 private:
  boost::asio::awaitable<void> write_pending();

  Database& db_;
  const std::chrono::milliseconds linger_;
  std::vector<UsageEvent> pending_;
  bool writing_ = false;
  bool flushing_ = false;
  struct Timers;                    // the linger wait, and the wake-up of flush() when the writer finishes
  std::unique_ptr<Timers> timers_;  // made on first use, with the io executor
};

}  // namespace ivr::store
