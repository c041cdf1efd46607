#pragma once
// Tenancy data: domains (standalone table or FusionPBX v_domains) and API tokens.
// Interfaces at the seam so middleware can be tested with fakes.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "ivr/core/errors.hpp"

namespace ivr::store {

class Database;

struct Domain {
  std::string uuid;  // lower-case canonical
  std::string name;  // e.g. "pbx.example.com"; also the FreeSWITCH dialplan context in FusionPBX
  bool enabled = true;
  // Per-domain overrides of the rate limit; nullopt = the configured default.
  std::optional<double> rate_limit_per_second;
  std::optional<double> rate_limit_burst;
  // Its cap on concurrent realtime calls: nullopt = realtime.max_calls_per_domain, 0 = no cap.
  std::optional<std::int64_t> max_realtime_calls;
};

enum class DomainSource { standalone, fusionpbx };

class DomainDirectory {
 public:
  virtual ~DomainDirectory() = default;
  // nullopt when unknown. Disabled domains are returned with enabled=false. Errc::unavailable if the
  // database is down. `uuid` is already validated and lower-case.
  virtual boost::asio::awaitable<Result<std::optional<Domain>>> find(std::string uuid) = 0;
};

enum class TokenScope { call, admin };
std::string_view to_string(TokenScope scope);
std::optional<TokenScope> parse_token_scope(std::string_view text);

struct TokenRecord {
  std::string id;  // uuid of the token row
  TokenScope scope = TokenScope::call;
  std::optional<std::string> domain_uuid;  // bound to one domain, or any domain when empty
  bool revoked = false;
};

class TokenStore {
 public:
  virtual ~TokenStore() = default;
  // Looks a token up by the SHA-256 hex of its text. nullopt when unknown.
  virtual boost::asio::awaitable<Result<std::optional<TokenRecord>>> find_by_hash(std::string sha256_hex) = 0;
};

// Postgres implementations (queries on the db pool).
std::unique_ptr<DomainDirectory> make_pg_domain_directory(Database& db, DomainSource source);
std::unique_ptr<TokenStore> make_pg_token_store(Database& db);

// Administration for the CLI; these block (run them outside the io_context).
struct CreatedToken {
  std::string id;
  std::string token;  // plaintext, shown once
};

class BlockingAdmin {
 public:
  explicit BlockingAdmin(Database& db) : db_(db) {}
  // Inserts into `domains` (standalone). Creates a uuid when none given. Errc::conflict on duplicate.
  Result<Domain> blocking_add_domain(const std::string& name, const std::optional<std::string>& uuid);
  Result<std::vector<Domain>> blocking_list_domains(DomainSource source);
  // Errc::unknown_domain when no such row.
  Result<void> blocking_set_domain_enabled(const std::string& uuid, bool enabled);
  Result<void> blocking_set_domain_rate_limit(const std::string& uuid, std::optional<double> per_second,
                                              std::optional<double> burst);
  // nullopt: back to the configured default. Errc::unknown_domain when no such row.
  Result<void> blocking_set_domain_realtime_limit(const std::string& uuid,
                                                  std::optional<std::int64_t> max_calls);
  Result<CreatedToken> blocking_create_token(TokenScope scope, const std::optional<std::string>& domain_uuid,
                                             const std::string& label);
  Result<void> blocking_revoke_token(const std::string& id);

 private:
  Database& db_;
};

}  // namespace ivr::store
