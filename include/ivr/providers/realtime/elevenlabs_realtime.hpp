#pragma once
// ElevenLabs Conversational AI (PROTOCOLS §4) behind RealtimeAgent, over net::WebSocketClient.
//
// Wire:
//  - Private agents (api_key set): `GET {api_base}/v1/convai/conversation/get-signed-url?agent_id=…` with
//    `xi-api-key: <key>`; the answer's `signed_url` is connected to as is. Public agents (no key):
//    `{ws_base}/v1/convai/conversation?agent_id=…`. No credentials ever go in the WebSocket handshake.
//  - start(): connect, send `conversation_initiation_client_data` with `conversation_config_override`
//    {agent: {prompt: {prompt: instructions}, first_message: greeting, language: ISO-639-1}, tts:
//    {voice_id}} (tts only when a voice is known; first_message is always sent, "" when there is no
//    greeting, so a reconnected session does not greet again) and `dynamic_variables` when configured;
//    then wait (session_timeout) for `conversation_initiation_metadata`, whose `user_input_audio_format` /
//    `agent_output_audio_format` (`pcm_<rate>`, `ulaw_8000`, `alaw_8000`) become input_format() /
//    output_format(); a missing format means pcm_16000, an unknown one fails start() (upstream_error).
//    SessionConfig::tools are not sent: ElevenLabs only calls client tools configured on the agent
//    (dashboard), so the agent must define `transfer_call` / `end_call` as client tools.
//  - send_audio(): `{"user_audio_chunk":"<base64>"}` (no `type`), prefix + base64 + suffix, droppable.
//  - Events (simdjson): `audio` → audio; `interruption` → speech_started (barge-in); `user_transcript`
//    → user_transcript; `agent_response` → agent_transcript; `client_tool_call` → tool_call (parameters
//    object as JSON text); `ping` → `{"type":"pong","event_id":N}` sent at once, never surfaced;
//    `agent_response_correction` → recorded (elevenlabs_stats(), logged) and not surfaced, since the bridge
//    already recorded the turn; `vad_score` and unknown types, malformed frames, missing fields and bad
//    base64 are skipped (debug log).
//  - Items: ElevenLabs has no item ids nor an "audio done" event. Each agent response gets its own item id
//    "el_<n>" (n counts responses in the session): a new item starts with the first audio after an
//    interruption, a user_transcript, a client_tool_call or the end of the previous item. The end of an
//    item (audio_done) is synthesised when no audio arrived for `audio_done_after` (and before the
//    user_transcript / tool_call that ends the agent's turn), so the bridge's pacer sends its remainder.
//    An interrupted item ends without audio_done (speech_started clears playback).
//  - send_tool_result(): `{"type":"client_tool_result","tool_call_id":…,"result":"<output JSON
//    text>","is_error":<output is an object with "ok":false>}`.
//  - truncate(): ElevenLabs has no truncate (the server knows an interruption happened and answers with
//    agent_response_correction). It is recorded (elevenlabs_stats()); with `contextual_update_on_truncate` a
//    `{"type":"contextual_update","text":"The caller interrupted you …"}` is sent as well.
//
// A reader coroutine (started by start()) reads the socket, answers pings and queues events, so pongs
// never wait for the bridge. Errors: see RealtimeAgent. start(): unauthorized (signed URL 401/403, or
// upgrade 401/403), rate_limited (429), upstream_error (other refusals, no signed_url, unknown audio
// format), timeout, unavailable, config_invalid. next_event(): unavailable when the provider closes or
// drops the connection, timeout after idle_timeout of silence, cancelled after close(). The API key is
// never logged.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ivr/providers/realtime/realtime_agent.hpp"

namespace ivr::net {
class WebSocketConnector;
class HttpClient;
}  // namespace ivr::net

namespace ivr::providers::realtime {

struct ElevenLabsRealtimeSettings {
  std::string agent_id;  // required
  std::string api_key;   // empty = public agent (no signed URL); never logged
  std::string api_base = "https://api.elevenlabs.io";
  std::string ws_base = "wss://api.elevenlabs.io";
  std::string voice;  // tts voice_id used when SessionConfig::voice is empty; empty = the agent's voice
  std::vector<std::pair<std::string, std::string>> dynamic_variables;  // sent when not empty
  std::chrono::milliseconds http_timeout{10'000};                      // the signed-URL request
  std::chrono::milliseconds connect_timeout{10'000};  // WebSocket resolve + TCP + TLS + upgrade
  std::chrono::milliseconds session_timeout{10'000};  // initiation data → metadata
  std::chrono::milliseconds idle_timeout{60'000};     // keep-alive pings at half of it; 0 = none
  std::chrono::milliseconds audio_done_after{400};    // audio silence that ends an item; 0 = never
  bool contextual_update_on_truncate = false;
  std::size_t max_queued_audio_bytes = 160 * 1024;  // ≈ 5 s of pcm16 16 kHz
  bool verify_tls = true;
  std::string log_context;  // e.g. "[call=…]"
};

// What the adapter knows about an interrupted response (from agent_response_correction).
struct ElevenLabsCorrection {
  std::string original;
  std::string corrected;
};

// What an ElevenLabs agent recorded so far (tests, diagnostics). Empty for other agents.
struct ElevenLabsStats {
  std::vector<std::pair<std::string, std::int64_t>> truncations;  // item_id, audio_end_ms
  std::vector<ElevenLabsCorrection> corrections;
  std::size_t pongs_sent = 0;
  std::size_t skipped_events = 0;
  std::string conversation_id;
};
ElevenLabsStats elevenlabs_stats(const RealtimeAgent& agent);

// The connector and the HTTP client must outlive the agent.
std::unique_ptr<RealtimeAgent> make_elevenlabs_realtime(net::WebSocketConnector& connector,
                                                        net::HttpClient& http,
                                                        ElevenLabsRealtimeSettings settings);

// Sans-I/O pieces, exposed for tests.
namespace elevenlabs_wire {
// The conversation_initiation_client_data message, as JSON text.
std::string initiation(const SessionConfig& config, const ElevenLabsRealtimeSettings& settings);
// Appends {"user_audio_chunk":"<base64 of bytes>"} to `out`.
void append_audio_chunk(std::string& out, std::string_view bytes);
// "pcm_16000" → pcm16 16 kHz, "ulaw_8000" → G.711 µ-law, "alaw_8000" → G.711 A-law; false otherwise.
bool parse_audio_format(std::string_view text, AudioFormat& out);

// One decoded server frame.
struct ServerEvent {
  enum class Type {
    skip,             // malformed, unknown or ignored (vad_score, …)
    metadata,         // text = conversation_id, input_format / output_format (raw strings, may be empty)
    audio,            // audio (decoded), event_id
    interruption,     // event_id
    user_transcript,  // text
    agent_response,   // text
    correction,       // text = original, corrected
    tool_call,        // name, call_id, arguments_json
    ping,             // event_id
  };
  Type type = Type::skip;
  std::string audio;
  std::string text;
  std::string corrected;
  std::string input_format;
  std::string output_format;
  std::string name;
  std::string call_id;
  std::string arguments_json;
  std::int64_t event_id = -1;  // -1 when absent
};

// Decodes one server frame (simdjson on-demand). `text` may grow by SIMDJSON_PADDING (reuse one string).
struct EventParser;
std::unique_ptr<EventParser, void (*)(EventParser*)> make_event_parser();
void parse_event(EventParser& parser, std::string& text, ServerEvent& out);
}  // namespace elevenlabs_wire

}  // namespace ivr::providers::realtime
