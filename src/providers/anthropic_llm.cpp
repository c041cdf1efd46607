// Anthropic Messages API: PROTOCOLS §5.

#include "ivr/providers/llm.hpp"

#include "ivr/core/logging.hpp"
#include "ivr/net/http_client.hpp"
#include "llm_common.hpp"
#include "stt_common.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <string>
#include <utility>

namespace ivr::providers {
namespace {

namespace ld = llm_detail;
using nlohmann::json;

constexpr std::string_view kName = "anthropic";
constexpr std::string_view kDefaultModel = "claude-3-5-haiku-latest";
constexpr std::string_view kApiVersion = "2023-06-01";

// A tool_use input must be an object; arguments a model produced as invalid JSON go back as {}.
json input_object(const std::string& arguments) {
  auto input = ld::parse_or_discarded(arguments);
  return input.is_object() ? input : json::object();
}

// The API wants user/assistant turns, with every tool_result of a turn in one user message: consecutive
// messages that map to the same role are merged into one message of content blocks.
json build_messages(const std::vector<ChatMessage>& in) {
  json messages = json::array();
  for (const auto& m : in) {
    if (m.role == ChatMessage::Role::system) continue;
    const char* role = m.role == ChatMessage::Role::assistant ? "assistant" : "user";
    json blocks = json::array();
    if (m.role == ChatMessage::Role::tool) {
      blocks.push_back({{"type", "tool_result"}, {"tool_use_id", m.tool_call_id}, {"content", m.content}});
    } else {
      if (!m.content.empty())
        blocks.push_back({{"type", "text"}, {"text", m.content}});  // empty text is rejected
      for (const auto& call : m.tool_calls) {
        blocks.push_back({{"type", "tool_use"},
                          {"id", call.id},
                          {"name", call.name},
                          {"input", input_object(call.arguments_json)}});
      }
    }
    if (blocks.empty()) continue;
    if (!messages.empty() && messages.back()["role"] == role) {
      for (auto& block : blocks) messages.back()["content"].push_back(std::move(block));
    } else {
      messages.push_back({{"role", role}, {"content", std::move(blocks)}});
    }
  }
  // A message that is a single text block is sent in the short form (content as a string).
  for (auto& message : messages) {
    auto& content = message["content"];
    if (content.size() == 1 && content[0]["type"] == "text") content = content[0]["text"];
  }
  return messages;
}

class AnthropicLanguageModel final : public LanguageModel {
 public:
  AnthropicLanguageModel(net::HttpClient& http, RemoteProviderSettings settings)
      : http_(http),
        settings_(std::move(settings)),
        url_(stt_detail::api_root(settings_.base_url, "https://api.anthropic.com") + "/v1/messages"),
        model_(settings_.model.empty() ? std::string(kDefaultModel) : settings_.model) {}

  std::string_view name() const override { return kName; }

  boost::asio::awaitable<Result<ChatResult>> complete(ChatRequest request, TokenCallback on_token) override {
    std::string system;
    for (const auto& m : request.messages) {
      if (m.role != ChatMessage::Role::system || m.content.empty()) continue;
      if (!system.empty()) system += "\n\n";
      system += m.content;
    }
    json body;
    body["model"] = model_;
    body["max_tokens"] = request.max_tokens;
    if (!system.empty()) body["system"] = system;
    body["messages"] = build_messages(request.messages);
    if (!request.tools.empty()) {
      json tools = json::array();
      for (const auto& tool : request.tools) {
        auto schema = ld::tool_schema(tool);
        if (!schema) co_return make_error_code(Errc::unprocessable);
        tools.push_back({{"name", tool.name}, {"description", tool.description}, {"input_schema", *schema}});
      }
      body["tools"] = std::move(tools);
    }
    body["temperature"] = request.temperature;
    body["stream"] = static_cast<bool>(on_token);

    net::ClientRequest http_request;
    http_request.url = url_;
    http_request.headers.set("x-api-key", settings_.api_key);
    http_request.headers.set("anthropic-version", kApiVersion);
    http_request.body = body.dump();

    if (!on_token) {
      auto answer = co_await ld::post_json(http_, std::move(http_request), kName, settings_);
      if (!answer) co_return answer.error();
      co_return parse_answer(*answer);
    }
    co_return co_await stream(std::move(http_request), on_token);
  }

 private:
  static Result<ChatResult> parse_answer(const json& answer) {
    const auto content = answer.find("content");
    if (content == answer.end() || !content->is_array()) return make_error_code(Errc::upstream_error);
    ChatResult result;
    result.provider = std::string(kName);
    for (const auto& block : *content) {
      const std::string type = ld::string_at(block, "type");
      if (type == "text") {
        result.text += ld::string_at(block, "text");
      } else if (type == "tool_use") {
        const auto input = block.find("input");
        result.tool_calls.push_back({ld::string_at(block, "id"), ld::string_at(block, "name"),
                                     input != block.end() && input->is_object() ? input->dump() : "{}"});
      }
    }
    ld::read_usage(answer, "input_tokens", "output_tokens", result.usage);
    return result;
  }

  boost::asio::awaitable<Result<ChatResult>> stream(net::ClientRequest http_request,
                                                    const TokenCallback& on_token) {
    ld::StreamState state(kName);  // calls: tool_use blocks by content block index
    auto on_event = [&](const net::SseEvent& event) -> boost::system::error_code {
      if (state.done) return {};
      const auto data = ld::parse_or_discarded(event.data);
      if (!data.is_object()) return make_error_code(Errc::upstream_error);
      // The data repeats the event name in "type"; prefer it (some proxies drop the event: lines).
      std::string type = ld::string_at(data, "type");
      if (type.empty()) type = event.event;
      if (type == "error") {
        module_logger("providers")
            ->warn("llm {}: error event: {}", kName,
                   stt_detail::loggable_body(event.data, settings_.api_key));
        return make_error_code(Errc::upstream_error);
      }
      const std::int64_t index = ld::int_at(data, "index");
      if (type == "message_start") {
        const auto message = data.find("message");
        if (message != data.end() && message->is_object()) {
          if (const auto usage = message->find("usage"); usage != message->end()) {
            state.result.usage.prompt_tokens = ld::int_at(*usage, "input_tokens");
            state.result.usage.completion_tokens = ld::int_at(*usage, "output_tokens");
          }
        }
      } else if (type == "content_block_start") {
        const auto block = data.find("content_block");
        if (block == data.end() || !block->is_object()) return make_error_code(Errc::upstream_error);
        const std::string block_type = ld::string_at(*block, "type");
        if (block_type == "tool_use") {
          state.calls[index] = ToolCall{ld::string_at(*block, "id"), ld::string_at(*block, "name"), ""};
        } else if (block_type == "text") {
          if (auto text = ld::string_at(*block, "text"); !text.empty()) {
            state.result.text += text;
            on_token(text);
          }
        }
      } else if (type == "content_block_delta") {
        const auto delta = data.find("delta");
        if (delta == data.end() || !delta->is_object()) return make_error_code(Errc::upstream_error);
        const std::string delta_type = ld::string_at(*delta, "type");
        if (delta_type == "text_delta") {
          if (auto text = ld::string_at(*delta, "text"); !text.empty()) {
            state.result.text += text;
            on_token(text);
          }
        } else if (delta_type == "input_json_delta") {
          const auto call = state.calls.find(index);
          if (call == state.calls.end()) return make_error_code(Errc::upstream_error);
          call->second.arguments_json += ld::string_at(*delta, "partial_json");
        }
      } else if (type == "message_delta") {
        if (const auto usage = data.find("usage"); usage != data.end() && usage->is_object()) {
          // cumulative counts; input_tokens only appears here on some versions
          if (usage->contains("input_tokens"))
            state.result.usage.prompt_tokens = ld::int_at(*usage, "input_tokens");
          if (usage->contains("output_tokens")) {
            state.result.usage.completion_tokens = ld::int_at(*usage, "output_tokens");
          }
        }
      } else if (type == "message_stop") {
        state.done = true;
      }
      return {};  // ping, content_block_stop and future event types
    };
    auto streamed = co_await ld::post_sse(http_, std::move(http_request), kName, settings_, on_event);
    co_return ld::finish_stream(std::move(streamed), std::move(state), kName, "message_stop");
  }

  net::HttpClient& http_;
  RemoteProviderSettings settings_;
  std::string url_;
  std::string model_;
};

}  // namespace

std::unique_ptr<LanguageModel> make_anthropic_llm(net::HttpClient& http, RemoteProviderSettings settings) {
  return std::make_unique<AnthropicLanguageModel>(http, std::move(settings));
}

}  // namespace ivr::providers
