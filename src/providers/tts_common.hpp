#pragma once
// Private helpers shared by the text-to-speech adapters (espeak_tts.cpp, openai_tts.cpp,
// elevenlabs_tts.cpp): request validation, URLs, settings.extra, the JSON-in/audio-out HTTP exchange, and
// turning a vendor's audio answer into PcmAudio at the requested rate. Not a public header.

#include <cstddef>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "ivr/audio/wav.hpp"
#include "ivr/core/errors.hpp"
#include "ivr/net/http_client.hpp"
#include "ivr/providers/provider.hpp"

namespace ivr::providers::tts_detail {

inline constexpr int kMinSampleRate = 8'000;
inline constexpr int kMaxSampleRate = 48'000;

bool is_valid_utf8(std::string_view text) noexcept;
bool is_blank(std::string_view text) noexcept;

// Errc::unprocessable when the text is blank, not UTF-8 or longer than `max_chars` code points, or the
// sample rate is outside kMinSampleRate..kMaxSampleRate; else a default (success) error_code.
boost::system::error_code validate_request(const SynthesisRequest& request, std::size_t max_chars);

// The API root to which adapters append "/v1/…": `base_url` (or `default_url` when blank) without
// surrounding whitespace and without a trailing "/" or "/v1".
std::string api_root(std::string_view base_url, std::string_view default_url);

// Raw little-endian signed 16-bit mono samples (a trailing odd byte is dropped).
audio::PcmAudio pcm_from_s16le(std::string_view bytes, int sample_rate);

// Mono at `rate`: channel 0 of `in`, resampled (speexdsp, quality 5) when the rates differ.
audio::PcmAudio to_mono_rate(audio::PcmAudio in, int rate);

// A successful vendor answer as audio: a WAV (Content-Type audio/wav or x-wav, or RIFF magic) is parsed,
// anything else not JSON/text is raw s16le at `raw_rate`; then converted to mono at `target_rate`.
// Errors (logged via http_errors::unusable_answer): Errc::upstream_error for an empty body, a JSON or text
// body, or an undecodable WAV.
Result<audio::PcmAudio> decode_audio_answer(std::string_view provider, std::string_view content_type,
                                            std::string_view body, int raw_rate, int target_rate,
                                            std::string_view secret);

// settings.extra as a JSON object: an empty object when `extra` is empty, or when it is not a JSON object
// (then logged as ignored, naming "<provider> tts"). The adapter checks the keys.
nlohmann::json extra_object(std::string_view extra, std::string_view provider);

// POSTs `json_body` to `url` (Content-Type application/json, the provider's timeouts; the header
// `auth_header: auth_value` only when settings.api_key is not empty) and returns the answer decoded by
// decode_audio_answer() (raw PCM at `raw_rate`) at `target_rate`, as a Synthesis from `provider`.
// Errors: http_errors::check_response()'s for the exchange, then decode_audio_answer()'s.
boost::asio::awaitable<Result<Synthesis>> post_for_audio(net::HttpClient& http, std::string url,
                                                         std::string_view auth_header, std::string auth_value,
                                                         std::string json_body, std::string_view provider,
                                                         int raw_rate, int target_rate,
                                                         const RemoteProviderSettings& settings);

}  // namespace ivr::providers::tts_detail
