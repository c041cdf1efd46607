#include "ivr/providers/tts.hpp"

#include <chrono>
#include <cmath>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "../../../src/providers/http_errors.hpp"  // private header under test
#include "fakes/fake_vendor_server.hpp"
#include "ivr/audio/wav.hpp"
#include "ivr/core/logging.hpp"
#include "ivr/net/http_client.hpp"
#include "support/test_env.hpp"

namespace ivr::providers {
namespace {

using namespace std::chrono_literals;
using test::FakeResponse;

constexpr const char* kKey = "sk-test-SECRET-0123456789";

// The one engine of the test process (espeak-ng state is global; EspeakEngine asserts there is one).
EspeakEngine& engine() {
  static EspeakEngine instance;
  return instance;
}

SynthesisRequest request(std::string text, int rate, std::string language = "pt-BR", std::string voice = {}) {
  SynthesisRequest r;
  r.text = std::move(text);
  r.sample_rate = rate;
  r.language = std::move(language);
  r.voice = std::move(voice);
  return r;
}

// `seconds` of a 440 Hz tone at `rate` as raw s16le bytes (what the vendors send for pcm formats).
std::string pcm_tone_bytes(int rate, double seconds) {
  const auto n = static_cast<std::size_t>(rate * seconds);
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    const auto s =
        static_cast<std::int16_t>(8000.0 * std::sin(2.0 * M_PI * 440.0 * static_cast<double>(i) / rate));
    const auto u = static_cast<std::uint16_t>(s);
    out.push_back(static_cast<char>(u & 0xFF));
    out.push_back(static_cast<char>(u >> 8));
  }
  return out;
}

FakeResponse audio_response(std::string bytes, std::string content_type = "audio/pcm") {
  FakeResponse r;
  r.status = 200;
  r.headers = {{"Content-Type", std::move(content_type)}};
  r.body = std::move(bytes);
  return r;
}

Result<Synthesis> run_synthesis(boost::asio::io_context& io, TextToSpeech& tts, SynthesisRequest req) {
  return test::run(io, tts.synthesize(std::move(req)));
}

// Collects what module_logger("providers") writes while alive.
class LogCapture {
 public:
  LogCapture()
      : logger_(module_logger("providers")), sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)) {
    previous_level_ = logger_->level();
    logger_->set_level(spdlog::level::debug);
    logger_->sinks().push_back(sink_);
  }
  ~LogCapture() {
    logger_->sinks().pop_back();
    logger_->set_level(previous_level_);
  }
  std::string text() {
    logger_->flush();
    return out_.str();
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> logger_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
  spdlog::level::level_enum previous_level_ = spdlog::level::info;
};

// ---- espeak ----

class EspeakTts : public ::testing::TestWithParam<int> {
 protected:
  boost::asio::io_context io;
  std::unique_ptr<TextToSpeech> tts = make_espeak_tts(engine());
};

TEST_P(EspeakTts, SynthesisesPortugueseAtTheRequestedRate) {
  const int rate = GetParam();
  auto result = run_synthesis(io, *tts, request("Olá, bem-vindo à clínica.", rate));
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->provider, "espeak");
  EXPECT_EQ(result->audio.sample_rate, rate);
  EXPECT_EQ(result->audio.channels, 1);
  EXPECT_GE(result->audio.duration_ms(), 500);
  EXPECT_LE(result->audio.duration_ms(), 5000);
  const auto levels = audio::measure_levels(result->audio.samples);
  EXPECT_GT(levels.rms, 300.0) << "silence?";
  EXPECT_GT(levels.peak, 3000);
}

INSTANTIATE_TEST_SUITE_P(Rates, EspeakTts, ::testing::Values(8000, 16000));

TEST(EspeakTtsTest, SameTextLastsAboutAsLongAtEveryRate) {
  boost::asio::io_context io;
  auto tts = make_espeak_tts(engine());
  auto narrow = run_synthesis(io, *tts, request("Bom dia.", 8000));
  auto wide = run_synthesis(io, *tts, request("Bom dia.", 16000));
  ASSERT_TRUE(narrow && wide);
  EXPECT_NEAR(static_cast<double>(narrow->audio.duration_ms()),
              static_cast<double>(wide->audio.duration_ms()), 30.0);
}

TEST(EspeakTtsTest, ConcurrentRequestsFromSeveralCoroutinesAllSucceed) {
  boost::asio::io_context io;
  auto tts = make_espeak_tts(engine());
  // Different voices in flight at once: each synthesis must load its own voice on the engine thread.
  std::vector<SynthesisRequest> requests = {
      request("Olá, bem-vindo à clínica.", 8000, "pt-BR"), request("Welcome to the clinic.", 16000, "en"),
      request("Bienvenido a la clínica.", 8000, "es"),     request("Um momento, por favor.", 16000, "pt"),
      request("Please hold.", 8000, "", "en-us"),          request("Até logo.", 8000, "pt-BR", "pt-br+f3"),
  };
  std::vector<std::optional<Result<Synthesis>>> results(requests.size());
  std::size_t done = 0;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    boost::asio::co_spawn(io, tts->synthesize(requests[i]),
                          [&results, &done, i](std::exception_ptr e, Result<Synthesis> r) {
                            if (!e) results[i].emplace(std::move(r));
                            ++done;
                          });
  }
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (done < requests.size() && std::chrono::steady_clock::now() < deadline) io.run_one_for(50ms);
  ASSERT_EQ(done, requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    ASSERT_TRUE(results[i].has_value()) << i;
    ASSERT_TRUE(*results[i]) << i << ": " << results[i]->error().message();
    const auto& audio = (*results[i])->audio;
    EXPECT_EQ(audio.sample_rate, requests[i].sample_rate) << i;
    EXPECT_GE(audio.duration_ms(), 300) << i;
    EXPECT_GT(audio::measure_levels(audio.samples).rms, 300.0) << i;
  }
}

TEST(EspeakTtsTest, RefusesWhatItCannotSpeak) {
  boost::asio::io_context io;
  auto tts = make_espeak_tts(engine());
  auto expect_unprocessable = [&](SynthesisRequest req, const char* why) {
    auto result = run_synthesis(io, *tts, std::move(req));
    ASSERT_FALSE(result) << why;
    EXPECT_EQ(result.error(), Errc::unprocessable) << why;
  };
  expect_unprocessable(request("", 8000), "empty");
  expect_unprocessable(request(" \t\n \xC2\xA0 ", 8000), "blank");
  expect_unprocessable(request(std::string(kMaxSynthesisChars + 1, 'a'), 8000), "too long");
  expect_unprocessable(request("ol\xE1", 8000), "latin-1, not UTF-8");
  expect_unprocessable(request("Olá.", 1000), "sample rate");
  expect_unprocessable(request("Olá.", 8000, "pt-BR", "no-such-voice"), "unknown voice");
  expect_unprocessable(request("Olá.", 8000, "pt-BR", "pt-br+nosuchvariant"), "unknown variant");
  expect_unprocessable(request("Hello.", 8000, "xx-YY"), "unknown language");
}

TEST(EspeakTtsTest, AcceptsTextAtTheLengthCapAndMarkupAsPlainText) {
  boost::asio::io_context io;
  auto tts = make_espeak_tts(engine());
  // Multi-byte characters count once: 5,000 "é" is at the cap, not over it.
  std::string accents;
  for (std::size_t i = 0; i < 200; ++i) accents += "é ";
  auto ok = run_synthesis(io, *tts, request(accents, 8000));
  EXPECT_TRUE(ok) << ok.error().message();
  auto markup = run_synthesis(io, *tts, request("<speak>Olá</speak> & <break time='9s'/>", 8000));
  ASSERT_TRUE(markup) << markup.error().message();
  EXPECT_LT(markup->audio.duration_ms(), 8000);  // the break tag was not obeyed
}

// ---- remote adapters ----

class RemoteTts : public ::testing::Test {
 protected:
  RemoteProviderSettings settings(std::chrono::milliseconds timeout = 5s) {
    RemoteProviderSettings s;
    s.base_url = server.base_url();
    s.api_key = kKey;
    s.timeout = timeout;
    return s;
  }

  boost::asio::io_context io;
  net::HttpClient http{io};
  test::FakeVendorServer server;
};

TEST_F(RemoteTts, OpenAiSendsTheDocumentedRequestAndResamples24kPcm) {
  server.respond("POST", "/v1/audio/speech", audio_response(pcm_tone_bytes(24000, 1.0)));
  auto tts = make_openai_tts(http, settings());
  EXPECT_EQ(tts->name(), "openai");
  auto result = run_synthesis(io, *tts, request("Olá, bem-vindo à clínica.", 8000));
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->provider, "openai");
  EXPECT_EQ(result->audio.sample_rate, 8000);
  EXPECT_EQ(result->audio.channels, 1);
  EXPECT_NEAR(static_cast<double>(result->audio.samples.size()), 8000.0, 80.0);
  EXPECT_GT(audio::measure_levels(result->audio.samples).rms, 4000.0);

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto& sent = requests[0];
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.target, "/v1/audio/speech");
  EXPECT_EQ(sent.header("authorization"), std::string("Bearer ") + kKey);
  EXPECT_EQ(sent.header("content-type"), "application/json");
  const auto body = nlohmann::json::parse(sent.body);
  EXPECT_EQ(body, nlohmann::json({{"model", "gpt-4o-mini-tts"},
                                  {"input", "Olá, bem-vindo à clínica."},
                                  {"voice", "alloy"},
                                  {"response_format", "pcm"}}));
}

TEST_F(RemoteTts, OpenAiHonoursModelVoiceExtraAndAV1BaseUrl) {
  server.respond("POST", "/v1/audio/speech", audio_response(pcm_tone_bytes(24000, 0.5)));
  auto s = settings();
  s.base_url = server.base_url() + "/v1/";
  s.model = "tts-1";
  s.api_key.clear();  // local OpenAI-compatible servers: no Authorization header at all
  s.extra = R"({"speed": 1.25, "instructions": "Fale devagar.", "bogus": 1})";
  auto tts = make_openai_tts(http, s);
  auto result = run_synthesis(io, *tts, request("Bom dia.", 16000, "pt-BR", "nova"));
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->audio.sample_rate, 16000);
  EXPECT_NEAR(static_cast<double>(result->audio.samples.size()), 8000.0, 80.0);
  const auto sent = server.requests().at(0);
  EXPECT_EQ(sent.target, "/v1/audio/speech");
  EXPECT_EQ(sent.header("authorization"), "");
  EXPECT_EQ(nlohmann::json::parse(sent.body), nlohmann::json({{"model", "tts-1"},
                                                              {"input", "Bom dia."},
                                                              {"voice", "nova"},
                                                              {"response_format", "pcm"},
                                                              {"speed", 1.25},
                                                              {"instructions", "Fale devagar."}}));
}

TEST_F(RemoteTts, OpenAiAcceptsAWavAnswer) {
  audio::PcmAudio wav;
  wav.sample_rate = 16000;
  wav.channels = 1;
  const std::string raw = pcm_tone_bytes(16000, 1.0);
  for (std::size_t i = 0; i + 1 < raw.size(); i += 2) {
    wav.samples.push_back(static_cast<std::int16_t>(static_cast<std::uint16_t>(
        static_cast<unsigned char>(raw[i]) | (static_cast<unsigned char>(raw[i + 1]) << 8))));
  }
  server.respond("POST", "/v1/audio/speech", audio_response(audio::write_wav(wav), "audio/wav"));
  auto tts = make_openai_tts(http, settings());
  auto result = run_synthesis(io, *tts, request("Olá.", 8000));
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_NEAR(static_cast<double>(result->audio.samples.size()), 8000.0, 80.0);
}

TEST_F(RemoteTts, OpenAiRefusesTextOverItsOwnLimitWithoutCallingIt) {
  auto tts = make_openai_tts(http, settings());
  auto result = run_synthesis(io, *tts, request(std::string(4097, 'a'), 8000));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), Errc::unprocessable);
  auto blank = run_synthesis(io, *tts, request("   ", 8000));
  ASSERT_FALSE(blank);
  EXPECT_EQ(blank.error(), Errc::unprocessable);
  EXPECT_EQ(server.request_count(), 0u);
}

TEST_F(RemoteTts, ElevenLabsSendsTheDocumentedRequestAndKeeps16kAsIs) {
  const std::string bytes = pcm_tone_bytes(16000, 1.0);
  server.respond("POST", "/v1/text-to-speech/21m00Tcm4TlvDq8ikWAM", audio_response(bytes, "audio/pcm"));
  auto tts = make_elevenlabs_tts(http, settings());
  EXPECT_EQ(tts->name(), "elevenlabs");
  auto result = run_synthesis(io, *tts, request("Olá, bem-vindo à clínica.", 16000));
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->provider, "elevenlabs");
  EXPECT_EQ(result->audio.sample_rate, 16000);
  ASSERT_EQ(result->audio.samples.size(), 16000u);  // no resampling: exactly what was sent
  EXPECT_EQ(result->audio.samples[1], static_cast<std::int16_t>(static_cast<unsigned char>(bytes[2]) |
                                                                (static_cast<unsigned char>(bytes[3]) << 8)));

  const auto sent = server.requests().at(0);
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.path, "/v1/text-to-speech/21m00Tcm4TlvDq8ikWAM");
  EXPECT_EQ(sent.target, "/v1/text-to-speech/21m00Tcm4TlvDq8ikWAM?output_format=pcm_16000");
  EXPECT_EQ(sent.header("xi-api-key"), kKey);
  EXPECT_EQ(sent.header("authorization"), "");
  EXPECT_EQ(sent.header("content-type"), "application/json");
  EXPECT_EQ(nlohmann::json::parse(sent.body),
            nlohmann::json({{"text", "Olá, bem-vindo à clínica."}, {"model_id", "eleven_multilingual_v2"}}));
}

TEST_F(RemoteTts, ElevenLabsAsksFor16kAndResamplesTo8k) {
  server.respond("POST", "/v1/text-to-speech/voiceABC_1", audio_response(pcm_tone_bytes(16000, 1.0)));
  auto s = settings();
  s.model = "eleven_flash_v2_5";
  s.extra = R"({"voice_settings": {"stability": 0.5, "similarity_boost": 0.75}})";
  auto tts = make_elevenlabs_tts(http, s);
  auto result = run_synthesis(io, *tts, request("Olá.", 8000, "pt-BR", "voiceABC_1"));
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->audio.sample_rate, 8000);
  EXPECT_NEAR(static_cast<double>(result->audio.samples.size()), 8000.0, 80.0);
  EXPECT_GT(audio::measure_levels(result->audio.samples).rms, 4000.0);
  const auto sent = server.requests().at(0);
  EXPECT_EQ(sent.target, "/v1/text-to-speech/voiceABC_1?output_format=pcm_16000");
  EXPECT_EQ(nlohmann::json::parse(sent.body),
            nlohmann::json::parse(R"({"text": "Olá.", "model_id": "eleven_flash_v2_5",
                                      "voice_settings": {"stability": 0.5, "similarity_boost": 0.75}})"));
}

TEST_F(RemoteTts, ElevenLabsAsksForTheTargetRateWhenOffered) {
  server.respond("POST", "/v1/text-to-speech/21m00Tcm4TlvDq8ikWAM",
                 audio_response(pcm_tone_bytes(24000, 0.5)));
  auto tts = make_elevenlabs_tts(http, settings());
  auto result = run_synthesis(io, *tts, request("Olá.", 24000));
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->audio.samples.size(), 12000u);
  EXPECT_EQ(server.requests().at(0).target,
            "/v1/text-to-speech/21m00Tcm4TlvDq8ikWAM?output_format=pcm_24000");
}

TEST_F(RemoteTts, ElevenLabsRefusesAVoiceIdThatWouldChangeThePath) {
  auto tts = make_elevenlabs_tts(http, settings());
  for (const char* voice : {"../../v1/user", "a b", "x?y=1", "é"}) {
    auto result = run_synthesis(io, *tts, request("Olá.", 8000, "pt-BR", voice));
    ASSERT_FALSE(result) << voice;
    EXPECT_EQ(result.error(), Errc::unprocessable) << voice;
  }
  EXPECT_EQ(server.request_count(), 0u);
}

// ---- error mapping, both adapters ----

enum class Vendor { openai, elevenlabs };

class RemoteTtsErrors : public RemoteTts, public ::testing::WithParamInterface<Vendor> {
 protected:
  std::string path() const {
    return GetParam() == Vendor::openai ? "/v1/audio/speech" : "/v1/text-to-speech/21m00Tcm4TlvDq8ikWAM";
  }
  std::unique_ptr<TextToSpeech> make(std::chrono::milliseconds timeout = 5s) {
    return GetParam() == Vendor::openai ? make_openai_tts(http, settings(timeout))
                                        : make_elevenlabs_tts(http, settings(timeout));
  }
  boost::system::error_code failure_for(FakeResponse response, std::chrono::milliseconds timeout = 5s) {
    server.respond("POST", path(), std::move(response));
    auto tts = make(timeout);
    auto result = run_synthesis(io, *tts, request("Olá.", 8000));
    EXPECT_FALSE(result);
    return result ? boost::system::error_code{} : result.error();
  }
};

TEST_P(RemoteTtsErrors, TooManyRequestsIsRateLimited) {
  EXPECT_EQ(failure_for(FakeResponse::json(429, R"({"error":{"message":"slow down"}})")), Errc::rate_limited);
}

TEST_P(RemoteTtsErrors, ServerErrorIsUpstreamError) {
  EXPECT_EQ(failure_for(FakeResponse::json(500, R"({"error":"boom"})")), Errc::upstream_error);
  EXPECT_EQ(failure_for(FakeResponse::json(503, "")), Errc::upstream_error);
}

TEST_P(RemoteTtsErrors, ClientErrorIsUpstreamError) {
  EXPECT_EQ(failure_for(FakeResponse::json(401, R"({"detail":"bad key"})")), Errc::upstream_error);
  EXPECT_EQ(failure_for(FakeResponse::json(400, R"({"detail":"bad voice"})")), Errc::upstream_error);
}

TEST_P(RemoteTtsErrors, UnusableSuccessIsUpstreamError) {
  EXPECT_EQ(failure_for(audio_response("")), Errc::upstream_error);
  EXPECT_EQ(failure_for(FakeResponse::json(200, R"({"audio":"?"})")), Errc::upstream_error);
  EXPECT_EQ(failure_for(audio_response(std::string("RIFF\x10\0\0\0WAVEjunk", 16), "audio/wav")),
            Errc::upstream_error);
}

TEST_P(RemoteTtsErrors, SlowVendorIsTimeout) {
  FakeResponse slow = audio_response(pcm_tone_bytes(24000, 0.1));
  slow.delay = 2s;
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(failure_for(slow, 300ms), Errc::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1800ms);
}

TEST_P(RemoteTtsErrors, DroppedConnectionIsUnavailable) {
  FakeResponse dropped;
  dropped.drop_connection = true;
  EXPECT_EQ(failure_for(dropped), Errc::unavailable);
}

TEST_P(RemoteTtsErrors, VendorErrorBodyIsLoggedTruncatedAndWithoutTheKey) {
  LogCapture capture;
  const std::string body =
      R"({"error":"invalid key )" + std::string(kKey) + "\"," + std::string(2000, 'x') + "}";
  EXPECT_EQ(failure_for(FakeResponse::json(401, body)), Errc::upstream_error);
  const std::string logged = capture.text();
  EXPECT_NE(logged.find("HTTP 401"), std::string::npos) << logged;
  EXPECT_NE(logged.find("[redacted]"), std::string::npos) << logged;
  EXPECT_EQ(logged.find(kKey), std::string::npos) << logged;
  EXPECT_EQ(logged.find(std::string(400, 'x')), std::string::npos) << "not truncated";
}

INSTANTIATE_TEST_SUITE_P(Vendors, RemoteTtsErrors, ::testing::Values(Vendor::openai, Vendor::elevenlabs),
                         [](const auto& info) {
                           return info.param == Vendor::openai ? "openai" : "elevenlabs";
                         });

// ---- the shared error helpers ----

TEST(HttpErrors, StatusMapping) {
  EXPECT_EQ(http_errors::error_for_status(429), Errc::rate_limited);
  for (int status : {300, 400, 401, 403, 404, 422, 500, 502, 503}) {
    EXPECT_EQ(http_errors::error_for_status(status), Errc::upstream_error) << status;
  }
}

TEST(HttpErrors, LoggableBodyIsShortValidUtf8AndRedacted) {
  EXPECT_EQ(http_errors::loggable_body("plain", "secret-key"), "plain");
  EXPECT_EQ(http_errors::loggable_body("a\nb\tc", ""), "a b c");
  EXPECT_EQ(http_errors::loggable_body("key=secret-key!", "secret-key"), "key=[redacted]!");
  // A key straddling the cut is still redacted, never half-shown.
  const std::string straddling = std::string(295, 'a') + "secret-key";
  const std::string out = http_errors::loggable_body(straddling, "secret-key");
  EXPECT_EQ(out.find("secret"), std::string::npos) << out;
  // Cut at 300 bytes, never inside "é" (2 bytes).
  std::string accents;
  for (int i = 0; i < 400; ++i) accents += "é";
  const std::string cut = http_errors::loggable_body(accents, "");
  EXPECT_LE(cut.size(), 300u + std::string("…").size());
  EXPECT_TRUE(cut.ends_with("é…")) << cut.substr(cut.size() - 8);
  EXPECT_EQ(http_errors::loggable_body("bad \xFF\xFE bytes", ""), "bad ?? bytes");
}

}  // namespace
}  // namespace ivr::providers
