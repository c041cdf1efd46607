#pragma once
// A secretary as the conversation code uses it, and its JSON forms:
//  - the API form (what admins send and read back; provider API keys go in clear on the way in and come
//    back only as "has_api_key": true and the last 4 characters),
//  - the stored form (SecretaryRecord.settings_json; keys sealed with the master key, domain-bound).

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "ivr/core/errors.hpp"
#include "ivr/store/secretaries.hpp"

namespace ivr {
class SecretBox;
}

namespace ivr::conversation {

struct ProviderConfig {
  std::string vendor;    // stt: openai|deepgram|elevenlabs; llm: openai|anthropic|gemini|extractive;
                         // tts: openai|elevenlabs|espeak; realtime: openai|elevenlabs|pipeline
  std::string base_url;  // empty = the vendor's public endpoint
  std::string model;
  std::string voice;  // tts only
  std::int64_t timeout_ms = 15'000;
  std::string api_key_sealed;  // stored form only
  std::string api_key_hint;    // last 4 characters, for the API's answers
  std::string extra_json;      // vendor-specific options object text, or empty
};

struct Secretary {
  std::string id;
  std::string domain_uuid;
  std::string name;
  std::string language = "pt-BR";
  std::string greeting;
  std::string system_prompt;
  std::string voice;
  std::string mode = "turn";
  bool is_default = false;
  bool enabled = true;
  std::vector<ProviderConfig> stt;
  std::vector<ProviderConfig> llm;
  std::vector<ProviderConfig> tts;
  std::vector<ProviderConfig> realtime;  // /stream calls: openai|elevenlabs|pipeline; empty = pipeline
  std::string playback = "stream";  // how /stream audio reaches the caller: stream | file (PROTOCOLS §1)
  std::vector<std::pair<std::string, std::string>> transfer_targets;  // name → extension, in order
  std::string fallback_extension;
  int max_turns = 10;
  std::vector<std::string> goodbye_phrases;
  std::vector<std::pair<std::string, std::string>> faq;  // question → answer
  std::string webhook_url;
  std::string webhook_secret_sealed;
  std::string created_at;
  std::string updated_at;
};

// The secretary every domain starts with: offline providers (extractive LLM, espeak TTS), Portuguese.
Secretary default_secretary(const std::string& domain_uuid, const std::string& domain_name);

struct ValidationError {
  std::string field;  // e.g. "providers.llm[0].vendor"
  std::string message;
};

// Applies an API JSON object onto `base` (PUT replaces the fields present; POST starts from defaults).
// Secrets in the input are sealed with `box` (bound to the domain); when `box` is null and a secret is
// given, that is a validation error telling the operator to configure the master key.
// Returns every problem found.
std::vector<ValidationError> apply_api_json(const nlohmann::json& input, const SecretBox* box,
                                            Secretary& base);

// The API form, secrets redacted.
nlohmann::json to_api_json(const Secretary& s);

// Stored form ↔ typed form.
store::SecretaryRecord to_record(const Secretary& s);
Result<Secretary> from_record(const store::SecretaryRecord& r);

// The decrypted API key of a provider entry ("" when none). Errc::unprocessable when it cannot be opened
// (master key changed or missing).
Result<std::string> open_api_key(const ProviderConfig& p, const std::string& domain_uuid,
                                 const SecretBox* box);

}  // namespace ivr::conversation
