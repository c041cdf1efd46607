// ElevenLabs Scribe transcription: PROTOCOLS §5.

#include "ivr/providers/stt.hpp"

#include "ivr/audio/wav.hpp"
#include "ivr/net/http_client.hpp"
#include "ivr/net/multipart_writer.hpp"
#include "stt_common.hpp"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <utility>

namespace ivr::providers {
namespace {

namespace sd = stt_detail;

constexpr std::string_view kName = "elevenlabs";
constexpr int kRate = 16'000;

class ElevenLabsSpeechToText final : public SpeechToText {
 public:
  ElevenLabsSpeechToText(net::HttpClient& http, RemoteProviderSettings settings)
      : http_(http),
        settings_(std::move(settings)),
        url_(sd::api_root(settings_.base_url, "https://api.elevenlabs.io") + "/v1/speech-to-text"),
        model_(settings_.model.empty() ? "scribe_v1" : settings_.model) {}

  std::string_view name() const override { return kName; }

  boost::asio::awaitable<Result<Transcript>> transcribe(TranscribeRequest request) override {
    auto audio = sd::prepare_audio(request.audio, kRate);
    if (!audio) co_return audio.error();
    if (audio->samples.empty()) co_return Transcript{"", sd::trim(request.language), std::string(kName)};

    net::MultipartWriter form;
    form.add_field("model_id", model_);
    // Scribe takes ISO 639-1 or 639-3; the primary subtag of a BCP-47 tag is one of those.
    if (auto language = sd::primary_language(request.language); !language.empty()) {
      form.add_field("language_code", language);
    }
    form.add_file("file", "audio.wav", "audio/wav", audio::write_wav(*audio));

    net::ClientRequest http_request;
    http_request.url = url_;
    http_request.headers.set("xi-api-key", settings_.api_key);
    http_request.headers.set("Content-Type", form.content_type());
    http_request.headers.set("Accept", "application/json");
    http_request.body = form.body();

    auto body = co_await sd::exchange(http_, std::move(http_request), kName, settings_);
    if (!body) co_return body.error();
    auto transcript = parse(*body, request.language);
    if (!transcript) co_return sd::unexpected_answer(kName, *body, settings_.api_key);
    co_return transcript;
  }

 private:
  // {text, language_code ("por", ISO 639-3), language_probability, words[…]}
  static Result<Transcript> parse(const std::string& body, std::string_view hint) {
    const auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (!json.is_object()) return make_error_code(Errc::upstream_error);
    const auto text = json.find("text");
    if (text == json.end() || !(text->is_string() || text->is_null()))
      return make_error_code(Errc::upstream_error);
    Transcript t;
    t.text = text->is_string() ? sd::trim(text->get_ref<const std::string&>()) : std::string();
    const auto language = json.find("language_code");
    const std::string reported =
        language != json.end() && language->is_string() ? language->get<std::string>() : std::string();
    t.language = sd::reconcile_language(reported, hint);
    t.provider = std::string(kName);
    return t;
  }

  net::HttpClient& http_;
  RemoteProviderSettings settings_;
  std::string url_;
  std::string model_;
};

}  // namespace

std::unique_ptr<SpeechToText> make_elevenlabs_stt(net::HttpClient& http, RemoteProviderSettings settings) {
  return std::make_unique<ElevenLabsSpeechToText>(http, std::move(settings));
}

}  // namespace ivr::providers
