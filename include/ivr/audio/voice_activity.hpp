#pragma once
// Local voice-activity detection for the `pipeline` realtime agent, sans-I/O: samples in, utterances out.
//
// Energy detector on fixed frames (20 ms by default) with an adaptive noise floor: a frame is "voiced" when
// its RMS level is above both an absolute floor (min_level_dbfs) and the running noise estimate plus
// snr_db. Speech starts after start_ms of voiced frames in a row (a click or a cough shorter than that never
// starts a turn); it stops after silence_ms of unvoiced frames in a row, or when it has lasted
// max_utterance_ms. The noise floor follows the level of unvoiced frames only (down fast, up slowly), so
// steady line noise or a hum raises the threshold instead of starting endless speech.
//
// The utterance handed out on stop holds prefix_ms of audio before the first voiced frame (word onsets are
// quiet) and the speech up to the first frame of the closing silence plus tail_ms.
//
// Cost: one pass of multiply-adds per frame; no allocation per frame once the buffers have grown to an
// utterance's size. Not thread-safe (one per call).

#include <cstdint>
#include <deque>
#include <span>
#include <vector>

namespace ivr::audio {

struct VoiceActivityConfig {
  int sample_rate = 16'000;
  int frame_ms = 20;
  double min_level_dbfs = -42.0;  // quieter frames are never speech (telephone speech is about -30..-15)
  double snr_db = 12.0;           // above the noise floor by at least this
  int start_ms = 100;             // voiced time in a row that starts speech
  int silence_ms = 600;           // unvoiced time in a row that ends it
  int prefix_ms = 300;            // audio kept before the speech start
  int tail_ms = 200;              // audio kept after the last voiced frame
  int max_utterance_ms = 30'000;  // a longer utterance is cut (and the next one starts at once if voiced)
};

class VoiceActivityDetector {
 public:
  enum class Event { speech_started, speech_stopped };

  // Throws std::invalid_argument for a rate or frame length that gives no whole frame.
  explicit VoiceActivityDetector(VoiceActivityConfig config = {});

  // Feeds samples of any length (frames are cut internally); appends what happened, in order, to `events`.
  // After speech_stopped, take_utterance() returns that utterance's samples.
  void feed(std::span<const std::int16_t> samples, std::vector<Event>& events);

  // The last finished utterance (moved out; empty when there is none).
  std::vector<std::int16_t> take_utterance();

  bool in_speech() const noexcept { return in_speech_; }
  double noise_floor_dbfs() const noexcept { return floor_db_; }
  const VoiceActivityConfig& config() const noexcept { return config_; }
  void reset();

  // RMS level of `frame` in dBFS (-100 for digital silence).
  static double level_dbfs(std::span<const std::int16_t> frame) noexcept;

 private:
  void frame(std::span<const std::int16_t> frame, std::vector<Event>& events);
  void finish(std::vector<Event>& events);

  VoiceActivityConfig config_;
  std::size_t frame_samples_;
  std::vector<std::int16_t> partial_;  // samples of the frame being filled
  std::deque<std::int16_t> history_;   // before speech: the last prefix_ms + start_ms of audio
  std::vector<std::int16_t> current_;  // during speech: the utterance so far
  std::vector<std::int16_t> done_;     // the last finished utterance
  double floor_db_;
  bool in_speech_ = false;
  int voiced_run_ms_ = 0;
  int unvoiced_run_ms_ = 0;
  int speech_ms_ = 0;
  std::size_t keep_after_voiced_ = 0;  // current_.size() at the last voiced frame + tail
};

}  // namespace ivr::audio
