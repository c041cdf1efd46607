#include "ivr/conversation/provider_registry.hpp"

#include "ivr/core/logging.hpp"
#include "ivr/core/metrics.hpp"
#include "ivr/providers/llm.hpp"
#include "ivr/providers/stt.hpp"
#include "ivr/providers/tts.hpp"

namespace ivr::conversation {
namespace {

// Breakers are shared per vendor endpoint and credential owner: one tenant's bad key must not pause the
// vendor for everybody, while a vendor outage seen by one call is not rediscovered by the next.
std::string breaker_key(const std::string& capability, const ProviderConfig& p, const Secretary& s) {
  const bool tenant_credentials = !p.api_key_sealed.empty();
  return capability + "|" + p.vendor + "|" + p.base_url + "|" + p.model + "|" +
         (tenant_credentials ? s.domain_uuid : std::string());
}

}  // namespace

ProviderRegistry::ProviderRegistry(net::HttpClient& http, providers::EspeakEngine& espeak,
                                   providers::CircuitBreakers& breakers, const SecretBox* box,
                                   MetricsRegistry* metrics)
    : http_(http), espeak_(espeak), breakers_(breakers), box_(box), metrics_(metrics) {}

Result<providers::RemoteProviderSettings> ProviderRegistry::remote_settings(const ProviderConfig& p,
                                                                            const Secretary& s) {
  Result<std::string> key = open_api_key(p, s.domain_uuid, box_);
  if (!key) {
    module_logger("providers")
        ->error(
            "[domain={}] cannot open the API key of {} (secretary {}): master key missing "
            "or changed",
            s.domain_uuid, p.vendor, s.id);
    return key.error();
  }
  providers::RemoteProviderSettings r;
  r.base_url = p.base_url;
  r.api_key = std::move(*key);
  r.model = p.model;
  r.timeout = std::chrono::milliseconds(p.timeout_ms);
  r.extra = p.extra_json;
  return r;
}

providers::AttemptObserver ProviderRegistry::observer(std::string capability) {
  if (metrics_ == nullptr) return {};
  MetricsRegistry* metrics = metrics_;
  return [metrics, capability](std::string_view provider, const boost::system::error_code& ec) {
    metrics
        ->counter("ivr_provider_requests_total", "Provider calls by capability, provider and outcome",
                  {{"capability", capability},
                   {"provider", std::string(provider)},
                   {"outcome", ec ? std::string(http_error_mapping(ec).code) : "ok"}})
        .inc();
  };
}

Result<std::unique_ptr<providers::SpeechToText>> ProviderRegistry::speech_to_text(const Secretary& s) {
  std::vector<providers::ChainLink<providers::SpeechToText>> links;
  for (const auto& p : s.stt) {
    auto settings = remote_settings(p, s);
    if (!settings) return settings.error();
    std::shared_ptr<providers::SpeechToText> adapter;
    if (p.vendor == "openai") {
      adapter = providers::make_openai_stt(http_, std::move(*settings));
    } else if (p.vendor == "deepgram") {
      adapter = providers::make_deepgram_stt(http_, std::move(*settings));
    } else if (p.vendor == "elevenlabs") {
      adapter = providers::make_elevenlabs_stt(http_, std::move(*settings));
    } else {
      return make_error_code(Errc::config_invalid);
    }
    links.push_back({std::move(adapter), breaker_key("stt", p, s)});
  }
  if (links.empty()) return make_error_code(Errc::unavailable);
  return providers::make_stt_chain(std::move(links), breakers_, observer("stt"));
}

Result<std::unique_ptr<providers::LanguageModel>> ProviderRegistry::language_model(const Secretary& s) {
  std::vector<providers::ChainLink<providers::LanguageModel>> links;
  for (const auto& p : s.llm) {
    std::shared_ptr<providers::LanguageModel> adapter;
    if (p.vendor == "extractive") {
      adapter = providers::make_extractive_llm();
    } else {
      auto settings = remote_settings(p, s);
      if (!settings) return settings.error();
      if (p.vendor == "openai") {
        adapter = providers::make_openai_llm(http_, std::move(*settings));
      } else if (p.vendor == "anthropic") {
        adapter = providers::make_anthropic_llm(http_, std::move(*settings));
      } else if (p.vendor == "gemini") {
        adapter = providers::make_gemini_llm(http_, std::move(*settings));
      } else {
        return make_error_code(Errc::config_invalid);
      }
    }
    links.push_back({std::move(adapter), breaker_key("llm", p, s)});
  }
  // The offline model is the last resort of every chain: a caller always gets an answer.
  const bool has_extractive = std::any_of(s.llm.begin(), s.llm.end(),
                                          [](const ProviderConfig& p) { return p.vendor == "extractive"; });
  if (!has_extractive) links.push_back({providers::make_extractive_llm(), "llm|extractive"});
  return providers::make_llm_chain(std::move(links), breakers_, observer("llm"));
}

Result<std::unique_ptr<providers::TextToSpeech>> ProviderRegistry::text_to_speech(const Secretary& s) {
  std::vector<providers::ChainLink<providers::TextToSpeech>> links;
  bool has_espeak = false;
  for (const auto& p : s.tts) {
    std::shared_ptr<providers::TextToSpeech> adapter;
    if (p.vendor == "espeak") {
      adapter = providers::make_espeak_tts(espeak_);
      has_espeak = true;
    } else {
      auto settings = remote_settings(p, s);
      if (!settings) return settings.error();
      if (p.vendor == "openai") {
        adapter = providers::make_openai_tts(http_, std::move(*settings));
      } else if (p.vendor == "elevenlabs") {
        adapter = providers::make_elevenlabs_tts(http_, std::move(*settings));
      } else {
        return make_error_code(Errc::config_invalid);
      }
    }
    links.push_back({std::move(adapter), breaker_key("tts", p, s)});
  }
  // A robotic voice beats silence: espeak backs up every chain.
  if (!has_espeak) links.push_back({providers::make_espeak_tts(espeak_), "tts|espeak"});
  return providers::make_tts_chain(std::move(links), breakers_, observer("tts"));
}

}  // namespace ivr::conversation
