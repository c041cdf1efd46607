#include "fakes/fake_elevenlabs.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <numbers>
#include <set>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/url/parse.hpp>
#include <nlohmann/json.hpp>

#include "ivr/core/secret_box.hpp"  // base64

namespace ivr::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using json = nlohmann::json;

namespace {

constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view kConversationPath = "/v1/convai/conversation";
constexpr std::string_view kSignedUrlPath = "/v1/convai/conversation/get-signed-url";

struct Format {
  bool ulaw = false;
  bool alaw = false;
  int rate = 16000;
  int bytes_per_ms() const { return ulaw || alaw ? 8 : rate / 500; }
};

Format format_of(const std::string& text) {
  Format f;
  if (text.starts_with("ulaw_")) f.ulaw = true;
  if (text.starts_with("alaw_")) f.alaw = true;
  const auto underscore = text.find('_');
  if (underscore != std::string::npos) f.rate = std::atoi(text.c_str() + underscore + 1);
  if (f.rate <= 0) f.rate = 16000;
  return f;
}

std::map<std::string, std::string> query_of(const std::string& target) {
  std::map<std::string, std::string> out;
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return out;
  for (const auto& p : parsed->params()) out[std::string(p.key)] = std::string(p.value);
  return out;
}

}  // namespace

struct ElConn {
  explicit ElConn(asio::any_io_executor ex) : wake(ex) {}
  std::deque<std::string> out;
  asio::steady_timer wake;
  bool open = true;
  bool writer_running = false;
  std::function<void()> close_socket;
  std::function<void(std::uint16_t, std::string)> close_with;

  bool initiated = false;
  bool metadata_sent = false;
  std::string first_message;
  std::int64_t next_event_id = 1;
  std::set<std::int64_t> outstanding_pings;

  int loud_ms = 0;
  int quiet_ms = 0;
  bool in_speech = false;
  int audio_chunks_in = 0;
  int agent_turns = 0;
  bool responding = false;
  bool interrupted = false;
  bool tool_call_done = false;
  bool awaiting_tool_result = false;
  std::uint32_t tone_phase = 0;
};

struct FakeElevenLabs::Impl {
  explicit Impl(FakeElevenLabsScript s) : script(std::move(s)) {}

  FakeElevenLabsScript script;
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::thread thread;
  std::shared_ptr<ElConn> current;  // io thread only
  std::set<std::string> tokens;     // issued conversation signatures (io thread)
  int issued = 0;

  mutable std::mutex mutex;  // guards the records below
  std::vector<RecordedRequest> http_requests;
  std::vector<RecordedRequest> handshakes;
  std::vector<std::string> client_messages;
  std::vector<std::string> server_types;
  std::string audio_in;
  std::string audio_out;
  std::vector<std::string> violations;
  std::size_t pings = 0;
  std::size_t pongs = 0;
  std::size_t accepted = 0;
  int close_code = -1;

  void violation(std::string what) {
    std::lock_guard lock(mutex);
    violations.push_back(std::move(what));
  }

  void send(ElConn& c, std::string text) {
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
  void send(ElConn& c, const json& event) { send(c, event.dump()); }

  // ---- HTTP: the signed URL ----

  std::pair<int, std::string> signed_url(const RecordedRequest& req) {
    if (req.method != "GET") return {405, R"({"detail":"Method Not Allowed"})"};
    if (req.header("xi-api-key") != script.api_key) {
      return {401, R"({"detail":{"status":"invalid_api_key","message":"Invalid API key"}})"};
    }
    const auto q = query_of(req.target);
    auto it = q.find("agent_id");
    if (it == q.end() || it->second != script.agent_id) {
      return {404, R"({"detail":{"status":"agent_not_found","message":"Agent not found"}})"};
    }
    const std::string token = "sig_" + std::to_string(++issued) + "_fake";
    tokens.insert(token);
    const std::string url = "ws://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) +
                            std::string(kConversationPath) + "?agent_id=" + script.agent_id +
                            "&conversation_signature=" + token;
    return {200, json{{"signed_url", url}}.dump()};
  }

  // Empty when the upgrade is acceptable.
  std::optional<std::pair<int, std::string>> check_upgrade(const RecordedRequest& req) const {
    if (req.path != kConversationPath) return std::make_pair(404, R"({"detail":"Not Found"})");
    const auto q = query_of(req.target);
    auto agent = q.find("agent_id");
    if (agent == q.end() || agent->second != script.agent_id) {
      return std::make_pair(404, R"({"detail":{"status":"agent_not_found","message":"Agent not found"}})");
    }
    auto sig = q.find("conversation_signature");
    if (script.private_agent && (sig == q.end() || !tokens.contains(sig->second))) {
      return std::make_pair(403,
                            R"({"detail":{"status":"auth_required","message":"Authentication required"}})");
    }
    return std::nullopt;
  }

  // ---- initiation ----

  // An error message, or empty when the override is acceptable.
  static std::string check_initiation(const json& m) {
    for (const auto& [key, value] : m.items()) {
      if (key != "type" && key != "conversation_config_override" && key != "dynamic_variables" &&
          key != "custom_llm_extra_body" && key != "user_id")
        return "unknown field " + key;
    }
    if (m.contains("dynamic_variables")) {
      if (!m["dynamic_variables"].is_object()) return "dynamic_variables must be an object";
      for (const auto& [k, v] : m["dynamic_variables"].items()) {
        if (!v.is_string() && !v.is_number() && !v.is_boolean()) return "dynamic variable " + k + " bad type";
      }
    }
    if (!m.contains("conversation_config_override")) return {};
    const json& o = m["conversation_config_override"];
    if (!o.is_object()) return "conversation_config_override must be an object";
    for (const auto& [key, value] : o.items()) {
      if (key != "agent" && key != "tts" && key != "conversation")
        return "Override for field '" + key + "' is not allowed";
    }
    if (o.contains("agent")) {
      const json& a = o["agent"];
      if (!a.is_object()) return "agent must be an object";
      for (const auto& [key, value] : a.items()) {
        if (key != "prompt" && key != "first_message" && key != "language")
          return "Override for field 'agent." + key + "' is not allowed";
      }
      if (a.contains("prompt")) {
        if (!a["prompt"].is_object() || a["prompt"].size() != 1 || !a["prompt"].contains("prompt") ||
            !a["prompt"]["prompt"].is_string())
          return "agent.prompt must be {prompt: string}";
      }
      if (a.contains("first_message") && !a["first_message"].is_string()) return "first_message not a string";
      if (a.contains("language")) {
        if (!a["language"].is_string()) return "language not a string";
        const std::string lang = a["language"];
        if (lang.size() != 2 || !std::islower(static_cast<unsigned char>(lang[0])) ||
            !std::islower(static_cast<unsigned char>(lang[1])))
          return "language must be ISO-639-1";
      }
    }
    if (o.contains("tts")) {
      const json& t = o["tts"];
      if (!t.is_object()) return "tts must be an object";
      for (const auto& [key, value] : t.items()) {
        if (key != "voice_id") return "Override for field 'tts." + key + "' is not allowed";
      }
      if (t.contains("voice_id") && !t["voice_id"].is_string()) return "voice_id not a string";
    }
    return {};
  }

  static asio::awaitable<void> pause(std::chrono::milliseconds d) {
    if (d.count() <= 0) co_return;
    asio::steady_timer t(co_await asio::this_coro::executor);
    t.expires_after(d);
    co_await t.async_wait(kAsTuple);
  }

  static asio::awaitable<void> send_metadata(Impl* self, std::shared_ptr<ElConn> c) {
    co_await pause(self->script.metadata_delay);
    if (!c->open) co_return;
    self->send(*c, json{{"type", "conversation_initiation_metadata"},
                        {"conversation_initiation_metadata_event",
                         {{"conversation_id", "conv_fake_1"},
                          {"agent_output_audio_format", self->script.output_format},
                          {"user_input_audio_format", self->script.input_format}}}});
    c->metadata_sent = true;
    if (!c->first_message.empty()) self->begin_turn(c, c->first_message);
  }

  static asio::awaitable<void> ping_loop(Impl* self, std::shared_ptr<ElConn> c) {
    while (c->open) {
      co_await pause(self->script.ping_interval);
      if (!c->open) co_return;
      self->send_ping(*c, 42);
    }
  }

  void send_ping(ElConn& c, int ping_ms) {
    const std::int64_t id = c.next_event_id++;
    c.outstanding_pings.insert(id);
    {
      std::lock_guard lock(mutex);
      ++pings;
    }
    send(c, json{{"type", "ping"}, {"ping_event", {{"event_id", id}, {"ping_ms", ping_ms}}}});
  }

  // ---- audio in: VAD emulation ----

  bool loud(const Format& f, const std::string& chunk) const {
    if (!f.ulaw && !f.alaw) {
      for (std::size_t i = 0; i + 1 < chunk.size(); i += 2) {
        const auto v = static_cast<std::int16_t>(
            static_cast<std::uint16_t>(static_cast<unsigned char>(chunk[i])) |
            (static_cast<std::uint16_t>(static_cast<unsigned char>(chunk[i + 1])) << 8));
        if (std::abs(static_cast<int>(v)) > script.loud_threshold) return true;
      }
      return false;
    }
    for (char ch : chunk) {
      const auto b = static_cast<unsigned char>(ch);
      if (f.ulaw ? (b & 0x7F) < 0x60 : ((b ^ 0x55) & 0x70) >= 0x30) return true;
    }
    return false;
  }

  void on_audio(const std::shared_ptr<ElConn>& c, const std::string& audio) {
    const Format f = format_of(script.input_format);
    const int ms = static_cast<int>(audio.size()) / f.bytes_per_ms();
    ++c->audio_chunks_in;
    if (script.vad_score_every > 0 && c->audio_chunks_in % script.vad_score_every == 0) {
      send(*c, json{{"type", "vad_score"}, {"vad_score_event", {{"vad_score", c->in_speech ? 0.93 : 0.02}}}});
    }
    if (loud(f, audio)) {
      c->loud_ms += ms;
      c->quiet_ms = 0;
      if (!c->in_speech && c->loud_ms >= script.speech_start_ms) {
        c->in_speech = true;
        if (c->responding && !c->interrupted) {
          c->interrupted = true;
          send(*c,
               json{{"type", "interruption"}, {"interruption_event", {{"event_id", c->next_event_id - 1}}}});
        }
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
    send(*c, json{{"type", "user_transcript"},
                  {"user_transcription_event", {{"user_transcript", script.user_transcript}}}});
    if (!c->awaiting_tool_result) begin_turn(c, script.agent_response);
  }

  // ---- agent turns ----

  void begin_turn(const std::shared_ptr<ElConn>& c, std::string text) {
    if (c->responding) return;
    c->responding = true;
    c->interrupted = false;
    asio::co_spawn(io, respond(this, c, std::move(text)), asio::detached);
  }

  std::string tone(ElConn& c, int ms) {
    const Format f = format_of(script.output_format);
    std::string bytes;
    if (!f.ulaw && !f.alaw) {
      const int n = ms * f.rate / 1000;
      bytes.resize(static_cast<std::size_t>(n) * 2);
      for (int i = 0; i < n; ++i) {
        const double t = static_cast<double>(c.tone_phase++) / f.rate;
        const auto v = static_cast<std::int16_t>(8000 * std::sin(2 * std::numbers::pi * 440 * t));
        const auto u = static_cast<std::uint16_t>(v);
        bytes[2 * i] = static_cast<char>(u & 0xFF);
        bytes[2 * i + 1] = static_cast<char>(u >> 8);
      }
    } else {
      bytes.resize(static_cast<std::size_t>(ms) * 8);
      for (auto& b : bytes) b = static_cast<char>(0x10 + (c.tone_phase++ % 0x40));
    }
    return bytes;
  }

  static asio::awaitable<void> respond(Impl* self, std::shared_ptr<ElConn> c, std::string text) {
    ++c->agent_turns;
    if (self->script.tool_call && !c->tool_call_done && c->agent_turns > (c->first_message.empty() ? 0 : 1)) {
      const auto& tool = *self->script.tool_call;
      c->tool_call_done = true;
      c->awaiting_tool_result = true;
      self->send(*c, json{{"type", "client_tool_call"},
                          {"client_tool_call",
                           {{"tool_name", tool.tool_name},
                            {"tool_call_id", tool.tool_call_id},
                            {"parameters", json::parse(tool.parameters)}}}});
      c->responding = false;
      co_return;
    }
    const std::int64_t event_id = c->next_event_id++;
    self->send(*c, json{{"type", "agent_response"}, {"agent_response_event", {{"agent_response", text}}}});
    if (self->script.garbage_in_response) {
      for (
          std::string g :
          {std::string("this is not json"), std::string("[1,2,3]"), std::string(R"({"no_type":1})"),
           std::string(R"({"type":42})"), std::string(R"({"type":"audio"})"),
           std::string(R"({"type":"audio","audio_event":{"event_id":1}})"),
           std::string(R"({"type":"audio","audio_event":{"audio_base_64":"@@@","event_id":1}})"),
           std::string(R"({"type":"audio","audio_event":"AAAA"})"),
           std::string(R"({"type":"user_transcript","user_transcription_event":{}})"),
           std::string(R"({"type":"ping","ping_event":{}})"),
           std::string(R"({"type":"client_tool_call","client_tool_call":{"tool_name":"x"}})"),
           std::string(R"({"type":"agent_response")"),  // truncated JSON
           std::string(
               R"({"type":"internal_tentative_agent_response","tentative_agent_response_internal_event":{}})")}) {
        self->send(*c, std::move(g));
      }
    }
    int sent = 0;
    for (int i = 0; i < self->script.chunk_count; ++i) {
      co_await pause(self->script.chunk_gap);
      if (!c->open) co_return;
      if (c->interrupted) break;
      const std::string audio = self->tone(*c, self->script.chunk_ms);
      {
        std::lock_guard lock(self->mutex);
        self->audio_out += audio;
      }
      self->send(*c,
                 json{{"type", "audio"},
                      {"audio_event", {{"audio_base_64", base64_encode(audio)}, {"event_id", event_id}}}});
      ++sent;
      if (self->script.drop_after_chunks >= 0 && sent >= self->script.drop_after_chunks) {
        co_await pause(std::chrono::milliseconds(20));  // let the writer flush what was sent
        if (c->close_socket) c->close_socket();
        co_return;
      }
    }
    if (c->interrupted) {
      const std::string said = text.substr(0, text.size() / 2) + "...";
      self->send(*c, json{{"type", "agent_response_correction"},
                          {"agent_response_correction_event",
                           {{"original_agent_response", text}, {"corrected_agent_response", said}}}});
    }
    c->responding = false;
  }

  // ---- client messages ----

  void on_client_message(const std::shared_ptr<ElConn>& c, const std::string& text) {
    {
      std::lock_guard lock(mutex);
      client_messages.push_back(text);
    }
    const json m = json::parse(text, nullptr, false);
    if (!m.is_object()) {
      violation("not a JSON object: " + text.substr(0, 80));
      return;
    }
    if (!c->initiated) {
      if (m.value("type", "") != "conversation_initiation_client_data") {
        violation("first message is not conversation_initiation_client_data");
        if (c->close_with) c->close_with(1008, "Expected conversation_initiation_client_data");
        return;
      }
      if (auto problem = check_initiation(m); !problem.empty()) {
        violation(problem);
        if (c->close_with) c->close_with(1008, problem);
        return;
      }
      c->initiated = true;
      if (m.contains("conversation_config_override") && m["conversation_config_override"].contains("agent")) {
        c->first_message = m["conversation_config_override"]["agent"].value("first_message", "");
      }
      if (!script.never_send_metadata) asio::co_spawn(io, send_metadata(this, c), asio::detached);
      if (script.ping_interval.count() > 0) asio::co_spawn(io, ping_loop(this, c), asio::detached);
      return;
    }
    if (m.contains("user_audio_chunk")) {
      if (m.size() != 1) violation("user_audio_chunk with other fields: " + text.substr(0, 80));
      if (!c->metadata_sent) violation("audio before conversation_initiation_metadata");
      if (!m["user_audio_chunk"].is_string()) {
        violation("user_audio_chunk not a string");
        return;
      }
      auto audio = base64_decode(m["user_audio_chunk"].get<std::string>());
      if (!audio) {
        violation("user_audio_chunk not base64");
        return;
      }
      {
        std::lock_guard lock(mutex);
        audio_in += *audio;
      }
      on_audio(c, *audio);
      return;
    }
    const std::string type = m.value("type", "");
    if (type == "pong") {
      if (m.size() != 2 || !m.contains("event_id") || !m["event_id"].is_number_integer() ||
          !c->outstanding_pings.contains(m["event_id"].get<std::int64_t>())) {
        violation("bad pong: " + text);
        return;
      }
      c->outstanding_pings.erase(m["event_id"].get<std::int64_t>());
      std::lock_guard lock(mutex);
      ++pongs;
    } else if (type == "client_tool_result") {
      if (!m.contains("tool_call_id") || !m["tool_call_id"].is_string() || !m.contains("result") ||
          !m.contains("is_error") || !m["is_error"].is_boolean()) {
        violation("bad client_tool_result: " + text);
        return;
      }
      if (!c->awaiting_tool_result || !script.tool_call ||
          m["tool_call_id"] != script.tool_call->tool_call_id) {
        violation("unexpected client_tool_result: " + text);
        return;
      }
      c->awaiting_tool_result = false;
      begin_turn(c, script.agent_response);
    } else if (type == "contextual_update" || type == "user_message" || type == "user_activity") {
      if (type != "user_activity" && (!m.contains("text") || !m["text"].is_string()))
        violation(type + " without text");
    } else {
      violation("unknown client message: " + text.substr(0, 80));
    }
  }

  // ---- connection ----

  static asio::awaitable<void> writer(websocket::stream<beast::tcp_stream>& ws, std::shared_ptr<ElConn> c) {
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

  static RecordedRequest record(const http::request<http::string_body>& req) {
    RecordedRequest recorded;
    recorded.method = std::string(req.method_string());
    recorded.target = std::string(req.target());
    recorded.path = recorded.target.substr(0, recorded.target.find('?'));
    for (const auto& field : req) {
      std::string name(field.name_string());
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      recorded.headers[name] = std::string(field.value());
    }
    recorded.body = req.body();
    return recorded;
  }

  static asio::awaitable<void> reply(websocket::stream<beast::tcp_stream>& ws, int status, std::string body) {
    http::response<http::string_body> res{static_cast<http::status>(status), 11};
    res.set(http::field::content_type, "application/json");
    res.body() = std::move(body);
    res.keep_alive(false);
    res.prepare_payload();
    co_await http::async_write(ws.next_layer(), res, kAsTuple);
  }

  static asio::awaitable<void> session(Impl* self, tcp::socket socket) {
    websocket::stream<beast::tcp_stream> ws(std::move(socket));
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    auto [rec, rn] = co_await http::async_read(ws.next_layer(), buffer, req, kAsTuple);
    if (rec) co_return;
    const RecordedRequest recorded = record(req);
    if (!websocket::is_upgrade(req)) {
      {
        std::lock_guard lock(self->mutex);
        self->http_requests.push_back(recorded);
      }
      auto [status, body] = recorded.path == kSignedUrlPath
                                ? self->signed_url(recorded)
                                : std::pair<int, std::string>{404, R"({"detail":"Not Found"})"};
      co_await reply(ws, status, std::move(body));
      co_return;
    }
    {
      std::lock_guard lock(self->mutex);
      self->handshakes.push_back(recorded);
    }
    if (auto refusal = self->check_upgrade(recorded)) {
      co_await reply(ws, refusal->first, std::move(refusal->second));
      co_return;
    }
    auto [aec] = co_await ws.async_accept(req, kAsTuple);
    if (aec) co_return;
    {
      std::lock_guard lock(self->mutex);
      ++self->accepted;
    }
    auto c = std::make_shared<ElConn>(ws.get_executor());
    c->close_socket = [&ws, c_raw = c.get()] {
      c_raw->open = false;
      beast::error_code ignored;
      beast::get_lowest_layer(ws).socket().shutdown(tcp::socket::shutdown_both, ignored);
      beast::get_lowest_layer(ws).socket().close(ignored);
      c_raw->wake.cancel();
    };
    c->close_with = [&ws, c_raw = c.get()](std::uint16_t code, std::string reason) {
      c_raw->open = false;
      c_raw->wake.cancel();
      ws.async_close(websocket::close_reason(static_cast<websocket::close_code>(code), reason),
                     [](beast::error_code) {});
    };
    self->current = c;
    c->writer_running = true;
    asio::co_spawn(ws.get_executor(), writer(ws, c), asio::detached);

    beast::flat_buffer in;
    for (;;) {
      in.clear();
      auto [ec, n] = co_await ws.async_read(in, kAsTuple);
      if (ec == websocket::error::closed) {
        std::lock_guard lock(self->mutex);
        self->close_code = static_cast<int>(ws.reason().code);
      }
      if (ec) break;
      self->on_client_message(c, beast::buffers_to_string(in.data()));
    }
    c->open = false;
    c->wake.cancel();
    beast::error_code ignored;
    beast::get_lowest_layer(ws).socket().close(ignored);
    c->close_socket = nullptr;
    c->close_with = nullptr;
    asio::steady_timer t(ws.get_executor());
    while (c->writer_running) {
      t.expires_after(std::chrono::milliseconds(2));
      co_await t.async_wait(kAsTuple);
    }
    if (self->current == c) self->current.reset();
  }

  static asio::awaitable<void> accept_loop(Impl* self) {
    for (;;) {
      auto [ec, socket] = co_await self->acceptor.async_accept(kAsTuple);
      if (ec) co_return;
      asio::co_spawn(self->io, session(self, std::move(socket)), asio::detached);
    }
  }
};

FakeElevenLabs::FakeElevenLabs(FakeElevenLabsScript script)
    : impl_(std::make_unique<Impl>(std::move(script))) {
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen();
  asio::co_spawn(impl_->io, Impl::accept_loop(impl_.get()), asio::detached);
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

FakeElevenLabs::~FakeElevenLabs() {
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::uint16_t FakeElevenLabs::port() const {
  return impl_->acceptor.local_endpoint().port();
}

std::string FakeElevenLabs::api_base() const {
  return "http://127.0.0.1:" + std::to_string(port());
}

std::string FakeElevenLabs::ws_base() const {
  return "ws://127.0.0.1:" + std::to_string(port());
}

std::vector<RecordedRequest> FakeElevenLabs::http_requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->http_requests;
}

std::vector<RecordedRequest> FakeElevenLabs::handshakes() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->handshakes;
}

std::vector<std::string> FakeElevenLabs::client_messages() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->client_messages;
}

std::vector<std::string> FakeElevenLabs::client_messages_of(std::string_view type) const {
  std::vector<std::string> out;
  for (auto& m : client_messages()) {
    const json parsed = json::parse(m, nullptr, false);
    if (parsed.is_object() && parsed.value("type", "") == type) out.push_back(m);
  }
  return out;
}

std::vector<std::string> FakeElevenLabs::server_event_types() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->server_types;
}

std::string FakeElevenLabs::audio_received() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->audio_in;
}

std::string FakeElevenLabs::audio_sent() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->audio_out;
}

std::vector<std::string> FakeElevenLabs::violations() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->violations;
}

std::size_t FakeElevenLabs::pings_sent() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->pings;
}

std::size_t FakeElevenLabs::pongs_ok() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->pongs;
}

std::size_t FakeElevenLabs::connections() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->accepted;
}

int FakeElevenLabs::client_close_code() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->close_code;
}

void FakeElevenLabs::send_raw(std::string text) {
  auto* impl = impl_.get();
  asio::post(impl->io, [impl, text = std::move(text)]() mutable {
    if (impl->current) impl->send(*impl->current, std::move(text));
  });
}

void FakeElevenLabs::ping(int ping_ms) {
  auto* impl = impl_.get();
  asio::post(impl->io, [impl, ping_ms] {
    if (impl->current) impl->send_ping(*impl->current, ping_ms);
  });
}

void FakeElevenLabs::drop() {
  auto* impl = impl_.get();
  asio::post(impl->io, [impl] {
    if (impl->current && impl->current->close_socket) impl->current->close_socket();
  });
}

void FakeElevenLabs::agent_turn() {
  auto* impl = impl_.get();
  asio::post(impl->io, [impl] {
    if (impl->current) impl->begin_turn(impl->current, impl->script.agent_response);
  });
}

}  // namespace ivr::test
