#include "fakes/fake_vendor_server.hpp"

#include <mutex>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace ivr::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::as_tuple;

FakeResponse FakeResponse::json(int status, std::string body) {
  FakeResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

FakeResponse FakeResponse::sse(std::vector<std::string> events, std::chrono::milliseconds gap) {
  FakeResponse r;
  r.headers.emplace_back("Content-Type", "text/event-stream");
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.chunks = std::move(events);
  r.chunk_delay = gap;
  return r;
}

struct FakeVendorServer::Impl {
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::thread thread;
  mutable std::mutex mutex;                     // guards handlers and recorded
  std::map<std::string, FakeHandler> handlers;  // "METHOD path"
  std::vector<RecordedRequest> recorded;

  FakeResponse dispatch(const RecordedRequest& req) {
    FakeHandler handler;
    {
      std::lock_guard lock(mutex);
      recorded.push_back(req);
      auto it = handlers.find(req.method + " " + req.path);
      if (it != handlers.end()) handler = it->second;
    }
    if (!handler) return FakeResponse::json(404, R"({"error":{"message":"no such fake route"}})");
    return handler(req);
  }

  asio::awaitable<void> session(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(256 * 1024 * 1024);
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, as_tuple(asio::use_awaitable));
      if (ec) co_return;
      auto& msg = parser.get();
      RecordedRequest req;
      req.method = std::string(msg.method_string());
      req.target = std::string(msg.target());
      req.path = req.target.substr(0, req.target.find('?'));
      for (const auto& field : msg) {
        std::string name(field.name_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        req.headers[name] = std::string(field.value());
      }
      req.body = msg.body();
      const bool keep_alive = msg.keep_alive();
      FakeResponse res = dispatch(req);
      asio::steady_timer timer(stream.get_executor());
      if (res.delay.count() > 0) {
        timer.expires_after(res.delay);
        co_await timer.async_wait(as_tuple(asio::use_awaitable));
      }
      if (res.drop_connection) co_return;
      if (res.chunks.empty()) {
        http::response<http::string_body> out{static_cast<http::status>(res.status), 11};
        for (const auto& [k, v] : res.headers) out.set(k, v);
        out.body() = res.body;
        out.keep_alive(keep_alive);
        out.prepare_payload();
        auto [wec, wn] = co_await http::async_write(stream, out, as_tuple(asio::use_awaitable));
        if (wec || !keep_alive) co_return;
        continue;
      }
      http::response<http::empty_body> head{static_cast<http::status>(res.status), 11};
      for (const auto& [k, v] : res.headers) head.set(k, v);
      head.chunked(true);
      head.keep_alive(false);
      http::response_serializer<http::empty_body> sr{head};
      auto [hec, hn] = co_await http::async_write_header(stream, sr, as_tuple(asio::use_awaitable));
      if (hec) co_return;
      for (const auto& chunk : res.chunks) {
        if (res.chunk_delay.count() > 0) {
          timer.expires_after(res.chunk_delay);
          co_await timer.async_wait(as_tuple(asio::use_awaitable));
        }
        auto [cec, cn] = co_await asio::async_write(stream, http::make_chunk(asio::buffer(chunk)),
                                                    as_tuple(asio::use_awaitable));
        if (cec) co_return;
      }
      co_await asio::async_write(stream, http::make_chunk_last(), as_tuple(asio::use_awaitable));
      beast::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
      co_return;
    }
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(as_tuple(asio::use_awaitable));
      if (ec) co_return;
      asio::co_spawn(io, session(std::move(socket)), asio::detached);
    }
  }
};

FakeVendorServer::FakeVendorServer() : impl_(std::make_unique<Impl>()) {
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen();
  asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

FakeVendorServer::~FakeVendorServer() {
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void FakeVendorServer::on(std::string method, std::string path, FakeHandler handler) {
  std::lock_guard lock(impl_->mutex);
  impl_->handlers[method + " " + path] = std::move(handler);
}

void FakeVendorServer::respond(std::string method, std::string path, FakeResponse response) {
  on(std::move(method), std::move(path), [response](const RecordedRequest&) { return response; });
}

std::uint16_t FakeVendorServer::port() const {
  return impl_->acceptor.local_endpoint().port();
}
std::string FakeVendorServer::base_url() const {
  return "http://127.0.0.1:" + std::to_string(port());
}

std::vector<RecordedRequest> FakeVendorServer::requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->recorded;
}

std::size_t FakeVendorServer::request_count() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->recorded.size();
}

}  // namespace ivr::test
