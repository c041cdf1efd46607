#pragma once
// FreeSWITCH Event Socket (ESL) framing, sans-I/O (PROTOCOLS.md §2): feed it the bytes read from the
// socket, cut anywhere, and it hands back whole messages. No sockets, no logging, no allocation beyond the
// message being built.
//
// A message is a header block ("Name: value\n" lines ended by an empty line; a trailing '\r' on a line is
// tolerated) followed by exactly Content-Length bytes of body when that header is present. Outer header
// values are kept as sent (FreeSWITCH does not encode them). Blank lines between messages are skipped.
//
// Events (Content-Type text/event-plain or text/event-json) are decoded by parse_event(): the plain body is
// itself a header block with URL-encoded values and an optional inner Content-Length body; the JSON body is
// an object of strings with the inner body under "_body".
//
// Limits: a header block longer than EslLimits::max_header_bytes, or a Content-Length above
// EslLimits::max_body_bytes, makes feed() fail with Errc::payload_too_large before anything is allocated
// for it; a header line without ':' or a Content-Length that is not a decimal number fails with
// Errc::bad_request. After an error the parser stays failed (the stream cannot be resynchronised: drop the
// connection) and every later feed() returns the same error.
//
// Not thread-safe; one parser per connection.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/system/error_code.hpp>

#include "ivr/core/errors.hpp"

namespace ivr::telephony {

// Header lines in the order received. Lookups ignore ASCII case (FreeSWITCH's own lookups do too).
class EslHeaders {
 public:
  void add(std::string name, std::string value) { items_.emplace_back(std::move(name), std::move(value)); }
  // The first header with this name, or nullopt.
  std::optional<std::string_view> find(std::string_view name) const;
  // The first header with this name, or "" when absent.
  std::string_view get(std::string_view name) const { return find(name).value_or(std::string_view{}); }
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }
  bool empty() const { return items_.empty(); }
  std::size_t size() const { return items_.size(); }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

// One framed message: the outer headers and the body (empty when there was no Content-Length).
struct EslMessage {
  EslHeaders headers;
  std::string body;

  std::string_view content_type() const { return headers.get("Content-Type"); }
};

namespace content_type {
inline constexpr std::string_view kAuthRequest = "auth/request";
inline constexpr std::string_view kCommandReply = "command/reply";
inline constexpr std::string_view kApiResponse = "api/response";
inline constexpr std::string_view kEventPlain = "text/event-plain";
inline constexpr std::string_view kEventJson = "text/event-json";
inline constexpr std::string_view kDisconnectNotice = "text/disconnect-notice";
inline constexpr std::string_view kLogData = "log/data";
}  // namespace content_type

struct EslLimits {
  std::size_t max_header_bytes = 64 * 1024;      // one header block, line terminators included
  std::size_t max_body_bytes = 8 * 1024 * 1024;  // one Content-Length
};

class EslParser {
 public:
  explicit EslParser(EslLimits limits = {}) : limits_(limits) {}

  // Parses `bytes` and appends every message they complete to `out` (messages completed before an error
  // in the same chunk are still appended). Returns an empty error_code, Errc::payload_too_large or
  // Errc::bad_request.
  boost::system::error_code feed(std::string_view bytes, std::vector<EslMessage>& out);

  // True when part of a message has been received (a connection closing now cut a message).
  bool in_message() const noexcept;
  bool failed() const noexcept { return failed_; }
  // Back to the initial state (for a new connection).
  void reset();

 private:
  boost::system::error_code fail(Errc code);
  boost::system::error_code end_of_headers(std::vector<EslMessage>& out);

  EslLimits limits_;
  std::string line_;  // the current, unterminated header line
  std::size_t header_bytes_ = 0;
  EslMessage current_;
  bool in_body_ = false;
  std::size_t body_remaining_ = 0;
  bool failed_ = false;
  Errc error_ = Errc::ok;
};

// A decoded event.
struct EslEvent {
  std::string name;      // Event-Name, e.g. "CHANNEL_HANGUP_COMPLETE" or "CUSTOM"
  std::string subclass;  // Event-Subclass for CUSTOM events, e.g. "mod_audio_stream::play"; else ""
  EslHeaders headers;    // every header, values decoded (JSON values that are not strings: their JSON text)
  std::string body;      // the event's own body (plain: inner Content-Length bytes; JSON: "_body")

  std::string_view header(std::string_view header_name) const { return headers.get(header_name); }
  std::string_view unique_id() const { return headers.get("Unique-ID"); }
  std::string_view job_uuid() const { return headers.get("Job-UUID"); }
};

// Decodes a text/event-plain or text/event-json message. Errors: Errc::unsupported_media_type (another
// content type), Errc::invalid_json, Errc::bad_request (malformed plain block, or no Event-Name).
Result<EslEvent> parse_event(const EslMessage& message);

// FreeSWITCH's switch_url_decode: %XX escapes decoded, anything else (including '+' and malformed escapes)
// kept as is. A %00 escape is kept undecoded.
std::string esl_url_decode(std::string_view text);
// switch_url_encode's inverse, for fakes and tests: every byte outside [A-Za-z0-9-_.~] as %XX.
std::string esl_url_encode(std::string_view text);

// "+OK …" / "-ERR …" as FreeSWITCH puts it in a Reply-Text or at the start of an api/response body.
struct EslReplyStatus {
  bool ok = false;
  std::string text;  // after "+OK " / "-ERR " (trailing newlines removed); the whole text if neither
};
EslReplyStatus parse_reply_status(std::string_view text);

}  // namespace ivr::telephony
