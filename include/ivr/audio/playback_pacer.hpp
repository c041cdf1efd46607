#pragma once
// When to send the agent's audio back to FreeSWITCH, sans-I/O: the caller passes the time in, the pacer
// says what to send now and when to ask again. One per call, io thread only (not thread-safe).
//
// Model of the far end: audio sent at `t` starts playing at max(t, end of what was sent before) and plays
// in real time (the bidirectional module drains its buffer every 20 ms; FreeSWITCH plays broadcast files
// one after another). From that schedule the pacer knows how much of each provider item was heard at any
// instant, which is what a barge-in truncate needs.
//
// - PlaybackMode::stream: chunks of `chunk` (default 20 ms) sent so that at most `lead` (default 100 ms)
//   of audio is ahead of real time: stopping the sends stops the sound within `lead`, since the module has
//   no command to clear its buffer.
// - PlaybackMode::file: every streamAudio becomes a file and a play event, so audio is grouped into
//   segments of at least `min_segment` (at most `max_segment`); the end of an item (or flush()) sends a
//   shorter remainder. Segments are paced too, with `file_lead` ahead (one segment queued in FreeSWITCH).
//
// Audio never mixes two items in one chunk. The queue is bounded (`max_queued`): beyond it the oldest
// unsent audio is dropped and counted.

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ivr/audio/mod_audio_stream.hpp"

namespace ivr::audio {

struct PacerConfig {
  PlaybackMode mode = PlaybackMode::stream;
  int sample_rate = 16'000;  // of the samples pushed and sent (the call's rate)
  std::chrono::milliseconds lead{100};
  std::chrono::milliseconds chunk{20};
  std::chrono::milliseconds min_segment{1000};
  std::chrono::milliseconds max_segment{4000};
  std::chrono::milliseconds file_lead{4000};
  std::chrono::milliseconds max_queued{120'000};
};

class PlaybackPacer {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;

  // A piece of audio to send now. `item_id` views the pacer's storage: valid until the next call that
  // changes the pacer. `samples` is reused between calls.
  struct Chunk {
    std::string_view item_id;
    std::vector<std::int16_t> samples;
    TimePoint starts_playing;         // by the model above
    std::int64_t item_offset_ms = 0;  // where in the item this chunk begins
  };

  // What a barge-in cut, per item touched (the one playing first).
  struct ItemCut {
    std::string item_id;
    std::int64_t heard_ms = 0;    // played before the sound stops: the truncate point
    std::int64_t sent_ms = 0;     // sent to FreeSWITCH in total
    std::int64_t dropped_ms = 0;  // queued here and never sent
  };
  struct ClearResult {
    std::vector<ItemCut> items;
    // When the caller stops hearing us: `now` in file mode (the bridge sends uuid_break), the end of what
    // was already sent in stream mode (no way to clear the module's buffer). `sound_stops - now` is the
    // barge-in cut-off time the daemon can guarantee.
    TimePoint sound_stops;
    std::int64_t dropped_ms = 0;  // total unsent audio dropped
  };

  explicit PlaybackPacer(PacerConfig config);

  const PacerConfig& config() const { return config_; }

  // Queues agent audio (mono, config().sample_rate) of item `item_id`. Audio of a new item ends the
  // previous one (its remainder becomes sendable at once).
  void push(std::string_view item_id, std::span<const std::int16_t> samples);
  // The item is complete (provider's audio done): its remainder is sent without waiting for more.
  void end_item(std::string_view item_id);
  // An utterance boundary inside an item (sentence end in `pipeline`): in file mode the queued audio is
  // sent as a segment without waiting for min_segment. No effect in stream mode beyond end of input.
  void flush();

  // Fills `out` and returns true when something should be sent at `now`; call again until false.
  bool next(TimePoint now, Chunk& out);
  // When next() will have something, given no new input: nullopt when nothing is queued or the queued
  // audio waits for more input (not enough for a segment/chunk and the item is not ended).
  std::optional<TimePoint> next_due(TimePoint now) const;

  // Milliseconds of `item_id` heard by `now` (0 for an unknown item; items are remembered for a while).
  std::int64_t played_ms(std::string_view item_id, TimePoint now) const;
  // Audio sent but not yet played at `now`.
  std::chrono::nanoseconds ahead(TimePoint now) const;
  // Nothing queued and nothing playing.
  bool idle(TimePoint now) const;
  // Queued audio not yet sent, in ms.
  std::int64_t queued_ms() const;

  // Barge-in: drops everything unsent and reports per item how much was heard.
  ClearResult clear(TimePoint now);

  std::uint64_t dropped_samples() const { return dropped_samples_; }
  std::uint64_t sent_samples() const { return sent_samples_total_; }

 private:
  struct Pending {
    std::string item_id;
    std::vector<std::int16_t> samples;
    std::size_t read = 0;          // samples already sent
    std::int64_t item_offset = 0;  // samples of the item sent before this entry
    bool ended = false;
  };
  // One contiguous stretch of an item's playout.
  struct Span {
    TimePoint start;
    std::int64_t samples = 0;
  };
  struct History {
    std::string item_id;
    std::vector<Span> spans;
    std::int64_t sent = 0;
  };

  std::int64_t samples_of(std::chrono::milliseconds d) const;
  std::chrono::nanoseconds duration_of(std::int64_t samples) const;
  // How many samples of the front entry may go now (0: none).
  std::int64_t sendable(const Pending& p, TimePoint now, TimePoint* due) const;
  History& history_for(std::string_view item_id);
  const History* find_history(std::string_view item_id) const;
  std::int64_t heard_samples(const History& h, TimePoint at) const;
  std::int64_t sent_offset(std::string_view item_id) const;

  PacerConfig config_;
  std::deque<Pending> queue_;
  std::deque<History> history_;
  TimePoint play_end_{};
  std::int64_t queued_samples_ = 0;
  std::uint64_t dropped_samples_ = 0;
  std::uint64_t sent_samples_total_ = 0;
};

}  // namespace ivr::audio
