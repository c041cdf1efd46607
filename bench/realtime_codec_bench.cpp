// Per-frame cost of the OpenAI Realtime wire codec (the realtime hot path, 50 events/s per direction per
// call): reading one `response.output_audio.delta` event (100 ms of pcm16 24 kHz, 6.4 kB of base64) with
// the adapter's simdjson path against nlohmann + base64, and writing one 20 ms `input_audio_buffer.append`
// (prefix + base64 + suffix) against building it with nlohmann. Prints µs per event.
//
// Usage: bench_realtime_codec_bench [iterations]   (default 20000)

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "ivr/core/secret_box.hpp"
#include "ivr/providers/realtime/openai_realtime.hpp"

namespace {

using Clock = std::chrono::steady_clock;
namespace rt = ivr::providers::realtime;

std::string pcm(int samples) {
  std::string out(static_cast<std::size_t>(samples) * 2, '\0');
  for (int i = 0; i < samples; ++i) {
    const auto v = static_cast<std::int16_t>(8000 * std::sin(i * 0.1));
    out[2 * i] = static_cast<char>(v & 0xFF);
    out[2 * i + 1] = static_cast<char>((v >> 8) & 0xFF);
  }
  return out;
}

template <class F>
double us_per(int n, F&& f) {
  const auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) f();
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / n;
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 20000;
  std::printf("%d iterations each\n", n);
  auto parser = rt::openai_wire::make_event_parser();
  rt::AgentEvent out;
  std::size_t sink = 0;
  for (const int samples : {2400, 480}) {  // 100 ms and 20 ms deltas
    const std::string audio = pcm(samples);
    const std::string event = nlohmann::json{
        {"type", "response.output_audio.delta"},
        {"event_id", "event_abc123"},
        {"response_id", "resp_abc"},
        {"item_id", "item_abc"},
        {"output_index", 0},
        {"content_index", 0},
        {"delta", ivr::base64_encode(
                      audio)}}.dump();
    std::string frame = event;
    // Both include copying the frame into the read buffer and decoding the base64.
    const double simd = us_per(n, [&] {
      frame.assign(event);
      if (rt::openai_wire::parse_event(*parser, frame, out)) sink += out.audio.size();
    });
    const double nl = us_per(n, [&] {
      const auto j = nlohmann::json::parse(event);
      if (j["type"] == "response.output_audio.delta") {
        auto bytes = ivr::base64_decode(j["delta"].get<std::string>());
        sink += bytes ? bytes->size() : 0;
      }
    });
    std::printf("read  audio delta (%d ms, %zu bytes): simdjson %.2f us, nlohmann %.2f us\n", samples / 24,
                event.size(), simd, nl);
  }

  const std::string frame20 = pcm(480);  // 20 ms
  std::string outgoing;
  const double write_prefix = us_per(n, [&] {
    outgoing.clear();
    rt::openai_wire::append_audio_event(outgoing, frame20);
    sink += outgoing.size();
  });
  const double write_nl = us_per(n, [&] {
    const auto s =
        nlohmann::json{{"type", "input_audio_buffer.append"}, {"audio", ivr::base64_encode(frame20)}}.dump();
    sink += s.size();
  });

  std::printf("write audio append (20 ms): prefix+base64 %.2f us, nlohmann %.2f us\n", write_prefix,
              write_nl);
  return sink == 0 ? 1 : 0;
}
