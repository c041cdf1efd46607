// ElevenLabs Scribe transcription: PROTOCOLS §5.

#include "ivr/providers/stt.hpp"

#include "ivr/audio/wav.hpp"
#include "ivr/net/http_client.hpp"
#include "ivr/net/multipart_writer.hpp"
#include "stt_common.hpp"

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

    // {text, language_code ("por", ISO 639-3), language_probability, words[…]}
    co_return co_await sd::transcribe_form(http_, url_, "xi-api-key", settings_.api_key, form,
                                           request.language, "language_code", kName, settings_);
  }

 private:
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
