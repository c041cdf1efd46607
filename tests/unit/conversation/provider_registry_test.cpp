#include "ivr/conversation/provider_registry.hpp"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "fakes/fake_vendor_server.hpp"
#include "ivr/conversation/chat_service.hpp"
#include "ivr/core/metrics.hpp"
#include "ivr/core/secret_box.hpp"
#include "ivr/net/http_client.hpp"
#include "ivr/providers/tts.hpp"
#include "support/local_http_server.hpp"
#include "support/test_env.hpp"
#include "unit/conversation/espeak_engine.hpp"

namespace ivr::conversation {
namespace {

using nlohmann::json;
using test::FakeResponse;

constexpr const char* kDomain = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
constexpr const char* kApiKey = "sk-secret-xyz";

// espeak-ng has process-wide state: one engine per test process (shared with the other files).
providers::EspeakEngine& espeak() {
  return test::espeak_engine();
}

class ProviderRegistryTest : public ::testing::Test {
 protected:
  Secretary secretary() const {
    Secretary s = default_secretary(kDomain, "pbx.example.com");
    s.id = "0b7e1a9e-3f7c-4c59-9d1e-7a8b9c0d1e2f";
    return s;
  }

  // A provider entry with `key` sealed for this domain, as apply_api_json stores it.
  ProviderConfig remote(std::string vendor, std::string base_url, const std::string& key = kApiKey) const {
    ProviderConfig p;
    p.vendor = std::move(vendor);
    p.base_url = std::move(base_url);
    p.timeout_ms = 2'000;
    if (!key.empty()) p.api_key_sealed = box_.seal(key, kDomain);
    return p;
  }

  providers::ChatRequest question(const std::string& text) const {
    providers::ChatRequest r;
    r.messages.push_back({providers::ChatMessage::Role::system, "Você é a secretária.", {}, {}, {}});
    r.messages.push_back({providers::ChatMessage::Role::user, text, {}, {}, {}});
    r.hints.language = "pt-BR";
    r.hints.faq = {{"Qual o horário de funcionamento?", "Das 8h às 18h."}};
    return r;
  }

  boost::asio::io_context io_;
  net::HttpClient http_{io_};
  providers::CircuitBreakers breakers_;
  SecretBox box_{std::string(32, 'k')};
  MetricsRegistry metrics_;
  ProviderRegistry registry_{http_, espeak(), breakers_, &box_, &metrics_};
  test::FakeVendorServer vendor_;
};

TEST_F(ProviderRegistryTest, NoSpeechToTextConfiguredIsUnavailable) {
  auto stt = registry_.speech_to_text(secretary());
  ASSERT_FALSE(stt);
  EXPECT_EQ(stt.error(), Errc::unavailable);
}

TEST_F(ProviderRegistryTest, UnknownVendorIsAConfigurationError) {
  Secretary s = secretary();
  s.stt.push_back({"whisper-magic", "", "", "", 1'000, "", "", ""});
  s.llm.insert(s.llm.begin(), {"skynet", "", "", "", 1'000, "", "", ""});
  s.tts.insert(s.tts.begin(), {"hal9000", "", "", "", 1'000, "", "", ""});
  auto stt = registry_.speech_to_text(s);
  ASSERT_FALSE(stt);
  EXPECT_EQ(stt.error(), Errc::config_invalid);
  auto llm = registry_.language_model(s);
  ASSERT_FALSE(llm);
  EXPECT_EQ(llm.error(), Errc::config_invalid);
  auto tts = registry_.text_to_speech(s);
  ASSERT_FALSE(tts);
  EXPECT_EQ(tts.error(), Errc::config_invalid);
}

TEST_F(ProviderRegistryTest, KeysThatCannotBeOpenedAreUnprocessable) {
  Secretary s = secretary();
  s.llm.insert(s.llm.begin(), remote("openai", vendor_.base_url()));
  // Without the master key.
  ProviderRegistry keyless(http_, espeak(), breakers_, nullptr, nullptr);
  auto llm = keyless.language_model(s);
  ASSERT_FALSE(llm);
  EXPECT_EQ(llm.error(), Errc::unprocessable);
  // With another master key (rotated without re-sealing).
  SecretBox other(std::string(32, 'z'));
  ProviderRegistry rotated(http_, espeak(), breakers_, &other, nullptr);
  llm = rotated.language_model(s);
  ASSERT_FALSE(llm);
  EXPECT_EQ(llm.error(), Errc::unprocessable);
  // A key sealed for another domain (a row copied between tenants).
  s.llm[0].api_key_sealed = box_.seal(kApiKey, "11111111-2222-4333-8444-555555555555");
  llm = registry_.language_model(s);
  ASSERT_FALSE(llm);
  EXPECT_EQ(llm.error(), Errc::unprocessable);
}

TEST_F(ProviderRegistryTest, OfflineProvidersCloseEveryChain) {
  Secretary s = secretary();
  s.llm = {remote("openai", vendor_.base_url()), remote("anthropic", vendor_.base_url())};
  s.tts = {remote("openai", vendor_.base_url())};
  s.stt = {remote("deepgram", vendor_.base_url()), remote("openai", vendor_.base_url())};
  EXPECT_EQ(registry_.language_model(s).value()->name(), "openai>anthropic>extractive");
  EXPECT_EQ(registry_.text_to_speech(s).value()->name(), "openai>espeak");
  // There is no offline speech-to-text: the chain is what the secretary lists.
  EXPECT_EQ(registry_.speech_to_text(s).value()->name(), "deepgram>openai");
}

TEST_F(ProviderRegistryTest, OfflineProvidersAreNotAddedTwice) {
  Secretary s = secretary();
  s.llm = {{"extractive", "", "", "", 1'000, "", "", ""}, remote("gemini", vendor_.base_url())};
  s.tts = {{"espeak", "", "", "", 1'000, "", "", ""}, remote("elevenlabs", vendor_.base_url())};
  EXPECT_EQ(registry_.language_model(s).value()->name(), "extractive>gemini");
  EXPECT_EQ(registry_.text_to_speech(s).value()->name(), "espeak>elevenlabs");
  EXPECT_EQ(registry_.language_model(secretary()).value()->name(), "extractive");
  EXPECT_EQ(registry_.text_to_speech(secretary()).value()->name(), "espeak");
}

TEST_F(ProviderRegistryTest, RemoteModelGetsTheDecryptedKeyAndItsSettings) {
  vendor_.respond("POST", "/v1/chat/completions", FakeResponse::json(200, R"({
    "choices":[{"index":0,"message":{"role":"assistant","content":"",
      "tool_calls":[{"id":"c1","type":"function",
                     "function":{"name":"transfer_call","arguments":"{\"target\":\"financeiro\"}"}}]}}],
    "usage":{"prompt_tokens":10,"completion_tokens":2}})"));
  Secretary s = secretary();
  ProviderConfig openai = remote("openai", vendor_.base_url() + "/v1");
  openai.model = "gpt-test";
  s.llm = {openai};
  auto llm = registry_.language_model(s);
  ASSERT_TRUE(llm);
  auto answer = test::run(io_, (*llm)->complete(question("Quero falar com o financeiro")));
  ASSERT_TRUE(answer) << answer.error().message();
  EXPECT_EQ(answer->provider, "openai");
  ASSERT_EQ(answer->tool_calls.size(), 1u);
  EXPECT_EQ(answer->tool_calls[0].name, "transfer_call");

  auto requests = vendor_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].path, "/v1/chat/completions");
  EXPECT_EQ(requests[0].header("authorization"), std::string("Bearer ") + kApiKey);
  EXPECT_EQ(json::parse(requests[0].body)["model"], "gpt-test");
  const std::string metrics = metrics_.render();
  EXPECT_NE(metrics.find(R"(ivr_provider_requests_total{capability="llm",provider="openai",outcome="ok"} 1)"),
            std::string::npos)
      << metrics;
}

TEST_F(ProviderRegistryTest, FailingModelFallsBackToTheOfflineOne) {
  vendor_.respond("POST", "/v1/chat/completions", FakeResponse::json(500, R"({"error":"boom"})"));
  Secretary s = secretary();
  s.llm = {remote("openai", vendor_.base_url())};
  auto llm = registry_.language_model(s);
  ASSERT_TRUE(llm);
  auto answer = test::run(io_, (*llm)->complete(question("Qual o horário de funcionamento?")));
  ASSERT_TRUE(answer) << answer.error().message();
  EXPECT_EQ(answer->provider, "extractive");
  EXPECT_NE(answer->text.find("8h"), std::string::npos) << answer->text;
  EXPECT_EQ(vendor_.request_count(), 1u);
  const std::string metrics = metrics_.render();
  EXPECT_NE(
      metrics.find(
          R"(ivr_provider_requests_total{capability="llm",provider="openai",outcome="upstream_error"} 1)"),
      std::string::npos)
      << metrics;
}

TEST_F(ProviderRegistryTest, UnreachableSpeechToTextChainFails) {
  Secretary s = secretary();
  const std::string closed = "http://127.0.0.1:" + std::to_string(test::closed_local_port());
  s.stt = {remote("openai", closed), remote("deepgram", closed)};
  auto stt = registry_.speech_to_text(s);
  ASSERT_TRUE(stt);
  providers::TranscribeRequest request;
  request.audio.sample_rate = 8000;
  request.audio.channels = 1;
  request.audio.samples.assign(8000, 1000);
  request.language = "pt-BR";
  auto transcript = test::run(io_, (*stt)->transcribe(std::move(request)));
  ASSERT_FALSE(transcript);
  EXPECT_EQ(transcript.error(), Errc::unavailable);
  EXPECT_EQ(transcript.error().message().find(kApiKey), std::string::npos);
}

TEST_F(ProviderRegistryTest, BreakersAreKeptPerTenantForTenantCredentials) {
  // Two tenants with their own keys on the same endpoint: one tenant's failures must not pause the other.
  vendor_.respond("POST", "/v1/audio/transcriptions", FakeResponse::json(503, R"({"error":"down"})"));
  Secretary a = secretary();
  a.stt = {remote("openai", vendor_.base_url())};
  for (int i = 0; i < 3; ++i) {  // the default breaker threshold
    providers::TranscribeRequest request;
    request.audio.sample_rate = 8000;
    request.audio.channels = 1;
    request.audio.samples.assign(800, 1000);
    auto stt = registry_.speech_to_text(a);
    ASSERT_TRUE(stt);
    EXPECT_FALSE(test::run(io_, (*stt)->transcribe(std::move(request))));
  }
  EXPECT_EQ(vendor_.request_count(), 3u);
  EXPECT_TRUE(breakers_.is_open("stt|openai|" + vendor_.base_url() + "||" + kDomain));

  Secretary b = secretary();
  b.domain_uuid = "11111111-2222-4333-8444-555555555555";
  ProviderConfig p;
  p.vendor = "openai";
  p.base_url = vendor_.base_url();
  p.api_key_sealed = box_.seal("sk-other", b.domain_uuid);
  b.stt = {p};
  providers::TranscribeRequest request;
  request.audio.sample_rate = 8000;
  request.audio.channels = 1;
  request.audio.samples.assign(800, 1000);
  auto stt = registry_.speech_to_text(b);
  ASSERT_TRUE(stt);
  EXPECT_FALSE(test::run(io_, (*stt)->transcribe(std::move(request))));
  EXPECT_EQ(vendor_.request_count(), 4u);  // tenant b's request did reach the vendor
}

}  // namespace
}  // namespace ivr::conversation
