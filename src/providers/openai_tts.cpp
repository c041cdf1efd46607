// OpenAI-compatible text-to-speech: POST {root}/v1/audio/speech → raw 24 kHz s16le mono (PROTOCOLS §5).

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "ivr/core/logging.hpp"
#include "ivr/net/http_client.hpp"
#include "ivr/providers/tts.hpp"
#include "tts_common.hpp"

namespace ivr::providers {
namespace {

constexpr std::string_view kDefaultUrl = "https://api.openai.com";
constexpr std::string_view kDefaultModel = "gpt-4o-mini-tts";
constexpr std::string_view kDefaultVoice = "alloy";
constexpr int kPcmRate = 24'000;          // response_format "pcm" is 24 kHz s16le mono
constexpr std::size_t kMaxInput = 4'096;  // the endpoint's own limit on `input`

class OpenAiTextToSpeech final : public TextToSpeech {
 public:
  OpenAiTextToSpeech(net::HttpClient& http, RemoteProviderSettings settings)
      : http_(http),
        settings_(std::move(settings)),
        url_(tts_detail::api_root(settings_.base_url, kDefaultUrl) + "/v1/audio/speech") {
    if (settings_.model.empty()) settings_.model = kDefaultModel;
    read_extra();
  }

  std::string_view name() const override { return "openai"; }

  boost::asio::awaitable<Result<Synthesis>> synthesize(SynthesisRequest request) override {
    if (auto ec = tts_detail::validate_request(request, std::min(kMaxInput, kMaxSynthesisChars)); ec) {
      co_return ec;
    }
    nlohmann::json body = {
        {"model", settings_.model},
        {"input", request.text},
        {"voice", !request.voice.empty() ? request.voice : default_voice_},
        {"response_format", "pcm"},
    };
    if (speed_) body["speed"] = *speed_;
    if (!instructions_.empty()) body["instructions"] = instructions_;

    std::string auth_value = "Bearer " + settings_.api_key;
    std::string payload = body.dump();
    co_return co_await tts_detail::post_for_audio(http_, url_, "Authorization", std::move(auth_value),
                                                  std::move(payload), "openai", kPcmRate, request.sample_rate,
                                                  settings_);
  }

 private:
  // settings.extra: {"voice": "nova", "speed": 1.1, "instructions": "Speak warmly."}; anything else is
  // logged and ignored (the settings were validated where they were saved; this only guards the adapter).
  void read_extra() {
    const auto extra = tts_detail::extra_object(settings_.extra, "openai");
    for (const auto& [key, value] : extra.items()) {
      if (key == "voice" && value.is_string() && !value.get<std::string>().empty()) {
        default_voice_ = value.get<std::string>();
      } else if (key == "speed" && value.is_number() && value.get<double>() >= 0.25 &&
                 value.get<double>() <= 4.0) {
        speed_ = value.get<double>();
      } else if (key == "instructions" && value.is_string()) {
        instructions_ = value.get<std::string>();
      } else {
        module_logger("providers")
            ->warn("openai tts: settings.extra key '{}' unknown or invalid; ignored", key);
      }
    }
  }

  net::HttpClient& http_;
  RemoteProviderSettings settings_;
  std::string url_;
  std::string default_voice_{kDefaultVoice};
  std::optional<double> speed_;
  std::string instructions_;
};

}  // namespace

std::unique_ptr<TextToSpeech> make_openai_tts(net::HttpClient& http, RemoteProviderSettings settings) {
  return std::make_unique<OpenAiTextToSpeech>(http, std::move(settings));
}

}  // namespace ivr::providers
