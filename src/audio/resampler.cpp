#include "ivr/audio/resampler.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include <speex/speex_resampler.h>

namespace ivr::audio {

struct Resampler::State {
  SpeexResamplerState* speex = nullptr;
  ~State() {
    if (speex != nullptr) speex_resampler_destroy(speex);
  }
};

Resampler::Resampler(int input_rate, int output_rate, int quality)
    : state_(std::make_unique<State>()),
      input_rate_(input_rate),
      output_rate_(output_rate),
      quality_(quality) {
  if (input_rate <= 0 || output_rate <= 0 || input_rate > 384'000 || output_rate > 384'000) {
    throw std::invalid_argument("resampler: bad rate " + std::to_string(input_rate) + " -> " +
                                std::to_string(output_rate));
  }
  if (quality < 0 || quality > 10) throw std::invalid_argument("resampler: quality must be 0..10");
  // Equal rates: a plain copy (speex would still filter and delay the signal).
  if (input_rate == output_rate) return;
  int err = 0;
  state_->speex = speex_resampler_init(1, static_cast<spx_uint32_t>(input_rate),
                                       static_cast<spx_uint32_t>(output_rate), quality, &err);
  if (state_->speex == nullptr || err != RESAMPLER_ERR_SUCCESS) {
    throw std::invalid_argument(std::string("resampler: ") + speex_resampler_strerror(err));
  }
  // Without this the filter's start-up delay shows as leading zeros (see STYLE.md).
  speex_resampler_skip_zeros(state_->speex);
}

Resampler::~Resampler() = default;
Resampler::Resampler(Resampler&&) noexcept = default;
Resampler& Resampler::operator=(Resampler&&) noexcept = default;

std::size_t Resampler::max_output(std::size_t input_samples) const {
  return input_samples * static_cast<std::size_t>(output_rate_) / static_cast<std::size_t>(input_rate_) + 64;
}

std::size_t Resampler::process(std::span<const std::int16_t> in, std::span<std::int16_t> out) {
  if (state_->speex == nullptr) {
    const std::size_t n = std::min(in.size(), out.size());
    std::copy_n(in.begin(), n, out.begin());
    return n;
  }
  spx_uint32_t in_len = static_cast<spx_uint32_t>(in.size());
  spx_uint32_t out_len = static_cast<spx_uint32_t>(out.size());
  speex_resampler_process_int(state_->speex, 0, in.data(), &in_len, out.data(), &out_len);
  return out_len;
}

void Resampler::process(std::span<const std::int16_t> in, std::vector<std::int16_t>& out) {
  const std::size_t start = out.size();
  out.resize(start + max_output(in.size()));
  const std::size_t n = process(in, std::span<std::int16_t>(out).subspan(start));
  out.resize(start + n);
}

void Resampler::flush(std::vector<std::int16_t>& out) {
  if (state_->speex == nullptr) return;
  // Push the filter's latency worth of silence through to release the tail.
  const int latency = speex_resampler_get_input_latency(state_->speex);
  std::vector<std::int16_t> zeros(static_cast<std::size_t>(latency), 0);
  const std::size_t expected = static_cast<std::size_t>(speex_resampler_get_output_latency(state_->speex));
  const std::size_t start = out.size();
  process(zeros, out);
  if (out.size() - start > expected) out.resize(start + expected);
}

void Resampler::reset() {
  if (state_->speex == nullptr) return;
  speex_resampler_reset_mem(state_->speex);
  speex_resampler_skip_zeros(state_->speex);
}

std::vector<std::int16_t> resample(std::span<const std::int16_t> in, int input_rate, int output_rate,
                                   int quality) {
  if (input_rate == output_rate) return {in.begin(), in.end()};
  Resampler r(input_rate, output_rate, quality);
  std::vector<std::int16_t> out;
  out.reserve(in.size() * static_cast<std::size_t>(output_rate) / static_cast<std::size_t>(input_rate) + 64);
  r.process(in, out);
  r.flush(out);
  return out;
}

}  // namespace ivr::audio
