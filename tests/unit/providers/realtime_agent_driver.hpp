#pragma once
// Drives a RealtimeAgent in the adapter tests as the call session would: caller audio sent from one
// coroutine while another reads the agent's events. Shared by the OpenAI Realtime and ElevenLabs tests.

#include <chrono>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "ivr/providers/realtime/realtime_agent.hpp"

namespace ivr::providers::realtime::test_driver {

// 20 ms of pcm16 at `rate`: a loud 300 Hz tone or silence; `phase` carries the tone across frames.
inline std::string pcm16_frame(int rate, bool loud, std::uint32_t& phase) {
  const int samples = rate / 50;
  std::string out(static_cast<std::size_t>(samples) * 2, '\0');
  for (int i = 0; i < samples; ++i) {
    const double t = static_cast<double>(phase++) / rate;
    const auto v = loud ? static_cast<std::int16_t>(6000 * std::sin(2 * std::numbers::pi * 300 * t)) : 0;
    const auto u = static_cast<std::uint16_t>(v);
    out[2 * static_cast<std::size_t>(i)] = static_cast<char>(u & 0xFF);
    out[2 * static_cast<std::size_t>(i) + 1] = static_cast<char>(u >> 8);
  }
  return out;
}

// A caller turn: `loud_ms` of speech then `quiet_ms` of silence, as 20 ms frames at `rate`.
inline std::vector<std::string> caller_turn(int rate, int loud_ms, int quiet_ms) {
  std::vector<std::string> frames;
  std::uint32_t phase = 0;
  for (int ms = 0; ms < loud_ms; ms += 20) frames.push_back(pcm16_frame(rate, true, phase));
  for (int ms = 0; ms < quiet_ms; ms += 20) frames.push_back(pcm16_frame(rate, false, phase));
  return frames;
}

inline boost::asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  boost::asio::steady_timer t(co_await boost::asio::this_coro::executor);
  t.expires_after(d);
  co_await t.async_wait(boost::asio::use_awaitable);
}

// Sends frames with a small gap, from its own coroutine (the reader awaits next_event meanwhile).
inline boost::asio::awaitable<void> send_frames(RealtimeAgent& agent, std::vector<std::string> frames,
                                                int* failures) {
  for (const auto& f : frames) {
    auto r = co_await agent.send_audio(f);
    if (!r) ++*failures;
    co_await sleep_for(std::chrono::milliseconds(1));
  }
}

struct Collected {
  std::vector<AgentEvent> events;
  boost::system::error_code error;
};

// Reads events until `stop` kind arrives (included) or an error.
inline boost::asio::awaitable<Collected> collect_until(RealtimeAgent& agent, AgentEvent::Kind stop) {
  Collected out;
  for (;;) {
    auto e = co_await agent.next_event();
    if (!e) {
      out.error = e.error();
      co_return out;
    }
    out.events.push_back(std::move(*e));
    if (out.events.back().kind == stop) co_return out;
  }
}

// Sends `frames` from a spawned coroutine while collecting events until `stop`.
inline boost::asio::awaitable<Collected> converse(RealtimeAgent& agent, std::vector<std::string> frames,
                                                  AgentEvent::Kind stop, int* send_failures) {
  auto ex = co_await boost::asio::this_coro::executor;
  boost::asio::co_spawn(ex, send_frames(agent, std::move(frames), send_failures), boost::asio::detached);
  co_return co_await collect_until(agent, stop);
}

inline std::vector<AgentEvent::Kind> kinds(const std::vector<AgentEvent>& events) {
  std::vector<AgentEvent::Kind> out;
  for (const auto& e : events) out.push_back(e.kind);
  return out;
}

}  // namespace ivr::providers::realtime::test_driver
