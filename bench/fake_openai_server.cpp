// An instant OpenAI-compatible chat-completions server for benchmarks: answers every POST at once with a
// fixed reply (a JSON completion, or an SSE stream when the request asks for "stream":true), so a
// benchmark of /chat measures what the daemon adds, not a model. One thread, keep-alive.
//   bench_fake_openai_server <port>
// Not a test fake: tests use tests/fakes/fake_vendor_server, which records requests and is scriptable.

#include <cstdio>
#include <cstdlib>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

constexpr const char* kCompletion =
    R"({"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"bench",)"
    R"("choices":[{"index":0,"message":{"role":"assistant","content":"Claro, posso ajudar com isso."},)"
    R"("finish_reason":"stop"}],"usage":{"prompt_tokens":120,"completion_tokens":8,"total_tokens":128}})";

constexpr const char* kStream =
    "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"role\":\"assistant\",\"content\":\"Claro, posso ajudar com "
    "isso.\"},\"finish_reason\":null}]}"
    "\n\n"
    "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
    "\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
    "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"choices\":[],"
    "\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":8,\"total_tokens\":128}}\n\n"
    "data: [DONE]\n\n";

asio::awaitable<void> serve(tcp::socket socket) {
  beast::flat_buffer buffer;
  try {
    for (;;) {
      http::request<http::string_body> request;
      co_await http::async_read(socket, buffer, request, asio::use_awaitable);
      const bool stream = request.body().find("\"stream\":true") != std::string::npos;
      http::response<http::string_body> response{http::status::ok, request.version()};
      response.set(http::field::content_type, stream ? "text/event-stream" : "application/json");
      response.body() = stream ? kStream : kCompletion;
      response.keep_alive(request.keep_alive());
      response.prepare_payload();
      co_await http::async_write(socket, response, asio::use_awaitable);
      if (!request.keep_alive()) break;
    }
  } catch (const std::exception&) {
    // the client closed the connection
  }
}

asio::awaitable<void> listen(tcp::acceptor& acceptor) {
  for (;;) {
    tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
    socket.set_option(tcp::no_delay(true));
    asio::co_spawn(acceptor.get_executor(), serve(std::move(socket)), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <port>\n", argv[0]);
    return 2;
  }
  asio::io_context io(1);
  tcp::acceptor acceptor(
      io, {asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(std::atoi(argv[1]))});
  asio::co_spawn(io, listen(acceptor), asio::detached);
  io.run();
}
