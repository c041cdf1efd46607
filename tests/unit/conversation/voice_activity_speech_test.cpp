// The pipeline agent's voice-activity detector on real speech rather than tones: sentences synthesised
// with espeak-ng (the offline voice, in memory) at the call rates, framed by silence or by line noise, at
// a normal and at a quiet level. Utterances must start close to the speech onset, hold the whole sentence,
// survive the pauses between words and end within the configured silence.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include "ivr/audio/voice_activity.hpp"
#include "ivr/providers/tts.hpp"
#include "support/test_env.hpp"
#include "unit/conversation/espeak_engine.hpp"

namespace ivr::audio {
namespace {

using Event = VoiceActivityDetector::Event;

std::vector<std::int16_t> speak(const std::string& text, const std::string& language, int rate) {
  boost::asio::io_context io;
  auto tts = providers::make_espeak_tts(test::espeak_engine());
  providers::SynthesisRequest request;
  request.text = text;
  request.language = language;
  request.sample_rate = rate;
  Result<providers::Synthesis> spoken = test::run(io, tts->synthesize(std::move(request)));
  if (!spoken) ADD_FAILURE() << "espeak: " << spoken.error().message();
  return spoken ? spoken->audio.samples : std::vector<std::int16_t>{};
}

// Where the speech really is: the first and last sample louder than 1% of full scale.
struct Span {
  std::size_t first = 0, last = 0;
};
Span voiced_span(const std::vector<std::int16_t>& s) {
  Span out;
  const auto loud = [](std::int16_t v) { return std::abs(static_cast<int>(v)) > 327; };
  const auto first = std::find_if(s.begin(), s.end(), loud);
  const auto last = std::find_if(s.rbegin(), s.rend(), loud);
  out.first = static_cast<std::size_t>(first - s.begin());
  out.last = s.size() - static_cast<std::size_t>(last - s.rbegin());
  return out;
}

std::vector<std::int16_t> line_noise(std::size_t n, int amplitude, std::uint32_t seed) {
  std::vector<std::int16_t> out(n);
  for (auto& v : out) {
    seed = seed * 1664525u + 1013904223u;
    v = static_cast<std::int16_t>(static_cast<int>(seed >> 16) % (2 * amplitude + 1) - amplitude);
  }
  return out;
}

struct Utterance {
  std::size_t started_at = 0;  // sample index of the frame that raised speech_started
  std::size_t stopped_at = 0;
  std::size_t samples = 0;
};

// Feeds 20 ms frames as the bridge does; records where each utterance started and stopped.
std::vector<Utterance> detect(const std::vector<std::int16_t>& audio, int rate) {
  VoiceActivityConfig config;
  config.sample_rate = rate;
  VoiceActivityDetector vad(config);
  const std::size_t frame = static_cast<std::size_t>(rate) / 50;
  std::vector<Utterance> found;
  std::vector<Event> events;
  for (std::size_t at = 0; at + frame <= audio.size(); at += frame) {
    events.clear();
    vad.feed(std::span<const std::int16_t>(audio).subspan(at, frame), events);
    for (const Event e : events) {
      if (e == Event::speech_started) {
        found.push_back({at + frame, 0, 0});
      } else if (!found.empty()) {
        found.back().stopped_at = at + frame;
        found.back().samples = vad.take_utterance().size();
      }
    }
  }
  return found;
}

std::vector<std::int16_t> scaled(std::vector<std::int16_t> s, double gain) {
  for (auto& v : s) v = static_cast<std::int16_t>(std::lround(v * gain));
  return s;
}

// Silence (or noise) + sentence + silence (or noise), with the noise added under the speech too.
std::vector<std::int16_t> framed(const std::vector<std::int16_t>& speech, int rate, int noise_amplitude,
                                 int lead_ms = 1000, int trail_ms = 1500) {
  const std::size_t lead = static_cast<std::size_t>(rate) * static_cast<std::size_t>(lead_ms) / 1000;
  const std::size_t trail = static_cast<std::size_t>(rate) * static_cast<std::size_t>(trail_ms) / 1000;
  std::vector<std::int16_t> out(lead + speech.size() + trail, 0);
  std::copy(speech.begin(), speech.end(), out.begin() + static_cast<std::ptrdiff_t>(lead));
  if (noise_amplitude > 0) {
    const auto noise = line_noise(out.size(), noise_amplitude, 7);
    for (std::size_t i = 0; i < out.size(); ++i)
      out[i] = static_cast<std::int16_t>(std::clamp(out[i] + noise[i], -32768, 32767));
  }
  return out;
}

struct Case {
  const char* name;
  int rate;
  double gain;          // 1: espeak's level; 0.3: a quiet caller (about -10 dB)
  int noise_amplitude;  // 0: digital silence; 60: hiss around -55 dBFS
};

class VoiceActivityOnSpeech : public ::testing::TestWithParam<Case> {};

TEST_P(VoiceActivityOnSpeech, OneSentenceIsOneUtteranceThatHoldsAllOfIt) {
  const Case c = GetParam();
  const auto sentence = scaled(
      speak("Bom dia, eu gostaria de falar com o setor de vendas, por favor.", "pt-BR", c.rate), c.gain);
  ASSERT_GT(sentence.size(), static_cast<std::size_t>(c.rate)) << "espeak said less than a second";
  const std::size_t lead = static_cast<std::size_t>(c.rate);  // framed(): 1 s before the sentence
  const auto audio = framed(sentence, c.rate, c.noise_amplitude);
  const Span voiced = voiced_span(sentence);
  const std::size_t onset = lead + voiced.first, end = lead + voiced.last;
  const std::size_t ms = static_cast<std::size_t>(c.rate) / 1000;

  const auto found = detect(audio, c.rate);
  ASSERT_EQ(found.size(), 1u) << "the pauses between words split the sentence, or nothing was heard";
  const Utterance& u = found[0];
  // Speech is declared after start_ms (100) of voiced frames: not before the onset, not much after it.
  EXPECT_GE(u.started_at, onset) << "speech before the speech";
  EXPECT_LE(u.started_at, onset + 300 * ms) << "late start: " << (u.started_at - onset) / ms << " ms";
  // It ends after silence_ms (600) of quiet, well before the audio runs out.
  ASSERT_GT(u.stopped_at, end);
  EXPECT_LE(u.stopped_at, end + 900 * ms) << "late end: " << (u.stopped_at - end) / ms << " ms";
  // The utterance handed to STT holds the whole sentence (prefix_ms before the start keeps its onset).
  EXPECT_GE(u.samples, voiced.last - voiced.first) << "the utterance is shorter than the sentence";
}

INSTANTIATE_TEST_SUITE_P(
    Calls, VoiceActivityOnSpeech,
    ::testing::Values(Case{"wideband", 16'000, 1.0, 0}, Case{"narrowband", 8'000, 1.0, 0},
                      Case{"wideband_hiss", 16'000, 1.0, 60}, Case{"narrowband_quiet_hiss", 8'000, 0.3, 60}),
    [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

TEST(VoiceActivityOnSpeechTurns, TwoSentencesAfterAPauseAreTwoUtterances) {
  constexpr int kRate = 16'000;
  const auto first = speak("Qual é o horário de atendimento?", "pt-BR", kRate);
  const auto second = speak("And do you open on Saturdays?", "en", kRate);
  std::vector<std::int16_t> audio = framed(first, kRate, 40, 500, 1200);  // 1.2 s pause: a new turn
  const auto tail = framed(second, kRate, 40, 0, 1500);
  audio.insert(audio.end(), tail.begin(), tail.end());
  const auto found = detect(audio, kRate);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_GE(found[1].started_at, static_cast<std::size_t>(kRate) / 2 + first.size());
}

TEST(VoiceActivityOnSpeechTurns, HissAloneIsNeverSpeech) {
  constexpr int kRate = 8'000;
  EXPECT_TRUE(detect(line_noise(kRate * 5, 60, 3), kRate).empty());
}

}  // namespace
}  // namespace ivr::audio
