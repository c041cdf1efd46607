#pragma once
// A lean OpenAI Realtime echo server for bench/bridge_bench.cpp (`provider=openai`): on 127.0.0.1:0, on
// the io_context it is given. Speaks the GA wire shape of PROTOCOLS §3 as far as the daemon's adapter
// reads it: session.created on connect, session.updated for session.update, and for every
// input_audio_buffer.append a response.output_audio.delta carrying the same base64 audio back (pcm16
// 24 kHz, or G.711 µ-law 8 kHz). Like EchoAgent it speaks in runs: every fifth append ends the item with
// response.output_audio.done instead of a delta. The caller interrupts now and then: every tenth marker
// frame of the bench (loud, every half second; resampling may spread one over two appends) is preceded by
// input_audio_buffer.speech_started, as server VAD would send it, so the daemon barges in every 5 s. Other
// client events (truncate, …) are read and ignored.
//
// Not a test fake (tests use tests/fakes/fake_openai_realtime, which validates and records everything):
// this one does the least work per event, with string scanning instead of a JSON parser, so that the
// bench's second core is not spent on the provider.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include "ivr/audio/g711.hpp"
#include "ivr/core/base64.hpp"

namespace bench {

// The bench's marker frames are a loud square wave (peak 16000) among quiet ones (peak 800): the one test
// of loudness, used by the provider on what it receives and by the callers on what comes back.
inline bool is_loud(std::span<const std::int16_t> pcm) {
  int peak = 0;
  for (const std::int16_t v : pcm) peak = std::max(peak, std::abs(static_cast<int>(v)));
  return peak > 8000;
}

// Little-endian PCM16 bytes (as base64-decoded from a message).
inline bool is_loud_pcm16(std::string_view bytes, std::vector<std::int16_t>& scratch) {
  scratch.resize(bytes.size() / 2);
  std::memcpy(scratch.data(), bytes.data(), scratch.size() * 2);
  return is_loud(scratch);
}

class EchoRealtimeProvider {
 public:
  EchoRealtimeProvider(boost::asio::io_context& io, bool mulaw)
      : acceptor_(io, {boost::asio::ip::make_address("127.0.0.1"), 0}), mulaw_(mulaw) {
    boost::asio::co_spawn(io, accept_loop(), boost::asio::detached);
  }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::uint64_t appends() const { return appends_; }
  std::uint64_t deltas() const { return deltas_; }
  std::uint64_t interruptions() const { return interruptions_; }

 private:
  using Socket = boost::beast::websocket::stream<boost::beast::tcp_stream>;

  boost::asio::awaitable<void> accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      auto tcp = co_await acceptor_.async_accept(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      if (ec) co_return;
      tcp.set_option(boost::asio::ip::tcp::no_delay(true));
      boost::asio::co_spawn(acceptor_.get_executor(), serve(std::make_unique<Socket>(std::move(tcp))),
                            boost::asio::detached);
    }
  }

  static std::string_view field(std::string_view text, std::string_view name) {
    const auto at = text.find(name);
    if (at == std::string_view::npos) return {};
    const auto start = at + name.size();
    const auto end = text.find('"', start);
    return end == std::string_view::npos ? std::string_view{} : text.substr(start, end - start);
  }

  // The adapter writes appends as `{"type":"input_audio_buffer.append",…` and other events with nlohmann,
  // whose sorted keys put the top-level "type" after nested ones (session.update's "session" object).
  static std::string_view event_type(std::string_view text) {
    constexpr std::string_view key = R"("type":")";
    constexpr std::string_view leading = R"({"type":")";
    if (text.starts_with(leading)) return field(text, key);
    const auto at = text.rfind(key);
    return at == std::string_view::npos ? std::string_view{} : field(text.substr(at), key);
  }

  boost::asio::awaitable<void> serve(std::unique_ptr<Socket> ws) {
    boost::system::error_code ec;
    ws->set_option(boost::beast::websocket::stream_base::timeout::suggested(boost::beast::role_type::server));
    co_await ws->async_accept(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    if (ec) co_return;
    ws->text(true);
    std::string out = R"({"type":"session.created","event_id":"evt_1","session":{"type":"realtime"}})";
    co_await ws->async_write(boost::asio::buffer(out),
                             boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    boost::beast::flat_buffer in;
    std::uint64_t frames = 0, markers = 0;
    bool was_loud = false;
    std::string bytes;
    std::vector<std::int16_t> pcm;
    while (!ec) {
      in.clear();
      co_await ws->async_read(in, boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      if (ec) break;
      const std::string_view text(static_cast<const char*>(in.data().data()), in.size());
      const std::string_view type = event_type(text);
      out.clear();
      if (type == "session.update") {
        out = R"({"type":"session.updated","event_id":"evt_2","session":{"type":"realtime"}})";
      } else if (type == "input_audio_buffer.append") {
        ++appends_;
        const std::uint64_t n = frames++;
        const std::string item = "item_" + std::to_string(n / 5 + 1);
        if (n % 5 == 4) {  // the pause: the item ends
          out = R"({"type":"response.output_audio.done","event_id":"evt","response_id":"resp","item_id":")" +
                item + R"(","output_index":0,"content_index":0})";
        } else {
          const std::string_view audio = field(text, R"("audio":")");
          const bool loud = is_marker(audio, bytes, pcm);
          const bool onset = loud && !was_loud;
          was_loud = loud;
          if (onset && markers++ % 10 == 9) {
            ++interruptions_;
            out = R"({"type":"input_audio_buffer.speech_started","event_id":"evt","audio_start_ms":0,)"
                  R"("item_id":"caller_)" +
                  std::to_string(markers) + "\"}";
            co_await ws->async_write(boost::asio::buffer(out),
                                     boost::asio::redirect_error(boost::asio::use_awaitable, ec));
            if (ec) break;
          }
          ++deltas_;
          out = R"({"type":"response.output_audio.delta","event_id":"evt","response_id":"resp","item_id":")";
          out += item;
          out += R"(","output_index":0,"content_index":0,"delta":")";
          out += audio;
          out += R"("})";
        }
      }
      if (!out.empty())
        co_await ws->async_write(boost::asio::buffer(out),
                                 boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    }
  }

  // A marker frame: a loud square wave (the caller's normal frames are quiet).
  bool is_marker(std::string_view base64, std::string& bytes, std::vector<std::int16_t>& pcm) const {
    if (!ivr::base64_decode_into(base64, bytes)) return false;
    if (!mulaw_) return is_loud_pcm16(bytes, pcm);
    pcm.clear();
    ivr::audio::decode_mulaw(
        std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()),
        pcm);
    return is_loud(pcm);
  }

  boost::asio::ip::tcp::acceptor acceptor_;
  bool mulaw_;
  std::atomic<std::uint64_t> interruptions_{0};
  std::atomic<std::uint64_t> appends_{0};
  std::atomic<std::uint64_t> deltas_{0};
};

}  // namespace bench
