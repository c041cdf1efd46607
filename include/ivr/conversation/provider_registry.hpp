#pragma once
// The explicit registry (STYLE §4): builds a secretary's fallback chains from its provider settings.
// Every built-in vendor is listed in provider_registry.cpp; an unknown vendor name is a configuration
// error, never a silent no-op. io-thread only.

#include <memory>
#include <string>

#include "ivr/conversation/secretary.hpp"
#include "ivr/providers/fallback.hpp"
#include "ivr/providers/provider.hpp"

namespace ivr {
class SecretBox;
class MetricsRegistry;
namespace net {
class HttpClient;
}
namespace providers {
class EspeakEngine;
}
}  // namespace ivr

namespace ivr::conversation {

class ProviderRegistry {
 public:
  // All references must outlive the registry; `box` and `metrics` may be null.
  ProviderRegistry(net::HttpClient& http, providers::EspeakEngine& espeak,
                   providers::CircuitBreakers& breakers, const SecretBox* box, MetricsRegistry* metrics);

  // Errors: Errc::unavailable when the secretary has no provider for the capability (the message is the
  // caller's to phrase); Errc::config_invalid for an unknown vendor; Errc::unprocessable when a stored
  // API key cannot be opened (master key missing or changed).
  Result<std::unique_ptr<providers::SpeechToText>> speech_to_text(const Secretary& s);
  Result<std::unique_ptr<providers::LanguageModel>> language_model(const Secretary& s);
  Result<std::unique_ptr<providers::TextToSpeech>> text_to_speech(const Secretary& s);

 private:
  Result<providers::RemoteProviderSettings> remote_settings(const ProviderConfig& p, const Secretary& s);
  providers::AttemptObserver observer(std::string capability);

  net::HttpClient& http_;
  providers::EspeakEngine& espeak_;
  providers::CircuitBreakers& breakers_;
  const SecretBox* box_;
  MetricsRegistry* metrics_;
};

}  // namespace ivr::conversation
