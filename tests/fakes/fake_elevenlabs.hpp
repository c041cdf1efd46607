#pragma once
// A fake ElevenLabs Conversational AI server (PROTOCOLS §4) on 127.0.0.1:0, on its own thread and
// io_context, for the ElevenLabs realtime adapter tests. One port serves both:
//  - HTTP `GET /v1/convai/conversation/get-signed-url?agent_id=…`: checks `xi-api-key` (401 with an
//    ElevenLabs `detail` body otherwise) and the agent (404), answers {"signed_url":"ws://…/v1/convai/
//    conversation?agent_id=…&conversation_signature=<token>"};
//  - the WebSocket `/v1/convai/conversation?agent_id=…[&conversation_signature=…]`: unknown agent → 404,
//    private agent without a token it issued → 403;
//  - the first client message must be `conversation_initiation_client_data` (anything else, or an override
//    field it does not know, closes with 1008 and is recorded as a violation); then
//    `conversation_initiation_metadata` with the scripted formats (optionally delayed or never sent); audio
//    before the metadata is a violation;
//  - `ping` events (every ping_interval, or ping()) whose `pong`s are checked ({"type":"pong","event_id":N}
//    for an outstanding N, else a violation);
//  - `{"user_audio_chunk":…}` (exactly that one key: a `type` or anything else is a violation) feeds a VAD
//    emulation: `speech_start_ms` of loud audio then `silence_end_ms` of quiet ends the caller's turn →
//    user_transcript, then the agent's turn: agent_response and `chunk_count` audio events (a tone in the
//    output format, event_id per response), `vad_score` events now and then. Speech during the agent's
//    turn → `interruption` (no more chunks) then agent_response_correction;
//  - an optional scripted client_tool_call as the first agent turn; the fake waits for the matching
//    client_tool_result (result string, is_error bool) and then answers with audio;
//  - a greeting (first_message) is spoken like an agent turn right after the metadata;
//  - faults: drop after N chunks or on demand, raw frames (garbage).

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fakes/fake_vendor_server.hpp"  // RecordedRequest

namespace ivr::test {

struct FakeElevenLabsToolCall {
  std::string tool_name = "transfer_call";
  std::string tool_call_id = "toolu_fake_1";
  std::string parameters = R"({"target":"sales"})";  // a JSON object
};

struct FakeElevenLabsScript {
  std::string agent_id = "agent_fake_0123";
  std::string api_key = "xi-test-key-0123456789";
  bool private_agent = true;  // the WebSocket wants a conversation_signature the fake issued

  std::string input_format = "pcm_16000";   // user_input_audio_format
  std::string output_format = "pcm_16000";  // agent_output_audio_format
  std::chrono::milliseconds metadata_delay{0};
  bool never_send_metadata = false;

  std::chrono::milliseconds ping_interval{0};  // 0 = only on ping()

  // VAD emulation (over input_format).
  int speech_start_ms = 60;
  int silence_end_ms = 200;
  int loud_threshold = 500;

  // Agent turns.
  int chunk_count = 3;
  int chunk_ms = 100;
  std::chrono::milliseconds chunk_gap{0};
  std::string user_transcript = "I would like to talk to sales";
  std::string agent_response = "Sure, transferring you now.";
  std::optional<FakeElevenLabsToolCall> tool_call;  // the first agent turn calls this tool
  int drop_after_chunks = -1;                       // close the TCP connection after this many chunks
  bool garbage_in_response = false;                 // malformed frames before the first chunk
  int vad_score_every = 10;                         // a vad_score event every N audio chunks (0 = none)
};

class FakeElevenLabs {
 public:
  explicit FakeElevenLabs(FakeElevenLabsScript script = {});
  ~FakeElevenLabs();
  FakeElevenLabs(const FakeElevenLabs&) = delete;
  FakeElevenLabs& operator=(const FakeElevenLabs&) = delete;

  std::uint16_t port() const;
  std::string api_base() const;  // http://127.0.0.1:<port>
  std::string ws_base() const;   // ws://127.0.0.1:<port>

  // Thread-safe copies of what happened so far.
  std::vector<RecordedRequest> http_requests() const;  // signed-URL requests
  std::vector<RecordedRequest> handshakes() const;     // WebSocket upgrades
  std::vector<std::string> client_messages() const;    // raw text of every client message, in order
  std::vector<std::string> client_messages_of(std::string_view type) const;  // by "type"
  std::vector<std::string> server_event_types() const;
  std::string audio_received() const;           // decoded bytes of every user_audio_chunk
  std::string audio_sent() const;               // decoded bytes of every audio event
  std::vector<std::string> violations() const;  // protocol errors the client made
  std::size_t pings_sent() const;
  std::size_t pongs_ok() const;
  std::size_t connections() const;
  int client_close_code() const;  // -1 if none

  // Act on the current connection (posted to the fake's thread).
  void send_raw(std::string text);
  void ping(int ping_ms = 42);
  void drop();
  void agent_turn();  // an agent turn now (as if the caller's turn had ended)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ivr::test
