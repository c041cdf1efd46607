// Postgres implementations of the tenancy repositories and the CLI's BlockingAdmin. Every query is
// parameterised; uuids travel as text and are cast in SQL (`$1::uuid`).

#include "ivr/store/repositories.hpp"

#include <cmath>
#include <limits>

#include "ivr/core/ids.hpp"
#include "ivr/core/logging.hpp"
#include "pg_pool.hpp"

namespace ivr::store {
namespace {

constexpr std::size_t kMaxDomainName = 253;  // DNS name limit; FusionPBX domain names are host names
constexpr std::size_t kMaxLabel = 200;

constexpr const char* kStandaloneDomains =
    "SELECT domain_uuid::text, domain_name, enabled, rate_limit_per_second, rate_limit_burst,"
    " max_realtime_calls FROM domains";

// FusionPBX keeps its tenants in v_domains. domain_enabled is text ('true'/'false') in older releases and
// boolean in newer ones; `::text` reads both ('t'/'f' for a boolean). A row in our `domains` table with the
// same uuid carries the rate-limit overrides, and its `enabled` can switch the IVR off for that domain
// without touching FusionPBX.
constexpr const char* kFusionpbxDomains =
    "SELECT v.domain_uuid::text, v.domain_name,"
    " COALESCE(lower(v.domain_enabled::text) IN ('true', 't'), false) AND COALESCE(d.enabled, true),"
    " d.rate_limit_per_second, d.rate_limit_burst, d.max_realtime_calls"
    " FROM v_domains v LEFT JOIN domains d ON d.domain_uuid = v.domain_uuid";

constexpr const char* kDomainColumns =
    "domain_uuid::text, domain_name, enabled, rate_limit_per_second, rate_limit_burst, max_realtime_calls";

Domain domain_from_row(const pqxx::row& row) {
  Domain d;
  d.uuid = row[0].as<std::string>();
  d.name = row[1].as<std::string>();
  d.enabled = row[2].as<bool>();
  // Debian's libpqxx has no std::optional support: test for NULL by hand.
  if (!row[3].is_null()) d.rate_limit_per_second = row[3].as<double>();
  if (!row[4].is_null()) d.rate_limit_burst = row[4].as<double>();
  if (!row[5].is_null()) d.max_realtime_calls = row[5].as<std::int64_t>();
  return d;
}

Errc missing_v_domains() {
  module_logger("store")->error(
      "tenancy.domain_source is 'fusionpbx' but table v_domains does not exist: point database.url at the "
      "FusionPBX database or use domain_source 'standalone'");
  return Errc::config_invalid;
}

// A nullable query parameter: libpqxx 6.4 sends a null `const char*` as SQL NULL.
const char* nullable(const std::optional<std::string>& value) {
  return value ? value->c_str() : nullptr;
}

std::optional<std::string> number_text(std::optional<double> value) {
  if (!value) return std::nullopt;
  return pqxx::to_string(*value);
}

bool valid_domain_name(const std::string& name) {
  if (name.empty() || name.size() > kMaxDomainName) return false;
  for (const unsigned char c : name) {
    if (c <= ' ' || c == 0x7f) return false;  // no spaces or control characters
  }
  return true;
}

class PgDomainDirectory final : public DomainDirectory {
 public:
  PgDomainDirectory(Database& db, DomainSource source) : db_(db), source_(source) {}

  boost::asio::awaitable<Result<std::optional<Domain>>> find(std::string uuid) override {
    // Callers validate, but a malformed value must not reach the `::uuid` cast (it would be a 500).
    std::optional<std::string> normalized = normalize_uuid(uuid);
    if (!normalized) co_return std::optional<Domain>();
    const bool fusionpbx = source_ == DomainSource::fusionpbx;
    auto query = [fusionpbx,
                  id = std::move(*normalized)](pqxx::connection& conn) -> Result<std::optional<Domain>> {
      const std::string sql = fusionpbx ? std::string(kFusionpbxDomains) + " WHERE v.domain_uuid = $1::uuid"
                                        : std::string(kStandaloneDomains) + " WHERE domain_uuid = $1::uuid";
      try {
        pqxx::read_transaction tx(conn);
        const pqxx::result rows = tx.exec_params(sql, id);
        if (rows.empty()) return std::optional<Domain>();
        return std::optional<Domain>(domain_from_row(rows[0]));
      } catch (const pqxx::undefined_table&) {
        if (!fusionpbx) throw;
        return missing_v_domains();
      }
    };
    co_return co_await db_.impl().run(std::move(query));
  }

 private:
  Database& db_;
  DomainSource source_;
};

class PgTokenStore final : public TokenStore {
 public:
  explicit PgTokenStore(Database& db) : db_(db) {}

  boost::asio::awaitable<Result<std::optional<TokenRecord>>> find_by_hash(std::string sha256_hex) override {
    auto query = [hash =
                      std::move(sha256_hex)](pqxx::connection& conn) -> Result<std::optional<TokenRecord>> {
      pqxx::read_transaction tx(conn);
      const pqxx::result rows = tx.exec_params(
          "SELECT token_id::text, scope, domain_uuid::text, revoked_at IS NOT NULL FROM api_tokens"
          " WHERE token_hash = $1",
          hash);
      if (rows.empty()) return std::optional<TokenRecord>();
      const pqxx::row row = rows[0];
      TokenRecord record;
      record.id = row[0].as<std::string>();
      const std::optional<TokenScope> scope = parse_token_scope(row[1].as<std::string>());
      if (!scope) {
        // The CHECK constraint makes this impossible unless the schema was edited by hand.
        module_logger("store")->error("api token {} has unknown scope '{}'", record.id,
                                      row[1].as<std::string>());
        return Errc::internal;
      }
      record.scope = *scope;
      if (!row[2].is_null()) record.domain_uuid = row[2].as<std::string>();
      record.revoked = row[3].as<bool>();
      return std::optional<TokenRecord>(std::move(record));
    };
    co_return co_await db_.impl().run(std::move(query));
  }

 private:
  Database& db_;
};

}  // namespace

std::string_view to_string(TokenScope scope) {
  switch (scope) {
    case TokenScope::call:
      return "call";
    case TokenScope::admin:
      return "admin";
  }
  return "call";
}

std::optional<TokenScope> parse_token_scope(std::string_view text) {
  if (text == "call") return TokenScope::call;
  if (text == "admin") return TokenScope::admin;
  return std::nullopt;
}

std::unique_ptr<DomainDirectory> make_pg_domain_directory(Database& db, DomainSource source) {
  return std::make_unique<PgDomainDirectory>(db, source);
}

std::unique_ptr<TokenStore> make_pg_token_store(Database& db) {
  return std::make_unique<PgTokenStore>(db);
}

// ---- BlockingAdmin ----

Result<Domain> BlockingAdmin::blocking_add_domain(const std::string& name,
                                                  const std::optional<std::string>& uuid) {
  if (!valid_domain_name(name)) return Errc::bad_request;
  std::optional<std::string> id;
  if (uuid) {
    id = normalize_uuid(*uuid);
    if (!id) return Errc::invalid_domain_uuid;
  }
  auto insert = [&](pqxx::connection& conn) -> Result<Domain> {
    try {
      pqxx::work tx(conn);
      const std::string returning = std::string(" RETURNING ") + kDomainColumns;
      const pqxx::result rows =
          id ? tx.exec_params(
                   "INSERT INTO domains (domain_uuid, domain_name) VALUES ($1::uuid, $2)" + returning, *id,
                   name)
             : tx.exec_params("INSERT INTO domains (domain_name) VALUES ($1)" + returning, name);
      Domain domain = domain_from_row(rows.at(0));
      tx.commit();
      return domain;
    } catch (const pqxx::unique_violation&) {
      return Errc::conflict;  // same name or same uuid
    }
  };
  return db_.impl().blocking_run(insert);
}

Result<std::vector<Domain>> BlockingAdmin::blocking_list_domains(DomainSource source) {
  auto list = [source](pqxx::connection& conn) -> Result<std::vector<Domain>> {
    const bool fusionpbx = source == DomainSource::fusionpbx;
    try {
      pqxx::read_transaction tx(conn);
      const pqxx::result rows =
          tx.exec(fusionpbx ? std::string(kFusionpbxDomains) + " ORDER BY v.domain_name, v.domain_uuid"
                            : std::string(kStandaloneDomains) + " ORDER BY domain_name");
      std::vector<Domain> domains;
      domains.reserve(rows.size());
      for (const auto& row : rows) domains.push_back(domain_from_row(row));
      return domains;
    } catch (const pqxx::undefined_table&) {
      if (!fusionpbx) throw;
      return missing_v_domains();
    }
  };
  return db_.impl().blocking_run(list);
}

// Both setters act on our `domains` table. In FusionPBX mode, add the domain there first (same uuid) to
// give it overrides: FusionPBX's own tables are never written.
Result<void> BlockingAdmin::blocking_set_domain_enabled(const std::string& uuid, bool enabled) {
  const std::optional<std::string> id = normalize_uuid(uuid);
  if (!id) return Errc::invalid_domain_uuid;
  auto update = [&](pqxx::connection& conn) -> Result<void> {
    pqxx::work tx(conn);
    const pqxx::result r = tx.exec_params(
        "UPDATE domains SET enabled = $2, updated_at = now() WHERE domain_uuid = $1::uuid", *id, enabled);
    if (r.affected_rows() == 0) return Errc::unknown_domain;
    tx.commit();
    return {};
  };
  return db_.impl().blocking_run(update);
}

Result<void> BlockingAdmin::blocking_set_domain_rate_limit(const std::string& uuid,
                                                           std::optional<double> per_second,
                                                           std::optional<double> burst) {
  const std::optional<std::string> id = normalize_uuid(uuid);
  if (!id) return Errc::invalid_domain_uuid;
  const auto positive = [](std::optional<double> v) { return !v || (std::isfinite(*v) && *v > 0); };
  if (!positive(per_second) || !positive(burst)) return Errc::bad_request;
  const std::optional<std::string> rate = number_text(per_second);
  const std::optional<std::string> cap = number_text(burst);
  auto update = [&](pqxx::connection& conn) -> Result<void> {
    pqxx::work tx(conn);
    const pqxx::result r = tx.exec_params(
        "UPDATE domains SET rate_limit_per_second = $2::double precision, rate_limit_burst = $3::double "
        "precision,"
        " updated_at = now() WHERE domain_uuid = $1::uuid",
        *id, nullable(rate), nullable(cap));
    if (r.affected_rows() == 0) return Errc::unknown_domain;
    tx.commit();
    return {};
  };
  return db_.impl().blocking_run(update);
}

Result<void> BlockingAdmin::blocking_set_domain_realtime_limit(const std::string& uuid,
                                                               std::optional<std::int64_t> max_calls) {
  const std::optional<std::string> id = normalize_uuid(uuid);
  if (!id) return Errc::invalid_domain_uuid;
  if (max_calls && (*max_calls < 0 || *max_calls > std::numeric_limits<std::int32_t>::max())) {
    return Errc::bad_request;
  }
  const std::optional<std::string> cap = max_calls ? std::optional(std::to_string(*max_calls)) : std::nullopt;
  auto update = [&](pqxx::connection& conn) -> Result<void> {
    pqxx::work tx(conn);
    const pqxx::result r = tx.exec_params(
        "UPDATE domains SET max_realtime_calls = $2::integer, updated_at = now() WHERE domain_uuid = "
        "$1::uuid",
        *id, nullable(cap));
    if (r.affected_rows() == 0) return Errc::unknown_domain;
    tx.commit();
    return {};
  };
  return db_.impl().blocking_run(update);
}

Result<CreatedToken> BlockingAdmin::blocking_create_token(TokenScope scope,
                                                          const std::optional<std::string>& domain_uuid,
                                                          const std::string& label) {
  std::optional<std::string> domain;
  if (domain_uuid) {
    domain = normalize_uuid(*domain_uuid);
    if (!domain) return Errc::invalid_domain_uuid;
  }
  if (label.size() > kMaxLabel) return Errc::bad_request;
  CreatedToken created;
  created.token = generate_api_token();
  const std::string hash = sha256_hex(created.token);
  const std::string scope_text(to_string(scope));
  auto insert = [&](pqxx::connection& conn) -> Result<std::string> {
    pqxx::work tx(conn);
    const pqxx::result rows = tx.exec_params(
        "INSERT INTO api_tokens (token_hash, scope, domain_uuid, label) VALUES ($1, $2, $3::uuid, $4)"
        " RETURNING token_id::text",
        hash, scope_text, nullable(domain), label);
    std::string id = rows.at(0)[0].as<std::string>();
    tx.commit();
    return id;
  };
  Result<std::string> id = db_.impl().blocking_run(insert);
  if (!id) return id.error();
  created.id = std::move(*id);
  return created;
}

Result<void> BlockingAdmin::blocking_revoke_token(const std::string& id) {
  const std::optional<std::string> token_id = normalize_uuid(id);
  if (!token_id) return Errc::bad_request;
  auto revoke = [&](pqxx::connection& conn) -> Result<void> {
    pqxx::work tx(conn);
    // Revoking twice keeps the first revocation time.
    const pqxx::result r = tx.exec_params(
        "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE token_id = $1::uuid",
        *token_id);
    if (r.affected_rows() == 0) return Errc::not_found;
    tx.commit();
    return {};
  };
  return db_.impl().blocking_run(revoke);
}

}  // namespace ivr::store
