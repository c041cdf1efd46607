// Google Gemini generateContent (non-streaming): PROTOCOLS §5.

#include "ivr/providers/llm.hpp"

#include "ivr/net/http_client.hpp"
#include "llm_common.hpp"
#include "stt_common.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>

namespace ivr::providers {
namespace {

namespace ld = llm_detail;
using nlohmann::json;

constexpr std::string_view kName = "gemini";
constexpr std::string_view kDefaultModel = "gemini-2.0-flash";

// Gemini accepts an OpenAPI subset and rejects some JSON Schema keywords tools commonly carry.
void strip_unsupported_schema_keys(json& schema) {
  if (schema.is_object()) {
    schema.erase("$schema");
    schema.erase("additionalProperties");
    for (auto& [key, value] : schema.items()) strip_unsupported_schema_keys(value);
  } else if (schema.is_array()) {
    for (auto& value : schema) strip_unsupported_schema_keys(value);
  }
}

// functionResponse.response must be an object (a protobuf Struct).
json response_object(const std::string& content) {
  auto parsed = ld::parse_or_discarded(content);
  if (parsed.is_object()) return parsed;
  return {{"content", content}};
}

class GeminiLanguageModel final : public LanguageModel {
 public:
  GeminiLanguageModel(net::HttpClient& http, RemoteProviderSettings settings)
      : http_(http), settings_(std::move(settings)), rng_(std::random_device{}()) {
    std::string model = settings_.model.empty() ? std::string(kDefaultModel) : settings_.model;
    if (model.starts_with("models/")) model.erase(0, 7);
    url_ = stt_detail::api_root(settings_.base_url, "https://generativelanguage.googleapis.com") +
           "/v1beta/models/" + stt_detail::url_encode(model) + ":generateContent";
  }

  std::string_view name() const override { return kName; }

  boost::asio::awaitable<Result<ChatResult>> complete(ChatRequest request, TokenCallback on_token) override {
    auto body = build_body(request);
    if (!body) co_return body.error();

    net::ClientRequest http_request;
    http_request.url = url_;
    http_request.headers.set("x-goog-api-key", settings_.api_key);
    http_request.body = body->dump();
    auto answer = co_await ld::post_json(http_, std::move(http_request), kName, settings_);
    if (!answer) co_return answer.error();
    auto result = parse_answer(*answer);
    if (result && on_token && !result->text.empty()) on_token(result->text);
    co_return result;
  }

 private:
  static Result<json> build_body(const ChatRequest& request) {
    std::string system;
    std::map<std::string, std::string> call_names;  // tool call id → name, for tool messages without one
    json contents = json::array();
    for (const auto& m : request.messages) {
      if (m.role == ChatMessage::Role::system) {
        if (!system.empty() && !m.content.empty()) system += "\n\n";
        system += m.content;
        continue;
      }
      const char* role = m.role == ChatMessage::Role::assistant ? "model" : "user";
      json parts = json::array();
      if (m.role == ChatMessage::Role::tool) {
        std::string name = m.tool_name;
        if (name.empty()) {
          const auto it = call_names.find(m.tool_call_id);
          if (it != call_names.end()) name = it->second;
        }
        parts.push_back({{"functionResponse", {{"name", name}, {"response", response_object(m.content)}}}});
      } else {
        if (!m.content.empty()) parts.push_back({{"text", m.content}});
        for (const auto& call : m.tool_calls) {
          call_names[call.id] = call.name;
          auto args = ld::parse_or_discarded(call.arguments_json);
          parts.push_back(
              {{"functionCall", {{"name", call.name}, {"args", args.is_object() ? args : json::object()}}}});
        }
      }
      if (parts.empty()) continue;
      // Consecutive turns of one role are merged: all function responses of a turn belong together.
      if (!contents.empty() && contents.back()["role"] == role) {
        for (auto& part : parts) contents.back()["parts"].push_back(std::move(part));
      } else {
        contents.push_back({{"role", role}, {"parts", std::move(parts)}});
      }
    }
    json body;
    body["contents"] = std::move(contents);
    if (!system.empty()) body["systemInstruction"] = {{"parts", json::array({{{"text", system}}})}};
    if (!request.tools.empty()) {
      json declarations = json::array();
      for (const auto& tool : request.tools) {
        auto schema = ld::tool_schema(tool);
        if (!schema) return make_error_code(Errc::unprocessable);
        strip_unsupported_schema_keys(*schema);
        declarations.push_back(
            {{"name", tool.name}, {"description", tool.description}, {"parameters", *schema}});
      }
      body["tools"] = json::array({{{"functionDeclarations", std::move(declarations)}}});
    }
    body["generationConfig"] = {{"temperature", request.temperature},
                                {"maxOutputTokens", request.max_tokens}};
    return body;
  }

  Result<ChatResult> parse_answer(const json& answer) {
    const auto candidates = answer.find("candidates");
    if (candidates == answer.end() || !candidates->is_array() || candidates->empty()) {
      // e.g. a prompt blocked by safety filters (promptFeedback.blockReason): nothing usable came back
      return make_error_code(Errc::upstream_error);
    }
    ChatResult result;
    result.provider = std::string(kName);
    const auto& candidate = (*candidates)[0];
    const auto content = candidate.is_object() ? candidate.find("content") : candidate.end();
    if (content != candidate.end() && content->is_object()) {
      if (const auto parts = content->find("parts"); parts != content->end() && parts->is_array()) {
        for (const auto& part : *parts) {
          if (!part.is_object()) continue;
          if (part.contains("text")) result.text += ld::string_at(part, "text");
          const auto call = part.find("functionCall");
          if (call == part.end() || !call->is_object()) continue;
          std::string id = ld::string_at(*call, "id");
          if (id.empty()) id = fmt::format("call_{:016x}", rng_());
          const auto args = call->find("args");
          result.tool_calls.push_back({std::move(id), ld::string_at(*call, "name"),
                                       args != call->end() && args->is_object() ? args->dump() : "{}"});
        }
      }
    }
    if (const auto usage = answer.find("usageMetadata"); usage != answer.end()) {
      result.usage.prompt_tokens = ld::int_at(*usage, "promptTokenCount");
      result.usage.completion_tokens = ld::int_at(*usage, "candidatesTokenCount");
    }
    return result;
  }

  net::HttpClient& http_;
  RemoteProviderSettings settings_;
  std::string url_;
  std::mt19937_64 rng_;  // call ids only: need not be unpredictable, just unique within a conversation
};

}  // namespace

std::unique_ptr<LanguageModel> make_gemini_llm(net::HttpClient& http, RemoteProviderSettings settings) {
  return std::make_unique<GeminiLanguageModel>(http, std::move(settings));
}

}  // namespace ivr::providers
