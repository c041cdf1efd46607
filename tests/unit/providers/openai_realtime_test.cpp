#include "ivr/providers/realtime/openai_realtime.hpp"

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

#include "fakes/fake_openai_realtime.hpp"
#include "ivr/core/secret_box.hpp"
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
  return test_driver::caller_turn(24000, loud_ms, quiet_ms);
}

SessionConfig basic_config() {
  SessionConfig c;
  c.instructions = "You are the secretary of ACME.";
  c.language = "pt-BR";
  c.tools.push_back({"transfer_call", "Transfer the caller",
                     R"({"type":"object","properties":{"target":{"type":"string"}},"required":["target"]})"});
  c.tools.push_back({"end_call", "Hang up", R"({"type":"object","properties":{}})"});
  return c;
}

class OpenAiRealtimeTest : public ::testing::Test {
 protected:
  OpenAiRealtimeSettings settings_for(const test::FakeOpenAiRealtime& fake,
                                      const test::FakeRealtimeScript& s) {
    OpenAiRealtimeSettings st;
    st.url = fake.url();
    st.model = s.model;
    st.api_key = s.api_key;
    st.shape = s.beta ? OpenAiRealtimeSettings::Shape::beta : OpenAiRealtimeSettings::Shape::ga;
    st.azure = s.azure;
    st.connect_timeout = 2s;
    st.session_timeout = 2s;
    return st;
  }

  Result<void> start(RealtimeAgent& agent, SessionConfig config = basic_config()) {
    return test::run(io_, agent.start(std::move(config)), 10s);
  }

  asio::io_context io_;
  net::WebSocketConnector connector_{io_};
};

// ---- sans-I/O ----

TEST(OpenAiWire, AudioAppendIsExactJsonAroundBase64) {
  std::string out;
  openai_wire::append_audio_event(out, std::string("\x01\x02\x03\xff", 4));
  EXPECT_EQ(out, R"({"type":"input_audio_buffer.append","audio":"AQID/w=="})");
  const json parsed = json::parse(out);
  EXPECT_EQ(base64_decode(parsed["audio"].get<std::string>()).value(), std::string("\x01\x02\x03\xff", 4));
}

TEST(OpenAiWire, ParsesGaAndBetaAudioAndSkipsBadEvents) {
  auto parser = openai_wire::make_event_parser();
  AgentEvent e;
  std::string ga =
      R"({"type":"response.output_audio.delta","response_id":"r","item_id":"item_1","output_index":0,)"
      R"("content_index":0,"delta":"AQID\/w=="})";  // an escaped '/' is still base64
  ASSERT_TRUE(openai_wire::parse_event(*parser, ga, e));
  EXPECT_EQ(e.kind, Kind::audio);
  EXPECT_EQ(e.item_id, "item_1");
  EXPECT_EQ(e.audio, std::string("\x01\x02\x03\xff", 4));
  std::string beta = R"({"delta":"AAA=","type":"response.audio.delta","item_id":"i2"})";  // any field order
  ASSERT_TRUE(openai_wire::parse_event(*parser, beta, e));
  EXPECT_EQ(e.audio, std::string(2, '\0'));
  EXPECT_EQ(e.item_id, "i2");

  for (std::string bad :
       {std::string(""), std::string("nope"), std::string("[]"), std::string(R"({"type":1})"),
        std::string(R"({"type":"response.output_audio.delta","item_id":"x"})"),
        std::string(R"({"type":"response.output_audio.delta","item_id":"x","delta":"@@"})"),
        std::string(R"({"type":"response.output_audio.delta","item_id":"x","delta":"AAA"})"),
        std::string(R"({"type":"response.output_audio.delta","item_id":"x","delta":)"),
        std::string(R"({"type":"error","error":"x"})"),
        std::string(R"({"type":"response.function_call_arguments.done","call_id":"c"})"),
        std::string(R"({"type":"rate_limits.updated","rate_limits":[]})"),
        std::string(R"({"type":"response.created","response":{}})")}) {
    EXPECT_FALSE(openai_wire::parse_event(*parser, bad, e)) << bad;
  }
}

TEST(OpenAiWire, MapsTheOtherServerEvents) {
  auto parser = openai_wire::make_event_parser();
  AgentEvent e;
  std::string session_event;
  std::string created = R"({"type":"session.created","session":{}})";
  EXPECT_FALSE(openai_wire::parse_event(*parser, created, e, &session_event));
  EXPECT_EQ(session_event, "session.created");

  std::string s1 = R"({"type":"input_audio_buffer.speech_started","audio_start_ms":10,"item_id":"u1"})";
  ASSERT_TRUE(openai_wire::parse_event(*parser, s1, e));
  EXPECT_EQ(e.kind, Kind::speech_started);
  EXPECT_EQ(e.item_id, "u1");
  std::string s2 = R"({"type":"input_audio_buffer.speech_stopped"})";
  ASSERT_TRUE(openai_wire::parse_event(*parser, s2, e));
  EXPECT_EQ(e.kind, Kind::speech_stopped);
  std::string ut = R"({"type":"conversation.item.input_audio_transcription.completed","item_id":"u1",)"
                   R"("content_index":0,"transcript":"ol\u00e1"})";
  ASSERT_TRUE(openai_wire::parse_event(*parser, ut, e));
  EXPECT_EQ(e.kind, Kind::user_transcript);
  EXPECT_EQ(e.text, "olá");
  for (std::string at :
       {std::string(R"({"type":"response.output_audio_transcript.done","item_id":"a","transcript":"hi"})"),
        std::string(R"({"type":"response.audio_transcript.done","item_id":"a","transcript":"hi"})")}) {
    ASSERT_TRUE(openai_wire::parse_event(*parser, at, e));
    EXPECT_EQ(e.kind, Kind::agent_transcript);
    EXPECT_EQ(e.text, "hi");
  }
  for (std::string done : {std::string(R"({"type":"response.output_audio.done","item_id":"a"})"),
                           std::string(R"({"type":"response.audio.done","item_id":"a"})")}) {
    ASSERT_TRUE(openai_wire::parse_event(*parser, done, e));
    EXPECT_EQ(e.kind, Kind::audio_done);
    EXPECT_EQ(e.item_id, "a");
  }
  std::string err =
      R"({"type":"error","error":{"type":"invalid_request_error","code":"bad_thing","message":"no"}})";
  ASSERT_TRUE(openai_wire::parse_event(*parser, err, e));
  EXPECT_EQ(e.kind, Kind::error);
  EXPECT_EQ(e.text, "bad_thing: no");

  // A tool call whose done event lacks `name`: taken from response.output_item.added.
  std::string added = R"({"type":"response.output_item.added","item":{"id":"f1","type":"function_call",)"
                      R"("name":"end_call","call_id":"call_9","arguments":""}})";
  EXPECT_FALSE(openai_wire::parse_event(*parser, added, e));
  std::string done = R"({"type":"response.function_call_arguments.done","item_id":"f1","call_id":"call_9",)"
                     R"("arguments":"{\"reason\":\"bye\"}"})";
  ASSERT_TRUE(openai_wire::parse_event(*parser, done, e));
  EXPECT_EQ(e.kind, Kind::tool_call);
  EXPECT_EQ(e.name, "end_call");
  EXPECT_EQ(e.call_id, "call_9");
  EXPECT_EQ(e.arguments_json, R"({"reason":"bye"})");
}

TEST(OpenAiWire, SessionUpdateShapes) {
  OpenAiRealtimeSettings s;
  s.voice = "marin";
  const json ga = json::parse(openai_wire::session_update(basic_config(), s));
  EXPECT_EQ(ga["type"], "session.update");
  const json& gs = ga["session"];
  EXPECT_EQ(gs["type"], "realtime");
  EXPECT_EQ(gs["instructions"], "You are the secretary of ACME.");
  EXPECT_EQ(gs["output_modalities"], json::array({"audio"}));
  EXPECT_EQ(gs["audio"]["input"]["format"], (json{{"type", "audio/pcm"}, {"rate", 24000}}));
  EXPECT_EQ(gs["audio"]["output"]["format"], (json{{"type", "audio/pcm"}, {"rate", 24000}}));
  EXPECT_EQ(gs["audio"]["output"]["voice"], "marin");
  const json& td = gs["audio"]["input"]["turn_detection"];
  EXPECT_EQ(td["type"], "server_vad");
  EXPECT_EQ(td["create_response"], true);
  EXPECT_EQ(td["interrupt_response"], true);
  EXPECT_EQ(td["silence_duration_ms"], 500);
  EXPECT_EQ(td["prefix_padding_ms"], 300);
  EXPECT_DOUBLE_EQ(td["threshold"].get<double>(), 0.5);
  EXPECT_EQ(gs["audio"]["input"]["transcription"], (json{{"model", "whisper-1"}, {"language", "pt"}}));
  ASSERT_EQ(gs["tools"].size(), 2u);
  EXPECT_EQ(
      gs["tools"][0],
      json::parse(
          R"({"type":"function","name":"transfer_call","description":"Transfer the caller",)"
          R"("parameters":{"type":"object","properties":{"target":{"type":"string"}},"required":["target"]}})"));
  EXPECT_EQ(gs["tool_choice"], "auto");
  EXPECT_FALSE(gs.contains("input_audio_format"));

  s.shape = OpenAiRealtimeSettings::Shape::beta;
  s.input_encoding = AudioEncoding::g711_ulaw;
  s.output_encoding = AudioEncoding::g711_alaw;
  const json beta = json::parse(openai_wire::session_update(basic_config(), s));
  const json& bs = beta["session"];
  EXPECT_FALSE(bs.contains("type"));
  EXPECT_FALSE(bs.contains("audio"));
  EXPECT_EQ(bs["modalities"], json::array({"text", "audio"}));
  EXPECT_EQ(bs["voice"], "marin");
  EXPECT_EQ(bs["input_audio_format"], "g711_ulaw");
  EXPECT_EQ(bs["output_audio_format"], "g711_alaw");
  EXPECT_EQ(bs["input_audio_transcription"]["model"], "whisper-1");
  EXPECT_EQ(bs["turn_detection"]["type"], "server_vad");
  EXPECT_EQ(bs["tools"].size(), 2u);
}

// ---- against the fake server ----

TEST_F(OpenAiRealtimeTest, GaHandshakeAndSessionUpdate) {
  test::FakeRealtimeScript script;
  test::FakeOpenAiRealtime fake(script);
  auto agent = make_openai_realtime(connector_, settings_for(fake, script));
  ASSERT_TRUE(start(*agent));
  EXPECT_EQ(agent->input_format().sample_rate, 24000);
  EXPECT_EQ(agent->output_format().encoding, AudioEncoding::pcm16);

  const auto hs = fake.handshakes();
  ASSERT_EQ(hs.size(), 1u);
  EXPECT_EQ(hs[0].target, "/v1/realtime?model=gpt-realtime");
  EXPECT_EQ(hs[0].header("authorization"), "Bearer " + script.api_key);
  EXPECT_EQ(hs[0].header("openai-beta"), "");
  EXPECT_EQ(hs[0].header("api-key"), "");
  const auto updates = fake.client_events_of("session.update");
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(json::parse(updates[0])["session"]["type"], "realtime");
  EXPECT_EQ(fake.client_events().size(), 1u);  // no greeting configured: nothing else sent
  test::run(io_, agent->close());
  test::run(io_, agent->close());  // idempotent
  auto after = test::run(io_, agent->next_event());
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error(), make_error_code(Errc::cancelled));
}

TEST_F(OpenAiRealtimeTest, BetaHandshakeSendsTheBetaHeaderAndFlatSession) {
  test::FakeRealtimeScript script;
  script.beta = true;
  test::FakeOpenAiRealtime fake(script);
  auto agent = make_openai_realtime(connector_, settings_for(fake, script));
  ASSERT_TRUE(start(*agent));
  const auto hs = fake.handshakes();
  ASSERT_EQ(hs.size(), 1u);
  EXPECT_EQ(hs[0].header("openai-beta"), "realtime=v1");
  EXPECT_EQ(hs[0].header("authorization"), "Bearer " + script.api_key);
  const json update = json::parse(fake.client_events_of("session.update").at(0));
  EXPECT_EQ(update["session"]["input_audio_format"], "pcm16");
}

TEST_F(OpenAiRealtimeTest, AzureFormUsesDeploymentQueryAndApiKeyHeader) {
  test::FakeRealtimeScript script;
  script.azure = true;
  script.beta = true;
  script.model = "my-realtime-deployment";
  script.path = "/openai/realtime";
  test::FakeOpenAiRealtime fake(script);
  auto settings = settings_for(fake, script);
  settings.azure_api_version = "2025-04-01-preview";
  auto agent = make_openai_realtime(connector_, settings);
  ASSERT_TRUE(start(*agent));
  const auto hs = fake.handshakes();
  ASSERT_EQ(hs.size(), 1u);
  EXPECT_EQ(hs[0].target,
            "/openai/realtime?api-version=2025-04-01-preview&deployment=my-realtime-deployment");
  EXPECT_EQ(hs[0].header("api-key"), script.api_key);
  EXPECT_EQ(hs[0].header("authorization"), "");
  EXPECT_EQ(hs[0].header("openai-beta"), "realtime=v1");
}

TEST_F(OpenAiRealtimeTest, AzureGaFormUsesModelQueryAndApiKeyHeader) {
  test::FakeRealtimeScript script;
  script.azure = true;
  script.model = "my-gpt-realtime";
  script.path = "/openai/v1/realtime";
  test::FakeOpenAiRealtime fake(script);
  auto settings = settings_for(fake, script);
  settings.azure_api_version.clear();
  auto agent = make_openai_realtime(connector_, settings);
  ASSERT_TRUE(start(*agent));
  const auto hs = fake.handshakes();
  ASSERT_EQ(hs.size(), 1u);
  EXPECT_EQ(hs[0].target, "/openai/v1/realtime?model=my-gpt-realtime");
  EXPECT_EQ(hs[0].header("api-key"), script.api_key);
  EXPECT_EQ(hs[0].header("authorization"), "");
  EXPECT_EQ(json::parse(fake.client_events_of("session.update").at(0))["session"]["type"], "realtime");
}

TEST_F(OpenAiRealtimeTest, G711PassthroughFormats) {
  test::FakeRealtimeScript script;
  test::FakeOpenAiRealtime fake(script);
  auto settings = settings_for(fake, script);
  settings.input_encoding = AudioEncoding::g711_ulaw;
  settings.output_encoding = AudioEncoding::g711_ulaw;
  auto agent = make_openai_realtime(connector_, settings);
  ASSERT_TRUE(start(*agent));
  EXPECT_EQ(agent->input_format().encoding, AudioEncoding::g711_ulaw);
  EXPECT_EQ(agent->input_format().sample_rate, 8000);
  const json update = json::parse(fake.client_events_of("session.update").at(0));
  EXPECT_EQ(update["session"]["audio"]["input"]["format"], (json{{"type", "audio/pcmu"}}));
  EXPECT_EQ(update["session"]["audio"]["output"]["format"], (json{{"type", "audio/pcmu"}}));
}

TEST_F(OpenAiRealtimeTest, WholeTurnWhileAnotherCoroutineSendsAudio) {
  test::FakeRealtimeScript script;
  script.delta_count = 4;
  test::FakeOpenAiRealtime fake(script);
  auto agent = make_openai_realtime(connector_, settings_for(fake, script));
  ASSERT_TRUE(start(*agent));

  const auto frames = caller_turn(200, 300);
  int failures = 0;
  const Collected got = test::run(io_, converse(*agent, frames, Kind::audio_done, &failures), 10s);
  ASSERT_FALSE(got.error) << got.error.message();
  EXPECT_EQ(failures, 0);
  const std::vector<Kind> expected = {
      Kind::speech_started, Kind::speech_stopped, Kind::user_transcript,  Kind::audio,     Kind::audio,
      Kind::audio,          Kind::audio,          Kind::agent_transcript, Kind::audio_done};
  EXPECT_EQ(kinds(got.events), expected);
  std::string audio;
  for (const auto& e : got.events) {
    if (e.kind == Kind::audio) {
      audio += e.audio;
      EXPECT_EQ(e.item_id, "item_resp_1");
    }
  }
  EXPECT_EQ(audio, fake.audio_sent());
  EXPECT_EQ(audio.size(), 4u * 100 * 48);
  EXPECT_EQ(got.events[2].text, script.user_transcript);
  EXPECT_EQ(got.events[7].text, script.agent_transcript);
  EXPECT_EQ(got.events.back().item_id, "item_resp_1");

  // Every frame arrived, base64 round-trip exact. The sender may still be on its last frames when the
  // response ends (the fake answers once its VAD saw enough silence): give it the time to finish.
  std::string sent;
  for (const auto& f : frames) sent += f;
  for (int i = 0; i < 200 && fake.audio_received().size() < sent.size(); ++i) test::run(io_, sleep_for(10ms));
  EXPECT_EQ(fake.audio_received().substr(0, sent.size()), sent);
  const auto appends = fake.client_events_of("input_audio_buffer.append");
  ASSERT_FALSE(appends.empty());
  EXPECT_EQ(appends[0],
            R"({"type":"input_audio_buffer.append","audio":")" + base64_encode(frames[0]) + R"("})");
  test::run(io_, agent->close());
}

TEST_F(OpenAiRealtimeTest, GreetingAsksForAResponse) {
  test::FakeRealtimeScript script;
  script.delta_count = 2;
  test::FakeOpenAiRealtime fake(script);
  auto agent = make_openai_realtime(connector_, settings_for(fake, script));
  auto config = basic_config();
  config.greeting = "Olá, ACME, bom dia!";
  ASSERT_TRUE(start(*agent, config));
  const Collected got = test::run(io_, collect_until(*agent, Kind::audio_done), 10s);
  ASSERT_FALSE(got.error);
  const auto creates = fake.client_events_of("response.create");
  ASSERT_EQ(creates.size(), 1u);
  const std::string instructions = json::parse(creates[0])["response"]["instructions"];
  EXPECT_NE(instructions.find("Olá, ACME, bom dia!"), std::string::npos);
  EXPECT_EQ(kinds(got.events).front(), Kind::audio);
}

TEST_F(OpenAiRealtimeTest, ToolCallRoundTrip) {
  test::FakeRealtimeScript script;
  script.tool_call = test::FakeToolCall{};
  script.delta_count = 2;
  test::FakeOpenAiRealtime fake(script);
  auto agent = make_openai_realtime(connector_, settings_for(fake, script));
  ASSERT_TRUE(start(*agent));
  int failures = 0;
  const Collected first =
      test::run(io_, converse(*agent, caller_turn(200, 300), Kind::tool_call, &failures), 10s);
  ASSERT_FALSE(first.error);
  const AgentEvent& call = first.events.back();
  EXPECT_EQ(call.name, "transfer_call");
  EXPECT_EQ(call.call_id, "call_fake_1");
  EXPECT_EQ(call.arguments_json, R"({"target":"sales"})");

  ASSERT_TRUE(test::run(io_, agent->send_tool_result(call.call_id, R"({"ok":true})")));
  const Collected after = test::run(io_, collect_until(*agent, Kind::audio_done), 10s);
  ASSERT_FALSE(after.error) << after.error.message();
  EXPECT_EQ(kinds(after.events).front(), Kind::audio);

  const auto items = fake.client_events_of("conversation.item.create");
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(json::parse(items[0]),
            json::parse(R"({"type":"conversation.item.create","item":{"type":"function_call_output",)"
                        R"("call_id":"call_fake_1","output":"{\"ok\":true}"}})"));
  const auto events = fake.client_events();
  // function_call_output first, then response.create.
  std::vector<std::string> control;
  for (const auto& e : events) {
    const std::string type = json::parse(e)["type"];
    if (type != "input_audio_buffer.append") control.push_back(type);
  }
  const std::vector<std::string> expected = {"session.update", "conversation.item.create", "response.create"};
  EXPECT_EQ(control, expected);
}

TEST_F(OpenAiRealtimeTest, TruncateSendsTheExactEvent) {
  test::FakeRealtimeScript script;
  test::FakeOpenAiRealtime fake(script);
  auto agent = make_openai_realtime(connector_, settings_for(fake, script));
  ASSERT_TRUE(start(*agent));
  ASSERT_TRUE(test::run(io_, agent->truncate("item_resp_1", 1234)));
  test::run(io_, sleep_for(100ms));
  ASSERT_EQ(fake.truncations(), std::vector<std::int64_t>{1234});
  EXPECT_EQ(json::parse(fake.client_events_of("conversation.item.truncate").at(0)),
            json::parse(R"({"type":"conversation.item.truncate","item_id":"item_resp_1","content_index":0,)"
                        R"("audio_end_ms":1234})"));
  EXPECT_EQ(fake.client_event_count("conversation.item.truncate"), 1u);
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
      // The caller talks over the agent.
      interrupted = true;
      asio::co_spawn(ex, send_frames(agent, caller_turn(200, 0), failures), asio::detached);
    }
    if (interrupted && e->kind == Kind::speech_started) co_return out;
  }
}

TEST_F(OpenAiRealtimeTest, BargeInSpeechStartedArrivesDuringPlayback) {
  test::FakeRealtimeScript script;
  script.delta_count = 50;
  script.delta_gap = 20ms;
  test::FakeOpenAiRealtime fake(script);
  auto agent = make_openai_realtime(connector_, settings_for(fake, script));
  ASSERT_TRUE(start(*agent));
  int failures = 0;
  const Collected got = test::run(io_, barge_in(*agent, &failures), 15s);
  ASSERT_FALSE(got.error) << got.error.message();
  const auto k = kinds(got.events);
  EXPECT_EQ(std::count(k.begin(), k.end(), Kind::speech_started), 2);
  EXPECT_EQ(std::count(k.begin(), k.end(), Kind::audio_done), 0);  // cut before the end of the item
  ASSERT_TRUE(test::run(io_, agent->truncate("item_resp_1", 40)));
  test::run(io_, sleep_for(200ms));
  EXPECT_EQ(fake.truncations(), std::vector<std::int64_t>{40});
  const auto types = fake.server_event_types();
  EXPECT_LT(std::count(types.begin(), types.end(), std::string("response.output_audio.delta")), 50);
}

TEST_F(OpenAiRealtimeTest, ProviderDropMidCallEndsTheSessionWithUnavailable) {
  test::FakeRealtimeScript script;
  script.delta_count = 10;
  script.drop_after_deltas = 2;
  test::FakeOpenAiRealtime fake(script);
  auto agent = make_openai_realtime(connector_, settings_for(fake, script));
  ASSERT_TRUE(start(*agent));
  int failures = 0;
  const Collected got =
      test::run(io_, converse(*agent, caller_turn(200, 300), Kind::audio_done, &failures), 10s);
  ASSERT_TRUE(got.error);
  EXPECT_EQ(got.error, make_error_code(Errc::unavailable));
  const auto k = kinds(got.events);
  EXPECT_EQ(std::count(k.begin(), k.end(), Kind::audio), 2);
  auto sent = test::run(io_, agent->send_audio("abcd"));
  EXPECT_FALSE(sent);
}

TEST_F(OpenAiRealtimeTest, GarbageEventsAreSkipped) {
  test::FakeRealtimeScript script;
  script.garbage_in_response = true;
  script.delta_count = 2;
  test::FakeOpenAiRealtime fake(script);
  auto agent = make_openai_realtime(connector_, settings_for(fake, script));
  ASSERT_TRUE(start(*agent));
  fake.send_raw("{ not json at all");
  int failures = 0;
  const Collected got =
      test::run(io_, converse(*agent, caller_turn(200, 300), Kind::audio_done, &failures), 10s);
  ASSERT_FALSE(got.error) << got.error.message();
  const std::vector<Kind> expected = {Kind::speech_started, Kind::speech_stopped, Kind::user_transcript,
                                      Kind::audio,          Kind::audio,          Kind::agent_transcript,
                                      Kind::audio_done};
  EXPECT_EQ(kinds(got.events), expected);
}

TEST_F(OpenAiRealtimeTest, ProviderErrorEventIsNotFatal) {
  test::FakeRealtimeScript script;
  test::FakeOpenAiRealtime fake(script);
  auto agent = make_openai_realtime(connector_, settings_for(fake, script));
  ASSERT_TRUE(start(*agent));
  fake.send_raw(R"({"type":"error","error":{"type":"server_error","code":null,"message":"try again"}})");
  fake.send_raw(R"({"type":"input_audio_buffer.speech_started","item_id":"u9"})");
  auto e1 = test::run(io_, agent->next_event());
  ASSERT_TRUE(e1);
  EXPECT_EQ(e1->kind, Kind::error);
  EXPECT_EQ(e1->text, "server_error: try again");
  auto e2 = test::run(io_, agent->next_event());
  ASSERT_TRUE(e2);
  EXPECT_EQ(e2->kind, Kind::speech_started);
}

TEST_F(OpenAiRealtimeTest, WrongKeyIsUnauthorized) {
  test::FakeRealtimeScript script;
  test::FakeOpenAiRealtime fake(script);
  auto settings = settings_for(fake, script);
  settings.api_key = "sk-wrong";
  auto agent = make_openai_realtime(connector_, settings);
  auto r = start(*agent);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(Errc::unauthorized));
}

TEST_F(OpenAiRealtimeTest, RefusedUpgradeIsUpstreamError) {
  test::FakeRealtimeScript script;
  script.reject_status = 500;
  test::FakeOpenAiRealtime fake(script);
  auto agent = make_openai_realtime(connector_, settings_for(fake, script));
  auto r = start(*agent);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(Errc::upstream_error));
}

TEST_F(OpenAiRealtimeTest, ConnectRefusedIsUnavailableQuickly) {
  std::string url;
  {
    test::FakeOpenAiRealtime gone;
    url = gone.url();
  }
  OpenAiRealtimeSettings settings;
  settings.url = url;
  settings.api_key = "k";
  auto agent = make_openai_realtime(connector_, settings);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = start(*agent);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(Errc::unavailable));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
}

TEST_F(OpenAiRealtimeTest, HandshakeTimeout) {
  test::FakeRealtimeScript script;
  script.hang_handshake = true;
  test::FakeOpenAiRealtime fake(script);
  auto settings = settings_for(fake, script);
  settings.connect_timeout = 300ms;
  auto agent = make_openai_realtime(connector_, settings);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = start(*agent);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(Errc::timeout));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
}

TEST_F(OpenAiRealtimeTest, SessionUpdateNeverAnsweredTimesOut) {
  test::FakeRealtimeScript script;
  script.ignore_session_update = true;
  test::FakeOpenAiRealtime fake(script);
  auto settings = settings_for(fake, script);
  settings.session_timeout = 300ms;
  auto agent = make_openai_realtime(connector_, settings);
  auto r = start(*agent);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(Errc::timeout));
}

TEST_F(OpenAiRealtimeTest, ShapeMismatchIsRefused) {
  // A GA client against a beta-only server: the server wants the OpenAI-Beta header.
  test::FakeRealtimeScript script;
  script.beta = true;
  test::FakeOpenAiRealtime fake(script);
  auto settings = settings_for(fake, script);
  settings.shape = OpenAiRealtimeSettings::Shape::ga;
  auto agent = make_openai_realtime(connector_, settings);
  auto r = start(*agent);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(Errc::upstream_error));
}

}  // namespace
}  // namespace ivr::providers::realtime
