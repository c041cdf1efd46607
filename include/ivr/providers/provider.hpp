#pragma once
// The provider seams (DESIGN §5): speech-to-text, language model, text-to-speech. Adapters are per
// vendor and know nothing of HTTP handlers; handlers know nothing of vendor formats.
// All calls are made from the io thread; adapters use net::HttpClient (curl multi) for the wire and a
// worker pool for blocking engines (espeak-ng). Secrets (API keys) never appear in logs or errors.
//
// Errors (Result<T>): Errc::timeout, Errc::unavailable (connect/DNS/TLS), Errc::rate_limited (429),
// Errc::upstream_error (4xx other than 429, 5xx, or an unparseable answer), Errc::unprocessable (the
// request itself cannot be served, e.g. unsupported language), Errc::cancelled.
// retryable_on_next_provider() says which of them a fallback chain should try elsewhere.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "ivr/audio/wav.hpp"
#include "ivr/core/errors.hpp"

namespace ivr::providers {

// Timeout, connection error, 429 or 5xx → the next provider may succeed.
bool retryable_on_next_provider(const boost::system::error_code& ec) noexcept;

// ---- speech to text ----
struct TranscribeRequest {
  audio::PcmAudio audio;  // mono 16-bit at any rate; adapters resample to what their vendor wants
  std::string language;   // BCP-47 hint ("pt-BR", "en", "es"); empty = detect
};

struct Transcript {
  std::string text;
  std::string language;  // as detected/reported by the vendor, else the hint
  std::string provider;  // adapter name, e.g. "openai", "deepgram"
};

class SpeechToText {
 public:
  virtual ~SpeechToText() = default;
  virtual std::string_view name() const = 0;
  virtual boost::asio::awaitable<Result<Transcript>> transcribe(TranscribeRequest request) = 0;
};

// ---- language model ----
struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments_json;  // a JSON object as text
};

struct ChatMessage {
  enum class Role { system, user, assistant, tool } role = Role::user;
  std::string content;
  std::vector<ToolCall> tool_calls;  // assistant messages that called tools
  std::string tool_call_id;          // tool messages: which call this answers
  std::string tool_name;             // tool messages: the tool's name (Gemini needs it)
};

struct ToolSpec {
  std::string name;
  std::string description;
  std::string parameters_schema_json;  // JSON Schema of the arguments object
};

// Passages from the tenant's knowledge base, ranked.
struct KnowledgeSnippet {
  std::string document_title;
  std::string text;
  double score = 0;
};

// What the offline extractive model needs besides the messages (LLM adapters put this in the prompt).
struct ConversationHints {
  std::string language;  // "pt-BR", "en", "es"
  std::string greeting;
  std::vector<std::pair<std::string, std::string>> faq;               // question → answer
  std::vector<std::pair<std::string, std::string>> transfer_targets;  // name → extension
  std::vector<std::string> goodbye_phrases;
};

struct ChatRequest {
  std::vector<ChatMessage> messages;  // system prompt first
  std::vector<ToolSpec> tools;
  std::vector<KnowledgeSnippet> knowledge;
  ConversationHints hints;
  double temperature = 0.3;
  int max_tokens = 400;
};

struct TokenUsage {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
};

struct ChatResult {
  std::string text;
  std::vector<ToolCall> tool_calls;
  TokenUsage usage;
  std::string provider;
};

// Called with each text fragment as it streams (sentence-by-sentence TTS in realtime calls).
using TokenCallback = std::function<void(std::string_view fragment)>;

class LanguageModel {
 public:
  virtual ~LanguageModel() = default;
  virtual std::string_view name() const = 0;
  // When on_token is set the adapter streams (SSE) and calls it per fragment; the result is still whole.
  virtual boost::asio::awaitable<Result<ChatResult>> complete(ChatRequest request,
                                                              TokenCallback on_token = {}) = 0;
};

// ---- text to speech ----
struct SynthesisRequest {
  std::string text;
  std::string voice;       // vendor voice id; empty = the adapter's default for `language`
  std::string language;    // "pt-BR", "en", "es"
  int sample_rate = 8000;  // the rate the caller wants; adapters resample
};

struct Synthesis {
  audio::PcmAudio audio;  // mono 16-bit at request.sample_rate
  std::string provider;
};

class TextToSpeech {
 public:
  virtual ~TextToSpeech() = default;
  virtual std::string_view name() const = 0;
  virtual boost::asio::awaitable<Result<Synthesis>> synthesize(SynthesisRequest request) = 0;
};

// Common settings of a remote adapter (from a secretary's provider chain entry).
struct RemoteProviderSettings {
  std::string base_url;  // e.g. "https://api.openai.com" (no trailing /v1 needed; adapters add paths)
  std::string api_key;   // decrypted; never logged
  std::string model;
  std::chrono::milliseconds timeout{15'000};
  std::string extra;  // vendor-specific JSON object text (e.g. {"api_version": "..."}); may be empty
};

}  // namespace ivr::providers
