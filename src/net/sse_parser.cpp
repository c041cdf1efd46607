// Server-Sent Events parser: see the header for the rules implemented.

#include "ivr/net/sse_parser.hpp"

#include "ivr/core/errors.hpp"

#include <algorithm>

namespace ivr::net {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

bool all_digits(std::string_view s) noexcept {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

bool SseParser::in_event() const noexcept {
  return has_field_ || !line_.empty();
}

boost::system::error_code SseParser::fail() {
  failed_ = true;
  line_.clear();
  data_.clear();
  return make_error_code(Errc::payload_too_large);
}

boost::system::error_code SseParser::feed(std::string_view bytes, std::vector<SseEvent>& out) {
  if (failed_) return make_error_code(Errc::payload_too_large);

  // The BOM may arrive one byte per chunk: keep matching until it is complete or a byte differs; bytes that
  // matched a prefix of it but turned out not to be one are ordinary line content.
  while (!bom_decided_ && !bytes.empty()) {
    if (bytes.front() == kBom[bom_matched_]) {
      bytes.remove_prefix(1);
      if (++bom_matched_ == kBom.size()) bom_decided_ = true;
    } else {
      line_.append(kBom.substr(0, bom_matched_));
      bom_decided_ = true;
    }
  }

  while (!bytes.empty()) {
    if (skip_lf_) {
      skip_lf_ = false;
      if (bytes.front() == '\n') {
        bytes.remove_prefix(1);
        continue;
      }
    }
    const auto end = bytes.find_first_of("\r\n");
    const std::string_view piece = bytes.substr(0, end);
    if (line_.size() + piece.size() > limits_.max_line_bytes) return fail();
    line_.append(piece);
    if (end == std::string_view::npos) break;
    // A '\r' ends the line now; if the next byte (maybe in the next chunk) is '\n' it is swallowed.
    skip_lf_ = bytes[end] == '\r';
    bytes.remove_prefix(end + 1);
    if (auto ec = process_line(out)) return ec;
  }
  return {};
}

boost::system::error_code SseParser::process_line(std::vector<SseEvent>& out) {
  const std::string_view line = line_;
  if (line.empty()) {
    if (has_data_) {
      SseEvent event;
      event.event = event_type_.empty() ? std::string("message") : std::move(event_type_);
      data_.pop_back();  // every data line appended value + '\n'; the last one is not part of the data
      event.data = std::move(data_);
      event.id = last_id_;
      out.push_back(std::move(event));
    }
    data_.clear();
    event_type_.clear();
    has_data_ = false;
    has_field_ = false;
    return {};
  }
  if (line.front() == ':') {  // comment (keep-alives are sent this way)
    line_.clear();
    return {};
  }

  has_field_ = true;
  const auto colon = line.find(':');
  const std::string_view field = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }

  if (field == "data") {
    if (data_.size() + value.size() + 1 > limits_.max_event_bytes) return fail();
    data_.append(value);
    data_.push_back('\n');
    has_data_ = true;
  } else if (field == "event") {
    event_type_.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_.assign(value);
  } else if (field == "retry") {
    if (all_digits(value) && value.size() <= 12) retry_ms_ = std::stoull(std::string(value));
  }
  line_.clear();
  return {};
}

}  // namespace ivr::net
