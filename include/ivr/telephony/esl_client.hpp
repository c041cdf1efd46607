#pragma once
// An inbound Event Socket connection to one FreeSWITCH node (PROTOCOLS.md §2), on the daemon's io_context.
//
// start() connects in the background: TCP connect, `auth <password>`, then `event json <events…> [CUSTOM
// <subclasses…>]` with every subscription registered so far (BACKGROUND_JOB is always included: bgapi needs
// it). connected() becomes true once that subscription is answered. When the connection drops (EOF, I/O
// error, a framing error from the parser, a disconnect notice) every command in flight fails with
// Errc::unavailable and the client reconnects with exponential backoff (reconnect_min doubling up to
// reconnect_max), then authenticates and subscribes again. A wrong password is logged as an error, noted in
// auth_failed() and retried with the same backoff (the password may be fixed on the PBX side).
//
// Commands: ESL answers commands in the order they were sent, so replies are matched to a FIFO of commands
// in flight; a command that timed out keeps its place in that FIFO until its late reply arrives (and is
// dropped) so later replies still match. Writes are serialized (one write in flight, a queue behind it).
// A command line containing '\r' or '\n' is refused with Errc::bad_request: it would inject a second
// command.
//
// Threading: every member must be called on the io_context's thread; callbacks run there too. No threads.
// Lifetime: destroying the client stops it; commands still awaited complete with Errc::cancelled.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "ivr/core/errors.hpp"
#include "ivr/telephony/esl_parser.hpp"

namespace boost::asio {
class io_context;
}

namespace ivr::telephony {

// One FreeSWITCH node's Event Socket.
struct EslNode {
  std::string name = "default";  // for logs and EslNodeRegistry lookups
  std::string host = "127.0.0.1";
  std::uint16_t port = 8021;
  std::string password = "ClueCon";  // secret: never logged
};

struct EslClientOptions {
  EslNode node;
  std::chrono::milliseconds connect_timeout{3'000};  // TCP connect + auth + subscription
  std::chrono::milliseconds command_timeout{5'000};  // api/command reply; bgapi's acceptance
  std::chrono::milliseconds job_timeout{60'000};     // bgapi: from acceptance to BACKGROUND_JOB
  std::chrono::milliseconds reconnect_min{250};
  std::chrono::milliseconds reconnect_max{10'000};
  std::size_t max_in_flight = 1024;     // commands awaiting a reply; more fail with Errc::unavailable
  std::vector<std::string> events;      // event names, e.g. "CHANNEL_HANGUP_COMPLETE", "DTMF"
  std::vector<std::string> subclasses;  // CUSTOM subclasses, e.g. "mod_audio_stream::play"
  EslLimits limits;
};

// The outcome of a bgapi command.
struct EslJobResult {
  std::string job_uuid;
  std::string body;  // the BACKGROUND_JOB event's body: the command's output ("+OK …" / "-ERR …")
};

class EslClient {
 public:
  using EventHandler = std::function<void(const EslEvent&)>;
  using HandlerId = std::uint64_t;

  EslClient(boost::asio::io_context& io, EslClientOptions options);
  ~EslClient();
  EslClient(const EslClient&) = delete;
  EslClient& operator=(const EslClient&) = delete;

  // Connects in the background and keeps reconnecting until stop(). Calling start() twice is a no-op.
  void start();
  // Closes the connection; commands in flight complete with Errc::cancelled. start() may be called again.
  void stop();

  // Authenticated and subscribed.
  bool connected() const;
  // The last authentication attempt was refused (cleared by the next successful one).
  bool auth_failed() const;
  // Successful connections (auth + subscription) so far: 2 after one reconnect.
  std::uint64_t connection_count() const;
  // The peer address of the current or last connection ("" before the first), e.g. "10.0.0.5".
  std::string remote_address() const;
  const EslNode& node() const;

  // Waits until connected() (returns at once when it already is). Errors: Errc::timeout,
  // Errc::cancelled (stop() or destruction).
  boost::asio::awaitable<Result<void>> wait_connected(std::chrono::milliseconds timeout);

  // `api <command>`: the api/response body, "+OK …" or "-ERR …" as FreeSWITCH wrote it (interpret it with
  // parse_reply_status()). Errors: Errc::unavailable (not connected, or the connection dropped before the
  // reply), Errc::timeout (no reply within command_timeout), Errc::cancelled, Errc::bad_request (newline in
  // the command).
  boost::asio::awaitable<Result<std::string>> api(std::string command);

  // `bgapi <command>`: waits for the acceptance (command/reply "+OK Job-UUID: …", within command_timeout)
  // and then for the BACKGROUND_JOB event carrying that Job-UUID (within job_timeout). Errors as api(), and
  // Errc::upstream_error when FreeSWITCH refuses the command (-ERR reply).
  boost::asio::awaitable<Result<EslJobResult>> bgapi(std::string command);

  // Any other command line (e.g. `filter Unique-ID <uuid>`, `noevents`): the Reply-Text as sent.
  boost::asio::awaitable<Result<std::string>> command(std::string line);

  // Adds event names and CUSTOM subclasses to the subscription. They are sent at once when connected (the
  // reply is awaited: Errc::upstream_error when FreeSWITCH refuses them) and again after every reconnect.
  boost::asio::awaitable<Result<void>> subscribe(std::vector<std::string> events,
                                                 std::vector<std::string> subclasses = {});

  // Every event received (after BACKGROUND_JOB correlation) goes to every handler, in registration order.
  // A handler may add or remove handlers and issue commands (by spawning), but must not block.
  HandlerId add_event_handler(EventHandler handler);
  void remove_event_handler(HandlerId id);

 private:
  class Impl;
  std::shared_ptr<Impl>
      impl_;  // shared with the connection loop and write handlers, which outlive us briefly
};

// The `event json …` line for a subscription, CUSTOM and its subclasses last (every word after CUSTOM is
// taken as a subclass). Duplicates removed, order kept.
std::string subscription_command(const std::vector<std::string>& events,
                                 const std::vector<std::string>& subclasses);

}  // namespace ivr::telephony
