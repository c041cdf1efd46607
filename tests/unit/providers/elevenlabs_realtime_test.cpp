#include "ivr/providers/realtime/elevenlabs_realtime.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <numbers>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "fakes/fake_elevenlabs.hpp"
#include "ivr/core/secret_box.hpp"
#include "ivr/net/http_client.hpp"
#include "ivr/net/websocket_client.hpp"
#include "support/test_env.hpp"
#include "unit/providers/realtime_agent_driver.hpp"

namespace ivr::providers::realtime {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using json = nlohmann::json;
using Kind = AgentEvent::Kind;

using test_driver::collect_until;
using test_driver::Collected;
using test_driver::converse;
using test_driver::kinds;
using test_driver::send_frames;
using test_driver::sleep_for;

// A caller turn at the adapter's input rate.
std::vector<std::string> caller_turn(int loud_ms, int quiet_ms) {
  return test_driver::caller_turn(16000, loud_ms, quiet_ms);
}

SessionConfig basic_config() {
  SessionConfig c;
  c.instructions = "You are the secretary of ACME.";
  c.language = "pt-BR";
  c.tools.push_back({"transfer_call", "Transfer the caller", R"({"type":"object","properties":{}})"});
  return c;
}

class ElevenLabsRealtimeTest : public ::testing::Test {
 protected:
  ElevenLabsRealtimeSettings settings_for(const test::FakeElevenLabs& fake,
                                          const test::FakeElevenLabsScript& s) {
    ElevenLabsRealtimeSettings st;
    st.agent_id = s.agent_id;
    st.api_key = s.api_key;
    st.api_base = fake.api_base();
    st.ws_base = fake.ws_base();
    st.http_timeout = 2s;
    st.connect_timeout = 2s;
    st.session_timeout = 2s;
    return st;
  }

  Result<void> start(RealtimeAgent& agent, SessionConfig config = basic_config()) {
    return test::run(io_, agent.start(std::move(config)), 10s);
  }

  asio::io_context io_;
  net::WebSocketConnector connector_{io_};
  net::HttpClient http_{io_};
};

// ---- sans-I/O ----

TEST(ElevenLabsWire, AudioChunkIsTheBareKeyAroundBase64) {
  std::string out;
  elevenlabs_wire::append_audio_chunk(out, std::string("\x01\x02\x03\xff", 4));
  EXPECT_EQ(out, R"({"user_audio_chunk":"AQID/w=="})");
}

TEST(ElevenLabsWire, AudioFormats) {
  AudioFormat f;
  ASSERT_TRUE(elevenlabs_wire::parse_audio_format("pcm_16000", f));
  EXPECT_EQ(f.encoding, AudioEncoding::pcm16);
  EXPECT_EQ(f.sample_rate, 16000);
  ASSERT_TRUE(elevenlabs_wire::parse_audio_format("pcm_24000", f));
  EXPECT_EQ(f.sample_rate, 24000);
  ASSERT_TRUE(elevenlabs_wire::parse_audio_format("ulaw_8000", f));
  EXPECT_EQ(f.encoding, AudioEncoding::g711_ulaw);
  EXPECT_EQ(f.sample_rate, 8000);
  ASSERT_TRUE(elevenlabs_wire::parse_audio_format("alaw_8000", f));
  EXPECT_EQ(f.encoding, AudioEncoding::g711_alaw);
  for (const char* bad :
       {"", "pcm", "pcm_", "pcm_abc", "mp3_44100", "ulaw_16000", "pcm_16000x", "opus_48000"}) {
    EXPECT_FALSE(elevenlabs_wire::parse_audio_format(bad, f)) << bad;
  }
}

TEST(ElevenLabsWire, InitiationMessage) {
  ElevenLabsRealtimeSettings s;
  s.voice = "voice_default";
  s.dynamic_variables = {{"company", "ACME"}};
  auto config = basic_config();
  config.greeting = "Olá, ACME!";
  const json m = json::parse(elevenlabs_wire::initiation(config, s));
  EXPECT_EQ(m, json::parse(R"({"type":"conversation_initiation_client_data",
      "conversation_config_override":{"agent":{"prompt":{"prompt":"You are the secretary of ACME."},
      "first_message":"Olá, ACME!","language":"pt"},"tts":{"voice_id":"voice_default"}},
      "dynamic_variables":{"company":"ACME"}})"));
  // No greeting: first_message "" (the agent waits); no voice: no tts; no variables: none.
  config.greeting.clear();
  config.language = "EN";
  const json m2 = json::parse(elevenlabs_wire::initiation(config, ElevenLabsRealtimeSettings{}));
  EXPECT_EQ(m2["conversation_config_override"]["agent"]["first_message"], "");
  EXPECT_EQ(m2["conversation_config_override"]["agent"]["language"], "en");
  EXPECT_FALSE(m2["conversation_config_override"].contains("tts"));
  EXPECT_FALSE(m2.contains("dynamic_variables"));
  // SessionConfig::voice wins.
  config.voice = "v2";
  EXPECT_EQ(
      json::parse(elevenlabs_wire::initiation(config, s))["conversation_config_override"]["tts"]["voice_id"],
      "v2");
}

TEST(ElevenLabsWire, ParsesServerEvents) {
  using T = elevenlabs_wire::ServerEvent::Type;
  auto parser = elevenlabs_wire::make_event_parser();
  elevenlabs_wire::ServerEvent e;
  std::string audio = R"({"audio_event":{"event_id":7,"audio_base_64":"AQID\/w=="},"type":"audio"})";
  elevenlabs_wire::parse_event(*parser, audio, e);
  ASSERT_EQ(e.type, T::audio);
  EXPECT_EQ(e.audio, std::string("\x01\x02\x03\xff", 4));
  EXPECT_EQ(e.event_id, 7);
  std::string ping = R"({"type":"ping","ping_event":{"event_id":12,"ping_ms":50}})";
  elevenlabs_wire::parse_event(*parser, ping, e);
  ASSERT_EQ(e.type, T::ping);
  EXPECT_EQ(e.event_id, 12);
  std::string tool = R"({"type":"client_tool_call","client_tool_call":{"tool_name":"end_call",)"
                     R"("tool_call_id":"t1","parameters":{"reason":"bye","n":[1,2]}}})";
  elevenlabs_wire::parse_event(*parser, tool, e);
  ASSERT_EQ(e.type, T::tool_call);
  EXPECT_EQ(e.name, "end_call");
  EXPECT_EQ(e.call_id, "t1");
  EXPECT_EQ(json::parse(e.arguments_json), json::parse(R"({"reason":"bye","n":[1,2]})"));
  std::string ut = R"({"type":"user_transcript","user_transcription_event":{"user_transcript":"ol\u00e1"}})";
  elevenlabs_wire::parse_event(*parser, ut, e);
  ASSERT_EQ(e.type, T::user_transcript);
  EXPECT_EQ(e.text, "olá");
  std::string md =
      R"({"type":"conversation_initiation_metadata","conversation_initiation_metadata_event":)"
      R"({"conversation_id":"c1","agent_output_audio_format":"ulaw_8000","user_input_audio_format":"pcm_16000"}})";
  elevenlabs_wire::parse_event(*parser, md, e);
  ASSERT_EQ(e.type, T::metadata);
  EXPECT_EQ(e.output_format, "ulaw_8000");
  EXPECT_EQ(e.input_format, "pcm_16000");
  std::string corr =
      R"({"type":"agent_response_correction","agent_response_correction_event":)"
      R"({"original_agent_response":"Hello there friend","corrected_agent_response":"Hello"}})";
  elevenlabs_wire::parse_event(*parser, corr, e);
  ASSERT_EQ(e.type, T::correction);
  EXPECT_EQ(e.text, "Hello there friend");
  EXPECT_EQ(e.corrected, "Hello");
  for (std::string bad : {std::string(""), std::string("nope"), std::string("[]"),
                          std::string(R"({"type":1})"), std::string(R"({"type":"audio"})"),
                          std::string(R"({"type":"audio","audio_event":{"audio_base_64":"@@@"}})"),
                          std::string(R"({"type":"audio","audio_event":{"audio_base_64":"AAA"}})"),
                          std::string(R"({"type":"ping","ping_event":{}})"),
                          std::string(R"({"type":"client_tool_call","client_tool_call":{"tool_name":"x"}})"),
                          std::string(R"({"type":"client_tool_call","client_tool_call":{"tool_name":"x",)"
                                      R"("tool_call_id":"y","parameters":"str"}})"),
                          std::string(R"({"type":"vad_score","vad_score_event":{"vad_score":0.9}})"),
                          std::string(R"({"type":"agent_response")")}) {
    elevenlabs_wire::parse_event(*parser, bad, e);
    EXPECT_EQ(e.type, T::skip) << bad;
  }
}

// ---- against the fake server ----

TEST_F(ElevenLabsRealtimeTest, SignedUrlFlowAndInitiation) {
  test::FakeElevenLabsScript script;
  test::FakeElevenLabs fake(script);
  auto settings = settings_for(fake, script);
  settings.voice = "voice_x";
  auto agent = make_elevenlabs_realtime(connector_, http_, settings);
  ASSERT_TRUE(start(*agent));
  const auto reqs = fake.http_requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_EQ(reqs[0].target, "/v1/convai/conversation/get-signed-url?agent_id=" + script.agent_id);
  EXPECT_EQ(reqs[0].header("xi-api-key"), script.api_key);
  const auto hs = fake.handshakes();
  ASSERT_EQ(hs.size(), 1u);
  EXPECT_EQ(hs[0].target,
            "/v1/convai/conversation?agent_id=" + script.agent_id + "&conversation_signature=sig_1_fake");
  EXPECT_EQ(hs[0].header("xi-api-key"), "");  // the key never goes to the WebSocket
  EXPECT_EQ(hs[0].header("authorization"), "");
  const auto msgs = fake.client_messages();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(json::parse(msgs[0]), json::parse(R"({"type":"conversation_initiation_client_data",
      "conversation_config_override":{"agent":{"prompt":{"prompt":"You are the secretary of ACME."},
      "first_message":"","language":"pt"},"tts":{"voice_id":"voice_x"}}})"));
  EXPECT_EQ(agent->input_format().sample_rate, 16000);
  EXPECT_EQ(agent->output_format().encoding, AudioEncoding::pcm16);
  EXPECT_EQ(elevenlabs_stats(*agent).conversation_id, "conv_fake_1");
  EXPECT_TRUE(fake.violations().empty());
  test::run(io_, agent->close());
  test::run(io_, agent->close());  // idempotent
  auto after = test::run(io_, agent->next_event());
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error(), make_error_code(Errc::cancelled));
}

TEST_F(ElevenLabsRealtimeTest, PublicAgentConnectsWithoutSignedUrl) {
  test::FakeElevenLabsScript script;
  script.private_agent = false;
  test::FakeElevenLabs fake(script);
  auto settings = settings_for(fake, script);
  settings.api_key.clear();
  auto agent = make_elevenlabs_realtime(connector_, http_, settings);
  ASSERT_TRUE(start(*agent));
  EXPECT_TRUE(fake.http_requests().empty());
  ASSERT_EQ(fake.handshakes().size(), 1u);
  EXPECT_EQ(fake.handshakes()[0].target, "/v1/convai/conversation?agent_id=" + script.agent_id);
}

TEST_F(ElevenLabsRealtimeTest, WaitsForMetadataAndHonoursItsFormats) {
  test::FakeElevenLabsScript script;
  script.input_format = "ulaw_8000";
  script.output_format = "pcm_24000";
  script.metadata_delay = 300ms;
  test::FakeElevenLabs fake(script);
  auto agent = make_elevenlabs_realtime(connector_, http_, settings_for(fake, script));
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(start(*agent));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 280ms);
  EXPECT_EQ(agent->input_format().encoding, AudioEncoding::g711_ulaw);
  EXPECT_EQ(agent->input_format().sample_rate, 8000);
  EXPECT_EQ(agent->output_format().encoding, AudioEncoding::pcm16);
  EXPECT_EQ(agent->output_format().sample_rate, 24000);
  ASSERT_TRUE(test::run(io_, agent->send_audio(std::string(160, '\xff'))));
  test::run(io_, sleep_for(100ms));
  EXPECT_EQ(fake.audio_received(), std::string(160, '\xff'));
  EXPECT_TRUE(fake.violations().empty()) << fake.violations().front();
}

TEST_F(ElevenLabsRealtimeTest, MetadataNeverSentTimesOut) {
  test::FakeElevenLabsScript script;
  script.never_send_metadata = true;
  test::FakeElevenLabs fake(script);
  auto settings = settings_for(fake, script);
  settings.session_timeout = 300ms;
  auto agent = make_elevenlabs_realtime(connector_, http_, settings);
  auto r = start(*agent);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(Errc::timeout));
}

TEST_F(ElevenLabsRealtimeTest, UnknownAudioFormatFailsStart) {
  test::FakeElevenLabsScript script;
  script.output_format = "mp3_44100";
  test::FakeElevenLabs fake(script);
  auto agent = make_elevenlabs_realtime(connector_, http_, settings_for(fake, script));
  auto r = start(*agent);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(Errc::upstream_error));
}

TEST_F(ElevenLabsRealtimeTest, PingsAreAnsweredWithPongsAndNeverSurfaced) {
  test::FakeElevenLabsScript script;
  script.ping_interval = 50ms;
  test::FakeElevenLabs fake(script);
  auto agent = make_elevenlabs_realtime(connector_, http_, settings_for(fake, script));
  ASSERT_TRUE(start(*agent));
  test::run(io_, sleep_for(400ms));
  EXPECT_GE(fake.pings_sent(), 3u);
  EXPECT_GE(fake.pongs_ok(), 3u);
  EXPECT_TRUE(fake.violations().empty()) << fake.violations().front();
  const auto pongs = fake.client_messages_of("pong");
  ASSERT_FALSE(pongs.empty());
  EXPECT_EQ(pongs[0], R"({"type":"pong","event_id":1})");
  // A turn after the pings: none of them shows up as an event.
  fake.agent_turn();
  const Collected got = test::run(io_, collect_until(*agent, Kind::audio_done), 10s);
  ASSERT_FALSE(got.error) << got.error.message();
  const std::vector<Kind> expected = {Kind::agent_transcript, Kind::audio, Kind::audio, Kind::audio,
                                      Kind::audio_done};
  EXPECT_EQ(kinds(got.events), expected);
}

TEST_F(ElevenLabsRealtimeTest, WholeTurnWhileAnotherCoroutineSendsAudio) {
  test::FakeElevenLabsScript script;
  script.chunk_count = 4;
  test::FakeElevenLabs fake(script);
  auto agent = make_elevenlabs_realtime(connector_, http_, settings_for(fake, script));
  ASSERT_TRUE(start(*agent));
  const auto frames = caller_turn(200, 300);
  int failures = 0;
  const Collected got = test::run(io_, converse(*agent, frames, Kind::audio_done, &failures), 10s);
  ASSERT_FALSE(got.error) << got.error.message();
  EXPECT_EQ(failures, 0);
  const std::vector<Kind> expected = {
      Kind::user_transcript, Kind::agent_transcript, Kind::audio, Kind::audio, Kind::audio,
      Kind::audio,           Kind::audio_done};
  EXPECT_EQ(kinds(got.events), expected);
  EXPECT_EQ(got.events[0].text, script.user_transcript);
  EXPECT_EQ(got.events[1].text, script.agent_response);
  EXPECT_EQ(got.events[1].item_id, "el_1");
  std::string audio;
  for (const auto& e : got.events) {
    if (e.kind == Kind::audio) {
      audio += e.audio;
      EXPECT_EQ(e.item_id, "el_1");
    }
  }
  EXPECT_EQ(audio, fake.audio_sent());
  EXPECT_EQ(audio.size(), 4u * 100 * 32);
  EXPECT_EQ(got.events.back().item_id, "el_1");

  std::string sent;
  for (const auto& f : frames) sent += f;
  test::run(io_, sleep_for(100ms));
  EXPECT_EQ(fake.audio_received().substr(0, sent.size()), sent);
  const auto msgs = fake.client_messages();
  ASSERT_GE(msgs.size(), 2u);
  EXPECT_EQ(msgs[1], R"({"user_audio_chunk":")" + base64_encode(frames[0]) + R"("})");
  EXPECT_TRUE(fake.violations().empty()) << fake.violations().front();

  // A second turn is a new item.
  const Collected second =
      test::run(io_, converse(*agent, caller_turn(200, 300), Kind::audio_done, &failures), 10s);
  ASSERT_FALSE(second.error);
  EXPECT_EQ(second.events.back().item_id, "el_2");
  test::run(io_, agent->close());
}

TEST_F(ElevenLabsRealtimeTest, GreetingIsSpokenAfterMetadata) {
  test::FakeElevenLabsScript script;
  script.chunk_count = 2;
  test::FakeElevenLabs fake(script);
  auto agent = make_elevenlabs_realtime(connector_, http_, settings_for(fake, script));
  auto config = basic_config();
  config.greeting = "Olá, ACME, bom dia!";
  ASSERT_TRUE(start(*agent, config));
  const Collected got = test::run(io_, collect_until(*agent, Kind::audio_done), 10s);
  ASSERT_FALSE(got.error);
  ASSERT_FALSE(got.events.empty());
  EXPECT_EQ(got.events.front().kind, Kind::agent_transcript);
  EXPECT_EQ(got.events.front().text, "Olá, ACME, bom dia!");
}

TEST_F(ElevenLabsRealtimeTest, ToolCallRoundTrip) {
  test::FakeElevenLabsScript script;
  script.tool_call = test::FakeElevenLabsToolCall{};
  script.chunk_count = 2;
  test::FakeElevenLabs fake(script);
  auto agent = make_elevenlabs_realtime(connector_, http_, settings_for(fake, script));
  ASSERT_TRUE(start(*agent));
  int failures = 0;
  const Collected first =
      test::run(io_, converse(*agent, caller_turn(200, 300), Kind::tool_call, &failures), 10s);
  ASSERT_FALSE(first.error);
  const AgentEvent& call = first.events.back();
  EXPECT_EQ(call.name, "transfer_call");
  EXPECT_EQ(call.call_id, "toolu_fake_1");
  EXPECT_EQ(json::parse(call.arguments_json), json::parse(R"({"target":"sales"})"));

  ASSERT_TRUE(test::run(io_, agent->send_tool_result(call.call_id, R"({"ok":true})")));
  const Collected after = test::run(io_, collect_until(*agent, Kind::audio_done), 10s);
  ASSERT_FALSE(after.error) << after.error.message();
  const auto results = fake.client_messages_of("client_tool_result");
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(json::parse(results[0]),
            json::parse(R"({"type":"client_tool_result","tool_call_id":"toolu_fake_1",)"
                        R"("result":"{\"ok\":true}","is_error":false})"));
  EXPECT_TRUE(fake.violations().empty()) << fake.violations().front();
}

TEST_F(ElevenLabsRealtimeTest, FailedToolResultIsAnError) {
  test::FakeElevenLabsScript script;
  script.tool_call = test::FakeElevenLabsToolCall{};
  test::FakeElevenLabs fake(script);
  auto agent = make_elevenlabs_realtime(connector_, http_, settings_for(fake, script));
  ASSERT_TRUE(start(*agent));
  fake.agent_turn();
  const Collected first = test::run(io_, collect_until(*agent, Kind::tool_call), 10s);
  ASSERT_FALSE(first.error);
  ASSERT_TRUE(test::run(io_, agent->send_tool_result("toolu_fake_1", R"({"ok":false,"error":"no"})")));
  test::run(io_, sleep_for(100ms));
  const auto results = fake.client_messages_of("client_tool_result");
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(json::parse(results[0])["is_error"], true);
}

asio::awaitable<Collected> barge_in(RealtimeAgent& agent, int* failures) {
  auto ex = co_await asio::this_coro::executor;
  asio::co_spawn(ex, send_frames(agent, caller_turn(200, 300), failures), asio::detached);
  Collected out;
  bool interrupted = false;
  for (;;) {
    auto e = co_await agent.next_event();
    if (!e) {
      out.error = e.error();
      co_return out;
    }
    out.events.push_back(*e);
    if (e->kind == Kind::audio && !interrupted) {
      interrupted = true;
      asio::co_spawn(ex, send_frames(agent, caller_turn(200, 0), failures), asio::detached);
    }
    if (interrupted && e->kind == Kind::speech_started) co_return out;
  }
}

TEST_F(ElevenLabsRealtimeTest, InterruptionIsSpeechStartedAndTruncateIsRecorded) {
  test::FakeElevenLabsScript script;
  script.chunk_count = 50;
  script.chunk_gap = 20ms;
  test::FakeElevenLabs fake(script);
  auto settings = settings_for(fake, script);
  settings.contextual_update_on_truncate = true;
  auto agent = make_elevenlabs_realtime(connector_, http_, settings);
  ASSERT_TRUE(start(*agent));
  int failures = 0;
  const Collected got = test::run(io_, barge_in(*agent, &failures), 15s);
  ASSERT_FALSE(got.error) << got.error.message();
  const auto k = kinds(got.events);
  EXPECT_EQ(std::count(k.begin(), k.end(), Kind::speech_started), 1);
  EXPECT_EQ(std::count(k.begin(), k.end(), Kind::audio_done), 0);  // an interrupted item has no audio_done
  ASSERT_TRUE(test::run(io_, agent->truncate("el_1", 40)));
  test::run(io_, sleep_for(300ms));
  const auto stats = elevenlabs_stats(*agent);
  ASSERT_EQ(stats.truncations.size(), 1u);
  EXPECT_EQ(stats.truncations[0].first, "el_1");
  EXPECT_EQ(stats.truncations[0].second, 40);
  ASSERT_EQ(stats.corrections.size(), 1u);
  EXPECT_EQ(stats.corrections[0].original, script.agent_response);
  const auto updates = fake.client_messages_of("contextual_update");
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_NE(json::parse(updates[0])["text"].get<std::string>().find("40 ms"), std::string::npos);
  const auto types = fake.server_event_types();
  EXPECT_LT(std::count(types.begin(), types.end(), std::string("audio")), 50);
  EXPECT_TRUE(fake.violations().empty()) << fake.violations().front();
}

TEST_F(ElevenLabsRealtimeTest, ProviderDropEndsTheSessionWithUnavailable) {
  test::FakeElevenLabsScript script;
  script.chunk_count = 10;
  script.drop_after_chunks = 2;
  test::FakeElevenLabs fake(script);
  auto agent = make_elevenlabs_realtime(connector_, http_, settings_for(fake, script));
  ASSERT_TRUE(start(*agent));
  int failures = 0;
  const Collected got =
      test::run(io_, converse(*agent, caller_turn(200, 300), Kind::speech_stopped, &failures), 10s);
  ASSERT_TRUE(got.error);
  EXPECT_EQ(got.error, make_error_code(Errc::unavailable));
  const auto k = kinds(got.events);
  EXPECT_EQ(std::count(k.begin(), k.end(), Kind::audio), 2);
  EXPECT_FALSE(test::run(io_, agent->send_audio("abcd")));
}

TEST_F(ElevenLabsRealtimeTest, GarbageIsSkipped) {
  test::FakeElevenLabsScript script;
  script.garbage_in_response = true;
  script.chunk_count = 2;
  test::FakeElevenLabs fake(script);
  auto agent = make_elevenlabs_realtime(connector_, http_, settings_for(fake, script));
  ASSERT_TRUE(start(*agent));
  fake.send_raw("{ not json at all");
  int failures = 0;
  const Collected got =
      test::run(io_, converse(*agent, caller_turn(200, 300), Kind::audio_done, &failures), 10s);
  ASSERT_FALSE(got.error) << got.error.message();
  const std::vector<Kind> expected = {Kind::user_transcript, Kind::agent_transcript, Kind::audio, Kind::audio,
                                      Kind::audio_done};
  EXPECT_EQ(kinds(got.events), expected);
  EXPECT_GE(elevenlabs_stats(*agent).skipped_events, 10u);
}

TEST_F(ElevenLabsRealtimeTest, WrongKeyIsUnauthorized) {
  test::FakeElevenLabsScript script;
  test::FakeElevenLabs fake(script);
  auto settings = settings_for(fake, script);
  settings.api_key = "wrong";
  auto agent = make_elevenlabs_realtime(connector_, http_, settings);
  auto r = start(*agent);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(Errc::unauthorized));
  EXPECT_EQ(fake.handshakes().size(), 0u);
}

TEST_F(ElevenLabsRealtimeTest, PrivateAgentWithoutKeyIsRefused) {
  test::FakeElevenLabsScript script;
  test::FakeElevenLabs fake(script);
  auto settings = settings_for(fake, script);
  settings.api_key.clear();
  auto agent = make_elevenlabs_realtime(connector_, http_, settings);
  auto r = start(*agent);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(Errc::unauthorized));
}

TEST_F(ElevenLabsRealtimeTest, UnknownAgentIsUpstreamError) {
  test::FakeElevenLabsScript script;
  test::FakeElevenLabs fake(script);
  auto settings = settings_for(fake, script);
  settings.agent_id = "agent_other";
  auto agent = make_elevenlabs_realtime(connector_, http_, settings);
  auto r = start(*agent);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(Errc::upstream_error));
}

TEST_F(ElevenLabsRealtimeTest, MissingAgentIdIsConfigInvalid) {
  ElevenLabsRealtimeSettings settings;
  auto agent = make_elevenlabs_realtime(connector_, http_, settings);
  auto r = start(*agent);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(Errc::config_invalid));
}

}  // namespace
}  // namespace ivr::providers::realtime
