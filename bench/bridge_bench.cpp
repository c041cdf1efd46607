// The realtime bridge under load: N emulated mod_audio_stream calls (20 ms L16 frames in real time) on
// WS /stream, each bridged by the daemon's CallSession to a realtime agent that echoes the caller,
// speaking in runs with pauses as people do. Three agents:
//  - `echo` (default), 16 kHz: an in-process agent, the cheapest possible provider. It isolates what the
//    bridge itself costs, and frames carry their send time (16 kHz in and out: the resamplers pass samples
//    through), so it measures the latency the daemon adds per frame in each direction.
//  - `openai`, 16 kHz: the daemon's real OpenAI Realtime adapter over a loopback WebSocket to an echo
//    server speaking the GA wire shape (bench/echo_realtime_provider.hpp) on a third thread, pcm16
//    24 kHz: the whole per-call path of a production call (resampling 16↔24 kHz, base64, simdjson, the
//    provider socket). Resampling garbles stamps, so latency is measured as a round trip: every 25th
//    frame is loud, and the caller times the loud chunk coming back.
//  - `openai-g711`: the same with 8 kHz calls and G.711 µ-law to the provider, passed through without
//    resampling (narrowband trunks, `mono 8k`).
// Prints dropped or rejected frames, daemon CPU per call (its io thread's CPU time / calls), RSS per call,
// and the latencies above. The daemon's io thread is pinned to a core of its own (see pin_to_cpu).
// Everything but PostgreSQL runs in this process: the daemon side on one io thread (as in the daemon),
// the load generator (and the provider) on another core. Tenant checks and call records use the real
// PostgreSQL. Latencies and CPU are measured over a steady window of `seconds`: it opens once every call is
// connected and has streamed for a second (so the start-up storm of N handshakes, tenant checks and call
// records is not counted as per-frame work), and the calls hang up after it closes. Losses count the
// whole run.
// With `guarded`, the daemon's admission is on with its default limits (config's [realtime]
// overload_busy_percent and overload_loop_lag_ms) and the calls arrive at 50 a second instead of all at
// once: it shows how many calls one io thread admits before it refuses, and what the admitted calls get.
//   VOICE_AI_DATABASE_URL=… bench_bridge_bench [calls=100] [seconds=10] [echo|openai|openai-g711] [guarded]
//   (bench/bridge_bench.sh sets it up)

#include <pthread.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include "bench_threads.hpp"
#include "ivr/api/stream_routes.hpp"
#include "ivr/api/tenant_guard.hpp"
#include "ivr/conversation/call_admission.hpp"
#include "ivr/conversation/call_service.hpp"
#include "ivr/conversation/chat_service.hpp"
#include "ivr/conversation/knowledge.hpp"
#include "ivr/core/base64.hpp"
#include "ivr/core/config.hpp"
#include "ivr/core/ids.hpp"
#include "ivr/core/logging.hpp"
#include "ivr/core/metrics.hpp"
#include "ivr/net/http_client.hpp"
#include "ivr/net/http_server.hpp"
#include "ivr/net/loop_load_monitor.hpp"
#include "ivr/net/websocket_client.hpp"
#include "ivr/providers/realtime/openai_realtime.hpp"
#include "ivr/store/calls.hpp"
#include "ivr/store/database.hpp"
#include "ivr/store/migrations.hpp"
#include "ivr/store/repositories.hpp"
#include "ivr/store/secretaries.hpp"
#include "ivr/webhooks/outbox.hpp"

#include <pqxx/pqxx>

#include "echo_realtime_provider.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace rt = ivr::providers::realtime;
using Clock = std::chrono::steady_clock;

namespace {

// Frames carry their send time in their first 8 bytes (the rest is a quiet tone); at 16 kHz in and out
// the session's resampler passes samples through untouched, so the agent reads the stamp back.
std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

struct Samples {
  std::atomic<bool> measuring{false};  // the steady window is open
  std::atomic<bool> hang_up{false};    // the calls end
  bool stamped = true;                 // frames carry readable stamps (echo agent only)
  int sample_rate = 16'000;            // of the calls (openai-g711: 8 kHz)
  std::atomic<int> connected{0};
  std::atomic<int> refused{0};  // guarded: handshakes the admission refused
  std::mutex mutex;
  std::vector<double> inbound_us;    // frame sent by the caller → agent got it
  std::vector<double> outbound_us;   // agent emitted → caller received the streamAudio
  std::vector<double> roundtrip_us;  // openai: loud marker frame sent → its echo back at the caller
  std::atomic<std::uint64_t> markers_sent{0}, markers_back{0};
  std::atomic<std::int64_t> window_opened_ns{0};  // markers sent before it are not counted
  std::atomic<std::uint64_t> frames_sent{0}, frames_at_agent{0}, chunks_back{0};
};
Samples samples;

// Answers caller frames with the same audio at once: the cheapest possible provider. It speaks like a
// person, in runs: four frames echoed as one item (80 ms), then one frame of pause that ends the item.
// The pauses let the pacer's queue drain as real speech does; echoing every frame back to back would turn
// any burst of input (the load generator catching up after a stall) into a queue that never drains, since
// playback runs at exactly the input's rate, and the outbound figure would measure that backlog.
class EchoAgent final : public rt::RealtimeAgent {
 public:
  explicit EchoAgent(asio::any_io_executor ex) : wake_(ex) {}
  asio::awaitable<ivr::Result<void>> start(rt::SessionConfig) override { co_return ivr::Result<void>(); }
  rt::AudioFormat input_format() const override { return {rt::AudioEncoding::pcm16, 16'000}; }
  rt::AudioFormat output_format() const override { return {rt::AudioEncoding::pcm16, 16'000}; }
  asio::awaitable<ivr::Result<void>> send_audio(std::string_view bytes) override {
    if (bytes.size() >= 8) {
      std::int64_t sent = 0;
      std::memcpy(&sent, bytes.data(), 8);
      if (sent > 0 && samples.measuring) {
        const double us = static_cast<double>(now_ns() - sent) / 1000.0;
        std::lock_guard lock(samples.mutex);
        samples.inbound_us.push_back(us);
      }
      ++samples.frames_at_agent;
      rt::AgentEvent e;
      if (++frames_ % 5 == 0) {  // the pause: the item ends
        e.kind = rt::AgentEvent::Kind::audio_done;
        e.item_id = "echo-" + std::to_string(frames_ / 5);
        queue_.push_back(std::move(e));
        wake_.cancel();
        co_return ivr::Result<void>();
      }
      e.kind = rt::AgentEvent::Kind::audio;
      e.item_id = "echo-" + std::to_string(frames_ / 5 + 1);
      e.audio.assign(bytes.data(), bytes.size());
      const std::int64_t emitted = now_ns();  // restamped: the outbound clock starts here
      std::memcpy(e.audio.data(), &emitted, 8);
      queue_.push_back(std::move(e));
      wake_.cancel();
    }
    co_return ivr::Result<void>();
  }
  asio::awaitable<ivr::Result<rt::AgentEvent>> next_event() override {
    while (queue_.empty() && !closed_) {
      wake_.expires_after(std::chrono::seconds(60));
      boost::system::error_code ignored;
      co_await wake_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    if (closed_) co_return ivr::make_error_code(ivr::Errc::cancelled);
    rt::AgentEvent e = std::move(queue_.front());
    queue_.pop_front();
    co_return e;
  }
  asio::awaitable<ivr::Result<void>> send_tool_result(std::string, std::string) override {
    co_return ivr::Result<void>();
  }
  asio::awaitable<ivr::Result<void>> truncate(std::string, std::int64_t) override {
    co_return ivr::Result<void>();
  }
  asio::awaitable<void> close() override {
    closed_ = true;
    wake_.cancel();
    co_return;
  }
  std::string_view name() const override { return "echo"; }

 private:
  asio::steady_timer wake_;
  std::deque<rt::AgentEvent> queue_;
  std::uint64_t frames_ = 0;
  bool closed_ = false;
};

// One emulated call: handshake like mod_audio_stream, metadata, then 20 ms frames on absolute deadlines;
// every streamAudio received is decoded enough to read the stamp back.
asio::awaitable<void> caller(std::uint16_t port, std::string domain, std::string token,
                             std::string secretary) {
  auto ex = co_await asio::this_coro::executor;
  // Shared with the reader, which may still be finishing when this coroutine returns.
  auto socket = std::make_shared<websocket::stream<beast::tcp_stream>>(ex);
  auto& ws = *socket;
  asio::ip::tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
  co_await beast::get_lowest_layer(ws).async_connect(endpoint, asio::use_awaitable);
  beast::get_lowest_layer(ws).socket().set_option(
      asio::ip::tcp::no_delay(true));  // a real-time client: no Nagle
  const std::string call = ivr::random_uuid();
  ws.set_option(websocket::stream_base::decorator([token, domain](websocket::request_type& req) {
    req.set("x-api-key", token);
    req.set("x-domain-uuid", domain);
  }));
  boost::system::error_code refused;
  co_await ws.async_handshake("127.0.0.1",
                              "/stream/" + call + "?secretary_id=" + secretary +
                                  "&sample_rate=" + std::to_string(samples.sample_rate),
                              asio::redirect_error(asio::use_awaitable, refused));
  if (refused == websocket::error::upgrade_declined) {  // guarded: the daemon has no room (503)
    ++samples.refused;
    co_return;
  }
  if (refused) throw boost::system::system_error(refused);
  ws.text(true);
  co_await ws.async_write(asio::buffer(std::string(R"({"caller_id":"bench"})")), asio::use_awaitable);

  // openai: when the last loud marker frame was sent (0: none outstanding). Shared with the reader, same
  // thread.
  auto marker_sent = std::make_shared<std::int64_t>(0);

  // Reader: streamAudio messages → the stamp in the first 8 decoded bytes (echo), or a loud chunk: the
  // echo of the marker frame (openai).
  auto reader = [socket, marker_sent]() -> asio::awaitable<void> {
    beast::flat_buffer buffer;
    std::string bytes;  // openai: a chunk's decoded audio, reused
    std::vector<std::int16_t> pcm;
    for (;;) {
      boost::system::error_code ec;
      co_await socket->async_read(buffer, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      const std::string text = beast::buffers_to_string(buffer.data());
      buffer.consume(buffer.size());
      const auto at = text.find("\"audioData\":\"");
      if (at == std::string::npos) continue;
      if (!samples.stamped) {
        ++samples.chunks_back;
        const auto end = text.find('"', at + 13);
        if (*marker_sent == 0 || end == std::string::npos ||
            !ivr::base64_decode_into(std::string_view(text).substr(at + 13, end - at - 13), bytes)) {
          continue;
        }
        if (!bench::is_loud_pcm16(bytes, pcm)) continue;
        const double us = static_cast<double>(now_ns() - *marker_sent) / 1000.0;
        *marker_sent = 0;
        if (samples.measuring && us * 1000.0 <= static_cast<double>(now_ns() - samples.window_opened_ns)) {
          ++samples.markers_back;
          std::lock_guard lock(samples.mutex);
          samples.roundtrip_us.push_back(us);
        }
        continue;
      }
      // The stamp is the first 8 bytes: the first 12 base64 characters hold 9 bytes.
      std::string decoded;
      if (!ivr::base64_decode_into(std::string_view(text).substr(at + 13, 12), decoded) ||
          decoded.size() < 8) {
        continue;
      }
      std::int64_t emitted = 0;
      std::memcpy(&emitted, decoded.data(), 8);
      ++samples.chunks_back;
      const double us = static_cast<double>(now_ns() - emitted) / 1000.0;
      if (samples.stamped && us > 0 && us < 1e6 && samples.measuring) {
        std::lock_guard lock(samples.mutex);
        samples.outbound_us.push_back(us);
      }
    }
  };
  asio::co_spawn(ex, reader, asio::detached);

  // A quiet 1 kHz square wave; in openai mode every 25th frame (every half second) is a loud marker.
  const auto frame_samples = static_cast<std::size_t>(samples.sample_rate / 50);
  std::vector<std::int16_t> frame(frame_samples), marker(frame_samples);
  for (std::size_t i = 0; i < frame.size(); ++i) {
    frame[i] = static_cast<std::int16_t>(800 * ((i / 8) % 2 ? 1 : -1));
    marker[i] = static_cast<std::int16_t>(16000 * ((i / 8) % 2 ? 1 : -1));
  }
  std::uint64_t n = 0;
  asio::steady_timer timer(ex);
  auto next = Clock::now();
  ws.binary(true);
  ++samples.connected;
  while (!samples.hang_up) {
    const std::int64_t stamp = now_ns();
    // Frame 1 of every 25 (the echo server's pauses drop every fifth frame: 4, 9, …).
    const bool loud = !samples.stamped && n++ % 25 == 1;
    if (samples.stamped) {
      std::memcpy(frame.data(), &stamp, 8);
    } else if (loud) {
      *marker_sent = stamp;
      if (samples.measuring) ++samples.markers_sent;
    }
    const auto& audio = loud ? marker : frame;
    boost::system::error_code ec;
    co_await ws.async_write(asio::buffer(audio.data(), audio.size() * 2),
                            asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    ++samples.frames_sent;
    next += std::chrono::milliseconds(20);
    timer.expires_at(next);
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  boost::system::error_code ignored;
  co_await ws.async_close(websocket::close_code::normal, asio::redirect_error(asio::use_awaitable, ignored));
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

std::size_t rss_kib() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE)) / 1024;
}

}  // namespace

int main(int argc, char** argv) {
  const int calls = argc > 1 ? std::atoi(argv[1]) : 100;
  const auto seconds = std::chrono::seconds(argc > 2 ? std::atoi(argv[2]) : 10);
  const std::string agent_kind = argc > 3 ? argv[3] : "echo";
  const bool guarded = argc > 4 && std::string(argv[4]) == "guarded";
  if (agent_kind != "echo" && agent_kind != "openai" && agent_kind != "openai-g711") {
    std::fprintf(stderr, "agent: echo, openai or openai-g711\n");
    return 2;
  }
  samples.stamped = agent_kind == "echo";
  if (agent_kind == "openai-g711") samples.sample_rate = 8'000;
  ivr::init_logging({guarded ? "error" : "warn", false});  // guarded: no line per refused call
  const char* url = std::getenv("VOICE_AI_DATABASE_URL");
  if (url == nullptr) {
    std::fprintf(stderr, "set VOICE_AI_DATABASE_URL (bench/bridge_bench.sh does)\n");
    return 2;
  }
  ivr::store::DatabaseConfig db_config;
  db_config.url = url;
  if (auto migrated =
          ivr::store::blocking_migrate(db_config, std::getenv("VOICE_AI_DATABASE_MIGRATIONS_DIR")
                                                      ? std::getenv("VOICE_AI_DATABASE_MIGRATIONS_DIR")
                                                      : "migrations");
      !migrated) {
    std::fprintf(stderr, "migrations: %s\n", migrated.error().message().c_str());
    return 1;
  }

  asio::io_context io{1};
  asio::thread_pool pool(4);
  ivr::store::Database db(pool, db_config);
  ivr::store::BlockingAdmin admin(db);
  auto domain =
      admin.blocking_add_domain("bridge-bench-" + ivr::random_uuid().substr(0, 8) + ".example.com", {});
  auto token = admin.blocking_create_token(ivr::store::TokenScope::call, std::nullopt, "bench");
  if (!domain || !token) return 1;
  auto tokens = ivr::store::make_pg_token_store(db);
  auto domains = ivr::store::make_pg_domain_directory(db, ivr::store::DomainSource::standalone);
  ivr::MetricsRegistry metrics;
  ivr::RateLimitSettings limits;
  limits.enabled = false;
  ivr::api::TenantGuard guard(*tokens, *domains, nullptr, limits, metrics);
  ivr::store::SecretaryRepository secretary_repo(db);
  ivr::conversation::SecretaryDirectory secretaries(secretary_repo, std::chrono::minutes(10));
  ivr::store::CallRepository call_repo(db);
  ivr::net::HttpClient http(io);
  ivr::webhooks::WebhookSender sender(io, db, http, ivr::webhooks::WebhookSenderConfig{});
  ivr::conversation::CallService call_service(call_repo, secretaries, sender);
  ivr::conversation::NoKnowledgeBase knowledge;
  ivr::conversation::Secretary s = ivr::conversation::default_secretary(domain->uuid, domain->name);
  s.name = "bench";
  s.is_default = false;
  s.greeting.clear();
  std::string secretary_id;
  {
    std::promise<std::string> created;
    auto create = [&]() -> asio::awaitable<void> {
      auto r = co_await secretary_repo.create(ivr::conversation::to_record(s));
      created.set_value(r ? r->id : std::string());
    };
    asio::co_spawn(io, create, asio::detached);
    io.run();
    io.restart();
    secretary_id = created.get_future().get();
  }
  ivr::conversation::CallSessionOptions options;
  options.caller_idle_timeout = std::chrono::seconds(10);
  // openai: the provider on its own thread, the adapter on the daemon's io thread.
  asio::io_context provider_io{1};
  bench::EchoRealtimeProvider provider(provider_io, agent_kind == "openai-g711");
  std::thread provider_thread([&] {
    pthread_setname_np(pthread_self(), "provider");
    bench::pin_to_cpu(1);
    auto guard_work = asio::make_work_guard(provider_io);
    provider_io.run();
  });
  ivr::net::WebSocketConnector connector(io);
  rt::OpenAiRealtimeSettings openai;
  openai.url = "ws://127.0.0.1:" + std::to_string(provider.port()) + "/v1/realtime";
  openai.api_key = "sk-bench";
  openai.transcription_model.clear();
  if (agent_kind == "openai-g711") {  // an 8 kHz call: µ-law both ways, no resampling
    openai.input_encoding = rt::AudioEncoding::g711_ulaw;
    openai.output_encoding = rt::AudioEncoding::g711_ulaw;
  }

  ivr::net::Router router;
  auto deps = std::make_shared<ivr::api::StreamDependencies>(ivr::api::StreamDependencies{
      guard, secretaries,
      ivr::conversation::CallSessionDeps{[&](const ivr::conversation::Secretary&,
                                             std::size_t attempt) -> std::unique_ptr<rt::RealtimeAgent> {
                                           if (attempt > 0) return nullptr;
                                           if (agent_kind != "echo")
                                             return rt::make_openai_realtime(connector, openai);
                                           return std::make_unique<EchoAgent>(io.get_executor());
                                         },
                                         nullptr, nullptr, call_service, call_repo, knowledge, &metrics,
                                         options},
      nullptr, 16'000});
  // guarded: the admission as the daemon configures it by default.
  ivr::net::LoopLoadMonitor loop_load(io.get_executor());
  ivr::RealtimeSettings defaults;
  // To try another busy limit: BENCH_OVERLOAD_BUSY_PERCENT=75.
  if (const char* busy = std::getenv("BENCH_OVERLOAD_BUSY_PERCENT"))
    defaults.overload_busy_percent = std::atoi(busy);
  ivr::conversation::CallAdmission admission(
      {.max_loop_lag = std::chrono::milliseconds(defaults.overload_loop_lag_ms),
       .max_loop_busy = static_cast<double>(defaults.overload_busy_percent) / 100.0},
      [&loop_load] {
        const ivr::net::LoopLoad l = loop_load.load();
        return ivr::conversation::LoopLoadSample{l.lag, l.busy};
      });
  if (guarded) {
    deps->admission = &admission;
    loop_load.start();
  }
  ivr::api::register_stream_routes(router, deps);
  ivr::net::ServerConfig server_config;
  server_config.port = 0;
  server_config.max_connections = static_cast<std::size_t>(calls) + 64;
  ivr::net::HttpServer server(io, router, server_config);
  if (!server.start()) return 1;

  const std::size_t rss_before = rss_kib();
  double cpu_start = 0, cpu_end = 0;
  std::thread daemon([&] {
    pthread_setname_np(pthread_self(), "daemon-io");  // for perf --comm
    bench::pin_to_cpu(0);
    auto guard_work = asio::make_work_guard(io);
    io.run();
  });

  // The load generator: its own io_context and thread.
  asio::io_context load{1};
  auto report_failure = [](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::fprintf(stderr, "call failed: %s\n", ex.what());
      }
    }
  };
  // All at once, or (guarded) 50 a second (BENCH_DIAL_PER_SECOND), as calls arrive at a busy PBX.
  const int dial_per_second = std::max(
      1, std::getenv("BENCH_DIAL_PER_SECOND") ? std::atoi(std::getenv("BENCH_DIAL_PER_SECOND")) : 50);
  auto dial = [&]() -> asio::awaitable<void> {
    asio::steady_timer gap(load);
    for (int i = 0; i < calls; ++i) {
      asio::co_spawn(load, caller(server.port(), domain->uuid, token->token, secretary_id), report_failure);
      if (!guarded) continue;
      gap.expires_after(std::chrono::microseconds(1'000'000 / dial_per_second));
      co_await gap.async_wait(asio::use_awaitable);
    }
  };
  asio::co_spawn(load, dial, report_failure);
  const auto load_started = Clock::now();
  std::thread generator([&] {
    pthread_setname_np(pthread_self(), "load-gen");
    bench::pin_to_cpu(1);
    load.run();
  });

  // The steady window: every call connected and streaming for a second.
  while (samples.connected + samples.refused < calls &&
         Clock::now() - load_started < std::chrono::seconds(300))
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const double ramp_s = std::chrono::duration<double>(Clock::now() - load_started).count();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  auto on_io_thread = [&io](auto fn) {
    std::promise<void> done;
    asio::post(io, [&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  };
  const std::uint64_t sent_before = samples.frames_sent;
  on_io_thread([&] { cpu_start = bench::thread_cpu_seconds(); });
  samples.window_opened_ns = now_ns();
  samples.measuring = true;
  std::size_t rss_peak = 0;
  for (int i = 0; i < static_cast<int>(seconds.count()) * 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    rss_peak = std::max(rss_peak, rss_kib());
  }
  samples.measuring = false;
  on_io_thread([&] { cpu_end = bench::thread_cpu_seconds(); });
  const ivr::net::LoopLoad load_at_end = loop_load.load();
  const std::uint64_t sent_in_window = samples.frames_sent - sent_before;
  samples.hang_up = true;
  generator.join();
  std::this_thread::sleep_for(std::chrono::seconds(2));  // sessions finalise (call rows, figures)
  // guarded: every session gives its place back before the io_context (and the admission) go.
  for (int i = 0; i < 100; ++i) {
    std::size_t active = 0;
    on_io_thread([&] { active = admission.active(); });
    if (active == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  io.stop();
  daemon.join();
  provider_io.stop();
  provider_thread.join();
  if (agent_kind != "echo") samples.frames_at_agent = provider.appends();

  // Per call: the calls that were admitted and ran (all of them unless guarded).
  const int admitted = samples.connected.load();
  const double frames_expected = static_cast<double>(admitted) * static_cast<double>(seconds.count()) * 50.0;
  std::printf("%d calls %s in %.1f s; measured over a steady %lld s window after that\n", calls,
              guarded ? "dialled" : "connected", ramp_s, static_cast<long long>(seconds.count()));
  std::printf(
      "%d calls × %lld s, %d kHz mono, 20 ms frames, %s agent; %ld cores shared by the load generator%s\n",
      calls, static_cast<long long>(seconds.count()), samples.sample_rate / 1000,
      agent_kind == "echo"     ? "in-process echo"
      : agent_kind == "openai" ? "OpenAI Realtime (loopback echo server, pcm16 24 kHz)"
                               : "OpenAI Realtime (loopback echo server, G.711 µ-law 8 kHz)",
      sysconf(_SC_NPROCESSORS_ONLN), agent_kind == "echo" ? "" : " and the provider");
  if (guarded) {
    const ivr::net::LoopLoad& l = load_at_end;
    std::printf(
        "guarded: calls dialled at %d/s; %d admitted, %d refused by the admission (limits: io thread %lld%% "
        "busy, %lld ms lag); at the end of the window the io thread was %.0f%% busy, %.1f ms behind\n",
        dial_per_second, admitted, samples.refused.load(),
        static_cast<long long>(defaults.overload_busy_percent),
        static_cast<long long>(defaults.overload_loop_lag_ms), 100 * l.busy,
        static_cast<double>(l.lag.count()) / 1000.0);
  }
  std::printf(
      "frames sent %llu (in the window %.1f%% of real time), reached the agent %llu, lost %lld; chunks "
      "back %llu\n",
      static_cast<unsigned long long>(samples.frames_sent.load()),
      100.0 * static_cast<double>(sent_in_window) / frames_expected,
      static_cast<unsigned long long>(samples.frames_at_agent.load()),
      static_cast<long long>(samples.frames_sent.load()) -
          static_cast<long long>(samples.frames_at_agent.load()),
      static_cast<unsigned long long>(samples.chunks_back.load()));
  if (samples.stamped) {
    std::printf("caller → agent per frame: p50 %.0f µs, p90 %.0f µs, p99 %.0f µs, max %.0f µs\n",
                percentile(samples.inbound_us, 0.5), percentile(samples.inbound_us, 0.9),
                percentile(samples.inbound_us, 0.99), percentile(samples.inbound_us, 1.0));
    std::printf(
        "agent → caller per chunk: p50 %.0f µs, p90 %.0f µs, p99 %.0f µs, max %.0f µs (pacer included)\n",
        percentile(samples.outbound_us, 0.5), percentile(samples.outbound_us, 0.9),
        percentile(samples.outbound_us, 0.99), percentile(samples.outbound_us, 1.0));
  } else {
    std::printf(
        "round trip caller → daemon → provider echo → daemon → caller (marker frames, %llu of %llu back): "
        "p50 %.0f µs, p90 %.0f µs, p99 %.0f µs, max %.0f µs\n",
        static_cast<unsigned long long>(samples.markers_back.load()),
        static_cast<unsigned long long>(samples.markers_sent.load()), percentile(samples.roundtrip_us, 0.5),
        percentile(samples.roundtrip_us, 0.9), percentile(samples.roundtrip_us, 0.99),
        percentile(samples.roundtrip_us, 1.0));
  }
  const double cpu = cpu_end - cpu_start;
  if (agent_kind != "echo") {
    // The cut-off the daemon guarantees at each barge-in (stream playback: the audio already sent), from
    // the figures each session saved on its call row.
    std::vector<double> cutoffs;
    try {
      pqxx::connection connection(url);
      pqxx::work tx(connection);
      for (const auto& row :
           tx.exec_params("SELECT (jsonb_array_elements(stats->'barge_in_cutoff_ms'))::int FROM calls "
                          "WHERE domain_uuid = $1",
                          domain->uuid)) {
        cutoffs.push_back(row[0].as<double>());
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "barge-in figures: %s\n", e.what());
    }
    std::printf(
        "barge-ins: the provider interrupted %llu times, %zu recorded; cut-off p50 %.0f ms, p99 %.0f ms, max "
        "%.0f ms (stream playback, %lld ms lead)\n",
        static_cast<unsigned long long>(provider.interruptions()), cutoffs.size(), percentile(cutoffs, 0.5),
        percentile(cutoffs, 0.99), percentile(cutoffs, 1.0),
        static_cast<long long>(options.playback_lead.count()));
  }
  std::printf("daemon io thread CPU: %.2f s over %lld s = %.2f%% of a core, %.3f%% per call\n", cpu,
              static_cast<long long>(seconds.count()), 100.0 * cpu / static_cast<double>(seconds.count()),
              100.0 * cpu / static_cast<double>(seconds.count()) / std::max(admitted, 1));
  std::printf(
      "RSS: %zu KiB before, %zu KiB peak during the calls: %.0f KiB per call (daemon and load generator)\n",
      rss_before, rss_peak,
      static_cast<double>(rss_peak - std::min(rss_peak, rss_before)) / std::max(admitted, 1));
  pool.join();
  return 0;
}
