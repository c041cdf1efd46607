#pragma once
// Private helpers shared by the speech-to-text adapters (openai_stt.cpp, deepgram_stt.cpp,
// elevenlabs_stt.cpp): URLs, language tags, audio preparation, the HTTP exchange (errors mapped by
// http_errors.hpp) and the {text, language} answer shared by OpenAI and ElevenLabs. Not a public header:
// nothing outside src/providers includes it. The LLM adapters also use api_root(), trim(), url_encode() and
// loggable_body() from here.

#include "ivr/audio/wav.hpp"
#include "ivr/core/errors.hpp"
#include "ivr/net/http_client.hpp"
#include "ivr/net/multipart_writer.hpp"
#include "ivr/providers/provider.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace ivr::providers::stt_detail {

// The API root to which adapters append "/v1/…": `base_url` (or `default_url` when empty) without a
// trailing "/" or "/v1".
std::string api_root(std::string_view base_url, std::string_view default_url);

// Percent-encodes everything except RFC 3986 unreserved characters (query values).
std::string url_encode(std::string_view text);

// Leading and trailing ASCII whitespace removed.
std::string trim(std::string_view text);

// The primary language subtag of a BCP-47 tag, lower case: "pt-BR" → "pt", "es_419" → "es", "" → "".
std::string primary_language(std::string_view bcp47);

// What to report as Transcript::language: the hint when the vendor reported nothing or the same primary
// language (the hint is at least as specific); otherwise the vendor's answer, with common ISO 639-2/3
// codes ("por") and Whisper's English names ("portuguese") mapped to ISO 639-1 ("pt").
std::string reconcile_language(std::string_view reported, std::string_view hint);

// Mono 16-bit audio at `rate` (0 = keep the input rate), from channel 0 of the input.
// Errors: Errc::unprocessable for a sample rate outside 1 kHz..384 kHz or a channel count < 1 (with samples).
Result<audio::PcmAudio> prepare_audio(const audio::PcmAudio& in, int rate);

// Sends `request` (POST, headers and body filled in by the adapter) with the provider's timeout and returns
// the 2xx body. Errors as http_errors.hpp maps them: client errors (timeout, unavailable, cancelled,
// payload_too_large) pass through; 429 → rate_limited; any other status → upstream_error, logged with the
// body truncated and `settings.api_key` redacted.
boost::asio::awaitable<Result<std::string>> exchange(net::HttpClient& http, net::ClientRequest request,
                                                     std::string_view provider,
                                                     const RemoteProviderSettings& settings);

// Posts `form` to `url` with Accept: application/json and, when `auth_header` is not empty, the header
// `auth_header: auth_value`; returns the 2xx body as exchange() does (same errors).
boost::asio::awaitable<Result<std::string>> post_form(net::HttpClient& http, std::string url,
                                                      std::string_view auth_header, std::string auth_value,
                                                      const net::MultipartWriter& form,
                                                      std::string_view provider,
                                                      const RemoteProviderSettings& settings);

// A JSON transcription answer of the {text, <language_field>, …} kind (OpenAI, ElevenLabs Scribe):
// `text` (string or null) trimmed, the reported language reconciled with `hint`, `provider` as given.
// Errors: Errc::upstream_error when the body is not a JSON object or `text` is missing or of another type.
Result<Transcript> parse_text_transcript(std::string_view body, std::string_view hint,
                                         std::string_view language_field, std::string_view provider);

// post_form(), then parse_text_transcript(); an answer that does not parse is unexpected_answer().
boost::asio::awaitable<Result<Transcript>> transcribe_form(
    net::HttpClient& http, std::string url, std::string_view auth_header, std::string auth_value,
    const net::MultipartWriter& form, std::string hint, std::string_view language_field,
    std::string_view provider, const RemoteProviderSettings& settings);

// Kept for the LLM adapters that call it (llm_common.cpp, anthropic_llm.cpp): forwards to
// http_errors::loggable_body, which new code should use directly.
std::string loggable_body(std::string_view body, std::string_view secret, std::size_t limit = 300);

// A 2xx body that is not the vendor's documented answer: logged (truncated, key redacted), upstream_error.
boost::system::error_code unexpected_answer(std::string_view provider, std::string_view body,
                                            std::string_view api_key);

}  // namespace ivr::providers::stt_detail
