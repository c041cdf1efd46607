#include "ivr/net/websocket_client.hpp"

#include <sys/socket.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include "fakes/fake_openai_realtime.hpp"
#include "support/test_env.hpp"

namespace ivr::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using json = nlohmann::json;

// The fake realtime server is a convenient WebSocket peer: it greets with session.created and answers
// every unknown client event with an `error` event, in order.
WebSocketClientOptions options_for(const test::FakeOpenAiRealtime& fake, const test::FakeRealtimeScript& s) {
  WebSocketClientOptions o;
  o.url = fake.url() + "?model=" + s.model;
  o.headers.emplace_back("Authorization", "Bearer " + s.api_key);
  o.connect_timeout = 2s;
  return o;
}

std::string type_of(const WebSocketMessage& m) {
  const json j = json::parse(m.data, nullptr, false);
  return j.is_object() ? j.value("type", "") : "";
}

class WebSocketClientTest : public ::testing::Test {
 protected:
  Result<std::unique_ptr<WebSocketClient>> connect(WebSocketClientOptions o, int* status = nullptr) {
    return test::run(io_, connector_.connect(std::move(o), status), 10s);
  }
  asio::io_context io_;
  WebSocketConnector connector_{io_};
};

TEST_F(WebSocketClientTest, ConnectsSendsHeadersAndExchangesMessages) {
  test::FakeRealtimeScript script;
  test::FakeOpenAiRealtime fake(script);
  auto options = options_for(fake, script);
  options.headers.emplace_back("X-Extra", "yes");
  auto client = connect(options);
  ASSERT_TRUE(client) << client.error().message();
  auto first = test::run(io_, (*client)->read());
  ASSERT_TRUE(first);
  EXPECT_FALSE(first->binary);
  EXPECT_EQ(type_of(*first), "session.created");

  ASSERT_TRUE((*client)->send_text(R"({"type":"no.such.event"})"));
  auto answer = test::run(io_, (*client)->read());
  ASSERT_TRUE(answer);
  EXPECT_EQ(type_of(*answer), "error");

  const auto hs = fake.handshakes();
  ASSERT_EQ(hs.size(), 1u);
  EXPECT_EQ(hs[0].target, "/v1/realtime?model=gpt-realtime");
  EXPECT_EQ(hs[0].header("x-extra"), "yes");
  EXPECT_EQ(hs[0].header("host"), "127.0.0.1:" + std::to_string(fake.port()));
  EXPECT_EQ(hs[0].header("upgrade"), "websocket");
  test::run(io_, (*client)->close(4000, "bye"));
  test::run(io_, (*client)->close(4000, "bye"));
  EXPECT_FALSE((*client)->is_open());
  // The fake records the code on its own thread once its read completes: poll briefly.
  for (int i = 0; i < 200 && fake.client_close_code() != 4000; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(fake.client_close_code(), 4000);
}

asio::awaitable<void> send_many(WebSocketClient& c, int from, int count) {
  for (int i = from; i < from + count; ++i) {
    const std::string text = R"({"type":"x.)" + std::to_string(i) + R"("})";
    EXPECT_TRUE(c.send_text(text));
    asio::steady_timer t(co_await asio::this_coro::executor);
    t.expires_after(std::chrono::microseconds(100));
    co_await t.async_wait(asio::use_awaitable);
  }
}

asio::awaitable<int> read_errors(WebSocketClient& c, int count) {
  int errors = 0;
  WebSocketMessage m;
  while (errors < count) {
    auto r = co_await c.read(m);
    if (!r) co_return -1;
    if (type_of(m) == "error") ++errors;
  }
  co_return errors;
}

asio::awaitable<int> concurrent_exchange(WebSocketClient& c) {
  auto ex = co_await asio::this_coro::executor;
  asio::co_spawn(ex, send_many(c, 0, 50), asio::detached);
  asio::co_spawn(ex, send_many(c, 1000, 50), asio::detached);
  co_return co_await read_errors(c, 100);
}

TEST_F(WebSocketClientTest, SeveralSendersOneReader) {
  test::FakeRealtimeScript script;
  test::FakeOpenAiRealtime fake(script);
  auto client = connect(options_for(fake, script));
  ASSERT_TRUE(client);
  EXPECT_EQ(test::run(io_, concurrent_exchange(**client), 10s), 100);
  const auto events = fake.client_events();
  ASSERT_EQ(events.size(), 100u);
  // Each sender's messages arrive whole and in its order.
  int last_a = -1, last_b = 999;
  for (const auto& e : events) {
    const int n = std::stoi(json::parse(e)["type"].get<std::string>().substr(2));
    if (n < 1000) {
      EXPECT_EQ(n, last_a + 1);
      last_a = n;
    } else {
      EXPECT_EQ(n, last_b + 1);
      last_b = n;
    }
  }
}

TEST_F(WebSocketClientTest, DroppableMessagesAreBoundedOldestFirst) {
  test::FakeRealtimeScript script;
  test::FakeOpenAiRealtime fake(script);
  auto options = options_for(fake, script);
  options.max_queued_bytes = 1000;
  auto client = connect(options);
  ASSERT_TRUE(client);
  // Without running the io_context nothing is written: the queue fills.
  for (int i = 0; i < 20; ++i) ASSERT_TRUE((*client)->send_text(std::string(100, 'a'), true));
  EXPECT_LE((*client)->queued_bytes(), 1000u);
  EXPECT_EQ((*client)->dropped_messages(), 10u);
  ASSERT_TRUE((*client)->send_text(R"({"type":"control"})"));  // never dropped
  EXPECT_EQ((*client)->dropped_messages(), 10u);
}

TEST_F(WebSocketClientTest, PeerDropEndsReadsWithUnavailable) {
  test::FakeRealtimeScript script;
  test::FakeOpenAiRealtime fake(script);
  auto client = connect(options_for(fake, script));
  ASSERT_TRUE(client);
  ASSERT_TRUE(test::run(io_, (*client)->read()));  // session.created
  fake.drop();
  auto r = test::run(io_, (*client)->read(), 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(Errc::unavailable));
  EXPECT_FALSE((*client)->send_text("x"));
}

asio::awaitable<void> read_once(WebSocketClient& c, boost::system::error_code& result, bool& done) {
  auto r = co_await c.read();
  result = r ? boost::system::error_code{} : r.error();
  done = true;
}

asio::awaitable<boost::system::error_code> read_then_close(WebSocketClient& c) {
  auto ex = co_await asio::this_coro::executor;
  boost::system::error_code result;
  bool done = false;
  asio::co_spawn(ex, read_once(c, result, done), asio::detached);
  asio::steady_timer t(ex);
  t.expires_after(50ms);
  co_await t.async_wait(asio::use_awaitable);
  co_await c.close(1000, "done");
  while (!done) {
    t.expires_after(5ms);
    co_await t.async_wait(asio::use_awaitable);
  }
  co_return result;
}

TEST_F(WebSocketClientTest, CloseEndsAPendingReadWithCancelled) {
  test::FakeRealtimeScript script;
  test::FakeOpenAiRealtime fake(script);
  auto client = connect(options_for(fake, script));
  ASSERT_TRUE(client);
  ASSERT_TRUE(test::run(io_, (*client)->read()));  // session.created
  EXPECT_EQ(test::run(io_, read_then_close(**client), 10s), make_error_code(Errc::cancelled));
}

TEST_F(WebSocketClientTest, RefusedUpgradeReportsTheStatus) {
  test::FakeRealtimeScript script;
  test::FakeOpenAiRealtime fake(script);
  auto options = options_for(fake, script);
  options.headers.clear();  // no Authorization → 401
  int status = 0;
  auto client = connect(options, &status);
  ASSERT_FALSE(client);
  EXPECT_EQ(client.error(), make_error_code(Errc::unauthorized));
  EXPECT_EQ(status, 401);

  test::FakeRealtimeScript limited;
  limited.reject_status = 429;
  test::FakeOpenAiRealtime busy(limited);
  auto refused = connect(options_for(busy, limited), &status);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), make_error_code(Errc::rate_limited));
  EXPECT_EQ(status, 429);
}

TEST_F(WebSocketClientTest, ConnectFailuresAreQuick) {
  WebSocketClientOptions o;
  o.url = "http://127.0.0.1:1/";
  auto bad = connect(o);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), make_error_code(Errc::config_invalid));

  std::string url;
  {
    test::FakeOpenAiRealtime gone;
    url = gone.url();
  }
  o.url = url;
  const auto t0 = std::chrono::steady_clock::now();
  auto refused = connect(o);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), make_error_code(Errc::unavailable));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);

  test::FakeRealtimeScript hang;
  hang.hang_handshake = true;
  test::FakeOpenAiRealtime silent(hang);
  o.url = silent.url();
  o.connect_timeout = 200ms;
  const auto t1 = std::chrono::steady_clock::now();
  auto timed_out = connect(o);
  ASSERT_FALSE(timed_out);
  EXPECT_EQ(timed_out.error(), make_error_code(Errc::timeout));
  EXPECT_LT(std::chrono::steady_clock::now() - t1, 2s);
}

TEST_F(WebSocketClientTest, DeadlineTimesOutAPendingRead) {
  test::FakeRealtimeScript script;
  test::FakeOpenAiRealtime fake(script);
  auto client = connect(options_for(fake, script));
  ASSERT_TRUE(client);
  ASSERT_TRUE(test::run(io_, (*client)->read()));
  (*client)->expires_after(200ms);
  auto r = test::run(io_, (*client)->read(), 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(Errc::timeout));
}

asio::awaitable<void> send_later(test::FakeOpenAiRealtime& fake, std::chrono::milliseconds delay) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  t.expires_after(delay);
  co_await t.async_wait(asio::use_awaitable);
  fake.send_raw(R"({"type":"late"})");
}

asio::awaitable<Result<WebSocketMessage>> late_message(WebSocketClient& c, test::FakeOpenAiRealtime& fake) {
  auto ex = co_await asio::this_coro::executor;
  asio::co_spawn(ex, send_later(fake, 1000ms), asio::detached);
  co_return co_await c.read();
}

TEST_F(WebSocketClientTest, KeepAlivePingsHoldAQuietConnectionOpen) {
  test::FakeRealtimeScript script;
  test::FakeOpenAiRealtime fake(script);
  auto options = options_for(fake, script);
  options.idle_timeout = 300ms;  // a ping after 150 ms of silence; the peer's pong keeps it alive
  auto client = connect(options);
  ASSERT_TRUE(client);
  ASSERT_TRUE(test::run(io_, (*client)->read()));  // session.created
  auto late = test::run(io_, late_message(**client, fake), 5s);
  ASSERT_TRUE(late) << late.error().message();
  EXPECT_EQ(type_of(*late), "late");
}

// A peer that completes the upgrade and then neither reads nor writes, so it never answers a ping: what a
// provider looks like behind a dead NAT mapping. After the client gives up, the peer reads what reached it.
class SilentPeer {
 public:
  SilentPeer() : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this] {
      boost::system::error_code ec;
      asio::ip::tcp::socket socket = acceptor_.accept(ec);
      if (ec) return;  // woken by the destructor: nobody connected
      boost::beast::websocket::stream<asio::ip::tcp::socket> ws(std::move(socket));
      ws.accept(ec);
      if (ec) return;
      // Wait for the client to give up (it closes its socket), then collect the raw bytes it sent.
      std::vector<char> buf(4096);
      while (!ec) {
        const std::size_t n = ws.next_layer().read_some(asio::buffer(buf), ec);
        received_.append(buf.data(), n);
      }
    });
  }
  ~SilentPeer() {
    if (!thread_.joinable()) return;
    // A failed test may never have connected: wake the blocking accept() so the thread can end.
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  // Raw bytes received after the upgrade (complete once the client closed its socket and join() returned).
  const std::string& join() {
    thread_.join();
    return received_;
  }

 private:
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  std::string received_;
  std::thread thread_;
};

TEST_F(WebSocketClientTest, PingsASilentPeerAndGivesUpAfterTheIdleTimeout) {
  SilentPeer peer;
  WebSocketClientOptions options;
  options.url = "ws://127.0.0.1:" + std::to_string(peer.port()) + "/silent";
  options.idle_timeout = 400ms;
  auto client = connect(options);
  ASSERT_TRUE(client) << client.error().message();
  const auto started = std::chrono::steady_clock::now();
  auto read = test::run(io_, (*client)->read(), 5s);
  const auto waited = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error(), make_error_code(Errc::timeout));
  EXPECT_GE(waited, 400ms);
  EXPECT_LT(waited, 1500ms);
  EXPECT_FALSE((*client)->send_text("late"));
  // The keep-alive ping went out before the client gave up: a masked, final ping frame (FIN + opcode 9,
  // mask bit + empty payload).
  const std::string& raw = peer.join();
  ASSERT_GE(raw.size(), 6u);
  EXPECT_EQ(static_cast<unsigned char>(raw[0]), 0x89);
  EXPECT_EQ(static_cast<unsigned char>(raw[1]), 0x80);
}

class TlsTest : public WebSocketClientTest {
 protected:
  void SetUp() override {
    cert_ = test::make_self_signed_cert("127.0.0.1");
    ca_path_ = ::testing::TempDir() + "ivr_ws_ca.pem";
    std::ofstream(ca_path_) << cert_.cert_pem;
  }
  void TearDown() override { std::remove(ca_path_.c_str()); }
  test::SelfSignedCert cert_;
  std::string ca_path_;
};

TEST_F(TlsTest, VerifiedWithTheExtraCaAndRefusedWithout) {
  test::FakeRealtimeScript script;
  script.cert_pem = cert_.cert_pem;
  script.key_pem = cert_.key_pem;
  test::FakeOpenAiRealtime fake(script);
  ASSERT_EQ(fake.url().substr(0, 6), "wss://");

  // System store only: the self-signed certificate is not trusted.
  auto untrusted = connect(options_for(fake, script));
  ASSERT_FALSE(untrusted);
  EXPECT_EQ(untrusted.error(), make_error_code(Errc::unavailable));

  // Verification off (tests, private endpoints).
  auto options = options_for(fake, script);
  options.verify_tls = false;
  auto unverified = connect(options);
  ASSERT_TRUE(unverified) << unverified.error().message();

  // Trusted through the connector's extra CA, host name (IP SAN) checked.
  WebSocketConnector trusting(io_, WebSocketConnectorSettings{ca_path_});
  auto client = test::run(io_, trusting.connect(options_for(fake, script)), 10s);
  ASSERT_TRUE(client) << client.error().message();
  auto first = test::run(io_, (*client)->read());
  ASSERT_TRUE(first);
  EXPECT_EQ(type_of(*first), "session.created");
  ASSERT_TRUE((*client)->send_text(R"({"type":"unknown"})"));
  auto answer = test::run(io_, (*client)->read());
  ASSERT_TRUE(answer);
  EXPECT_EQ(type_of(*answer), "error");
  test::run(io_, (*client)->close());
}

}  // namespace
}  // namespace ivr::net
