// ElevenLabs text-to-speech: POST {root}/v1/text-to-speech/{voice_id}?output_format=pcm_<rate> → raw s16le
// mono at that rate (PROTOCOLS §5).

#include <algorithm>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "http_errors.hpp"
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

    net::ClientRequest http_request;
    http_request.method = "POST";
    http_request.url =
        root_ + "/v1/text-to-speech/" + voice_id + "?output_format=pcm_" + std::to_string(vendor_rate);
    if (!settings_.api_key.empty()) http_request.headers.set("xi-api-key", settings_.api_key);
    http_request.headers.set("Content-Type", "application/json");
    http_request.body = body.dump();
    http_request.total_timeout = settings_.timeout;
    http_request.connect_timeout = std::min(http_request.connect_timeout, settings_.timeout);

    auto sent = co_await http_.send(std::move(http_request));
    auto response = http_errors::check_response(std::move(sent), "elevenlabs tts", settings_.api_key);
    if (!response) co_return response.error();
    const std::string_view content_type = response->headers.get("Content-Type").value_or("");
    auto audio = tts_detail::decode_audio_answer("elevenlabs tts", content_type, response->body, vendor_rate,
                                                 request.sample_rate, settings_.api_key);
    if (!audio) co_return audio.error();
    Synthesis out;
    out.audio = std::move(*audio);
    out.provider = "elevenlabs";
    co_return out;
  }

 private:
  // settings.extra: {"voice_id": "…", "voice_settings": {"stability": 0.5, "similarity_boost": 0.75}};
  // anything else is logged and ignored.
  void read_extra() {
    if (settings_.extra.empty()) return;
    auto log = module_logger("providers");
    const auto extra = nlohmann::json::parse(settings_.extra, nullptr, false);
    if (!extra.is_object()) {
      log->warn("elevenlabs tts: settings.extra is not a JSON object; ignored");
      return;
    }
    for (const auto& [key, value] : extra.items()) {
      if (key == "voice_id" && value.is_string() && is_valid_voice_id(value.get<std::string>())) {
        default_voice_ = value.get<std::string>();
      } else if (key == "voice_settings" && value.is_object()) {
        voice_settings_ = value;
      } else {
        log->warn("elevenlabs tts: settings.extra key '{}' unknown or invalid; ignored", key);
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
