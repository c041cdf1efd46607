#include <cmath>
#include <numbers>

#include <gtest/gtest.h>

#include "ivr/audio/g711.hpp"
#include "ivr/audio/resampler.hpp"
#include "ivr/audio/wav.hpp"

namespace ivr::audio {
namespace {

PcmAudio sine(int rate, double hz, int ms, int channels = 1) {
  PcmAudio a;
  a.sample_rate = rate;
  a.channels = channels;
  const int frames = rate * ms / 1000;
  for (int i = 0; i < frames; ++i) {
    const auto v = static_cast<std::int16_t>(10000 * std::sin(2 * std::numbers::pi * hz * i / rate));
    for (int c = 0; c < channels; ++c) a.samples.push_back(c == 0 ? v : static_cast<std::int16_t>(-v));
  }
  return a;
}

// Frequency estimate by zero crossings: enough to prove a resampler kept the pitch.
double zero_crossing_hz(const std::vector<std::int16_t>& s, int rate) {
  int crossings = 0;
  for (std::size_t i = 1; i < s.size(); ++i) crossings += (s[i - 1] < 0) != (s[i] < 0);
  return crossings / 2.0 / (static_cast<double>(s.size()) / rate);
}

TEST(Wav, RoundTripPcm16) {
  const PcmAudio a = sine(8000, 440, 100);
  const std::string bytes = write_wav(a);
  EXPECT_EQ(bytes.size(), 44u + a.samples.size() * 2);
  WavInfo info;
  auto back = parse_wav(bytes, &info);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->sample_rate, 8000);
  EXPECT_EQ(back->channels, 1);
  EXPECT_EQ(back->samples, a.samples);
  EXPECT_EQ(back->duration_ms(), 100);
  EXPECT_EQ(info.encoding, WavEncoding::pcm16);
}

TEST(Wav, NotRiffIsUnsupportedMediaType) {
  EXPECT_EQ(parse_wav(std::string_view("ID3\x03 this is an mp3")).error(), Errc::unsupported_media_type);
  EXPECT_EQ(parse_wav(std::string_view("")).error(), Errc::unsupported_media_type);
}

TEST(Wav, UndecodableIsUnprocessable) {
  std::string bytes = write_wav(sine(16000, 300, 20));
  bytes[34] = 24;  // bits per sample
  EXPECT_EQ(parse_wav(bytes).error(), Errc::unprocessable);
  std::string no_data = write_wav(sine(16000, 300, 20)).substr(0, 36);
  EXPECT_EQ(parse_wav(no_data).error(), Errc::unprocessable);
}

TEST(Wav, TruncatedDataIsAcceptedWithWhatIsThere) {
  std::string bytes = write_wav(sine(8000, 440, 100));
  bytes.resize(bytes.size() - 301);  // odd cut in the middle of a sample
  auto back = parse_wav(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->samples.size(), (bytes.size() - 44) / 2);
}

TEST(Wav, EveryPrefixParsesOrFailsCleanly) {
  const std::string bytes = write_wav(sine(8000, 440, 10));
  for (std::size_t n = 0; n <= bytes.size(); ++n) {
    auto r = parse_wav(std::string_view(bytes).substr(0, n));
    if (r) {
      EXPECT_LE(r->samples.size() * 2, n);
    }
  }
}

TEST(Wav, StereoTakesTheCallerChannel) {
  const PcmAudio st = sine(16000, 500, 40, 2);
  auto back = parse_wav(write_wav(st));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->channels, 2);
  const PcmAudio mono = first_channel(*back);
  EXPECT_EQ(mono.channels, 1);
  EXPECT_EQ(mono.samples.size(), st.samples.size() / 2);
  EXPECT_EQ(mono.samples[5], st.samples[10]);
}

TEST(Wav, MulawWavDecodes) {
  const PcmAudio a = sine(8000, 440, 50);
  std::vector<std::uint8_t> coded;
  encode_mulaw(a.samples, coded);
  std::string bytes = "RIFF____WAVEfmt ";
  auto put32 = [&bytes](std::uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  };
  auto put16 = [&bytes](std::uint16_t v) {
    bytes.push_back(static_cast<char>(v & 0xff));
    bytes.push_back(static_cast<char>(v >> 8));
  };
  put32(18);
  put16(7);
  put16(1);
  put32(8000);
  put32(8000);
  put16(1);
  put16(8);
  put16(0);  // cbSize
  bytes += "fact";
  put32(4);
  put32(static_cast<std::uint32_t>(coded.size()));
  bytes += "data";
  put32(static_cast<std::uint32_t>(coded.size()));
  bytes.append(coded.begin(), coded.end());
  WavInfo info;
  auto back = parse_wav(bytes, &info);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(info.encoding, WavEncoding::mulaw);
  ASSERT_EQ(back->samples.size(), a.samples.size());
  for (std::size_t i = 0; i < a.samples.size(); ++i) EXPECT_NEAR(back->samples[i], a.samples[i], 350);
}

TEST(G711, KnownCodesAndRoundTrip) {
  EXPECT_EQ(linear_to_mulaw(0), 0xFF);
  EXPECT_EQ(mulaw_to_linear(0xFF), 0);
  EXPECT_EQ(linear_to_alaw(0), 0xD5);
  for (int v = -32768; v <= 32767; v += 7) {
    const auto s = static_cast<std::int16_t>(v);
    // G.711 keeps ~13-14 bits: relative error within a segment step.
    const double tolerance = std::max(16.0, std::abs(v) / 16.0);
    EXPECT_NEAR(mulaw_to_linear(linear_to_mulaw(s)), v, tolerance) << v;
    EXPECT_NEAR(alaw_to_linear(linear_to_alaw(s)), v, tolerance) << v;
  }
  for (int c = 0; c < 256; ++c) {
    const auto code = static_cast<std::uint8_t>(c);
    if (code != 0x7F) {  // 0x7F and 0xFF both decode to 0
      EXPECT_EQ(linear_to_mulaw(mulaw_to_linear(code)), code) << c;
    }
    EXPECT_EQ(linear_to_alaw(alaw_to_linear(code)), code) << c;
  }
}

TEST(Resampler, KeepsPitchAndDurationBothWays) {
  const PcmAudio a = sine(8000, 440, 1000);
  const auto up = resample(a.samples, 8000, 24000);
  EXPECT_NEAR(static_cast<double>(up.size()), 24000, 24);
  EXPECT_NEAR(zero_crossing_hz(up, 24000), 440, 5);
  const auto down = resample(up, 24000, 16000);
  EXPECT_NEAR(static_cast<double>(down.size()), 16000, 16);
  EXPECT_NEAR(zero_crossing_hz(down, 16000), 440, 5);
}

TEST(Resampler, FrameByFrameMatchesTheLengthOfWholeBuffer) {
  const PcmAudio a = sine(16000, 300, 1000);
  Resampler r(16000, 8000);
  std::vector<std::int16_t> out;
  for (std::size_t i = 0; i < a.samples.size(); i += 320) {
    r.process(std::span<const std::int16_t>(a.samples).subspan(i, 320), out);
  }
  r.flush(out);
  EXPECT_NEAR(static_cast<double>(out.size()), 8000, 8);
  EXPECT_NEAR(zero_crossing_hz(out, 8000), 300, 5);
}

TEST(Resampler, RejectsBadRates) {
  EXPECT_THROW(Resampler(0, 8000), std::invalid_argument);
}

TEST(Levels, SilenceAndSignal) {
  std::vector<std::int16_t> silence(800, 0);
  EXPECT_EQ(measure_levels(silence).peak, 0);
  const PcmAudio a = sine(8000, 440, 100);
  EXPECT_NEAR(measure_levels(a.samples).rms, 10000 / std::sqrt(2.0), 100);
}

}  // namespace
}  // namespace ivr::audio
