#include "fakes/mod_audio_stream_emulator.hpp"

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include "ivr/core/ids.hpp"
#include "ivr/core/secret_box.hpp"

namespace ivr::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using asio::as_tuple;
using asio::use_awaitable;

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The upstream module's file extension per raw rate (FreeSWITCH reads only .r8/.r16 as L16, PROTOCOLS §1).
std::string raw_extension(int rate) {
  switch (rate) {
    case 8000:
      return ".r8";
    case 16000:
      return ".r16";
    case 24000:
      return ".r24";
    case 32000:
      return ".r32";
    case 48000:
      return ".r48";
    case 64000:
      return ".r64";
    default:
      return "";
  }
}

std::vector<std::int16_t> le_samples(std::string_view bytes) {
  std::vector<std::int16_t> out(bytes.size() / 2);
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<std::int16_t>(static_cast<std::uint16_t>(p[2 * i] | (p[2 * i + 1] << 8)));
  }
  return out;
}

}  // namespace

struct ModAudioStreamEmulator::Impl {
  explicit Impl(ModAudioStreamOptions o) : options(std::move(o)) {
    if (options.call_uuid.empty()) options.call_uuid = random_uuid();
    if (options.path.empty()) options.path = "/stream/" + options.call_uuid;
  }

  ModAudioStreamOptions options;
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  websocket::stream<beast::tcp_stream> ws{io};
  asio::steady_timer timer{io};
  std::thread thread;

  // io thread only
  bool stop_requested = false;
  bool started = false;  // set by start() before the io thread sees anything of the connection
  bool hangup_requested = false;
  std::string hangup_reason;
  int file_counter = 0;

  mutable std::mutex mutex;
  std::condition_variable changed;
  std::string error;
  int http_status = 0;
  Clock::time_point connected_at{};
  std::vector<SentFrame> sent;
  std::size_t audio_frames = 0;
  std::vector<Text> texts;
  std::vector<Audio> audio;
  std::vector<Event> events;
  std::vector<std::string> files;
  std::size_t binary_received = 0;
  bool sending_done = false;
  bool writer_done = false;
  bool closed = false;
  std::optional<std::uint16_t> close_code;
  std::string close_reason;

  template <class F>
  void update(F&& f) {
    {
      std::lock_guard lock(mutex);
      f();
    }
    changed.notify_all();
  }

  template <class Pred>
  bool wait(std::chrono::milliseconds timeout, Pred pred) const {
    std::unique_lock lock(mutex);
    return const_cast<std::condition_variable&>(changed).wait_for(lock, timeout, pred);
  }

  asio::awaitable<bool> connect() {
    tcp::resolver resolver(io);
    auto [rec, endpoints] =
        co_await resolver.async_resolve(options.host, std::to_string(options.port), as_tuple(use_awaitable));
    if (rec) {
      update([&] { error = "resolve: " + rec.message(); });
      co_return false;
    }
    beast::get_lowest_layer(ws).expires_after(options.timeout);
    auto [cec, ep] = co_await beast::get_lowest_layer(ws).async_connect(endpoints, as_tuple(use_awaitable));
    if (cec) {
      update([&] { error = "connect: " + cec.message(); });
      co_return false;
    }
    boost::system::error_code nodelay_ec;  // a real-time client: no Nagle on 20 ms frames
    beast::get_lowest_layer(ws).socket().set_option(asio::ip::tcp::no_delay(true), nodelay_ec);
    beast::get_lowest_layer(ws).expires_never();
    websocket::stream_base::timeout timeouts =
        websocket::stream_base::timeout::suggested(beast::role_type::client);
    timeouts.handshake_timeout = options.timeout;
    ws.set_option(timeouts);
    websocket::permessage_deflate deflate;
    deflate.client_enable = options.offer_deflate;
    ws.set_option(deflate);
    auto headers = options.extra_headers;
    auto origin = options.origin;
    auto decorate = [headers, origin](websocket::request_type& req) {
      req.set(beast::http::field::user_agent, "mod_audio_stream emulator");
      if (!origin.empty()) req.set("origin", origin);
      for (const auto& [name, value] : headers) req.set(lower(name), value);
    };
    ws.set_option(websocket::stream_base::decorator(decorate));
    websocket::response_type response;
    const std::string host = options.host + ":" + std::to_string(options.port);
    const std::string target = options.query.empty() ? options.path : options.path + "?" + options.query;
    auto [hec] = co_await ws.async_handshake(response, host, target, as_tuple(use_awaitable));
    if (hec) {
      update([&] {
        error = "handshake: " + hec.message();
        http_status = static_cast<int>(response.result_int());
      });
      co_return false;
    }
    update([&] {
      http_status = static_cast<int>(response.result_int());
      connected_at = Clock::now();
    });
    co_return true;
  }

  asio::awaitable<bool> send_text(const std::string& text) {
    ws.text(true);
    auto buffer = asio::buffer(text);
    auto [ec, n] = co_await ws.async_write(buffer, as_tuple(use_awaitable));
    if (ec) co_return false;
    update([&] { sent.push_back({Clock::now(), false, n}); });
    co_return true;
  }

  asio::awaitable<void> writer() {
    const auto& o = options;
    const std::size_t frame_samples =
        static_cast<std::size_t>(o.sample_rate) * static_cast<std::size_t>(o.frame_ms) / 1000;
    const std::size_t total = o.caller_audio.size() + static_cast<std::size_t>(o.sample_rate) *
                                                          static_cast<std::size_t>(o.silence_after.count()) /
                                                          1000;
    const std::size_t frames = (total + frame_samples - 1) / frame_samples;
    std::vector<std::uint8_t> bytes(frame_samples * 2 * static_cast<std::size_t>(o.channels));
    bool metadata_sent = !o.metadata.has_value();
    bool ok = true;
    const auto start = Clock::now();
    for (std::size_t k = 0; k < frames && ok && !stop_requested; ++k) {
      if (!metadata_sent && k == static_cast<std::size_t>(o.metadata_after_frames)) {
        ok = co_await send_text(*o.metadata);
        metadata_sent = true;
        if (!ok) break;
      }
      if (o.speed > 0) {
        const auto offset =
            std::chrono::duration<double, std::milli>(static_cast<double>(k) * o.frame_ms / o.speed);
        timer.expires_at(start + std::chrono::duration_cast<Clock::duration>(offset));
        co_await timer.async_wait(as_tuple(use_awaitable));
        if (stop_requested) break;
      }
      auto sample = [](const std::vector<std::int16_t>& v, std::size_t i) -> std::int16_t {
        return i < v.size() ? v[i] : 0;
      };
      std::size_t b = 0;
      for (std::size_t i = 0; i < frame_samples; ++i) {
        const std::size_t at = k * frame_samples + i;
        for (int c = 0; c < o.channels; ++c) {
          const auto u =
              static_cast<std::uint16_t>(c == 0 ? sample(o.caller_audio, at) : sample(o.far_end_audio, at));
          bytes[b++] = static_cast<std::uint8_t>(u & 0xff);
          bytes[b++] = static_cast<std::uint8_t>(u >> 8);
        }
      }
      ws.binary(true);
      auto buffer = asio::buffer(bytes);
      auto [ec, n] = co_await ws.async_write(buffer, as_tuple(use_awaitable));
      if (ec) {
        ok = false;
        break;
      }
      update([&] {
        sent.push_back({Clock::now(), true, n});
        ++audio_frames;
      });
    }
    if (ok && !metadata_sent && !stop_requested) co_await send_text(*o.metadata);
    update([&] { sending_done = true; });
    // Idle until hangup() or drop(): the call stays up, the module just has nothing more in this test.
    while (!stop_requested) {
      timer.expires_after(std::chrono::hours(1));
      co_await timer.async_wait(as_tuple(use_awaitable));
    }
    if (hangup_requested && ws.is_open()) {
      websocket::close_reason reason(websocket::close_code::normal, hangup_reason);
      auto [ec] = co_await ws.async_close(reason, as_tuple(use_awaitable));
      // The close response may be consumed by the close operation rather than the pending read.
      if (!ec && ws.reason().code != websocket::close_code::none) {
        update([&] {
          close_code = static_cast<std::uint16_t>(ws.reason().code);
          close_reason = std::string(ws.reason().reason.c_str());
        });
      }
    }
    update([&] { writer_done = true; });
  }

  void handle_text(std::string text) {
    const auto at = Clock::now();
    update([&] { texts.push_back({at, text}); });
    // The module's processMessage: only {"type":"streamAudio","data":{…}} is audio; anything else is
    // re-fired as mod_audio_stream::json.
    auto doc = nlohmann::ordered_json::parse(text, nullptr, false);
    Event event;
    event.at = at;
    event.subclass = "mod_audio_stream::json";
    event.body = text;
    if (!doc.is_discarded() && doc.is_object() && doc.value("type", "") == "streamAudio" &&
        doc.contains("data") && doc["data"].is_object()) {
      auto data = doc["data"];
      Audio a;
      a.at = at;
      a.audio_data_type = data.contains("audioDataType") && data["audioDataType"].is_string()
                              ? data["audioDataType"].get<std::string>()
                              : "";
      a.sample_rate = data.contains("sampleRate") && data["sampleRate"].is_number_integer()
                          ? data["sampleRate"].get<int>()
                          : 0;
      std::optional<std::string> bytes;
      if (data.contains("audioData") && data["audioData"].is_string()) {
        bytes = base64_decode(data["audioData"].get<std::string>());
      }
      if (bytes) {
        if (a.audio_data_type == "raw") {
          a.samples = le_samples(*bytes);
        } else if (a.audio_data_type == "wav" && bytes->size() >= 44) {
          a.samples = le_samples(std::string_view(*bytes).substr(44));
        }
        update([&] { audio.push_back(a); });
      }
      if (options.file_mode) {
        const std::string ext = a.audio_data_type == "raw"   ? raw_extension(a.sample_rate)
                                : a.audio_data_type == "wav" ? ".wav"
                                                             : "";
        if (bytes && !ext.empty()) {
          const std::string path = options.temp_dir + "/" + options.call_uuid + "_" +
                                   std::to_string(file_counter++) + ".tmp" + ext;
          std::ofstream(path, std::ios::binary) << *bytes;
          data.erase("audioData");
          data["file"] = path;
          event.subclass = "mod_audio_stream::play";
          event.body = data.dump();
          event.file = path;
          update([&] { files.push_back(path); });
        }
      } else {
        return;  // bidirectional builds play it: no event
      }
    }
    update([&] { events.push_back(std::move(event)); });
  }

  asio::awaitable<void> reader() {
    beast::flat_buffer buffer;
    for (;;) {
      auto [ec, n] = co_await ws.async_read(buffer, as_tuple(use_awaitable));
      if (ec) {
        update([&] {
          if (ec == websocket::error::closed && !close_code) {
            close_code = static_cast<std::uint16_t>(ws.reason().code);
            close_reason = std::string(ws.reason().reason.c_str());
          }
          closed = true;
        });
        break;
      }
      if (ws.got_text()) {
        handle_text(beast::buffers_to_string(buffer.data()));
      } else {
        update([&] { ++binary_received; });
      }
      buffer.consume(n);
    }
    // Reading ended (peer close or drop): stop the writer too.
    stop_requested = true;
    timer.cancel();
  }
};

ModAudioStreamEmulator::ModAudioStreamEmulator(ModAudioStreamOptions options)
    : impl_(std::make_shared<Impl>(std::move(options))) {
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
}

ModAudioStreamEmulator::~ModAudioStreamEmulator() {
  drop();
  if (impl_->started) impl_->wait(std::chrono::seconds(2), [this] { return impl_->closed; });
  impl_->work.reset();
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  for (const auto& f : impl_->files) std::remove(f.c_str());
}

bool ModAudioStreamEmulator::start() {
  auto connected = std::make_shared<std::promise<bool>>();
  auto result = connected->get_future();
  Impl* impl = impl_.get();
  impl->started = true;
  auto run = [impl, connected]() -> asio::awaitable<void> {
    const bool ok = co_await impl->connect();
    connected->set_value(ok);
    if (!ok) {
      impl->update([impl] { impl->closed = true; });
      co_return;
    }
    asio::co_spawn(impl->io, impl->reader(), asio::detached);
    co_await impl->writer();
  };
  asio::co_spawn(impl->io, run, asio::detached);
  return result.get();
}

void ModAudioStreamEmulator::hangup(std::string reason) {
  Impl* impl = impl_.get();
  asio::post(impl->io, [impl, reason = std::move(reason)] {
    impl->hangup_requested = true;
    impl->hangup_reason = reason;
    impl->stop_requested = true;
    impl->timer.cancel();
  });
}

void ModAudioStreamEmulator::drop() {
  Impl* impl = impl_.get();
  asio::post(impl->io, [impl] {
    impl->stop_requested = true;
    impl->timer.cancel();
    auto& socket = beast::get_lowest_layer(impl->ws).socket();
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  });
}

bool ModAudioStreamEmulator::wait_closed(std::chrono::milliseconds timeout) {
  return impl_->wait(timeout, [this] { return impl_->closed; });
}

bool ModAudioStreamEmulator::wait_texts(std::size_t count, std::chrono::milliseconds timeout) {
  return impl_->wait(timeout, [this, count] { return impl_->texts.size() >= count; });
}

bool ModAudioStreamEmulator::wait_audio_samples(std::size_t samples, std::chrono::milliseconds timeout) {
  return impl_->wait(timeout, [this, samples] {
    std::size_t n = 0;
    for (const auto& a : impl_->audio) n += a.samples.size();
    return n >= samples;
  });
}

bool ModAudioStreamEmulator::wait_sending_done(std::chrono::milliseconds timeout) {
  return impl_->wait(timeout, [this] { return impl_->sending_done || impl_->closed; });
}

const std::string& ModAudioStreamEmulator::call_uuid() const {
  return impl_->options.call_uuid;
}

#define IVR_LOCKED(expr)              \
  std::lock_guard lock(impl_->mutex); \
  return expr

std::string ModAudioStreamEmulator::error() const {
  IVR_LOCKED(impl_->error);
}
int ModAudioStreamEmulator::http_status() const {
  IVR_LOCKED(impl_->http_status);
}
ModAudioStreamEmulator::Clock::time_point ModAudioStreamEmulator::connected_at() const {
  IVR_LOCKED(impl_->connected_at);
}
std::vector<ModAudioStreamEmulator::SentFrame> ModAudioStreamEmulator::sent() const {
  IVR_LOCKED(impl_->sent);
}
std::size_t ModAudioStreamEmulator::audio_frames_sent() const {
  IVR_LOCKED(impl_->audio_frames);
}
std::vector<ModAudioStreamEmulator::Text> ModAudioStreamEmulator::texts() const {
  IVR_LOCKED(impl_->texts);
}
std::vector<ModAudioStreamEmulator::Audio> ModAudioStreamEmulator::audio() const {
  IVR_LOCKED(impl_->audio);
}
std::vector<ModAudioStreamEmulator::Event> ModAudioStreamEmulator::events() const {
  IVR_LOCKED(impl_->events);
}
std::size_t ModAudioStreamEmulator::binary_messages_received() const {
  IVR_LOCKED(impl_->binary_received);
}
bool ModAudioStreamEmulator::closed() const {
  IVR_LOCKED(impl_->closed);
}
std::optional<std::uint16_t> ModAudioStreamEmulator::close_code() const {
  IVR_LOCKED(impl_->close_code);
}
std::string ModAudioStreamEmulator::close_reason() const {
  IVR_LOCKED(impl_->close_reason);
}

#undef IVR_LOCKED

std::vector<ModAudioStreamEmulator::Event> ModAudioStreamEmulator::play_events() const {
  std::vector<Event> out;
  for (auto& e : events()) {
    if (e.subclass == "mod_audio_stream::play") out.push_back(std::move(e));
  }
  return out;
}

std::vector<std::int16_t> ModAudioStreamEmulator::received_samples() const {
  std::vector<std::int16_t> out;
  for (const auto& a : audio()) out.insert(out.end(), a.samples.begin(), a.samples.end());
  return out;
}

}  // namespace ivr::test
