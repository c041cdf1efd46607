#pragma once
// Language models for the turn-based path (DESIGN §5, PROTOCOLS §5), built by factories; the classes live
// in src/providers/*_llm.cpp.
//
//  - openai:     POST {base_url}/v1/chat/completions, Authorization: Bearer (omitted when api_key is
//                empty, for local Ollama/vLLM). Works with OpenAI, Groq, OpenRouter, Ollama, vLLM. Default
//                model "gpt-4o-mini". Streaming sends stream_options.include_usage and reads SSE until
//                "data: [DONE]".
//                Azure OpenAI: RemoteProviderSettings::extra = {"azure": true, "deployment": "…",
//                "api_version": "…"} switches to
//                  POST {base_url}/openai/deployments/{deployment}/chat/completions?api-version={api_version}
//                with the header `api-key` instead of Bearer and no "model" in the body (the deployment
//                chooses it). deployment defaults to settings.model, api_version to "2024-10-21".
//                Other keys in extra are a configuration error (see below).
//  - anthropic:  POST {base_url}/v1/messages, x-api-key, anthropic-version: 2023-06-01. System messages are
//                joined into "system"; consecutive messages of the same role are merged into one message
//                (tool results of one turn must share a user message). Default model
//                "claude-3-5-haiku-latest". Streaming reads message_start … message_stop.
//  - gemini:     POST {base_url}/v1beta/models/{model}:generateContent, x-goog-api-key. Non-streaming only:
//                with on_token the whole text is passed to it once, after the answer arrived. Function calls
//                get generated ids ("call_" + 16 hex digits) unless Gemini sent one. Tool results go back as
//                functionResponse.response = the tool's content when it is a JSON object, else
//                {"content": "<text>"}. "$schema" and "additionalProperties" are removed from parameter
//                schemas (Gemini rejects them). Default model "gemini-2.0-flash".
//  - extractive: offline and deterministic, no network (the default: the product works with no LLM at all).
//                See ExtractiveLanguageModel below.
//
// base_url: empty means the vendor's public API; a trailing "/" or "/v1" is ignored.
// Tool calls: ToolCall::arguments_json is the vendor's arguments text ("{}" when empty); it is not
// re-validated (a model may produce invalid JSON: the caller checks). Anthropic/Gemini objects are dumped.
//
// Errors (see provider.hpp): timeout / unavailable / cancelled / payload_too_large from the HTTP client;
// rate_limited (429); upstream_error (any other non-2xx, a body that is not the expected JSON, an SSE
// stream that breaks the parser's limits, ends before its terminator ([DONE] / message_stop) or carries an
// `error` event); unprocessable (a ToolSpec whose parameters_schema_json is not a JSON object);
// config_invalid (a malformed `extra`; logged once with the offending key). Vendor error bodies are logged
// truncated with the API key redacted, to module_logger("providers").
//
// Streaming: on_token is called on the io thread from inside the HTTP client's body callback, in order, once
// per non-empty text fragment; it must not block and must not throw. ChatResult::text is still the whole
// text. When the request fails after some fragments were delivered, the caller has seen a partial answer.
//
// io-thread only; the HttpClient must outlive the adapters.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ivr/providers/provider.hpp"

namespace ivr::net {
class HttpClient;
}

namespace ivr::providers {

// Tool names the conversation layer offers and that the extractive model and the markers produce.
inline constexpr std::string_view kEndCallTool = "end_call";  // {"reason": "…"}
inline constexpr std::string_view kTransferCallTool =
    "transfer_call";  // {"target": "<transfer target name>"}

std::unique_ptr<LanguageModel> make_openai_llm(net::HttpClient& http, RemoteProviderSettings settings);
std::unique_ptr<LanguageModel> make_anthropic_llm(net::HttpClient& http, RemoteProviderSettings settings);
std::unique_ptr<LanguageModel> make_gemini_llm(net::HttpClient& http, RemoteProviderSettings settings);

// ---- offline extractive model ----
// Works on the last user message and request.hints / request.knowledge only, in Portuguese, English or
// Spanish (hints.language "pt-BR"/"pt", "en…", "es…"; anything else answers in Portuguese). In order:
//  1. nothing said (no user message, or blank) → the greeting (hints.greeting) or a "could you repeat?";
//  2. goodbye: the text contains one of hints.goodbye_phrases or a built-in farewell ("tchau", "até logo",
//     "era só isso", "bye", "goodbye", "that's all", "adiós", "hasta luego", "eso es todo", …), compared
//     accent- and case-insensitively on whole words → end_call {"reason":"caller_goodbye"} + a goodbye;
//  3. transfer: the text names a transfer target (any significant word of its name, plural-tolerant;
//     the target with most matching words wins) — unless it is a question without a transfer verb
//     ("vocês têm financeiro?" is answered, "financeiro, por favor" is transferred) — or asks for a human
//     ("atendente", "falar com alguém", "human", "agent", "operador", "persona"…; → the first target), or
//     says yes right after the model offered a transfer → transfer_call {"target":"<name>"} + a handover
//     text ("Vou transferir você para o setor financeiro."). Asking for a human with no targets configured
//     gets an apology instead;
//  4. answer: the best FAQ entry (word overlap with its question, accent-folded, light stemming) or else the
//     1–2 sentences of the knowledge snippets that overlap the question most, prefixed ("Encontrei esta
//     informação: …"); nothing relevant → "Desculpe, não encontrei essa informação. Posso transferir você
//     para um atendente?" (without targets: asks to rephrase).
// Tool calls are only emitted for tools listed in request.tools (matched by name). Otherwise the action is
// appended to the text as a marker (below), which parse_action_markers() turns back into tool calls.
// Tool call ids are "extractive_<message count>_<tool>" (deterministic, unique within a conversation).
// Never fails; usage is zero; provider "extractive". on_token, if set, receives the whole text once.
std::unique_ptr<LanguageModel> make_extractive_llm();

// ---- action markers (models without tool support) ----
// A model that cannot call tools signals actions with markers in its text, usually at the end:
//   [TRANSFER:<target name>]   → transfer_call {"target":"<target name>"}
//   [HANGUP]                   → end_call {"reason":"caller_goodbye"}
//   [HANGUP:<reason>]          → end_call {"reason":"<reason>"}
// Case-insensitive keywords, optional spaces after ':' and around the name; the name has no ']' or newline
// and is at most 100 bytes. The chat service asks such models for these markers in the system prompt and
// calls parse_action_markers() on their answer (text without markers is what gets spoken).
//
// Removes every well-formed marker from `text` (collapsing the whitespace left behind and trimming the
// ends) and returns the corresponding tool calls in order of appearance, with ids "marker_1", "marker_2"…
// Text that only looks like a marker ("[TRANSFER]", "[nota]") is left alone.
std::vector<ToolCall> parse_action_markers(std::string& text);

// The marker for a tool call (the inverse of parse_action_markers), e.g. "[TRANSFER:financeiro]".
std::string action_marker(const ToolCall& call);

}  // namespace ivr::providers
