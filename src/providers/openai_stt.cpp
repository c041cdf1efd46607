// OpenAI-compatible transcription (OpenAI, Groq, local Whisper servers): PROTOCOLS §5.

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

constexpr std::string_view kName = "openai";
constexpr int kRate = 16'000;  // Whisper's native rate: anything else is resampled server-side anyway

class OpenAiSpeechToText final : public SpeechToText {
 public:
  OpenAiSpeechToText(net::HttpClient& http, RemoteProviderSettings settings)
      : http_(http),
        settings_(std::move(settings)),
        url_(sd::api_root(settings_.base_url, "https://api.openai.com") + "/v1/audio/transcriptions"),
        model_(settings_.model.empty() ? "whisper-1" : settings_.model) {}

  std::string_view name() const override { return kName; }

  boost::asio::awaitable<Result<Transcript>> transcribe(TranscribeRequest request) override {
    auto audio = sd::prepare_audio(request.audio, kRate);
    if (!audio) co_return audio.error();
    if (audio->samples.empty()) co_return Transcript{"", sd::trim(request.language), std::string(kName)};

    // "json" rather than "verbose_json": every compatible server implements it, and the text is all we
    // need. Some servers add "language" anyway; it is used when present.
    net::MultipartWriter form;
    form.add_file("file", "audio.wav", "audio/wav", audio::write_wav(*audio));
    form.add_field("model", model_);
    if (auto language = sd::primary_language(request.language); !language.empty()) {
      form.add_field("language", language);
    }
    form.add_field("response_format", "json");

    // Local Whisper servers often run without auth; an empty key sends no header rather than "Bearer ".
    const std::string_view auth_header = settings_.api_key.empty() ? "" : "Authorization";
    std::string auth_value = "Bearer " + settings_.api_key;
    co_return co_await sd::transcribe_form(http_, url_, auth_header, std::move(auth_value), form,
                                           request.language, "language", kName, settings_);
  }

 private:
  net::HttpClient& http_;
  RemoteProviderSettings settings_;
  std::string url_;
  std::string model_;
};

}  // namespace

std::unique_ptr<SpeechToText> make_openai_stt(net::HttpClient& http, RemoteProviderSettings settings) {
  return std::make_unique<OpenAiSpeechToText>(http, std::move(settings));
}

}  // namespace ivr::providers
