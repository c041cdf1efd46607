#include "ivr/telephony/esl_parser.hpp"

#include <algorithm>
#include <charconv>

#include <nlohmann/json.hpp>

namespace ivr::telephony {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto x = static_cast<unsigned char>(a[i]);
    const auto y = static_cast<unsigned char>(b[i]);
    if ((x >= 'A' && x <= 'Z' ? x + 32 : x) != (y >= 'A' && y <= 'Z' ? y + 32 : y)) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// "Name: value" → name and value (value with leading blanks removed). nullopt without a ':' or a name.
std::optional<std::pair<std::string_view, std::string_view>> split_header(std::string_view line) {
  const auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  return std::make_pair(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
}

std::optional<std::size_t> parse_length(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  std::size_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<EslEvent> parse_plain_event(std::string_view body) {
  EslEvent event;
  std::size_t pos = 0;
  while (pos < body.size()) {
    const auto nl = body.find('\n', pos);
    std::string_view line = body.substr(pos, nl == std::string_view::npos ? body.size() - pos : nl - pos);
    pos = nl == std::string_view::npos ? body.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;
    const auto header = split_header(line);
    if (!header) return make_error_code(Errc::bad_request);
    event.headers.add(std::string(header->first), esl_url_decode(header->second));
  }
  // FreeSWITCH ends the block with a blank line; a block cut right after its last header is accepted too.
  if (const auto length_text = event.headers.find("Content-Length")) {
    const auto length = parse_length(*length_text);
    if (!length) return make_error_code(Errc::bad_request);
    const std::string_view rest = body.substr(pos);
    event.body.assign(rest.substr(0, std::min(*length, rest.size())));
  }
  return event;
}

Result<EslEvent> parse_json_event(std::string_view body) {
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return make_error_code(Errc::invalid_json);
  EslEvent event;
  for (const auto& [key, value] : doc.items()) {
    if (key == "_body") {
      event.body = value.is_string() ? value.get<std::string>() : value.dump();
      continue;
    }
    event.headers.add(key, value.is_string()
                               ? value.get<std::string>()
                               : value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  return event;
}

}  // namespace

std::optional<std::string_view> EslHeaders::find(std::string_view name) const {
  for (const auto& [key, value] : items_) {
    if (iequals(key, name)) return std::string_view(value);
  }
  return std::nullopt;
}

boost::system::error_code EslParser::fail(Errc code) {
  failed_ = true;
  error_ = code;
  line_.clear();
  line_.shrink_to_fit();
  current_ = EslMessage{};
  return make_error_code(code);
}

void EslParser::reset() {
  line_.clear();
  header_bytes_ = 0;
  current_ = EslMessage{};
  in_body_ = false;
  body_remaining_ = 0;
  failed_ = false;
  error_ = Errc::ok;
}

bool EslParser::in_message() const noexcept {
  return in_body_ || !line_.empty() || !current_.headers.empty();
}

boost::system::error_code EslParser::end_of_headers(std::vector<EslMessage>& out) {
  header_bytes_ = 0;
  if (const auto length_text = current_.headers.find("Content-Length")) {
    const auto length = parse_length(*length_text);
    if (!length) return fail(Errc::bad_request);
    if (*length > limits_.max_body_bytes) return fail(Errc::payload_too_large);
    if (*length > 0) {
      in_body_ = true;
      body_remaining_ = *length;
      current_.body.reserve(*length);
      return {};
    }
  }
  out.push_back(std::move(current_));
  current_ = EslMessage{};
  return {};
}

boost::system::error_code EslParser::feed(std::string_view bytes, std::vector<EslMessage>& out) {
  if (failed_) return make_error_code(error_);
  while (!bytes.empty()) {
    if (in_body_) {
      const std::size_t take = std::min(body_remaining_, bytes.size());
      current_.body.append(bytes.substr(0, take));
      bytes.remove_prefix(take);
      body_remaining_ -= take;
      if (body_remaining_ == 0) {
        in_body_ = false;
        out.push_back(std::move(current_));
        current_ = EslMessage{};
      }
      continue;
    }
    const auto nl = bytes.find('\n');
    const std::size_t take = nl == std::string_view::npos ? bytes.size() : nl;
    // Checked before copying, so a peer that never sends a newline cannot make us allocate.
    if (header_bytes_ + take + 1 > limits_.max_header_bytes) return fail(Errc::payload_too_large);
    header_bytes_ += take + (nl == std::string_view::npos ? 0 : 1);
    line_.append(bytes.substr(0, take));
    if (nl == std::string_view::npos) break;
    bytes.remove_prefix(nl + 1);

    std::string_view line = line_;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {
      line_.clear();
      if (current_.headers.empty()) {
        header_bytes_ = 0;  // a stray blank line between messages
        continue;
      }
      if (auto ec = end_of_headers(out)) return ec;
      continue;
    }
    const auto header = split_header(line);
    if (!header) return fail(Errc::bad_request);
    current_.headers.add(std::string(header->first), std::string(header->second));
    line_.clear();
  }
  return {};
}

Result<EslEvent> parse_event(const EslMessage& message) {
  const std::string_view type = message.content_type();
  Result<EslEvent> event = make_error_code(Errc::unsupported_media_type);
  if (iequals(type, content_type::kEventPlain)) {
    event = parse_plain_event(message.body);
  } else if (iequals(type, content_type::kEventJson)) {
    event = parse_json_event(message.body);
  } else {
    return event;
  }
  if (!event) return event;
  event->name = std::string(event->headers.get("Event-Name"));
  if (event->name.empty()) return make_error_code(Errc::bad_request);
  event->subclass = std::string(event->headers.get("Event-Subclass"));
  return event;
}

std::string esl_url_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int hi = hex_value(text[i + 1]);
      const int lo = hex_value(text[i + 2]);
      if (hi >= 0 && lo >= 0 && (hi | lo) != 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

std::string esl_url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u == '-' || u == '_' ||
        u == '.' || u == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

EslReplyStatus parse_reply_status(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  EslReplyStatus status;
  auto rest_after = [&](std::size_t n) {
    std::string_view rest = text.substr(n);
    if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    return std::string(rest);
  };
  if (text.substr(0, 3) == "+OK") {
    status.ok = true;
    status.text = rest_after(3);
  } else if (text.substr(0, 4) == "-ERR") {
    status.text = rest_after(4);
  } else {
    status.text = std::string(text);
  }
  return status;
}

}  // namespace ivr::telephony
