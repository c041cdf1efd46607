#pragma once
// A scriptable HTTP/1.1 server on 127.0.0.1:0 standing in for a vendor API (OpenAI, Deepgram, ElevenLabs,
// Anthropic, Gemini, a tenant's webhook receiver…) in adapter tests. Runs on its own thread with its own
// io_context, so the test's io_context carries only the client under test.
// Tests register a handler per method+path (query excluded); every request is recorded as received so a
// test can assert the bytes an adapter sent. Responses can be whole or streamed as timed chunks (SSE).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ivr::test {

struct RecordedRequest {
  std::string method;
  std::string target;                          // path + query as sent
  std::string path;                            // without the query
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct FakeResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. {"Content-Type","application/json"}
  std::string body;
  // When non-empty the body is sent chunked (Transfer-Encoding: chunked), one chunk per entry, waiting
  // chunk_delay before each; `body` is ignored.
  std::vector<std::string> chunks;
  std::chrono::milliseconds chunk_delay{0};
  std::chrono::milliseconds delay{0};  // before the response starts (timeouts)
  bool drop_connection = false;        // close without answering (connection errors)

  static FakeResponse json(int status, std::string body);
  // text/event-stream, one chunk per event (each already formatted, e.g. "data: {...}\n\n").
  static FakeResponse sse(std::vector<std::string> events, std::chrono::milliseconds gap = {});
};

using FakeHandler = std::function<FakeResponse(const RecordedRequest&)>;

class FakeVendorServer {
 public:
  FakeVendorServer();
  ~FakeVendorServer();
  FakeVendorServer(const FakeVendorServer&) = delete;
  FakeVendorServer& operator=(const FakeVendorServer&) = delete;

  // Thread-safe; may be called while the server runs. Unregistered routes answer 404.
  void on(std::string method, std::string path, FakeHandler handler);
  // Convenience: always the same response.
  void respond(std::string method, std::string path, FakeResponse response);

  std::uint16_t port() const;
  std::string base_url() const;  // "http://127.0.0.1:<port>"

  // Copies of what arrived so far (thread-safe).
  std::vector<RecordedRequest> requests() const;
  std::size_t request_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ivr::test
