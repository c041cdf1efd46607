#include "ivr/telephony/esl_client.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "esl_test_util.hpp"
#include "fakes/fake_esl_server.hpp"
#include "support/local_http_server.hpp"
#include "support/test_env.hpp"

namespace ivr::telephony {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::FakeEslServer;
using testing::count_prefix;
using testing::options_for;
using testing::run_until;

constexpr std::string_view kSubscription =
    "event json CHANNEL_HANGUP_COMPLETE BACKGROUND_JOB CUSTOM mod_audio_stream::play";

class EslClientTest : public ::testing::Test {
 protected:
  void connect(EslClient& client) {
    client.start();
    ASSERT_TRUE(run_until(io_, [&] { return client.connected(); })) << "never connected";
  }

  // Starts api(command) in the background; the result lands in `slot`.
  void spawn_api(EslClient& client, std::string command, std::optional<Result<std::string>>& slot) {
    asio::co_spawn(io_, client.api(std::move(command)), [&slot](std::exception_ptr e, Result<std::string> r) {
      ASSERT_FALSE(e);
      slot.emplace(std::move(r));
    });
  }

  asio::io_context io_;
  FakeEslServer server_;
};

TEST_F(EslClientTest, AuthenticatesAndSubscribes) {
  EslClient client(io_, options_for(server_));
  connect(client);
  EXPECT_FALSE(client.auth_failed());
  EXPECT_EQ(client.connection_count(), 1u);
  EXPECT_EQ(client.remote_address(), "127.0.0.1");
  const std::vector<std::string> expected = {"auth ClueCon", std::string(kSubscription)};
  EXPECT_EQ(server_.commands(), expected);
  EXPECT_EQ(server_.subscribed_connections(), 1u);
}

TEST(EslClientAuth, WrongPasswordIsDetectedAndNotRetriedAsSuccess) {
  asio::io_context io;
  FakeEslServer server("s3cret");
  EslClient client(io, options_for(server, "ClueCon"));
  client.start();
  ASSERT_TRUE(run_until(io, [&] { return client.auth_failed() && server.connections_accepted() >= 2; }));
  EXPECT_FALSE(client.connected());
  EXPECT_EQ(client.connection_count(), 0u);
  EXPECT_EQ(server.connections_authenticated(), 0u);
  const auto commands = server.commands();
  ASSERT_FALSE(commands.empty());
  EXPECT_EQ(commands.front(), "auth ClueCon");
  EXPECT_EQ(count_prefix(commands, "event"), 0u);  // nothing sent after a refused auth
  Result<std::string> reply = test::run(io, client.api("status"));
  EXPECT_EQ(reply.error(), Errc::unavailable);
}

TEST(EslClientAuth, CommandsBeforeConnectingFailFast) {
  asio::io_context io;
  EslClientOptions options;
  options.node.port = test::closed_local_port();
  options.reconnect_min = 20ms;
  EslClient client(io, options);
  Result<std::string> reply = test::run(io, client.api("status"));
  EXPECT_EQ(reply.error(), Errc::unavailable);
  client.start();
  Result<void> waited = test::run(io, client.wait_connected(150ms));
  EXPECT_EQ(waited.error(), Errc::timeout);
}

TEST_F(EslClientTest, ApiRepliesAreMatchedInOrderWithSeveralInFlight) {
  server_.set_api_response("show", "+OK shown\n");
  server_.set_api_delay("show", 150ms);  // the first answer is late: the others queue behind it
  server_.set_api_response("status", "UP 0 years, 0 days\n");
  server_.set_api_response("uuid_exists", "false");
  EslClient client(io_, options_for(server_));
  connect(client);
  std::optional<Result<std::string>> a, b, c;
  spawn_api(client, "show channels", a);
  spawn_api(client, "status", b);
  spawn_api(client, "uuid_exists 0a1b", c);
  ASSERT_TRUE(run_until(io_, [&] { return a && b && c; }));
  ASSERT_TRUE(*a && *b && *c);
  EXPECT_EQ(**a, "+OK shown\n");
  EXPECT_EQ(**b, "UP 0 years, 0 days\n");
  EXPECT_EQ(**c, "false");
  const auto commands = server_.commands();
  ASSERT_EQ(commands.size(), 5u);
  EXPECT_EQ(commands[2], "api show channels");
  EXPECT_EQ(commands[3], "api status");
  EXPECT_EQ(commands[4], "api uuid_exists 0a1b");
}

TEST_F(EslClientTest, BgapiCompletesOnItsBackgroundJob) {
  server_.set_api_response("originate", "+OK 9f3a\n");
  server_.set_api_response("status", "+OK up\n");
  EslClient client(io_, options_for(server_));
  connect(client);
  for (const auto delay : {0ms, 80ms}) {  // 0: acceptance and event arrive in the same read
    server_.set_bgapi_delay(delay);
    std::optional<Result<EslJobResult>> job;
    asio::co_spawn(io_, client.bgapi("originate user/100 &park()"),
                   [&job](std::exception_ptr e, Result<EslJobResult> r) {
                     ASSERT_FALSE(e);
                     job.emplace(std::move(r));
                   });
    std::optional<Result<std::string>> api;
    spawn_api(client, "status", api);  // answered while the job runs
    ASSERT_TRUE(run_until(io_, [&] { return job && api; }));
    ASSERT_TRUE(*job) << job->error().message();
    EXPECT_EQ((*job)->body, "+OK 9f3a\n");
    EXPECT_EQ((*job)->job_uuid.rfind("7f4de4bc-17d7-11dd-b7a0-", 0), 0u) << (*job)->job_uuid;
    ASSERT_TRUE(*api);
    EXPECT_EQ(**api, "+OK up\n");
  }
  EXPECT_EQ(count_prefix(server_.commands(), "bgapi originate user/100 &park()"), 2u);
}

TEST_F(EslClientTest, SubscribedEventsReachHandlers) {
  EslClient client(io_, options_for(server_));
  std::vector<EslEvent> events;
  client.add_event_handler([&events](const EslEvent& e) { events.push_back(e); });
  connect(client);
  server_.push_event({{"Event-Name", "DTMF"}, {"Unique-ID", "u1"}, {"DTMF-Digit", "5"}});  // not subscribed
  server_.push_event(
      {{"Event-Name", "CUSTOM"}, {"Event-Subclass", "mod_audio_stream::play"}, {"Unique-ID", "u1"}},
      R"({"audioDataType":"raw","sampleRate":8000,"file":"/tmp/u1_1.tmp.r8"})");
  server_.push_event({{"Event-Name", "CUSTOM"}, {"Event-Subclass", "other::thing"}, {"Unique-ID", "u1"}});
  server_.push_event({{"Event-Name", "CHANNEL_HANGUP_COMPLETE"},
                      {"Unique-ID", "u1"},
                      {"Hangup-Cause", "NORMAL_CLEARING"},
                      {"Caller-Caller-ID-Name", "Jo\xC3\xA3o Silva"}});
  ASSERT_TRUE(run_until(io_, [&] { return events.size() >= 2; }));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].name, "CUSTOM");
  EXPECT_EQ(events[0].subclass, "mod_audio_stream::play");
  EXPECT_EQ(events[0].body, R"({"audioDataType":"raw","sampleRate":8000,"file":"/tmp/u1_1.tmp.r8"})");
  EXPECT_EQ(events[1].name, "CHANNEL_HANGUP_COMPLETE");
  EXPECT_EQ(events[1].unique_id(), "u1");
  EXPECT_EQ(events[1].header("Caller-Caller-ID-Name"), "Jo\xC3\xA3o Silva");

  // A subscription added at run time is sent at once.
  Result<void> added = test::run(io_, client.subscribe({"DTMF"}));
  ASSERT_TRUE(added) << added.error().message();
  EXPECT_EQ(server_.commands().back(),
            "event json CHANNEL_HANGUP_COMPLETE BACKGROUND_JOB DTMF CUSTOM mod_audio_stream::play");
  server_.push_event({{"Event-Name", "DTMF"}, {"Unique-ID", "u1"}, {"DTMF-Digit", "5"}});
  ASSERT_TRUE(run_until(io_, [&] { return events.size() >= 3; }));
  EXPECT_EQ(events[2].header("DTMF-Digit"), "5");
}

TEST_F(EslClientTest, CommandTimesOutAndLaterRepliesStillMatch) {
  server_.set_api_delay("slow", 300ms);
  server_.set_api_response("slow", "+OK late\n");
  server_.set_api_response("status", "+OK up\n");
  EslClientOptions options = options_for(server_);
  options.command_timeout = 200ms;
  EslClient client(io_, options);
  connect(client);
  const auto started = std::chrono::steady_clock::now();
  Result<std::string> slow = test::run(io_, client.api("slow"));
  EXPECT_EQ(slow.error(), Errc::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 290ms);
  // Sent before the late "+OK late" arrives: the timed-out command keeps its place in the FIFO, so the late
  // reply is dropped and this command gets its own answer (about 100 ms later, within its timeout).
  Result<std::string> next = test::run(io_, client.api("status"));
  ASSERT_TRUE(next) << next.error().message();
  EXPECT_EQ(*next, "+OK up\n");
  EXPECT_TRUE(client.connected());
}

TEST_F(EslClientTest, ReconnectsAndResubscribesAfterServerRestart) {
  EslClient client(io_, options_for(server_));
  std::vector<std::string> uuids;
  client.add_event_handler([&uuids](const EslEvent& e) { uuids.emplace_back(e.unique_id()); });
  connect(client);
  server_.set_api_delay("status", 2s);
  std::optional<Result<std::string>> pending;
  spawn_api(client, "status", pending);
  ASSERT_TRUE(run_until(io_, [&] { return count_prefix(server_.commands(), "api status") == 1; }));
  server_.stop();
  ASSERT_TRUE(run_until(io_, [&] { return pending.has_value(); }));
  EXPECT_EQ(pending->error(), Errc::unavailable);  // dropped with the connection, not left hanging
  EXPECT_FALSE(client.connected());
  server_.set_api_delay("status", 0ms);
  server_.restart();
  ASSERT_TRUE(run_until(io_, [&] { return client.connected() && client.connection_count() == 2; }));
  EXPECT_EQ(count_prefix(server_.commands(), std::string(kSubscription)), 2u);
  EXPECT_EQ(count_prefix(server_.commands(), "auth ClueCon"), 2u);
  server_.push_event({{"Event-Name", "CHANNEL_HANGUP_COMPLETE"}, {"Unique-ID", "after-restart"}});
  ASSERT_TRUE(run_until(io_, [&] { return !uuids.empty(); }));
  EXPECT_EQ(uuids.front(), "after-restart");
}

TEST_F(EslClientTest, ServerClosingMidReplyFailsTheCommandAndReconnects) {
  server_.set_api_response("status", "+OK a fairly long status answer\n");
  server_.close_mid_reply("status");
  EslClient client(io_, options_for(server_));
  connect(client);
  Result<std::string> cut = test::run(io_, client.api("status"));
  EXPECT_EQ(cut.error(), Errc::unavailable);
  ASSERT_TRUE(run_until(io_, [&] { return client.connected() && client.connection_count() == 2; }));
  Result<std::string> whole = test::run(io_, client.api("status"));
  ASSERT_TRUE(whole) << whole.error().message();
  EXPECT_EQ(*whole, "+OK a fairly long status answer\n");
}

TEST_F(EslClientTest, GarbageFromServerDropsTheConnectionWithoutCrashing) {
  EslClient client(io_, options_for(server_));
  connect(client);
  server_.push_raw(std::string("\x01\x02 garbage without colon\n\n", 28));
  ASSERT_TRUE(run_until(io_, [&] { return client.connection_count() == 2 && client.connected(); }));
  server_.push_raw("Content-Type: api/response\nContent-Length: 999999999999\n\n");
  ASSERT_TRUE(run_until(io_, [&] { return client.connection_count() == 3 && client.connected(); }));
  // An undecodable event is ignored without dropping the connection. (An unsolicited reply cannot be
  // told from the answer to a command sent at the same moment, so it is not tried here.)
  server_.push_raw("Content-Length: 5\nContent-Type: text/event-json\n\n{oops");
  Result<std::string> reply = test::run(io_, client.api("status"));
  ASSERT_TRUE(reply) << reply.error().message();
  EXPECT_EQ(*reply, "+OK\n");
  EXPECT_EQ(client.connection_count(), 3u);
}

TEST_F(EslClientTest, LineBreaksInCommandsAreRefused) {
  EslClient client(io_, options_for(server_));
  connect(client);
  Result<std::string> injected = test::run(io_, client.api("status\n\napi shutdown"));
  EXPECT_EQ(injected.error(), Errc::bad_request);
  Result<std::string> cr = test::run(io_, client.command("filter Unique-ID a\rb"));
  EXPECT_EQ(cr.error(), Errc::bad_request);
  EXPECT_EQ(server_.commands().size(), 2u);  // auth + subscription only
}

TEST_F(EslClientTest, StopCancelsAndStartReconnects) {
  server_.set_api_delay("status", 2s);
  EslClient client(io_, options_for(server_));
  connect(client);
  std::optional<Result<std::string>> pending;
  spawn_api(client, "status", pending);
  ASSERT_TRUE(run_until(io_, [&] { return count_prefix(server_.commands(), "api status") == 1; }));
  client.stop();
  ASSERT_TRUE(run_until(io_, [&] { return pending.has_value(); }));
  EXPECT_EQ(pending->error(), Errc::cancelled);
  EXPECT_FALSE(client.connected());
  server_.set_api_delay("status", 0ms);
  client.start();
  ASSERT_TRUE(run_until(io_, [&] { return client.connected(); }));
  EXPECT_EQ(client.connection_count(), 2u);
}

TEST_F(EslClientTest, CommandsInFlightAreBounded) {
  server_.set_api_delay("status", 300ms);
  EslClientOptions options = options_for(server_);
  options.max_in_flight = 2;
  EslClient client(io_, options);
  connect(client);
  std::optional<Result<std::string>> a, b;
  spawn_api(client, "status", a);
  spawn_api(client, "status", b);
  // The server holds the first for 300 ms (and reads the second only after answering it); both are sent.
  ASSERT_TRUE(run_until(io_, [&] { return count_prefix(server_.commands(), "api status") == 1; }));
  ASSERT_FALSE(a.has_value());
  Result<std::string> third = test::run(io_, client.api("status"));
  EXPECT_EQ(third.error(), Errc::unavailable);
  ASSERT_TRUE(run_until(io_, [&] { return a && b; }));
  EXPECT_TRUE(*a && *b);
  EXPECT_EQ(count_prefix(server_.commands(), "api status"), 2u);
}

TEST(EslSubscription, CustomComesLast) {
  EXPECT_EQ(subscription_command({"CUSTOM", "DTMF", "DTMF", "BACKGROUND_JOB"}, {"a::b", "c::d", "a::b"}),
            "event json DTMF BACKGROUND_JOB CUSTOM a::b c::d");
  EXPECT_EQ(subscription_command({"ALL"}, {}), "event json ALL");
}

}  // namespace
}  // namespace ivr::telephony
