// Action markers for models without tool support: see parse_action_markers() in llm.hpp.

#include "ivr/providers/llm.hpp"

#include <nlohmann/json.hpp>

#include <cctype>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ivr::providers {
namespace {

constexpr std::size_t kMaxName = 100;
constexpr std::string_view kDefaultHangupReason = "caller_goodbye";

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

bool starts_with_keyword(std::string_view s, std::string_view upper_keyword) {
  if (s.size() < upper_keyword.size()) return false;
  for (std::size_t i = 0; i < upper_keyword.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(s[i])) != upper_keyword[i]) return false;
  }
  return true;
}

// The tool call of a marker's inside ("TRANSFER: vendas", "hangup"), or nullopt when it is not a marker.
std::optional<ToolCall> marker_call(std::string_view inside) {
  inside = trim_blanks(inside);
  std::string_view keyword_rest;
  bool transfer = false;
  if (starts_with_keyword(inside, "TRANSFER")) {
    transfer = true;
    keyword_rest = inside.substr(8);
  } else if (starts_with_keyword(inside, "HANGUP")) {
    keyword_rest = inside.substr(6);
  } else {
    return std::nullopt;
  }
  keyword_rest = trim_blanks(keyword_rest);
  std::string_view argument;
  if (!keyword_rest.empty()) {
    if (keyword_rest.front() != ':') return std::nullopt;  // "[TRANSFERS]", "[HANGUP now]"
    argument = trim_blanks(keyword_rest.substr(1));
  }
  if (argument.size() > kMaxName) return std::nullopt;
  ToolCall call;
  if (transfer) {
    if (argument.empty()) return std::nullopt;
    call.name = std::string(kTransferCallTool);
    call.arguments_json = nlohmann::json{{"target", std::string(argument)}}.dump();
  } else {
    call.name = std::string(kEndCallTool);
    call.arguments_json =
        nlohmann::json{{"reason", std::string(argument.empty() ? kDefaultHangupReason : argument)}}.dump();
  }
  return call;
}

}  // namespace

std::vector<ToolCall> parse_action_markers(std::string& text) {
  std::vector<ToolCall> calls;
  std::size_t pos = 0;
  while ((pos = text.find('[', pos)) != std::string::npos) {
    const auto close = text.find_first_of("[]\n", pos + 1);
    if (close == std::string::npos) break;
    if (text[close] != ']') {
      pos = close;
      continue;
    }
    auto call = marker_call(std::string_view(text).substr(pos + 1, close - pos - 1));
    if (!call) {
      pos = close + 1;
      continue;
    }
    call->id = "marker_" + std::to_string(calls.size() + 1);
    calls.push_back(std::move(*call));
    text.erase(pos, close + 1 - pos);
    // Drop the blank that separated the marker from its neighbour so no double space is left behind.
    if (pos > 0 && is_blank(text[pos - 1]) && (pos == text.size() || is_blank(text[pos]))) {
      text.erase(pos - 1, 1);
      --pos;
    }
  }
  if (!calls.empty()) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) {
      text.clear();
    } else {
      text.erase(text.find_last_not_of(" \t\r\n") + 1);
      text.erase(0, first);
    }
  }
  return calls;
}

std::string action_marker(const ToolCall& call) {
  const auto args = nlohmann::json::parse(call.arguments_json, nullptr, /*allow_exceptions=*/false);
  auto field = [&](const char* key) {
    if (!args.is_object()) return std::string();
    const auto it = args.find(key);
    return it != args.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (call.name == kTransferCallTool) return "[TRANSFER:" + field("target") + "]";
  if (call.name == kEndCallTool) {
    const std::string reason = field("reason");
    return reason.empty() || reason == kDefaultHangupReason ? "[HANGUP]" : "[HANGUP:" + reason + "]";
  }
  return {};
}

}  // namespace ivr::providers
