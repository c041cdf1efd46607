#pragma once
// Sample-rate conversion of 16-bit mono PCM with speexdsp. One Resampler per stream and direction: it
// keeps filter state across calls, so 20 ms frames join without clicks. Not thread-safe.

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace ivr::audio {

class Resampler {
 public:
  // quality 0..10 (speex); 5 is a good voice default. Throws std::invalid_argument for bad rates.
  Resampler(int input_rate, int output_rate, int quality = 5);
  ~Resampler();
  Resampler(Resampler&&) noexcept;
  Resampler& operator=(Resampler&&) noexcept;

  int input_rate() const { return input_rate_; }
  int output_rate() const { return output_rate_; }

  // Appends the converted samples of `in` to `out`. Filter latency: the first call yields slightly fewer
  // samples; flush() returns the tail at the end of the stream.
  void process(std::span<const std::int16_t> in, std::vector<std::int16_t>& out);
  void flush(std::vector<std::int16_t>& out);
  void reset();

 private:
  struct State;
  std::unique_ptr<State> state_;
  int input_rate_;
  int output_rate_;
};

// Whole-buffer conversion (for files): process + flush. Returns `in` unchanged when the rates match.
std::vector<std::int16_t> resample(std::span<const std::int16_t> in, int input_rate, int output_rate,
                                   int quality = 5);

}  // namespace ivr::audio
