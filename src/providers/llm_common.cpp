// Shared HTTP plumbing of the language model adapters: see llm_common.hpp.

#include "llm_common.hpp"

#include "ivr/core/logging.hpp"
#include "stt_common.hpp"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

namespace ivr::providers::llm_detail {
namespace {

constexpr std::size_t kLoggedBytes = 2048;  // of a streamed error body, kept for the log

void prepare(net::ClientRequest& request, const RemoteProviderSettings& settings, bool stream) {
  request.method = "POST";
  request.total_timeout = settings.timeout;
  request.connect_timeout = std::min(request.connect_timeout, settings.timeout);
  request.headers.set("Content-Type", "application/json");
  request.headers.set("Accept", stream ? "text/event-stream" : "application/json");
}

}  // namespace

Errc error_for_status(int status) noexcept {
  return status == 429 ? Errc::rate_limited : Errc::upstream_error;
}

nlohmann::json parse_or_discarded(std::string_view text) {
  return nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
}

std::optional<nlohmann::json> tool_schema(const ToolSpec& tool) {
  if (std::all_of(tool.parameters_schema_json.begin(), tool.parameters_schema_json.end(),
                  [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; })) {
    return nlohmann::json{{"type", "object"}, {"properties", nlohmann::json::object()}};
  }
  auto schema = parse_or_discarded(tool.parameters_schema_json);
  if (!schema.is_object()) return std::nullopt;
  return schema;
}

std::string arguments_or_empty_object(std::string text) {
  if (std::all_of(text.begin(), text.end(), [](char c) { return c == ' ' || c == '\n' || c == '\t'; })) {
    return "{}";
  }
  return text;
}

std::string string_at(const nlohmann::json& object, std::string_view key) {
  if (!object.is_object()) return {};
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::int64_t int_at(const nlohmann::json& object, std::string_view key) {
  if (!object.is_object()) return 0;
  const auto it = object.find(key);
  return it != object.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
}

boost::asio::awaitable<Result<nlohmann::json>> post_json(net::HttpClient& http, net::ClientRequest request,
                                                         std::string_view provider,
                                                         const RemoteProviderSettings& settings) {
  prepare(request, settings, false);
  auto response = co_await http.send(std::move(request));
  auto log = module_logger("providers");
  if (!response) {
    log->warn("llm {}: request failed: {}", provider, response.error().message());
    co_return response.error();
  }
  if (response->status < 200 || response->status > 299) {
    log->warn("llm {}: HTTP {}: {}", provider, response->status,
              stt_detail::loggable_body(response->body, settings.api_key));
    co_return make_error_code(error_for_status(response->status));
  }
  auto json = parse_or_discarded(response->body);
  if (!json.is_object()) {
    log->warn("llm {}: answer is not a JSON object: {}", provider,
              stt_detail::loggable_body(response->body, settings.api_key));
    co_return make_error_code(Errc::upstream_error);
  }
  co_return json;
}

boost::asio::awaitable<Result<void>> post_sse(net::HttpClient& http, net::ClientRequest request,
                                              std::string_view provider,
                                              const RemoteProviderSettings& settings, SseHandler on_event) {
  prepare(request, settings, true);
  net::SseParser parser;
  std::vector<net::SseEvent> events;
  std::string head;  // the first bytes, for the log when the status turns out to be an error
  boost::system::error_code stopped;
  // The status is unknown inside the body callback: an error body (JSON) is fed to the parser too, where it
  // yields no events, and the status decides afterwards.
  request.on_body_chunk = [&](std::string_view chunk) {
    if (head.size() < kLoggedBytes) head.append(chunk.substr(0, kLoggedBytes - head.size()));
    events.clear();
    const auto parse_error = parser.feed(chunk, events);
    for (const auto& event : events) {
      if (auto ec = on_event(event)) {
        stopped = ec;
        return false;
      }
    }
    if (parse_error) {
      stopped = make_error_code(Errc::upstream_error);
      return false;
    }
    return true;
  };
  auto response = co_await http.send(std::move(request));
  auto log = module_logger("providers");
  if (!response) {
    if (stopped) {
      log->warn("llm {}: stream stopped: {}", provider, stopped.message());
      co_return stopped;
    }
    log->warn("llm {}: request failed: {}", provider, response.error().message());
    co_return response.error();
  }
  if (response->status < 200 || response->status > 299) {
    log->warn("llm {}: HTTP {}: {}", provider, response->status,
              stt_detail::loggable_body(head, settings.api_key));
    co_return make_error_code(error_for_status(response->status));
  }
  if (stopped) {  // the consumer stopped on the last bytes, after curl had them all
    log->warn("llm {}: stream stopped: {}", provider, stopped.message());
    co_return stopped;
  }
  co_return Result<void>();
}

Result<ChatResult> finish_stream(Result<void> streamed, StreamState state, std::string_view provider,
                                 std::string_view terminator) {
  if (!streamed) return streamed.error();
  if (!state.done) {
    module_logger("providers")->warn("llm {}: stream ended before {}", provider, terminator);
    return make_error_code(Errc::upstream_error);
  }
  for (auto& [index, call] : state.calls) {
    call.arguments_json = arguments_or_empty_object(std::move(call.arguments_json));
    state.result.tool_calls.push_back(std::move(call));
  }
  return std::move(state.result);
}

void read_usage(const nlohmann::json& answer, std::string_view prompt_key, std::string_view completion_key,
                TokenUsage& usage) {
  if (const auto found = answer.find("usage"); found != answer.end()) {
    usage.prompt_tokens = int_at(*found, prompt_key);
    usage.completion_tokens = int_at(*found, completion_key);
  }
}

}  // namespace ivr::providers::llm_detail
