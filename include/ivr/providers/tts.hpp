#pragma once
// Text-to-speech adapters for the turn-based path (DESIGN §5, PROTOCOLS §5), built by factories; the
// classes live in src/providers/*_tts.cpp.
//
//  - espeak:     offline, the default. libespeak-ng synthesising in memory (never a subprocess) on the one
//                worker thread of an EspeakEngine; output 22050 Hz resampled on that worker.
//                Voice: request.voice when set (an espeak voice or language name from `espeak-ng --voices`,
//                optionally with a variant, e.g. "pt-br+f3"; unknown → unprocessable), else by language:
//                "pt-BR"/"pt" → pt-br, "pt-PT" → pt, "en" → en-us, "es" → es, other tags when espeak has
//                them; empty language → EspeakSettings::default_voice; unknown language → unprocessable.
//  - openai:     POST {base_url}/v1/audio/speech {model, input, voice, response_format:"pcm"[, speed,
//                instructions]}, Authorization: Bearer (omitted when api_key is empty, for local servers).
//                Answer: raw 24 kHz s16le mono (a WAV answer is accepted too). Default model
//                "gpt-4o-mini-tts", voice "alloy". settings.extra may hold {"voice", "speed",
//                "instructions"}.
//  - elevenlabs: POST {base_url}/v1/text-to-speech/{voice_id}?output_format=pcm_<rate>, xi-api-key,
//                {text, model_id[, voice_settings]}. The format is pcm_16000, pcm_22050 or pcm_24000 when
//                the target is exactly that rate, else pcm_16000 resampled (8 kHz calls: 16-bit linear then
//                an exact 2:1 decimation sounds better than µ-law 8-bit companding). Default model
//                "eleven_multilingual_v2", voice "21m00Tcm4TlvDq8ikWAM" (a premade voice); settings.extra may
//                hold {"voice_id", "voice_settings": {…}}. Voice ids must be [A-Za-z0-9_-]+.
//
// base_url: empty means the vendor's public API; a trailing "/" or "/v1" is ignored. settings.extra that is
// not a JSON object, or has keys of the wrong type, is logged once at construction and ignored.
//
// Requests every adapter refuses with Errc::unprocessable before any work: text empty or only whitespace,
// text that is not valid UTF-8, text longer than kMaxSynthesisChars code points (OpenAI: 4,096, its own
// limit), sample_rate outside 8000..48000. Long text should be split first (providers/sentences.hpp).
//
// Errors (see provider.hpp): timeout / unavailable / cancelled / payload_too_large from the HTTP client;
// rate_limited (429); upstream_error (other non-2xx, or a 2xx body that is not audio); unprocessable (above,
// or an unknown espeak voice); unavailable when espeak-ng cannot initialise (data files missing).
// Vendor error bodies are logged truncated, never the API key, to module_logger("providers").
//
// Adapters are called from the io thread; the HttpClient and the EspeakEngine must outlive them. Remote
// answers are resampled inline on the io thread (about 1 ms per second of audio at quality 5; text is
// capped, so a call costs at most a few tens of ms there).

#include <cstddef>
#include <memory>
#include <string>

#include "ivr/providers/provider.hpp"

namespace ivr::net {
class HttpClient;
}

namespace ivr::providers {

inline constexpr std::size_t kMaxSynthesisChars = 5'000;

struct EspeakSettings {
  std::string data_path;                // espeak-ng-data's parent; empty = the library's default
  std::string default_voice = "pt-br";  // when the request has neither voice nor language
  int rate_wpm = 160;                   // espeak default 175 is a little fast on an 8 kHz phone line
  int pitch = 50;                       // 0..100, 50 = the voice's normal pitch
  int volume = 100;                     // 0..200 (espeak's amplitude), 100 = normal, no clipping
};

// Owns espeak-ng, which has process-wide state and is not thread-safe: every espeak call runs on this
// engine's one worker thread, one synthesis at a time; espeak is initialised there on first use and
// terminated there by the destructor. Create at most one per process (asserted in debug builds) and share
// it between all espeak adapters. Construction does not block; destruction waits for the running synthesis.
class EspeakEngine {
 public:
  explicit EspeakEngine(EspeakSettings settings = {});
  ~EspeakEngine();
  EspeakEngine(const EspeakEngine&) = delete;
  EspeakEngine& operator=(const EspeakEngine&) = delete;

  const EspeakSettings& settings() const noexcept;

  class Impl;  // defined in espeak_tts.cpp (keeps Asio and espeak out of this header)
  Impl& impl() noexcept { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

std::unique_ptr<TextToSpeech> make_espeak_tts(EspeakEngine& engine);
std::unique_ptr<TextToSpeech> make_openai_tts(net::HttpClient& http, RemoteProviderSettings settings);
std::unique_ptr<TextToSpeech> make_elevenlabs_tts(net::HttpClient& http, RemoteProviderSettings settings);

}  // namespace ivr::providers
