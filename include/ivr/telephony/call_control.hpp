#pragma once
// Call control: what the conversation layer asks of FreeSWITCH during a call (DESIGN.md §6), as a small
// interface so call logic is tested with a hand-written fake. The ESL implementation sends one `api`
// command per call and turns FreeSWITCH's "+OK …" / "-ERR …" answer into success or an error.
//
// Errors (every method): Errc::bad_request (an argument FreeSWITCH would split or misread: empty, with
// whitespace where the command line separates arguments, or with a line break), Errc::not_found (FreeSWITCH
// says the channel does not exist, e.g. the caller already hung up), Errc::upstream_error (any other -ERR;
// the text is logged), and the EslClient errors Errc::unavailable, Errc::timeout, Errc::cancelled.
// Call from the io_context thread.

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "ivr/core/errors.hpp"
#include "ivr/telephony/esl_client.hpp"

namespace ivr::telephony {

class CallControl {
 public:
  virtual ~CallControl() = default;
  // `uuid_transfer <uuid> <extension> XML <context>` (FusionPBX: context = the domain name).
  virtual boost::asio::awaitable<Result<void>> transfer(std::string uuid, std::string extension,
                                                        std::string context) = 0;
  // `uuid_kill <uuid> [cause]`; an empty cause lets FreeSWITCH use NORMAL_CLEARING.
  virtual boost::asio::awaitable<Result<void>> hangup(std::string uuid, std::string cause) = 0;
  // `uuid_break <uuid> all`: stops the file playing now and every queued one (barge-in).
  virtual boost::asio::awaitable<Result<void>> stop_playback(std::string uuid) = 0;
  // `uuid_broadcast <uuid> <path> aleg`: plays a file to the caller.
  virtual boost::asio::awaitable<Result<void>> play(std::string uuid, std::string path) = 0;
  // `uuid_setvar <uuid> <name> <value>` (an empty value unsets the variable).
  virtual boost::asio::awaitable<Result<void>> set_variable(std::string uuid, std::string name,
                                                            std::string value) = 0;
};

// CallControl over one node's EslClient, which must outlive it.
std::unique_ptr<CallControl> make_esl_call_control(EslClient& client);

// The api command lines CallControl sends (without "api "), or Errc::bad_request. Exposed for tests.
Result<std::string> transfer_command(std::string_view uuid, std::string_view extension,
                                     std::string_view context);
Result<std::string> hangup_command(std::string_view uuid, std::string_view cause);
Result<std::string> break_command(std::string_view uuid);
Result<std::string> broadcast_command(std::string_view uuid, std::string_view path);
Result<std::string> setvar_command(std::string_view uuid, std::string_view name, std::string_view value);

// An api/response body as a call-control outcome: "+OK…" → success; "-ERR No such channel!" (any case) →
// Errc::not_found; any other text → Errc::upstream_error.
Result<void> api_outcome(std::string_view body);

// Calls `handler` with the Unique-ID of every CHANNEL_HANGUP_COMPLETE event `client` receives (the client
// must be subscribed to CHANNEL_HANGUP_COMPLETE). Remove with client.remove_event_handler(id).
EslClient::HandlerId on_channel_hangup(
    EslClient& client, std::function<void(std::string_view unique_id, const EslEvent& event)> handler);

}  // namespace ivr::telephony
