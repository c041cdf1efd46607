// The outbox's pure parts: the signature scheme integrators verify, the backoff schedule, validation.

#include "ivr/webhooks/outbox.hpp"

#include <chrono>
#include <string>

#include <gtest/gtest.h>

namespace ivr::webhooks {
namespace {

using namespace std::chrono_literals;

TEST(WebhookSignature, MatchesTheDocumentedScheme) {
  // printf '%s' '1700000000.{"event":"call_completed"}' | openssl dgst -sha256 -hmac whsec_test
  EXPECT_EQ(webhook_signature("whsec_test", 1700000000, R"({"event":"call_completed"})"),
            "sha256=df9ecbedd3e7e30e119882f5035fd3ac817869b153d2269338851c4891080c3a");
}

TEST(WebhookSignature, DependsOnTimestampBodyAndSecret) {
  const std::string base = webhook_signature("s", 1, "{}");
  EXPECT_NE(base, webhook_signature("s", 2, "{}"));
  EXPECT_NE(base, webhook_signature("s", 1, "{ }"));
  EXPECT_NE(base, webhook_signature("t", 1, "{}"));
}

TEST(WebhookBackoff, DoublesFromTheInitialDelayUpToTheCap) {
  EXPECT_EQ(backoff_delay(1, 10s, 1h, 0.0, 0.5), 10s);
  EXPECT_EQ(backoff_delay(2, 10s, 1h, 0.0, 0.5), 20s);
  EXPECT_EQ(backoff_delay(3, 10s, 1h, 0.0, 0.5), 40s);
  EXPECT_EQ(backoff_delay(9, 10s, 1h, 0.0, 0.5), 2560s);
  EXPECT_EQ(backoff_delay(10, 10s, 1h, 0.0, 0.5), 1h);
  EXPECT_EQ(backoff_delay(1000, 10s, 1h, 0.0, 0.5), 1h);  // no overflow
  EXPECT_EQ(backoff_delay(0, 10s, 1h, 0.0, 0.5), 10s);    // out of range counts as the first attempt
}

TEST(WebhookBackoff, JitterOnlyShortensTheDelay) {
  EXPECT_EQ(backoff_delay(1, 10s, 1h, 0.2, 0.0), 10s);
  EXPECT_EQ(backoff_delay(1, 10s, 1h, 0.2, 0.5), 9s);
  EXPECT_EQ(backoff_delay(1, 10s, 1h, 0.2, 0.999), 8002ms);
  EXPECT_LE(backoff_delay(50, 10s, 1h, 0.2, 0.3), 1h);
}

OutboxEntry valid_entry() {
  OutboxEntry e;
  e.domain_uuid = "0D3B5F1E-2C4A-4B6D-8E9F-0A1B2C3D4E5F";
  e.event = "call_completed";
  e.target_url = "https://helpdesk.example.com/hooks/ivr?token=abc";
  e.payload_json = R"({"call_uuid":"x"})";
  return e;
}

TEST(WebhookValidation, AcceptsAWellFormedEntry) {
  EXPECT_EQ(validation_error(valid_entry()), "");
}

TEST(WebhookValidation, RejectsMalformedEntries) {
  auto with = [](auto change) {
    OutboxEntry e = valid_entry();
    change(e);
    return validation_error(e);
  };
  EXPECT_NE(with([](OutboxEntry& e) { e.domain_uuid = "nope"; }), "");
  EXPECT_NE(with([](OutboxEntry& e) { e.event = ""; }), "");
  EXPECT_NE(with([](OutboxEntry& e) { e.event = "Call Completed"; }), "");
  EXPECT_NE(with([](OutboxEntry& e) { e.target_url = "ftp://example.com/"; }), "");
  EXPECT_NE(with([](OutboxEntry& e) { e.target_url = "HTTPS://example.com/"; }), "");
  EXPECT_NE(with([](OutboxEntry& e) { e.target_url = "http:///path-only"; }), "");
  EXPECT_NE(with([](OutboxEntry& e) { e.payload_json = "{"; }), "");
  EXPECT_NE(with([](OutboxEntry& e) { e.payload_json = R"({"a":"\u0000"})"; }), "");
  EXPECT_NE(with([](OutboxEntry& e) { e.secret_sealed = ""; }), "");
  EXPECT_NE(with([](OutboxEntry& e) { e.dedupe_key = ""; }), "");
  EXPECT_NE(with([](OutboxEntry& e) { e.dedupe_key = std::string(201, 'k'); }), "");
}

TEST(WebhookValidation, ChecksTheSenderConfig) {
  EXPECT_EQ(validation_error(WebhookSenderConfig{}), "");
  WebhookSenderConfig c;
  c.max_in_flight = 0;
  EXPECT_NE(validation_error(c), "");
  c = {};
  c.lease = 10s;  // shorter than a request may take
  EXPECT_NE(validation_error(c), "");
  c = {};
  c.jitter = 1.5;
  EXPECT_NE(validation_error(c), "");
  c = {};
  c.max_backoff = 1s;  // below the initial backoff
  EXPECT_NE(validation_error(c), "");
}

}  // namespace
}  // namespace ivr::webhooks
