#pragma once
// Server-Sent Events parser (WHATWG HTML §9.2 "event stream interpretation"), sans-I/O: feed it the body
// bytes as they arrive, in chunks cut anywhere, and it hands back complete events. Used by the streaming
// LLM adapters (OpenAI-compatible chat completions, Anthropic Messages) on top of
// net::ClientRequest::on_body_chunk.
//
// What it implements:
//  - line endings "\n", "\r\n" and "\r", including a "\r\n" split across two chunks;
//  - one UTF-8 byte order mark at the very start of the stream is skipped (even when split across chunks);
//  - comment lines (starting with ':') are ignored;
//  - "field: value" with one optional space after the colon; a line without a colon is a field with an
//    empty value; fields other than event, data, id and retry are ignored;
//  - several data lines are joined with "\n"; an event is dispatched at a blank line and only if it had at
//    least one data line (a block of only event:/id: lines dispatches nothing, as browsers do);
//  - `id` is the stream's "last event id": it persists across events until another id line changes it;
//    an id containing NUL is ignored;
//  - `retry` with only ASCII digits updates retry_ms().
// Bytes after the last blank line are an incomplete event: they are never dispatched (see in_event()).
//
// Limits: a line longer than SseLimits::max_line_bytes, or an event whose data grows past
// SseLimits::max_event_bytes, makes feed() return Errc::payload_too_large; the parser then stays failed
// and every later feed() returns the same error (a stream that broke a limit cannot be resynchronised).
//
// Not thread-safe; one parser per stream. No allocation beyond the current line and event.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/error_code.hpp>

namespace ivr::net {

struct SseEvent {
  std::string event = "message";  // the `event:` field, "message" when absent or empty
  std::string data;               // data lines joined with "\n" (no trailing newline)
  std::string id;                 // the last event id at dispatch time ("" if none yet)

  friend bool operator==(const SseEvent&, const SseEvent&) = default;
};

struct SseLimits {
  std::size_t max_line_bytes = 1024 * 1024;       // one line, without its terminator
  std::size_t max_event_bytes = 4 * 1024 * 1024;  // the data of one event
};

class SseParser {
 public:
  explicit SseParser(SseLimits limits = {}) : limits_(limits) {}

  // Parses `bytes` and appends every event completed by them to `out` (events completed before an error in
  // the same chunk are still appended). Returns an empty error_code, or Errc::payload_too_large.
  boost::system::error_code feed(std::string_view bytes, std::vector<SseEvent>& out);

  // True when bytes of an event not yet terminated by a blank line are pending (a stream that ends now was
  // cut mid-event).
  bool in_event() const noexcept;
  // The last valid `retry:` value, if any.
  std::optional<std::size_t> retry_ms() const noexcept { return retry_ms_; }
  bool failed() const noexcept { return failed_; }

 private:
  boost::system::error_code process_line(std::vector<SseEvent>& out);
  boost::system::error_code fail();

  SseLimits limits_;
  std::string line_;        // the current, unterminated line
  std::string data_;        // data of the event being built; every data line adds value + "\n"
  std::string event_type_;  // the event being built's type
  std::string last_id_;
  std::optional<std::size_t> retry_ms_;
  bool has_data_ = false;        // a data line was seen in the current event
  bool has_field_ = false;       // any non-comment line was seen in the current event
  bool skip_lf_ = false;         // the previous byte was '\r': a following '\n' belongs to it
  std::size_t bom_matched_ = 0;  // bytes of a leading BOM matched so far
  bool bom_decided_ = false;     // the stream start has been checked for a BOM
  bool failed_ = false;
};

}  // namespace ivr::net
