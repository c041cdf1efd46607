#include "ivr/store/calls.hpp"

#include <string_view>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "ivr/core/logging.hpp"

#include "pg_pool.hpp"

namespace ivr::store {
namespace {

constexpr const char* kIso = "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'";

std::string iso(const std::string& column) {
  return "to_char(" + column + " AT TIME ZONE 'UTC', " + kIso + ")";
}

std::string call_columns() {
  return "call_uuid::text, domain_uuid::text, coalesce(secretary_id::text, ''), caller_id, mode, status, "
         "coalesce(resolution, ''), coalesce(transferred_to, ''), turns, duration_seconds, " +
         iso("started_at") + ", coalesce(" + iso("ended_at") + ", ''), coalesce(stats::text, '')";
}

CallRecord call_from_row(const pqxx::row& row) {
  CallRecord r;
  r.call_uuid = row[0].c_str();
  r.domain_uuid = row[1].c_str();
  r.secretary_id = row[2].c_str();
  r.caller_id = row[3].c_str();
  r.mode = row[4].c_str();
  r.status = row[5].c_str();
  r.resolution = row[6].c_str();
  r.transferred_to = row[7].c_str();
  r.turns = row[8].as<int>();
  if (!row[9].is_null()) r.duration_seconds = row[9].as<double>();
  r.started_at = row[10].c_str();
  r.ended_at = row[11].c_str();
  r.stats_json = row[12].c_str();
  return r;
}

void load_messages(pqxx::transaction_base& tx, CallRecord& call) {
  const pqxx::result res = tx.exec_params(
      "SELECT role, content, coalesce(action, ''), coalesce(transfer_to, ''), " + iso("created_at") +
          " FROM call_messages WHERE call_uuid = $1::uuid AND domain_uuid = $2 ORDER BY id",
      call.call_uuid, call.domain_uuid);
  for (const auto& row : res) {
    call.messages.push_back({row[0].c_str(), row[1].c_str(), row[2].c_str(), row[3].c_str(), row[4].c_str()});
  }
}

// Inserts the call when new; returns it (FOR UPDATE when `lock`) or conflict when another domain owns it.
Result<CallRecord> ensure_in(pqxx::work& tx, const std::string& domain, const std::string& call_uuid,
                             const std::string& secretary_id, const std::string& caller_id,
                             const std::string& mode) {
  tx.exec_params(
      "INSERT INTO calls (call_uuid, domain_uuid, secretary_id, caller_id, mode) "
      "VALUES ($1::uuid, $2, nullif($3, '')::uuid, $4, $5) ON CONFLICT (call_uuid) DO NOTHING",
      call_uuid, domain, secretary_id, caller_id, mode);
  const pqxx::result res = tx.exec_params(
      "SELECT " + call_columns() + " FROM calls WHERE call_uuid = $1::uuid FOR UPDATE", call_uuid);
  if (res.empty()) return make_error_code(Errc::internal);
  CallRecord call = call_from_row(res[0]);
  if (call.domain_uuid != domain) return make_error_code(Errc::conflict);
  return call;
}

// ---- turns, written in groups ----

constexpr std::size_t kMaxTurnsPerGroup = 200;

struct TurnRow {
  std::string domain_uuid;
  std::string call_uuid;
  CallMessage caller;
  CallMessage assistant;
};

// A Postgres array literal of text elements: each quoted, with quote and backslash escaped.
std::string text_array(const std::vector<const std::string*>& items) {
  std::string out = "{";
  for (const std::string* item : items) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (const char ch : *item) {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    out += '"';
  }
  out += '}';
  return out;
}

// Prepared once per pooled connection (libpqxx re-registers them after a reconnect): parse and plan cost
// about as much as executing these statements.
constexpr const char* kAppendTurn = "ivr_append_turn";
constexpr const char* kAppendTurnSql =
    "WITH owned AS (UPDATE calls SET turns = turns + 1 WHERE call_uuid = $1::uuid AND domain_uuid = $2::uuid "
    "RETURNING call_uuid, domain_uuid) "
    "INSERT INTO call_messages (call_uuid, domain_uuid, role, content, action, transfer_to) "
    "SELECT owned.call_uuid, owned.domain_uuid, m.role, m.content, nullif(m.action, ''), "
    "nullif(m.transfer_to, '') FROM owned, (VALUES (1, $3, $4, $5, $6), (2, $7, $8, $9, $10)) "
    "AS m(ord, role, content, action, transfer_to) ORDER BY m.ord";

// The same for many turns, as parallel arrays (one element per message, two per turn). Data-modifying
// CTEs run to completion whether or not the final SELECT reads them, and all see one snapshot, so `owned`
// (the calls whose count was bumped) decides both what is inserted and what is reported.
constexpr const char* kAppendTurns = "ivr_append_turns";
constexpr const char* kAppendTurnsSql =
    "WITH input AS (SELECT * FROM unnest($1::int[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], "
    "$6::text[], $7::text[]) WITH ORDINALITY AS i(turn, call_uuid, domain_uuid, role, content, action, "
    "transfer_to, ord)), "
    "counts AS (SELECT call_uuid, domain_uuid, count(*) / 2 AS n FROM input GROUP BY call_uuid, "
    "domain_uuid), "
    "owned AS (UPDATE calls c SET turns = c.turns + counts.n FROM counts "
    "WHERE c.call_uuid = counts.call_uuid AND c.domain_uuid = counts.domain_uuid "
    "RETURNING c.call_uuid, c.domain_uuid), "
    "inserted AS (INSERT INTO call_messages (call_uuid, domain_uuid, role, content, action, transfer_to) "
    "SELECT i.call_uuid, i.domain_uuid, i.role, i.content, nullif(i.action, ''), nullif(i.transfer_to, '') "
    "FROM input i JOIN owned o ON o.call_uuid = i.call_uuid AND o.domain_uuid = i.domain_uuid "
    "ORDER BY i.ord RETURNING 1) "
    "SELECT DISTINCT i.turn FROM input i JOIN owned o "
    "ON o.call_uuid = i.call_uuid AND o.domain_uuid = i.domain_uuid";

// Inserts the turns in one statement (and one commit): both messages of each, in order, for the turns whose
// call row exists in their domain, whose turn counts it bumps. Returns, per turn, whether it was stored.
std::vector<bool> insert_turns(pqxx::connection& c, const std::vector<TurnRow>& turns) {
  pqxx::nontransaction tx(c);
  if (turns.size() == 1) {
    const TurnRow& t = turns.front();
    c.prepare(kAppendTurn, kAppendTurnSql);
    const pqxx::result inserted =
        tx.exec_prepared(kAppendTurn, t.call_uuid, t.domain_uuid, t.caller.role, t.caller.content,
                         t.caller.action, t.caller.transfer_to, t.assistant.role, t.assistant.content,
                         t.assistant.action, t.assistant.transfer_to);
    return {inserted.affected_rows() > 0};
  }
  std::vector<std::string> turn_numbers;
  std::vector<const std::string*> call_uuids, domain_uuids, roles, contents, actions, transfer_tos;
  turn_numbers.reserve(turns.size());
  for (std::size_t turn = 0; turn < turns.size(); ++turn) turn_numbers.push_back(std::to_string(turn));
  std::vector<const std::string*> turn_of_message;
  for (std::size_t turn = 0; turn < turns.size(); ++turn) {
    const TurnRow& t = turns[turn];
    for (const CallMessage* m : {&t.caller, &t.assistant}) {
      turn_of_message.push_back(&turn_numbers[turn]);
      call_uuids.push_back(&t.call_uuid);
      domain_uuids.push_back(&t.domain_uuid);
      roles.push_back(&m->role);
      contents.push_back(&m->content);
      actions.push_back(&m->action);
      transfer_tos.push_back(&m->transfer_to);
    }
  }
  c.prepare(kAppendTurns, kAppendTurnsSql);
  const pqxx::result stored = tx.exec_prepared(
      kAppendTurns, text_array(turn_of_message), text_array(call_uuids), text_array(domain_uuids),
      text_array(roles), text_array(contents), text_array(actions), text_array(transfer_tos));
  std::vector<bool> found(turns.size(), false);
  for (const auto& row : stored) {
    const auto turn = row[0].as<std::size_t>();
    if (turn < found.size()) found[turn] = true;
  }
  return found;
}

// The group, and when the group as a whole is refused (a malformed uuid, a check constraint), each turn on
// its own, so one bad turn fails alone. Connection loss and timeouts fail the whole group: they would fail
// each turn too.
Result<std::vector<Result<void>>> insert_turns_isolating(pqxx::connection& c,
                                                         const std::vector<TurnRow>& turns) {
  // Errors of the data (bad input, a constraint) belong to one turn. Those of the server would hit every
  // turn alike: connection (08), resources (53), operator intervention such as a statement timeout (57),
  // system (58). A lost connection is not an sql_error at all: it always propagates to the pool.
  auto of_the_data = [](const pqxx::sql_error& e) {
    const std::string_view state = e.sqlstate();
    return !(state.starts_with("08") || state.starts_with("53") || state.starts_with("57") ||
             state.starts_with("58"));
  };
  auto outcome_of = [](const std::vector<bool>& found) {
    std::vector<Result<void>> out;
    for (const bool stored : found)
      out.push_back(stored ? Result<void>() : Result<void>(make_error_code(Errc::not_found)));
    return out;
  };
  try {
    return outcome_of(insert_turns(c, turns));
  } catch (const pqxx::sql_error& e) {
    if (turns.size() == 1 || !of_the_data(e)) throw;
  }
  std::vector<Result<void>> out;
  for (const TurnRow& t : turns) {
    try {
      out.push_back(outcome_of(insert_turns(c, {t})).front());
    } catch (const pqxx::sql_error& e) {
      if (!of_the_data(e)) throw;
      // The first line only: DETAIL and LINE would quote what the caller said into the log.
      const std::string_view what = e.what();
      module_logger("store")->warn("turn of call {} not stored (SQLSTATE {}): {}", t.call_uuid, e.sqlstate(),
                                   what.substr(0, what.find('\n')));
      out.push_back(make_error_code(Errc::internal));
    }
  }
  return out;
}

}  // namespace

boost::asio::awaitable<Result<CallRecord>> CallRepository::ensure(std::string domain_uuid,
                                                                  std::string call_uuid,
                                                                  std::string secretary_id,
                                                                  std::string caller_id, std::string mode) {
  auto query = [=](pqxx::connection& c) -> Result<CallRecord> {
    pqxx::work tx(c);
    Result<CallRecord> call = ensure_in(tx, domain_uuid, call_uuid, secretary_id, caller_id, mode);
    if (call) tx.commit();
    return call;
  };
  co_return co_await db_.impl().run(std::move(query));
}

// One turn waiting for the group writer; the appending coroutine sleeps on `done` until its group is
// committed (the writer cancels the timer to wake it).
struct CallRepository::QueuedTurn {
  QueuedTurn(boost::asio::any_io_executor executor, TurnRow row_in)
      : row(std::move(row_in)), done(std::move(executor)) {}
  TurnRow row;
  Result<void> outcome;
  bool finished = false;
  boost::asio::steady_timer done;
};

CallRepository::CallRepository(Database& db) : db_(db) {}
CallRepository::~CallRepository() = default;

boost::asio::awaitable<Result<void>> CallRepository::append_turn(std::string domain_uuid,
                                                                 std::string call_uuid, CallMessage caller,
                                                                 CallMessage assistant) {
  const boost::asio::any_io_executor executor = co_await boost::asio::this_coro::executor;
  TurnRow row{std::move(domain_uuid), std::move(call_uuid), std::move(caller), std::move(assistant)};
  auto turn = std::make_shared<QueuedTurn>(executor, std::move(row));
  turn->done.expires_at(boost::asio::steady_timer::time_point::max());
  queued_turns_.push_back(turn);
  if (!writing_turns_) {
    writing_turns_ = true;
    boost::asio::co_spawn(executor, write_queued_turns(), boost::asio::detached);
  }
  if (!turn->finished) {
    boost::system::error_code woken;  // operation_aborted: the writer's cancel() is the wake-up
    co_await turn->done.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, woken));
  }
  co_return turn->outcome;
}

boost::asio::awaitable<void> CallRepository::write_queued_turns() {
  while (!queued_turns_.empty()) {
    std::vector<std::shared_ptr<QueuedTurn>> group;
    while (!queued_turns_.empty() && group.size() < kMaxTurnsPerGroup) {
      group.push_back(std::move(queued_turns_.front()));
      queued_turns_.pop_front();
    }
    std::vector<TurnRow> rows;
    rows.reserve(group.size());
    for (const auto& turn : group) rows.push_back(std::move(turn->row));  // only the writer needs them now
    auto insert = [rows = std::move(rows)](pqxx::connection& c) { return insert_turns_isolating(c, rows); };
    Result<std::vector<Result<void>>> stored = co_await db_.impl().run(std::move(insert));
    for (std::size_t i = 0; i < group.size(); ++i) {
      group[i]->outcome = stored ? (*stored)[i] : Result<void>(stored.error());
      group[i]->finished = true;
      group[i]->done.cancel();
    }
  }
  writing_turns_ = false;
}

boost::asio::awaitable<Result<void>> CallRepository::set_stats(std::string domain_uuid, std::string call_uuid,
                                                               std::string stats_json) {
  auto query = [=](pqxx::connection& c) -> Result<void> {
    pqxx::nontransaction tx(c);
    const pqxx::result updated =
        tx.exec_params("UPDATE calls SET stats = $3::jsonb WHERE call_uuid = $1::uuid AND domain_uuid = $2",
                       call_uuid, domain_uuid, stats_json);
    if (updated.affected_rows() == 0) return make_error_code(Errc::not_found);
    return {};
  };
  co_return co_await db_.impl().run(std::move(query));
}

boost::asio::awaitable<Result<std::optional<CallRecord>>> CallRepository::get(std::string domain_uuid,
                                                                              std::string call_uuid) {
  auto query = [=](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    const pqxx::result res = tx.exec_params(
        "SELECT " + call_columns() + " FROM calls WHERE call_uuid = $1::uuid AND domain_uuid = $2", call_uuid,
        domain_uuid);
    if (res.empty()) return std::optional<CallRecord>();
    CallRecord call = call_from_row(res[0]);
    load_messages(tx, call);
    return std::optional<CallRecord>(std::move(call));
  };
  co_return co_await db_.impl().run(std::move(query));
}

boost::asio::awaitable<Result<CallRecord>> CallRepository::end(std::string domain_uuid, std::string call_uuid,
                                                               CallEnd end, InCallEndTransaction also) {
  auto query = [=](pqxx::connection& c) -> Result<CallRecord> {
    pqxx::work tx(c);
    Result<CallRecord> existing = ensure_in(tx, domain_uuid, call_uuid, "", "", "turn");
    if (!existing) return existing;
    if (existing->status == "completed") {
      load_messages(tx, *existing);
      return existing;
    }
    const pqxx::result res = tx.exec_params(
        "UPDATE calls SET status = 'completed', resolution = $3, transferred_to = nullif($4, ''), "
        "duration_seconds = coalesce(nullif($5, '')::double precision, extract(epoch FROM now() - "
        "started_at)), "
        "ended_at = now() "
        "WHERE call_uuid = $1::uuid AND domain_uuid = $2 RETURNING " +
            call_columns(),
        call_uuid, domain_uuid, end.resolution, end.transferred_to,
        end.duration_seconds ? std::to_string(*end.duration_seconds) : std::string());
    CallRecord call = call_from_row(res[0]);
    load_messages(tx, call);
    if (also) also(tx, call);
    tx.commit();
    return call;
  };
  co_return co_await db_.impl().run(std::move(query));
}

}  // namespace ivr::store
