#pragma once
// OpenAI Realtime (PROTOCOLS §3) behind RealtimeAgent: api.openai.com (GA shape), Azure OpenAI and
// compatible servers (beta shape), over net::WebSocketClient.
//
// Wire:
//  - URL: `{url}?model={model}` (default url wss://api.openai.com/v1/realtime); Azure form:
//    `{url}?api-version={azure_api_version}&deployment={model}` with url
//    wss://<resource>.openai.azure.com/openai/realtime (with azure_api_version empty: `{url}?model={model}`,
//    Azure's GA form wss://<resource>.openai.azure.com/openai/v1/realtime). Query parameters already in
//    `url` are kept.
//  - Headers: `Authorization: Bearer <key>` (Azure: `api-key: <key>`); beta shape adds
//    `OpenAI-Beta: realtime=v1`.
//  - start(): wait for session.created, send session.update (GA: session.type "realtime", audio.input /
//    audio.output formats, server_vad with create_response and interrupt_response; beta: the flat
//    fields), wait for session.updated; then `response.create` to say the greeting when there is one.
//    An `error` event instead of session.updated → upstream_error.
//  - send_audio(): `{"type":"input_audio_buffer.append","audio":"<base64>"}` written as a pre-built prefix
//    + base64 + suffix, queued as droppable (oldest audio dropped when the provider cannot keep up).
//  - next_event(): server events read with simdjson; unknown types and malformed events are skipped
//    (logged at debug). An `error` event is AgentEvent::error (the session goes on).
//
// Errors: see RealtimeAgent. next_event() returns unavailable when the provider closes or drops the
// connection, timeout after idle_timeout without any message, cancelled after close().
// The API key is never logged.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "ivr/providers/realtime/realtime_agent.hpp"

namespace ivr::net {
class WebSocketConnector;
}

namespace ivr::providers::realtime {

struct OpenAiRealtimeSettings {
  enum class Shape { ga, beta };

  std::string url;          // empty = wss://api.openai.com/v1/realtime
  std::string model;        // empty = "gpt-realtime" (Azure: the deployment name)
  std::string api_key;      // never logged
  Shape shape = Shape::ga;  // beta for Azure's preview API versions and compatible servers
  bool azure = false;       // Azure URL form and `api-key` header
  std::string azure_api_version = "2024-10-01-preview";  // empty = Azure's GA URL form (?model=)
  AudioEncoding input_encoding = AudioEncoding::pcm16;   // pcm16 = 24 kHz; G.711 = 8 kHz passthrough
  AudioEncoding output_encoding = AudioEncoding::pcm16;
  std::string voice;                              // used when SessionConfig::voice is empty; empty = "alloy"
  std::string transcription_model = "whisper-1";  // caller transcripts; empty = none
  std::string turn_detection = "server_vad";      // or "semantic_vad"
  std::string vad_eagerness = "auto";             // semantic_vad only: low, medium, high, auto
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds session_timeout{10'000};  // session.created + session.updated
  std::chrono::milliseconds idle_timeout{60'000};     // keep-alive pings at half of it; 0 = none
  std::size_t max_queued_audio_bytes = 256 * 1024;    // ≈ 5 s of pcm16 24 kHz
  bool verify_tls = true;
  std::string log_context;  // e.g. "[call=…]"
};

// The connector must outlive the agent.
std::unique_ptr<RealtimeAgent> make_openai_realtime(net::WebSocketConnector& connector,
                                                    OpenAiRealtimeSettings settings);

// Sans-I/O pieces, exposed for tests and the codec benchmark.
namespace openai_wire {
// The session.update event for `config` and `settings` (GA or beta shape), as JSON text.
std::string session_update(const SessionConfig& config, const OpenAiRealtimeSettings& settings);
// Appends {"type":"input_audio_buffer.append","audio":"<base64 of bytes>"} to `out`.
void append_audio_event(std::string& out, std::string_view bytes);

// Decodes one server event into `out` (simdjson on-demand; `out`'s buffers are reused). Returns false for
// events to skip: ignored types, malformed JSON, missing fields, bad base64 (logged at debug);
// `session_event` receives "session.created"/"session.updated" for those two. `parser` is reusable and
// remembers function names from response.output_item.added for servers whose
// function_call_arguments.done omits `name`. `text` is the raw frame; its capacity may grow by
// SIMDJSON_PADDING (simdjson reads past the end), so reuse one string per connection.
struct EventParser;
std::unique_ptr<EventParser, void (*)(EventParser*)> make_event_parser();
bool parse_event(EventParser& parser, std::string& text, AgentEvent& out,
                 std::string* session_event = nullptr);
}  // namespace openai_wire

}  // namespace ivr::providers::realtime
