#pragma once
// Metered usage per domain (usage_events): audio seconds, LLM tokens, synthesised characters.

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

// Usage is written in groups: while one INSERT is in flight, events recorded meanwhile wait in memory and
// go together in the next one, so metering costs one statement per burst, not one per turn. The coroutine
// that finds no INSERT in flight becomes the writer until the queue is empty; the others return at once.
// io thread only.
class UsageRepository {
 public:
  explicit UsageRepository(Database& db) : db_(db) {}
  // Errors reach only the writing caller (the events of a failed group are dropped and logged: metering
  // must never fail a call).
  boost::asio::awaitable<Result<void>> record(UsageEvent event);

 private:
  Database& db_;
  std::vector<UsageEvent> pending_;
  bool writing_ = false;
};

}  // namespace ivr::store
