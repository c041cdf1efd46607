// ElevenLabs text-to-speech: POST {root}/v1/text-to-speech/{voice_id}?output_format=pcm_<rate> → raw s16le
// mono at that rate (PROTOCOLS §5).

#include <algorithm>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "ivr/core/logging.hpp"
#include "ivr/net/http_client.hpp"
#include "ivr/providers/tts.hpp"
#include "tts_common.hpp"

namespace ivr::providers {
namespace {

constexpr std::string_view kDefaultUrl = "https://api.elevenlabs.io";
constexpr std::string_view kDefaultModel = "eleven_multilingual_v2";
constexpr std::string_view kDefaultVoice = "21m00Tcm4TlvDq8ikWAM";  // "Rachel", a premade voice

// The PCM rate to ask for: the target itself when ElevenLabs offers it on every plan, else 16 kHz and we
// resample. For 8 kHz calls 16-bit linear at 16 kHz decimated 2:1 by speexdsp sounds better than ulaw_8000
// (8-bit companded) and keeps one decoding path.
int vendor_rate_for(int target) noexcept {
  return (target == 16'000 || target == 22'050 || target == 24'000) ? target : 16'000;
}

// Voice ids are alphanumeric; refusing anything else keeps a caller's string out of the URL path.
bool is_valid_voice_id(std::string_view id) noexcept {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

class ElevenLabsTextToSpeech final : public TextToSpeech {
 public:
  ElevenLabsTextToSpeech(net::HttpClient& http, RemoteProviderSettings settings)
      : http_(http),
        settings_(std::move(settings)),
        root_(tts_detail::api_root(settings_.base_url, kDefaultUrl)) {
    if (settings_.model.empty()) settings_.model = kDefaultModel;
    read_extra();
  }

  std::string_view name() const override { return "elevenlabs"; }

  boost::asio::awaitable<Result<Synthesis>> synthesize(SynthesisRequest request) override {
    if (auto ec = tts_detail::validate_request(request, kMaxSynthesisChars); ec) co_return ec;
    const std::string voice_id = !request.voice.empty() ? request.voice : default_voice_;
    if (!is_valid_voice_id(voice_id)) co_return make_error_code(Errc::unprocessable);
    const int vendor_rate = vendor_rate_for(request.sample_rate);

    nlohmann::json body = {{"text", request.text}, {"model_id", settings_.model}};
    if (!voice_settings_.is_null()) body["voice_settings"] = voice_settings_;

    std::string url =
        root_ + "/v1/text-to-speech/" + voice_id + "?output_format=pcm_" + std::to_string(vendor_rate);
    std::string payload = body.dump();
    co_return co_await tts_detail::post_for_audio(http_, std::move(url), "xi-api-key", settings_.api_key,
                                                  std::move(payload), "elevenlabs", vendor_rate,
                                                  request.sample_rate, settings_);
  }

 private:
  // settings.extra: {"voice_id": "…", "voice_settings": {"stability": 0.5, "similarity_boost": 0.75}};
  // anything else is logged and ignored.
  void read_extra() {
    const auto extra = tts_detail::extra_object(settings_.extra, "elevenlabs");
    for (const auto& [key, value] : extra.items()) {
      if (key == "voice_id" && value.is_string() && is_valid_voice_id(value.get<std::string>())) {
        default_voice_ = value.get<std::string>();
      } else if (key == "voice_settings" && value.is_object()) {
        voice_settings_ = value;
      } else {
        module_logger("providers")
            ->warn("elevenlabs tts: settings.extra key '{}' unknown or invalid; ignored", key);
      }
    }
  }

  net::HttpClient& http_;
  RemoteProviderSettings settings_;
  std::string root_;
  std::string default_voice_{kDefaultVoice};
  nlohmann::json voice_settings_;  // null = let the voice's own settings apply
};

}  // namespace

std::unique_ptr<TextToSpeech> make_elevenlabs_tts(net::HttpClient& http, RemoteProviderSettings settings) {
  return std::make_unique<ElevenLabsTextToSpeech>(http, std::move(settings));
}

}  // namespace ivr::providers
