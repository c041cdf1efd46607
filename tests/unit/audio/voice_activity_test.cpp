#include "ivr/audio/voice_activity.hpp"

#include <cmath>
#include <numbers>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

namespace ivr::audio {
namespace {

using Event = VoiceActivityDetector::Event;
constexpr int kRate = 16'000;

std::vector<std::int16_t> tone(int ms, double amplitude = 6000, double hz = 300) {
  std::vector<std::int16_t> s(static_cast<std::size_t>(kRate) * static_cast<std::size_t>(ms) / 1000);
  for (std::size_t i = 0; i < s.size(); ++i) {
    s[i] = static_cast<std::int16_t>(amplitude *
                                     std::sin(2 * std::numbers::pi * hz * static_cast<double>(i) / kRate));
  }
  return s;
}

std::vector<std::int16_t> silence(int ms) {
  return std::vector<std::int16_t>(static_cast<std::size_t>(kRate) * static_cast<std::size_t>(ms) / 1000);
}

std::vector<std::int16_t> noise(int ms, int amplitude) {
  std::vector<std::int16_t> s(static_cast<std::size_t>(kRate) * static_cast<std::size_t>(ms) / 1000);
  std::uint32_t x = 12345;
  for (auto& v : s) {
    x = x * 1664525u + 1013904223u;
    v = static_cast<std::int16_t>(static_cast<int>(x >> 16) % (2 * amplitude + 1) - amplitude);
  }
  return s;
}

std::vector<std::int16_t> cat(std::initializer_list<std::vector<std::int16_t>> parts) {
  std::vector<std::int16_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// Feeds in chunks of `chunk` samples (not frame-aligned on purpose); collects events and utterances.
struct Detected {
  std::vector<Event> events;
  std::vector<std::vector<std::int16_t>> utterances;
};
Detected feed(VoiceActivityDetector& vad, const std::vector<std::int16_t>& samples, std::size_t chunk = 137) {
  Detected run;
  std::vector<Event> step;
  for (std::size_t at = 0; at < samples.size(); at += chunk) {
    step.clear();
    vad.feed(std::span<const std::int16_t>(samples).subspan(at, std::min(chunk, samples.size() - at)), step);
    for (const Event e : step) {
      run.events.push_back(e);
      if (e == Event::speech_stopped) run.utterances.push_back(vad.take_utterance());
    }
  }
  return run;
}

TEST(VoiceActivity, SilenceAndLowNoiseNeverStartSpeech) {
  VoiceActivityDetector vad;
  Detected run = feed(vad, cat({silence(2000), noise(5000, 150), silence(500)}));
  EXPECT_TRUE(run.events.empty());
  EXPECT_FALSE(vad.in_speech());
}

TEST(VoiceActivity, ClicksShorterThanStartMsAreIgnored) {
  VoiceActivityDetector vad;
  Detected run = feed(vad, cat({silence(500), tone(60), silence(500), tone(40), silence(1000)}));
  EXPECT_TRUE(run.events.empty());
}

TEST(VoiceActivity, BurstsSeparatedBySilenceAreSeparateUtterances) {
  VoiceActivityDetector vad;
  Detected run = feed(vad, cat({silence(500), tone(700), silence(900), tone(500), silence(900)}));
  const std::vector<Event> expected{Event::speech_started, Event::speech_stopped, Event::speech_started,
                                    Event::speech_stopped};
  EXPECT_EQ(run.events, expected);
  ASSERT_EQ(run.utterances.size(), 2u);
  // prefix (300 ms) + the burst + the tail (200 ms), at 20 ms granularity.
  const auto ms = [](const std::vector<std::int16_t>& u) {
    return static_cast<int>(u.size()) * 1000 / kRate;
  };
  EXPECT_NEAR(ms(run.utterances[0]), 300 + 700 + 200, 40);
  EXPECT_NEAR(ms(run.utterances[1]), 300 + 500 + 200, 40);
}

TEST(VoiceActivity, ShortPausesInsideSpeechDoNotEndIt) {
  VoiceActivityDetector vad;
  Detected run = feed(vad, cat({tone(400), silence(300), tone(400), silence(400), tone(300), silence(700)}));
  const std::vector<Event> expected{Event::speech_started, Event::speech_stopped};
  EXPECT_EQ(run.events, expected);
}

TEST(VoiceActivity, SpeechOverSteadyNoiseIsStillFound) {
  VoiceActivityDetector vad;
  // Line noise around -45 dBFS: the floor follows it, a burst 20 dB above still counts.
  Detected run = feed(vad, cat({noise(3000, 300), tone(600, 6000), noise(1000, 300)}));
  const std::vector<Event> expected{Event::speech_started, Event::speech_stopped};
  EXPECT_EQ(run.events, expected);
  EXPECT_GT(vad.noise_floor_dbfs(), -60.0);
}

TEST(VoiceActivity, LongSpeechIsCutAtMaxUtterance) {
  VoiceActivityConfig config;
  config.max_utterance_ms = 1000;
  VoiceActivityDetector vad(config);
  Detected run = feed(vad, cat({tone(2500), silence(800)}));
  ASSERT_GE(run.events.size(), 2u);
  EXPECT_EQ(run.events[0], Event::speech_started);
  EXPECT_EQ(run.events[1], Event::speech_stopped);
  EXPECT_LE(run.utterances[0].size(), static_cast<std::size_t>(kRate) * 14 / 10);
}

TEST(VoiceActivity, ConfigurableSilence) {
  VoiceActivityConfig config;
  config.silence_ms = 200;
  VoiceActivityDetector vad(config);
  Detected run = feed(vad, cat({tone(400), silence(300), tone(400), silence(300)}));
  EXPECT_EQ(run.events.size(), 4u);
}

TEST(VoiceActivity, RejectsAConfigWithoutFrames) {
  VoiceActivityConfig config;
  config.frame_ms = 0;
  EXPECT_THROW(VoiceActivityDetector{config}, std::invalid_argument);
}

TEST(VoiceActivity, Levels) {
  EXPECT_EQ(VoiceActivityDetector::level_dbfs(silence(20)), -100.0);
  EXPECT_NEAR(VoiceActivityDetector::level_dbfs(tone(20, 32767)), -3.0, 0.2);
}

}  // namespace
}  // namespace ivr::audio
