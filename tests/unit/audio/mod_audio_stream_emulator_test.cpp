// The mod_audio_stream emulator against a minimal Beast WebSocket server: proves the emulator speaks the
// module's protocol (handshake, text-first or audio-first ordering, frame sizes, real-time pacing, what it
// does with streamAudio in both playback modes, close codes) before bridge tests rely on it.
#include "fakes/mod_audio_stream_emulator.hpp"

#include <sys/socket.h>
#include <sys/time.h>

#include <cmath>
#include <fstream>
#include <future>
#include <numbers>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "ivr/audio/mod_audio_stream.hpp"
#include "ivr/core/ids.hpp"

namespace ivr::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* kDomain = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";

// One connection, synchronously, on its own thread: accept, record the upgrade request, read `read_count`
// messages, send `replies`, then close with `close` or read until the peer closes or drops.
struct SinkServer {
  struct Message {
    Clock::time_point at;
    bool binary = false;
    std::string data;
  };
  struct Result {
    std::string target;
    std::vector<std::pair<std::string, std::string>> headers;  // names exactly as received
    std::vector<Message> messages;
    boost::system::error_code end;  // how the final read ended
    websocket::close_reason peer_close;
  };

  std::size_t read_count = 0;
  std::vector<std::string> replies;
  std::optional<websocket::close_reason> close;
  bool deflate = false;
  // Released by the test between reading and replying (so it can check the emulator in between).
  std::promise<void> go;

  asio::io_context io;
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  std::future<Result> result;

  std::uint16_t port() const { return acceptor.local_endpoint().port(); }

  void run() {
    result = std::async(std::launch::async, [this] { return serve(); });
  }

  Result serve() {
    Result r;
    tcp::socket socket(io);
    acceptor.accept(socket);
    timeval tv{10, 0};  // a broken emulator fails the test instead of hanging it
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::read(socket, buffer, req);
    r.target = std::string(req.target());
    for (const auto& f : req) r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    websocket::stream<tcp::socket> ws(std::move(socket));
    websocket::permessage_deflate pmd;
    pmd.server_enable = deflate;
    ws.set_option(pmd);
    ws.accept(req);
    for (std::size_t i = 0; i < read_count; ++i) {
      beast::flat_buffer b;
      ws.read(b);
      r.messages.push_back({Clock::now(), ws.got_binary(), beast::buffers_to_string(b.data())});
    }
    go.get_future().wait();
    for (const auto& text : replies) {
      ws.text(true);
      ws.write(asio::buffer(text));
    }
    if (close) {
      ws.close(*close);
    }
    for (;;) {
      beast::flat_buffer b;
      boost::system::error_code ec;
      ws.read(b, ec);
      if (ec) {
        r.end = ec;
        r.peer_close = ws.reason();
        break;
      }
      r.messages.push_back({Clock::now(), ws.got_binary(), beast::buffers_to_string(b.data())});
    }
    return r;
  }
};

std::vector<std::int16_t> tone(int rate, int ms) {
  std::vector<std::int16_t> s(static_cast<std::size_t>(rate / 1000 * ms));
  for (std::size_t i = 0; i < s.size(); ++i) {
    s[i] = static_cast<std::int16_t>(8000 *
                                     std::sin(2 * std::numbers::pi * 440 * static_cast<double>(i) / rate));
  }
  return s;
}

std::int16_t le16(const std::string& bytes, std::size_t sample_index) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data()) + 2 * sample_index;
  return static_cast<std::int16_t>(static_cast<std::uint16_t>(p[0] | (p[1] << 8)));
}

std::string header(const SinkServer::Result& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "<missing>";
}

TEST(ModAudioStreamEmulator, RealTimeMono16kWithMetadataFirst) {
  SinkServer server;
  server.read_count = 1 + 25;  // metadata + 400 ms of tone + 100 ms of silence
  const audio::StreamAudioWriter writer(8000);
  const std::vector<std::int16_t> reply{100, -200, 300, -400};
  server.replies = {writer.raw(reply), R"({"type":"transcript","text":"olá"})"};
  server.run();

  ModAudioStreamOptions o;
  o.port = server.port();
  o.query = std::string("domain_uuid=") + kDomain + "&secretary_id=x";
  o.extra_headers = {{"X-Api-Key", "ivr_token"}, {"X-Domain-UUID", kDomain}};
  o.metadata = std::string(R"({"domain_uuid":")") + kDomain + R"(","caller_id":"1001"})";
  o.caller_audio = tone(16000, 400);
  o.silence_after = 100ms;
  ModAudioStreamEmulator emu(o);
  ASSERT_TRUE(emu.start()) << emu.error();
  EXPECT_EQ(emu.http_status(), 101);
  ASSERT_TRUE(emu.wait_sending_done(5s));
  server.go.set_value();
  ASSERT_TRUE(emu.wait_texts(2, 5s));
  emu.hangup("hangup");
  ASSERT_TRUE(emu.wait_closed(5s));
  const auto r = server.result.get();

  // Handshake: the URL form, lower-case extra headers, an Origin, no compression offered.
  EXPECT_EQ(r.target, "/stream/" + emu.call_uuid() + "?domain_uuid=" + kDomain + "&secretary_id=x");
  EXPECT_EQ(header(r, "x-api-key"), "ivr_token");
  EXPECT_EQ(header(r, "x-domain-uuid"), kDomain);
  EXPECT_EQ(header(r, "origin"), "http://127.0.0.1");
  EXPECT_EQ(header(r, "Sec-WebSocket-Extensions"), "<missing>");

  // Text first, then 25 binary frames of 640 bytes (16 kHz mono, 20 ms), the tone then silence.
  ASSERT_EQ(r.messages.size(), 26u);
  EXPECT_FALSE(r.messages[0].binary);
  EXPECT_EQ(r.messages[0].data, *o.metadata);
  for (std::size_t i = 1; i < r.messages.size(); ++i) {
    ASSERT_TRUE(r.messages[i].binary) << i;
    ASSERT_EQ(r.messages[i].data.size(), 640u) << i;
  }
  for (std::size_t k = 0; k < 320; ++k) EXPECT_EQ(le16(r.messages[1].data, k), o.caller_audio[k]);
  EXPECT_EQ(le16(r.messages[20].data, 5), o.caller_audio[19 * 320 + 5]);
  EXPECT_EQ(le16(r.messages[25].data, 5), 0);  // the silence after
  // Real time: frames leave on absolute 20 ms deadlines (24 intervals from the first to the last), and
  // arrive so (the server's first reads may lag its accept, so measure arrivals from the fifth frame).
  // Loose bounds: shared CI cores.
  const auto sent = emu.sent();
  ASSERT_EQ(sent.size(), 26u);
  EXPECT_FALSE(sent[0].binary);
  const auto ms = [](Clock::duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  };
  EXPECT_GE(ms(sent[25].at - sent[1].at), 475);
  EXPECT_LE(ms(sent[25].at - sent[1].at), 520);
  EXPECT_GE(ms(r.messages[25].at - r.messages[5].at), 370);
  EXPECT_LE(ms(r.messages[25].at - r.messages[5].at), 440);
  EXPECT_EQ(emu.audio_frames_sent(), 25u);

  // What came back: the streamAudio decoded (no event in stream mode), the other text as a json event.
  const auto audio = emu.audio();
  ASSERT_EQ(audio.size(), 1u);
  EXPECT_EQ(audio[0].audio_data_type, "raw");
  EXPECT_EQ(audio[0].sample_rate, 8000);
  EXPECT_EQ(audio[0].samples, reply);
  const auto events = emu.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].subclass, "mod_audio_stream::json");
  EXPECT_EQ(events[0].body, R"({"type":"transcript","text":"olá"})");
  EXPECT_LE(emu.texts()[0].at, emu.texts()[1].at);

  // hangup(): a close frame with 1000 and the reason; the server echoed it.
  EXPECT_EQ(r.end, websocket::error::closed);
  EXPECT_EQ(r.peer_close.code, 1000);
  EXPECT_EQ(std::string(r.peer_close.reason.c_str()), "hangup");
  EXPECT_EQ(emu.close_code(), 1000);
}

TEST(ModAudioStreamEmulator, FastStereo8kMetadataAfterAudioInFileMode) {
  SinkServer server;
  server.read_count = 11;  // 10 frames (200 ms) + the metadata after the third
  const std::vector<std::int16_t> pcm{1, 2, 3, -4};
  const std::string raw8 = audio::StreamAudioWriter(8000).raw(pcm);
  const std::string raw24 = audio::StreamAudioWriter(24000).raw(pcm);
  const std::string raw11 =
      R"({"type":"streamAudio","data":{"audioDataType":"raw","sampleRate":11025,"audioData":"AQA="}})";
  std::string wav;
  audio::StreamAudioWriter(16000).write_wav(pcm, wav);
  server.replies = {raw8, raw24, raw11, wav};
  server.close = websocket::close_reason(websocket::close_code::normal, "bye");
  server.run();

  ModAudioStreamOptions o;
  o.port = server.port();
  o.call_uuid = random_uuid();  // the temp file names carry it: parallel test runs must not collide
  o.path = std::string("/stream/") + kDomain + "/" + o.call_uuid;
  o.metadata = R"({"playback":"file"})";
  o.metadata_after_frames = 3;
  o.sample_rate = 8000;
  o.channels = 2;
  for (int i = 0; i < 1600; ++i) {
    o.caller_audio.push_back(static_cast<std::int16_t>(i));
    o.far_end_audio.push_back(static_cast<std::int16_t>(-i - 1));
  }
  o.silence_after = 0ms;
  o.speed = 0;
  o.file_mode = true;
  auto emu = std::make_unique<ModAudioStreamEmulator>(o);
  ASSERT_TRUE(emu->start()) << emu->error();
  ASSERT_TRUE(emu->wait_sending_done(5s));
  server.go.set_value();
  ASSERT_TRUE(emu->wait_closed(5s));
  const auto r = server.result.get();

  EXPECT_EQ(r.target, o.path);
  ASSERT_EQ(r.messages.size(), 11u);
  for (std::size_t i = 0; i < 11; ++i) {
    EXPECT_EQ(r.messages[i].binary, i != 3) << i;
    if (i != 3) {
      EXPECT_EQ(r.messages[i].data.size(), 640u) << i;  // 8 kHz stereo 20 ms
    }
  }
  EXPECT_EQ(r.messages[3].data, *o.metadata);
  // Interleaved: caller on channel 0, the far end on channel 1.
  for (std::size_t k = 0; k < 160; ++k) {
    EXPECT_EQ(le16(r.messages[4].data, 2 * k), static_cast<std::int16_t>(3 * 160 + k));
    EXPECT_EQ(le16(r.messages[4].data, 2 * k + 1),
              static_cast<std::int16_t>(-(3 * 160 + static_cast<int>(k)) - 1));
  }
  // Faster than real time.
  EXPECT_LT(r.messages[10].at - r.messages[0].at, 150ms);
  // The bridge's decoder agrees on what the caller said.
  audio::CallerFrameDecoder decoder({8000, 2});
  std::vector<std::int16_t> caller;
  for (const auto& m : r.messages) {
    if (m.binary) {
      ASSERT_EQ(decoder.decode(m.data, caller), audio::CallerFrameDecoder::Reject::none);
    }
  }
  EXPECT_EQ(caller, o.caller_audio);

  // Upstream module behaviour: a file per playable streamAudio, named <uuid>_<n>.tmp<ext>, and a play
  // event whose body is `data` without audioData plus `file`; an unknown raw rate becomes a json event.
  const auto plays = emu->play_events();
  ASSERT_EQ(plays.size(), 3u);
  const std::string base = "/tmp/" + o.call_uuid + "_";
  EXPECT_EQ(plays[0].body, R"({"audioDataType":"raw","sampleRate":8000,"file":")" + base + "0.tmp.r8\"}");
  EXPECT_EQ(plays[1].file, base + "1.tmp.r24");
  EXPECT_EQ(plays[2].file, base + "2.tmp.wav");
  std::ifstream f(plays[0].file, std::ios::binary);
  std::stringstream bytes;
  bytes << f.rdbuf();
  EXPECT_EQ(bytes.str(), std::string("\x01\x00\x02\x00\x03\x00\xfc\xff", 8));
  const auto events = emu->events();
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[2].subclass, "mod_audio_stream::json");
  EXPECT_EQ(events[2].body, raw11);
  EXPECT_EQ(emu->audio().size(), 4u);
  EXPECT_EQ(emu->audio()[3].samples, pcm);  // the WAV's PCM

  // The server closed: its code and reason are exposed.
  EXPECT_EQ(emu->close_code(), 1000);
  EXPECT_EQ(emu->close_reason(), "bye");
  // The temp files go with the emulator (the module deletes them at cleanup too).
  const std::string file = plays[0].file;
  emu.reset();
  EXPECT_FALSE(std::ifstream(file).good());
}

TEST(ModAudioStreamEmulator, OffersDeflateAndCanDropTheConnection) {
  SinkServer server;
  server.deflate = true;
  server.read_count = 2;
  server.run();
  ModAudioStreamOptions o;
  o.port = server.port();
  o.offer_deflate = true;
  o.sample_rate = 8000;
  o.caller_audio = tone(8000, 40);
  o.silence_after = 0ms;
  ModAudioStreamEmulator emu(o);
  ASSERT_TRUE(emu.start()) << emu.error();
  ASSERT_TRUE(emu.wait_sending_done(5s));
  emu.drop();
  server.go.set_value();
  ASSERT_TRUE(emu.wait_closed(5s));
  const auto r = server.result.get();
  EXPECT_NE(header(r, "Sec-WebSocket-Extensions").find("permessage-deflate"), std::string::npos);
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[0].data.size(), 320u);  // inflated back to 8 kHz mono 20 ms
  EXPECT_EQ(le16(r.messages[1].data, 7), o.caller_audio[167]);
  // A drop is not a close handshake.
  EXPECT_TRUE(r.end);
  EXPECT_NE(r.end, websocket::error::closed);
  EXPECT_FALSE(emu.close_code());
}

TEST(ModAudioStreamEmulator, ConnectFailureIsReported) {
  std::uint16_t port = 0;
  {
    asio::io_context io;
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }
  ModAudioStreamOptions o;
  o.port = port;
  ModAudioStreamEmulator emu(o);
  EXPECT_FALSE(emu.start());
  EXPECT_NE(emu.error().find("connect"), std::string::npos);
}

}  // namespace
}  // namespace ivr::test
