// OpenAI-compatible chat completions (OpenAI, Azure, Groq, OpenRouter, Ollama, vLLM): PROTOCOLS §5.

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

constexpr std::string_view kName = "openai";
constexpr std::string_view kDefaultModel = "gpt-4o-mini";
constexpr std::string_view kDefaultAzureApiVersion = "2024-10-21";

const char* role_name(ChatMessage::Role role) {
  switch (role) {
    case ChatMessage::Role::system:
      return "system";
    case ChatMessage::Role::user:
      return "user";
    case ChatMessage::Role::assistant:
      return "assistant";
    case ChatMessage::Role::tool:
      return "tool";
  }
  return "user";
}

json tool_call_json(const ToolCall& call) {
  return {
      {"id", call.id},
      {"type", "function"},
      {"function", {{"name", call.name}, {"arguments", ld::arguments_or_empty_object(call.arguments_json)}}}};
}

// The arguments of a non-streamed tool call: a JSON string per the API; some compatible servers send the
// object itself.
std::string arguments_text(const json& function) {
  const auto it = function.find("arguments");
  if (it == function.end() || it->is_null()) return "{}";
  if (it->is_string()) return ld::arguments_or_empty_object(it->get<std::string>());
  return it->dump();
}

class OpenAiLanguageModel final : public LanguageModel {
 public:
  OpenAiLanguageModel(net::HttpClient& http, RemoteProviderSettings settings)
      : http_(http), settings_(std::move(settings)) {
    model_ = settings_.model.empty() ? std::string(kDefaultModel) : settings_.model;
    const std::string root = stt_detail::api_root(settings_.base_url, "https://api.openai.com");
    url_ = root + "/v1/chat/completions";
    if (stt_detail::trim(settings_.extra).empty()) return;
    const auto extra = ld::parse_or_discarded(settings_.extra);
    auto invalid = [this](std::string why) {
      if (config_error_.empty()) config_error_ = std::move(why);  // report the first problem
    };
    if (!extra.is_object()) {
      invalid("extra is not a JSON object");
      return;
    }
    for (const auto& [key, value] : extra.items()) {
      if (key == "azure") {
        if (!value.is_boolean())
          invalid("extra.azure must be a boolean");
        else
          azure_ = value.get<bool>();
      } else if (key == "api_version" || key == "deployment") {
        if (!value.is_string()) invalid("extra." + key + " must be a string");
      } else {
        invalid("unknown key extra." + key);
      }
    }
    if (azure_) {
      std::string deployment = ld::string_at(extra, "deployment");
      if (deployment.empty()) deployment = settings_.model;
      if (deployment.empty()) invalid("extra.deployment (or model) is required for Azure");
      std::string version = ld::string_at(extra, "api_version");
      if (version.empty()) version = kDefaultAzureApiVersion;
      // Azure's endpoint has no /v1; base_url is the resource, e.g. https://name.openai.azure.com.
      url_ = root + "/openai/deployments/" + stt_detail::url_encode(deployment) +
             "/chat/completions?api-version=" + stt_detail::url_encode(version);
    }
    if (!config_error_.empty()) {
      module_logger("providers")->error("llm {}: invalid settings: {}", kName, config_error_);
    }
  }

  std::string_view name() const override { return kName; }

  boost::asio::awaitable<Result<ChatResult>> complete(ChatRequest request, TokenCallback on_token) override {
    if (!config_error_.empty()) co_return make_error_code(Errc::config_invalid);
    auto body = build_body(request, static_cast<bool>(on_token));
    if (!body) co_return body.error();

    net::ClientRequest http_request;
    http_request.url = url_;
    if (azure_) {
      http_request.headers.set("api-key", settings_.api_key);
    } else if (!settings_.api_key.empty()) {  // local servers often run without auth
      http_request.headers.set("Authorization", "Bearer " + settings_.api_key);
    }
    http_request.body = body->dump();

    if (!on_token) {
      auto answer = co_await ld::post_json(http_, std::move(http_request), kName, settings_);
      if (!answer) co_return answer.error();
      co_return parse_answer(*answer);
    }
    co_return co_await stream(std::move(http_request), on_token);
  }

 private:
  Result<json> build_body(const ChatRequest& request, bool stream) const {
    json messages = json::array();
    for (const auto& m : request.messages) {
      json message = {{"role", role_name(m.role)}};
      if (m.role == ChatMessage::Role::assistant && !m.tool_calls.empty()) {
        // content may be null when the assistant only called tools
        message["content"] = m.content.empty() ? json(nullptr) : json(m.content);
        json calls = json::array();
        for (const auto& call : m.tool_calls) calls.push_back(tool_call_json(call));
        message["tool_calls"] = std::move(calls);
      } else {
        message["content"] = m.content;
      }
      if (m.role == ChatMessage::Role::tool) message["tool_call_id"] = m.tool_call_id;
      messages.push_back(std::move(message));
    }
    json body;
    if (!azure_) body["model"] = model_;
    body["messages"] = std::move(messages);
    if (!request.tools.empty()) {
      json tools = json::array();
      for (const auto& tool : request.tools) {
        auto schema = ld::tool_schema(tool);
        if (!schema) return make_error_code(Errc::unprocessable);
        tools.push_back(
            {{"type", "function"},
             {"function",
              {{"name", tool.name}, {"description", tool.description}, {"parameters", *schema}}}});
      }
      body["tools"] = std::move(tools);
      body["tool_choice"] = "auto";
    }
    body["temperature"] = request.temperature;
    body["max_tokens"] = request.max_tokens;
    body["stream"] = stream;
    if (stream) body["stream_options"] = {{"include_usage", true}};
    return body;
  }

  static Result<ChatResult> parse_answer(const json& answer) {
    const auto choices = answer.find("choices");
    if (choices == answer.end() || !choices->is_array() || choices->empty() || !(*choices)[0].is_object()) {
      return make_error_code(Errc::upstream_error);
    }
    const auto message = (*choices)[0].find("message");
    if (message == (*choices)[0].end() || !message->is_object()) return make_error_code(Errc::upstream_error);
    ChatResult result;
    result.provider = std::string(kName);
    result.text = ld::string_at(*message, "content");
    if (const auto calls = message->find("tool_calls"); calls != message->end() && calls->is_array()) {
      for (const auto& call : *calls) {
        const auto function = call.find("function");
        if (!call.is_object() || function == call.end() || !function->is_object()) {
          return make_error_code(Errc::upstream_error);
        }
        result.tool_calls.push_back(
            {ld::string_at(call, "id"), ld::string_at(*function, "name"), arguments_text(*function)});
      }
    }
    ld::read_usage(answer, "prompt_tokens", "completion_tokens", result.usage);
    return result;
  }

  boost::asio::awaitable<Result<ChatResult>> stream(net::ClientRequest http_request,
                                                    const TokenCallback& on_token) {
    ld::StreamState state(kName);
    auto on_event = [&](const net::SseEvent& event) -> boost::system::error_code {
      if (state.done) return {};
      if (event.data == "[DONE]") {
        state.done = true;
        return {};
      }
      const auto chunk = ld::parse_or_discarded(event.data);
      if (!chunk.is_object() || chunk.contains("error")) return make_error_code(Errc::upstream_error);
      if (const auto usage = chunk.find("usage"); usage != chunk.end() && usage->is_object()) {
        state.result.usage.prompt_tokens = ld::int_at(*usage, "prompt_tokens");
        state.result.usage.completion_tokens = ld::int_at(*usage, "completion_tokens");
      }
      const auto choices = chunk.find("choices");
      if (choices == chunk.end() || !choices->is_array() || choices->empty()) return {};  // the usage chunk
      const auto& choice = (*choices)[0];
      const auto delta = choice.find("delta");
      if (!choice.is_object() || delta == choice.end() || !delta->is_object()) return {};
      if (auto text = ld::string_at(*delta, "content"); !text.empty()) {
        state.result.text += text;
        on_token(text);
      }
      if (const auto deltas = delta->find("tool_calls"); deltas != delta->end() && deltas->is_array()) {
        for (const auto& d : *deltas) {
          if (!d.is_object()) return make_error_code(Errc::upstream_error);
          const auto index_it = d.find("index");
          const std::int64_t index = index_it != d.end() && index_it->is_number_integer()
                                         ? index_it->get<std::int64_t>()
                                         : static_cast<std::int64_t>(state.calls.size());
          auto& call = state.calls[index];
          if (auto id = ld::string_at(d, "id"); !id.empty()) call.id = std::move(id);
          if (const auto function = d.find("function"); function != d.end() && function->is_object()) {
            call.name += ld::string_at(*function, "name");
            call.arguments_json += ld::string_at(*function, "arguments");
          }
        }
      }
      return {};
    };
    auto streamed = co_await ld::post_sse(http_, std::move(http_request), kName, settings_, on_event);
    co_return ld::finish_stream(std::move(streamed), std::move(state), kName, "[DONE]");
  }

  net::HttpClient& http_;
  RemoteProviderSettings settings_;
  std::string model_;
  std::string url_;
  bool azure_ = false;
  std::string config_error_;  // non-empty: every call fails with config_invalid
};

}  // namespace

std::unique_ptr<LanguageModel> make_openai_llm(net::HttpClient& http, RemoteProviderSettings settings) {
  return std::make_unique<OpenAiLanguageModel>(http, std::move(settings));
}

}  // namespace ivr::providers
