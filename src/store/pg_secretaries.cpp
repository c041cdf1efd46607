#include "ivr/store/secretaries.hpp"

#include "ivr/core/ids.hpp"
#include "pg_pool.hpp"

namespace ivr::store {
namespace {

constexpr const char* kColumns =
    "secretary_id::text, domain_uuid::text, name, language, greeting, system_prompt, voice, mode, "
    "settings::text, "
    "is_default, enabled, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
    "to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";

SecretaryRecord from_row(const pqxx::row& row) {
  SecretaryRecord r;
  r.id = row[0].c_str();
  r.domain_uuid = row[1].c_str();
  r.name = row[2].c_str();
  r.language = row[3].c_str();
  r.greeting = row[4].c_str();
  r.system_prompt = row[5].c_str();
  r.voice = row[6].c_str();
  r.mode = row[7].c_str();
  r.settings_json = row[8].c_str();
  r.is_default = row[9].as<bool>();
  r.enabled = row[10].as<bool>();
  r.created_at = row[11].c_str();
  r.updated_at = row[12].c_str();
  return r;
}

bool is_unique_violation(const pqxx::sql_error& e) {
  return e.sqlstate() == "23505";
}

Result<SecretaryRecord> insert(pqxx::connection& c, const SecretaryRecord& r) {
  pqxx::work tx(c);
  if (r.is_default) {
    tx.exec_params("UPDATE secretaries SET is_default = false WHERE domain_uuid = $1 AND is_default",
                   r.domain_uuid);
  }
  try {
    pqxx::subtransaction sub(tx);
    const pqxx::result res = sub.exec_params(
        std::string(
            "INSERT INTO secretaries (domain_uuid, name, language, greeting, system_prompt, voice, mode, "
            "settings, is_default, enabled) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10) "
            "RETURNING ") +
            kColumns,
        r.domain_uuid, r.name, r.language, r.greeting, r.system_prompt, r.voice, r.mode, r.settings_json,
        r.is_default, r.enabled);
    sub.commit();
    tx.commit();
    return from_row(res[0]);
  } catch (const pqxx::sql_error& e) {
    if (is_unique_violation(e)) return make_error_code(Errc::conflict);
    throw;
  }
}

Result<SecretaryRecord> ensure_default_on(pqxx::connection& c, const SecretaryRecord& record) {
  {
    pqxx::work tx(c);
    // Several instances may race to create it: the partial unique index keeps exactly one.
    tx.exec_params(
        "INSERT INTO secretaries (domain_uuid, name, language, greeting, system_prompt, voice, mode, "
        "settings, "
        "is_default, enabled) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, true, true) ON CONFLICT DO "
        "NOTHING",
        record.domain_uuid, record.name, record.language, record.greeting, record.system_prompt, record.voice,
        record.mode, record.settings_json);
    tx.commit();
  }
  pqxx::read_transaction tx(c);
  const pqxx::result res = tx.exec_params(
      std::string("SELECT ") + kColumns + " FROM secretaries WHERE domain_uuid = $1 AND is_default",
      record.domain_uuid);
  if (res.empty()) return make_error_code(Errc::conflict);  // a non-default secretary already holds the name
  return from_row(res[0]);
}

}  // namespace

boost::asio::awaitable<Result<std::vector<SecretaryRecord>>> SecretaryRepository::list(
    std::string domain_uuid) {
  auto query = [domain_uuid](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    std::vector<SecretaryRecord> out;
    for (const auto& row :
         tx.exec_params(std::string("SELECT ") + kColumns +
                            " FROM secretaries WHERE domain_uuid = $1 ORDER BY is_default DESC, name",
                        domain_uuid)) {
      out.push_back(from_row(row));
    }
    return out;
  };
  co_return co_await db_.impl().run(std::move(query));
}

boost::asio::awaitable<Result<std::optional<SecretaryRecord>>> SecretaryRepository::get(
    std::string domain_uuid, std::string id) {
  if (!is_valid_uuid(id)) co_return std::optional<SecretaryRecord>();
  auto query = [domain_uuid, id](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    const pqxx::result res =
        tx.exec_params(std::string("SELECT ") + kColumns +
                           " FROM secretaries WHERE domain_uuid = $1 AND secretary_id = $2::uuid",
                       domain_uuid, id);
    return res.empty() ? std::optional<SecretaryRecord>() : std::optional<SecretaryRecord>(from_row(res[0]));
  };
  co_return co_await db_.impl().run(std::move(query));
}

boost::asio::awaitable<Result<std::optional<SecretaryRecord>>> SecretaryRepository::get_default(
    std::string domain_uuid) {
  auto query = [domain_uuid](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    const pqxx::result res = tx.exec_params(
        std::string("SELECT ") + kColumns + " FROM secretaries WHERE domain_uuid = $1 AND is_default",
        domain_uuid);
    return res.empty() ? std::optional<SecretaryRecord>() : std::optional<SecretaryRecord>(from_row(res[0]));
  };
  co_return co_await db_.impl().run(std::move(query));
}

boost::asio::awaitable<Result<SecretaryRecord>> SecretaryRepository::create(SecretaryRecord record) {
  auto query = [record](pqxx::connection& c) { return insert(c, record); };
  co_return co_await db_.impl().run(std::move(query));
}

boost::asio::awaitable<Result<SecretaryRecord>> SecretaryRepository::update(SecretaryRecord r) {
  if (!is_valid_uuid(r.id)) co_return make_error_code(Errc::not_found);
  auto query = [r](pqxx::connection& c) -> Result<SecretaryRecord> {
    pqxx::work tx(c);
    if (r.is_default) {
      tx.exec_params(
          "UPDATE secretaries SET is_default = false WHERE domain_uuid = $1 AND is_default AND secretary_id "
          "<> "
          "$2::uuid",
          r.domain_uuid, r.id);
    }
    try {
      pqxx::subtransaction sub(tx);
      const pqxx::result res = sub.exec_params(
          std::string("UPDATE secretaries SET name = $3, language = $4, greeting = $5, system_prompt = $6, "
                      "voice = $7, "
                      "mode = $8, settings = $9::jsonb, is_default = $10, enabled = $11, updated_at = now() "
                      "WHERE domain_uuid = $1 AND secretary_id = $2::uuid RETURNING ") +
              kColumns,
          r.domain_uuid, r.id, r.name, r.language, r.greeting, r.system_prompt, r.voice, r.mode,
          r.settings_json, r.is_default, r.enabled);
      if (res.empty()) return make_error_code(Errc::not_found);
      sub.commit();
      tx.commit();
      return from_row(res[0]);
    } catch (const pqxx::sql_error& e) {
      if (is_unique_violation(e)) return make_error_code(Errc::conflict);
      throw;
    }
  };
  co_return co_await db_.impl().run(std::move(query));
}

boost::asio::awaitable<Result<void>> SecretaryRepository::remove(std::string domain_uuid, std::string id) {
  if (!is_valid_uuid(id)) co_return make_error_code(Errc::not_found);
  auto query = [domain_uuid, id](pqxx::connection& c) -> Result<void> {
    pqxx::work tx(c);
    const pqxx::result res = tx.exec_params(
        "DELETE FROM secretaries WHERE domain_uuid = $1 AND secretary_id = $2::uuid", domain_uuid, id);
    if (res.affected_rows() == 0) return make_error_code(Errc::not_found);
    tx.commit();
    return {};
  };
  co_return co_await db_.impl().run(std::move(query));
}

Result<SecretaryRecord> SecretaryRepository::blocking_ensure_default(SecretaryRecord record) {
  return db_.impl().blocking_run([&record](pqxx::connection& c) { return ensure_default_on(c, record); });
}

boost::asio::awaitable<Result<SecretaryRecord>> SecretaryRepository::ensure_default(SecretaryRecord record) {
  auto query = [record](pqxx::connection& c) { return ensure_default_on(c, record); };
  co_return co_await db_.impl().run(std::move(query));
}

}  // namespace ivr::store
