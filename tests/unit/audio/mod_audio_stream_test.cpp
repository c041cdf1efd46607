#include "ivr/audio/mod_audio_stream.hpp"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "ivr/core/secret_box.hpp"

namespace ivr::audio {
namespace {

constexpr const char* kDomain = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
constexpr const char* kOtherDomain = "9b2c1f6a-0d3e-4c55-8a7b-112233445566";
constexpr const char* kSecretary = "0c8a5f2e-7d41-4b1a-9e3c-5a6b7c8d9e0f";
constexpr const char* kCall = "a1b2c3d4-e5f6-4789-8abc-def012345678";

// ---- metadata frame ----

TEST(StreamMetadata, ParsesWhatTheLuaScriptSends) {
  const std::string text = std::string(R"({"domain_uuid":")") + kDomain +
                           R"(","domain_name":"acme.example",)" + R"("secretary_id":")" + kSecretary +
                           R"(","caller_id":"1001","call_uuid":")" + kCall + R"("})";
  auto m = parse_stream_metadata(text);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->domain_uuid, kDomain);
  EXPECT_EQ(m->secretary_id, kSecretary);
  EXPECT_EQ(m->caller_id, "1001");
  EXPECT_EQ(m->call_uuid, kCall);
  EXPECT_EQ(m->domain_name, "acme.example");
  EXPECT_FALSE(m->playback);
  EXPECT_TRUE(m->extra.empty());
}

TEST(StreamMetadata, OptionalFieldsNormalisationAndExtras) {
  auto m = parse_stream_metadata(
      R"({"domain_uuid":"3F2504E0-4F89-41D3-9A0C-0305E82C3301","playback":"File","freeswitch_node":"fs2",)"
      R"("caller_id":5511999,"rate":"8k","mix":"stereo","secretary_id":"","note":"olá ☎","n":{"a":[1,2]},"x":null})");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->domain_uuid, kDomain);  // lower-cased
  EXPECT_EQ(m->playback, PlaybackMode::file);
  EXPECT_EQ(m->freeswitch_node, "fs2");
  EXPECT_EQ(m->caller_id, "5511999");
  EXPECT_EQ(m->sample_rate, 8000);
  EXPECT_EQ(m->channels, 2);
  EXPECT_TRUE(m->secretary_id.empty());
  ASSERT_EQ(m->extra.size(), 3u);
  EXPECT_EQ(m->extra[0].first, "n");  // nlohmann orders keys: extras come sorted
  EXPECT_EQ(m->extra[0].second, R"({"a":[1,2]})");
  EXPECT_EQ(m->extra[1].first, "note");
  EXPECT_EQ(m->extra[1].second, "olá ☎");
  EXPECT_EQ(m->extra[2].second, "null");
}

TEST(StreamMetadata, BadInputGetsACodeAndAReason) {
  struct Case {
    std::string text;
    Errc code;
  };
  const Case cases[] = {
      {"hello from the dialplan", Errc::invalid_json},
      {"", Errc::invalid_json},
      {R"({"domain_uuid":"abc")", Errc::invalid_json},
      {"\xff\xfe{}", Errc::invalid_json},
      {R"([1,2])", Errc::bad_request},
      {R"("just a string")", Errc::bad_request},
      {R"({"domain_uuid":42})", Errc::bad_request},
      {R"({"domain_uuid":"not-a-uuid"})", Errc::invalid_domain_uuid},
      {R"({"secretary_id":"7"})", Errc::unprocessable},
      {R"({"call_uuid":"a1b2c3d4e5f64789-8abc-def012345678"})", Errc::unprocessable},
      {R"({"playback":"speaker"})", Errc::unprocessable},
      {R"({"rate":"44k"})", Errc::unprocessable},
      {R"({"mix":"quad"})", Errc::unprocessable},
      {R"({"playback":true})", Errc::bad_request},
  };
  for (const auto& c : cases) {
    std::string reason;
    auto m = parse_stream_metadata(c.text, &reason);
    ASSERT_FALSE(m) << c.text;
    EXPECT_EQ(m.error(), c.code) << c.text;
    EXPECT_FALSE(reason.empty()) << c.text;
  }
}

TEST(StreamMetadata, EveryPrefixOfAFrameFailsCleanly) {
  const std::string text = std::string(R"({"domain_uuid":")") + kDomain + R"(","caller_id":"1001"})";
  for (std::size_t n = 0; n < text.size(); ++n) {
    EXPECT_FALSE(parse_stream_metadata(std::string_view(text).substr(0, n))) << n;
  }
  EXPECT_TRUE(parse_stream_metadata(text));
}

// ---- handshake target and headers ----

TEST(StreamTarget, BothPathFormsAndTheQuery) {
  auto a = parse_stream_target(std::string("/stream/") + kCall);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->call_uuid, kCall);
  EXPECT_TRUE(a->domain_uuid.empty());

  auto b = parse_stream_target(std::string("/stream/") + kDomain + "/" + kCall + "/");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->call_uuid, kCall);
  EXPECT_EQ(b->domain_uuid, kDomain);

  auto c = parse_stream_target(std::string("/stream/") + kCall + "?domain_uuid=" + kDomain +
                               "&secretary_id=" + kSecretary +
                               "&caller_id=%2B55%2011+999&playback=stream&rate=16k&mix=mono&foo=b%C3%A1r");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->domain_uuid, kDomain);
  EXPECT_EQ(c->secretary_id, kSecretary);
  EXPECT_EQ(c->caller_id, "+55 11 999");
  EXPECT_EQ(c->playback, PlaybackMode::stream);
  EXPECT_EQ(c->sample_rate, 16000);
  EXPECT_EQ(c->channels, 1);
  ASSERT_EQ(c->extra.size(), 1u);
  EXPECT_EQ(c->extra[0].second, "bár");
}

TEST(StreamTarget, Rejections) {
  std::string reason;
  EXPECT_EQ(parse_stream_target("/chat", &reason).error(), Errc::not_found);
  EXPECT_EQ(parse_stream_target("/stream/", &reason).error(), Errc::unprocessable);
  EXPECT_EQ(parse_stream_target("/stream/12345", &reason).error(), Errc::unprocessable);
  EXPECT_EQ(parse_stream_target(std::string("/stream/x/") + kCall, &reason).error(),
            Errc::invalid_domain_uuid);
  EXPECT_EQ(parse_stream_target(std::string("/stream/a/b/") + kCall, &reason).error(), Errc::not_found);
  EXPECT_EQ(parse_stream_target(std::string("/stream/") + kCall + "?domain_uuid=zz", &reason).error(),
            Errc::invalid_domain_uuid);
  EXPECT_EQ(parse_stream_target(
                std::string("/stream/") + kDomain + "/" + kCall + "?domain_uuid=" + kOtherDomain, &reason)
                .error(),
            Errc::domain_mismatch);
  EXPECT_EQ(reason, "domain_uuid differs between the path and the query");
  EXPECT_EQ(parse_stream_target(std::string("/stream/") + kCall + "?call_uuid=" + kDomain, &reason).error(),
            Errc::conflict);
}

TEST(StreamHeaders, LowerCaseExtraHeadersAnyCase) {
  HeaderList headers{{"x-api-key", "secret"},
                     {"X-Domain-UUID", kDomain},
                     {"x-playback", "file"},
                     {"origin", "http://fs"},
                     {"x-freeswitch-node", "fs1"}};
  auto m = parse_stream_headers(headers);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->domain_uuid, kDomain);
  EXPECT_EQ(m->playback, PlaybackMode::file);
  EXPECT_EQ(m->freeswitch_node, "fs1");
  EXPECT_TRUE(m->extra.empty());  // the token is not metadata
  EXPECT_EQ(parse_stream_headers({{"x-domain-uuid", "nope"}}).error(), Errc::invalid_domain_uuid);
}

TEST(MergeStreamMetadata, PrecedenceAndConflicts) {
  StreamMetadata headers;
  headers.domain_uuid = kDomain;
  headers.freeswitch_node = "from-headers";
  StreamMetadata url;
  url.call_uuid = kCall;
  url.domain_uuid = kDomain;
  url.caller_id = "from-url";
  url.playback = PlaybackMode::file;
  StreamMetadata frame;
  frame.domain_uuid = kDomain;
  frame.secretary_id = kSecretary;
  frame.caller_id = "from-frame";
  frame.freeswitch_node = "from-frame";
  frame.playback = PlaybackMode::stream;
  frame.extra = {{"k", "v"}};

  auto m = merge_stream_metadata(&headers, &url, &frame);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->domain_uuid, kDomain);
  EXPECT_EQ(m->secretary_id, kSecretary);  // only the frame has it
  EXPECT_EQ(m->call_uuid, kCall);
  EXPECT_EQ(m->caller_id, "from-url");
  EXPECT_EQ(m->freeswitch_node, "from-headers");
  EXPECT_EQ(m->playback, PlaybackMode::file);
  ASSERT_EQ(m->extra.size(), 1u);

  // The frame alone (the handshake had nothing) is enough.
  auto only_frame = merge_stream_metadata(nullptr, nullptr, &frame);
  ASSERT_TRUE(only_frame);
  EXPECT_EQ(only_frame->caller_id, "from-frame");

  // A frame naming another tenant is refused, whatever the order of arrival.
  StreamMetadata other = frame;
  other.domain_uuid = kOtherDomain;
  std::string reason;
  auto bad = merge_stream_metadata(&headers, &url, &other, &reason);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), Errc::domain_mismatch);
  EXPECT_EQ(reason, "domain_uuid differs between headers and metadata frame");

  StreamMetadata other_secretary = url;
  other_secretary.secretary_id = "11111111-2222-4333-8444-555555555555";
  EXPECT_EQ(merge_stream_metadata(nullptr, &other_secretary, &frame).error(), Errc::conflict);
  StreamMetadata other_call = frame;
  other_call.call_uuid = "11111111-2222-4333-8444-555555555555";
  EXPECT_EQ(merge_stream_metadata(nullptr, &url, &other_call).error(), Errc::conflict);
}

// ---- caller frames ----

std::string le_bytes(const std::vector<std::int16_t>& samples) {
  std::string out;
  for (auto s : samples) {
    const auto u = static_cast<std::uint16_t>(s);
    out.push_back(static_cast<char>(u & 0xff));
    out.push_back(static_cast<char>(u >> 8));
  }
  return out;
}

TEST(CallerFrameDecoder, MonoLittleEndian) {
  CallerFrameDecoder d({8000, 1});
  std::vector<std::int16_t> samples(160);
  for (int i = 0; i < 160; ++i)
    samples[static_cast<std::size_t>(i)] = static_cast<std::int16_t>(i * 200 - 16000);
  samples[0] = -32768;
  samples[1] = 32767;
  const std::string frame = le_bytes(samples);
  ASSERT_EQ(frame.size(), 320u);
  EXPECT_EQ(static_cast<unsigned char>(frame[0]), 0x00);  // -32768 = 0x8000, low byte first
  EXPECT_EQ(static_cast<unsigned char>(frame[1]), 0x80);
  std::vector<std::int16_t> out{7};
  EXPECT_EQ(d.decode(frame, out), CallerFrameDecoder::Reject::none);
  ASSERT_EQ(out.size(), 161u);  // appended
  EXPECT_EQ(std::vector<std::int16_t>(out.begin() + 1, out.end()), samples);
  EXPECT_EQ(d.frames_accepted(), 1u);
  EXPECT_EQ(d.samples_out(), 160u);
  EXPECT_EQ(d.frames_irregular(), 0u);
}

TEST(CallerFrameDecoder, StereoTakesChannelZeroTheCaller) {
  CallerFrameDecoder d({16000, 2});
  std::vector<std::int16_t> interleaved;
  for (int i = 0; i < 320; ++i) {
    interleaved.push_back(static_cast<std::int16_t>(i));       // read stream: the caller
    interleaved.push_back(static_cast<std::int16_t>(-i - 1));  // write stream: what the caller hears
  }
  std::vector<std::int16_t> out;
  ASSERT_EQ(d.decode(le_bytes(interleaved), out), CallerFrameDecoder::Reject::none);
  ASSERT_EQ(out.size(), 320u);
  for (int i = 0; i < 320; ++i) EXPECT_EQ(out[static_cast<std::size_t>(i)], i);
}

TEST(CallerFrameDecoder, BadFramesAreCountedNotFatal) {
  CallerFrameDecoder d({16000, 2}, 500);
  std::vector<std::int16_t> out;
  using R = CallerFrameDecoder::Reject;
  EXPECT_EQ(d.decode("", out), R::empty);
  EXPECT_EQ(d.decode(std::string(641, '\0'), out), R::odd_length);
  EXPECT_EQ(d.decode(std::string(642, '\0'), out), R::partial_sample_frame);
  EXPECT_EQ(d.decode(std::string(32'004, '\0'), out), R::too_large);  // > 500 ms
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(d.frames_rejected(), 4u);
  EXPECT_EQ(d.frames_accepted(), 0u);
  // Longer frames (STREAM_BUFFER_SIZE=60, or a 30 ms ptime) are fine.
  EXPECT_EQ(d.decode(std::string(32'000, '\0'), out), R::none);           // 500 ms
  EXPECT_EQ(d.decode(std::string(16 * 2 * 2 * 30, '\0'), out), R::none);  // 30 ms
  EXPECT_EQ(d.frames_irregular(), 1u);
  EXPECT_EQ(out.size(), 8000u + 480u);
  EXPECT_EQ(CallerFrameDecoder::describe(R::odd_length), "odd-length binary frame (not 16-bit PCM)");
}

// ---- streamAudio ----

TEST(StreamAudioWriter, ExactBytesOfTheMessage) {
  StreamAudioWriter w(8000);
  const std::vector<std::int16_t> samples{1, -2, 0x1234};
  const std::string msg = w.raw(samples);
  // L16 LE: 01 00 FE FF 34 12 → base64 "AQD+/zQS"
  EXPECT_EQ(
      msg,
      R"({"type":"streamAudio","data":{"audioDataType":"raw","sampleRate":8000,"audioData":"AQD+/zQS"}})");
  EXPECT_EQ(msg.size(), w.raw_size(samples.size()));
  // And what the module does with it: a JSON parser finds the fields and the audio round-trips.
  const auto j = nlohmann::json::parse(msg);
  EXPECT_EQ(j["type"], "streamAudio");
  EXPECT_EQ(j["data"]["sampleRate"], 8000);
  EXPECT_EQ(*base64_decode(j["data"]["audioData"].get<std::string>()),
            std::string("\x01\x00\xfe\xff\x34\x12", 6));
}

TEST(StreamAudioWriter, BufferReuse) {
  StreamAudioWriter w(16000);
  std::string out;
  std::vector<std::int16_t> frame(320, 1000);
  w.write_raw(frame, out);
  const auto* data = out.data();
  const auto capacity = out.capacity();
  w.write_raw(frame, out);  // same size again: the buffer is reused
  EXPECT_EQ(out.data(), data);
  EXPECT_EQ(out.capacity(), capacity);
  EXPECT_EQ(out.size(), w.raw_size(320));
}

TEST(StreamAudioWriter, WavVariantCarriesAHeader) {
  StreamAudioWriter w(24000);
  std::string out;
  w.write_wav(std::vector<std::int16_t>(240, 5), out);
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["data"]["audioDataType"], "wav");
  const auto bytes = *base64_decode(j["data"]["audioData"].get<std::string>());
  EXPECT_EQ(bytes.size(), 44u + 480u);
  EXPECT_EQ(bytes.substr(0, 4), "RIFF");
  EXPECT_THROW(StreamAudioWriter(1000), std::invalid_argument);
}

}  // namespace
}  // namespace ivr::audio
