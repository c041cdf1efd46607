#pragma once
// Metered usage per domain (usage_events): audio seconds, LLM tokens, synthesised characters.

#include <string>

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

class UsageRepository {
 public:
  explicit UsageRepository(Database& db) : db_(db) {}
  boost::asio::awaitable<Result<void>> record(UsageEvent event);

 private:
  Database& db_;
};

}  // namespace ivr::store
