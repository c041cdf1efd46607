#include "ivr/providers/llm.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <memory>
#include <ostream>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "fakes/fake_vendor_server.hpp"
#include "ivr/net/http_client.hpp"
#include "support/test_env.hpp"

namespace ivr::providers {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using test::FakeResponse;
using test::RecordedRequest;

constexpr const char* kKey = "sk-test-SECRET-0123456789";

const char* kTransferSchema =
    R"({"type":"object","properties":{"target":{"type":"string"}},"required":["target"],)"
    R"("additionalProperties":false})";

// A conversation with every kind of message: system prompt, user, an assistant turn that called two tools,
// the two tool results, and the next user question.
ChatRequest conversation() {
  ChatRequest r;
  r.messages.push_back({ChatMessage::Role::system, "Você é a secretária da ACME.", {}, "", ""});
  r.messages.push_back({ChatMessage::Role::system, "Horário: 8h às 18h.", {}, "", ""});
  r.messages.push_back({ChatMessage::Role::user, "Oi, o financeiro está aberto?", {}, "", ""});
  ChatMessage assistant{ChatMessage::Role::assistant, "Vou verificar.", {}, "", ""};
  assistant.tool_calls.push_back({"call_a", "lookup_hours", R"({"sector":"financeiro"})"});
  assistant.tool_calls.push_back({"call_b", "lookup_status", ""});
  r.messages.push_back(assistant);
  r.messages.push_back({ChatMessage::Role::tool, R"({"open":true})", {}, "call_a", "lookup_hours"});
  r.messages.push_back({ChatMessage::Role::tool, "aberto", {}, "call_b", ""});  // no tool_name: looked up
  r.messages.push_back({ChatMessage::Role::user, "Então me transfere.", {}, "", ""});
  r.tools.push_back({"transfer_call", "Transfers the call", kTransferSchema});
  r.tools.push_back({"end_call", "Hangs up", ""});
  r.temperature = 0.5;
  r.max_tokens = 123;
  return r;
}

ChatRequest simple(std::string text) {
  ChatRequest r;
  r.messages.push_back({ChatMessage::Role::user, std::move(text), {}, "", ""});
  return r;
}

class LlmFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ::setenv("no_proxy", "127.0.0.1,localhost", 1);
    ::setenv("NO_PROXY", "127.0.0.1,localhost", 1);
  }

  RemoteProviderSettings settings() const {
    RemoteProviderSettings s;
    s.base_url = server_.base_url();
    s.api_key = kKey;
    s.timeout = 5s;
    return s;
  }

  Result<ChatResult> complete(LanguageModel& llm, ChatRequest request, TokenCallback on_token = {}) {
    return test::run(io_, llm.complete(std::move(request), std::move(on_token)));
  }

  RecordedRequest only_request() const {
    auto all = server_.requests();
    EXPECT_EQ(all.size(), 1u);
    return all.empty() ? RecordedRequest{} : all.front();
  }

  static json body_of(const RecordedRequest& r) {
    auto j = json::parse(r.body, nullptr, false);
    EXPECT_TRUE(j.is_object()) << r.body;
    return j;
  }

  boost::asio::io_context io_;
  net::HttpClient http_{io_};
  test::FakeVendorServer server_;
};

// ---- OpenAI-compatible ----

class OpenAiLlmTest : public LlmFixture {};

TEST_F(OpenAiLlmTest, SendsMessagesAndToolsAndParsesToolCalls) {
  server_.respond("POST", "/v1/chat/completions", FakeResponse::json(200, R"({
    "id":"chatcmpl-1","object":"chat.completion",
    "choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":null,
      "tool_calls":[{"id":"call_x","type":"function",
                     "function":{"name":"transfer_call","arguments":"{\"target\":\"financeiro\"}"}}]}}],
    "usage":{"prompt_tokens":321,"completion_tokens":12,"total_tokens":333}})"));
  auto s = settings();
  s.model = "gpt-4.1-mini";
  auto llm = make_openai_llm(http_, s);
  EXPECT_EQ(llm->name(), "openai");
  auto r = complete(*llm, conversation());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->text, "");
  ASSERT_EQ(r->tool_calls.size(), 1u);
  EXPECT_EQ(r->tool_calls[0].id, "call_x");
  EXPECT_EQ(r->tool_calls[0].name, "transfer_call");
  EXPECT_EQ(json::parse(r->tool_calls[0].arguments_json), json({{"target", "financeiro"}}));
  EXPECT_EQ(r->usage.prompt_tokens, 321);
  EXPECT_EQ(r->usage.completion_tokens, 12);
  EXPECT_EQ(r->provider, "openai");

  const auto req = only_request();
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/v1/chat/completions");
  EXPECT_EQ(req.header("authorization"), std::string("Bearer ") + kKey);
  EXPECT_EQ(req.header("content-type"), "application/json");
  const auto body = body_of(req);
  EXPECT_EQ(body["model"], "gpt-4.1-mini");
  EXPECT_EQ(body["messages"], json::parse(R"([
    {"role":"system","content":"Você é a secretária da ACME."},
    {"role":"system","content":"Horário: 8h às 18h."},
    {"role":"user","content":"Oi, o financeiro está aberto?"},
    {"role":"assistant","content":"Vou verificar.","tool_calls":[
      {"id":"call_a","type":"function","function":{"name":"lookup_hours","arguments":"{\"sector\":\"financeiro\"}"}},
      {"id":"call_b","type":"function","function":{"name":"lookup_status","arguments":"{}"}}]},
    {"role":"tool","content":"{\"open\":true}","tool_call_id":"call_a"},
    {"role":"tool","content":"aberto","tool_call_id":"call_b"},
    {"role":"user","content":"Então me transfere."}])"));
  EXPECT_EQ(body["tools"], json::parse(std::string(R"([
    {"type":"function","function":{"name":"transfer_call","description":"Transfers the call","parameters":)") +
                                       kTransferSchema + R"(}},
    {"type":"function","function":{"name":"end_call","description":"Hangs up",
      "parameters":{"type":"object","properties":{}}}}])"));
  EXPECT_EQ(body["tool_choice"], "auto");
  EXPECT_DOUBLE_EQ(body["temperature"].get<double>(), 0.5);
  EXPECT_EQ(body["max_tokens"], 123);
  EXPECT_EQ(body["stream"], false);
  EXPECT_FALSE(body.contains("stream_options"));
}

TEST_F(OpenAiLlmTest, TextAnswerWithoutToolsAndV1BaseUrl) {
  server_.respond(
      "POST", "/v1/chat/completions",
      FakeResponse::json(200, R"({"choices":[{"message":{"role":"assistant","content":"Olá!"}}]})"));
  auto s = settings();
  s.base_url += "/v1/";
  auto llm = make_openai_llm(http_, s);
  auto r = complete(*llm, simple("oi"));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->text, "Olá!");
  EXPECT_TRUE(r->tool_calls.empty());
  EXPECT_EQ(r->usage.prompt_tokens, 0);
  const auto body = body_of(only_request());
  EXPECT_EQ(body["model"], "gpt-4o-mini");
  EXPECT_FALSE(body.contains("tools"));
  EXPECT_FALSE(body.contains("tool_choice"));
}

TEST_F(OpenAiLlmTest, NoApiKeySendsNoAuthorization) {
  server_.respond("POST", "/v1/chat/completions",
                  FakeResponse::json(200, R"({"choices":[{"message":{"content":"ok"}}]})"));
  auto s = settings();
  s.api_key.clear();
  auto llm = make_openai_llm(http_, s);
  ASSERT_TRUE(complete(*llm, simple("oi")));
  EXPECT_EQ(only_request().header("authorization"), "");
}

TEST_F(OpenAiLlmTest, StreamsContentAndReassemblesToolCallFragments) {
  // SSE events cut at arbitrary places across HTTP chunks (inside "data:", inside JSON, inside "\n\n").
  const std::string stream =
      R"(data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]})"
      "\n\n"
      R"(data: {"choices":[{"index":0,"delta":{"content":"Vou "}}]})"
      "\n\n"
      ": keep-alive\n\n"
      R"(data: {"choices":[{"index":0,"delta":{"content":"transferir"}}]})"
      "\r\n\r\n"
      R"(data: {"choices":[{"index":0,"delta":{"content":" você."}}]})"
      "\n\n"
      R"(data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"transfer_call","arguments":""}}]}}]})"
      "\n\n"
      R"(data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"tar"}}]}}]})"
      "\n\n"
      R"(data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_2","type":"function","function":{"name":"end_call","arguments":"{\"reason\":"}}]}}]})"
      "\n\n"
      R"(data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"get\":\"fin"}}]}}]})"
      "\n\n"
      R"(data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"anceiro\"}"}}]}}]})"
      "\n\n"
      R"(data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"\"done\"}"}}]}}]})"
      "\n\n"
      R"(data: {"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})"
      "\n\n"
      R"(data: {"choices":[],"usage":{"prompt_tokens":50,"completion_tokens":7,"total_tokens":57}})"
      "\n\n"
      "data: [DONE]\n\n";
  FakeResponse response;
  response.headers = {{"Content-Type", "text/event-stream"}};
  for (std::size_t at = 0; at < stream.size(); at += 37) response.chunks.push_back(stream.substr(at, 37));
  response.chunk_delay = 1ms;
  server_.respond("POST", "/v1/chat/completions", response);

  auto llm = make_openai_llm(http_, settings());
  std::vector<std::string> fragments;
  auto r = complete(*llm, conversation(), [&](std::string_view f) { fragments.emplace_back(f); });
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(fragments, (std::vector<std::string>{"Vou ", "transferir", " você."}));
  EXPECT_EQ(r->text, "Vou transferir você.");
  ASSERT_EQ(r->tool_calls.size(), 2u);
  EXPECT_EQ(r->tool_calls[0].id, "call_1");
  EXPECT_EQ(r->tool_calls[0].name, "transfer_call");
  EXPECT_EQ(r->tool_calls[0].arguments_json, R"({"target":"financeiro"})");
  EXPECT_EQ(r->tool_calls[1].id, "call_2");
  EXPECT_EQ(r->tool_calls[1].name, "end_call");
  EXPECT_EQ(r->tool_calls[1].arguments_json, R"({"reason":"done"})");
  EXPECT_EQ(r->usage.prompt_tokens, 50);
  EXPECT_EQ(r->usage.completion_tokens, 7);

  const auto req = only_request();
  EXPECT_EQ(req.header("accept"), "text/event-stream");
  const auto body = body_of(req);
  EXPECT_EQ(body["stream"], true);
  EXPECT_EQ(body["stream_options"], json({{"include_usage", true}}));
}

TEST_F(OpenAiLlmTest, StreamCutBeforeDoneIsUpstreamError) {
  server_.respond("POST", "/v1/chat/completions",
                  FakeResponse::sse({"data: {\"choices\":[{\"delta\":{\"content\":\"Olá\"}}]}\n\n",
                                     "data: {\"choices\":[{\"delta\":{\"content\":\" mun"}));
  auto llm = make_openai_llm(http_, settings());
  std::vector<std::string> fragments;
  auto r = complete(*llm, simple("oi"), [&](std::string_view f) { fragments.emplace_back(f); });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::upstream_error);
  EXPECT_EQ(fragments, std::vector<std::string>{"Olá"});
}

TEST_F(OpenAiLlmTest, StreamedErrorObjectIsUpstreamError) {
  server_.respond(
      "POST", "/v1/chat/completions",
      FakeResponse::sse({"data: {\"error\":{\"message\":\"overloaded\"}}\n\n", "data: [DONE]\n\n"}));
  auto llm = make_openai_llm(http_, settings());
  auto r = complete(*llm, simple("oi"), [](std::string_view) {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::upstream_error);
}

TEST_F(OpenAiLlmTest, AzureUsesDeploymentPathApiVersionAndApiKeyHeader) {
  server_.respond("POST", "/openai/deployments/gpt4o-prod/chat/completions",
                  FakeResponse::json(200, R"({"choices":[{"message":{"content":"ok"}}]})"));
  auto s = settings();
  s.model = "ignored-by-azure";
  s.extra = R"({"azure":true,"api_version":"2024-06-01","deployment":"gpt4o-prod"})";
  auto llm = make_openai_llm(http_, s);
  auto r = complete(*llm, simple("oi"));
  ASSERT_TRUE(r) << r.error().message();
  const auto req = only_request();
  EXPECT_EQ(req.target, "/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-06-01");
  EXPECT_EQ(req.header("api-key"), kKey);
  EXPECT_EQ(req.header("authorization"), "");
  EXPECT_FALSE(body_of(req).contains("model"));
}

TEST_F(OpenAiLlmTest, AzureDeploymentDefaultsToModel) {
  server_.respond("POST", "/openai/deployments/my-model/chat/completions",
                  FakeResponse::json(200, R"({"choices":[{"message":{"content":"ok"}}]})"));
  auto s = settings();
  s.model = "my-model";
  s.extra = R"({"azure":true})";
  auto llm = make_openai_llm(http_, s);
  ASSERT_TRUE(complete(*llm, simple("oi")));
  EXPECT_EQ(only_request().target, "/openai/deployments/my-model/chat/completions?api-version=2024-10-21");
}

TEST_F(OpenAiLlmTest, InvalidExtraIsAConfigErrorWithoutARequest) {
  for (const char* extra : {R"({"azure":true,"deploymnet":"x"})", "not json", R"({"azure":"yes"})"}) {
    auto s = settings();
    s.extra = extra;
    auto llm = make_openai_llm(http_, s);
    auto r = complete(*llm, simple("oi"));
    ASSERT_FALSE(r) << extra;
    EXPECT_EQ(r.error(), Errc::config_invalid) << extra;
  }
  EXPECT_EQ(server_.request_count(), 0u);
}

TEST_F(OpenAiLlmTest, ToolWithInvalidSchemaIsUnprocessable) {
  auto llm = make_openai_llm(http_, settings());
  auto request = simple("oi");
  request.tools.push_back({"broken", "", "[1,2"});
  auto r = complete(*llm, request);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::unprocessable);
  EXPECT_EQ(server_.request_count(), 0u);
}

// ---- Anthropic ----

class AnthropicLlmTest : public LlmFixture {};

TEST_F(AnthropicLlmTest, SendsSystemMergedTurnsAndToolsAndParsesToolUse) {
  server_.respond("POST", "/v1/messages", FakeResponse::json(200, R"({
    "id":"msg_1","type":"message","role":"assistant","model":"claude-x","stop_reason":"tool_use",
    "content":[{"type":"text","text":"Transferindo."},
               {"type":"tool_use","id":"toolu_9","name":"transfer_call","input":{"target":"financeiro"}}],
    "usage":{"input_tokens":400,"output_tokens":30}})"));
  auto s = settings();
  s.model = "claude-sonnet-4-5";
  auto llm = make_anthropic_llm(http_, s);
  EXPECT_EQ(llm->name(), "anthropic");
  auto r = complete(*llm, conversation());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->text, "Transferindo.");
  ASSERT_EQ(r->tool_calls.size(), 1u);
  EXPECT_EQ(r->tool_calls[0].id, "toolu_9");
  EXPECT_EQ(r->tool_calls[0].name, "transfer_call");
  EXPECT_EQ(json::parse(r->tool_calls[0].arguments_json), json({{"target", "financeiro"}}));
  EXPECT_EQ(r->usage.prompt_tokens, 400);
  EXPECT_EQ(r->usage.completion_tokens, 30);

  const auto req = only_request();
  EXPECT_EQ(req.target, "/v1/messages");
  EXPECT_EQ(req.header("x-api-key"), kKey);
  EXPECT_EQ(req.header("anthropic-version"), "2023-06-01");
  EXPECT_EQ(req.header("content-type"), "application/json");
  EXPECT_EQ(req.header("authorization"), "");
  const auto body = body_of(req);
  EXPECT_EQ(body["model"], "claude-sonnet-4-5");
  EXPECT_EQ(body["max_tokens"], 123);
  EXPECT_EQ(body["system"], "Você é a secretária da ACME.\n\nHorário: 8h às 18h.");
  EXPECT_EQ(body["messages"], json::parse(R"([
    {"role":"user","content":"Oi, o financeiro está aberto?"},
    {"role":"assistant","content":[
      {"type":"text","text":"Vou verificar."},
      {"type":"tool_use","id":"call_a","name":"lookup_hours","input":{"sector":"financeiro"}},
      {"type":"tool_use","id":"call_b","name":"lookup_status","input":{}}]},
    {"role":"user","content":[
      {"type":"tool_result","tool_use_id":"call_a","content":"{\"open\":true}"},
      {"type":"tool_result","tool_use_id":"call_b","content":"aberto"},
      {"type":"text","text":"Então me transfere."}]}])"));
  EXPECT_EQ(body["tools"], json::parse(std::string(R"([
    {"name":"transfer_call","description":"Transfers the call","input_schema":)") +
                                       kTransferSchema + R"(},
    {"name":"end_call","description":"Hangs up","input_schema":{"type":"object","properties":{}}}])"));
  EXPECT_DOUBLE_EQ(body["temperature"].get<double>(), 0.5);
  EXPECT_EQ(body["stream"], false);
}

TEST_F(AnthropicLlmTest, StreamsTextAndToolUseInputJsonDeltas) {
  const std::string stream =
      "event: message_start\n"
      R"(data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"usage":{"input_tokens":25,"output_tokens":1}}})"
      "\n\n"
      "event: content_block_start\n"
      R"(data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"
      "\n\n"
      "event: ping\n"
      R"(data: {"type": "ping"})"
      "\n\n"
      "event: content_block_delta\n"
      R"(data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Um "}})"
      "\n\n"
      "event: content_block_delta\n"
      R"(data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"momento."}})"
      "\n\n"
      "event: content_block_stop\n"
      R"(data: {"type":"content_block_stop","index":0})"
      "\n\n"
      "event: content_block_start\n"
      R"(data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"transfer_call","input":{}}})"
      "\n\n"
      "event: content_block_delta\n"
      R"(data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}})"
      "\n\n"
      "event: content_block_delta\n"
      R"(data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"target\": \"ven"}})"
      "\n\n"
      "event: content_block_delta\n"
      R"(data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"das\"}"}})"
      "\n\n"
      "event: content_block_stop\n"
      R"(data: {"type":"content_block_stop","index":1})"
      "\n\n"
      "event: message_delta\n"
      R"(data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":42}})"
      "\n\n"
      "event: message_stop\n"
      R"(data: {"type":"message_stop"})"
      "\n\n";
  FakeResponse response;
  response.headers = {{"Content-Type", "text/event-stream"}};
  for (std::size_t at = 0; at < stream.size(); at += 53) response.chunks.push_back(stream.substr(at, 53));
  response.chunk_delay = 1ms;
  server_.respond("POST", "/v1/messages", response);

  auto llm = make_anthropic_llm(http_, settings());
  std::vector<std::string> fragments;
  auto r = complete(*llm, conversation(), [&](std::string_view f) { fragments.emplace_back(f); });
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(fragments, (std::vector<std::string>{"Um ", "momento."}));
  EXPECT_EQ(r->text, "Um momento.");
  ASSERT_EQ(r->tool_calls.size(), 1u);
  EXPECT_EQ(r->tool_calls[0].id, "toolu_1");
  EXPECT_EQ(r->tool_calls[0].name, "transfer_call");
  EXPECT_EQ(json::parse(r->tool_calls[0].arguments_json), json({{"target", "vendas"}}));
  EXPECT_EQ(r->usage.prompt_tokens, 25);
  EXPECT_EQ(r->usage.completion_tokens, 42);
  EXPECT_EQ(body_of(only_request())["stream"], true);
}

TEST_F(AnthropicLlmTest, ErrorEventIsUpstreamError) {
  server_.respond(
      "POST", "/v1/messages",
      FakeResponse::sse(
          {"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{}}}\n\n",
           "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
           "\"message\":\"Overloaded\"}}\n\n"}));
  auto llm = make_anthropic_llm(http_, settings());
  auto r = complete(*llm, simple("oi"), [](std::string_view) {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::upstream_error);
}

TEST_F(AnthropicLlmTest, StreamCutBeforeMessageStopIsUpstreamError) {
  server_.respond(
      "POST", "/v1/messages",
      FakeResponse::sse({"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
                         "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
                         "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
                         "\"delta\":{\"type\":\"text_delta\",\"text\":\"Olá\"}}\n\n"}));
  auto llm = make_anthropic_llm(http_, settings());
  auto r = complete(*llm, simple("oi"), [](std::string_view) {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::upstream_error);
}

// ---- Gemini ----

class GeminiLlmTest : public LlmFixture {};

TEST_F(GeminiLlmTest, SendsContentsAndFunctionDeclarationsAndParsesFunctionCall) {
  server_.respond("POST", "/v1beta/models/gemini-2.0-flash:generateContent", FakeResponse::json(200, R"({
    "candidates":[{"content":{"role":"model","parts":[
        {"text":"Transferindo "},{"text":"agora."},
        {"functionCall":{"name":"transfer_call","args":{"target":"suporte"}}}]},"finishReason":"STOP"}],
    "usageMetadata":{"promptTokenCount":77,"candidatesTokenCount":9,"totalTokenCount":86}})"));
  auto llm = make_gemini_llm(http_, settings());
  EXPECT_EQ(llm->name(), "gemini");
  std::vector<std::string> fragments;
  auto r = complete(*llm, conversation(), [&](std::string_view f) { fragments.emplace_back(f); });
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->text, "Transferindo agora.");
  EXPECT_EQ(fragments, std::vector<std::string>{"Transferindo agora."});
  ASSERT_EQ(r->tool_calls.size(), 1u);
  EXPECT_TRUE(std::regex_match(r->tool_calls[0].id, std::regex("call_[0-9a-f]{16}"))) << r->tool_calls[0].id;
  EXPECT_EQ(r->tool_calls[0].name, "transfer_call");
  EXPECT_EQ(json::parse(r->tool_calls[0].arguments_json), json({{"target", "suporte"}}));
  EXPECT_EQ(r->usage.prompt_tokens, 77);
  EXPECT_EQ(r->usage.completion_tokens, 9);

  const auto req = only_request();
  EXPECT_EQ(req.target, "/v1beta/models/gemini-2.0-flash:generateContent");
  EXPECT_EQ(req.header("x-goog-api-key"), kKey);
  EXPECT_EQ(req.header("authorization"), "");
  const auto body = body_of(req);
  EXPECT_EQ(body["systemInstruction"],
            json::parse(R"({"parts":[{"text":"Você é a secretária da ACME.\n\nHorário: 8h às 18h."}]})"));
  EXPECT_EQ(body["contents"], json::parse(R"([
    {"role":"user","parts":[{"text":"Oi, o financeiro está aberto?"}]},
    {"role":"model","parts":[
      {"text":"Vou verificar."},
      {"functionCall":{"name":"lookup_hours","args":{"sector":"financeiro"}}},
      {"functionCall":{"name":"lookup_status","args":{}}}]},
    {"role":"user","parts":[
      {"functionResponse":{"name":"lookup_hours","response":{"open":true}}},
      {"functionResponse":{"name":"lookup_status","response":{"content":"aberto"}}},
      {"text":"Então me transfere."}]}])"));
  EXPECT_EQ(body["tools"], json::parse(R"([{"functionDeclarations":[
    {"name":"transfer_call","description":"Transfers the call",
     "parameters":{"type":"object","properties":{"target":{"type":"string"}},"required":["target"]}},
    {"name":"end_call","description":"Hangs up","parameters":{"type":"object","properties":{}}}]}])"));
  EXPECT_DOUBLE_EQ(body["generationConfig"]["temperature"].get<double>(), 0.5);
  EXPECT_EQ(body["generationConfig"]["maxOutputTokens"], 123);
}

TEST_F(GeminiLlmTest, ModelPrefixAndGeneratedIdsAreUnique) {
  server_.respond("POST", "/v1beta/models/gemini-1.5-pro:generateContent", FakeResponse::json(200, R"({
    "candidates":[{"content":{"parts":[{"functionCall":{"name":"a","args":{}}},
                                       {"functionCall":{"name":"b"}}]}}]})"));
  auto s = settings();
  s.model = "models/gemini-1.5-pro";
  auto llm = make_gemini_llm(http_, s);
  auto r = complete(*llm, simple("oi"));
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->tool_calls.size(), 2u);
  EXPECT_NE(r->tool_calls[0].id, r->tool_calls[1].id);
  EXPECT_EQ(r->tool_calls[1].arguments_json, "{}");
  EXPECT_FALSE(body_of(only_request()).contains("tools"));
}

TEST_F(GeminiLlmTest, NoCandidatesIsUpstreamError) {
  server_.respond("POST", "/v1beta/models/gemini-2.0-flash:generateContent",
                  FakeResponse::json(200, R"({"promptFeedback":{"blockReason":"SAFETY"}})"));
  auto llm = make_gemini_llm(http_, settings());
  auto r = complete(*llm, simple("oi"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::upstream_error);
}

// ---- errors, for every vendor, whole and streamed ----

struct Vendor {
  std::string name;
  std::string path;
  std::function<std::unique_ptr<LanguageModel>(net::HttpClient&, RemoteProviderSettings)> make;
  bool stream;
};

// Short names in test listings (gtest would otherwise print the parameter's bytes).
void PrintTo(const Vendor& v, std::ostream* os) {
  *os << v.name;
}

std::string vendor_name(const ::testing::TestParamInfo<Vendor>& info) {
  return info.param.name;
}

class LlmErrorTest : public LlmFixture, public ::testing::WithParamInterface<Vendor> {
 protected:
  Result<ChatResult> fail_with(FakeResponse response, std::chrono::milliseconds timeout = 5s) {
    server_.respond("POST", GetParam().path, std::move(response));
    auto s = settings();
    s.timeout = timeout;
    auto llm = GetParam().make(http_, s);
    TokenCallback on_token;
    if (GetParam().stream) on_token = [](std::string_view) {};
    return complete(*llm, simple("oi"), on_token);
  }
};

TEST_P(LlmErrorTest, TooManyRequestsIsRateLimited) {
  auto r = fail_with(FakeResponse::json(429, R"({"error":{"message":"slow down"}})"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::rate_limited);
}

TEST_P(LlmErrorTest, ServerErrorIsUpstreamError) {
  auto r = fail_with(FakeResponse::json(500, R"({"error":{"message":"boom"}})"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::upstream_error);
  EXPECT_TRUE(retryable_on_next_provider(r.error()));
}

TEST_P(LlmErrorTest, UnauthorizedIsUpstreamError) {
  auto r = fail_with(FakeResponse::json(401, R"({"error":{"message":"bad key"}})"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::upstream_error);
}

TEST_P(LlmErrorTest, MalformedJsonIsUpstreamError) {
  for (const char* body : {"<html>502</html>", "{\"choices\":", "", "null", "[]", "{}"}) {
    auto r = fail_with(GetParam().stream ? FakeResponse::sse({std::string("data: ") + body + "\n\n"})
                                         : FakeResponse::json(200, body));
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error(), Errc::upstream_error) << body;
  }
}

TEST_P(LlmErrorTest, SlowVendorTimesOut) {
  FakeResponse slow = FakeResponse::json(200, "{}");
  slow.delay = 3s;
  const auto start = std::chrono::steady_clock::now();
  auto r = fail_with(slow, 300ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

INSTANTIATE_TEST_SUITE_P(
    Vendors, LlmErrorTest,
    ::testing::Values(Vendor{"openai", "/v1/chat/completions", make_openai_llm, false},
                      Vendor{"openai_stream", "/v1/chat/completions", make_openai_llm, true},
                      Vendor{"anthropic", "/v1/messages", make_anthropic_llm, false},
                      Vendor{"anthropic_stream", "/v1/messages", make_anthropic_llm, true},
                      Vendor{"gemini", "/v1beta/models/gemini-2.0-flash:generateContent", make_gemini_llm,
                             false}),
    vendor_name);

}  // namespace
}  // namespace ivr::providers
