// OpenAI-compatible text-to-speech: POST {root}/v1/audio/speech → raw 24 kHz s16le mono (PROTOCOLS §5).

#include <algorithm>
#include <optional>
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

    net::ClientRequest http_request;
    http_request.method = "POST";
    http_request.url = url_;
    if (!settings_.api_key.empty()) http_request.headers.set("Authorization", "Bearer " + settings_.api_key);
    http_request.headers.set("Content-Type", "application/json");
    http_request.body = body.dump();
    http_request.total_timeout = settings_.timeout;
    http_request.connect_timeout = std::min(http_request.connect_timeout, settings_.timeout);

    auto sent = co_await http_.send(std::move(http_request));
    auto response = http_errors::check_response(std::move(sent), "openai tts", settings_.api_key);
    if (!response) co_return response.error();
    const std::string_view content_type = response->headers.get("Content-Type").value_or("");
    auto audio = tts_detail::decode_audio_answer("openai tts", content_type, response->body, kPcmRate,
                                                 request.sample_rate, settings_.api_key);
    if (!audio) co_return audio.error();
    Synthesis out;
    out.audio = std::move(*audio);
    out.provider = "openai";
    co_return out;
  }

 private:
  // settings.extra: {"voice": "nova", "speed": 1.1, "instructions": "Speak warmly."}; anything else is
  // logged and ignored (the settings were validated where they were saved; this only guards the adapter).
  void read_extra() {
    if (settings_.extra.empty()) return;
    auto log = module_logger("providers");
    const auto extra = nlohmann::json::parse(settings_.extra, nullptr, false);
    if (!extra.is_object()) {
      log->warn("openai tts: settings.extra is not a JSON object; ignored");
      return;
    }
    for (const auto& [key, value] : extra.items()) {
      if (key == "voice" && value.is_string() && !value.get<std::string>().empty()) {
        default_voice_ = value.get<std::string>();
      } else if (key == "speed" && value.is_number() && value.get<double>() >= 0.25 &&
                 value.get<double>() <= 4.0) {
        speed_ = value.get<double>();
      } else if (key == "instructions" && value.is_string()) {
        instructions_ = value.get<std::string>();
      } else {
        log->warn("openai tts: settings.extra key '{}' unknown or invalid; ignored", key);
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
