#pragma once
// A FreeSWITCH Event Socket (mod_event_socket, inbound) stand-in on 127.0.0.1:0 for EslClient tests,
// byte for byte as PROTOCOLS.md §2 and mod_event_socket write it: "Content-Type: auth/request\n\n" on
// connect; `auth <password>` → command/reply "+OK accepted", or "-ERR invalid" followed by a
// text/disconnect-notice and a close; `api` → api/response with Content-Length; `bgapi` → command/reply
// "+OK Job-UUID: <id>" plus a Job-UUID header, then a BACKGROUND_JOB event; `event plain|json …` →
// "+OK event listener enabled <format>"; anything else → "-ERR command not found". Events go only to
// connections subscribed to them, in the format each one asked for.
//
// Runs on its own thread with its own io_context; every public member is thread-safe.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace ivr::test {

using EslHeaderList = std::vector<std::pair<std::string, std::string>>;

class FakeEslServer {
 public:
  explicit FakeEslServer(std::string password = "ClueCon");
  ~FakeEslServer();
  FakeEslServer(const FakeEslServer&) = delete;
  FakeEslServer& operator=(const FakeEslServer&) = delete;

  std::uint16_t port() const;

  // Closes the listener and every connection (returns once done). Connecting then fails until restart().
  void stop();
  // Listens again on the same port.
  void restart();

  // The api/response body for `api <name> …` (name = the command's first word); default "+OK\n". Also the
  // BACKGROUND_JOB body for `bgapi <name> …`.
  void set_api_response(std::string name, std::string body);
  // Answer `api <name> …` only after `delay` (the connection answers in order, so later commands wait too).
  void set_api_delay(std::string name, std::chrono::milliseconds delay);
  // The next `api <name> …` gets the header and half of its body, then the connection closes.
  void close_mid_reply(std::string name);
  // Delay between a bgapi acceptance and its BACKGROUND_JOB event (0: both in the same write).
  void set_bgapi_delay(std::chrono::milliseconds delay);

  // Every command line received, on every connection, in arrival order, without the blank line
  // (the auth line is recorded as "auth <password as received>").
  std::vector<std::string> commands() const;
  std::size_t connections_accepted() const;
  std::size_t connections_authenticated() const;
  // Authenticated connections currently open and subscribed to something.
  std::size_t subscribed_connections() const;

  // Sends an event to every connection subscribed to it (Event-Name, and Event-Subclass for CUSTOM, are
  // taken from `headers`). An optional body becomes the event's own Content-Length body.
  void push_event(EslHeaderList headers, std::string body = "");
  // Sends bytes as they are to every open connection.
  void push_raw(std::string bytes);

  // The framing helpers the server uses, for tests that check the parser against them.
  static std::string plain_event_bytes(const EslHeaderList& headers, const std::string& body);
  static std::string json_event_bytes(const EslHeaderList& headers, const std::string& body);
  static std::string api_response_bytes(const std::string& body);
  static std::string command_reply_bytes(const std::string& reply_text);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ivr::test
