// ElevenLabs Conversational AI adapter (PROTOCOLS §4) over net::WebSocketClient. Control messages are built
// with nlohmann (rare); the audio path is simdjson in, prefix + base64 + suffix out. A reader coroutine owns
// the socket's reads (pings are answered there); next_event() takes its queue and synthesises audio_done.

#include "ivr/providers/realtime/elevenlabs_realtime.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <deque>
#include <string_view>
#include <utility>

#include <openssl/evp.h>
#include <simdjson.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <nlohmann/json.hpp>

#include "ivr/core/base64.hpp"
#include "ivr/core/logging.hpp"
#include "ivr/net/http_client.hpp"
#include "ivr/net/websocket_client.hpp"
#include "simdjson_fields.hpp"

namespace ivr::providers::realtime {

namespace asio = boost::asio;
using json = nlohmann::json;

namespace {

constexpr std::string_view kAudioPrefix = R"({"user_audio_chunk":")";
constexpr std::string_view kAudioSuffix = R"("})";
constexpr std::string_view kConversationPath = "/v1/convai/conversation";
constexpr std::string_view kSignedUrlPath = "/v1/convai/conversation/get-signed-url";
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

std::shared_ptr<spdlog::logger> log() {
  static const auto logger = module_logger("providers");
  return logger;
}

std::string trim_slash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

std::string encoded(std::string_view s) {
  return boost::urls::encode(s, boost::urls::unreserved_chars);
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------
// Sans-I/O wire pieces

namespace elevenlabs_wire {

std::string initiation(const SessionConfig& config, const ElevenLabsRealtimeSettings& s) {
  json agent = {{"prompt", {{"prompt", config.instructions}}}, {"first_message", config.greeting}};
  // ElevenLabs takes ISO-639-1 codes: "pt-BR" → "pt".
  if (!config.language.empty()) {
    std::string lang = config.language.substr(0, config.language.find('-'));
    for (auto& ch : lang) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    agent["language"] = lang;
  }
  json override_ = {{"agent", std::move(agent)}};
  const std::string& voice = !config.voice.empty() ? config.voice : s.voice;
  if (!voice.empty()) override_["tts"] = {{"voice_id", voice}};
  json message = {{"type", "conversation_initiation_client_data"},
                  {"conversation_config_override", std::move(override_)}};
  if (!s.dynamic_variables.empty()) {
    json vars = json::object();
    for (const auto& [k, v] : s.dynamic_variables) vars[k] = v;
    message["dynamic_variables"] = std::move(vars);
  }
  return message.dump();
}

void append_audio_chunk(std::string& out, std::string_view bytes) {
  out.reserve(out.size() + kAudioPrefix.size() + 4 * ((bytes.size() + 2) / 3) + kAudioSuffix.size());
  out.append(kAudioPrefix);
  append_base64(out, bytes);
  out.append(kAudioSuffix);
}

bool parse_audio_format(std::string_view text, AudioFormat& out) {
  const auto underscore = text.find('_');
  if (underscore == std::string_view::npos) return false;
  const std::string_view codec = text.substr(0, underscore);
  const std::string_view rate_text = text.substr(underscore + 1);
  int rate = 0;
  const auto [end, ec] = std::from_chars(rate_text.data(), rate_text.data() + rate_text.size(), rate);
  if (ec != std::errc() || end != rate_text.data() + rate_text.size() || rate <= 0) return false;
  if (codec == "pcm") {
    if (rate < 8000 || rate > 48000) return false;
    out = AudioFormat{AudioEncoding::pcm16, rate};
    return true;
  }
  if ((codec == "ulaw" || codec == "alaw") && rate == 8000) {
    out = AudioFormat{codec == "ulaw" ? AudioEncoding::g711_ulaw : AudioEncoding::g711_alaw, 8000};
    return true;
  }
  return false;
}

struct EventParser {
  simdjson::ondemand::parser parser;
};

std::unique_ptr<EventParser, void (*)(EventParser*)> make_event_parser() {
  return {new EventParser(), [](EventParser* p) { delete p; }};
}

namespace {

using json_fields::assign_field;
using json_fields::field;
using json_fields::int_field;
using json_fields::sub_object;
using simdjson::ondemand::object;
using Type = ServerEvent::Type;

void skip(ServerEvent& out, std::string_view type, std::string_view why) {
  out.type = Type::skip;
  if (log()->should_log(spdlog::level::debug)) {
    log()->debug("elevenlabs: skipped event {}: {}", type.empty() ? "(no type)" : type, why);
  }
}

}  // namespace

void parse_event(EventParser& p, std::string& text, ServerEvent& out) {
  out.audio.clear();
  out.text.clear();
  out.corrected.clear();
  out.input_format.clear();
  out.output_format.clear();
  out.name.clear();
  out.call_id.clear();
  out.arguments_json.clear();
  out.event_id = -1;
  out.type = Type::skip;

  simdjson::ondemand::document doc;
  if (!json_fields::iterate(p.parser, text, doc)) return skip(out, {}, "not JSON");
  object obj;
  if (doc.get_object().get(obj)) return skip(out, {}, "not an object");
  std::string_view type;
  if (!field(obj, "type", type)) return skip(out, {}, "no type");
  object ev;

  if (type == "audio") {
    std::string_view b64;
    if (!sub_object(obj, "audio_event", ev)) return skip(out, type, "no audio_event");
    if (!field(ev, "audio_base_64", b64) || b64.empty()) return skip(out, type, "no audio_base_64");
    if (!base64_decode_into(b64, out.audio)) return skip(out, type, "audio_base_64 is not base64");
    int_field(ev, "event_id", out.event_id);  // optional
    out.type = Type::audio;
    return;
  }
  if (type == "ping") {
    if (!sub_object(obj, "ping_event", ev) || !int_field(ev, "event_id", out.event_id))
      return skip(out, type, "no ping_event.event_id");
    out.type = Type::ping;
    return;
  }
  if (type == "interruption") {
    if (sub_object(obj, "interruption_event", ev)) int_field(ev, "event_id", out.event_id);
    out.type = Type::interruption;
    return;
  }
  if (type == "user_transcript") {
    // The real key is user_transcription_event; user_transcript_event accepted as well.
    if (!sub_object(obj, "user_transcription_event", ev) && !sub_object(obj, "user_transcript_event", ev))
      return skip(out, type, "no user_transcription_event");
    if (!assign_field(ev, "user_transcript", out.text)) return skip(out, type, "no user_transcript");
    out.type = Type::user_transcript;
    return;
  }
  if (type == "agent_response") {
    if (!sub_object(obj, "agent_response_event", ev)) return skip(out, type, "no agent_response_event");
    if (!assign_field(ev, "agent_response", out.text)) return skip(out, type, "no agent_response");
    out.type = Type::agent_response;
    return;
  }
  if (type == "agent_response_correction") {
    if (!sub_object(obj, "agent_response_correction_event", ev))
      return skip(out, type, "no agent_response_correction_event");
    if (!assign_field(ev, "corrected_agent_response", out.corrected))
      return skip(out, type, "no corrected_agent_response");
    assign_field(ev, "original_agent_response", out.text);
    out.type = Type::correction;
    return;
  }
  if (type == "client_tool_call") {
    if (!sub_object(obj, "client_tool_call", ev)) return skip(out, type, "no client_tool_call");
    if (!assign_field(ev, "tool_name", out.name) || out.name.empty()) return skip(out, type, "no tool_name");
    if (!assign_field(ev, "tool_call_id", out.call_id) || out.call_id.empty())
      return skip(out, type, "no tool_call_id");
    simdjson::ondemand::value params;
    if (ev["parameters"].get(params)) {
      out.arguments_json = "{}";  // no parameters
    } else {
      object params_obj;
      std::string_view raw;
      if (params.get_object().get(params_obj) || params_obj.raw_json().get(raw))
        return skip(out, type, "parameters is not an object");
      out.arguments_json.assign(raw);
    }
    out.type = Type::tool_call;
    return;
  }
  if (type == "conversation_initiation_metadata") {
    if (!sub_object(obj, "conversation_initiation_metadata_event", ev))
      return skip(out, type, "no conversation_initiation_metadata_event");
    assign_field(ev, "conversation_id", out.text);
    assign_field(ev, "user_input_audio_format", out.input_format);
    assign_field(ev, "agent_output_audio_format", out.output_format);
    out.type = Type::metadata;
    return;
  }
  // vad_score, internal_tentative_agent_response, agent_tool_response, …: nothing for the bridge.
  out.type = Type::skip;
}

}  // namespace elevenlabs_wire

// ---------------------------------------------------------------------------------------------------------
// The agent

namespace {

using elevenlabs_wire::ServerEvent;
using Clock = std::chrono::steady_clock;

// State shared by the agent and its reader coroutine (which may outlive the agent briefly).
struct Shared {
  explicit Shared(asio::any_io_executor ex) : wake(std::move(ex)) {}

  std::unique_ptr<net::WebSocketClient> ws;
  std::string prefix;
  std::deque<AgentEvent> queue;
  asio::steady_timer wake;
  bool reader_done = false;
  boost::system::error_code ended;
  bool closed = false;

  // Items (see the header): the current response's id and whether its audio is still coming.
  std::uint64_t responses = 0;
  std::string item_id;
  bool item_open = false;
  Clock::time_point last_audio{};

  ElevenLabsStats stats;

  void push(AgentEvent e) {
    queue.push_back(std::move(e));
    wake.cancel();
  }

  void end_item() {
    if (!item_open) return;
    item_open = false;
    AgentEvent done;
    done.kind = AgentEvent::Kind::audio_done;
    done.item_id = item_id;
    push(std::move(done));
  }

  void send_pong(std::int64_t event_id) {
    if (!ws) return;
    std::string pong = R"({"type":"pong","event_id":)";
    pong += std::to_string(event_id);
    pong += '}';
    if (ws->send_text(std::move(pong))) ++stats.pongs_sent;
  }

  // Reader side: one decoded server frame.
  void on_event(ServerEvent& ev) {
    using Type = ServerEvent::Type;
    AgentEvent e;
    switch (ev.type) {
      case Type::ping:
        send_pong(ev.event_id);
        return;
      case Type::audio:
        if (ev.audio.empty()) return;
        if (!item_open) {
          item_open = true;
          item_id = "el_" + std::to_string(++responses);
        }
        last_audio = Clock::now();
        e.kind = AgentEvent::Kind::audio;
        e.audio = std::move(ev.audio);
        e.item_id = item_id;
        push(std::move(e));
        return;
      case Type::interruption:
        item_open = false;  // cut: no audio_done, the next audio is a new response
        e.kind = AgentEvent::Kind::speech_started;
        push(std::move(e));
        return;
      case Type::user_transcript:
        end_item();
        e.kind = AgentEvent::Kind::user_transcript;
        e.text = std::move(ev.text);
        push(std::move(e));
        return;
      case Type::agent_response:
        e.kind = AgentEvent::Kind::agent_transcript;
        e.text = std::move(ev.text);
        e.item_id = item_open ? item_id : "el_" + std::to_string(responses + 1);
        push(std::move(e));
        return;
      case Type::correction:
        log()->info("{} agent response corrected after an interruption ({} → {} characters)", prefix,
                    ev.text.size(), ev.corrected.size());
        stats.corrections.push_back({std::move(ev.text), std::move(ev.corrected)});
        return;
      case Type::tool_call:
        end_item();
        e.kind = AgentEvent::Kind::tool_call;
        e.name = std::move(ev.name);
        e.call_id = std::move(ev.call_id);
        e.arguments_json = std::move(ev.arguments_json);
        push(std::move(e));
        return;
      case Type::metadata:
      case Type::skip:
        ++stats.skipped_events;
        return;
    }
  }
};

asio::awaitable<void> read_loop(std::shared_ptr<Shared> s) {
  net::WebSocketMessage message;
  ServerEvent ev;
  auto parser = elevenlabs_wire::make_event_parser();
  for (;;) {
    auto r = co_await s->ws->read(message);
    if (!r) {
      if (!s->closed) {
        log()->warn("{} provider connection ended: {} (close code {})", s->prefix, r.error().message(),
                    s->ws->close_code());
      }
      s->ended = r.error();
      s->reader_done = true;
      s->wake.cancel();
      co_return;
    }
    if (message.binary) continue;
    elevenlabs_wire::parse_event(*parser, message.data, ev);
    s->on_event(ev);
  }
}

asio::awaitable<void> close_shared(std::shared_ptr<Shared> s) {
  if (s->ws) co_await s->ws->close(1000, "bye");
}

class ElevenLabsRealtimeAgent final : public RealtimeAgent {
 public:
  ElevenLabsRealtimeAgent(net::WebSocketConnector& connector, net::HttpClient& http,
                          ElevenLabsRealtimeSettings settings)
      : connector_(connector), http_(http), settings_(std::move(settings)) {
    settings_.api_base =
        trim_slash(settings_.api_base.empty() ? "https://api.elevenlabs.io" : settings_.api_base);
    settings_.ws_base = trim_slash(settings_.ws_base.empty() ? "wss://api.elevenlabs.io" : settings_.ws_base);
    prefix_ =
        settings_.log_context.empty() ? std::string("elevenlabs:") : settings_.log_context + " elevenlabs:";
  }

  ~ElevenLabsRealtimeAgent() override {
    // Not closed by the owner: close in the background (the reader keeps the shared state alive).
    if (shared_ && shared_->ws && !shared_->closed) {
      shared_->closed = true;
      auto ex = shared_->wake.get_executor();
      asio::co_spawn(ex, close_shared(shared_), asio::detached);
    }
  }

  std::string_view name() const override { return "elevenlabs"; }
  AudioFormat input_format() const override { return input_; }
  AudioFormat output_format() const override { return output_; }

  const ElevenLabsStats& stats() const {
    static const ElevenLabsStats empty;
    return shared_ ? shared_->stats : empty;
  }

  asio::awaitable<Result<void>> start(SessionConfig config) override {
    if (started_ || closed_) co_return make_error_code(Errc::internal);  // one session per agent
    started_ = true;
    if (settings_.agent_id.empty()) {
      log()->warn("{} no agent_id configured", prefix_);
      co_return make_error_code(Errc::config_invalid);
    }
    const auto t0 = Clock::now();
    auto url = co_await connect_url();
    if (!url) co_return url.error();

    net::WebSocketClientOptions options;
    options.url = std::move(*url);
    options.connect_timeout = settings_.connect_timeout;
    options.verify_tls = settings_.verify_tls;
    options.idle_timeout = settings_.idle_timeout;
    options.max_queued_bytes = settings_.max_queued_audio_bytes;
    options.log_context = settings_.log_context;
    auto connected = co_await connector_.connect(std::move(options));
    if (!connected) {
      log()->warn("{} cannot open the conversation: {}", prefix_, connected.error().message());
      co_return connected.error();
    }
    auto ex = co_await asio::this_coro::executor;
    shared_ = std::make_shared<Shared>(ex);
    shared_->prefix = prefix_;
    shared_->ws = std::move(*connected);
    net::WebSocketClient& ws = *shared_->ws;
    ws.expires_after(settings_.session_timeout);

    if (auto r = ws.send_text(elevenlabs_wire::initiation(config, settings_)); !r)
      co_return fail_start(r.error());
    auto metadata = co_await wait_for_metadata();
    if (!metadata) co_return fail_start(metadata.error());
    ws.expires_never();
    if (shared_->closed) co_return make_error_code(Errc::cancelled);  // closed while starting

    asio::co_spawn(ex, read_loop(shared_), asio::detached);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
    log()->info("{} conversation {} ready in {} ms (in {}, out {})", prefix_, shared_->stats.conversation_id,
                ms, metadata->input_format, metadata->output_format);
    co_return Result<void>{};
  }

  asio::awaitable<Result<void>> send_audio(std::string_view bytes) override {
    if (!running()) co_return make_error_code(Errc::unavailable);
    if (bytes.empty()) co_return Result<void>{};
    std::string frame = shared_->ws->take_buffer();
    elevenlabs_wire::append_audio_chunk(frame, bytes);
    co_return shared_->ws->send_text(std::move(frame), true);
  }

  asio::awaitable<Result<AgentEvent>> next_event() override {
    if (!shared_ || !reader_started())
      co_return make_error_code(closed_ ? Errc::cancelled : Errc::unavailable);
    Shared& s = *shared_;
    const auto keep = shared_;  // the agent may be destroyed while we wait
    for (;;) {
      if (s.closed) co_return make_error_code(Errc::cancelled);
      if (!s.queue.empty()) {
        AgentEvent e = std::move(s.queue.front());
        s.queue.pop_front();
        co_return std::move(e);
      }
      if (s.reader_done) co_return s.ended ? s.ended : make_error_code(Errc::unavailable);
      if (s.item_open && settings_.audio_done_after.count() > 0) {
        const auto deadline = s.last_audio + settings_.audio_done_after;
        if (Clock::now() >= deadline) {
          s.end_item();
          continue;
        }
        s.wake.expires_at(deadline);
      } else {
        s.wake.expires_at(Clock::time_point::max());
      }
      co_await s.wake.async_wait(kAsTuple);
    }
  }

  asio::awaitable<Result<void>> send_tool_result(std::string call_id, std::string output_json) override {
    if (!running()) co_return make_error_code(Errc::unavailable);
    const json parsed = json::parse(output_json, nullptr, false);
    const bool is_error =
        parsed.is_object() && parsed.contains("ok") && parsed["ok"].is_boolean() && !parsed["ok"].get<bool>();
    const json message = {{"type", "client_tool_result"},
                          {"tool_call_id", call_id},
                          {"result", output_json},
                          {"is_error", is_error}};
    co_return shared_->ws->send_text(message.dump());
  }

  asio::awaitable<Result<void>> truncate(std::string item_id, std::int64_t audio_end_ms) override {
    if (!running()) co_return make_error_code(Errc::unavailable);
    shared_->stats.truncations.emplace_back(item_id, audio_end_ms);
    log()->debug("{} truncate {} at {} ms: recorded (ElevenLabs handles interruptions itself)", prefix_,
                 item_id, audio_end_ms);
    if (!settings_.contextual_update_on_truncate) co_return Result<void>{};
    const json message = {
        {"type", "contextual_update"},
        {"text", "The caller interrupted you: they heard only the first " +
                     std::to_string(std::max<std::int64_t>(0, audio_end_ms)) + " ms of your last answer."}};
    co_return shared_->ws->send_text(message.dump());
  }

  asio::awaitable<void> close() override {
    if (closed_) co_return;
    closed_ = true;
    if (!shared_) co_return;
    const auto keep = shared_;
    keep->closed = true;
    keep->wake.cancel();
    if (keep->ws) co_await keep->ws->close(1000, "bye");
  }

 private:
  struct Metadata {
    std::string input_format;
    std::string output_format;
  };

  bool reader_started() const { return shared_ && shared_->ws && started_ok_; }
  bool running() const { return reader_started() && !shared_->closed && !shared_->reader_done; }

  // The WebSocket URL: the signed URL for private agents, the public URL otherwise.
  asio::awaitable<Result<std::string>> connect_url() {
    if (settings_.api_key.empty()) {
      std::string url =
          settings_.ws_base + std::string(kConversationPath) + "?agent_id=" + encoded(settings_.agent_id);
      if (!boost::urls::parse_uri(url)) {
        log()->warn("{} invalid ws_base URL", prefix_);
        co_return make_error_code(Errc::config_invalid);
      }
      co_return url;
    }
    net::ClientRequest request;
    request.method = "GET";
    request.url =
        settings_.api_base + std::string(kSignedUrlPath) + "?agent_id=" + encoded(settings_.agent_id);
    if (!boost::urls::parse_uri(request.url)) {
      log()->warn("{} invalid api_base URL", prefix_);
      co_return make_error_code(Errc::config_invalid);
    }
    request.headers.set("xi-api-key", settings_.api_key);
    request.headers.set("Accept", "application/json");
    request.connect_timeout = std::min(settings_.http_timeout, settings_.connect_timeout);
    request.total_timeout = settings_.http_timeout;
    request.verify_tls = settings_.verify_tls;
    request.max_response_bytes = 64 * 1024;
    auto response = co_await http_.send(std::move(request));
    if (!response) {
      log()->warn("{} signed URL request failed: {}", prefix_, response.error().message());
      co_return response.error();
    }
    const int status = response->status;
    if (status < 200 || status >= 300) {
      log()->warn("{} signed URL refused: HTTP {}", prefix_, status);
      if (status == 401 || status == 403) co_return make_error_code(Errc::unauthorized);
      if (status == 429) co_return make_error_code(Errc::rate_limited);
      co_return make_error_code(Errc::upstream_error);
    }
    const json body = json::parse(response->body, nullptr, false);
    if (!body.is_object() || !body.contains("signed_url") || !body["signed_url"].is_string()) {
      log()->warn("{} signed URL answer without signed_url", prefix_);
      co_return make_error_code(Errc::upstream_error);
    }
    co_return body["signed_url"].get<std::string>();
  }

  // Reads until conversation_initiation_metadata (pings answered meanwhile) and applies its formats.
  asio::awaitable<Result<Metadata>> wait_for_metadata() {
    net::WebSocketMessage message;
    ServerEvent ev;
    auto parser = elevenlabs_wire::make_event_parser();
    for (;;) {
      auto r = co_await shared_->ws->read(message);
      if (!r) co_return r.error();
      if (message.binary) continue;
      elevenlabs_wire::parse_event(*parser, message.data, ev);
      if (ev.type == ServerEvent::Type::ping) {
        shared_->send_pong(ev.event_id);
        continue;
      }
      if (ev.type != ServerEvent::Type::metadata) {
        ++shared_->stats.skipped_events;
        continue;
      }
      Metadata m{ev.input_format.empty() ? "pcm_16000" : ev.input_format,
                 ev.output_format.empty() ? "pcm_16000" : ev.output_format};
      if (!elevenlabs_wire::parse_audio_format(m.input_format, input_) ||
          !elevenlabs_wire::parse_audio_format(m.output_format, output_)) {
        log()->warn("{} unsupported audio formats from the agent: in {}, out {}", prefix_, m.input_format,
                    m.output_format);
        co_return make_error_code(Errc::upstream_error);
      }
      shared_->stats.conversation_id = std::move(ev.text);
      started_ok_ = true;
      co_return m;
    }
  }

  boost::system::error_code fail_start(boost::system::error_code ec) {
    log()->warn("{} conversation set-up failed: {}", prefix_, ec.message());
    started_ok_ = false;
    // No reader yet: dropping the client closes the socket, unless close() is using it right now.
    if (!shared_->closed) shared_->ws.reset();
    return ec;
  }

  net::WebSocketConnector& connector_;
  net::HttpClient& http_;
  ElevenLabsRealtimeSettings settings_;
  std::string prefix_;
  std::shared_ptr<Shared> shared_;
  AudioFormat input_{AudioEncoding::pcm16, 16'000};
  AudioFormat output_{AudioEncoding::pcm16, 16'000};
  bool started_ = false;
  bool started_ok_ = false;
  bool closed_ = false;
};

}  // namespace

ElevenLabsStats elevenlabs_stats(const RealtimeAgent& agent) {
  if (const auto* el = dynamic_cast<const ElevenLabsRealtimeAgent*>(&agent)) return el->stats();
  return {};
}

std::unique_ptr<RealtimeAgent> make_elevenlabs_realtime(net::WebSocketConnector& connector,
                                                        net::HttpClient& http,
                                                        ElevenLabsRealtimeSettings settings) {
  return std::make_unique<ElevenLabsRealtimeAgent>(connector, http, std::move(settings));
}

}  // namespace ivr::providers::realtime
