#pragma once
// Webhooks to a tenant's helpdesk: an outbox table in Postgres (webhook_outbox) and a sender that delivers
// its rows over HTTP with retries and signatures. Producers write a row in the same transaction as the
// change it reports (outbox_sql.hpp) or on their own (enqueue below); the sender claims due rows with
// FOR UPDATE SKIP LOCKED, so several daemon instances share the work and nothing is lost across a restart.
//
// Delivery is at least once: a row whose sender dies (or is stopped) mid-request is sent again. Receivers
// deduplicate on X-Webhook-Id, which is stable across retries.
//
// What a receiver gets (POST <target_url>):
//   Content-Type: application/json
//   User-Agent: voice-ai-ivr/<version>
//   X-Webhook-Event: <event>                (e.g. call_completed, ticket_requested)
//   X-Webhook-Id: <outbox row id>           (decimal; the same on every retry of one event)
//   X-Webhook-Timestamp: <unix seconds>     (time of this attempt)
//   X-Webhook-Signature: sha256=<hex>       (only when the webhook has a secret)
//   body: the event's JSON payload
//
// Verifying a signature (the scheme Stripe uses, with our header names):
//   1. signed = X-Webhook-Timestamp + "." + the raw request body (bytes as received, before any parsing);
//   2. expected = "sha256=" + lower-case hex of HMAC-SHA256(key = the webhook secret, message = signed);
//   3. compare expected with X-Webhook-Signature in constant time;
//   4. reject a timestamp more than a few minutes from your clock (replays), and remember X-Webhook-Id to
//      drop duplicates.
//
// Backoff: after a failed attempt n (1-based), the next one waits initial_backoff·2^(n-1), capped at
// max_backoff, shortened by up to `jitter` of itself at random so a helpdesk outage does not end in a
// thundering herd. A row fails for good once it had max_attempts attempts or is older than max_age.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "ivr/core/errors.hpp"

namespace boost::asio {
class io_context;
}

namespace ivr {
class MetricsRegistry;
class SecretBox;
namespace net {
class HttpClient;
}
namespace store {
class Database;
}
}  // namespace ivr

namespace ivr::webhooks {

// One event to deliver.
struct OutboxEntry {
  std::string domain_uuid;  // canonical uuid (any case; stored lower-case)
  std::string event;        // e.g. "call_completed"; 1..100 chars of [a-z0-9_.-]
  std::string target_url;   // absolute http:// or https:// URL
  // The signing secret as ivr::SecretBox::seal(secret, <domain_uuid in lower case>) produced it (what the
  // secretary's settings store); nullopt = unsigned deliveries.
  std::optional<std::string> secret_sealed;
  std::string payload_json;  // the body: a JSON value (normally an object); stored as jsonb
  // With the same (domain_uuid, event, dedupe_key) an event is queued only once (e.g. the call uuid).
  std::optional<std::string> dedupe_key;
};

// Why `entry` cannot be queued, or an empty string when it can. Checks the uuid, the event name, the
// URL's scheme and host and that the payload is JSON.
std::string validation_error(const OutboxEntry& entry);

// Queues `entry` in its own transaction on the db pool. Returns the new row's id, or nullopt when the
// dedupe key was already queued. Errors: Errc::unprocessable (validation_error() is non-empty; logged),
// Errc::unavailable / Errc::timeout / Errc::internal as Database::Impl::run maps them. Call from the io
// thread; `db` must outlive the call. Follow with WebhookSender::notify() for immediate delivery (or use
// WebhookSender::enqueue, which does both).
boost::asio::awaitable<Result<std::optional<std::int64_t>>> enqueue(store::Database& db, OutboxEntry entry);

// A row of a domain's delivery history, for the status API. Times are ISO 8601 in UTC
// ("2024-05-01T12:00:00.123Z").
struct DeliveryRecord {
  std::int64_t id = 0;
  std::string event;
  std::string status;  // pending, delivering, delivered, failed
  int attempts = 0;
  std::optional<int> last_status_code;  // HTTP status of the last attempt; nullopt if it got no answer
  std::optional<std::string> last_error;
  std::string created_at;
  std::optional<std::string> delivered_at;
  std::string next_attempt_at;  // pending: the next try; delivering: the claim's lease expiry
};

// The domain's most recent `limit` rows (1..500; clamped), newest first. Errors: Errc::invalid_domain_uuid,
// or as Database::Impl::run maps them. Call from the io thread.
boost::asio::awaitable<Result<std::vector<DeliveryRecord>>> recent_deliveries(store::Database& db,
                                                                              std::string domain_uuid,
                                                                              std::size_t limit);

// "sha256=" + hex HMAC-SHA256(secret, "<timestamp>.<body>"): the X-Webhook-Signature value.
std::string webhook_signature(std::string_view secret, std::int64_t unix_seconds, std::string_view body);

// How long to wait after failed attempt number `attempt` (1-based) given a uniform random value
// `random01` in [0, 1): see "Backoff" above.
std::chrono::milliseconds backoff_delay(int attempt, std::chrono::milliseconds initial,
                                        std::chrono::milliseconds max, double jitter,
                                        double random01) noexcept;

struct WebhookSenderConfig {
  std::chrono::milliseconds poll_interval{2'000};  // wake-up without notify(): rows due by backoff
  std::size_t max_in_flight = 8;                   // deliveries at once, per sender
  // A claimed row whose sender has not finished it after this long is taken over by another sender.
  // Must exceed connect_timeout + request_timeout by a wide margin.
  std::chrono::milliseconds lease{std::chrono::minutes(5)};
  std::chrono::milliseconds initial_backoff{10'000};
  std::chrono::milliseconds max_backoff{std::chrono::hours(1)};
  double jitter = 0.2;  // 0..1
  int max_attempts = 20;
  std::chrono::milliseconds max_age{std::chrono::hours(24)};
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds request_timeout{15'000};  // the whole request, connect included
  bool verify_tls = true;
  std::string version = "0.1.0";  // User-Agent: voice-ai-ivr/<version>; the app passes IVR_VERSION
};

// Why `config` is unusable, or an empty string.
std::string validation_error(const WebhookSenderConfig& config);

// Delivers due outbox rows. Lives on the io_context's thread: call every member from there, except
// notify(), which any thread may call. Lifecycle: construct, start(), …, co_await stop(), destroy; the
// destructor asserts that a started sender was stopped.
class WebhookSender {
 public:
  // Every reference must outlive the sender. `secrets` opens sealed signing secrets; without it a row
  // that has one is never sent unsigned: its attempts fail ("signing secret cannot be opened").
  // `metrics` (optional) gets ivr_webhook_deliveries_total{event,outcome} with outcome delivered, retry
  // or failed, counted per attempt. Throws std::invalid_argument when validation_error(config) is non-empty.
  WebhookSender(boost::asio::io_context& io, store::Database& db, net::HttpClient& http,
                WebhookSenderConfig config, const SecretBox* secrets = nullptr,
                MetricsRegistry* metrics = nullptr);
  ~WebhookSender();
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  // Starts the claim loop. Once only.
  void start();

  // Wakes the loop now instead of at the next poll (call after a producer's transaction committed).
  // Thread-safe; a no-op once stopping.
  void notify();

  // ivr::webhooks::enqueue, then notify() when a row was queued.
  boost::asio::awaitable<Result<std::optional<std::int64_t>>> enqueue(OutboxEntry entry);

  // recent_deliveries on this sender's database.
  boost::asio::awaitable<Result<std::vector<DeliveryRecord>>> list(std::string domain_uuid,
                                                                   std::size_t limit);

  // Stops claiming, cancels the requests in flight and puts their rows back to pending (attempt not
  // counted) so this or another instance sends them again; completes when every delivery coroutine has
  // ended. A row whose release fails (database down) is taken over after the lease. Idempotent.
  boost::asio::awaitable<void> stop();

  std::size_t in_flight() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;  // shared: posted notify() calls hold a weak_ptr
};

}  // namespace ivr::webhooks
