#include "fakes/fake_openai_realtime.hpp"

#include <cmath>
#include <deque>
#include <mutex>
#include <numbers>
#include <stdexcept>
#include <thread>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/url/parse.hpp>
#include <nlohmann/json.hpp>

#include "ivr/core/secret_box.hpp"  // base64

namespace ivr::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using json = nlohmann::json;

namespace {

constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

enum class Enc { pcm16, ulaw, alaw };

int bytes_per_ms(Enc e) {
  return e == Enc::pcm16 ? 48 : 8;
}

std::string error_event(std::string_view code, std::string_view message) {
  return json{{"type", "error"},
              {"event_id", "evt_err"},
              {"error",
               {{"type", "invalid_request_error"}, {"code", code}, {"message", message}, {"param", nullptr}}}}
      .dump();
}

}  // namespace

// One accepted WebSocket connection: the send queue and the emulated session.
struct Conn {
  explicit Conn(asio::any_io_executor ex) : wake(ex) {}
  std::deque<std::string> out;
  asio::steady_timer wake;
  bool open = true;
  bool writer_running = false;
  std::function<void()> close_socket;

  bool session_configured = false;
  Enc in = Enc::pcm16;
  Enc out_enc = Enc::pcm16;
  int loud_ms = 0;
  int quiet_ms = 0;
  bool in_speech = false;
  int user_items = 0;
  int responses = 0;
  bool responding = false;
  bool cancel_response = false;
  bool tool_call_done = false;  // the scripted tool call was made
  bool awaiting_tool_output = false;
  bool tool_output_received = false;
  std::uint32_t tone_phase = 0;
};

struct FakeOpenAiRealtime::Impl {
  explicit Impl(FakeRealtimeScript s) : script(std::move(s)) {}

  FakeRealtimeScript script;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::optional<ssl::context> tls;
  std::thread thread;
  std::shared_ptr<Conn> current;  // io thread only

  mutable std::mutex mutex;  // guards the records below
  std::vector<RecordedRequest> handshakes;
  std::vector<std::string> client_events;
  std::vector<std::string> server_types;
  std::string audio_in;
  std::string audio_out;
  std::vector<std::int64_t> truncations;
  std::size_t accepted = 0;
  int close_code = -1;

  bool beta() const { return script.beta; }
  std::string_view name_audio_delta() const {
    return beta() ? "response.audio.delta" : "response.output_audio.delta";
  }
  std::string_view name_audio_done() const {
    return beta() ? "response.audio.done" : "response.output_audio.done";
  }
  std::string_view name_transcript_delta() const {
    return beta() ? "response.audio_transcript.delta" : "response.output_audio_transcript.delta";
  }
  std::string_view name_transcript_done() const {
    return beta() ? "response.audio_transcript.done" : "response.output_audio_transcript.done";
  }

  void send(Conn& c, std::string text) {
    if (!c.open) return;
    {
      std::lock_guard lock(mutex);
      const json parsed = json::parse(text, nullptr, false);
      server_types.push_back(parsed.is_object() && parsed.contains("type") && parsed["type"].is_string()
                                 ? parsed["type"].get<std::string>()
                                 : std::string("(raw)"));
    }
    c.out.push_back(std::move(text));
    c.wake.cancel();
  }
  void send(Conn& c, const json& event) { send(c, event.dump()); }

  // ---- handshake ----

  // Empty when the upgrade is acceptable, else the HTTP status and body to refuse it with.
  std::optional<std::pair<int, std::string>> check_upgrade(const RecordedRequest& req) const {
    if (script.reject_status != 0) {
      return std::make_pair(script.reject_status, R"({"error":{"message":"refused by script","type":"x"}})");
    }
    const bool auth_ok = script.azure ? req.header("api-key") == script.api_key
                                      : req.header("authorization") == "Bearer " + script.api_key;
    if (!auth_ok) {
      return std::make_pair(
          401, R"({"error":{"message":"Incorrect API key provided.","type":"invalid_request_error",)"
               R"("code":"invalid_api_key","param":null}})");
    }
    if (req.path != script.path) return std::make_pair(404, R"({"error":{"message":"not found"}})");
    auto parsed = boost::urls::parse_origin_form(req.target);
    if (!parsed) return std::make_pair(400, R"({"error":{"message":"bad target"}})");
    std::string model, deployment, api_version;
    for (const auto& p : parsed->params()) {
      if (p.key == "model") model = p.value;
      if (p.key == "deployment") deployment = p.value;
      if (p.key == "api-version") api_version = p.value;
    }
    // Azure: the preview form (?api-version=…&deployment=…) or the GA form (/openai/v1/realtime?model=…).
    const bool azure_ok = (deployment == script.model && !api_version.empty()) ||
                          (deployment.empty() && api_version.empty() && model == script.model);
    if (script.azure ? !azure_ok : model != script.model) {
      return std::make_pair(400, R"({"error":{"message":"unknown model or deployment"}})");
    }
    if (script.beta && req.header("openai-beta") != "realtime=v1") {
      return std::make_pair(400, R"({"error":{"message":"missing OpenAI-Beta: realtime=v1"}})");
    }
    if (!script.beta && !req.header("openai-beta").empty()) {
      return std::make_pair(400, R"({"error":{"message":"beta header on the GA endpoint"}})");
    }
    return std::nullopt;
  }

  json session_object() const {
    if (beta()) {
      return {{"id", "sess_fake"},
              {"object", "realtime.session"},
              {"model", script.model},
              {"modalities", {"text", "audio"}},
              {"input_audio_format", "pcm16"},
              {"output_audio_format", "pcm16"}};
    }
    return {{"type", "realtime"},
            {"object", "realtime.session"},
            {"id", "sess_fake"},
            {"model", script.model},
            {"output_modalities", {"audio"}},
            {"audio",
             {{"input", {{"format", {{"type", "audio/pcm"}, {"rate", 24000}}}}},
              {"output", {{"format", {{"type", "audio/pcm"}, {"rate", 24000}}}, {"voice", "alloy"}}}}}};
  }

  // ---- session.update validation ----

  static std::optional<Enc> ga_enc(const json& f) {
    if (!f.is_object() || !f.contains("type") || !f["type"].is_string()) return std::nullopt;
    const auto t = f["type"].get<std::string>();
    if (t == "audio/pcm") {
      if (f.contains("rate") && f["rate"] != 24000) return std::nullopt;
      return Enc::pcm16;
    }
    if (t == "audio/pcmu") return Enc::ulaw;
    if (t == "audio/pcma") return Enc::alaw;
    return std::nullopt;
  }
  static std::optional<Enc> beta_enc(const json& f) {
    if (!f.is_string()) return std::nullopt;
    const auto t = f.get<std::string>();
    if (t == "pcm16") return Enc::pcm16;
    if (t == "g711_ulaw") return Enc::ulaw;
    if (t == "g711_alaw") return Enc::alaw;
    return std::nullopt;
  }
  static std::string check_turn_detection(const json& td) {
    if (td.is_null()) return {};
    if (!td.is_object() || !td.contains("type")) return "turn_detection must be an object with a type";
    if (td["type"] != "server_vad" && td["type"] != "semantic_vad") return "unknown turn_detection.type";
    for (const char* flag : {"create_response", "interrupt_response"}) {
      if (td.contains(flag) && !td[flag].is_boolean())
        return std::string("turn_detection.") + flag + " not bool";
    }
    return {};
  }
  static std::string check_tools(const json& s) {
    if (!s.contains("tools")) return {};
    if (!s["tools"].is_array()) return "tools must be an array";
    for (const auto& t : s["tools"]) {
      if (!t.is_object() || t.value("type", "") != "function") return "tools[].type must be function";
      if (!t.contains("name") || !t["name"].is_string() || t["name"].get<std::string>().empty()) {
        return "tools[].name missing";
      }
      if (t.contains("description") && !t["description"].is_string()) return "tools[].description not string";
      if (!t.contains("parameters") || !t["parameters"].is_object())
        return "tools[].parameters must be an object";
    }
    if (s.contains("tool_choice") && !s["tool_choice"].is_string()) return "tool_choice must be a string";
    return {};
  }

  // An error message, or empty when valid (and the session formats are applied to `c`).
  std::string validate_session(Conn& c, const json& event) {
    if (!event.contains("session") || !event["session"].is_object()) return "session missing";
    const json& s = event["session"];
    if (auto e = check_tools(s); !e.empty()) return e;
    if (!beta()) {
      if (s.value("type", "") != "realtime") return "session.type must be 'realtime'";
      for (const char* flat : {"input_audio_format", "output_audio_format", "modalities", "voice",
                               "input_audio_transcription", "turn_detection"}) {
        if (s.contains(flat)) return std::string("Unknown parameter: 'session.") + flat + "'";
      }
      Enc in = Enc::pcm16, out = Enc::pcm16;
      if (s.contains("audio")) {
        const json& a = s["audio"];
        if (a.contains("input")) {
          const json& i = a["input"];
          if (i.contains("format")) {
            auto e = ga_enc(i["format"]);
            if (!e) return "invalid audio.input.format";
            in = *e;
          }
          if (i.contains("turn_detection")) {
            if (auto e = check_turn_detection(i["turn_detection"]); !e.empty()) return e;
          }
          if (i.contains("transcription") && !i["transcription"].is_null() &&
              !(i["transcription"].is_object() && i["transcription"].contains("model"))) {
            return "audio.input.transcription.model missing";
          }
        }
        if (a.contains("output") && a["output"].contains("format")) {
          auto e = ga_enc(a["output"]["format"]);
          if (!e) return "invalid audio.output.format";
          out = *e;
        }
      }
      if (s.contains("output_modalities") && !s["output_modalities"].is_array()) return "output_modalities";
      c.in = in;
      c.out_enc = out;
    } else {
      if (s.contains("audio")) return "Unknown parameter: 'session.audio'";
      if (s.contains("type") && s["type"] == "realtime") return "Unknown parameter: 'session.type'";
      Enc in = Enc::pcm16, out = Enc::pcm16;
      if (s.contains("input_audio_format")) {
        auto e = beta_enc(s["input_audio_format"]);
        if (!e) return "invalid input_audio_format";
        in = *e;
      }
      if (s.contains("output_audio_format")) {
        auto e = beta_enc(s["output_audio_format"]);
        if (!e) return "invalid output_audio_format";
        out = *e;
      }
      if (s.contains("turn_detection")) {
        if (auto e = check_turn_detection(s["turn_detection"]); !e.empty()) return e;
      }
      if (s.contains("modalities")) {
        const json& m = s["modalities"];
        if (!m.is_array() || std::find(m.begin(), m.end(), "text") == m.end()) {
          return "modalities must include text";
        }
      }
      c.in = in;
      c.out_enc = out;
    }
    return {};
  }

  // ---- VAD emulation ----

  bool loud(const Conn& c, std::string_view chunk) const {
    if (c.in == Enc::pcm16) {
      for (std::size_t i = 0; i + 1 < chunk.size(); i += 2) {
        const auto lo = static_cast<unsigned char>(chunk[i]);
        const auto hi = static_cast<unsigned char>(chunk[i + 1]);
        const auto v = static_cast<std::int16_t>(static_cast<std::uint16_t>(lo | (hi << 8)));
        if (std::abs(static_cast<int>(v)) > script.loud_threshold) return true;
      }
      return false;
    }
    for (char ch : chunk) {
      const auto b = static_cast<unsigned char>(ch);
      // µ-law: small codes are loud (0xFF/0x7F silence); A-law: high segment after the 0x55 mask.
      if (c.in == Enc::ulaw ? (b & 0x7F) < 0x60 : ((b ^ 0x55) & 0x70) >= 0x30) return true;
    }
    return false;
  }

  void on_audio(const std::shared_ptr<Conn>& c, const std::string& audio) {
    const int ms = static_cast<int>(audio.size()) / bytes_per_ms(c->in);
    if (loud(*c, audio)) {
      c->loud_ms += ms;
      c->quiet_ms = 0;
      if (!c->in_speech && c->loud_ms >= script.speech_start_ms) {
        c->in_speech = true;
        ++c->user_items;
        send(*c, json{{"type", "input_audio_buffer.speech_started"},
                      {"event_id", "evt_ss"},
                      {"audio_start_ms", 1000},
                      {"item_id", "item_user_" + std::to_string(c->user_items)}});
        if (c->responding) c->cancel_response = true;  // interrupt_response
      }
      return;
    }
    if (!c->in_speech) {
      c->loud_ms = 0;
      return;
    }
    c->quiet_ms += ms;
    if (c->quiet_ms < script.silence_end_ms) return;
    c->in_speech = false;
    c->loud_ms = 0;
    c->quiet_ms = 0;
    const std::string item = "item_user_" + std::to_string(c->user_items);
    send(*c, json{{"type", "input_audio_buffer.speech_stopped"},
                  {"event_id", "evt_sp"},
                  {"audio_end_ms", 2000},
                  {"item_id", item}});
    send(*c, json{{"type", "input_audio_buffer.committed"},
                  {"event_id", "evt_cm"},
                  {"previous_item_id", nullptr},
                  {"item_id", item}});
    send(*c, json{{"type", "conversation.item.input_audio_transcription.completed"},
                  {"event_id", "evt_tr"},
                  {"item_id", item},
                  {"content_index", 0},
                  {"transcript", script.user_transcript}});
    begin_response(c);
  }

  // ---- responses ----

  void begin_response(const std::shared_ptr<Conn>& c) {
    if (c->responding) return;
    c->responding = true;
    c->cancel_response = false;
    asio::co_spawn(io, respond(this, c), asio::detached);
  }

  std::string tone(Conn& c, int ms) {
    std::string bytes;
    if (c.out_enc == Enc::pcm16) {
      const int n = ms * 24;
      bytes.resize(static_cast<std::size_t>(n) * 2);
      for (int i = 0; i < n; ++i) {
        const double t = static_cast<double>(c.tone_phase++) / 24000.0;
        const auto v = static_cast<std::int16_t>(8000 * std::sin(2 * std::numbers::pi * 440 * t));
        bytes[2 * i] = static_cast<char>(v & 0xFF);
        bytes[2 * i + 1] = static_cast<char>((v >> 8) & 0xFF);
      }
    } else {
      bytes.resize(static_cast<std::size_t>(ms) * 8);
      for (auto& b : bytes) b = static_cast<char>(0x10 + (c.tone_phase++ % 0x40));
    }
    return bytes;
  }

  static asio::awaitable<void> pause(std::chrono::milliseconds d) {
    if (d.count() <= 0) co_return;
    asio::steady_timer t(co_await asio::this_coro::executor);
    t.expires_after(d);
    co_await t.async_wait(kAsTuple);
  }

  static asio::awaitable<void> respond(Impl* self, std::shared_ptr<Conn> c) {
    const int n = ++c->responses;
    const std::string response_id = "resp_" + std::to_string(n);
    const std::string item_id = "item_resp_" + std::to_string(n);
    self->send(*c, json{{"type", "response.created"},
                        {"event_id", "evt_rc"},
                        {"response",
                         {{"id", response_id},
                          {"object", "realtime.response"},
                          {"status", "in_progress"},
                          {"output", json::array()}}}});
    if (self->script.tool_call && !c->tool_call_done) {
      const auto& tool = *self->script.tool_call;
      c->tool_call_done = true;
      c->awaiting_tool_output = true;
      self->send(*c, json{{"type", "response.output_item.added"},
                          {"response_id", response_id},
                          {"output_index", 0},
                          {"item",
                           {{"id", item_id},
                            {"type", "function_call"},
                            {"name", tool.name},
                            {"call_id", tool.call_id},
                            {"arguments", ""}}}});
      self->send(*c, json{{"type", "response.function_call_arguments.delta"},
                          {"response_id", response_id},
                          {"item_id", item_id},
                          {"output_index", 0},
                          {"call_id", tool.call_id},
                          {"delta", tool.arguments}});
      self->send(*c, json{{"type", "response.function_call_arguments.done"},
                          {"response_id", response_id},
                          {"item_id", item_id},
                          {"output_index", 0},
                          {"call_id", tool.call_id},
                          {"name", tool.name},
                          {"arguments", tool.arguments}});
      self->send(
          *c, json{{"type", "response.done"},
                   {"response", {{"id", response_id}, {"status", "completed"}, {"output", json::array()}}}});
      c->responding = false;
      co_return;
    }
    self->send(
        *c,
        json{{"type", "response.output_item.added"},
             {"response_id", response_id},
             {"output_index", 0},
             {"item",
              {{"id", item_id}, {"type", "message"}, {"role", "assistant"}, {"content", json::array()}}}});
    if (self->script.garbage_in_response) {
      const std::string delta = std::string(self->name_audio_delta());
      for (std::string g :
           {std::string("this is not json"), std::string("[1,2,3]"), std::string(R"({"no_type":1})"),
            std::string(R"({"type":42})"), R"({"type":")" + delta + R"(","item_id":"x"})",
            R"({"type":")" + delta + R"(","item_id":"x","delta":"@@@"})",
            R"({"type":")" + delta + R"(","delta":"AAAA"})",
            std::string(R"({"type":"input_audio_buffer.speech_stopped")"),  // truncated JSON
            std::string(R"({"type":"error","error":"not an object"})"),
            std::string(R"({"type":"rate_limits.updated","rate_limits":[]})"),
            std::string(R"({"type":"response.function_call_arguments.done","call_id":"c"})")}) {
        self->send(*c, std::move(g));
      }
    }
    int sent = 0;
    bool cancelled = false;
    for (int i = 0; i < self->script.delta_count; ++i) {
      co_await pause(self->script.delta_gap);
      if (!c->open) co_return;
      if (c->cancel_response) {
        cancelled = true;
        break;
      }
      const std::string audio = self->tone(*c, self->script.delta_ms);
      {
        std::lock_guard lock(self->mutex);
        self->audio_out += audio;
      }
      self->send(*c, json{{"type", self->name_audio_delta()},
                          {"event_id", "evt_d"},
                          {"response_id", response_id},
                          {"item_id", item_id},
                          {"output_index", 0},
                          {"content_index", 0},
                          {"delta", base64_encode(audio)}});
      ++sent;
      if (self->script.drop_after_deltas >= 0 && sent >= self->script.drop_after_deltas) {
        co_await pause(std::chrono::milliseconds(20));  // let the writer flush what was sent
        if (c->close_socket) c->close_socket();
        co_return;
      }
    }
    if (!cancelled) {
      self->send(*c, json{{"type", self->name_transcript_delta()},
                          {"response_id", response_id},
                          {"item_id", item_id},
                          {"output_index", 0},
                          {"content_index", 0},
                          {"delta", self->script.agent_transcript}});
      self->send(*c, json{{"type", self->name_transcript_done()},
                          {"response_id", response_id},
                          {"item_id", item_id},
                          {"output_index", 0},
                          {"content_index", 0},
                          {"transcript", self->script.agent_transcript}});
      self->send(*c, json{{"type", self->name_audio_done()},
                          {"response_id", response_id},
                          {"item_id", item_id},
                          {"output_index", 0},
                          {"content_index", 0}});
      self->send(*c, json{{"type", "response.output_item.done"},
                          {"response_id", response_id},
                          {"output_index", 0},
                          {"item", {{"id", item_id}, {"type", "message"}, {"status", "completed"}}}});
    }
    self->send(*c, json{{"type", "response.done"},
                        {"response",
                         {{"id", response_id},
                          {"status", cancelled ? "cancelled" : "completed"},
                          {"output", json::array()},
                          {"usage", {{"total_tokens", 42}}}}}});
    self->send(*c, std::string(R"({"type":"rate_limits.updated","rate_limits":[]})"));
    c->responding = false;
    c->cancel_response = false;
  }

  // ---- client events ----

  void on_client_event(const std::shared_ptr<Conn>& c, const std::string& text) {
    {
      std::lock_guard lock(mutex);
      client_events.push_back(text);
    }
    const json event = json::parse(text, nullptr, false);
    if (!event.is_object() || !event.contains("type") || !event["type"].is_string()) {
      send(*c, error_event("invalid_json", "The event is not valid JSON with a type."));
      return;
    }
    const std::string type = event["type"];
    if (type == "session.update") {
      if (script.ignore_session_update) return;
      const std::string problem = validate_session(*c, event);
      if (!problem.empty()) {
        send(*c, error_event("invalid_value", problem));
        return;
      }
      c->session_configured = true;
      json session = event["session"];
      session["id"] = "sess_fake";
      session["object"] = "realtime.session";
      send(*c, json{{"type", "session.updated"}, {"event_id", "evt_su"}, {"session", session}});
    } else if (type == "input_audio_buffer.append") {
      if (!event.contains("audio") || !event["audio"].is_string()) {
        send(*c, error_event("missing_required_parameter", "audio"));
        return;
      }
      auto audio = base64_decode(event["audio"].get<std::string>());
      if (!audio) {
        send(*c, error_event("invalid_value", "audio is not base64"));
        return;
      }
      {
        std::lock_guard lock(mutex);
        audio_in += *audio;
      }
      on_audio(c, *audio);
    } else if (type == "conversation.item.create") {
      const json item = event.value("item", json::object());
      if (item.value("type", "") == "function_call_output") {
        if (!item.contains("call_id") || !item.contains("output") || !item["output"].is_string()) {
          send(*c, error_event("invalid_value", "function_call_output needs call_id and output"));
          return;
        }
        if (c->awaiting_tool_output && script.tool_call && item["call_id"] == script.tool_call->call_id) {
          c->tool_output_received = true;
        }
      }
      send(*c, json{{"type", "conversation.item.created"}, {"item", item}});
    } else if (type == "response.create") {
      if (c->awaiting_tool_output && !c->tool_output_received) {
        send(*c, error_event("invalid_value", "response.create before the function_call_output"));
        return;
      }
      c->awaiting_tool_output = false;
      begin_response(c);
    } else if (type == "conversation.item.truncate") {
      if (!event.contains("item_id") || !event.contains("audio_end_ms") ||
          !event["audio_end_ms"].is_number_integer() || event.value("content_index", -1) != 0) {
        send(*c, error_event("invalid_value", "truncate needs item_id, content_index 0, audio_end_ms"));
        return;
      }
      {
        std::lock_guard lock(mutex);
        truncations.push_back(event["audio_end_ms"].get<std::int64_t>());
      }
      send(*c, json{{"type", "conversation.item.truncated"},
                    {"item_id", event["item_id"]},
                    {"content_index", 0},
                    {"audio_end_ms", event["audio_end_ms"]}});
    } else if (type == "response.cancel") {
      if (c->responding) c->cancel_response = true;
    } else if (type == "input_audio_buffer.commit") {
      send(*c, json{{"type", "input_audio_buffer.committed"}, {"item_id", "item_commit"}});
    } else if (type == "input_audio_buffer.clear") {
      send(*c, json{{"type", "input_audio_buffer.cleared"}});
    } else {
      send(*c, error_event("invalid_value", "Unknown event type: " + type));
    }
  }

  // ---- connection ----

  template <class Ws>
  static asio::awaitable<void> writer(Ws& ws, std::shared_ptr<Conn> c) {
    while (c->open) {
      while (c->open && !c->out.empty()) {
        std::string text = std::move(c->out.front());
        c->out.pop_front();
        ws.text(true);
        auto [ec, n] = co_await ws.async_write(asio::buffer(text), kAsTuple);
        if (ec) {
          c->open = false;
          break;
        }
      }
      if (!c->open) break;
      c->wake.expires_at(asio::steady_timer::time_point::max());
      co_await c->wake.async_wait(kAsTuple);
    }
    c->writer_running = false;
  }

  template <class Ws>
  static asio::awaitable<void> serve(Impl* self, Ws& ws) {
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    auto [rec, rn] = co_await http::async_read(ws.next_layer(), buffer, req, kAsTuple);
    if (rec) co_return;
    RecordedRequest recorded;
    recorded.method = std::string(req.method_string());
    recorded.target = std::string(req.target());
    recorded.path = recorded.target.substr(0, recorded.target.find('?'));
    for (const auto& field : req) {
      std::string name(field.name_string());
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      recorded.headers[name] = std::string(field.value());
    }
    {
      std::lock_guard lock(self->mutex);
      self->handshakes.push_back(recorded);
    }
    if (auto refusal = self->check_upgrade(recorded)) {
      http::response<http::string_body> res{static_cast<http::status>(refusal->first), 11};
      res.set(http::field::content_type, "application/json");
      res.body() = refusal->second;
      res.keep_alive(false);
      res.prepare_payload();
      co_await http::async_write(ws.next_layer(), res, kAsTuple);
      co_return;
    }
    auto [aec] = co_await ws.async_accept(req, kAsTuple);
    if (aec) co_return;
    {
      std::lock_guard lock(self->mutex);
      ++self->accepted;
    }
    auto c = std::make_shared<Conn>(ws.get_executor());
    c->close_socket = [&ws, c_raw = c.get()] {
      c_raw->open = false;
      beast::error_code ignored;
      beast::get_lowest_layer(ws).socket().shutdown(tcp::socket::shutdown_both, ignored);
      beast::get_lowest_layer(ws).socket().close(ignored);
      c_raw->wake.cancel();
    };
    self->current = c;
    c->writer_running = true;
    asio::co_spawn(ws.get_executor(), writer(ws, c), asio::detached);
    self->send(
        *c, json{{"type", "session.created"}, {"event_id", "evt_sc"}, {"session", self->session_object()}});

    beast::flat_buffer in;
    for (;;) {
      in.clear();
      auto [ec, n] = co_await ws.async_read(in, kAsTuple);
      if (ec == websocket::error::closed) {
        std::lock_guard lock(self->mutex);
        self->close_code = static_cast<int>(ws.reason().code);
      }
      if (ec) break;
      self->on_client_event(c, beast::buffers_to_string(in.data()));
    }
    if (c->close_socket) c->close_socket();
    c->close_socket = nullptr;
    // The writer refers to `ws`: wait until it has finished before the stream goes away.
    asio::steady_timer t(ws.get_executor());
    while (c->writer_running) {
      t.expires_after(std::chrono::milliseconds(2));
      co_await t.async_wait(kAsTuple);
    }
    if (self->current == c) self->current.reset();
  }

  static asio::awaitable<void> session(Impl* self, tcp::socket socket) {
    if (self->script.hang_handshake) {
      asio::steady_timer t(socket.get_executor());
      t.expires_after(std::chrono::hours(1));
      co_await t.async_wait(kAsTuple);
      co_return;
    }
    if (self->tls) {
      websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws(std::move(socket), *self->tls);
      auto [hec] = co_await ws.next_layer().async_handshake(ssl::stream_base::server, kAsTuple);
      if (hec) co_return;
      co_await serve(self, ws);
    } else {
      websocket::stream<beast::tcp_stream> ws(std::move(socket));
      co_await serve(self, ws);
    }
  }

  static asio::awaitable<void> accept_loop(Impl* self) {
    for (;;) {
      auto [ec, socket] = co_await self->acceptor.async_accept(kAsTuple);
      if (ec) co_return;
      asio::co_spawn(self->io, session(self, std::move(socket)), asio::detached);
    }
  }
};

FakeOpenAiRealtime::FakeOpenAiRealtime(FakeRealtimeScript script)
    : impl_(std::make_unique<Impl>(std::move(script))) {
  if (!impl_->script.cert_pem.empty() && !impl_->script.key_pem.empty()) {
    impl_->tls.emplace(ssl::context::tls_server);
    impl_->tls->use_certificate_chain(asio::buffer(impl_->script.cert_pem));
    impl_->tls->use_private_key(asio::buffer(impl_->script.key_pem), ssl::context::pem);
  }
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen();
  asio::co_spawn(impl_->io, Impl::accept_loop(impl_.get()), asio::detached);
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

FakeOpenAiRealtime::~FakeOpenAiRealtime() {
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  // Suspended coroutine frames (and posted handlers) are destroyed with the io_context, inside ~Impl.
}

std::uint16_t FakeOpenAiRealtime::port() const {
  return impl_->acceptor.local_endpoint().port();
}

std::string FakeOpenAiRealtime::url() const {
  return std::string(impl_->tls ? "wss" : "ws") + "://127.0.0.1:" + std::to_string(port()) +
         impl_->script.path;
}

std::vector<RecordedRequest> FakeOpenAiRealtime::handshakes() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->handshakes;
}

std::vector<std::string> FakeOpenAiRealtime::client_events() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->client_events;
}

std::vector<std::string> FakeOpenAiRealtime::client_events_of(std::string_view type) const {
  std::vector<std::string> out;
  for (auto& e : client_events()) {
    const json parsed = json::parse(e, nullptr, false);
    if (parsed.is_object() && parsed.value("type", "") == type) out.push_back(e);
  }
  return out;
}

std::size_t FakeOpenAiRealtime::client_event_count(std::string_view type) const {
  return client_events_of(type).size();
}

std::vector<std::string> FakeOpenAiRealtime::server_event_types() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->server_types;
}

std::string FakeOpenAiRealtime::audio_received() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->audio_in;
}

std::string FakeOpenAiRealtime::audio_sent() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->audio_out;
}

std::vector<std::int64_t> FakeOpenAiRealtime::truncations() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->truncations;
}

std::size_t FakeOpenAiRealtime::connections() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->accepted;
}

int FakeOpenAiRealtime::client_close_code() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->close_code;
}

void FakeOpenAiRealtime::send_raw(std::string text) {
  auto* impl = impl_.get();
  asio::post(impl->io, [impl, text = std::move(text)]() mutable {
    if (impl->current) impl->send(*impl->current, std::move(text));
  });
}

void FakeOpenAiRealtime::drop() {
  auto* impl = impl_.get();
  asio::post(impl->io, [impl] {
    if (impl->current && impl->current->close_socket) impl->current->close_socket();
  });
}

void FakeOpenAiRealtime::start_response() {
  auto* impl = impl_.get();
  asio::post(impl->io, [impl] {
    if (impl->current) impl->begin_response(impl->current);
  });
}

// ---------------------------------------------------------------------------------------------------------

SelfSignedCert make_self_signed_cert(const std::string& ip) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (!key) throw std::runtime_error("EVP_EC_gen failed");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("fake-openai"),
                             -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  const std::string san = "IP:" + ip;
  for (auto [nid, value] : {std::pair<int, std::string>{NID_subject_alt_name, san},
                            std::pair<int, std::string>{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (ext) {
      X509_add_ext(cert, ext, -1);
      X509_EXTENSION_free(ext);
    }
  }
  X509_sign(cert, key, EVP_sha256());
  const auto to_pem = [](auto write) {
    BIO* bio = BIO_new(BIO_s_mem());
    write(bio);
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(len));
    BIO_free(bio);
    return out;
  };
  SelfSignedCert out;
  out.cert_pem = to_pem([cert](BIO* b) { PEM_write_bio_X509(b, cert); });
  out.key_pem =
      to_pem([key](BIO* b) { PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr); });
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

}  // namespace ivr::test
