// The webhook outbox and sender against the real PostgreSQL that scripts/test.sh starts
// (IVR_TEST_DATABASE_URL), with a FakeVendorServer as the tenant's helpdesk. Each test creates its own
// database, migrates it and drops it at the end.

#include "ivr/webhooks/outbox.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "../../src/store/pg_pool.hpp"  // blocking_run: a producer's own transaction
#include "fakes/fake_vendor_server.hpp"
#include "ivr/core/errors.hpp"
#include "ivr/core/ids.hpp"
#include "ivr/core/metrics.hpp"
#include "ivr/core/secret_box.hpp"
#include "ivr/net/http_client.hpp"
#include "ivr/store/database.hpp"
#include "ivr/store/migrations.hpp"
#include "ivr/webhooks/outbox_sql.hpp"
#include "support/temporary_database.hpp"
#include "support/test_env.hpp"

namespace ivr::webhooks {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using test::expected_signature;
using test::FakeResponse;
using test::RecordedRequest;
using test::with_params;

std::size_t count_status(const std::vector<DeliveryRecord>& rows, const std::string& status) {
  std::size_t n = 0;
  for (const auto& r : rows) n += r.status == status ? 1 : 0;
  return n;
}

std::uint64_t counter_value(MetricsRegistry& metrics, const std::string& event, const std::string& outcome) {
  return metrics.counter("ivr_webhook_deliveries_total", "", {{"event", event}, {"outcome", outcome}})
      .value();
}

class WebhookOutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    temp_ = std::make_unique<test::TemporaryDatabase>("test_wh_");
    db_ = &database();
    domain_ = random_uuid();
  }

  void TearDown() override {
    databases_.clear();
    temp_.reset();
  }

  // A Database of its own stands for another daemon instance (its own connections).
  store::Database& database() {
    databases_.push_back(std::make_unique<store::Database>(pool_, temp_->config()));
    return *databases_.back();
  }

  // Direct SQL on the test database, outside the code under test.
  pqxx::result sql(const std::string& query) { return temp_->sql(query); }

  // Small, fast settings; tests override what they exercise.
  static WebhookSenderConfig sender_config() {
    WebhookSenderConfig c;
    c.poll_interval = 20ms;
    c.initial_backoff = 30ms;
    c.max_backoff = 100ms;
    c.jitter = 0;
    c.connect_timeout = 1s;
    c.request_timeout = 2s;
    c.version = "9.9.9-test";
    return c;
  }

  OutboxEntry entry(std::string event = "call_completed", std::string path = "/hook") const {
    OutboxEntry e;
    e.domain_uuid = domain_;
    e.event = std::move(event);
    e.target_url = server_.base_url() + path;
    e.payload_json = R"({"call_uuid":")" + random_uuid() + R"(","resolution":"resolved","turns":3})";
    return e;
  }

  std::int64_t enqueue_now(OutboxEntry e) {
    Result<std::optional<std::int64_t>> id = test::run(io_, enqueue(*db_, std::move(e)));
    if (!id) throw std::runtime_error("enqueue failed: " + id.error().message());
    if (!id->has_value()) throw std::runtime_error("enqueue deduplicated unexpectedly");
    return **id;
  }

  // Polls the domain's history until `n` rows have `status` (or `limit` passes) and returns it.
  asio::awaitable<std::vector<DeliveryRecord>> wait_for(std::string status, std::size_t n,
                                                        std::string domain = {},
                                                        std::chrono::milliseconds limit = 15s) {
    if (domain.empty()) domain = domain_;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const auto deadline = Clock::now() + limit;
    for (;;) {
      Result<std::vector<DeliveryRecord>> rows = co_await recent_deliveries(*db_, domain, 500);
      if (rows && count_status(*rows, status) >= n) co_return std::move(*rows);
      if (Clock::now() > deadline) co_return rows ? std::move(*rows) : std::vector<DeliveryRecord>{};
      timer.expires_after(20ms);
      co_await timer.async_wait(asio::use_awaitable);
    }
  }

  std::vector<DeliveryRecord> wait_status(const std::string& status, std::size_t n,
                                          std::chrono::milliseconds limit = 15s) {
    return test::run(io_, wait_for(status, n, {}, limit), limit + 5s);
  }

  // Keeps the io_context running (the senders need it) until the server saw `n` requests.
  asio::awaitable<bool> wait_requests(std::size_t n, std::chrono::milliseconds limit = 15s) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    const auto deadline = Clock::now() + limit;
    while (server_.request_count() < n) {
      if (Clock::now() > deadline) co_return false;
      timer.expires_after(10ms);
      co_await timer.async_wait(asio::use_awaitable);
    }
    co_return true;
  }

  void stop(WebhookSender& sender) { test::run(io_, sender.stop()); }

  asio::thread_pool pool_{4};
  asio::io_context io_;
  net::HttpClient http_{io_};
  test::FakeVendorServer server_;
  std::unique_ptr<test::TemporaryDatabase> temp_;
  std::vector<std::unique_ptr<store::Database>> databases_;
  store::Database* db_ = nullptr;
  std::string domain_;
};

TEST_F(WebhookOutboxTest, RolledBackEnqueueIsNeverSent) {
  server_.respond("POST", "/hook", FakeResponse::json(200, "{}"));
  Result<std::optional<std::int64_t>> rolled_back = db_->impl().blocking_run([&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    std::optional<std::int64_t> id = blocking_enqueue_webhook(tx, entry("rolled_back"));
    tx.abort();  // e.g. finishing the call failed after the webhook was queued
    return id;
  });
  ASSERT_TRUE(rolled_back);
  EXPECT_TRUE(rolled_back->has_value());  // it was inserted… and then rolled back
  Result<std::optional<std::int64_t>> committed = db_->impl().blocking_run([&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    std::optional<std::int64_t> id = blocking_enqueue_webhook(tx, entry("committed"));
    tx.commit();
    return id;
  });
  ASSERT_TRUE(committed && committed->has_value());

  WebhookSender sender(io_, *db_, http_, sender_config());
  sender.start();
  sender.notify();
  const std::vector<DeliveryRecord> rows = wait_status("delivered", 1);
  stop(sender);

  ASSERT_EQ(rows.size(), 1u);  // the rolled-back row does not exist
  EXPECT_EQ(rows[0].id, **committed);
  const std::vector<RecordedRequest> requests = server_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].header("x-webhook-event"), "committed");
}

TEST_F(WebhookOutboxTest, NotifyDeliversAtOnceWithHeadersAndSignature) {
  server_.respond("POST", "/hook", FakeResponse::json(200, R"({"ok":true})"));
  const SecretBox box(std::string(32, 'k'));
  const std::string secret = "whsec_helpdesk_secret";
  MetricsRegistry metrics;

  WebhookSenderConfig config = sender_config();
  config.poll_interval = 1h;  // only notify() can explain a quick delivery
  WebhookSender sender(io_, *db_, http_, config, &box, &metrics);
  sender.start();

  OutboxEntry signed_entry = entry("call_completed");
  signed_entry.secret_sealed = box.seal(secret, domain_);
  const std::string signed_payload = signed_entry.payload_json;
  OutboxEntry unsigned_entry = entry("ticket_requested");
  const std::string unsigned_payload = unsigned_entry.payload_json;

  const auto before = std::chrono::system_clock::now();
  const auto started = Clock::now();
  Result<std::optional<std::int64_t>> signed_id = test::run(io_, sender.enqueue(std::move(signed_entry)));
  Result<std::optional<std::int64_t>> unsigned_id = test::run(io_, sender.enqueue(std::move(unsigned_entry)));
  ASSERT_TRUE(signed_id && signed_id->has_value());
  ASSERT_TRUE(unsigned_id && unsigned_id->has_value());
  const std::vector<DeliveryRecord> rows = wait_status("delivered", 2, 10s);
  EXPECT_LT(Clock::now() - started, 5s);
  Result<std::vector<DeliveryRecord>> listed = test::run(io_, sender.list(domain_, 10));
  stop(sender);

  ASSERT_EQ(count_status(rows, "delivered"), 2u);
  for (const DeliveryRecord& r : rows) {
    EXPECT_EQ(r.attempts, 1);
    EXPECT_EQ(r.last_status_code, 200);
    EXPECT_FALSE(r.last_error.has_value());
    EXPECT_TRUE(r.delivered_at.has_value());
    EXPECT_TRUE(r.created_at.ends_with("Z")) << r.created_at;
  }
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].id, **unsigned_id);  // newest first

  const std::vector<RecordedRequest> requests = server_.requests();
  ASSERT_EQ(requests.size(), 2u);
  std::map<std::string, RecordedRequest> by_event;
  for (const auto& r : requests) by_event[r.header("x-webhook-event")] = r;
  ASSERT_EQ(by_event.count("call_completed"), 1u);
  ASSERT_EQ(by_event.count("ticket_requested"), 1u);

  const RecordedRequest& s = by_event["call_completed"];
  EXPECT_EQ(s.method, "POST");
  EXPECT_EQ(s.path, "/hook");
  EXPECT_EQ(s.header("content-type"), "application/json");
  EXPECT_EQ(s.header("user-agent"), "voice-ai-ivr/9.9.9-test");
  EXPECT_EQ(s.header("x-webhook-id"), std::to_string(**signed_id));
  EXPECT_EQ(nlohmann::json::parse(s.body), nlohmann::json::parse(signed_payload));
  const std::string timestamp = s.header("x-webhook-timestamp");
  ASSERT_FALSE(timestamp.empty());
  const auto sent_at = std::chrono::sys_seconds(std::chrono::seconds(std::stoll(timestamp)));
  EXPECT_GE(sent_at, std::chrono::floor<std::chrono::seconds>(before));
  EXPECT_LE(sent_at, std::chrono::system_clock::now());
  EXPECT_EQ(s.header("x-webhook-signature"), expected_signature(secret, timestamp, s.body));
  EXPECT_EQ(webhook_signature(secret, std::stoll(timestamp), s.body),
            expected_signature(secret, timestamp, s.body));

  const RecordedRequest& u = by_event["ticket_requested"];
  EXPECT_EQ(u.header("x-webhook-id"), std::to_string(**unsigned_id));
  EXPECT_EQ(u.header("x-webhook-signature"), "");
  EXPECT_EQ(nlohmann::json::parse(u.body), nlohmann::json::parse(unsigned_payload));

  EXPECT_EQ(counter_value(metrics, "call_completed", "delivered"), 1u);
  EXPECT_EQ(counter_value(metrics, "ticket_requested", "delivered"), 1u);
}

TEST_F(WebhookOutboxTest, ServerErrorIsRetriedAndThenDelivered) {
  std::atomic<int> calls{0};
  server_.on("POST", "/hook", [&](const RecordedRequest&) {
    return calls.fetch_add(1) == 0 ? FakeResponse::json(500, R"({"error":"busy"})")
                                   : FakeResponse::json(200, "{}");
  });
  MetricsRegistry metrics;
  WebhookSender sender(io_, *db_, http_, sender_config(), nullptr, &metrics);
  const std::int64_t id = enqueue_now(entry());
  sender.start();
  const std::vector<DeliveryRecord> rows = wait_status("delivered", 1);
  stop(sender);

  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].status, "delivered");
  EXPECT_EQ(rows[0].attempts, 2);
  EXPECT_EQ(rows[0].last_status_code, 200);
  const std::vector<RecordedRequest> requests = server_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].header("x-webhook-id"), std::to_string(id));
  EXPECT_EQ(requests[1].header("x-webhook-id"), std::to_string(id));  // stable across retries
  EXPECT_EQ(counter_value(metrics, "call_completed", "retry"), 1u);
  EXPECT_EQ(counter_value(metrics, "call_completed", "delivered"), 1u);
}

TEST_F(WebhookOutboxTest, AlwaysFailingReceiverFailsAfterMaxAttempts) {
  server_.respond("POST", "/hook", FakeResponse::json(500, "{}"));
  MetricsRegistry metrics;
  WebhookSenderConfig config = sender_config();
  config.max_attempts = 3;
  WebhookSender sender(io_, *db_, http_, config, nullptr, &metrics);
  enqueue_now(entry());
  sender.start();
  const std::vector<DeliveryRecord> rows = wait_status("failed", 1);
  stop(sender);

  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].status, "failed");
  EXPECT_EQ(rows[0].attempts, 3);
  EXPECT_EQ(rows[0].last_status_code, 500);
  EXPECT_EQ(rows[0].last_error, "HTTP 500");
  EXPECT_FALSE(rows[0].delivered_at.has_value());
  EXPECT_EQ(server_.request_count(), 3u);
  EXPECT_EQ(counter_value(metrics, "call_completed", "retry"), 2u);
  EXPECT_EQ(counter_value(metrics, "call_completed", "failed"), 1u);
}

TEST_F(WebhookOutboxTest, RowOlderThanMaxAgeFailsAfterItsAttempt) {
  server_.respond("POST", "/hook", FakeResponse::json(503, "{}"));
  WebhookSenderConfig config = sender_config();
  config.max_age = 1h;
  const std::int64_t id = enqueue_now(entry());
  sql("UPDATE webhook_outbox SET created_at = now() - interval '2 hours' WHERE id = " + std::to_string(id));
  WebhookSender sender(io_, *db_, http_, config);
  sender.start();
  const std::vector<DeliveryRecord> rows = wait_status("failed", 1);
  stop(sender);

  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].attempts, 1);
  EXPECT_EQ(rows[0].last_status_code, 503);
}

TEST_F(WebhookOutboxTest, TimeoutCountsAsFailedAttempt) {
  std::atomic<int> calls{0};
  server_.on("POST", "/slow-once", [&](const RecordedRequest&) {
    FakeResponse r = FakeResponse::json(200, "{}");
    if (calls.fetch_add(1) == 0) r.delay = 1500ms;
    return r;
  });
  FakeResponse slow = FakeResponse::json(200, "{}");
  slow.delay = 1500ms;
  server_.respond("POST", "/always-slow", slow);
  WebhookSenderConfig config = sender_config();
  config.request_timeout = 300ms;
  config.max_attempts = 2;
  WebhookSender sender(io_, *db_, http_, config);
  const std::int64_t recovers = enqueue_now(entry("call_completed", "/slow-once"));
  const std::int64_t gives_up = enqueue_now(entry("ticket_requested", "/always-slow"));
  sender.start();
  std::vector<DeliveryRecord> rows = wait_status("delivered", 1);
  if (count_status(rows, "failed") == 0) rows = wait_status("failed", 1);
  stop(sender);

  std::map<std::int64_t, DeliveryRecord> by_id;
  for (const auto& r : rows) by_id[r.id] = r;
  ASSERT_EQ(by_id.size(), 2u);
  EXPECT_EQ(by_id[recovers].status, "delivered");
  EXPECT_EQ(by_id[recovers].attempts, 2);
  EXPECT_EQ(by_id[gives_up].status, "failed");
  EXPECT_EQ(by_id[gives_up].attempts, 2);
  EXPECT_FALSE(by_id[gives_up].last_status_code.has_value());
  ASSERT_TRUE(by_id[gives_up].last_error.has_value());
  EXPECT_NE(by_id[gives_up].last_error->find("timeout"), std::string::npos) << *by_id[gives_up].last_error;
}

TEST_F(WebhookOutboxTest, ConnectionRefusedCountsAsFailedAttempt) {
  WebhookSenderConfig config = sender_config();
  config.max_attempts = 1;
  OutboxEntry e = entry();
  e.target_url = "http://127.0.0.1:1/hook";  // nothing listens on port 1
  enqueue_now(std::move(e));
  WebhookSender sender(io_, *db_, http_, config);
  sender.start();
  const std::vector<DeliveryRecord> rows = wait_status("failed", 1);
  stop(sender);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_FALSE(rows[0].last_status_code.has_value());
  EXPECT_TRUE(rows[0].last_error.has_value());
}

TEST_F(WebhookOutboxTest, UnopenableSecretIsNeverSentUnsigned) {
  server_.respond("POST", "/hook", FakeResponse::json(200, "{}"));
  const SecretBox box(std::string(32, 'k'));
  const SecretBox other_key(std::string(32, 'x'));
  WebhookSenderConfig config = sender_config();
  config.max_attempts = 2;
  OutboxEntry e = entry();
  e.secret_sealed = box.seal("whsec", random_uuid());  // sealed for another tenant
  enqueue_now(std::move(e));
  OutboxEntry wrong_key = entry("ticket_requested");
  wrong_key.secret_sealed = other_key.seal("whsec", domain_);
  enqueue_now(std::move(wrong_key));
  WebhookSender sender(io_, *db_, http_, config, &box);
  sender.start();
  const std::vector<DeliveryRecord> rows = wait_status("failed", 2);
  stop(sender);
  ASSERT_EQ(count_status(rows, "failed"), 2u);
  for (const auto& r : rows) EXPECT_NE(r.last_error->find("signing secret"), std::string::npos);
  EXPECT_EQ(server_.request_count(), 0u);
}

TEST_F(WebhookOutboxTest, DedupeKeyQueuesAnEventOnce) {
  server_.respond("POST", "/hook", FakeResponse::json(204, ""));
  OutboxEntry e = entry("call_completed");
  e.dedupe_key = "call-1";
  const std::int64_t first = enqueue_now(e);

  Result<std::optional<std::int64_t>> again = test::run(io_, enqueue(*db_, e));
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->has_value());
  // The transactional path: the duplicate leaves the caller's transaction usable.
  Result<bool> in_tx = db_->impl().blocking_run([&](pqxx::connection& conn) {
    pqxx::work tx(conn);
    const bool queued = blocking_enqueue_webhook(tx, e).has_value();
    tx.exec("SELECT 1");
    tx.commit();
    return queued;
  });
  ASSERT_TRUE(in_tx);
  EXPECT_FALSE(*in_tx);

  OutboxEntry other_event = e;
  other_event.event = "ticket_requested";
  enqueue_now(other_event);  // the key is per event…
  OutboxEntry other_domain = e;
  other_domain.domain_uuid = random_uuid();
  enqueue_now(other_domain);  // …and per domain
  OutboxEntry no_key = entry("ticket_requested");
  enqueue_now(no_key);
  enqueue_now(no_key);  // no key: always queued

  const pqxx::result count = sql("SELECT count(*) FROM webhook_outbox");
  EXPECT_EQ(count[0][0].as<int>(), 5);

  WebhookSender sender(io_, *db_, http_, sender_config());
  sender.start();
  const std::vector<DeliveryRecord> rows = wait_status("delivered", 4);
  const std::vector<DeliveryRecord> elsewhere =
      test::run(io_, wait_for("delivered", 1, other_domain.domain_uuid), 20s);
  stop(sender);
  EXPECT_EQ(count_status(rows, "delivered"), 4u);
  EXPECT_EQ(count_status(elsewhere, "delivered"), 1u);
  EXPECT_EQ(rows.back().id, first);
  EXPECT_EQ(rows.back().last_status_code, 204);
  EXPECT_EQ(server_.request_count(), 5u);
}

TEST_F(WebhookOutboxTest, InvalidEntriesAreRejected) {
  OutboxEntry bad_url = entry();
  bad_url.target_url = "ftp://example.com/hook";
  OutboxEntry bad_json = entry();
  bad_json.payload_json = "{not json";
  OutboxEntry bad_domain = entry();
  bad_domain.domain_uuid = "not-a-uuid";
  OutboxEntry bad_event = entry("Call Completed");
  for (const OutboxEntry& e : {bad_url, bad_json, bad_domain, bad_event}) {
    EXPECT_FALSE(validation_error(e).empty());
    Result<std::optional<std::int64_t>> r = test::run(io_, enqueue(*db_, e));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), Errc::unprocessable);
    Result<void> in_tx = db_->impl().blocking_run([&](pqxx::connection& conn) {
      pqxx::work tx(conn);
      EXPECT_THROW(blocking_enqueue_webhook(tx, e), std::invalid_argument);
    });
    EXPECT_TRUE(in_tx);
  }
  EXPECT_EQ(sql("SELECT count(*) FROM webhook_outbox")[0][0].as<int>(), 0);
}

TEST_F(WebhookOutboxTest, StoppedSenderHandsItsRowsToTheNextInstance) {
  FakeResponse slow = FakeResponse::json(200, "{}");
  slow.delay = 800ms;
  server_.respond("POST", "/hook", slow);
  std::set<std::string> ids;
  for (int i = 0; i < 6; ++i) ids.insert(std::to_string(enqueue_now(entry())));

  WebhookSenderConfig config = sender_config();
  config.max_in_flight = 2;
  auto first = std::make_unique<WebhookSender>(io_, *db_, http_, config);
  first->start();
  ASSERT_TRUE(test::run(io_, wait_requests(2)));
  EXPECT_EQ(first->in_flight(), 2u);
  stop(*first);  // mid-way: two requests in flight, four rows never claimed
  EXPECT_EQ(first->in_flight(), 0u);
  first.reset();
  EXPECT_EQ(sql("SELECT count(*) FROM webhook_outbox WHERE status = 'delivering'")[0][0].as<int>(), 0);
  EXPECT_EQ(sql("SELECT count(*) FROM webhook_outbox WHERE attempts > 0")[0][0].as<int>(), 0);

  // The "restarted" daemon: a new Database, a new sender.
  store::Database& restarted_db = database();
  WebhookSender second(io_, restarted_db, http_, config);
  second.start();
  const std::vector<DeliveryRecord> rows = wait_status("delivered", 6);
  stop(second);

  EXPECT_EQ(count_status(rows, "delivered"), 6u);
  for (const auto& r : rows) EXPECT_EQ(r.attempts, 1) << r.id;  // the cancelled attempts were not counted
  std::set<std::string> received;
  for (const auto& r : server_.requests()) received.insert(r.header("x-webhook-id"));
  EXPECT_EQ(received, ids);
}

TEST_F(WebhookOutboxTest, ExpiredLeaseIsTakenOverAndLiveLeaseIsNot) {
  server_.respond("POST", "/hook", FakeResponse::json(200, "{}"));
  const std::int64_t orphan = enqueue_now(entry());
  const std::int64_t owned = enqueue_now(entry());
  // A crashed instance's claim (lease expired) and a live instance's claim (lease in the future).
  sql("UPDATE webhook_outbox SET status = 'delivering', attempts = 1, next_attempt_at = now() - interval '1 "
      "second'"
      " WHERE id = " +
      std::to_string(orphan));
  sql("UPDATE webhook_outbox SET status = 'delivering', attempts = 1, next_attempt_at = now() + interval '1 "
      "hour'"
      " WHERE id = " +
      std::to_string(owned));

  WebhookSender sender(io_, *db_, http_, sender_config());
  sender.start();
  const std::vector<DeliveryRecord> rows = wait_status("delivered", 1);
  stop(sender);

  std::map<std::int64_t, DeliveryRecord> by_id;
  for (const auto& r : rows) by_id[r.id] = r;
  EXPECT_EQ(by_id[orphan].status, "delivered");
  EXPECT_EQ(by_id[orphan].attempts, 2);  // the crashed attempt counts
  EXPECT_EQ(by_id[owned].status, "delivering");
  ASSERT_EQ(server_.request_count(), 1u);
  EXPECT_EQ(server_.requests()[0].header("x-webhook-id"), std::to_string(orphan));
}

TEST_F(WebhookOutboxTest, TwoSendersDeliverEachRowExactlyOnce) {
  FakeResponse answer = FakeResponse::json(200, "{}");
  answer.delay = 10ms;
  server_.respond("POST", "/hook", answer);
  constexpr int kRows = 40;
  for (int i = 0; i < kRows; ++i) enqueue_now(entry());

  WebhookSenderConfig config = sender_config();
  config.poll_interval = 5ms;
  config.max_in_flight = 4;
  MetricsRegistry metrics_a;
  MetricsRegistry metrics_b;
  WebhookSender a(io_, database(), http_, config, nullptr, &metrics_a);
  WebhookSender b(io_, database(), http_, config, nullptr, &metrics_b);
  a.start();
  b.start();
  const std::vector<DeliveryRecord> rows = wait_status("delivered", kRows, 30s);
  stop(a);
  stop(b);

  EXPECT_EQ(count_status(rows, "delivered"), static_cast<std::size_t>(kRows));
  std::map<std::string, int> per_id;
  for (const auto& r : server_.requests()) ++per_id[r.header("x-webhook-id")];
  EXPECT_EQ(per_id.size(), static_cast<std::size_t>(kRows));
  for (const auto& [id, n] : per_id) EXPECT_EQ(n, 1) << "webhook " << id;
  for (const auto& r : rows) EXPECT_EQ(r.attempts, 1);
  const std::uint64_t by_a = counter_value(metrics_a, "call_completed", "delivered");
  const std::uint64_t by_b = counter_value(metrics_b, "call_completed", "delivered");
  EXPECT_EQ(by_a + by_b, static_cast<std::uint64_t>(kRows));
  RecordProperty("delivered_by_a", std::to_string(by_a));
  RecordProperty("delivered_by_b", std::to_string(by_b));
}

}  // namespace
}  // namespace ivr::webhooks
