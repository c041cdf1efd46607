#pragma once
// A fake OpenAI Realtime server (PROTOCOLS §3) on 127.0.0.1:0, on its own thread and io_context, for the
// realtime adapter tests and benchmarks. Protocol-exact where the adapter can tell:
//  - the upgrade: path, `?model=` (Azure: `?api-version=…&deployment=…` or `?model=`), `Authorization:
//  Bearer`
//    (Azure: `api-key`), `OpenAI-Beta: realtime=v1` for the beta shape; wrong credentials → HTTP 401 with
//    an OpenAI error body, other mismatches → 400;
//  - session.created first; session.update validated (GA: session.type "realtime", audio.input/output
//    formats, tools {type:"function",name,description,parameters}; beta: flat fields) and answered with
//    session.updated or an `error` event;
//  - server VAD emulation over the appended audio: `speech_start_ms` of loud audio → speech_started,
//    then `silence_end_ms` of quiet → speech_stopped, committed, the caller's transcription, and a response:
//    response.created, output_item.added, `delta_count` audio deltas (a tone, base64) with item_id,
//    transcript delta/done, output_audio.done, output_item.done, response.done. GA names
//    (response.output_audio.*) or beta names (response.audio.*) by the negotiated shape;
//  - speech during a response cancels it (interrupt_response): no more deltas, response.done "cancelled";
//  - an optional scripted tool call (function_call_arguments.done), then it waits for the
//    function_call_output item and response.create before answering with audio;
//  - conversation.item.truncate → conversation.item.truncated (recorded);
//  - faults: refuse the upgrade, never answer it, never answer session.update, drop the connection after
//    N deltas or on demand, inject raw (malformed) events.
// Optional wss: give a certificate and key (make_self_signed_cert()).

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fakes/fake_vendor_server.hpp"  // RecordedRequest

namespace ivr::test {

struct FakeToolCall {
  std::string name = "transfer_call";
  std::string call_id = "call_fake_1";
  std::string arguments = R"({"target":"sales"})";
};

struct FakeRealtimeScript {
  // Upgrade expectations.
  std::string api_key = "sk-test-realtime-0123456789";
  std::string model = "gpt-realtime";  // ?model= (Azure: ?deployment=)
  std::string path = "/v1/realtime";
  bool azure = false;           // api-key header, api-version + deployment query
  bool beta = false;            // OpenAI-Beta header, flat session shape, response.audio.* names
  int reject_status = 0;        // answer every upgrade with this HTTP status
  bool hang_handshake = false;  // accept TCP and never answer
  bool ignore_session_update = false;

  // VAD emulation (over the input format from session.update).
  int speech_start_ms = 60;
  int silence_end_ms = 200;
  int loud_threshold = 500;  // pcm16 |sample| counted as speech

  // Responses.
  int delta_count = 3;
  int delta_ms = 100;  // audio per delta
  std::chrono::milliseconds delta_gap{0};
  std::string user_transcript = "I would like to talk to sales";
  std::string agent_transcript = "Sure, transferring you now.";
  std::optional<FakeToolCall> tool_call;  // the first response of the session calls this tool
  int drop_after_deltas = -1;             // close the TCP connection after this many deltas
  bool garbage_in_response = false;       // malformed events before the first delta

  // wss when both are set (PEM).
  std::string cert_pem;
  std::string key_pem;
};

struct SelfSignedCert {
  std::string cert_pem;
  std::string key_pem;
};
// A P-256 self-signed certificate for `ip` (subjectAltName IP) valid for a day.
SelfSignedCert make_self_signed_cert(const std::string& ip = "127.0.0.1");

class FakeOpenAiRealtime {
 public:
  explicit FakeOpenAiRealtime(FakeRealtimeScript script = {});
  ~FakeOpenAiRealtime();
  FakeOpenAiRealtime(const FakeOpenAiRealtime&) = delete;
  FakeOpenAiRealtime& operator=(const FakeOpenAiRealtime&) = delete;

  std::uint16_t port() const;
  std::string url() const;  // ws(s)://127.0.0.1:<port><path>, no query

  // Thread-safe copies of what happened so far.
  std::vector<RecordedRequest> handshakes() const;
  std::vector<std::string> client_events() const;  // raw text of every client event, in order
  std::vector<std::string> client_events_of(std::string_view type) const;
  std::size_t client_event_count(std::string_view type) const;
  std::vector<std::string> server_event_types() const;  // types of what the fake sent, in order
  std::string audio_received() const;                   // decoded bytes of every append
  std::string audio_sent() const;                       // decoded bytes of every delta sent
  std::vector<std::int64_t> truncations() const;        // audio_end_ms of each truncate
  std::size_t connections() const;                      // upgrades accepted
  int client_close_code() const;                        // code of the client's last close frame, -1 if none

  // Act on the current connection (thread-safe; posted to the fake's thread).
  void send_raw(std::string text);
  void drop();
  void start_response();  // a response now, as if the caller's turn had ended

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ivr::test
