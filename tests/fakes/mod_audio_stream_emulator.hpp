#pragma once
// A FreeSWITCH mod_audio_stream stand-in (PROTOCOLS.md §1) for bridge tests: a WebSocket *client* that
// connects to ws://<host>:<port>/stream/<call_uuid>[?query] as the module does, with lower-case
// STREAM_EXTRA_HEADERS and an Origin header, optionally offering per-message deflate; sends the metadata
// text frame (first, or after some audio frames: the module does not guarantee the order), then 20 ms
// L16 little-endian frames at 8 or 16 kHz, mono or stereo (caller on channel 0), in real time or faster,
// from a sample buffer followed by silence.
//
// It records what the server sends: every text message with its arrival time; `streamAudio` decoded back
// to samples; in `file` mode, like the upstream module, each playable streamAudio is written to
// `<temp_dir>/<call_uuid>_<n>.tmp.r8|.r16|…|.wav` and becomes a `mod_audio_stream::play` event whose body
// is the message's `data` without `audioData`, plus `file`; anything else becomes a
// `mod_audio_stream::json` event. Closes with 1000 on hangup(), or drops the TCP connection on drop().
//
// Runs on its own thread with its own io_context; every public member is thread-safe.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ivr::test {

struct ModAudioStreamOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string call_uuid;  // empty: a random UUID
  // Request target; empty: "/stream/<call_uuid>". Use "/stream/<domain>/<call>" for the Python form.
  std::string path;
  std::string query;  // without the '?', appended as is
  // STREAM_EXTRA_HEADERS: sent with lower-cased names, as the module's handshake arrives.
  std::vector<std::pair<std::string, std::string>> extra_headers;
  std::string origin = "http://127.0.0.1";
  bool offer_deflate = false;

  std::optional<std::string> metadata;  // the text after the rate in `uuid_audio_stream … start`
  int metadata_after_frames = 0;        // 0: before any audio; N: after N audio frames

  int sample_rate = 16'000;  // 8000 or 16000
  int channels = 1;          // 2: stereo, caller on channel 0, `far_end_audio` (or silence) on channel 1
  int frame_ms = 20;         // STREAM_BUFFER_SIZE
  std::vector<std::int16_t> caller_audio;        // mono at sample_rate
  std::vector<std::int16_t> far_end_audio;       // mono at sample_rate, channel 1 of a stereo stream
  std::chrono::milliseconds silence_after{500};  // silence frames after caller_audio, then sending stops
  double speed = 1.0;  // 1 = real time (frames on absolute 20 ms deadlines); 0 = as fast as possible

  bool file_mode = false;  // upstream module: write files and record play events
  std::string temp_dir = "/tmp";
  // The handshake, and a close handshake, give up after this.
  std::chrono::milliseconds timeout{5000};
};

class ModAudioStreamEmulator {
 public:
  using Clock = std::chrono::steady_clock;

  struct Text {
    Clock::time_point at;
    std::string text;
  };
  struct Audio {  // one decoded streamAudio
    Clock::time_point at;
    std::string audio_data_type;  // raw, wav, …
    int sample_rate = 0;
    std::vector<std::int16_t> samples;  // raw: the L16 samples; wav: the PCM after the 44-byte header
  };
  struct Event {  // what the module would fire on the FreeSWITCH event bus
    Clock::time_point at;
    std::string subclass;  // mod_audio_stream::play | ::json
    std::string body;
    std::string file;  // play: the temp file written
  };
  struct SentFrame {
    Clock::time_point at;
    bool binary = true;
    std::size_t bytes = 0;
  };

  explicit ModAudioStreamEmulator(ModAudioStreamOptions options);
  ~ModAudioStreamEmulator();  // drops the connection if still open and deletes the temp files
  ModAudioStreamEmulator(const ModAudioStreamEmulator&) = delete;
  ModAudioStreamEmulator& operator=(const ModAudioStreamEmulator&) = delete;

  // Connects and starts streaming. Returns false when the TCP connect or the WebSocket handshake failed
  // (error() says why; http_status() has the server's status if it answered HTTP).
  bool start();

  // `uuid_audio_stream <uuid> stop`: stops sending and closes with 1000 and `reason`.
  void hangup(std::string reason = "");
  // The call vanished: the TCP connection is dropped without a close frame.
  void drop();

  // Wait helpers (false on timeout).
  bool wait_closed(std::chrono::milliseconds timeout);
  bool wait_texts(std::size_t count, std::chrono::milliseconds timeout);
  bool wait_audio_samples(std::size_t samples, std::chrono::milliseconds timeout);
  bool wait_sending_done(std::chrono::milliseconds timeout);

  const std::string& call_uuid() const;
  std::string error() const;
  int http_status() const;
  Clock::time_point connected_at() const;

  std::vector<SentFrame> sent() const;
  std::size_t audio_frames_sent() const;
  std::vector<Text> texts() const;
  std::vector<Audio> audio() const;
  std::vector<Event> events() const;
  std::vector<Event> play_events() const;
  std::size_t binary_messages_received() const;
  // All received raw/wav samples concatenated (at whatever rates they came).
  std::vector<std::int16_t> received_samples() const;

  bool closed() const;
  // The server's close frame, when it sent one (nullopt: none, or the connection just dropped).
  std::optional<std::uint16_t> close_code() const;
  std::string close_reason() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ivr::test
