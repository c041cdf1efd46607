#pragma once
// A realtime voice agent (DESIGN §5, PROTOCOLS §3–4): one conversation with a provider that hears the
// caller's audio as it arrives and answers with audio, detecting turns itself (server VAD) and calling our
// tools. Adapters: OpenAI Realtime (and Azure / compatible servers), ElevenLabs Conversational AI and the
// local `pipeline` (VAD + STT + LLM + TTS). The bridge (CallSession) owns one per call.
//
// Threading: io thread only. One coroutine reads events (next_event) while others send (send_audio,
// send_tool_result, truncate, …): adapters serialise their own writes. Per-frame work must stay cheap
// (no nlohmann on the audio path: simdjson to read, pre-built JSON around base64 to write).

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "ivr/core/errors.hpp"

namespace ivr::providers::realtime {

// Audio on the wire between us and the agent. pcm16: mono little-endian at `sample_rate`; G.711 at 8 kHz
// (passed straight through when the call is 8 kHz G.711-friendly and the provider takes it).
enum class AudioEncoding { pcm16, g711_ulaw, g711_alaw };

struct AudioFormat {
  AudioEncoding encoding = AudioEncoding::pcm16;
  int sample_rate = 24'000;
};

struct ToolSpec {
  std::string name;
  std::string description;
  std::string parameters_json;  // JSON Schema object, e.g. {"type":"object","properties":{…},"required":[…]}
};

struct TurnDetection {
  double threshold = 0.5;
  int prefix_padding_ms = 300;
  int silence_duration_ms = 500;
};

struct SessionConfig {
  std::string instructions;  // system prompt: secretary prompt + language + transfer targets + KB context
  std::string language;      // "pt-BR", "en", "es"
  std::string voice;         // provider voice id; empty = the adapter's default
  std::string greeting;      // said first, when not empty
  std::vector<ToolSpec> tools;
  TurnDetection turn_detection;
};

struct AgentEvent {
  enum class Kind {
    audio,             // audio: a chunk of the agent's speech, in output_format()
    audio_done,        // the agent finished speaking the current item
    speech_started,    // the caller started speaking (barge-in: stop playback now)
    speech_stopped,    // the caller stopped speaking
    user_transcript,   // text: what the caller said (final)
    agent_transcript,  // text: what the agent said (final, for the item)
    tool_call,         // call_id, name, arguments_json
    error,             // text: a provider error that does not end the session
  };
  Kind kind = Kind::audio;
  std::string audio;  // raw bytes in output_format() (pcm16 LE or G.711), already base64-decoded
  std::string text;
  std::string item_id;  // the provider's id of the item being spoken (for truncate)
  std::string call_id;
  std::string name;
  std::string arguments_json;
};

class RealtimeAgent {
 public:
  virtual ~RealtimeAgent() = default;

  // Opens the session and configures it. Errors: unavailable (cannot connect), timeout, unauthorized /
  // upstream_error (the provider refused), rate_limited (429 on connect), config_invalid (bad URL),
  // cancelled.
  virtual boost::asio::awaitable<Result<void>> start(SessionConfig config) = 0;

  // What the agent wants to hear and what it speaks (known after start()).
  virtual AudioFormat input_format() const = 0;
  virtual AudioFormat output_format() const = 0;

  // Caller audio in input_format(), any length (20 ms frames in practice). Never blocks on the network
  // for long: adapters queue and may drop the oldest audio when the provider cannot keep up (counted).
  virtual boost::asio::awaitable<Result<void>> send_audio(std::string_view bytes) = 0;

  // The next event; an error ends the session (unavailable/closed when the provider went away).
  virtual boost::asio::awaitable<Result<AgentEvent>> next_event() = 0;

  // The result of a tool call (JSON text), after which the agent continues.
  virtual boost::asio::awaitable<Result<void>> send_tool_result(std::string call_id,
                                                                std::string output_json) = 0;

  // Barge-in: the caller heard only `audio_end_ms` of item `item_id`; the provider forgets the rest.
  virtual boost::asio::awaitable<Result<void>> truncate(std::string item_id, std::int64_t audio_end_ms) = 0;

  // Closes the provider connection (idempotent).
  virtual boost::asio::awaitable<void> close() = 0;

  virtual std::string_view name() const = 0;
};

}  // namespace ivr::providers::realtime
