#pragma once
// Speech-to-text adapters for the turn-based path (DESIGN §5, PROTOCOLS §5), built by factories; the
// classes live in src/providers/*_stt.cpp.
//
//  - openai:     POST {base_url}/v1/audio/transcriptions, multipart (file = 16 kHz mono WAV, model,
//                language, response_format=json), Authorization: Bearer. Works with OpenAI, Groq and local
//                Whisper servers (no Authorization header when api_key is empty). Default model "whisper-1".
//  - deepgram:   POST {base_url}/v1/listen?model=…&language=…&smart_format=true, raw WAV body at the input
//                rate, Authorization: Token. Default model "nova-2"; no language hint → detect_language=true.
//  - elevenlabs: POST {base_url}/v1/speech-to-text, multipart (model_id, file = 16 kHz mono WAV,
//                language_code), xi-api-key. Default model "scribe_v1".
//
// base_url: empty means the vendor's public API; a trailing "/" or "/v1" is ignored, so both
// "https://api.groq.com/openai" and "https://api.groq.com/openai/v1" work.
// Multi-channel input is reduced to channel 0 (FreeSWITCH puts the caller there). Audio with no samples
// yields an empty transcript without a request. Transcripts are trimmed; an empty or blank transcript is a
// valid result (text ""). Transcript::language is the vendor's detected language when it reports one that
// differs from the hint's primary language, else the hint (so "pt-BR" survives a vendor answering "pt").
//
// Errors (see provider.hpp): timeout / unavailable / cancelled / payload_too_large from the HTTP client;
// rate_limited (429); upstream_error (other non-2xx, or a 2xx body that is not the expected JSON);
// unprocessable (audio with a bad sample rate or channel count). Vendor error bodies are logged truncated
// and with the API key redacted, to module_logger("providers").
//
// io-thread only; the HttpClient must outlive the adapters. Resampling to 16 kHz runs inline on the io thread
// (~1.6 ms per 10 s of 8 kHz audio; see stt_common.cpp).

#include "ivr/providers/provider.hpp"

#include <memory>

namespace ivr::net {
class HttpClient;
}

namespace ivr::providers {

std::unique_ptr<SpeechToText> make_openai_stt(net::HttpClient& http, RemoteProviderSettings settings);
std::unique_ptr<SpeechToText> make_deepgram_stt(net::HttpClient& http, RemoteProviderSettings settings);
std::unique_ptr<SpeechToText> make_elevenlabs_stt(net::HttpClient& http, RemoteProviderSettings settings);

}  // namespace ivr::providers
