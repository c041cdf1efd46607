// The outbox's producer and status side: validation, inserts (in the caller's transaction or in one of
// our own), the delivery history, the signature and the backoff schedule. Every query is parameterised;
// uuids travel as text and are cast in SQL.

#include "ivr/webhooks/outbox.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <boost/url/parse.hpp>
#include <nlohmann/json.hpp>

#include "../store/pg_pool.hpp"  // Database::Impl::run: the store's pool is the one way to Postgres
#include "ivr/core/ids.hpp"
#include "ivr/core/logging.hpp"
#include "ivr/store/database.hpp"
#include "ivr/webhooks/outbox_sql.hpp"

namespace ivr::webhooks {
namespace {

constexpr std::size_t kMaxEvent = 100;
constexpr std::size_t kMaxUrl = 2048;
constexpr std::size_t kMaxDedupeKey = 200;
constexpr std::size_t kMaxListLimit = 500;

// Times as ISO 8601 UTC text, ready for the JSON API.
constexpr const char* kListSql =
    "SELECT id, event, status, attempts, last_status_code, last_error,"
    " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
    " to_char(delivered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
    " to_char(next_attempt_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
    " FROM webhook_outbox WHERE domain_uuid = $1::uuid ORDER BY id DESC LIMIT $2";

// libpqxx 6.4 sends a null `const char*` as SQL NULL.
const char* nullable(const std::optional<std::string>& value) {
  return value ? value->c_str() : nullptr;
}

bool valid_event(std::string_view event) {
  if (event.empty() || event.size() > kMaxEvent) return false;
  return std::all_of(event.begin(), event.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  });
}

bool valid_target_url(const std::string& url) {
  if (url.size() > kMaxUrl) return false;
  // Lower-case scheme: the table's CHECK (and every receiver we know) expects it.
  if (!url.starts_with("http://") && !url.starts_with("https://")) return false;
  auto parsed = boost::urls::parse_absolute_uri(url);
  return parsed.has_value() && parsed->has_authority() && !parsed->encoded_host().empty();
}

}  // namespace

std::string validation_error(const OutboxEntry& entry) {
  if (!is_valid_uuid(entry.domain_uuid)) return "domain_uuid is not a uuid";
  if (!valid_event(entry.event)) return "event must be 1..100 characters of [a-z0-9_.-]";
  if (!valid_target_url(entry.target_url)) return "target_url must be an absolute http(s) URL with a host";
  if (entry.secret_sealed && entry.secret_sealed->empty()) return "secret_sealed is empty (use nullopt)";
  if (!nlohmann::json::accept(entry.payload_json)) return "payload_json is not JSON";
  // jsonb refuses the NUL character; say so here instead of failing in SQL.
  if (entry.payload_json.find("\\u0000") != std::string::npos) return "payload_json contains \\u0000";
  if (entry.dedupe_key && (entry.dedupe_key->empty() || entry.dedupe_key->size() > kMaxDedupeKey)) {
    return "dedupe_key must be 1..200 characters";
  }
  return {};
}

std::optional<std::int64_t> blocking_enqueue_webhook(pqxx::transaction_base& tx, const OutboxEntry& entry) {
  if (std::string error = validation_error(entry); !error.empty()) throw std::invalid_argument(error);
  const std::string domain = *normalize_uuid(entry.domain_uuid);
  const pqxx::result rows = tx.exec_params(
      "INSERT INTO webhook_outbox (domain_uuid, event, target_url, secret_sealed, payload, dedupe_key)"
      " VALUES ($1::uuid, $2, $3, $4, $5::jsonb, $6)"
      " ON CONFLICT ON CONSTRAINT webhook_outbox_dedupe_key DO NOTHING RETURNING id",
      domain, entry.event, entry.target_url, nullable(entry.secret_sealed), entry.payload_json,
      nullable(entry.dedupe_key));
  if (rows.empty()) return std::nullopt;
  return rows[0][0].as<std::int64_t>();
}

boost::asio::awaitable<Result<std::optional<std::int64_t>>> enqueue(store::Database& db, OutboxEntry entry) {
  if (std::string error = validation_error(entry); !error.empty()) {
    module_logger("webhooks")
        ->warn("{} webhook {} not queued: {}", LogContext{{}, entry.domain_uuid, {}}, entry.event, error);
    co_return Errc::unprocessable;
  }
  auto insert = [entry = std::move(entry)](pqxx::connection& conn) {
    pqxx::work tx(conn);
    std::optional<std::int64_t> id = blocking_enqueue_webhook(tx, entry);
    tx.commit();
    return id;
  };
  co_return co_await db.impl().run(std::move(insert));
}

boost::asio::awaitable<Result<std::vector<DeliveryRecord>>> recent_deliveries(store::Database& db,
                                                                              std::string domain_uuid,
                                                                              std::size_t limit) {
  std::optional<std::string> domain = normalize_uuid(domain_uuid);
  if (!domain) co_return Errc::invalid_domain_uuid;
  const auto capped = static_cast<long>(std::clamp<std::size_t>(limit, 1, kMaxListLimit));
  auto query = [domain = std::move(*domain), capped](pqxx::connection& conn) {
    pqxx::read_transaction tx(conn);
    const pqxx::result rows = tx.exec_params(kListSql, domain, capped);
    std::vector<DeliveryRecord> out;
    out.reserve(rows.size());
    for (const pqxx::row& row : rows) {
      DeliveryRecord r;
      r.id = row[0].as<std::int64_t>();
      r.event = row[1].as<std::string>();
      r.status = row[2].as<std::string>();
      r.attempts = row[3].as<int>();
      // Debian's libpqxx has no std::optional support: test for NULL by hand.
      if (!row[4].is_null()) r.last_status_code = row[4].as<int>();
      if (!row[5].is_null()) r.last_error = row[5].as<std::string>();
      r.created_at = row[6].as<std::string>();
      if (!row[7].is_null()) r.delivered_at = row[7].as<std::string>();
      r.next_attempt_at = row[8].as<std::string>();
      out.push_back(std::move(r));
    }
    return out;
  };
  co_return co_await db.impl().run(std::move(query));
}

std::string webhook_signature(std::string_view secret, std::int64_t unix_seconds, std::string_view body) {
  const std::string message = std::to_string(unix_seconds) + "." + std::string(body);
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_len = 0;
  // HMAC() one-shot (not the HMAC_CTX API, deprecated in OpenSSL 3).
  const unsigned char* ok =
      HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac.data(), &mac_len);
  if (ok == nullptr) throw std::runtime_error("HMAC-SHA256 failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256=";
  out.reserve(out.size() + 2 * mac_len);
  for (unsigned int i = 0; i < mac_len; ++i) {
    out.push_back(kHex[mac[i] >> 4]);
    out.push_back(kHex[mac[i] & 0x0f]);
  }
  return out;
}

std::chrono::milliseconds backoff_delay(int attempt, std::chrono::milliseconds initial,
                                        std::chrono::milliseconds max, double jitter,
                                        double random01) noexcept {
  const int doublings = std::clamp(attempt, 1, 62) - 1;
  // In double: initial·2^61 would overflow an integer long before the cap applies.
  double delay = static_cast<double>(initial.count()) * std::ldexp(1.0, doublings);
  delay = std::min(delay, static_cast<double>(max.count()));
  delay *= 1.0 - std::clamp(jitter, 0.0, 1.0) * std::clamp(random01, 0.0, 1.0);
  return std::chrono::milliseconds(std::llround(std::max(delay, 0.0)));
}

std::string validation_error(const WebhookSenderConfig& config) {
  using namespace std::chrono_literals;
  if (config.poll_interval <= 0ms) return "poll_interval must be positive";
  if (config.max_in_flight == 0) return "max_in_flight must be at least 1";
  if (config.initial_backoff < 0ms || config.max_backoff < config.initial_backoff) {
    return "backoff must satisfy 0 <= initial_backoff <= max_backoff";
  }
  if (!(config.jitter >= 0.0 && config.jitter <= 1.0)) return "jitter must be within 0..1";
  if (config.max_attempts < 1) return "max_attempts must be at least 1";
  if (config.max_age <= 0ms) return "max_age must be positive";
  if (config.connect_timeout <= 0ms || config.request_timeout <= 0ms) return "timeouts must be positive";
  if (config.lease <= config.request_timeout + config.connect_timeout) {
    return "lease must exceed connect_timeout + request_timeout";
  }
  if (config.version.empty()) return "version must not be empty";
  return {};
}

}  // namespace ivr::webhooks
