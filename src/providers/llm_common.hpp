#pragma once
// Private helpers shared by the language model adapters (openai_llm.cpp, anthropic_llm.cpp, gemini_llm.cpp):
// the HTTP exchange (whole JSON or an SSE stream) with its error mapping. Not a public header.
//
// The status mapping is our own (429 → rate_limited, any other non-2xx → upstream_error) because
// src/providers/http_errors.hpp did not exist when this was written; it is the same rule, to be merged.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <nlohmann/json.hpp>

#include "ivr/core/errors.hpp"
#include "ivr/net/http_client.hpp"
#include "ivr/net/sse_parser.hpp"
#include "ivr/providers/provider.hpp"

namespace ivr::providers::llm_detail {

// 429 → rate_limited, anything else → upstream_error.
Errc error_for_status(int status) noexcept;

// Sends `request` as a JSON POST (method, timeouts, Content-Type and Accept filled in here) and returns the
// 2xx body parsed as a JSON object. Client errors pass through; non-2xx is logged and mapped by
// error_for_status(); a body that is not a JSON object is upstream_error.
boost::asio::awaitable<Result<nlohmann::json>> post_json(net::HttpClient& http, net::ClientRequest request,
                                                         std::string_view provider,
                                                         const RemoteProviderSettings& settings);

// Handles one SSE event; a non-empty error stops the stream and becomes the result of post_sse().
using SseHandler = std::function<boost::system::error_code(const net::SseEvent& event)>;

// Sends `request` as a JSON POST expecting text/event-stream and hands each event to `on_event` as it
// arrives. Errors: client errors pass through; non-2xx → error_for_status() (the error body is logged);
// the SSE parser's limits → upstream_error; an error returned by on_event → that error. Whether the stream
// ended properly is for the caller to check (its terminator event).
boost::asio::awaitable<Result<void>> post_sse(net::HttpClient& http, net::ClientRequest request,
                                              std::string_view provider,
                                              const RemoteProviderSettings& settings, SseHandler on_event);

// What a streamed completion gathers while its events arrive (on the io thread); finish_stream() turns it
// into the result.
struct StreamState {
  explicit StreamState(std::string_view provider) { result.provider = std::string(provider); }

  ChatResult result;
  std::map<std::int64_t, ToolCall> calls;  // by the vendor's index: argument fragments arrive in pieces
  bool done = false;                       // the vendor's terminator event has arrived
};

// The end of a streamed completion, after post_sse(): its error passes through; a stream that ended
// without the vendor's terminator event (`state.done` false; `terminator` names it in the log) is
// upstream_error; otherwise `state.result` with `state.calls` appended in index order (empty arguments
// becoming "{}").
Result<ChatResult> finish_stream(Result<void> streamed, StreamState state, std::string_view provider,
                                 std::string_view terminator);

// The "usage" object of a whole (non-streamed) answer, when present, read into `usage` under the vendor's
// key names; absent, `usage` is left as it is.
void read_usage(const nlohmann::json& answer, std::string_view prompt_key, std::string_view completion_key,
                TokenUsage& usage);

// `text` parsed as JSON, or a discarded value when it is not valid JSON.
nlohmann::json parse_or_discarded(std::string_view text);

// The object of a tool's parameters_schema_json ("" → an empty object schema); nullopt when it is not a
// JSON object.
std::optional<nlohmann::json> tool_schema(const ToolSpec& tool);

// "{}" for an empty arguments text, else the text.
std::string arguments_or_empty_object(std::string text);

// Read helpers tolerant of missing keys and wrong types (vendor JSON is outside input).
std::string string_at(const nlohmann::json& object, std::string_view key);
std::int64_t int_at(const nlohmann::json& object, std::string_view key);

}  // namespace ivr::providers::llm_detail
