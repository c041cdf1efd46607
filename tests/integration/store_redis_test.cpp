// RedisClient, RedisSubscriber and the Redis rate limiter against a real Redis: the one scripts/test.sh
// starts (IVR_TEST_REDIS_URL), plus private redis-server instances for the tests that restart Redis or need
// a password, so they never disturb other suites sharing the main instance.

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "ivr/core/errors.hpp"
#include "ivr/store/redis.hpp"
#include "support/test_env.hpp"

namespace ivr::store {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace std::string_literals;
using Clock = std::chrono::steady_clock;

std::string random_hex(std::size_t n) {
  static std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(kHex[rng() % 16]);
  return out;
}

// Unique per test so runs and parallel suites never share keys.
std::string unique_prefix() {
  return "test:redis:" + random_hex(12) + ":";
}

RedisConfig fast_config(std::string url = test::redis_url()) {
  RedisConfig config = test::redis_config();
  config.url = std::move(url);
  config.connect_timeout = 500ms;
  config.reconnect_min = 20ms;
  config.reconnect_max = 200ms;
  return config;
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(asio::use_awaitable);
}

// Polls `condition` every 10 ms until it holds or `limit` passes.
asio::awaitable<bool> eventually(std::function<bool()> condition, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  while (!condition()) {
    if (Clock::now() >= deadline) co_return false;
    co_await sleep_for(10ms);
  }
  co_return true;
}

bool wait_until(asio::io_context& io, std::function<bool()> condition, std::chrono::milliseconds limit = 5s) {
  return test::run(io, eventually(std::move(condition), limit));
}

Result<RedisReply> run_command(asio::io_context& io, RedisClient& client, std::vector<std::string> args) {
  return test::run(io, client.command(std::move(args)));
}

// Retries `args` until it succeeds (after a restart) or `limit` passes.
asio::awaitable<Result<RedisReply>> command_eventually(RedisClient& client, std::vector<std::string> args,
                                                       std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  for (;;) {
    Result<RedisReply> reply = co_await client.command(args);
    if (reply || Clock::now() >= deadline) co_return reply;
    co_await sleep_for(20ms);
  }
}

unsigned short free_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

// Runs every awaitable concurrently on `io` and returns their results in order.
template <class T>
std::vector<T> run_all(asio::io_context& io, std::vector<asio::awaitable<T>> tasks,
                       std::chrono::milliseconds limit = 10s) {
  std::vector<T> results(tasks.size());
  std::size_t left = tasks.size();
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    asio::co_spawn(io, std::move(tasks[i]), [&results, &left, i](std::exception_ptr e, T value) {
      if (e) std::rethrow_exception(e);
      results[i] = std::move(value);
      --left;
    });
  }
  EXPECT_TRUE(wait_until(
      io, [&left] { return left == 0; }, limit));
  return results;
}

// A redis-server of our own on a free port, started and stopped like scripts/services.sh does.
class PrivateRedis {
 public:
  explicit PrivateRedis(std::string password = {}) : port_(free_port()), password_(std::move(password)) {
    dir_ = std::filesystem::temp_directory_path() / ("ivr-redis-test-" + random_hex(8));
    std::filesystem::create_directories(dir_);
    start();
  }
  ~PrivateRedis() {
    shutdown();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  void start() {
    std::string command = "redis-server --port " + std::to_string(port_) +
                          " --bind 127.0.0.1 --save '' --appendonly no --daemonize yes --dir " +
                          dir_.string() + " --logfile " + (dir_ / "server.log").string() + " --pidfile " +
                          pid_file();
    if (!password_.empty()) command += " --requirepass " + password_;
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    const std::string wait = "for i in $(seq 1 100); do " + cli() +
                             " ping 2>/dev/null | grep -q PONG && exit 0; sleep 0.05; done; exit 1";
    ASSERT_EQ(std::system(wait.c_str()), 0) << "private redis-server did not start; see " << dir_;
  }

  // SHUTDOWN NOSAVE, then waits until the server stops answering (it closes its listening socket before it
  // exits, so the port can be bound again).
  void shutdown() {
    const std::string command = cli() + " shutdown nosave >/dev/null 2>&1; for i in $(seq 1 100); do " +
                                cli() + " ping >/dev/null 2>&1 || exit 0; sleep 0.02; done; exit 1";
    EXPECT_EQ(std::system(command.c_str()), 0) << "private redis-server did not stop";
  }

  std::string url(std::string_view userinfo = {}) const {
    return "redis://" + std::string(userinfo) + "127.0.0.1:" + std::to_string(port_) + "/0";
  }

 private:
  std::string pid_file() const { return (dir_ / "redis.pid").string(); }
  std::string cli() const {
    std::string cli = "redis-cli -h 127.0.0.1 -p " + std::to_string(port_);
    if (!password_.empty()) cli += " --no-auth-warning -a " + password_;
    return cli;
  }

  unsigned short port_;
  std::string password_;
  std::filesystem::path dir_;
};

class RedisClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client_.start();
    ASSERT_TRUE(wait_until(io_, [this] { return client_.connected(); })) << "Redis at " << test::redis_url();
  }
  void TearDown() override {
    // Best effort: remove what the test wrote.
    Result<RedisReply> keys = run_command(io_, client_, {"KEYS", prefix_ + "*"});
    if (keys && !keys->elements.empty()) {
      std::vector<std::string> del{"DEL"};
      for (const auto& k : keys->elements) del.push_back(k.str);
      run_command(io_, client_, del);
    }
  }

  Result<RedisReply> cmd(std::vector<std::string> args) { return run_command(io_, client_, std::move(args)); }

  asio::io_context io_;
  RedisClient client_{io_, fast_config()};
  const std::string prefix_ = unique_prefix();
};

// ---------------------------------------------------------------------------------------------------------
// RedisClient

TEST_F(RedisClientTest, SetGetRoundTripIsBinarySafe) {
  const std::string key = prefix_ + "bin\0key\r\n"s;
  const std::string value = "a\0b\r\n\xff\x00\x01 end"s;
  ASSERT_EQ(value.size(), 12u);

  Result<RedisReply> set = cmd({"SET", key, value});
  ASSERT_TRUE(set) << set.error().message();
  EXPECT_EQ(set->type, RedisReply::Type::status);
  EXPECT_EQ(set->str, "OK");

  Result<RedisReply> get = cmd({"GET", key});
  ASSERT_TRUE(get);
  EXPECT_EQ(get->type, RedisReply::Type::string);
  EXPECT_EQ(get->str, value);

  Result<RedisReply> missing = cmd({"GET", prefix_ + "missing"});
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->type, RedisReply::Type::nil);

  Result<RedisReply> del = cmd({"DEL", key});
  ASSERT_TRUE(del);
  EXPECT_EQ(del->type, RedisReply::Type::integer);
  EXPECT_EQ(del->integer, 1);

  Result<RedisReply> empty = cmd({"SET", prefix_ + "empty", ""});
  ASSERT_TRUE(empty);
  Result<RedisReply> get_empty = cmd({"GET", prefix_ + "empty"});
  ASSERT_TRUE(get_empty);
  EXPECT_EQ(get_empty->type, RedisReply::Type::string);
  EXPECT_EQ(get_empty->str, "");
}

TEST_F(RedisClientTest, ArrayRepliesAreConvertedRecursively) {
  const std::string list = prefix_ + "list";
  Result<RedisReply> pushed = cmd({"RPUSH", list, "a", "b\0c"s, ""});
  ASSERT_TRUE(pushed);
  EXPECT_EQ(pushed->integer, 3);

  Result<RedisReply> range = cmd({"LRANGE", list, "0", "-1"});
  ASSERT_TRUE(range);
  ASSERT_EQ(range->type, RedisReply::Type::array);
  ASSERT_EQ(range->elements.size(), 3u);
  EXPECT_EQ(range->elements[0].str, "a");
  EXPECT_EQ(range->elements[1].str, "b\0c"s);
  EXPECT_EQ(range->elements[2].str, "");

  Result<RedisReply> nested = cmd({"EVAL", "return {1, {2, 'x', {}}, 'y'}", "0"});
  ASSERT_TRUE(nested);
  ASSERT_EQ(nested->type, RedisReply::Type::array);
  ASSERT_EQ(nested->elements.size(), 3u);
  EXPECT_EQ(nested->elements[0].type, RedisReply::Type::integer);
  EXPECT_EQ(nested->elements[0].integer, 1);
  const RedisReply& inner = nested->elements[1];
  ASSERT_EQ(inner.type, RedisReply::Type::array);
  ASSERT_EQ(inner.elements.size(), 3u);
  EXPECT_EQ(inner.elements[0].integer, 2);
  EXPECT_EQ(inner.elements[1].str, "x");
  EXPECT_EQ(inner.elements[2].type, RedisReply::Type::array);
  EXPECT_TRUE(inner.elements[2].elements.empty());
  EXPECT_EQ(nested->elements[2].str, "y");

  Result<RedisReply> empty = cmd({"LRANGE", prefix_ + "none", "0", "-1"});
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->type, RedisReply::Type::array);
  EXPECT_TRUE(empty->elements.empty());
}

TEST_F(RedisClientTest, ErrorReplyIsUpstreamErrorAndTheConnectionStaysUsable) {
  ASSERT_TRUE(cmd({"SET", prefix_ + "text", "abc"}));
  Result<RedisReply> incr = cmd({"INCR", prefix_ + "text"});
  ASSERT_FALSE(incr);
  EXPECT_EQ(incr.error(), Errc::upstream_error);

  Result<RedisReply> unknown = cmd({"NO_SUCH_COMMAND", "x"});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error(), Errc::upstream_error);

  EXPECT_TRUE(client_.connected());
  Result<RedisReply> ping = cmd({"PING"});
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->str, "PONG");
}

TEST_F(RedisClientTest, EmptyCommandIsBadRequest) {
  Result<RedisReply> reply = cmd({});
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error(), Errc::bad_request);
}

TEST_F(RedisClientTest, PipelineAnswersEachCommandInOrderWithItsOwnError) {
  std::vector<std::vector<std::string>> commands = {
      {"RPUSH", prefix_ + "list", "a", "b"},
      {"EXPIRE", prefix_ + "list", "60"},
      {"INCR", prefix_ + "list"},  // WRONGTYPE: fails alone
      {"LRANGE", prefix_ + "list", "0", "-1"},
      {"TTL", prefix_ + "list"},
  };
  Result<std::vector<Result<RedisReply>>> replies = test::run(io_, client_.pipeline(std::move(commands)));
  ASSERT_TRUE(replies) << replies.error().message();
  ASSERT_EQ(replies->size(), 5u);
  ASSERT_TRUE((*replies)[0]);
  EXPECT_EQ((*replies)[0]->integer, 2);
  ASSERT_TRUE((*replies)[1]);
  EXPECT_EQ((*replies)[1]->integer, 1);
  ASSERT_FALSE((*replies)[2]);
  EXPECT_EQ((*replies)[2].error(), Errc::upstream_error);
  ASSERT_TRUE((*replies)[3]);
  ASSERT_EQ((*replies)[3]->elements.size(), 2u);
  EXPECT_EQ((*replies)[3]->elements[1].str, "b");
  ASSERT_TRUE((*replies)[4]);
  EXPECT_GT((*replies)[4]->integer, 0);
  EXPECT_LE((*replies)[4]->integer, 60);

  std::vector<std::vector<std::string>> none;
  EXPECT_EQ(test::run(io_, client_.pipeline(std::move(none))).error(), Errc::bad_request);
  std::vector<std::vector<std::string>> with_empty = {{"PING"}, {}};
  EXPECT_EQ(test::run(io_, client_.pipeline(std::move(with_empty))).error(), Errc::bad_request);
  EXPECT_TRUE(client_.connected());
}

TEST_F(RedisClientTest, TwoHundredConcurrentCommandsArePipelinedOnOneConnection) {
  constexpr int kCount = 200;
  auto set_then_get = [this](int i) -> asio::awaitable<Result<RedisReply>> {
    const std::string key = prefix_ + "p" + std::to_string(i);
    // Arguments named first: GCC 12 miscompiles braced lists inside co_await.
    std::vector<std::string> set_args{"SET", key, "value-" + std::to_string(i)};
    Result<RedisReply> set = co_await client_.command(std::move(set_args));
    if (!set) co_return set;
    std::vector<std::string> get_args{"GET", key};
    co_return co_await client_.command(std::move(get_args));
  };
  std::vector<asio::awaitable<Result<RedisReply>>> tasks;
  for (int i = 0; i < kCount; ++i) tasks.push_back(set_then_get(i));
  std::vector<Result<RedisReply>> results = run_all(io_, std::move(tasks));
  ASSERT_EQ(results.size(), static_cast<std::size_t>(kCount));
  for (int i = 0; i < kCount; ++i) {
    ASSERT_TRUE(results[i]) << i << ": " << results[i].error().message();
    EXPECT_EQ(results[i]->str, "value-" + std::to_string(i));
  }
  // All of it on one connection: this client's is the only one with our name.
  ASSERT_TRUE(cmd({"CLIENT", "SETNAME", "ivr-" + prefix_.substr(11, 12)}));
  Result<RedisReply> list = cmd({"CLIENT", "LIST"});
  ASSERT_TRUE(list);
  std::size_t named = 0;
  for (std::size_t pos = 0;
       (pos = list->str.find("name=ivr-" + prefix_.substr(11, 12), pos)) != std::string::npos; ++pos) {
    ++named;
  }
  EXPECT_EQ(named, 1u);
}

TEST_F(RedisClientTest, CommandTimesOutAndTheLateReplyIsDropped) {
  RedisConfig config = fast_config();
  config.command_timeout = 100ms;
  RedisClient slow(io_, config);
  slow.start();
  ASSERT_TRUE(wait_until(io_, [&] { return slow.connected(); }));
  ASSERT_TRUE(cmd({"SET", prefix_ + "b", "second"}));

  // BLPOP on an empty list answers (nil) after 500 ms. Unlike CLIENT PAUSE it holds up only this
  // connection, so suites sharing this Redis are not disturbed.
  const auto start = Clock::now();
  Result<RedisReply> late = run_command(io_, slow, {"BLPOP", prefix_ + "empty", "0.5"});
  const auto elapsed = Clock::now() - start;
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error(), Errc::timeout);
  EXPECT_GE(elapsed, 90ms);
  EXPECT_LT(elapsed, 400ms);

  // The late nil arrives after 500 ms and must not be taken for the next command's reply.
  test::run(io_, sleep_for(600ms));
  Result<RedisReply> next = run_command(io_, slow, {"GET", prefix_ + "b"});
  ASSERT_TRUE(next) << next.error().message();
  EXPECT_EQ(next->str, "second");
  EXPECT_TRUE(slow.connected());
}

TEST_F(RedisClientTest, StopCompletesPendingCommandsWithCancelled) {
  RedisClient other(io_, fast_config());
  other.start();
  ASSERT_TRUE(wait_until(io_, [&] { return other.connected(); }));

  auto stop_soon = [&other]() -> asio::awaitable<Result<RedisReply>> {
    co_await sleep_for(50ms);
    other.stop();
    co_return RedisReply{};
  };
  std::vector<asio::awaitable<Result<RedisReply>>> tasks;
  tasks.push_back(other.command({"BLPOP", prefix_ + "empty", "2"}));  // no answer for 2 s
  tasks.push_back(stop_soon());
  std::vector<Result<RedisReply>> results = run_all(io_, std::move(tasks));
  ASSERT_FALSE(results[0]);
  EXPECT_EQ(results[0].error(), Errc::cancelled);
  EXPECT_FALSE(other.connected());
  Result<RedisReply> after = run_command(io_, other, {"PING"});
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error(), Errc::unavailable);
}

TEST_F(RedisClientTest, DestroyingTheClientCompletesPendingCommands) {
  auto other = std::make_unique<RedisClient>(io_, fast_config());
  other->start();
  ASSERT_TRUE(wait_until(io_, [&] { return other->connected(); }));

  auto destroy_soon = [&other]() -> asio::awaitable<Result<RedisReply>> {
    co_await sleep_for(50ms);
    other.reset();
    co_return RedisReply{};
  };
  std::vector<asio::awaitable<Result<RedisReply>>> tasks;
  tasks.push_back(other->command({"BLPOP", prefix_ + "empty", "2"}));  // no answer for 2 s
  tasks.push_back(destroy_soon());
  std::vector<Result<RedisReply>> results = run_all(io_, std::move(tasks));
  ASSERT_FALSE(results[0]);
  EXPECT_EQ(results[0].error(), Errc::cancelled);
  test::run(io_, sleep_for(100ms));  // queued completions run; none may touch the destroyed client
}

TEST(RedisClient, NotStartedIsUnavailableAtOnce) {
  asio::io_context io;
  RedisClient client(io, fast_config());
  EXPECT_FALSE(client.connected());
  Result<RedisReply> reply = run_command(io, client, {"PING"});
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error(), Errc::unavailable);
}

TEST(RedisClient, UnreachableServerIsUnavailableQuickly) {
  asio::io_context io;
  RedisClient client(io, fast_config("redis://127.0.0.1:" + std::to_string(free_port()) + "/0"));
  client.start();
  const auto start = Clock::now();
  Result<RedisReply> reply = run_command(io, client, {"PING"});
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error(), Errc::unavailable);
  EXPECT_LT(Clock::now() - start, 50ms);

  // Still refused after several reconnect attempts, and still answering at once.
  test::run(io, sleep_for(300ms));
  EXPECT_FALSE(client.connected());
  const auto again = Clock::now();
  reply = run_command(io, client, {"PING"});
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error(), Errc::unavailable);
  EXPECT_LT(Clock::now() - again, 50ms);
}

TEST(RedisClient, InvalidUrlStaysUnavailable) {
  asio::io_context io;
  RedisClient client(io, fast_config("http://127.0.0.1:1/0"));
  client.start();
  Result<RedisReply> reply = run_command(io, client, {"PING"});
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error(), Errc::unavailable);
}

TEST(RedisClient, ConnectTimeoutGivesUpOnASilentServerAndRetries) {
  asio::io_context io;
  // Accepts connections and never answers, like a hung server.
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  std::vector<std::unique_ptr<asio::ip::tcp::socket>> accepted;
  std::function<void()> accept_next = [&] {
    auto socket = std::make_unique<asio::ip::tcp::socket>(io);
    auto& ref = *socket;
    acceptor.async_accept(ref, [&, s = std::move(socket)](const boost::system::error_code& ec) mutable {
      if (ec) return;
      accepted.push_back(std::move(s));
      accept_next();
    });
  };
  accept_next();

  RedisConfig config =
      fast_config("redis://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/0");
  config.connect_timeout = 100ms;
  RedisClient client(io, config);
  client.start();
  EXPECT_TRUE(wait_until(
      io, [&] { return accepted.size() >= 3; }, 3s))
      << accepted.size();
  EXPECT_FALSE(client.connected());
  Result<RedisReply> reply = run_command(io, client, {"PING"});
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error(), Errc::unavailable);
  client.stop();
  acceptor.close();
}

TEST(RedisClient, SelectsTheDatabaseFromTheUrl) {
  asio::io_context io;
  std::string url = test::redis_url();
  url = url.substr(0, url.rfind('/')) + "/5";
  RedisClient db5(io, fast_config(url));
  RedisClient db0(io, fast_config(url.substr(0, url.rfind('/')) + "/0"));
  db5.start();
  db0.start();
  ASSERT_TRUE(wait_until(io, [&] { return db5.connected() && db0.connected(); }));
  const std::string key = unique_prefix() + "db";
  ASSERT_TRUE(run_command(io, db5, {"SET", key, "five", "PX", "10000"}));
  Result<RedisReply> in5 = run_command(io, db5, {"GET", key});
  ASSERT_TRUE(in5);
  EXPECT_EQ(in5->str, "five");
  Result<RedisReply> in0 = run_command(io, db0, {"GET", key});
  ASSERT_TRUE(in0);
  EXPECT_EQ(in0->type, RedisReply::Type::nil);
  run_command(io, db5, {"DEL", key});
}

TEST(RedisClient, AuthenticatesWithThePasswordFromConfigOrUrl) {
  PrivateRedis server("s3cret-pw");
  asio::io_context io;

  RedisConfig from_config = fast_config(server.url());
  from_config.password = "s3cret-pw";
  RedisClient a(io, from_config);
  RedisClient b(io, fast_config(server.url(":s3cret-pw@")));
  RedisConfig wrong = fast_config(server.url(":s3cret-pw@"));
  wrong.password = "wrong";  // the config's password wins over the URL's
  RedisClient c(io, wrong);
  a.start();
  b.start();
  c.start();
  ASSERT_TRUE(wait_until(io, [&] { return a.connected() && b.connected(); }));
  Result<RedisReply> pong = run_command(io, a, {"PING"});
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->str, "PONG");
  EXPECT_TRUE(run_command(io, b, {"PING"}));
  test::run(io, sleep_for(200ms));
  EXPECT_FALSE(c.connected());
}

TEST(RedisClient, ReconnectsByItselfAfterRedisRestarts) {
  PrivateRedis server;
  asio::io_context io;
  RedisClient client(io, fast_config(server.url()));
  client.start();
  ASSERT_TRUE(wait_until(io, [&] { return client.connected(); }));
  ASSERT_TRUE(run_command(io, client, {"SET", "k", "before"}));

  server.shutdown();
  EXPECT_TRUE(wait_until(
      io, [&] { return !client.connected(); }, 2s));
  Result<RedisReply> down = run_command(io, client, {"GET", "k"});
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error(), Errc::unavailable);

  server.start();
  const auto start = Clock::now();
  Result<RedisReply> set = test::run(io, command_eventually(client, {"SET", "k", "after"}, 5s));
  ASSERT_TRUE(set) << set.error().message();
  EXPECT_LT(Clock::now() - start, 3s);
  EXPECT_TRUE(client.connected());
  Result<RedisReply> get = run_command(io, client, {"GET", "k"});
  ASSERT_TRUE(get);
  EXPECT_EQ(get->str, "after");
}

// ---------------------------------------------------------------------------------------------------------
// RedisSubscriber

struct Received {
  std::vector<std::pair<std::string, std::string>> messages;
  RedisSubscriber::Callback callback() {
    return [this](std::string_view channel, std::string_view message) {
      messages.emplace_back(std::string(channel), std::string(message));
    };
  }
};

TEST(RedisSubscriber, ReceivesWhatTheClientPublishes) {
  asio::io_context io;
  const std::string prefix = unique_prefix();
  RedisClient client(io, fast_config());
  RedisSubscriber subscriber(io, fast_config());
  Received one, two, also_one;
  subscriber.subscribe(prefix + "one", one.callback());
  subscriber.subscribe(prefix + "two", two.callback());
  subscriber.subscribe(prefix + "one", also_one.callback());
  client.start();
  subscriber.start();
  ASSERT_TRUE(wait_until(io, [&] { return client.connected() && subscriber.connected(); }));

  const std::string payload = "bin\0ary\xff"s;
  Result<RedisReply> receivers = run_command(io, client, {"PUBLISH", prefix + "one", payload});
  ASSERT_TRUE(receivers);
  EXPECT_EQ(receivers->integer, 1);
  ASSERT_TRUE(run_command(io, client, {"PUBLISH", prefix + "two", "second"}));
  ASSERT_TRUE(run_command(io, client, {"PUBLISH", prefix + "other", "ignored"}));
  ASSERT_TRUE(wait_until(io, [&] { return one.messages.size() == 1 && two.messages.size() == 1; }));
  EXPECT_EQ(one.messages[0].first, prefix + "one");
  EXPECT_EQ(one.messages[0].second, payload);
  ASSERT_EQ(also_one.messages.size(), 1u);
  EXPECT_EQ(also_one.messages[0].second, payload);
  EXPECT_EQ(two.messages[0].second, "second");

  // A channel registered after start() is subscribed on the live connection.
  Received late;
  subscriber.subscribe(prefix + "late", late.callback());
  ASSERT_TRUE(wait_until(io, [&] { return subscriber.connected(); }));
  ASSERT_TRUE(run_command(io, client, {"PUBLISH", prefix + "late", "hello"}));
  ASSERT_TRUE(wait_until(io, [&] { return late.messages.size() == 1; }));
  EXPECT_EQ(late.messages[0].second, "hello");

  subscriber.stop();
  EXPECT_FALSE(subscriber.connected());
}

TEST(RedisSubscriber, StoppingFromInsideACallbackIsSafe) {
  asio::io_context io;
  const std::string channel = unique_prefix() + "stop";
  RedisClient client(io, fast_config());
  RedisSubscriber subscriber(io, fast_config());
  int calls = 0;
  subscriber.subscribe(channel, [&](std::string_view, std::string_view) {
    ++calls;
    subscriber.stop();  // hiredis is inside its read callback here: the free must be deferred
  });
  client.start();
  subscriber.start();
  ASSERT_TRUE(wait_until(io, [&] { return client.connected() && subscriber.connected(); }));
  // Two messages in one read: the second must not be delivered after stop().
  ASSERT_TRUE(run_command(io, client, {"PUBLISH", channel, "one"}));
  ASSERT_TRUE(run_command(io, client, {"PUBLISH", channel, "two"}));
  ASSERT_TRUE(wait_until(io, [&] { return calls >= 1 && !subscriber.connected(); }));
  test::run(io, sleep_for(100ms));
  EXPECT_EQ(calls, 1);

  // And it can start again.
  subscriber.start();
  ASSERT_TRUE(wait_until(io, [&] { return subscriber.connected(); }));
  ASSERT_TRUE(run_command(io, client, {"PUBLISH", channel, "three"}));
  ASSERT_TRUE(wait_until(io, [&] { return calls == 2; }));
}

TEST(RedisSubscriber, ResubscribesAfterRedisRestarts) {
  PrivateRedis server;
  asio::io_context io;
  RedisClient client(io, fast_config(server.url()));
  RedisSubscriber subscriber(io, fast_config(server.url()));
  Received received;
  subscriber.subscribe("news", received.callback());
  client.start();
  subscriber.start();
  ASSERT_TRUE(wait_until(io, [&] { return client.connected() && subscriber.connected(); }));
  ASSERT_TRUE(run_command(io, client, {"PUBLISH", "news", "before"}));
  ASSERT_TRUE(wait_until(io, [&] { return received.messages.size() == 1; }));

  server.shutdown();
  EXPECT_TRUE(wait_until(
      io, [&] { return !subscriber.connected() && !client.connected(); }, 2s));
  server.start();

  // PUBLISH answers how many subscribers got the message: 1 once the subscriber is back.
  auto publish_until_heard = [&]() -> asio::awaitable<bool> {
    const auto deadline = Clock::now() + 5s;
    while (Clock::now() < deadline) {
      std::vector<std::string> args{"PUBLISH", "news", "after"};
      Result<RedisReply> n = co_await client.command(std::move(args));
      if (n && n->integer == 1) co_return true;
      co_await sleep_for(20ms);
    }
    co_return false;
  };
  ASSERT_TRUE(test::run(io, publish_until_heard()));
  ASSERT_TRUE(wait_until(io, [&] { return received.messages.size() == 2; }));
  EXPECT_EQ(received.messages[1].first, "news");
  EXPECT_EQ(received.messages[1].second, "after");
  EXPECT_TRUE(subscriber.connected());
}

// ---------------------------------------------------------------------------------------------------------
// Rate limiter

class RateLimitTest : public RedisClientTest {
 protected:
  Result<RateDecision> acquire(const std::string& key, double per_second, double burst, double cost = 1.0) {
    return test::run(io_, limiter_->acquire(prefix_ + key, per_second, burst, cost));
  }

  std::unique_ptr<RateLimiter> limiter_ = make_redis_rate_limiter(client_);
};

TEST_F(RateLimitTest, AllowsTheBurstThenRefusesWithRetryAfter) {
  for (int i = 0; i < 3; ++i) {
    Result<RateDecision> d = acquire("bucket", 1.0, 3.0);
    ASSERT_TRUE(d) << d.error().message();
    EXPECT_TRUE(d->allowed) << i;
    EXPECT_NEAR(d->remaining, 2.0 - i, 0.05);
  }
  Result<RateDecision> refused = acquire("bucket", 1.0, 3.0);
  ASSERT_TRUE(refused);
  EXPECT_FALSE(refused->allowed);
  EXPECT_GT(refused->retry_after_seconds, 0.9);
  EXPECT_LE(refused->retry_after_seconds, 1.0);
  EXPECT_LT(refused->remaining, 0.1);

  // A cost larger than what is left: refused, retry_after covers the whole shortfall.
  Result<RateDecision> big = acquire("bucket", 1.0, 3.0, 2.5);
  ASSERT_TRUE(big);
  EXPECT_FALSE(big->allowed);
  EXPECT_GT(big->retry_after_seconds, 2.3);
  EXPECT_LE(big->retry_after_seconds, 2.5);
}

TEST_F(RateLimitTest, RefillsOverTime) {
  ASSERT_TRUE(acquire("bucket", 20.0, 2.0).value().allowed);
  ASSERT_TRUE(acquire("bucket", 20.0, 2.0).value().allowed);
  Result<RateDecision> refused = acquire("bucket", 20.0, 2.0);
  ASSERT_TRUE(refused);
  EXPECT_FALSE(refused->allowed);
  EXPECT_LE(refused->retry_after_seconds, 0.05);
  test::run(io_, sleep_for(120ms));  // 2.4 tokens' worth of refill, capped at the burst of 2
  Result<RateDecision> again = acquire("bucket", 20.0, 2.0);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->allowed);
  EXPECT_NEAR(again->remaining, 1.0, 0.05);
}

TEST_F(RateLimitTest, IsAtomicAcrossConcurrentCallsFromTwoClients) {
  RedisClient second(io_, fast_config());
  second.start();
  ASSERT_TRUE(wait_until(io_, [&] { return second.connected(); }));
  auto other = make_redis_rate_limiter(second);

  std::vector<asio::awaitable<Result<RateDecision>>> tasks;
  for (int i = 0; i < 100; ++i) {
    RateLimiter& limiter = (i % 2 == 0) ? *limiter_ : *other;
    tasks.push_back(limiter.acquire(prefix_ + "shared", 0.001, 10.0));
  }
  std::vector<Result<RateDecision>> results = run_all(io_, std::move(tasks));
  int allowed = 0;
  for (const auto& r : results) {
    ASSERT_TRUE(r) << r.error().message();
    if (r->allowed) ++allowed;
  }
  EXPECT_EQ(allowed, 10);
}

TEST_F(RateLimitTest, KeysAreIsolated) {
  ASSERT_TRUE(acquire("domain-a", 0.01, 1.0).value().allowed);
  EXPECT_FALSE(acquire("domain-a", 0.01, 1.0).value().allowed);
  Result<RateDecision> b = acquire("domain-b", 0.01, 1.0);
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->allowed);
  EXPECT_FALSE(acquire("domain-b", 0.01, 1.0).value().allowed);
}

TEST_F(RateLimitTest, IdleBucketsExpire) {
  ASSERT_TRUE(acquire("ttl", 5.0, 10.0).value().allowed);
  Result<RedisReply> ttl = cmd({"PTTL", prefix_ + "ttl"});
  ASSERT_TRUE(ttl);
  EXPECT_GT(ttl->integer, 0);
  EXPECT_LE(ttl->integer, 4000);  // 2 × burst / per_second = 4 s
}

TEST_F(RateLimitTest, FallsBackToEvalAfterScriptFlush) {
  ASSERT_TRUE(acquire("flush", 1.0, 5.0).value().allowed);
  ASSERT_TRUE(cmd({"SCRIPT", "FLUSH"}));
  Result<RateDecision> d = acquire("flush", 1.0, 5.0);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_TRUE(d->allowed);
  EXPECT_NEAR(d->remaining, 3.0, 0.05);  // the same bucket: the fallback did not take a token twice
  // EVAL cached the script again, so EVALSHA works on the next call.
  Result<RateDecision> next = acquire("flush", 1.0, 5.0);
  ASSERT_TRUE(next);
  EXPECT_NEAR(next->remaining, 2.0, 0.05);
}

TEST_F(RateLimitTest, RejectsInvalidParameters) {
  EXPECT_EQ(acquire("bad", 0.0, 1.0).error(), Errc::bad_request);
  EXPECT_EQ(acquire("bad", 1.0, 0.0).error(), Errc::bad_request);
  EXPECT_EQ(acquire("bad", 1.0, 1.0, -1.0).error(), Errc::bad_request);
  EXPECT_EQ(acquire("bad", std::nan(""), 1.0).error(), Errc::bad_request);
}

TEST(RateLimit, UnavailableWhenRedisIsDown) {
  asio::io_context io;
  RedisClient client(io, fast_config("redis://127.0.0.1:" + std::to_string(free_port()) + "/0"));
  client.start();
  auto limiter = make_redis_rate_limiter(client);
  Result<RateDecision> d = test::run(io, limiter->acquire("rate:x", 1.0, 1.0));
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error(), Errc::unavailable);
}

}  // namespace
}  // namespace ivr::store
