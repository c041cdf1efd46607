// OpenAI Realtime adapter (PROTOCOLS §3): GA and beta event shapes, Azure URL form, over
// net::WebSocketClient. Control events are built with nlohmann (rare); the audio path is simdjson in, prefix
// + base64 + suffix out.

#include "ivr/providers/realtime/openai_realtime.hpp"

#include <chrono>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <openssl/evp.h>
#include <simdjson.h>

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <nlohmann/json.hpp>

#include "ivr/core/base64.hpp"
#include "ivr/core/logging.hpp"
#include "ivr/net/websocket_client.hpp"
#include "simdjson_fields.hpp"

namespace ivr::providers::realtime {

namespace asio = boost::asio;
using json = nlohmann::json;

namespace {

constexpr std::string_view kDefaultUrl = "wss://api.openai.com/v1/realtime";
constexpr std::string_view kDefaultModel = "gpt-realtime";
constexpr std::string_view kDefaultVoice = "alloy";
constexpr std::string_view kAudioPrefix = R"({"type":"input_audio_buffer.append","audio":")";
constexpr std::string_view kAudioSuffix = R"("})";
constexpr std::size_t kMaxRememberedToolNames = 64;

std::shared_ptr<spdlog::logger> log() {
  static const auto logger = module_logger("providers");
  return logger;
}

AudioFormat format_of(AudioEncoding e) {
  return AudioFormat{e, e == AudioEncoding::pcm16 ? 24'000 : 8'000};
}

json ga_format(AudioEncoding e) {
  switch (e) {
    case AudioEncoding::g711_ulaw:
      return {{"type", "audio/pcmu"}};
    case AudioEncoding::g711_alaw:
      return {{"type", "audio/pcma"}};
    case AudioEncoding::pcm16:
      break;
  }
  return {{"type", "audio/pcm"}, {"rate", 24'000}};
}

std::string_view beta_format(AudioEncoding e) {
  switch (e) {
    case AudioEncoding::g711_ulaw:
      return "g711_ulaw";
    case AudioEncoding::g711_alaw:
      return "g711_alaw";
    case AudioEncoding::pcm16:
      break;
  }
  return "pcm16";
}

json turn_detection(const SessionConfig& config, const OpenAiRealtimeSettings& s) {
  json td;
  if (s.turn_detection == "semantic_vad") {
    td = {{"type", "semantic_vad"}, {"eagerness", s.vad_eagerness}};
  } else {
    td = {{"type", "server_vad"},
          {"threshold", config.turn_detection.threshold},
          {"prefix_padding_ms", config.turn_detection.prefix_padding_ms},
          {"silence_duration_ms", config.turn_detection.silence_duration_ms}};
  }
  // The server answers each turn itself and cancels its answer when the caller talks over it (barge-in).
  td["create_response"] = true;
  td["interrupt_response"] = true;
  return td;
}

json tools_json(const std::vector<ToolSpec>& tools) {
  json out = json::array();
  for (const auto& t : tools) {
    json params = json::parse(t.parameters_json, nullptr, false);
    if (params.is_discarded() || !params.is_object()) {
      log()->warn(
          "openai realtime: tool {} has parameters that are not a JSON object; sending an empty schema",
          t.name);
      params = {{"type", "object"}, {"properties", json::object()}};
    }
    out.push_back(
        {{"type", "function"}, {"name", t.name}, {"description", t.description}, {"parameters", params}});
  }
  return out;
}

json transcription(const SessionConfig& config, const OpenAiRealtimeSettings& s) {
  json t = {{"model", s.transcription_model}};
  // The transcription takes an ISO-639-1 code: "pt-BR" → "pt".
  if (!config.language.empty()) t["language"] = config.language.substr(0, config.language.find('-'));
  return t;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------
// Sans-I/O wire pieces

namespace openai_wire {

std::string session_update(const SessionConfig& config, const OpenAiRealtimeSettings& s) {
  const std::string voice = !config.voice.empty() ? config.voice
                            : !s.voice.empty()    ? s.voice
                                                  : std::string(kDefaultVoice);
  json session;
  if (s.shape == OpenAiRealtimeSettings::Shape::ga) {
    json input = {{"format", ga_format(s.input_encoding)}, {"turn_detection", turn_detection(config, s)}};
    if (!s.transcription_model.empty()) input["transcription"] = transcription(config, s);
    session = {
        {"type", "realtime"},
        {"instructions", config.instructions},
        {"output_modalities", {"audio"}},
        {"audio",
         {{"input", input}, {"output", {{"format", ga_format(s.output_encoding)}, {"voice", voice}}}}},
    };
  } else {
    // The beta API wants text alongside audio.
    session = {
        {"modalities", {"text", "audio"}},
        {"instructions", config.instructions},
        {"voice", voice},
        {"input_audio_format", beta_format(s.input_encoding)},
        {"output_audio_format", beta_format(s.output_encoding)},
        {"turn_detection", turn_detection(config, s)},
    };
    if (!s.transcription_model.empty()) session["input_audio_transcription"] = transcription(config, s);
  }
  session["tools"] = tools_json(config.tools);
  session["tool_choice"] = "auto";
  const json event = {{"type", "session.update"}, {"session", std::move(session)}};
  return event.dump();
}

void append_audio_event(std::string& out, std::string_view bytes) {
  out.reserve(out.size() + kAudioPrefix.size() + 4 * ((bytes.size() + 2) / 3) + kAudioSuffix.size());
  out.append(kAudioPrefix);
  append_base64(out, bytes);
  out.append(kAudioSuffix);
}

struct EventParser {
  simdjson::ondemand::parser parser;
  // call_id → function name from response.output_item.added, for servers whose
  // function_call_arguments.done lacks `name`.
  std::unordered_map<std::string, std::string> tool_names;
};

std::unique_ptr<EventParser, void (*)(EventParser*)> make_event_parser() {
  return {new EventParser(), [](EventParser* p) { delete p; }};
}

namespace {

using json_fields::assign_field;
using json_fields::field;
using simdjson::ondemand::object;

bool skip(std::string_view type, std::string_view why) {
  if (log()->should_log(spdlog::level::debug)) {
    log()->debug("openai realtime: skipped event {}: {}", type.empty() ? "(no type)" : type, why);
  }
  return false;
}

}  // namespace

bool parse_event(EventParser& p, std::string& text, AgentEvent& out, std::string* session_event) {
  simdjson::ondemand::document doc;
  if (!json_fields::iterate(p.parser, text, doc)) return skip({}, "not JSON");
  object obj;
  if (doc.get_object().get(obj)) return skip({}, "not an object");
  std::string_view type;
  if (!field(obj, "type", type)) return skip({}, "no type");

  out.audio.clear();
  out.text.clear();
  out.item_id.clear();
  out.call_id.clear();
  out.name.clear();
  out.arguments_json.clear();

  if (type == "response.output_audio.delta" || type == "response.audio.delta") {
    std::string_view delta;
    if (!assign_field(obj, "item_id", out.item_id)) return skip(type, "no item_id");
    if (!field(obj, "delta", delta) || delta.empty()) return skip(type, "no delta");
    if (!base64_decode_into(delta, out.audio)) return skip(type, "delta is not base64");
    out.kind = AgentEvent::Kind::audio;
    return true;
  }
  if (type == "input_audio_buffer.speech_started" || type == "input_audio_buffer.speech_stopped") {
    assign_field(obj, "item_id", out.item_id);  // optional
    out.kind =
        type.ends_with("started") ? AgentEvent::Kind::speech_started : AgentEvent::Kind::speech_stopped;
    return true;
  }
  if (type == "conversation.item.input_audio_transcription.completed") {
    assign_field(obj, "item_id", out.item_id);
    if (!assign_field(obj, "transcript", out.text)) return skip(type, "no transcript");
    out.kind = AgentEvent::Kind::user_transcript;
    return true;
  }
  if (type == "response.output_audio_transcript.done" || type == "response.audio_transcript.done") {
    assign_field(obj, "item_id", out.item_id);
    if (!assign_field(obj, "transcript", out.text)) return skip(type, "no transcript");
    out.kind = AgentEvent::Kind::agent_transcript;
    return true;
  }
  if (type == "response.output_audio.done" || type == "response.audio.done") {
    assign_field(obj, "item_id", out.item_id);
    out.kind = AgentEvent::Kind::audio_done;
    return true;
  }
  if (type == "response.function_call_arguments.done") {
    assign_field(obj, "item_id", out.item_id);
    if (!assign_field(obj, "call_id", out.call_id)) return skip(type, "no call_id");
    if (!assign_field(obj, "arguments", out.arguments_json)) return skip(type, "no arguments");
    if (!assign_field(obj, "name", out.name)) {
      auto it = p.tool_names.find(out.call_id);
      if (it == p.tool_names.end()) return skip(type, "no name");
      out.name = it->second;
    }
    p.tool_names.erase(out.call_id);
    out.kind = AgentEvent::Kind::tool_call;
    return true;
  }
  if (type == "response.output_item.added") {
    object item;
    std::string_view item_type, name, call_id;
    if (!obj["item"].get_object().get(item) && field(item, "type", item_type) &&
        item_type == "function_call" && field(item, "name", name) && field(item, "call_id", call_id)) {
      if (p.tool_names.size() >= kMaxRememberedToolNames) p.tool_names.clear();
      p.tool_names.emplace(std::string(call_id), std::string(name));
    }
    return false;
  }
  if (type == "error") {
    object err;
    if (obj["error"].get_object().get(err)) return skip(type, "no error object");
    std::string_view code, message, error_type;
    field(err, "type", error_type);
    field(err, "code", code);  // may be null
    field(err, "message", message);
    out.text.assign(!code.empty() ? code : error_type);
    if (!message.empty()) {
      if (!out.text.empty()) out.text += ": ";
      out.text.append(message);
    }
    out.kind = AgentEvent::Kind::error;
    return true;
  }
  if (type == "session.created" || type == "session.updated") {
    if (session_event) session_event->assign(type);
    return false;
  }
  if (type == "response.done") {
    object response;
    std::string_view status;
    if (!obj["response"].get_object().get(response) && field(response, "status", status) &&
        status == "failed") {
      out.text = "response failed";
      out.kind = AgentEvent::Kind::error;
      return true;
    }
    return false;
  }
  // rate_limits.updated, response.created, *.delta transcripts, committed, …: nothing for the bridge.
  return false;
}

}  // namespace openai_wire

// ---------------------------------------------------------------------------------------------------------
// The agent

namespace {

class OpenAiRealtimeAgent final : public RealtimeAgent {
 public:
  OpenAiRealtimeAgent(net::WebSocketConnector& connector, OpenAiRealtimeSettings settings)
      : connector_(connector), settings_(std::move(settings)), parser_(openai_wire::make_event_parser()) {
    if (settings_.url.empty()) settings_.url = kDefaultUrl;
    if (settings_.model.empty()) settings_.model = kDefaultModel;
    prefix_ = settings_.log_context.empty() ? std::string("openai realtime:")
                                            : settings_.log_context + " openai realtime:";
  }

  std::string_view name() const override { return "openai"; }
  AudioFormat input_format() const override { return format_of(settings_.input_encoding); }
  AudioFormat output_format() const override { return format_of(settings_.output_encoding); }

  asio::awaitable<Result<void>> start(SessionConfig config) override {
    if (ws_ || closed_) co_return make_error_code(Errc::internal);  // one session per agent
    net::WebSocketClientOptions options;
    auto url = connect_url();
    if (!url) co_return url.error();
    options.url = std::move(*url);
    if (settings_.azure) {
      options.headers.emplace_back("api-key", settings_.api_key);
    } else {
      options.headers.emplace_back("Authorization", "Bearer " + settings_.api_key);
    }
    if (settings_.shape == OpenAiRealtimeSettings::Shape::beta) {
      options.headers.emplace_back("OpenAI-Beta", "realtime=v1");
    }
    options.connect_timeout = settings_.connect_timeout;
    options.verify_tls = settings_.verify_tls;
    options.idle_timeout = settings_.idle_timeout;
    options.max_queued_bytes = settings_.max_queued_audio_bytes;
    options.log_context = settings_.log_context;
    const auto started = std::chrono::steady_clock::now();

    auto connected = co_await connector_.connect(std::move(options));
    if (!connected) {
      log()->warn("{} cannot open the session: {}", prefix_, connected.error().message());
      co_return connected.error();
    }
    ws_ = std::move(*connected);
    ws_->expires_after(settings_.session_timeout);

    if (auto r = co_await wait_for_session("session.created"); !r) co_return fail_start(r.error());
    const std::string update = openai_wire::session_update(config, settings_);
    if (auto r = ws_->send_text(update); !r) co_return fail_start(r.error());
    if (auto r = co_await wait_for_session("session.updated"); !r) co_return fail_start(r.error());
    ws_->expires_never();

    if (!config.greeting.empty()) {
      const json greet = {{"type", "response.create"},
                          {"response",
                           {{"instructions",
                             "Greet the caller by saying exactly this, in the conversation's "
                             "language, then wait for them to speak: " +
                                 config.greeting}}}};
      if (auto r = ws_->send_text(greet.dump()); !r) co_return fail_start(r.error());
    }
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started)
            .count();
    log()->info("{} session ready in {} ms (model {}, {} shape{})", prefix_, ms, settings_.model,
                settings_.shape == OpenAiRealtimeSettings::Shape::ga ? "GA" : "beta",
                settings_.azure ? ", Azure" : "");
    co_return Result<void>{};
  }

  asio::awaitable<Result<void>> send_audio(std::string_view bytes) override {
    if (!ws_ || closed_) co_return make_error_code(Errc::unavailable);
    if (bytes.empty()) co_return Result<void>{};
    std::string frame = ws_->take_buffer();
    openai_wire::append_audio_event(frame, bytes);
    co_return ws_->send_text(std::move(frame), true);
  }

  asio::awaitable<Result<AgentEvent>> next_event() override {
    if (!ws_) co_return make_error_code(closed_ ? Errc::cancelled : Errc::unavailable);
    for (;;) {
      auto r = co_await ws_->read(message_);
      if (!r) {
        if (!closed_) {
          log()->warn("{} provider connection ended: {} (close code {})", prefix_, r.error().message(),
                      ws_->close_code());
        }
        co_return closed_ ? make_error_code(Errc::cancelled) : r.error();
      }
      if (message_.binary) continue;
      if (openai_wire::parse_event(*parser_, message_.data, event_)) {
        if (event_.kind == AgentEvent::Kind::error)
          log()->warn("{} provider error: {}", prefix_, event_.text);
        co_return std::move(event_);  // parse_event refills every field it uses
      }
    }
  }

  asio::awaitable<Result<void>> send_tool_result(std::string call_id, std::string output_json) override {
    if (!ws_ || closed_) co_return make_error_code(Errc::unavailable);
    const json item = {
        {"type", "conversation.item.create"},
        {"item", {{"type", "function_call_output"}, {"call_id", call_id}, {"output", output_json}}}};
    if (auto r = ws_->send_text(item.dump()); !r) co_return r;
    co_return ws_->send_text(R"({"type":"response.create"})");
  }

  asio::awaitable<Result<void>> truncate(std::string item_id, std::int64_t audio_end_ms) override {
    if (!ws_ || closed_) co_return make_error_code(Errc::unavailable);
    const json event = {{"type", "conversation.item.truncate"},
                        {"item_id", item_id},
                        {"content_index", 0},
                        {"audio_end_ms", std::max<std::int64_t>(0, audio_end_ms)}};
    co_return ws_->send_text(event.dump());
  }

  asio::awaitable<void> close() override {
    if (closed_) co_return;
    closed_ = true;
    if (ws_) co_await ws_->close(1000, "bye");
  }

 private:
  Result<std::string> connect_url() const {
    auto parsed = boost::urls::parse_uri(settings_.url);
    if (!parsed) {
      log()->warn("{} invalid URL", prefix_);
      return make_error_code(Errc::config_invalid);
    }
    boost::urls::url url(*parsed);
    if (settings_.azure && !settings_.azure_api_version.empty()) {
      url.params().set("api-version", settings_.azure_api_version);
      url.params().set("deployment", settings_.model);
    } else {
      url.params().set("model", settings_.model);
    }
    return std::string(url.buffer());
  }

  // Reads until `wanted` (session.created / session.updated). An error event means the provider refused
  // the session (bad key scope, invalid configuration).
  asio::awaitable<Result<void>> wait_for_session(std::string_view wanted) {
    for (;;) {
      auto r = co_await ws_->read(message_);
      if (!r) co_return r.error();
      if (message_.binary) continue;
      std::string session_event;
      if (openai_wire::parse_event(*parser_, message_.data, event_, &session_event) &&
          event_.kind == AgentEvent::Kind::error) {
        log()->warn("{} provider refused the session: {}", prefix_, event_.text);
        co_return make_error_code(Errc::upstream_error);
      }
      if (session_event == wanted) co_return Result<void>{};
    }
  }

  boost::system::error_code fail_start(boost::system::error_code ec) {
    log()->warn("{} session set-up failed: {}", prefix_, ec.message());
    ws_.reset();  // closes the socket
    return ec;
  }

  net::WebSocketConnector& connector_;
  OpenAiRealtimeSettings settings_;
  std::string prefix_;
  std::unique_ptr<openai_wire::EventParser, void (*)(openai_wire::EventParser*)> parser_;
  std::unique_ptr<net::WebSocketClient> ws_;
  net::WebSocketMessage message_;  // reused: no allocation per frame once warm
  AgentEvent event_;
  bool closed_ = false;
};

}  // namespace

std::unique_ptr<RealtimeAgent> make_openai_realtime(net::WebSocketConnector& connector,
                                                    OpenAiRealtimeSettings settings) {
  return std::make_unique<OpenAiRealtimeAgent>(connector, std::move(settings));
}

}  // namespace ivr::providers::realtime
