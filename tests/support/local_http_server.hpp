#pragma once
// A small HTTP/1.1 server on 127.0.0.1:0 for testing HTTP clients, running on its own thread with its own
// io_context (so a test's io_context only carries the client under test). Independent of ivr::net's own
// HttpServer on purpose: client tests must not depend on the server they might be used to test.
//
// Endpoints (any method unless noted):
//   /json                          200 {"ok":true}, header X-Server: local-test
//   /echo                          200 JSON {"method","target","headers":{lower-case name: value},"body"}
//   /slow?ms=N                     waits N ms, then 200 "slow"
//   /stream?chunks=N&delay_ms=M    chunked body "chunk-0\n", "chunk-1\n"… one chunk every M ms
//   /status/500                    500 {"error":"boom"}
//   /huge?bytes=N                  200 with N bytes of 'x' and a Content-Length
//   /huge-chunked?bytes=N          the same bytes, chunked (no Content-Length)
//   /continue                      an unsolicited "100 Continue" (header X-Interim) then 200 "ok" (X-Final)
//   anything else                  404
// Absolute-form targets (as sent to a proxy) are routed by their path, so the server doubles as a proxy
// that answers every request itself; /echo reports the target as received.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace ivr::test {

class LocalHttpServer {
 public:
  // Listens and starts its thread; throws when it cannot bind.
  LocalHttpServer();
  // Stops the thread; open connections are dropped.
  ~LocalHttpServer();
  LocalHttpServer(const LocalHttpServer&) = delete;
  LocalHttpServer& operator=(const LocalHttpServer&) = delete;

  std::uint16_t port() const;
  // "http://127.0.0.1:<port>" + target.
  std::string url(std::string_view target) const;

  // Thread-safe counters: requests whose header was read, and the most handled at the same time.
  std::size_t requests_started() const;
  std::size_t peak_concurrency() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A port on 127.0.0.1 with nothing listening (bound, then closed; another process could take it in
// between, which is unlikely enough for tests).
std::uint16_t closed_local_port();

}  // namespace ivr::test
