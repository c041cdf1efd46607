#pragma once
// Sample-rate conversion of 16-bit mono PCM with speexdsp. One Resampler per stream and direction: it
// keeps filter state across calls, so 20 ms frames join without clicks, and the output length never
// drifts (after flush() the total is exactly in * out_rate / in_rate when that divides). Equal rates copy
// the samples through untouched. Not thread-safe.

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace ivr::audio {

class Resampler {
 public:
  // quality 0..10 (speex); 3–5 suits telephony (5 is the default: ~4.5 µs per 20 ms 16k→24k here). Throws
  // std::invalid_argument for bad rates or quality.
  Resampler(int input_rate, int output_rate, int quality = kDefaultQuality);
  static constexpr int kDefaultQuality = 5;
  ~Resampler();
  Resampler(Resampler&&) noexcept;
  Resampler& operator=(Resampler&&) noexcept;

  int input_rate() const { return input_rate_; }
  int output_rate() const { return output_rate_; }
  int quality() const { return quality_; }

  // Upper bound of the samples one process() call yields for `input_samples` samples in.
  std::size_t max_output(std::size_t input_samples) const;

  // Appends the converted samples of `in` to `out`. Filter latency: the first call yields slightly fewer
  // samples; flush() returns the tail at the end of the stream.
  void process(std::span<const std::int16_t> in, std::vector<std::int16_t>& out);
  // The per-frame form without allocation: writes into `out` (precondition: out.size() >=
  // max_output(in.size())) and returns how many samples it wrote.
  std::size_t process(std::span<const std::int16_t> in, std::span<std::int16_t> out);
  void flush(std::vector<std::int16_t>& out);
  void reset();

 private:
  struct State;
  std::unique_ptr<State> state_;
  int input_rate_;
  int output_rate_;
  int quality_;
};

// Whole-buffer conversion (for files): process + flush. Returns `in` unchanged when the rates match.
std::vector<std::int16_t> resample(std::span<const std::int16_t> in, int input_rate, int output_rate,
                                   int quality = Resampler::kDefaultQuality);

}  // namespace ivr::audio
