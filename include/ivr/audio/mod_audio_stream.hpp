#pragma once
// The mod_audio_stream wire protocol (PROTOCOLS.md §1), sans-I/O: what the FreeSWITCH module sends us
// (handshake target and headers, an optional metadata text frame, binary L16 frames) and what we send
// back (`streamAudio` text messages). No sockets here: the bridge feeds bytes in and writes what comes out.
//
// Thread safety: the free functions are pure; each object belongs to one call (not thread-safe).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ivr/core/errors.hpp"

namespace ivr::audio {

// How our audio reaches the caller (PROTOCOLS §1): `stream` = bidirectional builds play `streamAudio` raw
// chunks as they arrive (we pace them); `file` = the upstream module writes each `streamAudio` to a file
// and fires `mod_audio_stream::play`, which the daemon plays over ESL.
enum class PlaybackMode { stream, file };

std::string_view to_string(PlaybackMode mode) noexcept;

// What the module's `uuid_audio_stream … start <url> <mix> <rate>` was told. `mixed` is mono on the wire.
struct CallAudioFormat {
  int sample_rate = 16'000;  // 8000 or 16000
  int channels = 1;          // 2 for `stereo` (caller on channel 0, what the caller hears on channel 1)
};

// Tenant and call facts about one stream, from any of its sources. Empty / nullopt = not given.
struct StreamMetadata {
  std::string domain_uuid;   // canonical lower-case UUID
  std::string secretary_id;  // canonical lower-case UUID; empty = the domain's default secretary
  std::string call_uuid;     // canonical lower-case UUID
  std::string caller_id;     // as given (any UTF-8)
  std::string domain_name;
  std::string freeswitch_node;
  std::optional<PlaybackMode> playback;
  std::optional<int> sample_rate;  // 8000 | 16000 (our convention: `sample_rate` / `rate`, "8k" accepted)
  std::optional<int> channels;     // 1 | 2 (our convention: `mix` = mono | mixed | stereo, or `channels`)
  // Every other key, in arrival order; strings as they are, other JSON values as compact JSON text.
  std::vector<std::pair<std::string, std::string>> extra;
};

// The metadata text frame. Accepts a JSON object whose known keys are strings (numbers are accepted for
// caller_id and sample_rate; null counts as absent). Errors (with a log-safe `reason`):
//   Errc::invalid_json        not JSON (the module forwards any text the dialplan gave it)
//   Errc::bad_request         JSON but not an object, or a known key of the wrong type
//   Errc::invalid_domain_uuid domain_uuid present but not a UUID
//   Errc::unprocessable       secretary_id / call_uuid not a UUID, playback not stream|file, bad rate/mix
Result<StreamMetadata> parse_stream_metadata(std::string_view text, std::string* reason = nullptr);

// The handshake request target: `/stream/{call_uuid}` or `/stream/{domain_uuid}/{call_uuid}` (the Python
// service's form), a trailing `/` tolerated, then an optional query string with the same keys as the
// metadata frame (`domain_uuid`, `secretary_id`, `caller_id`, `playback`, `freeswitch_node`, `rate` or
// `sample_rate`, `mix` or `channels`; percent-decoded, `+` = space; a repeated key: the last one wins).
// The result carries call_uuid (always) and the path's domain_uuid merged with the query's (they must
// agree). Errors: Errc::not_found (not a /stream path), Errc::unprocessable (call uuid not a UUID, bad
// value), Errc::invalid_domain_uuid, Errc::domain_mismatch (path and query name different domains).
Result<StreamMetadata> parse_stream_target(std::string_view target, std::string* reason = nullptr);

// Handshake headers set by STREAM_EXTRA_HEADERS (they arrive lower-cased; matched case-insensitively):
// x-domain-uuid, x-secretary-id, x-caller-id, x-playback, x-freeswitch-node. Others are ignored (the
// token, `x-api-key` / `authorization`, is checked by the endpoint like any REST token).
// Errors as parse_stream_metadata.
using HeaderList = std::vector<std::pair<std::string, std::string>>;
Result<StreamMetadata> parse_stream_headers(const HeaderList& headers, std::string* reason = nullptr);

// Combines the three sources. Precedence: handshake headers > URL (path, then query) > metadata frame.
// The handshake sources are known before any audio and are the ones the token travels with; the frame may
// arrive after audio or not at all. Identity fields (domain_uuid, secretary_id, call_uuid) must agree
// wherever two sources both give them: a disagreement is Errc::domain_mismatch (domain) or
// Errc::conflict (secretary, call), never a silent pick. Other fields take the first source that has
// them. `extra` is concatenated frame-last. Pass nullptr for a source that is absent.
Result<StreamMetadata> merge_stream_metadata(const StreamMetadata* headers, const StreamMetadata* url,
                                             const StreamMetadata* frame, std::string* reason = nullptr);

// Caller audio out of the module's binary frames. Frames are raw L16 little-endian, 20 ms by default
// (320 bytes at 8 kHz mono, 640 at 16 kHz mono or 8 kHz stereo); STREAM_BUFFER_SIZE or a 30 ms ptime make
// them longer, so any whole number of sample frames up to `max_frame_ms` is accepted. Bad frames are
// rejected with a reason and counted: the call goes on.
class CallerFrameDecoder {
 public:
  enum class Reject { none, empty, odd_length, partial_sample_frame, too_large };

  explicit CallerFrameDecoder(CallAudioFormat format, int max_frame_ms = 1000);

  // Appends the caller's mono samples (channel 0 of a stereo stream) to `out`. Returns Reject::none, or
  // why the frame was dropped (nothing appended).
  Reject decode(std::string_view frame, std::vector<std::int16_t>& out);

  const CallAudioFormat& format() const { return format_; }
  std::uint64_t frames_accepted() const { return accepted_; }
  std::uint64_t frames_rejected() const { return rejected_; }
  // Accepted frames whose length is not a multiple of 20 ms (worth a debug line, not an error).
  std::uint64_t frames_irregular() const { return irregular_; }
  std::uint64_t samples_out() const { return samples_; }

  static std::string_view describe(Reject reject) noexcept;

 private:
  CallAudioFormat format_;
  std::size_t max_bytes_;
  std::size_t bytes_per_20ms_;
  std::uint64_t accepted_ = 0;
  std::uint64_t rejected_ = 0;
  std::uint64_t irregular_ = 0;
  std::uint64_t samples_ = 0;
};

// Server → module messages: {"type":"streamAudio","data":{"audioDataType":"raw","sampleRate":N,
// "audioData":"<base64 of L16 LE>"}} (or "wav" with a 44-byte header inside the base64). Built as a
// pre-made prefix + base64 + suffix: no JSON library on the per-frame path, and no allocation once `out`
// has grown to the largest message. In `file` mode send raw only at 8000/16000 (PROTOCOLS §1).
class StreamAudioWriter {
 public:
  // Throws std::invalid_argument for a rate outside 8000..64000.
  explicit StreamAudioWriter(int sample_rate);

  int sample_rate() const { return sample_rate_; }

  // Replaces `out` with the message.
  void write_raw(std::span<const std::int16_t> samples, std::string& out) const;
  void write_wav(std::span<const std::int16_t> samples, std::string& out) const;
  std::string raw(std::span<const std::int16_t> samples) const;

  // Exact size of the raw message for `samples` samples.
  std::size_t raw_size(std::size_t samples) const;

 private:
  int sample_rate_;
  std::string raw_prefix_;
  std::string wav_prefix_;
};

}  // namespace ivr::audio
