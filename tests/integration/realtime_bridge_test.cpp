// The realtime bridge end to end in one process: WS /stream/{call_uuid} behind the real HTTP server, tenant
// checks against the real PostgreSQL, a mod_audio_stream emulator as FreeSWITCH's side, a scripted
// realtime agent as the provider and a fake Event Socket server as FreeSWITCH's control port. What a
// caller goes through: the greeting paced back as streamAudio, a barge-in (playback cut, the agent's item
// truncated at what was heard), a transfer by tool call reaching ESL as the exact uuid_transfer line, the
// call recorded and finalised; and the failure paths (no agent → fallback extension, an agent dropping
// mid-call → the next one, refused handshakes, bad frames).

#include <chrono>
#include <functional>
#include <future>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json.hpp>

#include "fakes/fake_elevenlabs.hpp"
#include "fakes/fake_esl_server.hpp"
#include "fakes/fake_openai_realtime.hpp"
#include "fakes/fake_vendor_server.hpp"
#include "fakes/mod_audio_stream_emulator.hpp"
#include "fakes/scripted_realtime_agent.hpp"
#include "ivr/api/stream_routes.hpp"
#include "ivr/api/tenant_guard.hpp"
#include "ivr/conversation/call_admission.hpp"
#include "ivr/conversation/call_service.hpp"
#include "ivr/conversation/chat_service.hpp"
#include "ivr/conversation/hangup_finaliser.hpp"
#include "ivr/conversation/knowledge.hpp"
#include "ivr/conversation/pipeline_agent.hpp"
#include "ivr/conversation/provider_registry.hpp"
#include "ivr/core/ids.hpp"
#include "ivr/core/metrics.hpp"
#include "ivr/net/http_client.hpp"
#include "ivr/net/http_server.hpp"
#include "ivr/net/websocket_client.hpp"
#include "ivr/providers/fallback.hpp"
#include "ivr/providers/realtime/elevenlabs_realtime.hpp"
#include "ivr/providers/realtime/openai_realtime.hpp"
#include "ivr/providers/tts.hpp"
#include "ivr/store/calls.hpp"
#include "ivr/store/database.hpp"
#include "ivr/store/repositories.hpp"
#include "ivr/store/secretaries.hpp"
#include "ivr/telephony/node_registry.hpp"
#include "ivr/webhooks/outbox.hpp"
#include "support/temporary_database.hpp"
#include "support/test_env.hpp"

namespace ivr {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kHangupGrace = 400ms;

class RealtimeBridgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    temp_ = std::make_unique<test::TemporaryDatabase>("test_rt_");
    db_ = std::make_unique<store::Database>(pool_, temp_->config());
    store::BlockingAdmin admin(*db_);
    auto domain = admin.blocking_add_domain("clinica.example.com", std::nullopt);
    ASSERT_TRUE(domain);
    domain_ = domain->uuid;
    auto token = admin.blocking_create_token(store::TokenScope::call, std::nullopt, "fs1");
    ASSERT_TRUE(token);
    token_ = token->token;

    tokens_ = store::make_pg_token_store(*db_);
    domains_ = store::make_pg_domain_directory(*db_, store::DomainSource::standalone);
    RateLimitSettings limits;
    limits.enabled = false;
    guard_ = std::make_unique<api::TenantGuard>(*tokens_, *domains_, nullptr, limits, metrics_);
    secretary_repo_ = std::make_unique<store::SecretaryRepository>(*db_);
    secretaries_ = std::make_unique<conversation::SecretaryDirectory>(*secretary_repo_);
    call_repo_ = std::make_unique<store::CallRepository>(*db_);
    webhooks::WebhookSenderConfig sender_config;
    sender_ = std::make_unique<webhooks::WebhookSender>(io_, *db_, http_, sender_config);
    calls_ = std::make_unique<conversation::CallService>(*call_repo_, *secretaries_, *sender_);

    conversation::Secretary s = conversation::default_secretary(domain_, "clinica.example.com");
    s.name = "Tempo real";
    s.is_default = false;
    s.mode = "realtime";
    s.transfer_targets = {{"vendas", "1001"}, {"financeiro", "1002"}};
    s.fallback_extension = "1000";
    s.webhook_url = "http://127.0.0.1:9/hook";  // never reached: the test reads the outbox row
    auto created = test::run(io_, secretary_repo_->create(conversation::to_record(s)));
    ASSERT_TRUE(created) << created.error().message();
    secretary_id_ = created->id;

    esl_ = std::make_unique<test::FakeEslServer>();
    nodes_ = std::make_unique<telephony::EslNodeRegistry>(
        io_, std::vector<telephony::EslNode>{{"default", "127.0.0.1", esl_->port(), "ClueCon"}},
        esl_options());
    nodes_->on_custom("mod_audio_stream::play", [this](std::string_view, const telephony::EslEvent& event) {
      const auto body = nlohmann::json::parse(event.body, nullptr, false);
      if (body.is_object()) live_calls_.deliver_file(std::string(event.unique_id()), body.value("file", ""));
    });
    // As the daemon wires it (src/app/application.cpp).
    hangups_ = std::make_unique<conversation::HangupFinaliser>(
        io_.get_executor(), live_calls_, *calls_, conversation::HangupFinaliserOptions{kHangupGrace});
    nodes_->on_hangup([this](std::string_view node, std::string_view uuid, const telephony::EslEvent& event) {
      hangups_->channel_hung_up(std::string(node), std::string(uuid),
                                std::string(event.header("variable_domain_uuid")));
    });
    nodes_->start();

    conversation::CallSessionOptions options;
    options.caller_idle_timeout = 5s;
    options.action_wait = 3s;
    auto deps = std::make_shared<api::StreamDependencies>(api::StreamDependencies{
        *guard_, *secretaries_,
        conversation::CallSessionDeps{
            [this](const conversation::Secretary&, std::size_t attempt) { return make_agent(attempt); },
            nullptr, &live_calls_, *calls_, *call_repo_, knowledge_, &metrics_, options},
        nodes_.get(), 16'000});
    stream_deps_ = deps;
    api::register_stream_routes(router_, deps);
    net::ServerConfig server_config;
    server_config.port = 0;
    server_ = std::make_unique<net::HttpServer>(io_, router_, server_config);
    ASSERT_TRUE(server_->start());
    // Let the ESL client connect before calls need it.
    run_until([this] { return esl_->subscribed_connections() > 0; }, 5s);
  }

  void TearDown() override {
    if (stream_deps_) stream_deps_->admission = nullptr;  // its load source may be a test's local
    if (nodes_) nodes_->stop();
    if (server_) test::run(io_, server_->shutdown(500ms));
    io_.run_for(100ms);
    server_.reset();
    nodes_.reset();
    hangups_.reset();
    calls_.reset();
    sender_.reset();
    db_.reset();
    pool_.join();
    temp_.reset();
  }

  static telephony::EslClientOptions esl_options() {
    telephony::EslClientOptions o;
    o.subclasses = {"mod_audio_stream::play"};
    return o;
  }

  std::unique_ptr<providers::realtime::RealtimeAgent> make_agent(std::size_t attempt) {
    if (pipeline_) return attempt == 0 ? pipeline_() : nullptr;
    if (attempt >= scripts_.size()) return nullptr;
    records_.push_back(std::make_shared<test::AgentRecord>());
    return std::make_unique<test::ScriptedRealtimeAgent>(io_.get_executor(), scripts_[attempt],
                                                         records_.back());
  }

  // Runs the io_context until `done` or `limit`; returns done().
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto deadline = Clock::now() + limit;
    while (!done() && Clock::now() < deadline) {
      if (io_.stopped()) io_.restart();  // run_for() stops the context whenever it runs out of work
      io_.run_for(5ms);
    }
    return done();
  }

  // The emulator's handshake blocks its caller, and the server runs on this thread's io_context: start it
  // from another thread while this one runs the io_context.
  bool start(test::ModAudioStreamEmulator& fs) {
    auto started = std::async(std::launch::async, [&fs] { return fs.start(); });
    run_until([&] { return started.wait_for(0s) == std::future_status::ready; }, 15s);
    return started.get();
  }

  test::ModAudioStreamOptions stream_options() {
    test::ModAudioStreamOptions o;
    o.port = server_->port();
    o.call_uuid = random_uuid();
    o.query = "domain_uuid=" + domain_ + "&secretary_id=" + secretary_id_;
    o.extra_headers = {{"X-Api-Key", token_}};
    o.metadata = R"({"caller_id":"5511988887777"})";
    o.caller_audio.assign(16'000 * 3, 0);  // 3 s; the scripted agent only counts samples
    for (std::size_t i = 0; i < o.caller_audio.size(); ++i) {
      o.caller_audio[i] =
          static_cast<std::int16_t>(3000 * std::sin(2 * M_PI * 300.0 * static_cast<double>(i) / 16000));
    }
    o.silence_after = 3s;
    return o;
  }

  // The call's record once the session has finalised it (the socket closes first; the record follows):
  // waits up to 5 s for status `completed`, then returns what there is.
  std::optional<store::CallRecord> call_record(const std::string& call_uuid) {
    std::optional<store::CallRecord> record;
    run_until(
        [&] {
          auto got = test::run(io_, call_repo_->get(domain_, call_uuid));
          record = got ? *got : std::nullopt;
          return record && record->status == "completed";
        },
        5s);
    return record;
  }

  // CHANNEL_HANGUP_COMPLETE as FreeSWITCH sends it for a FusionPBX call (plain event, URL-encoded).
  void push_hangup(const std::string& call_uuid, const std::string& domain_uuid) {
    esl_->push_event({{"Event-Name", "CHANNEL_HANGUP_COMPLETE"},
                      {"Unique-ID", call_uuid},
                      {"Hangup-Cause", "NORMAL_CLEARING"},
                      {"variable_domain_uuid", domain_uuid},
                      {"variable_domain_name", "clinica.example.com"}});
  }

  int queued_webhooks(const std::string& call_uuid) {
    return temp_
        ->sql(
            "SELECT count(*) FROM webhook_outbox WHERE event = 'call_completed' AND payload->>'call_uuid' = "
            "'" +
            call_uuid + "'")[0][0]
        .as<int>();
  }

  std::string status_of(const std::string& call_uuid) {
    auto got = test::run(io_, call_repo_->get(domain_, call_uuid));
    return got && *got ? (*got)->status + "/" + (*got)->resolution : "missing";
  }

  bool transfer_sent(const std::string& line) {
    for (const auto& c : esl_->commands()) {
      if (c == line) return true;
    }
    return false;
  }

  // Before io_: sessions still suspended when a test fails early give their places back as io_ destroys
  // them. A test that sets stream_deps_->admission points it at one of these.
  std::list<conversation::CallAdmission> admissions_;
  boost::asio::io_context io_;
  boost::asio::thread_pool pool_{4};
  std::unique_ptr<test::TemporaryDatabase> temp_;
  std::unique_ptr<store::Database> db_;
  MetricsRegistry metrics_;
  net::HttpClient http_{io_};
  std::unique_ptr<store::TokenStore> tokens_;
  std::unique_ptr<store::DomainDirectory> domains_;
  std::unique_ptr<api::TenantGuard> guard_;
  std::unique_ptr<store::SecretaryRepository> secretary_repo_;
  std::unique_ptr<conversation::SecretaryDirectory> secretaries_;
  std::unique_ptr<store::CallRepository> call_repo_;
  std::unique_ptr<webhooks::WebhookSender> sender_;
  std::unique_ptr<conversation::CallService> calls_;
  conversation::NoKnowledgeBase knowledge_;
  conversation::LiveCalls live_calls_;
  std::unique_ptr<conversation::HangupFinaliser> hangups_;
  std::unique_ptr<test::FakeEslServer> esl_;
  std::unique_ptr<telephony::EslNodeRegistry> nodes_;
  net::Router router_;
  std::unique_ptr<net::HttpServer> server_;
  std::string domain_, token_, secretary_id_;
  std::vector<test::AgentScript> scripts_;
  std::function<std::unique_ptr<providers::realtime::RealtimeAgent>()> pipeline_;  // when set: the only agent
  std::vector<std::shared_ptr<test::AgentRecord>> records_;
  std::shared_ptr<api::StreamDependencies> stream_deps_;  // tests may set `admission`
};

TEST_F(RealtimeBridgeTest, GreetingBargeInAndATransferByToolCall) {
  scripts_.push_back({});  // 3 s greeting; after 1 s of caller audio: speech, then transfer_call(vendas)
  test::ModAudioStreamEmulator fs(stream_options());
  ASSERT_TRUE(start(fs)) << fs.error();

  ASSERT_TRUE(run_until([&] { return fs.closed(); }, 15s)) << "the daemon did not end the call";
  ASSERT_EQ(records_.size(), 1u);
  const auto& agent = *records_[0];
  EXPECT_TRUE(agent.started);
  EXPECT_TRUE(agent.closed);
  EXPECT_NE(agent.config.instructions.find("vendas"), std::string::npos);
  EXPECT_EQ(agent.config.greeting.empty(), false);

  // Barge-in: the greeting was cut where the caller had heard it (about 1 s in, never all 3 s).
  ASSERT_EQ(agent.truncates.size(), 1u);
  EXPECT_EQ(agent.truncates[0].first, "greeting");
  EXPECT_GT(agent.truncates[0].second, 500);
  EXPECT_LT(agent.truncates[0].second, 2000);
  // What FreeSWITCH received of the greeting: about what was heard plus the lead, far less than 3 s.
  const auto greeting_received = fs.received_samples().size();
  EXPECT_LT(greeting_received, static_cast<std::size_t>(16'000 * 2.7)) << "playback was not cut";

  // The tool call: allowed target, the exact ESL line, in the domain's context.
  ASSERT_EQ(agent.tool_results.size(), 1u);
  EXPECT_NE(agent.tool_results[0].second.find("\"ok\":true"), std::string::npos)
      << agent.tool_results[0].second;
  EXPECT_TRUE(transfer_sent("api uuid_transfer " + fs.call_uuid() + " 1001 XML clinica.example.com"));
  EXPECT_EQ(fs.close_code(), std::optional<std::uint16_t>(1000));

  // The call is recorded and finalised, with the webhook queued.
  auto call = call_record(fs.call_uuid());
  ASSERT_TRUE(call);
  EXPECT_EQ(call->mode, "realtime");
  EXPECT_EQ(call->status, "completed");
  EXPECT_EQ(call->resolution, "transferred");
  EXPECT_EQ(call->transferred_to, "1001");
  EXPECT_EQ(call->caller_id, "5511988887777");
  ASSERT_FALSE(call->messages.empty());
  EXPECT_EQ(call->messages[0].content, "Quero falar com vendas.");
  const auto stats = nlohmann::json::parse(call->stats_json);
  EXPECT_EQ(stats["agents"], nlohmann::json::array({"scripted"}));
  EXPECT_EQ(stats["barge_ins"], 1);
  EXPECT_GT(stats["frames_in"].get<int>(), 40);
  EXPECT_TRUE(stats.contains("first_audio_ms"));
  ASSERT_EQ(stats["barge_in_cutoff_ms"].size(), 1u);
  EXPECT_LE(stats["barge_in_cutoff_ms"][0].get<int>(), 150) << "stream mode: at most the lead, plus a frame";
  EXPECT_EQ(temp_
                ->sql("SELECT count(*) FROM webhook_outbox WHERE event = 'call_completed' AND "
                      "payload->>'call_uuid' = '" +
                      fs.call_uuid() + "'")[0][0]
                .as<int>(),
            1);
}

TEST_F(RealtimeBridgeTest, AHangupEventEndsTheLiveSessionAtOnce) {
  test::AgentScript quiet;
  quiet.speak_after_ms = 60'000;  // the agent never acts: only the hangup can end this call early
  scripts_.push_back(quiet);
  auto o = stream_options();
  o.silence_after = 20s;  // FreeSWITCH's socket would stay open well past the test
  test::ModAudioStreamEmulator fs(o);
  ASSERT_TRUE(start(fs)) << fs.error();
  ASSERT_TRUE(run_until([&] { return !fs.received_samples().empty(); }, 5s)) << "no greeting";
  // Frame counters are published while the call runs (about once a second), not only when it ends.
  auto& frames_in = metrics_.counter("ivr_realtime_frames_in_total", "Caller frames received on /stream");
  auto& messages_out =
      metrics_.counter("ivr_realtime_messages_out_total", "streamAudio messages sent on /stream");
  EXPECT_TRUE(run_until([&] { return frames_in.value() > 0 && messages_out.value() > 0; }, 3s))
      << "no frame counted during the call";
  EXPECT_FALSE(fs.closed());

  const auto hung_up = Clock::now();
  push_hangup(fs.call_uuid(), domain_);
  ASSERT_TRUE(run_until([&] { return fs.closed(); }, 3s)) << "the session outlived the channel";
  EXPECT_LT(Clock::now() - hung_up, 1s) << "the session waited for its socket instead";
  EXPECT_EQ(fs.close_code(), std::optional<std::uint16_t>(1000));
  ASSERT_EQ(records_.size(), 1u);
  EXPECT_TRUE(records_[0]->closed) << "the provider's socket must be closed with the call";

  auto call = call_record(fs.call_uuid());
  ASSERT_TRUE(call);
  EXPECT_EQ(call->status, "completed");
  EXPECT_EQ(call->resolution, "abandoned");
  EXPECT_EQ(queued_webhooks(fs.call_uuid()), 1);
  // The grace period's fallback finds the call completed and leaves it alone: still one webhook.
  run_until([] { return false; }, kHangupGrace + 300ms);
  EXPECT_EQ(queued_webhooks(fs.call_uuid()), 1);
  EXPECT_EQ(live_calls_.size(), 0u);
}

TEST_F(RealtimeBridgeTest, ASlowProviderCloseDoesNotOutliveTheCallsSocket) {
  // FreeSWITCH stops the stream while the provider takes its time closing (draining its socket): the
  // session must finish closing both before the route handler, which owns the /stream socket, returns.
  // Before, the closing ran detached and resumed on a destroyed socket (found at 500 bridged calls).
  test::AgentScript slow;
  slow.speak_after_ms = 60'000;
  slow.close_ms = 400;
  scripts_.push_back(slow);
  auto o = stream_options();
  o.silence_after = 20s;
  test::ModAudioStreamEmulator fs(o);
  ASSERT_TRUE(start(fs)) << fs.error();
  ASSERT_TRUE(run_until([&] { return !fs.received_samples().empty(); }, 5s)) << "no greeting";
  fs.hangup("caller hung up");
  ASSERT_TRUE(run_until([&] { return queued_webhooks(fs.call_uuid()) == 1; }, 5s)) << "never finalised";
  ASSERT_EQ(records_.size(), 1u);
  EXPECT_TRUE(records_[0]->close_finished) << "finalised before the provider's close completed";
  auto call = call_record(fs.call_uuid());
  ASSERT_TRUE(call);
  EXPECT_EQ(call->status, "completed");
  // Let anything still pending run: before the fix, the closing resumed here on the destroyed socket
  // ("pure virtual method called").
  run_until([] { return false; }, 600ms);
  EXPECT_EQ(live_calls_.size(), 0u);
}

TEST_F(RealtimeBridgeTest, AStreamThatFallsSilentIsEndedAfterTheIdleTimeout) {
  // FreeSWITCH stops sending (a stuck channel, a half-open TCP connection) without closing the socket: the
  // session's own idle check ends the call (the WebSocket layer's idle timer is off for sessions).
  test::AgentScript quiet;
  quiet.speak_after_ms = 60'000;
  scripts_.push_back(quiet);
  auto o = stream_options();
  o.caller_audio.resize(16'000 / 2);  // 0.5 s, then nothing
  o.silence_after = 0ms;
  test::ModAudioStreamEmulator fs(o);
  const auto started = Clock::now();
  ASSERT_TRUE(start(fs)) << fs.error();
  ASSERT_TRUE(run_until([&] { return fs.closed(); }, 12s)) << "the silent stream was never ended";
  const auto lasted = Clock::now() - started;
  EXPECT_GE(lasted, 5s) << "ended before the idle timeout (5 s in this fixture)";
  EXPECT_LT(lasted, 8s);
  auto call = call_record(fs.call_uuid());
  ASSERT_TRUE(call);
  EXPECT_EQ(call->resolution, "abandoned");
  EXPECT_TRUE(records_.at(0)->closed) << "the provider's socket must be closed with the call";
}

TEST_F(RealtimeBridgeTest, AHangupNobodyReportedFinalisesTheCallAfterTheGracePeriod) {
  // Calls whose end nobody will report: a turn-based call whose Lua script was killed, a realtime call
  // whose session died with a previous daemon. And one whose Lua script reports its end in time.
  const std::string orphan_turn = random_uuid(), orphan_realtime = random_uuid(), reported = random_uuid(),
                    other_domain_call = random_uuid();
  ASSERT_TRUE(test::run(io_, call_repo_->ensure(domain_, orphan_turn, secretary_id_, "2001", "turn")));
  ASSERT_TRUE(
      test::run(io_, call_repo_->ensure(domain_, orphan_realtime, secretary_id_, "2002", "realtime")));
  ASSERT_TRUE(test::run(io_, call_repo_->ensure(domain_, reported, secretary_id_, "2003", "turn")));
  ASSERT_TRUE(test::run(io_, call_repo_->ensure(domain_, other_domain_call, secretary_id_, "2004", "turn")));

  push_hangup(orphan_turn, domain_);
  push_hangup(orphan_realtime, domain_);
  push_hangup(reported, domain_);
  push_hangup(other_domain_call, random_uuid());  // names a domain the call is not in
  push_hangup(random_uuid(), domain_);            // a channel that never was an AI call
  push_hangup("not-a-uuid", "nor-this");          // garbage is ignored
  // The Lua script's hangup hook reports its call within the grace period.
  run_until([] { return false; }, kHangupGrace / 4);
  conversation::CallEndInput end;
  end.domain_uuid = domain_;
  end.call_uuid = reported;
  end.resolution = "transferred";
  end.transferred_to = "1001";
  ASSERT_TRUE(test::run(io_, calls_->end(end)));
  EXPECT_EQ(status_of(orphan_turn), "active/") << "finalised before the grace period ran out";

  ASSERT_TRUE(run_until([&] { return status_of(orphan_turn) == "completed/abandoned"; }, 5s))
      << status_of(orphan_turn);
  ASSERT_TRUE(run_until([&] { return status_of(orphan_realtime) == "completed/abandoned"; }, 5s))
      << status_of(orphan_realtime);
  run_until([] { return false; }, 300ms);
  EXPECT_EQ(status_of(reported), "completed/transferred") << "the report, not the fallback, decides";
  EXPECT_EQ(status_of(other_domain_call), "active/") << "a hangup naming another domain ended the call";
  EXPECT_EQ(queued_webhooks(orphan_turn), 1);
  EXPECT_EQ(queued_webhooks(orphan_realtime), 1);
  EXPECT_EQ(queued_webhooks(reported), 1);
  EXPECT_EQ(queued_webhooks(other_domain_call), 0);
  const auto payload = nlohmann::json::parse(
      temp_
          ->sql("SELECT payload::text FROM webhook_outbox WHERE payload->>'call_uuid' = '" + orphan_turn +
                "'")[0][0]
          .as<std::string>());
  EXPECT_EQ(payload.value("resolution", ""), "abandoned");
  EXPECT_EQ(payload.value("caller_id", ""), "2001");
}

TEST_F(RealtimeBridgeTest, FilePlaybackPlaysEachSegmentOverEslAndBargeInBreaksIt) {
  scripts_.push_back({});
  auto o = stream_options();
  o.file_mode = true;
  o.metadata = R"({"caller_id":"5511988887777","playback":"file"})";
  test::ModAudioStreamEmulator fs(o);
  ASSERT_TRUE(start(fs)) << fs.error();
  // Play what the module fires on the event bus through the fake Event Socket, as FreeSWITCH would.
  std::size_t forwarded = 0;
  auto forward_play_events = [&] {
    const auto events = fs.play_events();
    for (; forwarded < events.size(); ++forwarded) {
      esl_->push_event({{"Event-Name", "CUSTOM"},
                        {"Event-Subclass", "mod_audio_stream::play"},
                        {"Unique-ID", fs.call_uuid()}},
                       events[forwarded].body);
    }
    return fs.closed();
  };
  ASSERT_TRUE(run_until(forward_play_events, 15s));
  bool broadcast = false, broke = false;
  for (const auto& c : esl_->commands()) {
    broadcast = broadcast || c.rfind("api uuid_broadcast " + fs.call_uuid() + " /", 0) == 0;
    broke = broke || c == "api uuid_break " + fs.call_uuid() + " all";
  }
  EXPECT_TRUE(broadcast) << "no segment was played";
  EXPECT_TRUE(broke) << "the barge-in did not stop FreeSWITCH's playback";
  // Segments, not 20 ms chunks: each streamAudio becomes a file on the upstream module.
  ASSERT_FALSE(fs.audio().empty());
  EXPECT_GE(fs.audio()[0].samples.size(), 16'000u / 2);
  EXPECT_TRUE(transfer_sent("api uuid_transfer " + fs.call_uuid() + " 1001 XML clinica.example.com"));
}

TEST_F(RealtimeBridgeTest, AnUnknownTargetIsRefusedToTheModelAndNothingIsTransferred) {
  test::AgentScript script;
  script.tool_arguments = R"({"target":"diretoria"})";
  scripts_.push_back(script);
  test::ModAudioStreamEmulator fs(stream_options());
  ASSERT_TRUE(start(fs)) << fs.error();
  ASSERT_TRUE(run_until([&] { return !records_.empty() && !records_[0]->tool_results.empty(); }, 10s));
  EXPECT_NE(records_[0]->tool_results[0].second.find("allowed_targets"), std::string::npos);
  fs.hangup();
  ASSERT_TRUE(run_until(
      [&] {
        auto c = call_record(fs.call_uuid());
        return c && c->status == "completed";
      },
      10s));
  for (const auto& c : esl_->commands()) EXPECT_EQ(c.find("uuid_transfer"), std::string::npos) << c;
  EXPECT_EQ(call_record(fs.call_uuid())->resolution, "abandoned");
}

TEST_F(RealtimeBridgeTest, WithNoAgentTheCallerGoesToTheFallbackExtension) {
  test::AgentScript broken;
  broken.fail_start = true;
  scripts_.push_back(broken);  // then nothing: the chain is exhausted
  test::ModAudioStreamEmulator fs(stream_options());
  ASSERT_TRUE(start(fs)) << fs.error();
  ASSERT_TRUE(run_until([&] { return fs.closed(); }, 10s));
  EXPECT_TRUE(transfer_sent("api uuid_transfer " + fs.call_uuid() + " 1000 XML clinica.example.com"));
  EXPECT_EQ(call_record(fs.call_uuid())->resolution, "fallback");
}

TEST_F(RealtimeBridgeTest, AnAgentDroppingMidCallIsReplacedByTheNextOne) {
  test::AgentScript first;
  first.greeting_ms = 500;
  first.drop_after_events = 3;  // a few audio events, then the connection drops
  first.tool_name.clear();
  test::AgentScript second;
  second.greeting_ms = 0;
  second.speak_after_ms = 300;
  scripts_ = {first, second};
  test::ModAudioStreamEmulator fs(stream_options());
  ASSERT_TRUE(start(fs)) << fs.error();
  ASSERT_TRUE(run_until([&] { return fs.closed(); }, 15s));
  ASSERT_EQ(records_.size(), 2u);
  EXPECT_TRUE(records_[1]->started);
  EXPECT_TRUE(records_[1]->config.greeting.empty()) << "a replacement must not greet again";
  EXPECT_NE(records_[1]->config.instructions.find("already in progress"), std::string::npos);
  EXPECT_TRUE(transfer_sent("api uuid_transfer " + fs.call_uuid() + " 1001 XML clinica.example.com"));
}

TEST_F(RealtimeBridgeTest, RefusedHandshakesAndBadFrames) {
  scripts_.push_back({});
  {
    auto o = stream_options();
    o.extra_headers = {{"X-Api-Key", "not-a-token"}};
    test::ModAudioStreamEmulator fs(o);
    EXPECT_FALSE(start(fs));
    EXPECT_EQ(fs.http_status(), 401);
  }
  {
    auto o = stream_options();
    o.path = "/stream/not-a-uuid";
    test::ModAudioStreamEmulator fs(o);
    EXPECT_FALSE(start(fs));
    EXPECT_EQ(fs.http_status(), 422);
  }
  {
    auto o = stream_options();
    o.query = "domain_uuid=" + random_uuid();  // a domain that does not exist
    test::ModAudioStreamEmulator fs(o);
    EXPECT_FALSE(start(fs));
    EXPECT_EQ(fs.http_status(), 404);
  }
  {
    // Tenant only in the metadata frame, and it is another (unknown) domain: closed with 1008.
    auto o = stream_options();
    o.query.clear();
    o.metadata = R"({"domain_uuid":")" + random_uuid() + R"("})";
    test::ModAudioStreamEmulator fs(o);
    ASSERT_TRUE(start(fs)) << fs.error();
    ASSERT_TRUE(run_until([&] { return fs.closed(); }, 5s));
    EXPECT_EQ(fs.close_code(), std::optional<std::uint16_t>(1008));
  }
  {
    // Tenant only in the metadata frame, sent after some audio: accepted, the audio kept.
    auto o = stream_options();
    o.query.clear();
    o.metadata =
        R"({"domain_uuid":")" + domain_ + R"(","secretary_id":")" + secretary_id_ + R"(","caller_id":"42"})";
    o.metadata_after_frames = 5;
    test::ModAudioStreamEmulator fs(o);
    ASSERT_TRUE(start(fs)) << fs.error();
    ASSERT_TRUE(run_until([&] { return fs.closed(); }, 15s));
    EXPECT_TRUE(transfer_sent("api uuid_transfer " + fs.call_uuid() + " 1001 XML clinica.example.com"));
    EXPECT_EQ(call_record(fs.call_uuid())->caller_id, "42");
  }
}

// Admission: over a limit the handshake is refused with a plain HTTP status (mod_audio_stream fires
// ::error, the Lua sends the caller to a person), running calls keep going, and a place is given back when
// its call ends.
TEST_F(RealtimeBridgeTest, CallsOverTheAdmissionLimitsAreRefusedAndRunningCallsKeepGoing) {
  scripts_.push_back({});
  conversation::LoopLoadSample load;
  conversation::CallAdmission& admission = admissions_.emplace_front(
      conversation::CallAdmissionLimits{.max_calls = 1, .max_loop_lag = 50ms, .max_loop_busy = 0.85},
      [&load] { return load; });
  stream_deps_->admission = &admission;
  auto metadata_only = [this] {  // the tenant only in the metadata frame, as some dialplans send it
    auto o = stream_options();
    o.query.clear();
    o.metadata = R"({"domain_uuid":")" + domain_ + R"(","secretary_id":")" + secretary_id_ + R"("})";
    return o;
  };

  test::ModAudioStreamEmulator first(stream_options());
  ASSERT_TRUE(start(first)) << first.error();
  ASSERT_TRUE(run_until([&] { return admission.active() == 1; }, 5s));
  {
    test::ModAudioStreamEmulator second(stream_options());
    EXPECT_FALSE(start(second));
    EXPECT_EQ(second.http_status(), 503);
  }
  {
    // The process limit does not need the tenant: refused at the handshake as well.
    test::ModAudioStreamEmulator late(metadata_only());
    EXPECT_FALSE(start(late));
    EXPECT_EQ(late.http_status(), 503);
  }
  // The running call was not disturbed: it ends with its transfer, and gives its place back.
  ASSERT_TRUE(run_until([&] { return first.closed(); }, 15s));
  EXPECT_TRUE(transfer_sent("api uuid_transfer " + first.call_uuid() + " 1001 XML clinica.example.com"));
  ASSERT_TRUE(run_until([&] { return admission.active() == 0; }, 5s));
  EXPECT_EQ(status_of(first.call_uuid()), "completed/transferred");

  // A busy io loop refuses whatever the count.
  load.busy = 0.95;
  {
    test::ModAudioStreamEmulator refused(stream_options());
    EXPECT_FALSE(start(refused));
    EXPECT_EQ(refused.http_status(), 503);
  }
  load.busy = 0;

  // The domain's own cap (domains.max_realtime_calls) is the tenant's limit: 429.
  store::BlockingAdmin admin(*db_);
  ASSERT_TRUE(admin.blocking_set_domain_realtime_limit(domain_, 0));  // 0: this domain has no cap of its own
  conversation::CallAdmission& per_domain =
      admissions_.emplace_front(conversation::CallAdmissionLimits{.max_calls_per_domain = 1});
  stream_deps_->admission = &per_domain;
  test::ModAudioStreamEmulator a(stream_options());
  ASSERT_TRUE(start(a)) << a.error();
  ASSERT_TRUE(run_until([&] { return per_domain.active() == 1; }, 5s));
  test::ModAudioStreamEmulator b(stream_options());  // the default of 1 is overridden by "no cap"
  ASSERT_TRUE(start(b)) << b.error();
  ASSERT_TRUE(run_until([&] { return per_domain.active() == 2; }, 5s));
  ASSERT_TRUE(admin.blocking_set_domain_realtime_limit(domain_, 2));
  {
    test::ModAudioStreamEmulator c(stream_options());
    EXPECT_FALSE(start(c));
    EXPECT_EQ(c.http_status(), 429);
  }
  {
    // A domain named only by the metadata frame is checked once the frame is read: accepted at the
    // handshake, then closed with 1013 (try again later).
    test::ModAudioStreamEmulator late(metadata_only());
    ASSERT_TRUE(start(late)) << late.error();
    ASSERT_TRUE(run_until([&] { return late.closed(); }, 5s));
    EXPECT_EQ(late.close_code(), std::optional<std::uint16_t>(1013));
  }
  ASSERT_TRUE(run_until([&] { return a.closed() && b.closed(); }, 15s));
  ASSERT_TRUE(run_until([&] { return per_domain.active() == 0; }, 5s));

  const std::string exported = metrics_.render();
  EXPECT_NE(exported.find(R"(ivr_realtime_calls_refused_total{reason="process_full"} 2)"), std::string::npos)
      << exported;
  EXPECT_NE(exported.find(R"(ivr_realtime_calls_refused_total{reason="overloaded"} 1)"), std::string::npos);
  EXPECT_NE(exported.find(R"(ivr_realtime_calls_refused_total{reason="domain_full"} 2)"), std::string::npos);
}

// The offline realtime path through the bridge: the `pipeline` agent with the secretary's own providers —
// an OpenAI-compatible speech-to-text (a fake vendor server), the `extractive` model and espeak. The
// caller's speech (a tone the VAD takes for speech; the fake STT says what was "said") barges into the
// spoken greeting, is transcribed, and the extractive model's transfer reaches FreeSWITCH over ESL.
TEST_F(RealtimeBridgeTest, PipelineAgentWithOfflineProvidersTransfersTheCaller) {
  test::FakeVendorServer whisper;
  whisper.respond("POST", "/v1/audio/transcriptions",
                  test::FakeResponse::json(200, R"({"text":"Quero falar com vendas, por favor."})"));
  providers::EspeakEngine espeak;
  providers::CircuitBreakers breakers;
  conversation::ProviderRegistry registry(http_, espeak, breakers, nullptr, &metrics_);
  auto secretary = test::run(io_, secretaries_->resolve(domain_, "clinica.example.com", secretary_id_));
  ASSERT_TRUE(secretary);
  conversation::Secretary s = *secretary;
  s.stt.push_back({"openai", whisper.base_url(), "whisper-1", "", 5'000, "", "", ""});
  pipeline_ = [&]() -> std::unique_ptr<providers::realtime::RealtimeAgent> {
    auto stt = registry.speech_to_text(s);
    auto llm = registry.language_model(s);
    auto tts = registry.text_to_speech(s);
    conversation::PipelineOptions options;
    options.hints.language = s.language;
    options.hints.transfer_targets = s.transfer_targets;
    return conversation::make_pipeline_agent(io_.get_executor(), stt ? std::move(*stt) : nullptr,
                                             llm ? std::move(*llm) : nullptr, tts ? std::move(*tts) : nullptr,
                                             std::move(options));
  };
  test::ModAudioStreamEmulator fs(stream_options());
  ASSERT_TRUE(start(fs)) << fs.error();
  ASSERT_TRUE(run_until([&] { return fs.closed(); }, 25s)) << "the call did not end";
  EXPECT_FALSE(fs.received_samples().empty()) << "no greeting was played";
  EXPECT_EQ(whisper.requests().size(), 1u);
  EXPECT_TRUE(transfer_sent("api uuid_transfer " + fs.call_uuid() + " 1001 XML clinica.example.com"));
  auto call = call_record(fs.call_uuid());
  ASSERT_TRUE(call);
  EXPECT_EQ(call->resolution, "transferred");
  bool heard = false;
  for (const auto& m : call->messages)
    heard = heard || (m.role == "caller" && m.content == "Quero falar com vendas, por favor.");
  EXPECT_TRUE(heard) << "the caller's words are not in the transcript";
}

// OpenAI Realtime through the bridge, protocol-exact against the fake server: the caller's 16 kHz audio
// reaches it as 24 kHz pcm16 appends, its server VAD and tool call drive a transfer over ESL, and the
// call is recorded with the agent's name.
TEST_F(RealtimeBridgeTest, OpenAiRealtimeAgentTransfersTheCaller) {
  test::FakeRealtimeScript script;
  script.tool_call = test::FakeToolCall{"transfer_call", "call_fake_1", R"({"target":"vendas"})"};
  script.user_transcript = "Quero falar com vendas";
  test::FakeOpenAiRealtime openai(script);
  net::WebSocketConnector connector(io_);
  pipeline_ = [&]() -> std::unique_ptr<providers::realtime::RealtimeAgent> {
    providers::realtime::OpenAiRealtimeSettings settings;
    settings.url = openai.url();
    settings.api_key = script.api_key;
    settings.model = script.model;
    return providers::realtime::make_openai_realtime(connector, std::move(settings));
  };
  test::ModAudioStreamEmulator fs(stream_options());
  ASSERT_TRUE(start(fs)) << fs.error();
  ASSERT_TRUE(run_until([&] { return fs.closed(); }, 20s)) << "the call did not end";
  EXPECT_EQ(openai.client_event_count("session.update"), 1u);
  // The fake's VAD fires after 60 ms of speech and its first response calls the tool at once: about three
  // 20 ms frames reach it, resampled to 24 kHz pcm16 (2880 bytes less the resampler's start-up delay).
  EXPECT_GE(openai.audio_received().size(), 2'000u);
  EXPECT_EQ(openai.client_event_count("conversation.item.create"), 1u) << "the tool result";
  EXPECT_TRUE(transfer_sent("api uuid_transfer " + fs.call_uuid() + " 1001 XML clinica.example.com"));
  auto call = call_record(fs.call_uuid());
  ASSERT_TRUE(call);
  EXPECT_EQ(call->resolution, "transferred");
  const auto stats = nlohmann::json::parse(call->stats_json);
  EXPECT_EQ(stats["agents"], nlohmann::json::array({"openai"}));
}

TEST_F(RealtimeBridgeTest, ElevenLabsAgentTransfersTheCaller) {
  test::FakeElevenLabsScript script;
  script.tool_call =
      test::FakeElevenLabsToolCall{"transfer_call", "toolu_bridge_1", R"({"target":"vendas"})"};
  script.user_transcript = "Quero falar com vendas";
  script.agent_response = "Claro, vou transferir.";
  test::FakeElevenLabs elevenlabs(script);
  net::WebSocketConnector connector(io_);
  pipeline_ = [&]() -> std::unique_ptr<providers::realtime::RealtimeAgent> {
    providers::realtime::ElevenLabsRealtimeSettings settings;
    settings.agent_id = script.agent_id;
    settings.api_key = script.api_key;
    settings.api_base = elevenlabs.api_base();
    settings.ws_base = elevenlabs.ws_base();
    return providers::realtime::make_elevenlabs_realtime(connector, http_, std::move(settings));
  };
  test::ModAudioStreamEmulator fs(stream_options());
  ASSERT_TRUE(start(fs)) << fs.error();
  ASSERT_TRUE(run_until([&] { return fs.closed(); }, 20s)) << "the call did not end";

  EXPECT_TRUE(elevenlabs.violations().empty()) << elevenlabs.violations().front();
  ASSERT_EQ(elevenlabs.http_requests().size(), 1u) << "the signed URL of a private agent";
  EXPECT_EQ(elevenlabs.client_messages_of("conversation_initiation_client_data").size(), 1u);
  // The caller's 16 kHz audio reaches the agent as it is (pcm_16000): 3 s of tone at least in part.
  EXPECT_GE(elevenlabs.audio_received().size(), 16'000u * 2 / 2);
  // The tool call went through the bridge: the result back to ElevenLabs, the exact ESL line to FreeSWITCH.
  const auto results = elevenlabs.client_messages_of("client_tool_result");
  ASSERT_EQ(results.size(), 1u);
  const auto result = nlohmann::json::parse(results[0]);
  EXPECT_EQ(result.value("tool_call_id", ""), "toolu_bridge_1");
  EXPECT_EQ(result.value("is_error", true), false) << results[0];
  EXPECT_TRUE(transfer_sent("api uuid_transfer " + fs.call_uuid() + " 1001 XML clinica.example.com"));
  // Everything the agent said reached FreeSWITCH before the transfer, including the handover it speaks
  // after the tool result (nobody barged in: nothing was to be dropped).
  const std::size_t spoken = elevenlabs.audio_sent().size() / 2;  // pcm_16000, as the call
  EXPECT_GE(spoken, 16'000u * 3 / 10) << "the fake's handover: 3 chunks of 100 ms";
  EXPECT_GE(fs.received_samples().size(), spoken * 95 / 100) << "the transfer cut the handover";

  auto call = call_record(fs.call_uuid());
  ASSERT_TRUE(call);
  EXPECT_EQ(call->resolution, "transferred");
  EXPECT_EQ(call->transferred_to, "1001");
  bool heard = false;
  for (const auto& m : call->messages) heard = heard || m.content == "Quero falar com vendas";
  EXPECT_TRUE(heard) << "the caller's words are in the transcript";
  const auto stats = nlohmann::json::parse(call->stats_json);
  EXPECT_EQ(stats["agents"], nlohmann::json::array({"elevenlabs"}));
  EXPECT_EQ(queued_webhooks(fs.call_uuid()), 1);
}

}  // namespace
}  // namespace ivr
