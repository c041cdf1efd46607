#include "ivr/providers/stt.hpp"

#include "fakes/fake_vendor_server.hpp"
#include "ivr/audio/wav.hpp"
#include "ivr/core/logging.hpp"
#include "ivr/net/http_client.hpp"
#include "support/test_env.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <boost/asio/io_context.hpp>

#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace ivr::providers {
namespace {

using namespace std::chrono_literals;
using test::FakeResponse;
using test::RecordedRequest;

constexpr const char* kKey = "sk-test-SECRET-0123456789";

// A 440 Hz tone with a little deterministic noise, so resampling has real content to work on.
audio::PcmAudio tone(int rate, int ms, int channels = 1) {
  audio::PcmAudio a;
  a.sample_rate = rate;
  a.channels = channels;
  const std::size_t frames = static_cast<std::size_t>(rate) * static_cast<std::size_t>(ms) / 1000;
  unsigned noise = 12345;
  for (std::size_t i = 0; i < frames; ++i) {
    noise = noise * 1103515245u + 12345u;
    const double s = 8000.0 * std::sin(2.0 * M_PI * 440.0 * static_cast<double>(i) / rate) +
                     static_cast<double>(static_cast<int>((noise >> 16) % 512) - 256);
    for (int c = 0; c < channels; ++c) a.samples.push_back(static_cast<std::int16_t>(c == 0 ? s : 0));
  }
  return a;
}

struct FormPart {
  std::string filename;  // empty for text fields
  std::string content_type;
  std::string data;
  bool is_file = false;
};

std::string quoted_param(const std::string& head, const std::string& param) {
  const std::string key = "; " + param + "=\"";
  const auto at = head.find(key);
  if (at == std::string::npos) return {};
  const auto start = at + key.size();
  return head.substr(start, head.find('"', start) - start);
}

// Decodes a multipart/form-data body strictly (framing errors fail the test) into name → part.
std::map<std::string, FormPart> parse_form(const RecordedRequest& req) {
  std::map<std::string, FormPart> out;
  const std::string ct = req.header("content-type");
  const std::string prefix = "multipart/form-data; boundary=";
  EXPECT_EQ(ct.rfind(prefix, 0), 0u) << ct;
  if (ct.rfind(prefix, 0) != 0) return out;
  const std::string boundary = ct.substr(prefix.size());
  const std::string& body = req.body;
  const std::string delimiter = "\r\n--" + boundary;
  EXPECT_EQ(body.rfind("--" + boundary + "\r\n", 0), 0u);
  std::size_t pos = boundary.size() + 4;
  for (;;) {
    const auto end = body.find(delimiter, pos);
    if (end == std::string::npos) {
      ADD_FAILURE() << "unterminated part";
      return out;
    }
    const std::string part = body.substr(pos, end - pos);
    const auto blank = part.find("\r\n\r\n");
    if (blank == std::string::npos) {
      ADD_FAILURE() << "part without headers";
      return out;
    }
    const std::string head = part.substr(0, blank + 2);
    FormPart p;
    p.data = part.substr(blank + 4);
    p.is_file = head.find("; filename=\"") != std::string::npos;
    p.filename = quoted_param(head, "filename");
    if (const auto at = head.find("Content-Type: "); at != std::string::npos) {
      p.content_type = head.substr(at + 14, head.find("\r\n", at) - at - 14);
    }
    EXPECT_EQ(head.rfind("Content-Disposition: form-data; name=\"", 0), 0u) << head;
    out[quoted_param(head, "name")] = std::move(p);
    pos = end + delimiter.size();
    if (body.compare(pos, 4, "--\r\n") == 0) {
      EXPECT_EQ(pos + 4, body.size());
      return out;
    }
    EXPECT_EQ(body.compare(pos, 2, "\r\n"), 0);
    pos += 2;
  }
}

class SttFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ::setenv("no_proxy", "127.0.0.1,localhost", 1);
    ::setenv("NO_PROXY", "127.0.0.1,localhost", 1);
  }

  RemoteProviderSettings settings() const {
    RemoteProviderSettings s;
    s.base_url = server_.base_url();
    s.api_key = kKey;
    s.timeout = 5s;
    return s;
  }

  Result<Transcript> transcribe(SpeechToText& stt, audio::PcmAudio audio, std::string language) {
    TranscribeRequest r;
    r.audio = std::move(audio);
    r.language = std::move(language);
    return test::run(io_, stt.transcribe(std::move(r)));
  }

  RecordedRequest only_request() const {
    auto all = server_.requests();
    EXPECT_EQ(all.size(), 1u);
    return all.empty() ? RecordedRequest{} : all.front();
  }

  boost::asio::io_context io_;
  net::HttpClient http_{io_};
  test::FakeVendorServer server_;
};

// ---- OpenAI-compatible ----

class OpenAiSttTest : public SttFixture {};

TEST_F(OpenAiSttTest, SendsMultipartWith16kWavAndReturnsText) {
  server_.respond("POST", "/v1/audio/transcriptions",
                  FakeResponse::json(200, R"({"text":"  Olá, mundo! \n"})"));
  auto stt = make_openai_stt(http_, settings());
  EXPECT_EQ(stt->name(), "openai");

  auto result = transcribe(*stt, tone(8000, 1000), "pt-BR");
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->text, "Olá, mundo!");
  EXPECT_EQ(result->language, "pt-BR");
  EXPECT_EQ(result->provider, "openai");

  const auto req = only_request();
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/v1/audio/transcriptions");
  EXPECT_EQ(req.header("authorization"), std::string("Bearer ") + kKey);
  EXPECT_EQ(req.header("expect"), "");
  auto form = parse_form(req);
  ASSERT_TRUE(form.count("file"));
  EXPECT_TRUE(form["file"].is_file);
  EXPECT_EQ(form["file"].filename, "audio.wav");
  EXPECT_EQ(form["file"].content_type, "audio/wav");
  audio::WavInfo info;
  auto wav = audio::parse_wav(form["file"].data, &info);
  ASSERT_TRUE(wav);
  EXPECT_EQ(info.encoding, audio::WavEncoding::pcm16);
  EXPECT_EQ(wav->sample_rate, 16000);
  EXPECT_EQ(wav->channels, 1);
  EXPECT_NEAR(static_cast<double>(wav->frames()), 16000.0, 100.0);  // 1 s survives the resample
  EXPECT_GT(audio::measure_levels(wav->samples).peak, 4000);
  EXPECT_EQ(form["model"].data, "whisper-1");
  EXPECT_FALSE(form["model"].is_file);
  EXPECT_EQ(form["language"].data, "pt");
  EXPECT_EQ(form["response_format"].data, "json");
  EXPECT_EQ(form.size(), 4u);
}

TEST_F(OpenAiSttTest, BaseUrlWithV1ModelAndStereoInput) {
  server_.respond("POST", "/openai/v1/audio/transcriptions",
                  FakeResponse::json(200, R"({"text":"hello","language":"english"})"));
  auto s = settings();
  s.base_url += "/openai/v1/";  // how Groq documents its base URL
  s.model = "whisper-large-v3";
  auto stt = make_openai_stt(http_, s);

  auto result = transcribe(*stt, tone(16000, 300, 2), "");
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->text, "hello");
  EXPECT_EQ(result->language, "en");  // Whisper's language name mapped to ISO 639-1

  auto form = parse_form(only_request());
  EXPECT_EQ(form["model"].data, "whisper-large-v3");
  EXPECT_FALSE(form.count("language"));  // no hint → the server detects
  auto wav = audio::parse_wav(form["file"].data);
  ASSERT_TRUE(wav);
  EXPECT_EQ(wav->channels, 1);
  EXPECT_EQ(wav->sample_rate, 16000);
  EXPECT_EQ(wav->frames(), 4800u);  // same rate: no resample, channel 0 only
}

TEST_F(OpenAiSttTest, ReportedLanguageOfTheHintKeepsTheRegion) {
  server_.respond("POST", "/v1/audio/transcriptions",
                  FakeResponse::json(200, R"({"text":"oi","language":"pt"})"));
  auto stt = make_openai_stt(http_, settings());
  auto result = transcribe(*stt, tone(8000, 200), "pt-BR");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->language, "pt-BR");
}

TEST_F(OpenAiSttTest, BlankTranscriptIsEmptyTextNotAnError) {
  server_.respond("POST", "/v1/audio/transcriptions", FakeResponse::json(200, R"({"text":" \n\t "})"));
  auto stt = make_openai_stt(http_, settings());
  auto result = transcribe(*stt, tone(8000, 200), "en");
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->text, "");
  EXPECT_EQ(result->language, "en");
}

TEST_F(OpenAiSttTest, NoApiKeySendsNoAuthorization) {
  server_.respond("POST", "/v1/audio/transcriptions", FakeResponse::json(200, R"({"text":"x"})"));
  auto s = settings();
  s.api_key.clear();  // a local Whisper server
  auto stt = make_openai_stt(http_, s);
  ASSERT_TRUE(transcribe(*stt, tone(8000, 200), ""));
  EXPECT_FALSE(only_request().headers.count("authorization"));
}

TEST_F(OpenAiSttTest, EmptyAudioNeedsNoRequest) {
  auto stt = make_openai_stt(http_, settings());
  audio::PcmAudio empty;
  empty.sample_rate = 8000;
  empty.channels = 1;
  auto result = transcribe(*stt, empty, "pt-BR");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->text, "");
  EXPECT_EQ(server_.request_count(), 0u);
}

TEST_F(OpenAiSttTest, AbsurdSampleRateIsUnprocessable) {
  auto stt = make_openai_stt(http_, settings());
  auto audio = tone(8000, 100);
  audio.sample_rate = 0;
  auto result = transcribe(*stt, audio, "en");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), Errc::unprocessable);
  EXPECT_EQ(server_.request_count(), 0u);
}

TEST_F(OpenAiSttTest, MissingTextIsUpstreamError) {
  server_.respond("POST", "/v1/audio/transcriptions", FakeResponse::json(200, R"({"transcript":"x"})"));
  auto stt = make_openai_stt(http_, settings());
  auto result = transcribe(*stt, tone(8000, 100), "en");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), Errc::upstream_error);
}

// ---- Deepgram ----

class DeepgramSttTest : public SttFixture {};

TEST_F(DeepgramSttTest, SendsRawWavWithQueryAndTokenAndReturnsTranscript) {
  server_.respond("POST", "/v1/listen", FakeResponse::json(200, R"({
    "metadata": {"request_id": "x"},
    "results": {"channels": [{"alternatives": [
      {"transcript": "bom dia ", "confidence": 0.98},
      {"transcript": "bom tia", "confidence": 0.4}]}]}})"));
  auto stt = make_deepgram_stt(http_, settings());
  EXPECT_EQ(stt->name(), "deepgram");

  auto result = transcribe(*stt, tone(8000, 500), "pt-BR");
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->text, "bom dia");
  EXPECT_EQ(result->language, "pt-BR");
  EXPECT_EQ(result->provider, "deepgram");

  const auto req = only_request();
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/v1/listen?model=nova-2&language=pt-BR&smart_format=true");
  EXPECT_EQ(req.header("authorization"), std::string("Token ") + kKey);
  EXPECT_EQ(req.header("content-type"), "audio/wav");
  auto wav = audio::parse_wav(req.body);
  ASSERT_TRUE(wav);
  EXPECT_EQ(wav->channels, 1);
  EXPECT_EQ(wav->sample_rate, 8000);  // Deepgram takes telephony audio as it is
  EXPECT_EQ(wav->frames(), 4000u);
}

TEST_F(DeepgramSttTest, ModelAndLanguageAreUrlEncoded) {
  server_.respond(
      "POST", "/v1/listen",
      FakeResponse::json(200, R"({"results":{"channels":[{"alternatives":[{"transcript":"ok"}]}]}})"));
  auto s = settings();
  s.model = "nova-2 phonecall&x=1";
  auto stt = make_deepgram_stt(http_, s);
  ASSERT_TRUE(transcribe(*stt, tone(8000, 100), "en/US"));
  EXPECT_EQ(only_request().target,
            "/v1/listen?model=nova-2%20phonecall%26x%3D1&language=en%2FUS&smart_format=true");
}

TEST_F(DeepgramSttTest, NoHintAsksForDetectionAndReportsIt) {
  server_.respond("POST", "/v1/listen", FakeResponse::json(200, R"({"results":{"channels":[
      {"detected_language":"es","language_confidence":0.9,"alternatives":[{"transcript":"hola"}]}]}})"));
  auto stt = make_deepgram_stt(http_, settings());
  auto result = transcribe(*stt, tone(16000, 100), "");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->text, "hola");
  EXPECT_EQ(result->language, "es");
  EXPECT_EQ(only_request().target, "/v1/listen?model=nova-2&detect_language=true&smart_format=true");
}

TEST_F(DeepgramSttTest, DetectedLanguageOtherThanTheHintWins) {
  server_.respond("POST", "/v1/listen", FakeResponse::json(200, R"({"results":{"channels":[
      {"detected_language":"en","alternatives":[{"transcript":"hello"}]}]}})"));
  auto stt = make_deepgram_stt(http_, settings());
  auto result = transcribe(*stt, tone(8000, 100), "pt-BR");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->language, "en");
}

TEST_F(DeepgramSttTest, EmptyAlternativesChannelsOrTranscriptAreSilence) {
  const std::vector<std::string> bodies = {
      R"({"results":{"channels":[{"alternatives":[]}]}})",
      R"({"results":{"channels":[]}})",
      R"({"results":{"channels":[{"alternatives":[{"transcript":"","confidence":0}]}]}})",
      R"({"results":{"channels":[{"alternatives":[{"transcript":"   "}]}]}})",
      R"({"results":{"channels":[{}]}})",
  };
  auto stt = make_deepgram_stt(http_, settings());
  for (const auto& body : bodies) {
    server_.respond("POST", "/v1/listen", FakeResponse::json(200, body));
    auto result = transcribe(*stt, tone(8000, 100), "pt-BR");
    ASSERT_TRUE(result) << body;
    EXPECT_EQ(result->text, "") << body;
    EXPECT_EQ(result->language, "pt-BR") << body;
  }
}

TEST_F(DeepgramSttTest, WrongShapesAreUpstreamErrors) {
  const std::vector<std::string> bodies = {
      R"({"metadata":{}})",
      R"({"results":{"channels":{}}})",
      R"({"results":{"channels":[{"alternatives":{}}]}})",
      R"({"results":{"channels":[{"alternatives":[{"transcript":42}]}]}})",
      R"([1,2,3])",
  };
  auto stt = make_deepgram_stt(http_, settings());
  for (const auto& body : bodies) {
    server_.respond("POST", "/v1/listen", FakeResponse::json(200, body));
    auto result = transcribe(*stt, tone(8000, 100), "pt-BR");
    ASSERT_FALSE(result) << body;
    EXPECT_EQ(result.error(), Errc::upstream_error) << body;
  }
}

// ---- ElevenLabs ----

class ElevenLabsSttTest : public SttFixture {};

TEST_F(ElevenLabsSttTest, SendsMultipartWithKeyAndReturnsTextAndLanguage) {
  server_.respond("POST", "/v1/speech-to-text",
                  FakeResponse::json(200, R"({"language_code":"por","language_probability":0.97,
                                              "text":"Quero falar com o suporte.","words":[]})"));
  auto stt = make_elevenlabs_stt(http_, settings());
  EXPECT_EQ(stt->name(), "elevenlabs");

  auto result = transcribe(*stt, tone(8000, 400), "pt-BR");
  ASSERT_TRUE(result) << result.error().message();
  EXPECT_EQ(result->text, "Quero falar com o suporte.");
  EXPECT_EQ(result->language, "pt-BR");  // "por" is the hint's language
  EXPECT_EQ(result->provider, "elevenlabs");

  const auto req = only_request();
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/v1/speech-to-text");
  EXPECT_EQ(req.header("xi-api-key"), kKey);
  EXPECT_FALSE(req.headers.count("authorization"));
  auto form = parse_form(req);
  EXPECT_EQ(form["model_id"].data, "scribe_v1");
  EXPECT_EQ(form["language_code"].data, "pt");
  ASSERT_TRUE(form.count("file"));
  EXPECT_EQ(form["file"].filename, "audio.wav");
  EXPECT_EQ(form["file"].content_type, "audio/wav");
  auto wav = audio::parse_wav(form["file"].data);
  ASSERT_TRUE(wav);
  EXPECT_EQ(wav->sample_rate, 16000);
  EXPECT_EQ(wav->channels, 1);
  EXPECT_NEAR(static_cast<double>(wav->frames()), 6400.0, 100.0);
}

TEST_F(ElevenLabsSttTest, DetectedLanguageWithoutHint) {
  server_.respond("POST", "/v1/speech-to-text",
                  FakeResponse::json(200, R"({"text":"hi","language_code":"eng"})"));
  auto s = settings();
  s.model = "scribe_v1_experimental";
  auto stt = make_elevenlabs_stt(http_, s);
  auto result = transcribe(*stt, tone(8000, 100), "");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->language, "en");
  auto form = parse_form(only_request());
  EXPECT_EQ(form["model_id"].data, "scribe_v1_experimental");
  EXPECT_FALSE(form.count("language_code"));
}

// ---- errors, for every vendor ----

struct Vendor {
  std::string name;
  std::string path;
  std::function<std::unique_ptr<SpeechToText>(net::HttpClient&, RemoteProviderSettings)> make;
};

// Short names in test listings (gtest would otherwise print the parameter's bytes).
void PrintTo(const Vendor& v, std::ostream* os) {
  *os << v.name;
}

std::string vendor_name(const ::testing::TestParamInfo<Vendor>& info) {
  return info.param.name;
}

class SttErrorTest : public SttFixture, public ::testing::WithParamInterface<Vendor> {
 protected:
  Result<Transcript> fail_with(FakeResponse response, std::chrono::milliseconds timeout = 5s) {
    server_.respond("POST", GetParam().path, std::move(response));
    auto s = settings();
    s.timeout = timeout;
    auto stt = GetParam().make(http_, s);
    return transcribe(*stt, tone(8000, 200), "pt-BR");
  }
};

TEST_P(SttErrorTest, TooManyRequestsIsRateLimited) {
  auto r = fail_with(FakeResponse::json(429, R"({"error":"slow down"})"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::rate_limited);
  EXPECT_TRUE(retryable_on_next_provider(r.error()));
}

TEST_P(SttErrorTest, ServiceUnavailableIsUpstreamError) {
  auto r = fail_with(FakeResponse::json(503, R"({"error":"overloaded"})"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::upstream_error);
}

TEST_P(SttErrorTest, UnauthorizedIsUpstreamError) {
  auto r = fail_with(FakeResponse::json(401, R"({"error":{"message":"Incorrect API key"}})"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::upstream_error);
}

TEST_P(SttErrorTest, GarbageJsonIsUpstreamError) {
  for (const char* body : {"<html>502 Bad Gateway</html>", "{\"text\":", "", "null", "\"text\""}) {
    auto r = fail_with(FakeResponse::json(200, body));
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error(), Errc::upstream_error) << body;
  }
}

TEST_P(SttErrorTest, SlowVendorTimesOut) {
  FakeResponse slow = FakeResponse::json(200, R"({"text":"late"})");
  slow.delay = 3s;
  const auto start = std::chrono::steady_clock::now();
  auto r = fail_with(slow, 300ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST_P(SttErrorTest, DroppedConnectionIsUnavailable) {
  FakeResponse drop;
  drop.drop_connection = true;
  auto r = fail_with(drop);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::unavailable);
}

TEST_P(SttErrorTest, VendorErrorBodyIsLoggedTruncatedWithoutTheKey) {
  auto logger = module_logger("providers");
  std::ostringstream captured;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  sink->set_pattern("%v");
  logger->sinks().push_back(sink);
  const std::string body = R"({"error":"Incorrect API key provided: )" + std::string(kKey) + "\"" +
                           std::string(2000, 'x') + "TAIL-MARKER";
  auto r = fail_with(FakeResponse::json(401, body));
  logger->flush();
  logger->sinks().pop_back();
  ASSERT_FALSE(r);
  const std::string log = captured.str();
  EXPECT_NE(log.find("401"), std::string::npos) << log;
  EXPECT_NE(log.find("Incorrect API key provided: [redacted]"), std::string::npos) << log;
  EXPECT_EQ(log.find(kKey), std::string::npos) << log;
  EXPECT_EQ(log.find("TAIL-MARKER"), std::string::npos);
  EXPECT_LT(log.size(), 450u) << log;
}

INSTANTIATE_TEST_SUITE_P(Vendors, SttErrorTest,
                         ::testing::Values(Vendor{"openai", "/v1/audio/transcriptions", make_openai_stt},
                                           Vendor{"deepgram", "/v1/listen", make_deepgram_stt},
                                           Vendor{"elevenlabs", "/v1/speech-to-text", make_elevenlabs_stt}),
                         vendor_name);

}  // namespace
}  // namespace ivr::providers
