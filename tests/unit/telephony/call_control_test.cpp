#include "ivr/telephony/call_control.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "esl_test_util.hpp"
#include "fakes/fake_esl_server.hpp"
#include "ivr/telephony/node_registry.hpp"
#include "support/test_env.hpp"

namespace ivr::telephony {
namespace {

namespace asio = boost::asio;
using test::FakeEslServer;
using testing::options_for;
using testing::run_until;

constexpr std::string_view kUuid = "0a1b2c3d-0000-4000-8000-000000000001";

TEST(CallControlCommands, ExactLines) {
  EXPECT_EQ(*transfer_command(kUuid, "1001", "default"),
            "uuid_transfer 0a1b2c3d-0000-4000-8000-000000000001 1001 XML default");
  EXPECT_EQ(*transfer_command(kUuid, "1001", "pbx.example.com"),
            "uuid_transfer 0a1b2c3d-0000-4000-8000-000000000001 1001 XML pbx.example.com");
  EXPECT_EQ(*hangup_command(kUuid, ""), "uuid_kill 0a1b2c3d-0000-4000-8000-000000000001");
  EXPECT_EQ(*hangup_command(kUuid, "USER_BUSY"), "uuid_kill 0a1b2c3d-0000-4000-8000-000000000001 USER_BUSY");
  EXPECT_EQ(*break_command(kUuid), "uuid_break 0a1b2c3d-0000-4000-8000-000000000001 all");
  EXPECT_EQ(*broadcast_command(kUuid, "/tmp/x_1.tmp.r8"),
            "uuid_broadcast 0a1b2c3d-0000-4000-8000-000000000001 /tmp/x_1.tmp.r8 aleg");
  EXPECT_EQ(*setvar_command(kUuid, "ai_summary", "asked for billing"),
            "uuid_setvar 0a1b2c3d-0000-4000-8000-000000000001 ai_summary asked for billing");
  EXPECT_EQ(*setvar_command(kUuid, "ai_summary", ""),
            "uuid_setvar 0a1b2c3d-0000-4000-8000-000000000001 ai_summary");
}

TEST(CallControlCommands, ArgumentsThatWouldBeSplitOrInjectedAreRefused) {
  EXPECT_EQ(transfer_command(kUuid, "1001 XML evil", "default").error(), Errc::bad_request);
  EXPECT_EQ(transfer_command(kUuid, "", "default").error(), Errc::bad_request);
  EXPECT_EQ(transfer_command(kUuid, "1001", "a\nb").error(), Errc::bad_request);
  EXPECT_EQ(transfer_command("", "1001", "default").error(), Errc::bad_request);
  EXPECT_EQ(transfer_command("abc def", "1001", "default").error(), Errc::bad_request);
  EXPECT_EQ(hangup_command(kUuid, "A B").error(), Errc::bad_request);
  EXPECT_EQ(break_command("x;y").error(), Errc::bad_request);
  EXPECT_EQ(broadcast_command(kUuid, "/tmp/a b.wav").error(), Errc::bad_request);
  EXPECT_EQ(setvar_command(kUuid, "v", "a\r\napi shutdown").error(), Errc::bad_request);
}

TEST(CallControlCommands, ApiOutcome) {
  EXPECT_TRUE(api_outcome("+OK\n"));
  EXPECT_TRUE(api_outcome("+OK Message sent\n"));
  EXPECT_EQ(api_outcome("-ERR No such channel!\n").error(), Errc::not_found);
  EXPECT_EQ(api_outcome("-ERR no such channel\n").error(), Errc::not_found);
  EXPECT_EQ(api_outcome("-ERR Invalid Arguments\n").error(), Errc::upstream_error);
  EXPECT_EQ(api_outcome("").error(), Errc::upstream_error);
  EXPECT_EQ(api_outcome("true").error(), Errc::upstream_error);
}

class CallControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client_.start();
    ASSERT_TRUE(run_until(io_, [&] { return client_.connected(); }));
  }

  asio::io_context io_;
  FakeEslServer server_;
  EslClient client_{io_, options_for(server_)};
  std::unique_ptr<CallControl> control_ = make_esl_call_control(client_);
};

TEST_F(CallControlTest, EachOperationSendsItsApiLine) {
  server_.set_api_response("uuid_broadcast", "+OK Message sent\n");
  const std::string uuid(kUuid);
  ASSERT_TRUE(test::run(io_, control_->transfer(uuid, "1001", "default")));
  ASSERT_TRUE(test::run(io_, control_->hangup(uuid, "NORMAL_CLEARING")));
  ASSERT_TRUE(test::run(io_, control_->stop_playback(uuid)));
  ASSERT_TRUE(test::run(io_, control_->play(uuid, "/tmp/a_1.tmp.r8")));
  ASSERT_TRUE(test::run(io_, control_->set_variable(uuid, "ai_resolution", "transferred")));
  const std::vector<std::string> commands = server_.commands();
  ASSERT_EQ(commands.size(), 7u);
  EXPECT_EQ(commands[2], "api uuid_transfer 0a1b2c3d-0000-4000-8000-000000000001 1001 XML default");
  EXPECT_EQ(commands[3], "api uuid_kill 0a1b2c3d-0000-4000-8000-000000000001 NORMAL_CLEARING");
  EXPECT_EQ(commands[4], "api uuid_break 0a1b2c3d-0000-4000-8000-000000000001 all");
  EXPECT_EQ(commands[5], "api uuid_broadcast 0a1b2c3d-0000-4000-8000-000000000001 /tmp/a_1.tmp.r8 aleg");
  EXPECT_EQ(commands[6], "api uuid_setvar 0a1b2c3d-0000-4000-8000-000000000001 ai_resolution transferred");
}

TEST_F(CallControlTest, ErrorsFromFreeSwitchBecomeErrorCodes) {
  server_.set_api_response("uuid_transfer", "-ERR No such channel!\n");
  server_.set_api_response("uuid_broadcast", "-ERR Invalid Path\n");
  const std::string uuid(kUuid);
  Result<void> gone = test::run(io_, control_->transfer(uuid, "1001", "default"));
  EXPECT_EQ(gone.error(), Errc::not_found);
  Result<void> bad = test::run(io_, control_->play(uuid, "/nope.wav"));
  EXPECT_EQ(bad.error(), Errc::upstream_error);
  Result<void> refused = test::run(io_, control_->transfer(uuid, "1001\napi shutdown", "default"));
  EXPECT_EQ(refused.error(), Errc::bad_request);
  EXPECT_EQ(testing::count_prefix(server_.commands(), "api shutdown"), 0u);
}

TEST_F(CallControlTest, HangupHookGetsTheUniqueId) {
  std::vector<std::string> ended;
  on_channel_hangup(client_, [&ended](std::string_view unique_id, const EslEvent& event) {
    ended.push_back(std::string(unique_id) + "/" + std::string(event.header("Hangup-Cause")));
  });
  server_.push_event({{"Event-Name", "CHANNEL_HANGUP_COMPLETE"},
                      {"Unique-ID", "call-1"},
                      {"Hangup-Cause", "NORMAL_CLEARING"}});
  server_.push_event(
      {{"Event-Name", "CUSTOM"}, {"Event-Subclass", "mod_audio_stream::play"}, {"Unique-ID", "call-2"}});
  ASSERT_TRUE(run_until(io_, [&] { return !ended.empty(); }));
  EXPECT_EQ(ended, std::vector<std::string>{"call-1/NORMAL_CLEARING"});
}

TEST(EslNodeRegistry, PicksNodesByNameAndPeerAndRoutesHangups) {
  asio::io_context io;
  FakeEslServer a;
  FakeEslServer b;
  EslClientOptions common = options_for(a);
  common.events.clear();  // the registry adds CHANNEL_HANGUP_COMPLETE itself
  EslNode node_a{"pbx-a", "127.0.0.1", a.port(), "ClueCon"};
  EslNode node_b{"pbx-b", "localhost", b.port(), "ClueCon"};
  EslNodeRegistry registry(io, {node_a, node_b}, common);
  EXPECT_EQ(registry.size(), 2u);
  EXPECT_EQ(registry.default_node(), nullptr);  // two nodes: no default
  ASSERT_NE(registry.by_name("pbx-b"), nullptr);
  EXPECT_EQ(registry.by_name("pbx-b")->name(), "pbx-b");
  EXPECT_EQ(registry.by_name("nope"), nullptr);
  EXPECT_EQ(registry.by_peer("127.0.0.1")->name(), "pbx-a");
  EXPECT_EQ(registry.by_peer("::ffff:127.0.0.1")->name(), "pbx-a");
  EXPECT_EQ(registry.by_peer("10.9.9.9"), nullptr);

  std::vector<std::string> ended;
  registry.on_hangup([&ended](std::string_view node, std::string_view uuid, const EslEvent&) {
    ended.push_back(std::string(node) + ":" + std::string(uuid));
  });
  registry.start();
  ASSERT_TRUE(run_until(io, [&] {
    return registry.by_name("pbx-a")->client->connected() && registry.by_name("pbx-b")->client->connected();
  }));
  EXPECT_EQ(a.commands().back(),
            "event json CHANNEL_HANGUP_COMPLETE BACKGROUND_JOB CUSTOM mod_audio_stream::play");
  b.push_event({{"Event-Name", "CHANNEL_HANGUP_COMPLETE"}, {"Unique-ID", "call-b"}});
  ASSERT_TRUE(run_until(io, [&] { return !ended.empty(); }));
  EXPECT_EQ(ended, std::vector<std::string>{"pbx-b:call-b"});

  ASSERT_TRUE(test::run(io, registry.by_name("pbx-b")->control->stop_playback("u-1")));
  EXPECT_EQ(b.commands().back(), "api uuid_break u-1 all");
  EXPECT_EQ(testing::count_prefix(a.commands(), "api"), 0u);
  registry.stop();
}

TEST(EslNodeRegistry, SingleNodeIsTheDefaultAndNamesMustBeUnique) {
  asio::io_context io;
  EslClientOptions common;
  EslNodeRegistry single(io, {EslNode{"only", "10.0.0.5", 8021, "x"}}, common);
  ASSERT_NE(single.default_node(), nullptr);
  EXPECT_EQ(single.by_peer("192.168.1.1")->name(), "only");
  EXPECT_EQ(single.by_peer("10.0.0.5")->name(), "only");
  EXPECT_THROW(EslNodeRegistry(io, {EslNode{"x", "a", 1, "p"}, EslNode{"x", "b", 2, "p"}}, common),
               std::invalid_argument);
  EXPECT_THROW(EslNodeRegistry(io, {EslNode{"", "a", 1, "p"}}, common), std::invalid_argument);
}

}  // namespace
}  // namespace ivr::telephony
