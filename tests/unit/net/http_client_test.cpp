#include "ivr/net/http_client.hpp"

#include "support/local_http_server.hpp"
#include "support/test_env.hpp"

#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ivr::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::chrono::milliseconds since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

// Runs `io` until `done()` or `limit`; returns done().
bool run_until(asio::io_context& io, const std::function<bool()>& done,
               std::chrono::milliseconds limit = 10s) {
  io.restart();
  const auto deadline = Clock::now() + limit;
  while (!done() && Clock::now() < deadline) io.run_one_for(20ms);
  return done();
}

// Spawns client.send(request) with a cancellation slot; the outcome lands in `out`.
struct Pending {
  std::optional<Result<ClientResponse>> result;
  std::exception_ptr error;
  bool done = false;
};

void spawn_send(asio::io_context& io, HttpClient& client, ClientRequest request, Pending& out,
                asio::cancellation_slot slot = {}) {
  auto on_done = [&out](std::exception_ptr e, Result<ClientResponse> r) {
    out.error = e;
    if (!e) out.result.emplace(std::move(r));
    out.done = true;
  };
  asio::co_spawn(io, client.send(std::move(request)), asio::bind_cancellation_slot(slot, std::move(on_done)));
}

ClientRequest get(std::string url) {
  ClientRequest r;
  r.url = std::move(url);
  return r;
}

class HttpClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // A proxy configured on the machine must not capture loopback traffic.
    ::setenv("no_proxy", "127.0.0.1,localhost", 1);
    ::setenv("NO_PROXY", "127.0.0.1,localhost", 1);
  }

  Result<ClientResponse> send(ClientRequest request) {
    return test::run(io_, client_.send(std::move(request)));
  }

  test::LocalHttpServer server_;
  asio::io_context io_;
  HttpClient client_{io_};  // declared after io_: destroyed before it
};

TEST_F(HttpClientTest, GetReturnsStatusHeadersAndBody) {
  const auto r = send(get(server_.url("/json")));
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"ok":true})");
  EXPECT_EQ(r->headers.get("x-server"), "local-test");
  EXPECT_EQ(r->headers.get("Content-Type"), "application/json");
  EXPECT_EQ(client_.in_flight(), 0u);
}

TEST_F(HttpClientTest, PostRoundTripsBodyAndHeaders) {
  ClientRequest request = get(server_.url("/echo?x=1"));
  request.method = "POST";
  request.body = R"({"text":"olá"})";
  request.headers.add("Content-Type", "application/json");
  request.headers.add("X-Api-Key", "secret-value");
  request.headers.add("X-Empty", "");
  const auto r = send(std::move(request));
  ASSERT_TRUE(r.has_value()) << r.error().message();
  ASSERT_EQ(r->status, 200);
  const auto echo = nlohmann::json::parse(r->body);
  EXPECT_EQ(echo["method"], "POST");
  EXPECT_EQ(echo["target"], "/echo?x=1");
  EXPECT_EQ(echo["body"], R"({"text":"olá"})");
  EXPECT_EQ(echo["headers"]["content-type"], "application/json");
  EXPECT_EQ(echo["headers"]["x-api-key"], "secret-value");
  EXPECT_EQ(echo["headers"]["x-empty"], "");
  EXPECT_EQ(echo["headers"]["content-length"], std::to_string(std::string(R"({"text":"olá"})").size()));
  EXPECT_FALSE(echo["headers"].contains("expect"));
}

TEST_F(HttpClientTest, OtherMethodsRoundTrip) {
  for (const std::string method : {"GET", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
    for (const std::string body : {"", "payload"}) {
      ClientRequest request = get(server_.url("/echo"));
      request.method = method;
      request.body = body;
      const auto r = send(std::move(request));
      ASSERT_TRUE(r.has_value()) << method << ": " << r.error().message();
      const auto echo = nlohmann::json::parse(r->body);
      EXPECT_EQ(echo["method"], method);
      EXPECT_EQ(echo["body"], body) << method;
      // A POST-style body must not come with curl's default form content type.
      EXPECT_FALSE(echo["headers"].contains("content-type")) << method;
    }
  }
  ClientRequest head = get(server_.url("/json"));
  head.method = "HEAD";
  const auto r = send(std::move(head));
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->body.empty());
  EXPECT_EQ(r->headers.get("x-server"), "local-test");
}

TEST_F(HttpClientTest, ServerErrorStatusIsAResponseNotAnError) {
  const auto r = send(get(server_.url("/status/500")));
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body, R"({"error":"boom"})");
}

TEST_F(HttpClientTest, InterimResponseHeadersAreDropped) {
  const auto r = send(get(server_.url("/continue")));
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ok");
  EXPECT_EQ(r->headers.get("X-Final"), "yes");
  EXPECT_FALSE(r->headers.contains("X-Interim"));
}

TEST_F(HttpClientTest, FiftyConcurrentRequestsOverlapOnOneThread) {
  constexpr std::size_t kCount = 50;
  std::vector<Pending> pending(kCount);
  const auto start = Clock::now();
  for (auto& p : pending) spawn_send(io_, client_, get(server_.url("/slow?ms=200")), p);
  std::size_t peak_in_flight = 0;
  const bool all_done = run_until(io_, [&] {
    peak_in_flight = std::max(peak_in_flight, client_.in_flight());
    for (const auto& p : pending) {
      if (!p.done) return false;
    }
    return true;
  });
  const auto elapsed = since(start);
  ASSERT_TRUE(all_done);
  for (const auto& p : pending) {
    ASSERT_FALSE(p.error);
    ASSERT_TRUE(p.result->has_value()) << p.result->error().message();
    EXPECT_EQ((*p.result)->status, 200);
    EXPECT_EQ((*p.result)->body, "slow");
  }
  EXPECT_EQ(peak_in_flight, kCount);
  EXPECT_EQ(client_.in_flight(), 0u);
  // One after another this would take 50 × 200 ms = 10 s; overlapped it takes a little over 200 ms.
  EXPECT_LT(elapsed, 3s);
  EXPECT_GE(server_.peak_concurrency(), 10u);
}

TEST_F(HttpClientTest, TotalTimeoutFailsWithTimeout) {
  ClientRequest request = get(server_.url("/slow?ms=5000"));
  request.total_timeout = 200ms;
  const auto start = Clock::now();
  const auto r = send(std::move(request));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), make_error_code(Errc::timeout));
  EXPECT_LT(since(start), 3s);
  EXPECT_EQ(client_.in_flight(), 0u);
}

TEST_F(HttpClientTest, ClosedPortIsUnavailable) {
  const auto r = send(get("http://127.0.0.1:" + std::to_string(test::closed_local_port()) + "/"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), make_error_code(Errc::unavailable));
}

TEST_F(HttpClientTest, ResolvesHostNames) {
  const auto r = send(get("http://localhost:" + std::to_string(server_.port()) + "/json"));
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->status, 200);
}

TEST_F(HttpClientTest, UsesTheProxyFromTheEnvironment) {
  // The local server answers proxy requests itself: curl must have sent it the absolute URL.
  ::setenv("http_proxy", server_.url("").c_str(), 1);
  const auto r = send(get("http://upstream.invalid/echo"));
  ::unsetenv("http_proxy");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(nlohmann::json::parse(r->body)["target"], "http://upstream.invalid/echo");
}

TEST_F(HttpClientTest, UnsupportedSchemeIsRefused) {
  const auto r = send(get("file:///etc/passwd"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), make_error_code(Errc::internal));
}

TEST_F(HttpClientTest, HeaderWithLineBreakIsRefused) {
  ClientRequest request = get(server_.url("/echo"));
  request.headers.add("X-Injected", "a\r\nX-Evil: 1");
  const auto r = send(std::move(request));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), make_error_code(Errc::internal));
  EXPECT_EQ(server_.requests_started(), 0u);
}

TEST_F(HttpClientTest, StreamedChunksArriveInOrderBeforeTheResponseCompletes) {
  std::string streamed;
  std::vector<Clock::time_point> arrivals;
  ClientRequest request = get(server_.url("/stream?chunks=5&delay_ms=100"));
  request.on_body_chunk = [&](std::string_view chunk) {
    streamed.append(chunk);
    arrivals.push_back(Clock::now());
    return true;
  };
  const auto r = send(std::move(request));
  const auto completed = Clock::now();
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->body.empty());
  EXPECT_EQ(streamed, "chunk-0\nchunk-1\nchunk-2\nchunk-3\nchunk-4\n");
  ASSERT_GE(arrivals.size(), 2u);
  // Four more chunks follow the first at 100 ms intervals: the first was delivered long before the end.
  EXPECT_GE(completed - arrivals.front(), 200ms);
}

TEST_F(HttpClientTest, ChunkConsumerReturningFalseCancels) {
  int calls = 0;
  ClientRequest request = get(server_.url("/stream?chunks=5&delay_ms=200"));
  request.on_body_chunk = [&](std::string_view) {
    ++calls;
    return false;
  };
  const auto start = Clock::now();
  const auto r = send(std::move(request));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), make_error_code(Errc::cancelled));
  EXPECT_EQ(calls, 1);
  EXPECT_LT(since(start), 800ms);  // did not wait for the remaining chunks
  EXPECT_EQ(client_.in_flight(), 0u);
}

asio::awaitable<std::size_t> race_with_timer(HttpClient& client, ClientRequest request,
                                             std::chrono::milliseconds limit) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(co_await asio::this_coro::executor, limit);
  const auto winner = co_await (client.send(std::move(request)) || timer.async_wait(asio::use_awaitable));
  co_return winner.index();
}

TEST_F(HttpClientTest, OrWithShortTimerCancelsTheRequest) {
  const auto start = Clock::now();
  const std::size_t winner =
      test::run(io_, race_with_timer(client_, get(server_.url("/slow?ms=5000")), 100ms));
  EXPECT_EQ(winner, 1u);  // the timer
  EXPECT_LT(since(start), 3s);
  EXPECT_EQ(client_.in_flight(), 0u);
  // The client is still usable afterwards.
  const auto r = send(get(server_.url("/json")));
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->status, 200);
}

TEST_F(HttpClientTest, CancellationSlotCompletesWithCancelled) {
  asio::cancellation_signal signal;
  Pending pending;
  spawn_send(io_, client_, get(server_.url("/slow?ms=5000")), pending, signal.slot());
  ASSERT_TRUE(run_until(io_, [&] { return server_.requests_started() == 1; }));
  EXPECT_EQ(client_.in_flight(), 1u);
  signal.emit(asio::cancellation_type::terminal);
  ASSERT_TRUE(run_until(io_, [&] { return pending.done; }));
  ASSERT_FALSE(pending.error);
  ASSERT_FALSE(pending.result->has_value());
  EXPECT_EQ(pending.result->error(), make_error_code(Errc::cancelled));
  EXPECT_EQ(client_.in_flight(), 0u);
}

TEST_F(HttpClientTest, CancellationBeforeTheTransferStarted) {
  asio::cancellation_signal signal;
  Pending pending;
  spawn_send(io_, client_, get(server_.url("/slow?ms=5000")), pending, signal.slot());
  ASSERT_TRUE(run_until(io_, [&] { return client_.in_flight() == 1; }));
  signal.emit(asio::cancellation_type::terminal);
  ASSERT_TRUE(run_until(io_, [&] { return pending.done; }));
  ASSERT_TRUE(pending.result);
  EXPECT_EQ(pending.result->error(), make_error_code(Errc::cancelled));
  EXPECT_EQ(client_.in_flight(), 0u);
}

TEST_F(HttpClientTest, ResponseOverLimitIsPayloadTooLarge) {
  for (const char* target : {"/huge?bytes=1048576", "/huge-chunked?bytes=1048576"}) {
    ClientRequest request = get(server_.url(target));
    request.max_response_bytes = 64 * 1024;
    const auto r = send(std::move(request));
    ASSERT_FALSE(r.has_value()) << target;
    EXPECT_EQ(r.error(), make_error_code(Errc::payload_too_large)) << target;
  }
  // At the limit is fine.
  ClientRequest request = get(server_.url("/huge-chunked?bytes=131072"));
  request.max_response_bytes = 131072;
  const auto r = send(std::move(request));
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->body.size(), 131072u);
}

TEST_F(HttpClientTest, StreamedResponseOverLimitIsPayloadTooLarge) {
  std::size_t streamed = 0;
  ClientRequest request = get(server_.url("/huge-chunked?bytes=1048576"));
  request.max_response_bytes = 100 * 1024;
  request.on_body_chunk = [&](std::string_view chunk) {
    streamed += chunk.size();
    return true;
  };
  const auto r = send(std::move(request));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), make_error_code(Errc::payload_too_large));
  EXPECT_LE(streamed, 100u * 1024u);
}

TEST_F(HttpClientTest, DestroyingTheClientCancelsPendingRequests) {
  auto client = std::make_unique<HttpClient>(io_);
  Pending pending;
  spawn_send(io_, *client, get(server_.url("/slow?ms=5000")), pending);
  ASSERT_TRUE(run_until(io_, [&] { return server_.requests_started() == 1; }));
  client.reset();
  ASSERT_TRUE(run_until(
      io_, [&] { return pending.done; }, 2s));
  ASSERT_FALSE(pending.error);
  EXPECT_EQ(pending.result->error(), make_error_code(Errc::cancelled));
}

TEST_F(HttpClientTest, DestroyingTheClientBeforeTheTransferStarted) {
  auto client = std::make_unique<HttpClient>(io_);
  Pending pending;
  spawn_send(io_, *client, get(server_.url("/slow?ms=5000")), pending);
  ASSERT_TRUE(run_until(io_, [&] { return client->in_flight() == 1; }));
  client.reset();
  ASSERT_TRUE(run_until(
      io_, [&] { return pending.done; }, 2s));
  EXPECT_EQ(pending.result->error(), make_error_code(Errc::cancelled));
}

TEST_F(HttpClientTest, DestroyingTheClientWhileTheLoopIsStopped) {
  // The completion stays queued in the io_context and is destroyed with it: no crash, no leak.
  auto io = std::make_unique<asio::io_context>();
  auto client = std::make_unique<HttpClient>(*io);
  Pending pending;
  spawn_send(*io, *client, get(server_.url("/slow?ms=5000")), pending);
  ASSERT_TRUE(run_until(*io, [&] { return server_.requests_started() == 1; }));
  client.reset();
  io.reset();
  EXPECT_FALSE(pending.done);
}

}  // namespace
}  // namespace ivr::net
