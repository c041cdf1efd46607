#include "ivr/conversation/secretary.hpp"

#include <algorithm>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ivr/core/secret_box.hpp"

namespace ivr::conversation {
namespace {

using nlohmann::json;

constexpr const char* kDomain = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
constexpr const char* kOtherDomain = "11111111-2222-4333-8444-555555555555";
constexpr const char* kApiKey = "sk-secret-xyz-1234567890";
constexpr const char* kWebhookSecret = "whsec-very-private";

SecretBox test_box() {
  return SecretBox(std::string(32, 'k'));
}

// A secretary as POST /secretaries starts it: this domain, the offline providers.
Secretary fresh() {
  Secretary s;
  s.domain_uuid = kDomain;
  s.llm.push_back({"extractive", "", "", "", 15'000, "", "", ""});
  s.tts.push_back({"espeak", "", "", "", 15'000, "", "", ""});
  return s;
}

// The fields named by a list of errors, for readable assertions.
std::vector<std::string> fields(const std::vector<ValidationError>& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors) out.push_back(e.field);
  return out;
}

const ValidationError* error_for(const std::vector<ValidationError>& errors, const std::string& field) {
  auto it = std::find_if(errors.begin(), errors.end(), [&](const auto& e) { return e.field == field; });
  return it == errors.end() ? nullptr : &*it;
}

// Applies `input` to a fresh secretary and expects exactly one error, on `field`; returns its message.
std::string single_error(const json& input, const std::string& field) {
  Secretary s = fresh();
  const SecretBox box = test_box();
  auto errors = apply_api_json(input, &box, s);
  EXPECT_EQ(fields(errors), std::vector<std::string>{field}) << input.dump();
  return errors.empty() ? std::string() : errors.front().message;
}

json full_input() {
  return json{{"name", "Recepção"},
              {"language", "es"},
              {"greeting", "Hola"},
              {"system_prompt", "Eres la secretaria."},
              {"voice", "es-la"},
              {"mode", "realtime"},
              {"is_default", true},
              {"enabled", false},
              {"providers",
               {{"stt", {{{"vendor", "deepgram"}, {"model", "nova-2"}, {"timeout_ms", 5000}}}},
                {"llm",
                 {{{"vendor", "openai"},
                   {"base_url", "http://127.0.0.1:1/v1"},
                   {"model", "gpt-4o-mini"},
                   {"api_key", kApiKey},
                   {"extra", {{"api_version", "2024-06-01"}}}},
                  {{"vendor", "extractive"}}}},
                {"tts", {{{"vendor", "elevenlabs"}, {"voice", "Rachel"}}, {{"vendor", "espeak"}}}}}},
              {"transfer_targets", {{"vendas", "1001"}, {"financeiro", "1002"}}},
              {"fallback_extension", "1000"},
              {"max_turns", 7},
              {"goodbye_phrases", {"adiós", "chao"}},
              {"faq", {{{"question", "¿Horario?"}, {"answer", "De 8 a 18."}}}},
              {"webhook_url", "https://hooks.example.com/ivr"},
              {"webhook_secret", kWebhookSecret}};
}

TEST(DefaultSecretary, AnswersInPortugueseWithOfflineProviders) {
  Secretary s = default_secretary(kDomain, "pbx.example.com");
  EXPECT_EQ(s.domain_uuid, kDomain);
  EXPECT_EQ(s.language, "pt-BR");
  EXPECT_TRUE(s.is_default);
  EXPECT_TRUE(s.enabled);
  EXPECT_EQ(s.mode, "turn");
  EXPECT_NE(s.greeting.find("pbx.example.com"), std::string::npos) << s.greeting;
  ASSERT_EQ(s.llm.size(), 1u);
  EXPECT_EQ(s.llm[0].vendor, "extractive");
  ASSERT_EQ(s.tts.size(), 1u);
  EXPECT_EQ(s.tts[0].vendor, "espeak");
  EXPECT_TRUE(s.stt.empty());
  EXPECT_EQ(s.max_turns, 10);
  EXPECT_FALSE(s.goodbye_phrases.empty());
}

TEST(DefaultSecretary, GreetingWithoutDomainName) {
  EXPECT_NE(default_secretary(kDomain, "").greeting.find("nós"), std::string::npos);
}

TEST(ApplyApiJson, AcceptsEveryField) {
  Secretary s = fresh();
  const SecretBox box = test_box();
  auto errors = apply_api_json(full_input(), &box, s);
  ASSERT_TRUE(errors.empty()) << errors.front().field << ": " << errors.front().message;
  EXPECT_EQ(s.name, "Recepção");
  EXPECT_EQ(s.language, "es");
  EXPECT_EQ(s.greeting, "Hola");
  EXPECT_EQ(s.system_prompt, "Eres la secretaria.");
  EXPECT_EQ(s.voice, "es-la");
  EXPECT_EQ(s.mode, "realtime");
  EXPECT_TRUE(s.is_default);
  EXPECT_FALSE(s.enabled);
  ASSERT_EQ(s.stt.size(), 1u);
  EXPECT_EQ(s.stt[0].vendor, "deepgram");
  EXPECT_EQ(s.stt[0].model, "nova-2");
  EXPECT_EQ(s.stt[0].timeout_ms, 5000);
  ASSERT_EQ(s.llm.size(), 2u);
  EXPECT_EQ(s.llm[0].vendor, "openai");
  EXPECT_EQ(s.llm[0].base_url, "http://127.0.0.1:1/v1");
  EXPECT_EQ(s.llm[0].timeout_ms, 15'000);  // default when absent
  EXPECT_EQ(json::parse(s.llm[0].extra_json), json({{"api_version", "2024-06-01"}}));
  EXPECT_EQ(s.llm[1].vendor, "extractive");
  ASSERT_EQ(s.tts.size(), 2u);
  EXPECT_EQ(s.tts[0].voice, "Rachel");
  using Targets = std::vector<std::pair<std::string, std::string>>;
  // nlohmann objects iterate in key order; the list form below keeps the caller's order.
  EXPECT_EQ(s.transfer_targets, (Targets{{"financeiro", "1002"}, {"vendas", "1001"}}));
  EXPECT_EQ(s.fallback_extension, "1000");
  EXPECT_EQ(s.max_turns, 7);
  EXPECT_EQ(s.goodbye_phrases, (std::vector<std::string>{"adiós", "chao"}));
  ASSERT_EQ(s.faq.size(), 1u);
  EXPECT_EQ(s.faq[0].second, "De 8 a 18.");
  EXPECT_EQ(s.webhook_url, "https://hooks.example.com/ivr");
}

TEST(ApplyApiJson, SealsSecretsBoundToTheDomain) {
  Secretary s = fresh();
  const SecretBox box = test_box();
  ASSERT_TRUE(apply_api_json(full_input(), &box, s).empty());
  const ProviderConfig& openai = s.llm[0];
  EXPECT_FALSE(openai.api_key_sealed.empty());
  EXPECT_EQ(openai.api_key_sealed.find(kApiKey), std::string::npos);
  EXPECT_EQ(openai.api_key_hint, "7890");
  EXPECT_TRUE(s.llm[1].api_key_sealed.empty());

  Result<std::string> opened = open_api_key(openai, kDomain, &box);
  ASSERT_TRUE(opened);
  EXPECT_EQ(*opened, kApiKey);
  // Copied to another tenant's row, the ciphertext does not open.
  Result<std::string> elsewhere = open_api_key(openai, kOtherDomain, &box);
  ASSERT_FALSE(elsewhere);
  EXPECT_EQ(elsewhere.error(), Errc::unprocessable);
  // Without the master key it cannot be opened either.
  Result<std::string> keyless = open_api_key(openai, kDomain, nullptr);
  ASSERT_FALSE(keyless);
  EXPECT_EQ(keyless.error(), Errc::unprocessable);
  // No key stored: empty, not an error, with or without a master key.
  EXPECT_EQ(open_api_key(s.llm[1], kDomain, nullptr).value(), "");

  ASSERT_FALSE(s.webhook_secret_sealed.empty());
  EXPECT_EQ(box.open(s.webhook_secret_sealed, kDomain).value(), kWebhookSecret);
}

TEST(ApplyApiJson, ShortKeysHaveNoHint) {
  Secretary s = fresh();
  const SecretBox box = test_box();
  ASSERT_TRUE(
      apply_api_json({{"providers", {{"llm", {{{"vendor", "openai"}, {"api_key", "abcd"}}}}}}}, &box, s)
          .empty());
  EXPECT_FALSE(s.llm[0].api_key_sealed.empty());
  EXPECT_EQ(s.llm[0].api_key_hint, "");  // the hint would be the whole key
}

TEST(ApplyApiJson, SecretsWithoutMasterKeyAreRefused) {
  Secretary s = fresh();
  auto errors = apply_api_json(
      {{"providers", {{"llm", {{{"vendor", "openai"}, {"api_key", kApiKey}}}}}}, {"webhook_secret", "x"}},
      nullptr, s);
  EXPECT_EQ(fields(errors), (std::vector<std::string>{"providers.llm[0].api_key", "webhook_secret"}));
  const ValidationError* key_error = error_for(errors, "providers.llm[0].api_key");
  ASSERT_NE(key_error, nullptr);
  EXPECT_NE(key_error->message.find("master key"), std::string::npos) << key_error->message;
  EXPECT_NE(key_error->message.find("VOICE_AI_SECURITY_MASTER_KEY"), std::string::npos);
  for (const auto& e : errors) EXPECT_EQ(e.message.find(kApiKey), std::string::npos) << e.message;
  EXPECT_TRUE(s.llm[0].api_key_sealed.empty());
}

TEST(ApplyApiJson, SettingsWithoutSecretsNeedNoMasterKey) {
  Secretary s = fresh();
  EXPECT_TRUE(
      apply_api_json({{"name", "Ana"}, {"providers", {{"llm", {{{"vendor", "openai"}}}}}}}, nullptr, s)
          .empty());
  EXPECT_EQ(s.llm[0].vendor, "openai");
}

TEST(ApplyApiJson, NotAnObject) {
  Secretary s = fresh();
  auto errors = apply_api_json(json::array({1, 2}), nullptr, s);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "");
  EXPECT_NE(errors[0].message.find("object"), std::string::npos);
}

TEST(ApplyApiJson, TopLevelFieldErrorsNameTheField) {
  EXPECT_EQ(single_error({{"name", ""}}, "name"), "must not be empty");
  EXPECT_EQ(single_error({{"name", 42}}, "name"), "must be a string");
  EXPECT_NE(single_error({{"name", std::string(101, 'a')}}, "name").find("at most 100"), std::string::npos);
  EXPECT_NE(single_error({{"language", "Portuguese"}}, "language").find("language tag"), std::string::npos);
  EXPECT_NE(single_error({{"language", "pt_BR"}}, "language").find("pt-BR"), std::string::npos);
  EXPECT_NE(single_error({{"mode", "batch"}}, "mode").find("realtime"), std::string::npos);
  EXPECT_EQ(single_error({{"is_default", "yes"}}, "is_default"), "must be true or false");
  EXPECT_EQ(single_error({{"enabled", 1}}, "enabled"), "must be true or false");
  EXPECT_NE(single_error({{"max_turns", 0}}, "max_turns").find("1 to 100"), std::string::npos);
  EXPECT_NE(single_error({{"max_turns", 101}}, "max_turns").find("1 to 100"), std::string::npos);
  EXPECT_NE(single_error({{"max_turns", "5"}}, "max_turns").find("integer"), std::string::npos);
  EXPECT_NE(single_error({{"max_turns", 2.5}}, "max_turns").find("integer"), std::string::npos);
  EXPECT_NE(single_error({{"fallback_extension", "10 00"}}, "fallback_extension").find("extension"),
            std::string::npos);
  EXPECT_NE(single_error({{"webhook_url", "ftp://example.com"}}, "webhook_url").find("http(s)"),
            std::string::npos);
  EXPECT_NE(single_error({{"webhook_url", "https://a b"}}, "webhook_url").find("http(s)"), std::string::npos);
  EXPECT_EQ(single_error({{"colour", "blue"}}, "colour"), "unknown field");
  EXPECT_NE(single_error({{"goodbye_phrases", "tchau"}}, "goodbye_phrases").find("list"), std::string::npos);
  EXPECT_EQ(single_error({{"goodbye_phrases", {"tchau", 3}}}, "goodbye_phrases"), "must be a string");
  EXPECT_NE(single_error({{"faq", {{{"question", "q"}}}}}, "faq[0]").find("answer"), std::string::npos);
  EXPECT_NE(single_error({{"faq", "q"}}, "faq").find("list"), std::string::npos);
  EXPECT_NE(single_error({{"greeting", std::string(2'001, 'a')}}, "greeting").find("2000"),
            std::string::npos);
}

TEST(ApplyApiJson, TransferTargetErrorsNameTheTarget) {
  EXPECT_NE(single_error({{"transfer_targets", {{"vendas", "10 01"}}}}, "transfer_targets.vendas")
                .find("extension"),
            std::string::npos);
  EXPECT_NE(
      single_error({{"transfer_targets", {{"vendas", 1001}}}}, "transfer_targets.vendas").find("extension"),
      std::string::npos);
  EXPECT_NE(single_error({{"transfer_targets", json::array({{{"name", ""}, {"extension", "1"}}})}},
                         "transfer_targets[0]")
                .find("non-empty"),
            std::string::npos);
  EXPECT_NE(single_error({{"transfer_targets", json::array({"vendas"})}}, "transfer_targets[0]").find("name"),
            std::string::npos);
  EXPECT_NE(single_error({{"transfer_targets", "vendas"}}, "transfer_targets").find("object"),
            std::string::npos);
  json many = json::object();
  for (int i = 0; i < 51; ++i) many["t" + std::to_string(i)] = std::to_string(1000 + i);
  EXPECT_NE(single_error({{"transfer_targets", many}}, "transfer_targets").find("50"), std::string::npos);
}

TEST(ApplyApiJson, TransferTargetsAsListKeepTheirOrder) {
  Secretary s = fresh();
  ASSERT_TRUE(
      apply_api_json({{"transfer_targets", json::array({{{"name", "Vendas"}, {"extension", "1001"}},
                                                        {{"name", "Financeiro"}, {"extension", "*98"}}})}},
                     nullptr, s)
          .empty());
  using Targets = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(s.transfer_targets, (Targets{{"Vendas", "1001"}, {"Financeiro", "*98"}}));
}

TEST(ApplyApiJson, ProviderErrorsNameTheEntry) {
  EXPECT_NE(single_error({{"providers", {{"llm", {{{"vendor", "skynet"}}}}}}}, "providers.llm[0].vendor")
                .find("anthropic"),
            std::string::npos);
  // STT vendors are not LLM vendors.
  EXPECT_NE(single_error({{"providers", {{"stt", {{{"vendor", "extractive"}}}}}}}, "providers.stt[0].vendor")
                .find("deepgram"),
            std::string::npos);
  EXPECT_NE(single_error({{"providers", {{"tts", {{{"vendor", "espeak"}}, {{"model", "x"}}}}}}},
                         "providers.tts[1].vendor")
                .find("espeak"),
            std::string::npos);
  EXPECT_NE(single_error({{"providers", {{"tts", {{{"vendor", "espeak"}, {"timeout_ms", 50}}}}}}},
                         "providers.tts[0].timeout_ms")
                .find("100 to 120000"),
            std::string::npos);
  EXPECT_NE(single_error({{"providers", {{"llm", {{{"vendor", "openai"}, {"base_url", "api.openai.com"}}}}}}},
                         "providers.llm[0].base_url")
                .find("http(s)"),
            std::string::npos);
  EXPECT_EQ(single_error({{"providers", {{"llm", {{{"vendor", "openai"}, {"temperature", 1}}}}}}},
                         "providers.llm[0].temperature"),
            "unknown field");
  EXPECT_EQ(single_error({{"providers", {{"llm", {{{"vendor", "openai"}, {"extra", "x"}}}}}}},
                         "providers.llm[0].extra"),
            "must be an object");
  EXPECT_NE(
      single_error({{"providers", {{"video", json::array()}}}}, "providers.video").find("stt, llm, tts"),
      std::string::npos);
  EXPECT_NE(single_error({{"providers", {{"llm", {{"vendor", "openai"}}}}}}, "providers.llm").find("array"),
            std::string::npos);
  EXPECT_EQ(single_error({{"providers", {{"llm", json::array({"openai"})}}}}, "providers.llm[0]"),
            "must be an object");
  EXPECT_NE(single_error({{"providers", "openai"}}, "providers").find("object"), std::string::npos);
  json six = json::array();
  for (int i = 0; i < 6; ++i) six.push_back({{"vendor", "espeak"}});
  EXPECT_NE(single_error({{"providers", {{"tts", six}}}}, "providers.tts").find("at most 5"),
            std::string::npos);
}

TEST(ApplyApiJson, ReportsEveryProblemAtOnce) {
  Secretary s = fresh();
  auto errors = apply_api_json({{"name", ""},
                                {"language", "??"},
                                {"max_turns", -1},
                                {"providers", {{"llm", {{{"vendor", "nope"}}}}}},
                                {"bogus", true}},
                               nullptr, s);
  auto names = fields(errors);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names,
            (std::vector<std::string>{"bogus", "language", "max_turns", "name", "providers.llm[0].vendor"}));
  for (const auto& e : errors) EXPECT_FALSE(e.message.empty()) << e.field;
}

TEST(ApplyApiJson, ReadOnlyFieldsFromGetAreIgnored) {
  Secretary s = fresh();
  s.id = "the-id";
  auto errors = apply_api_json({{"id", "other"},
                                {"domain_uuid", kOtherDomain},
                                {"created_at", "x"},
                                {"updated_at", "y"},
                                {"has_webhook_secret", true}},
                               nullptr, s);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(s.id, "the-id");
  EXPECT_EQ(s.domain_uuid, kDomain);  // a body cannot move a secretary to another tenant
}

TEST(ToApiJson, NeverExposesSecrets) {
  Secretary s = fresh();
  const SecretBox box = test_box();
  ASSERT_TRUE(apply_api_json(full_input(), &box, s).empty());
  const json api = to_api_json(s);
  const std::string text = api.dump();
  EXPECT_EQ(text.find(kApiKey), std::string::npos) << text;
  EXPECT_EQ(text.find(kWebhookSecret), std::string::npos) << text;
  EXPECT_EQ(text.find(s.llm[0].api_key_sealed), std::string::npos) << "sealed key leaked";
  EXPECT_EQ(text.find(s.webhook_secret_sealed), std::string::npos) << "sealed secret leaked";
  EXPECT_EQ(text.find("api_key_sealed"), std::string::npos);
  const json& openai = api["providers"]["llm"][0];
  EXPECT_EQ(openai["has_api_key"], true);
  EXPECT_EQ(openai["api_key_hint"], "…7890");
  EXPECT_FALSE(openai.contains("api_key"));
  EXPECT_EQ(api["providers"]["llm"][1]["has_api_key"], false);
  EXPECT_FALSE(api["providers"]["llm"][1].contains("api_key_hint"));
  EXPECT_EQ(api["has_webhook_secret"], true);
  EXPECT_FALSE(api.contains("webhook_secret"));
  EXPECT_FALSE(api.contains("webhook_secret_sealed"));
}

TEST(ToApiJson, Shape) {
  Secretary s = default_secretary(kDomain, "pbx");
  s.id = "abc";
  s.transfer_targets = {{"vendas", "1001"}};
  s.faq = {{"q", "a"}};
  const json j = to_api_json(s);
  EXPECT_EQ(j["id"], "abc");
  EXPECT_EQ(j["domain_uuid"], kDomain);
  EXPECT_EQ(j["language"], "pt-BR");
  EXPECT_EQ(j["is_default"], true);
  EXPECT_EQ(j["mode"], "turn");
  EXPECT_EQ(j["max_turns"], 10);
  EXPECT_EQ(j["transfer_targets"], json({{"vendas", "1001"}}));
  EXPECT_EQ(j["faq"], json::array({{{"question", "q"}, {"answer", "a"}}}));
  EXPECT_EQ(j["providers"]["stt"], json::array());
  EXPECT_EQ(j["providers"]["llm"][0]["vendor"], "extractive");
  EXPECT_EQ(j["providers"]["tts"][0]["vendor"], "espeak");
  EXPECT_EQ(j["has_webhook_secret"], false);
}

TEST(SecretaryRecord, StoredFormKeepsSecretsSealedOnly) {
  Secretary s = fresh();
  const SecretBox box = test_box();
  ASSERT_TRUE(apply_api_json(full_input(), &box, s).empty());
  const store::SecretaryRecord r = to_record(s);
  EXPECT_EQ(r.settings_json.find(kApiKey), std::string::npos);
  EXPECT_EQ(r.settings_json.find(kWebhookSecret), std::string::npos);
  const json settings = json::parse(r.settings_json);
  EXPECT_EQ(settings["providers"]["llm"][0]["api_key_sealed"], s.llm[0].api_key_sealed);
  EXPECT_EQ(settings["webhook_secret_sealed"], s.webhook_secret_sealed);
  EXPECT_EQ(r.name, "Recepção");
  EXPECT_EQ(r.language, "es");
  EXPECT_EQ(r.mode, "realtime");
  EXPECT_TRUE(r.is_default);
  EXPECT_FALSE(r.enabled);
}

TEST(SecretaryRecord, RoundTrip) {
  Secretary s = fresh();
  const SecretBox box = test_box();
  ASSERT_TRUE(apply_api_json(full_input(), &box, s).empty());
  s.id = "0b7e1a9e-3f7c-4c59-9d1e-7a8b9c0d1e2f";
  s.created_at = "2024-01-01T00:00:00Z";
  s.updated_at = "2024-01-02T00:00:00Z";
  store::SecretaryRecord r = to_record(s);
  r.created_at = s.created_at;  // the repository fills these
  r.updated_at = s.updated_at;
  Result<Secretary> back = from_record(r);
  ASSERT_TRUE(back);
  EXPECT_EQ(to_api_json(*back), to_api_json(s));
  EXPECT_EQ(back->llm[0].api_key_sealed, s.llm[0].api_key_sealed);
  EXPECT_EQ(open_api_key(back->llm[0], kDomain, &box).value(), kApiKey);
  EXPECT_EQ(back->webhook_secret_sealed, s.webhook_secret_sealed);
  EXPECT_EQ(back->transfer_targets, s.transfer_targets);
  EXPECT_EQ(back->faq, s.faq);
  EXPECT_EQ(back->stt[0].timeout_ms, 5000);
  EXPECT_EQ(back->llm[0].extra_json, s.llm[0].extra_json);
}

TEST(SecretaryRecord, TransferTargetsKeepTheirOrder) {
  // The order matters: the offline model sends "a person, please" to the first target.
  Secretary s = fresh();
  ASSERT_TRUE(
      apply_api_json({{"transfer_targets", json::array({{{"name", "Recepção"}, {"extension", "1000"}},
                                                        {{"name", "Financeiro"}, {"extension", "1002"}},
                                                        {{"name", "Atendimento"}, {"extension", "1003"}}})}},
                     nullptr, s)
          .empty());
  Result<Secretary> back = from_record(to_record(s));
  ASSERT_TRUE(back);
  using Targets = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(back->transfer_targets,
            (Targets{{"Recepção", "1000"}, {"Financeiro", "1002"}, {"Atendimento", "1003"}}));
  // The API form stays the {"name": "extension"} object.
  EXPECT_EQ(to_api_json(*back)["transfer_targets"],
            json({{"Recepção", "1000"}, {"Financeiro", "1002"}, {"Atendimento", "1003"}}));
}

TEST(SecretaryRecord, ReadsTargetsStoredAsAnObject) {
  store::SecretaryRecord r;
  r.settings_json = R"({"transfer_targets": {"vendas": "1001", "financeiro": "1002"}})";
  Result<Secretary> s = from_record(r);
  ASSERT_TRUE(s);
  using Targets = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(s->transfer_targets, (Targets{{"financeiro", "1002"}, {"vendas", "1001"}}));
}

TEST(SecretaryRecord, MalformedSettingsAreAnInternalError) {
  store::SecretaryRecord r;
  r.settings_json = "not json";
  Result<Secretary> s = from_record(r);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error(), Errc::internal);
  r.settings_json = R"({"transfer_targets": {"vendas": 1001}})";
  s = from_record(r);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error(), Errc::internal);
  r.settings_json = R"({"transfer_targets": [{"name": "vendas"}]})";
  s = from_record(r);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error(), Errc::internal);
}

TEST(SecretaryRecord, MissingSettingsTakeDefaults) {
  store::SecretaryRecord r;
  r.settings_json = "{}";
  Result<Secretary> s = from_record(r);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->max_turns, 10);
  EXPECT_TRUE(s->llm.empty());
  EXPECT_TRUE(s->transfer_targets.empty());
}

TEST(ApplyApiJson, GetEditPutRoundTripKeepsTheStoredKey) {
  Secretary s = fresh();
  const SecretBox box = test_box();
  ASSERT_TRUE(apply_api_json(full_input(), &box, s).empty());
  const std::string sealed = s.llm[0].api_key_sealed;
  // What an admin does: GET, change the name, PUT the whole document back (with has_api_key/api_key_hint).
  json edited = to_api_json(s);
  edited["name"] = "Nova";
  auto errors = apply_api_json(edited, &box, s);
  ASSERT_TRUE(errors.empty()) << errors.front().field << ": " << errors.front().message;
  EXPECT_EQ(s.name, "Nova");
  EXPECT_EQ(s.llm[0].api_key_sealed, sealed);
  EXPECT_EQ(s.llm[0].api_key_hint, "7890");
  EXPECT_EQ(open_api_key(s.llm[0], kDomain, &box).value(), kApiKey);
}

TEST(ApplyApiJson, KeyFollowsItsVendorAndCanBeRemoved) {
  Secretary s = fresh();
  const SecretBox box = test_box();
  ASSERT_TRUE(
      apply_api_json({{"providers", {{"llm", {{{"vendor", "openai"}, {"api_key", kApiKey}}}}}}}, &box, s)
          .empty());
  // Another vendor at the same place does not inherit the key.
  ASSERT_TRUE(apply_api_json({{"providers", {{"llm", {{{"vendor", "anthropic"}}}}}}}, &box, s).empty());
  EXPECT_TRUE(s.llm[0].api_key_sealed.empty());
  EXPECT_TRUE(s.llm[0].api_key_hint.empty());
  // A new key replaces, null removes.
  ASSERT_TRUE(
      apply_api_json({{"providers", {{"llm", {{{"vendor", "anthropic"}, {"api_key", "sk-ant-9999"}}}}}}},
                     &box, s)
          .empty());
  EXPECT_EQ(open_api_key(s.llm[0], kDomain, &box).value(), "sk-ant-9999");
  ASSERT_TRUE(
      apply_api_json({{"providers", {{"llm", {{{"vendor", "anthropic"}, {"api_key", nullptr}}}}}}}, &box, s)
          .empty());
  EXPECT_TRUE(s.llm[0].api_key_sealed.empty());
  // Providers not mentioned keep their chain.
  EXPECT_EQ(s.tts[0].vendor, "espeak");
}

TEST(ApplyApiJson, WebhookSecretNullRemovesIt) {
  Secretary s = fresh();
  const SecretBox box = test_box();
  ASSERT_TRUE(apply_api_json({{"webhook_secret", "abc"}}, &box, s).empty());
  EXPECT_FALSE(s.webhook_secret_sealed.empty());
  ASSERT_TRUE(apply_api_json({{"webhook_secret", nullptr}}, nullptr, s).empty());
  EXPECT_TRUE(s.webhook_secret_sealed.empty());
}

}  // namespace
}  // namespace ivr::conversation
