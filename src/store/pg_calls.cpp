#include "ivr/store/calls.hpp"

#include <nlohmann/json.hpp>

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

boost::asio::awaitable<Result<void>> CallRepository::append_turn(std::string domain_uuid,
                                                                 std::string call_uuid, CallMessage caller,
                                                                 CallMessage assistant) {
  // One statement, so one round trip and its own implicit transaction: the hot path of every turn. The
  // messages are inserted only when the call row of this domain exists (and its turn count is bumped).
  auto query = [=](pqxx::connection& c) -> Result<void> {
    pqxx::nontransaction tx(c);
    const pqxx::result inserted = tx.exec_params(
        "WITH owned AS (UPDATE calls SET turns = turns + 1 WHERE call_uuid = $1::uuid AND domain_uuid = $2 "
        "RETURNING call_uuid, domain_uuid) "
        "INSERT INTO call_messages (call_uuid, domain_uuid, role, content, action, transfer_to) "
        "SELECT owned.call_uuid, owned.domain_uuid, m.role, m.content, nullif(m.action, ''), "
        "nullif(m.transfer_to, '') FROM owned, (VALUES (1, $3, $4, $5, $6), (2, $7, $8, $9, $10)) "
        "AS m(ord, role, content, action, transfer_to) ORDER BY m.ord",
        call_uuid, domain_uuid, caller.role, caller.content, caller.action, caller.transfer_to,
        assistant.role, assistant.content, assistant.action, assistant.transfer_to);
    if (inserted.affected_rows() == 0) return make_error_code(Errc::not_found);
    return {};
  };
  co_return co_await db_.impl().run(std::move(query));
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
