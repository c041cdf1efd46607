// The per-call streaming use of Resampler: 20 ms frames in, state kept across them.
#include "ivr/audio/resampler.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <numbers>

#include <gtest/gtest.h>

namespace ivr::audio {
namespace {

std::vector<std::int16_t> tone(int rate, double hz, int ms) {
  std::vector<std::int16_t> s(static_cast<std::size_t>(rate) * static_cast<std::size_t>(ms) / 1000);
  for (std::size_t i = 0; i < s.size(); ++i) {
    s[i] = static_cast<std::int16_t>(12000 *
                                     std::sin(2 * std::numbers::pi * hz * static_cast<double>(i) / rate));
  }
  return s;
}

// Frame by frame through one Resampler, then flush.
std::vector<std::int16_t> by_frames(const std::vector<std::int16_t>& in, int from, int to, int quality) {
  Resampler r(from, to, quality);
  const std::size_t frame = static_cast<std::size_t>(from) / 50;  // 20 ms
  std::vector<std::int16_t> out;
  for (std::size_t i = 0; i < in.size(); i += frame) {
    r.process(std::span<const std::int16_t>(in).subspan(i, std::min(frame, in.size() - i)), out);
  }
  r.flush(out);
  return out;
}

struct RatePair {
  int from;
  int to;
};

class StreamingResampler : public ::testing::TestWithParam<RatePair> {};

TEST_P(StreamingResampler, FramesEqualOneShotAndKeepExactLength) {
  const auto [from, to] = GetParam();
  const auto in = tone(from, 440, 2000);
  const auto whole = resample(in, from, to, 4);
  const auto framed = by_frames(in, from, to, 4);
  // Exact length accounting: 2 s in, 2 s out, to the sample, however it was cut.
  EXPECT_EQ(framed.size(), static_cast<std::size_t>(to) * 2);
  EXPECT_EQ(whole.size(), framed.size());
  // Same filter state carried across frames: no clicks, the same signal as the one-shot conversion.
  int max_diff = 0;
  for (std::size_t i = 0; i < std::min(whole.size(), framed.size()); ++i) {
    max_diff = std::max(max_diff, std::abs(whole[i] - framed[i]));
  }
  EXPECT_LE(max_diff, 2) << from << "->" << to;
}

INSTANTIATE_TEST_SUITE_P(TelephonyRates, StreamingResampler,
                         ::testing::Values(RatePair{8000, 16000}, RatePair{16000, 8000},
                                           RatePair{16000, 24000}, RatePair{24000, 16000},
                                           RatePair{8000, 24000}, RatePair{24000, 8000},
                                           RatePair{48000, 16000}, RatePair{16000, 48000}));

TEST(StreamingResampler, NoClickAtFrameBoundaries) {
  // A smooth 300 Hz tone stays smooth: the largest sample-to-sample step of the output is that of the
  // tone itself (a restart of the filter at each frame would show as a step near a boundary).
  const auto in = tone(16000, 300, 1000);
  const auto out = by_frames(in, 16000, 24000, 4);
  const double max_step_expected = 12000 * 2 * std::numbers::pi * 300 / 24000;  // ≈ 942
  int max_step = 0;
  for (std::size_t i = 200; i + 200 < out.size(); ++i)
    max_step = std::max(max_step, std::abs(out[i] - out[i - 1]));
  EXPECT_LT(max_step, max_step_expected * 1.1);
  EXPECT_GT(max_step, max_step_expected * 0.8);
}

TEST(StreamingResampler, LengthAccountingOverManyFramesWithoutFlush) {
  // During a call nobody flushes: after N frames the output lags by the filter delay only, never drifts.
  Resampler r(16000, 24000, 4);
  const auto frame = tone(16000, 500, 20);
  std::vector<std::int16_t> out;
  std::size_t first = 0;
  for (int i = 0; i < 3000; ++i) {  // one minute
    const std::size_t before = out.size();
    r.process(frame, out);
    if (i == 0) first = out.size() - before;
    if (i > 10) {
      ASSERT_EQ(out.size() - before, 480u) << "frame " << i;
    }
  }
  EXPECT_LT(first, 480u);  // the filter delay shows once, at the start
  const std::size_t lag = 3000u * 480u - out.size();
  EXPECT_EQ(lag, 480u - first);
  r.flush(out);
  EXPECT_EQ(out.size(), 3000u * 480u);
}

TEST(StreamingResampler, SameRateIsAnExactCopy) {
  Resampler r(16000, 16000);
  const auto in = tone(16000, 440, 20);
  std::vector<std::int16_t> out;
  r.process(in, out);
  r.flush(out);
  EXPECT_EQ(out, in);
}

TEST(StreamingResampler, SpanOutputNeedsNoAllocation) {
  Resampler r(16000, 24000, 4);
  const auto in = tone(16000, 440, 20);
  std::vector<std::int16_t> out(r.max_output(in.size()));
  std::size_t total = 0;
  for (int i = 0; i < 50; ++i) total += r.process(in, std::span<std::int16_t>(out));
  EXPECT_GT(total, 50u * 480u - 100u);
  EXPECT_LE(total, 50u * 480u);
  EXPECT_EQ(r.quality(), 4);
}

TEST(StreamingResampler, TwentyMillisecondsCostMicroseconds) {
  for (int quality : {3, 4, 5}) {
    Resampler r(16000, 24000, quality);
    const auto in = tone(16000, 440, 20);
    std::vector<std::int16_t> out(r.max_output(in.size()));
    constexpr int kFrames = 2000;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kFrames; ++i) r.process(in, std::span<std::int16_t>(out));
    const auto us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    std::printf("[          ] 16k->24k 20 ms frame, quality %d: %.2f us (this build's optimisation level)\n",
                quality, us / kFrames);
  }
  SUCCEED();
}

}  // namespace
}  // namespace ivr::audio
