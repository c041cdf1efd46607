#pragma once
// Calls and their transcripts in Postgres (the source of truth; Redis only caches the history of calls in
// progress). Every function filters on domain_uuid: a call uuid claimed by one tenant is invisible to others.

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "ivr/core/errors.hpp"

namespace pqxx {
class transaction_base;
}

namespace ivr::store {

class Database;

struct CallMessage {
  std::string role;  // caller | assistant
  std::string content;
  std::string action;  // assistant turns: continue | transfer | hangup
  std::string transfer_to;
  std::string created_at;  // ISO 8601 UTC
};

struct CallRecord {
  std::string call_uuid;
  std::string domain_uuid;
  std::string secretary_id;  // empty when unknown
  std::string caller_id;
  std::string mode = "turn";
  std::string status = "active";  // active | completed
  std::string resolution;
  std::string transferred_to;
  int turns = 0;
  std::optional<double> duration_seconds;
  std::string started_at;
  std::string ended_at;
  std::string stats_json;  // realtime calls: what the bridge measured (JSON object text); empty otherwise
  std::vector<CallMessage> messages;
};

// Extra work done inside the transaction that completes a call, with the completed record (e.g. queue the
// call_completed webhook in the outbox, so it exists if and only if the call is completed). Runs on a db
// pool thread: it must not touch io_context-owned objects. Exceptions roll the transaction back.
using InCallEndTransaction = std::function<void(pqxx::transaction_base& tx, const CallRecord& call)>;

struct CallEnd {
  std::string resolution;      // resolved | transferred | hangup | abandoned | error | max_turns …
  std::string transferred_to;  // may be empty
  std::optional<double> duration_seconds;
};

class CallRepository {
 public:
  explicit CallRepository(Database& db);
  ~CallRepository();
  CallRepository(const CallRepository&) = delete;
  CallRepository& operator=(const CallRepository&) = delete;

  // Creates the call on first sight, or returns the existing one. Errc::conflict when the uuid belongs to
  // another domain (never revealing which).
  boost::asio::awaitable<Result<CallRecord>> ensure(std::string domain_uuid, std::string call_uuid,
                                                    std::string secretary_id, std::string caller_id,
                                                    std::string mode);
  // Appends one caller turn and the assistant's reply, and counts the turn; returns once they are
  // committed. Errc::not_found when the call is unknown in this domain. Turns are written in groups (group
  // commit): while one INSERT is in flight, turns appended meanwhile wait and go together in the next one,
  // so under load Postgres does one statement and one commit per burst of turns instead of one per turn,
  // and a lone turn is written at once. io thread only.
  boost::asio::awaitable<Result<void>> append_turn(std::string domain_uuid, std::string call_uuid,
                                                   CallMessage caller, CallMessage assistant);
  // Stores the realtime bridge's figures for the call (a JSON object). Errc::not_found when unknown.
  boost::asio::awaitable<Result<void>> set_stats(std::string domain_uuid, std::string call_uuid,
                                                 std::string stats_json);
  // The call with its messages; nullopt when unknown in this domain.
  boost::asio::awaitable<Result<std::optional<CallRecord>>> get(std::string domain_uuid,
                                                                std::string call_uuid);
  // Marks the call completed and runs `also` in the same transaction. Idempotent: ending a completed call
  // returns the stored record and runs nothing. Creates the call when it was never seen (a caller who hung
  // up during the greeting).
  boost::asio::awaitable<Result<CallRecord>> end(std::string domain_uuid, std::string call_uuid, CallEnd end,
                                                 InCallEndTransaction also = {});

 private:
  struct QueuedTurn;
  boost::asio::awaitable<void> write_queued_turns();

  Database& db_;
  std::deque<std::shared_ptr<QueuedTurn>> queued_turns_;
  bool writing_turns_ = false;
};

}  // namespace ivr::store
