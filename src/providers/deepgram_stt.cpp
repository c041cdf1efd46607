// Deepgram pre-recorded transcription: PROTOCOLS §5.

#include "ivr/providers/stt.hpp"

#include "ivr/audio/wav.hpp"
#include "ivr/net/http_client.hpp"
#include "stt_common.hpp"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <utility>

namespace ivr::providers {
namespace {

namespace sd = stt_detail;

constexpr std::string_view kName = "deepgram";

class DeepgramSpeechToText final : public SpeechToText {
 public:
  DeepgramSpeechToText(net::HttpClient& http, RemoteProviderSettings settings)
      : http_(http),
        settings_(std::move(settings)),
        url_(sd::api_root(settings_.base_url, "https://api.deepgram.com") + "/v1/listen"),
        model_(settings_.model.empty() ? "nova-2" : settings_.model) {}

  std::string_view name() const override { return kName; }

  boost::asio::awaitable<Result<Transcript>> transcribe(TranscribeRequest request) override {
    // Deepgram reads the rate from the WAV header and its models handle 8 kHz telephony audio directly:
    // sending the input rate avoids a resample and a bigger upload.
    auto audio = sd::prepare_audio(request.audio, 0);
    if (!audio) co_return audio.error();
    const std::string hint = sd::trim(request.language);
    if (audio->samples.empty()) co_return Transcript{"", hint, std::string(kName)};

    net::ClientRequest http_request;
    // Deepgram takes BCP-47 tags as they are ("pt-BR", "en-US"); no hint → let it detect.
    http_request.url = url_ + "?model=" + sd::url_encode(model_) +
                       (hint.empty() ? "&detect_language=true" : "&language=" + sd::url_encode(hint)) +
                       "&smart_format=true";
    http_request.headers.set("Authorization", "Token " + settings_.api_key);
    http_request.headers.set("Content-Type", "audio/wav");
    http_request.headers.set("Accept", "application/json");
    http_request.body = audio::write_wav(*audio);

    auto body = co_await sd::exchange(http_, std::move(http_request), kName, settings_);
    if (!body) co_return body.error();
    auto transcript = parse(*body, hint);
    if (!transcript) co_return sd::unexpected_answer(kName, *body, settings_.api_key);
    co_return transcript;
  }

 private:
  // results.channels[0].alternatives[0].transcript; no channel or no alternative is silence (text ""), a
  // missing `results.channels` is not a Deepgram answer.
  static Result<Transcript> parse(const std::string& body, std::string_view hint) {
    const auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (!json.is_object()) return make_error_code(Errc::upstream_error);
    const auto results = json.find("results");
    if (results == json.end() || !results->is_object()) return make_error_code(Errc::upstream_error);
    const auto channels = results->find("channels");
    if (channels == results->end() || !channels->is_array()) return make_error_code(Errc::upstream_error);

    Transcript t;
    t.provider = std::string(kName);
    std::string reported;
    if (!channels->empty()) {
      const auto& channel = channels->front();
      if (!channel.is_object()) return make_error_code(Errc::upstream_error);
      const auto alternatives = channel.find("alternatives");
      if (alternatives != channel.end() && !alternatives->is_array())
        return make_error_code(Errc::upstream_error);
      if (alternatives != channel.end() && !alternatives->empty()) {
        const auto& best = alternatives->front();
        if (!best.is_object()) return make_error_code(Errc::upstream_error);
        const auto transcript = best.find("transcript");
        if (transcript != best.end() && transcript->is_string()) {
          t.text = sd::trim(transcript->get_ref<const std::string&>());
        } else if (transcript != best.end() && !transcript->is_null()) {
          return make_error_code(Errc::upstream_error);
        }
      }
      const auto detected = channel.find("detected_language");
      if (detected != channel.end() && detected->is_string()) reported = detected->get<std::string>();
    }
    t.language = sd::reconcile_language(reported, hint);
    return t;
  }

  net::HttpClient& http_;
  RemoteProviderSettings settings_;
  std::string url_;
  std::string model_;
};

}  // namespace

std::unique_ptr<SpeechToText> make_deepgram_stt(net::HttpClient& http, RemoteProviderSettings settings) {
  return std::make_unique<DeepgramSpeechToText>(http, std::move(settings));
}

}  // namespace ivr::providers
