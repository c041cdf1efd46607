#pragma once
// Per-domain secretaries as rows. The typed view (provider chains, transfer targets…) is the
// conversation module's business: here settings are an opaque JSON object text.
// Every function filters on domain_uuid: one tenant can never read or change another's secretary.

#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "ivr/core/errors.hpp"

namespace ivr::store {

class Database;

struct SecretaryRecord {
  std::string id;
  std::string domain_uuid;
  std::string name;
  std::string language = "pt-BR";
  std::string greeting;
  std::string system_prompt;
  std::string voice;
  std::string mode = "turn";
  std::string settings_json = "{}";
  bool is_default = false;
  bool enabled = true;
  std::string created_at;  // ISO 8601
  std::string updated_at;
};

class SecretaryRepository {
 public:
  explicit SecretaryRepository(Database& db) : db_(db) {}

  boost::asio::awaitable<Result<std::vector<SecretaryRecord>>> list(std::string domain_uuid);
  // nullopt when no such secretary in this domain (or `id` is not a uuid).
  boost::asio::awaitable<Result<std::optional<SecretaryRecord>>> get(std::string domain_uuid, std::string id);
  boost::asio::awaitable<Result<std::optional<SecretaryRecord>>> get_default(std::string domain_uuid);
  // Inserts; fills id/created_at/updated_at. Errc::conflict when the name is taken in the domain.
  // When record.is_default, the previous default loses the flag in the same transaction.
  boost::asio::awaitable<Result<SecretaryRecord>> create(SecretaryRecord record);
  // Replaces every field of (domain_uuid, id). Errc::not_found / Errc::conflict.
  boost::asio::awaitable<Result<SecretaryRecord>> update(SecretaryRecord record);
  // Errc::not_found when absent.
  boost::asio::awaitable<Result<void>> remove(std::string domain_uuid, std::string id);
  // Inserts `record` as the domain's default unless the domain already has one; returns the default.
  boost::asio::awaitable<Result<SecretaryRecord>> ensure_default(SecretaryRecord record);
  Result<SecretaryRecord> blocking_ensure_default(SecretaryRecord record);

 private:
  Database& db_;
};

}  // namespace ivr::store
