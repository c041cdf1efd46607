#include "ivr/audio/voice_activity.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace ivr::audio {
namespace {

constexpr double kSilenceDb = -100.0;
// Per-frame smoothing of the noise floor: falls fast (a pause shows the real floor), rises slowly (about a
// second at 20 ms frames), so a short loud noise does not deafen the detector.
constexpr double kFloorDown = 0.3;
constexpr double kFloorUp = 0.02;

std::size_t samples_for(int rate, int ms) {
  return static_cast<std::size_t>(std::max(0, rate)) * static_cast<std::size_t>(std::max(0, ms)) / 1000;
}

}  // namespace

VoiceActivityDetector::VoiceActivityDetector(VoiceActivityConfig config)
    : config_(config),
      frame_samples_(samples_for(config.sample_rate, config.frame_ms)),
      floor_db_(config.min_level_dbfs - config.snr_db) {
  if (config_.sample_rate <= 0 || config_.frame_ms <= 0 || frame_samples_ == 0) {
    throw std::invalid_argument("voice activity: the sample rate and frame length give no whole frame");
  }
  partial_.reserve(frame_samples_);
}

void VoiceActivityDetector::reset() {
  partial_.clear();
  history_.clear();
  current_.clear();
  done_.clear();
  floor_db_ = config_.min_level_dbfs - config_.snr_db;
  in_speech_ = false;
  voiced_run_ms_ = unvoiced_run_ms_ = speech_ms_ = 0;
  keep_after_voiced_ = 0;
}

double VoiceActivityDetector::level_dbfs(std::span<const std::int16_t> frame) noexcept {
  if (frame.empty()) return kSilenceDb;
  double sum = 0;
  for (const std::int16_t s : frame) sum += static_cast<double>(s) * static_cast<double>(s);
  const double rms = std::sqrt(sum / static_cast<double>(frame.size()));
  if (rms < 1e-3) return kSilenceDb;
  return std::max(kSilenceDb, 20.0 * std::log10(rms / 32768.0));
}

void VoiceActivityDetector::feed(std::span<const std::int16_t> samples, std::vector<Event>& events) {
  while (!samples.empty()) {
    if (partial_.empty() && samples.size() >= frame_samples_) {
      frame(samples.first(frame_samples_), events);
      samples = samples.subspan(frame_samples_);
      continue;
    }
    const std::size_t n = std::min(frame_samples_ - partial_.size(), samples.size());
    partial_.insert(partial_.end(), samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(n));
    samples = samples.subspan(n);
    if (partial_.size() == frame_samples_) {
      frame(partial_, events);
      partial_.clear();
    }
  }
}

std::vector<std::int16_t> VoiceActivityDetector::take_utterance() {
  std::vector<std::int16_t> out;
  out.swap(done_);
  return out;
}

void VoiceActivityDetector::frame(std::span<const std::int16_t> samples, std::vector<Event>& events) {
  const double level = level_dbfs(samples);
  const double threshold = std::max(config_.min_level_dbfs, floor_db_ + config_.snr_db);
  const bool voiced = level > threshold;

  if (!in_speech_) {
    history_.insert(history_.end(), samples.begin(), samples.end());
    const std::size_t keep =
        samples_for(config_.sample_rate, config_.prefix_ms + config_.start_ms) + frame_samples_;
    while (history_.size() > keep) history_.pop_front();
    if (!voiced) {
      voiced_run_ms_ = 0;
      floor_db_ += (level < floor_db_ ? kFloorDown : kFloorUp) * (level - floor_db_);
      floor_db_ = std::max(floor_db_, kSilenceDb);
      return;
    }
    voiced_run_ms_ += config_.frame_ms;
    if (voiced_run_ms_ < config_.start_ms) return;
    // Speech: the utterance starts prefix_ms before the first voiced frame of this run.
    const std::size_t wanted = samples_for(config_.sample_rate, config_.prefix_ms + voiced_run_ms_);
    const std::size_t take = std::min(wanted, history_.size());
    current_.assign(history_.end() - static_cast<std::ptrdiff_t>(take), history_.end());
    history_.clear();
    in_speech_ = true;
    speech_ms_ = voiced_run_ms_;
    unvoiced_run_ms_ = 0;
    voiced_run_ms_ = 0;
    keep_after_voiced_ = current_.size() + samples_for(config_.sample_rate, config_.tail_ms);
    events.push_back(Event::speech_started);
    return;
  }

  current_.insert(current_.end(), samples.begin(), samples.end());
  speech_ms_ += config_.frame_ms;
  if (voiced) {
    unvoiced_run_ms_ = 0;
    keep_after_voiced_ = current_.size() + samples_for(config_.sample_rate, config_.tail_ms);
  } else {
    unvoiced_run_ms_ += config_.frame_ms;
    if (unvoiced_run_ms_ >= config_.silence_ms) {
      finish(events);
      return;
    }
  }
  if (speech_ms_ >= config_.max_utterance_ms) {
    keep_after_voiced_ = current_.size();
    finish(events);
  }
}

void VoiceActivityDetector::finish(std::vector<Event>& events) {
  const std::size_t n = std::min(current_.size(), keep_after_voiced_);
  done_.assign(current_.begin(), current_.begin() + static_cast<std::ptrdiff_t>(n));
  current_.clear();
  in_speech_ = false;
  voiced_run_ms_ = unvoiced_run_ms_ = speech_ms_ = 0;
  events.push_back(Event::speech_stopped);
}

}  // namespace ivr::audio
