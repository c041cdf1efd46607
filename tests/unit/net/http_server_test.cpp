#include "ivr/net/http_server.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "ivr/net/router.hpp"
#include "ivr/net/websocket.hpp"
#include "support/test_env.hpp"

namespace ivr::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using Response = http::response<http::string_body>;

constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

struct RecordingObserver final : RequestObserver {
  struct Seen {
    std::string method;
    std::string route_pattern;
    std::string request_id;
    int status;
  };
  std::vector<Seen> requests;
  std::vector<std::size_t> counts;

  void on_request(const HttpRequest& request, const HttpResponse& response,
                  std::chrono::nanoseconds) override {
    requests.push_back({request.method, request.route_pattern, request.request_id, response.status});
  }
  void on_connection_count(std::size_t open) override { counts.push_back(open); }
};

// --- client helpers (coroutines on the test's io_context) -------------------------------------------------

asio::awaitable<tcp::socket> connect_to(std::uint16_t port) {
  tcp::socket socket(co_await asio::this_coro::executor);
  co_await socket.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                                asio::use_awaitable);
  co_return socket;
}

asio::awaitable<void> send(tcp::socket& socket, std::string data) {
  co_await asio::async_write(socket, asio::buffer(data), asio::use_awaitable);
}

asio::awaitable<Response> read_response(tcp::socket& socket, beast::flat_buffer& buffer, bool head = false) {
  http::response_parser<http::string_body> parser;
  parser.skip(head);
  co_await http::async_read(socket, buffer, parser, asio::use_awaitable);
  co_return parser.release();
}

// Everything until the server closes the connection.
asio::awaitable<std::string> read_to_eof(tcp::socket& socket) {
  std::string out;
  char chunk[4096];
  for (;;) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(chunk), kAsTuple);
    out.append(chunk, n);
    if (ec) break;
  }
  co_return out;
}

asio::awaitable<std::string> send_and_read_to_eof(std::uint16_t port, std::string request) {
  tcp::socket socket = co_await connect_to(port);
  co_await send(socket, std::move(request));
  co_return co_await read_to_eof(socket);
}

std::string get(std::string_view target, std::string_view extra_headers = "") {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n" + std::string(extra_headers) + "\r\n";
}

std::string error_code_of(const std::string& body) {
  return nlohmann::json::parse(body).at("error").at("code").get<std::string>();
}

asio::awaitable<void> wait_for(std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(asio::use_awaitable);
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.port = 0;
    config_.reuse_port = false;
    router_.add("GET", "/hello", [](HttpRequest&) -> asio::awaitable<HttpResponse> {
      co_return HttpResponse::text(200, "hello world");
    });
  }

  void TearDown() override {
    if (server_) test::run(io_, server_->shutdown(500ms));
  }

  void start() {
    server_ = std::make_unique<HttpServer>(io_, router_, config_, &observer_);
    const auto started = server_->start();
    ASSERT_TRUE(started) << started.error().message();
    ASSERT_NE(server_->port(), 0);
  }

  std::uint16_t port() const { return server_->port(); }

  asio::io_context io_;
  Router router_;
  ServerConfig config_;
  RecordingObserver observer_;
  std::unique_ptr<HttpServer> server_;
};

// --- keep-alive and pipelining -----------------------------------------------------------------------------

asio::awaitable<void> three_requests_on_one_connection(std::uint16_t port, HttpServer& server) {
  tcp::socket socket = co_await connect_to(port);
  beast::flat_buffer buffer;
  for (int i = 0; i < 3; ++i) {
    co_await send(socket, get("/hello"));
    const Response res = co_await read_response(socket, buffer);
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_EQ(res.body(), "hello world");
    EXPECT_TRUE(res.keep_alive());
    EXPECT_EQ(res[http::field::content_length], "11");
    EXPECT_EQ(res[http::field::content_type], "text/plain; charset=utf-8");
    EXPECT_FALSE(res["X-Request-Id"].empty());
    EXPECT_EQ(server.open_connections(), 1u);
  }
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  start();
  test::run(io_, three_requests_on_one_connection(port(), *server_));
  ASSERT_EQ(observer_.requests.size(), 3u);
  for (const auto& seen : observer_.requests) {
    EXPECT_EQ(seen.status, 200);
    EXPECT_EQ(seen.route_pattern, "/hello");
  }
  ASSERT_FALSE(observer_.counts.empty());
  EXPECT_EQ(observer_.counts.front(), 1u);
}

// Scaling by processes (README "Scaling", one io thread per process): listeners with SO_REUSEPORT share a
// port and the kernel spreads new connections over them. Two servers stand in for two processes here.
asio::awaitable<std::map<std::string, int>> who_answers(std::uint16_t port, int connections) {
  std::map<std::string, int> seen;
  for (int i = 0; i < connections; ++i) {
    const std::string raw = co_await send_and_read_to_eof(port, get("/who", "Connection: close\r\n"));
    const auto body = raw.find("\r\n\r\n");
    ++seen[body == std::string::npos ? raw : raw.substr(body + 4)];
  }
  co_return seen;
}

TEST_F(HttpServerTest, ListenersWithReusePortShareThePortAndTheConnections) {
  router_.add("GET", "/who", [](HttpRequest&) -> asio::awaitable<HttpResponse> {
    co_return HttpResponse::text(200, "first");
  });
  config_.reuse_port = true;
  start();
  Router second_router;
  second_router.add("GET", "/who", [](HttpRequest&) -> asio::awaitable<HttpResponse> {
    co_return HttpResponse::text(200, "second");
  });
  ServerConfig second_config = config_;
  second_config.port = port();
  HttpServer second(io_, second_router, second_config);
  const auto started = second.start();
  ASSERT_TRUE(started) << started.error().message();

  const auto seen = test::run(io_, who_answers(port(), 64), 10s);
  EXPECT_GT(seen.count("first") ? seen.at("first") : 0, 0);
  EXPECT_GT(seen.count("second") ? seen.at("second") : 0, 0) << "the kernel never chose the second listener";
  EXPECT_EQ((seen.count("first") ? seen.at("first") : 0) + (seen.count("second") ? seen.at("second") : 0),
            64);

  // Without the option the port is taken.
  ServerConfig exclusive = second_config;
  exclusive.reuse_port = false;
  HttpServer third(io_, second_router, exclusive);
  EXPECT_FALSE(third.start());
  test::run(io_, second.shutdown(500ms));
}

asio::awaitable<void> pipelined(std::uint16_t port) {
  tcp::socket socket = co_await connect_to(port);
  // Both requests in one write: the first is slower, yet must be answered first.
  co_await send(socket, get("/slow") + get("/fast"));
  beast::flat_buffer buffer;
  const Response first = co_await read_response(socket, buffer);
  const Response second = co_await read_response(socket, buffer);
  EXPECT_EQ(first.body(), "slow");
  EXPECT_EQ(second.body(), "fast");
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  router_.add("GET", "/slow", [](HttpRequest&) -> asio::awaitable<HttpResponse> {
    co_await wait_for(30ms);
    co_return HttpResponse::text(200, "slow");
  });
  router_.add("GET", "/fast", [](HttpRequest&) -> asio::awaitable<HttpResponse> {
    co_return HttpResponse::text(200, "fast");
  });
  start();
  test::run(io_, pipelined(port()));
}

// --- routing, decoding, request ids ------------------------------------------------------------------------

asio::awaitable<std::vector<Response>> exchange(std::uint16_t port, std::vector<std::string> requests) {
  tcp::socket socket = co_await connect_to(port);
  beast::flat_buffer buffer;
  std::vector<Response> out;
  for (std::string& request : requests) {
    co_await send(socket, std::move(request));
    out.push_back(co_await read_response(socket, buffer));
  }
  co_return out;
}

TEST_F(HttpServerTest, UnknownRouteGets404Envelope) {
  start();
  const auto res = test::run(io_, exchange(port(), {get("/nope")}));
  EXPECT_EQ(res[0].result_int(), 404);
  EXPECT_EQ(res[0][http::field::content_type], "application/json");
  EXPECT_EQ(error_code_of(res[0].body()), "not_found");
  EXPECT_TRUE(res[0].keep_alive());
  ASSERT_EQ(observer_.requests.size(), 1u);
  EXPECT_EQ(observer_.requests[0].status, 404);
  EXPECT_EQ(observer_.requests[0].route_pattern, "");
}

TEST_F(HttpServerTest, WrongMethodGets405WithAllow) {
  router_.add("POST", "/hello", [](HttpRequest&) -> asio::awaitable<HttpResponse> {
    co_return HttpResponse::text(200, "posted");
  });
  start();
  const auto res =
      test::run(io_, exchange(port(), {"DELETE /hello HTTP/1.1\r\nHost: t\r\n\r\n", get("/hello")}));
  EXPECT_EQ(res[0].result_int(), 405);
  EXPECT_EQ(res[0][http::field::allow], "GET, HEAD, POST");
  EXPECT_EQ(error_code_of(res[0].body()), "method_not_allowed");
  EXPECT_EQ(res[1].result_int(), 200);  // the connection stays usable
}

asio::awaitable<void> head_then_get(std::uint16_t port) {
  tcp::socket socket = co_await connect_to(port);
  beast::flat_buffer buffer;
  co_await send(socket, "HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n" + get("/hello"));
  const Response head = co_await read_response(socket, buffer, true);
  EXPECT_EQ(head.result_int(), 200);
  EXPECT_EQ(head[http::field::content_length], "11");
  EXPECT_EQ(head.body(), "");
  // If HEAD had carried a body, this would read garbage.
  const Response body = co_await read_response(socket, buffer);
  EXPECT_EQ(body.body(), "hello world");
}

TEST_F(HttpServerTest, HeadIsAnsweredByGetRouteWithoutBody) {
  start();
  test::run(io_, head_then_get(port()));
}

TEST_F(HttpServerTest, PathAndQueryAreDecodedForHandlers) {
  router_.add("GET", "/calls/{call_uuid}/end", [](HttpRequest& request) -> asio::awaitable<HttpResponse> {
    co_return HttpResponse::text(200, std::string(request.path_param("call_uuid")) + "|" +
                                          request.query_param("q").value_or("-") + "|" + request.path + "|" +
                                          request.query + "|" + request.remote_address);
  });
  start();
  const auto res = test::run(io_, exchange(port(), {get("/calls/abc%2Dx%20y/end?q=a%20b+c")}));
  EXPECT_EQ(res[0].result_int(), 200);
  EXPECT_EQ(res[0].body(), "abc-x y|a b c|/calls/abc-x y/end|q=a%20b+c|127.0.0.1");
  ASSERT_EQ(observer_.requests.size(), 1u);
  EXPECT_EQ(observer_.requests[0].route_pattern, "/calls/{call_uuid}/end");
}

TEST_F(HttpServerTest, RequestIdIsEchoedWhenValidAndReplacedOtherwise) {
  router_.add("GET", "/rid", [](HttpRequest& request) -> asio::awaitable<HttpResponse> {
    co_return HttpResponse::text(200, request.request_id);
  });
  start();
  const auto res = test::run(io_, exchange(port(), {get("/rid", "X-Request-Id: abc-123.x:y_z\r\n"),
                                                    get("/rid", "X-Request-Id: has spaces <script>\r\n"),
                                                    get("/rid"), get("/nope", "X-Request-Id: r-404\r\n")}));
  EXPECT_EQ(res[0]["X-Request-Id"], "abc-123.x:y_z");
  EXPECT_EQ(res[0].body(), "abc-123.x:y_z");

  const std::string replaced(res[1]["X-Request-Id"]);
  EXPECT_FALSE(replaced.empty());
  EXPECT_EQ(replaced.find(' '), std::string::npos);
  EXPECT_EQ(res[1].body(), replaced);

  EXPECT_FALSE(res[2]["X-Request-Id"].empty());
  EXPECT_EQ(res[2].body(), std::string(res[2]["X-Request-Id"]));
  EXPECT_NE(res[2].body(), replaced);

  EXPECT_EQ(res[3]["X-Request-Id"], "r-404");  // server-generated answers carry it too
}

TEST_F(HttpServerTest, HandlerExceptionBecomes500WithoutDetails) {
  router_.add("GET", "/boom", [](HttpRequest&) -> asio::awaitable<HttpResponse> {
    throw std::runtime_error("secret database password is hunter2");
    co_return HttpResponse::text(200, "unreachable");
  });
  start();
  const auto res = test::run(io_, exchange(port(), {get("/boom")}));
  EXPECT_EQ(res[0].result_int(), 500);
  EXPECT_EQ(error_code_of(res[0].body()), "internal");
  EXPECT_EQ(res[0].body().find("hunter2"), std::string::npos);
  EXPECT_EQ(res[0].body().find("secret"), std::string::npos);
  ASSERT_EQ(observer_.requests.size(), 1u);
  EXPECT_EQ(observer_.requests[0].status, 500);
}

TEST_F(HttpServerTest, MalformedRequestGets400AndClose) {
  start();
  const std::string raw = test::run(io_, send_and_read_to_eof(port(), "THIS IS NOT HTTP\r\n\r\n"));
  EXPECT_EQ(raw.rfind("HTTP/1.1 400 ", 0), 0u) << raw;
  EXPECT_NE(raw.find("Connection: close"), std::string::npos);
  EXPECT_NE(raw.find("bad_request"), std::string::npos);
}

// --- limits --------------------------------------------------------------------------------------------

class HttpServerLimitsTest : public HttpServerTest {
 protected:
  void SetUp() override {
    HttpServerTest::SetUp();
    RouteOptions options;
    options.max_body_bytes = 16;
    options.content_types = {"application/json", "text/plain"};
    router_.add(
        "POST", "/upload",
        [this](HttpRequest& request) -> asio::awaitable<HttpResponse> {
          ++handled_;
          co_return HttpResponse::text(200, "got:" + request.body);
        },
        options);
  }
  int handled_ = 0;
};

TEST_F(HttpServerLimitsTest, BodyWithinLimitIsDelivered) {
  start();
  const auto res = test::run(
      io_,
      exchange(port(), {"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: "
                        "5\r\n\r\nhello",
                        "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nTransfer-Encoding: "
                        "chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"}));
  EXPECT_EQ(res[0].result_int(), 200);
  EXPECT_EQ(res[0].body(), "got:hello");
  EXPECT_EQ(res[1].result_int(), 200);
  EXPECT_EQ(res[1].body(), "got:abcde");
  EXPECT_EQ(handled_, 2);
}

TEST_F(HttpServerLimitsTest, ContentLengthOverLimitGets413BeforeTheBodyIsSent) {
  start();
  // Only the header is sent: the answer must come without waiting for the 1000 announced bytes.
  const std::string raw =
      test::run(io_,
                send_and_read_to_eof(port(),
                                     "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\n"
                                     "Content-Length: 1000\r\n\r\n"),
                5s);
  EXPECT_EQ(raw.rfind("HTTP/1.1 413 ", 0), 0u) << raw;
  EXPECT_NE(raw.find("payload_too_large"), std::string::npos);
  EXPECT_NE(raw.find("Connection: close"), std::string::npos);
  EXPECT_EQ(handled_, 0);
  ASSERT_EQ(observer_.requests.size(), 1u);
  EXPECT_EQ(observer_.requests[0].status, 413);
}

TEST_F(HttpServerLimitsTest, ChunkedBodyOverLimitGets413) {
  start();
  const std::string raw =
      test::run(io_, send_and_read_to_eof(port(),
                                          "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\n"
                                          "Transfer-Encoding: chunked\r\n\r\n14\r\n" +
                                              std::string(20, 'x') + "\r\n0\r\n\r\n"));
  EXPECT_EQ(raw.rfind("HTTP/1.1 413 ", 0), 0u) << raw;
  EXPECT_EQ(handled_, 0);
}

asio::awaitable<void> expect_continue(std::uint16_t port) {
  tcp::socket socket = co_await connect_to(port);
  beast::flat_buffer buffer;
  co_await send(socket,
                "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
                "Expect: 100-continue\r\n\r\n");
  http::response_parser<http::empty_body> interim;
  co_await http::async_read_header(socket, buffer, interim, asio::use_awaitable);
  EXPECT_EQ(interim.get().result_int(), 100);
  co_await send(socket, "ok");
  const Response res = co_await read_response(socket, buffer);
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "got:ok");
}

TEST_F(HttpServerLimitsTest, ExpectContinueGetsInterimResponse) {
  start();
  test::run(io_, expect_continue(port()));
}

TEST_F(HttpServerLimitsTest, WrongContentTypeGets415) {
  start();
  const auto ok = test::run(
      io_, exchange(port(),
                    {"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: Application/JSON; charset=utf-8\r\n"
                     "Content-Length: 2\r\n\r\n{}"}));
  EXPECT_EQ(ok[0].result_int(), 200);

  const std::string raw =
      test::run(io_, send_and_read_to_eof(port(),
                                          "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: audio/wav\r\n"
                                          "Content-Length: 4\r\n\r\nRIFF"));
  EXPECT_EQ(raw.rfind("HTTP/1.1 415 ", 0), 0u) << raw;
  EXPECT_NE(raw.find("unsupported_media_type"), std::string::npos);

  const std::string missing = test::run(
      io_, send_and_read_to_eof(port(), "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nRIFF"));
  EXPECT_EQ(missing.rfind("HTTP/1.1 415 ", 0), 0u) << missing;
  EXPECT_EQ(handled_, 1);
}

TEST_F(HttpServerTest, HeaderTooLargeGets431) {
  config_.max_header_bytes = 1024;
  start();
  const std::string raw = test::run(
      io_, send_and_read_to_eof(port(), get("/hello", "X-Pad: " + std::string(4000, 'a') + "\r\n")));
  EXPECT_EQ(raw.rfind("HTTP/1.1 431 ", 0), 0u) << raw;
  EXPECT_NE(raw.find("header_too_large"), std::string::npos);
  ASSERT_EQ(observer_.requests.size(), 1u);
  EXPECT_EQ(observer_.requests[0].status, 431);
}

asio::awaitable<std::chrono::milliseconds> time_until_closed(std::uint16_t port, std::string partial) {
  tcp::socket socket = co_await connect_to(port);
  const auto started = std::chrono::steady_clock::now();
  co_await send(socket, std::move(partial));
  const std::string rest = co_await read_to_eof(socket);
  EXPECT_EQ(rest, "");
  co_return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
}

TEST_F(HttpServerTest, SlowLorisConnectionIsClosedAfterReadTimeout) {
  config_.read_timeout = 200ms;
  config_.idle_timeout = 10s;
  start();
  // Timing is the behaviour under test here.
  const auto elapsed =
      test::run(io_, time_until_closed(port(), "GET /hello HTTP/1.1\r\nHost: t\r\nX-Slow: "), 5s);
  EXPECT_GE(elapsed, 150ms);
  EXPECT_LT(elapsed, 3s);
  EXPECT_TRUE(observer_.requests.empty());
}

asio::awaitable<std::string> second_connection_is_refused(std::uint16_t port) {
  tcp::socket first = co_await connect_to(port);
  beast::flat_buffer buffer;
  co_await send(first, get("/hello"));
  const Response res = co_await read_response(first, buffer);  // the first one is in and counted
  EXPECT_EQ(res.result_int(), 200);
  tcp::socket second = co_await connect_to(port);
  co_return co_await read_to_eof(second);
}

TEST_F(HttpServerTest, ConnectionsBeyondMaxAreRefusedWith503) {
  config_.max_connections = 1;
  start();
  const std::string raw = test::run(io_, second_connection_is_refused(port()));
  EXPECT_EQ(raw.rfind("HTTP/1.1 503 ", 0), 0u) << raw;
  EXPECT_NE(raw.find("Connection: close"), std::string::npos);
}

TEST_F(HttpServerTest, StartReportsAddressInUse) {
  start();
  ServerConfig taken = config_;
  taken.port = port();
  HttpServer second(io_, router_, taken);
  const auto started = second.start();
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error(), boost::system::errc::address_in_use);

  ServerConfig bad = config_;
  bad.address = "not-an-address";
  HttpServer third(io_, router_, bad);
  EXPECT_FALSE(third.start());
}

// --- WebSocket ---------------------------------------------------------------------------------------------

class HttpServerWebSocketTest : public HttpServerTest {
 protected:
  void SetUp() override {
    HttpServerTest::SetUp();
    router_.add_websocket("/ws/{id}", [this](HttpRequest& request, WebSocket& ws) -> asio::awaitable<void> {
      compressed_ = ws.compressed();
      id_ = std::string(request.path_param("id"));
      for (;;) {
        auto message = co_await ws.read();
        if (!message) break;
        const std::string& data = message->data;
        Result<void> written;
        if (message->binary) {
          const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(data.data()),
                                                    data.size());
          written = co_await ws.write_binary(bytes);
        } else {
          written = co_await ws.write_text(data);
        }
        if (!written) break;
      }
    });
    router_.add_websocket(
        "/secure", [](HttpRequest&, WebSocket&) -> asio::awaitable<void> { co_return; },
        [](HttpRequest& request) -> asio::awaitable<std::optional<HttpResponse>> {
          if (request.headers.get("Authorization") == "Bearer good") co_return std::nullopt;
          co_return HttpResponse::error(401, "unauthorized", "missing token");
        });
  }
  std::optional<bool> compressed_;
  std::string id_;
};

struct EchoResult {
  std::string text;
  std::string binary;
  std::string big;
  std::string request_id;
};

asio::awaitable<EchoResult> websocket_echo(std::uint16_t port, bool offer_deflate) {
  websocket::stream<beast::tcp_stream> ws(co_await asio::this_coro::executor);
  co_await beast::get_lowest_layer(ws).async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                                                     asio::use_awaitable);
  if (offer_deflate) {
    websocket::permessage_deflate pmd;
    pmd.client_enable = true;
    ws.set_option(pmd);
  }
  websocket::response_type handshake;
  co_await ws.async_handshake(handshake, "127.0.0.1", "/ws/call-7", asio::use_awaitable);
  EchoResult result;
  result.request_id = std::string(handshake["X-Request-Id"]);

  beast::flat_buffer buffer;
  ws.text(true);
  co_await ws.async_write(asio::buffer(std::string("hello")), asio::use_awaitable);
  co_await ws.async_read(buffer, asio::use_awaitable);
  EXPECT_TRUE(ws.got_text());
  result.text = beast::buffers_to_string(buffer.data());
  buffer.clear();

  ws.binary(true);
  const std::string bytes("\x00\x01\xff\x10", 4);
  co_await ws.async_write(asio::buffer(bytes), asio::use_awaitable);
  co_await ws.async_read(buffer, asio::use_awaitable);
  EXPECT_TRUE(ws.got_binary());
  result.binary = beast::buffers_to_string(buffer.data());
  buffer.clear();

  ws.text(true);
  std::string big;
  for (int i = 0; i < 5000; ++i) big += "repetitive text compresses well ";
  co_await ws.async_write(asio::buffer(big), asio::use_awaitable);
  co_await ws.async_read(buffer, asio::use_awaitable);
  result.big = beast::buffers_to_string(buffer.data());
  EXPECT_EQ(result.big, big);

  co_await ws.async_close(websocket::close_code::normal, asio::use_awaitable);
  co_return result;
}

TEST_F(HttpServerWebSocketTest, EchoWithPermessageDeflate) {
  start();
  const EchoResult result = test::run(io_, websocket_echo(port(), true));
  EXPECT_EQ(result.text, "hello");
  EXPECT_EQ(result.binary, std::string("\x00\x01\xff\x10", 4));
  EXPECT_FALSE(result.request_id.empty());
  ASSERT_TRUE(compressed_.has_value());
  EXPECT_TRUE(*compressed_);
  EXPECT_EQ(id_, "call-7");
  ASSERT_FALSE(observer_.requests.empty());
  EXPECT_EQ(observer_.requests[0].status, 101);
  EXPECT_EQ(observer_.requests[0].route_pattern, "/ws/{id}");
}

TEST_F(HttpServerWebSocketTest, EchoWithoutPermessageDeflate) {
  start();
  const EchoResult result = test::run(io_, websocket_echo(port(), false));
  EXPECT_EQ(result.text, "hello");
  EXPECT_EQ(result.binary, std::string("\x00\x01\xff\x10", 4));
  ASSERT_TRUE(compressed_.has_value());
  EXPECT_FALSE(*compressed_);
}

struct Handshake {
  beast::error_code ec;
  int status = 0;
  std::string body;
};

asio::awaitable<Handshake> try_handshake(std::uint16_t port, std::string target, std::string authorization) {
  websocket::stream<beast::tcp_stream> ws(co_await asio::this_coro::executor);
  co_await beast::get_lowest_layer(ws).async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                                                     asio::use_awaitable);
  if (!authorization.empty()) {
    const auto decorate = [authorization](websocket::request_type& req) {
      req.set(http::field::authorization, authorization);
    };
    ws.set_option(websocket::stream_base::decorator(decorate));
  }
  websocket::response_type res;
  Handshake out;
  auto [ec] = co_await ws.async_handshake(res, "127.0.0.1", target, kAsTuple);
  out.ec = ec;
  out.status = res.result_int();
  out.body = res.body();
  if (!ec) co_await ws.async_close(websocket::close_code::normal, asio::use_awaitable);
  co_return out;
}

TEST_F(HttpServerWebSocketTest, UpgradeCheckCanReject) {
  start();
  const Handshake rejected = test::run(io_, try_handshake(port(), "/secure", ""));
  EXPECT_EQ(rejected.ec, websocket::error::upgrade_declined);
  EXPECT_EQ(rejected.status, 401);

  const Handshake accepted = test::run(io_, try_handshake(port(), "/secure", "Bearer good"));
  EXPECT_FALSE(accepted.ec) << accepted.ec.message();
  EXPECT_EQ(accepted.status, 101);
}

TEST_F(HttpServerWebSocketTest, PlainGetOnWebSocketRouteGets426) {
  start();
  const auto res = test::run(io_, exchange(port(), {get("/ws/x")}));
  EXPECT_EQ(res[0].result_int(), 426);
  EXPECT_EQ(error_code_of(res[0].body()), "upgrade_required");
}

// --- shutdown ----------------------------------------------------------------------------------------------

asio::awaitable<void> shutdown_with_idle_connection(std::uint16_t port, HttpServer& server) {
  tcp::socket socket = co_await connect_to(port);
  beast::flat_buffer buffer;
  co_await send(socket, get("/hello"));
  const Response res = co_await read_response(socket, buffer);
  EXPECT_TRUE(res.keep_alive());
  EXPECT_EQ(server.open_connections(), 1u);

  const auto started = std::chrono::steady_clock::now();
  co_await server.shutdown(10s);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);  // did not wait for the drain limit
  EXPECT_EQ(server.open_connections(), 0u);
  EXPECT_EQ(co_await read_to_eof(socket), "");  // the idle connection was closed

  // No longer accepting.
  tcp::socket late(co_await asio::this_coro::executor);
  auto [ec] = co_await late.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), kAsTuple);
  EXPECT_TRUE(ec);
}

TEST_F(HttpServerTest, ShutdownClosesIdleKeepAliveConnectionsPromptly) {
  start();
  test::run(io_, shutdown_with_idle_connection(port(), *server_));
}

TEST_F(HttpServerTest, ShutdownLetsInFlightRequestFinish) {
  bool shutdown_done = false;
  router_.add("GET", "/work", [this, &shutdown_done](HttpRequest&) -> asio::awaitable<HttpResponse> {
    // Shutdown starts while this request is being handled.
    const auto on_done = [&shutdown_done](std::exception_ptr) { shutdown_done = true; };
    asio::co_spawn(io_, server_->shutdown(5s), on_done);
    co_await wait_for(50ms);
    co_return HttpResponse::text(200, "finished");
  });
  start();
  const std::string raw = test::run(io_, send_and_read_to_eof(port(), get("/work")));
  EXPECT_EQ(raw.rfind("HTTP/1.1 200 ", 0), 0u) << raw;
  EXPECT_NE(raw.find("Connection: close"), std::string::npos);
  EXPECT_NE(raw.find("finished"), std::string::npos);
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (!shutdown_done && std::chrono::steady_clock::now() < deadline) io_.run_one_for(10ms);
  EXPECT_TRUE(shutdown_done);
  EXPECT_EQ(server_->open_connections(), 0u);
}

asio::awaitable<void> shutdown_force_closes_websocket(std::uint16_t port, HttpServer& server) {
  websocket::stream<beast::tcp_stream> ws(co_await asio::this_coro::executor);
  co_await beast::get_lowest_layer(ws).async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                                                     asio::use_awaitable);
  co_await ws.async_handshake("127.0.0.1", "/ws/long", asio::use_awaitable);
  co_await server.shutdown(100ms);  // the session never ends by itself: it is closed after the drain
  EXPECT_EQ(server.open_connections(), 0u);
  beast::flat_buffer buffer;
  auto [ec, n] = co_await ws.async_read(buffer, kAsTuple);
  EXPECT_TRUE(ec);
}

TEST_F(HttpServerWebSocketTest, ShutdownForceClosesWebSocketAfterDrain) {
  start();
  test::run(io_, shutdown_force_closes_websocket(port(), *server_));
}

}  // namespace
}  // namespace ivr::net
