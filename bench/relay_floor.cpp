// relay_floor: what relaying the realtime bridge's messages costs one thread on this machine with
// nothing but the kernel's loopback TCP and epoll: no WebSocket framing, no JSON, no base64, no
// resampling, no coroutines. It is the floor under bench_bridge_bench's "CPU per call".
//
// Per call, every 20 ms, as in bench_bridge_bench's `openai` mode:
//   caller  --frame (646 B)-->  relay  --append (1,340 B)-->  provider
//   caller  <--chunk (960 B)--  relay  <--delta (1,330 B)--   provider
// The relay thread (pinned to core 0) does the least a relay can: one recv per readiness, one send
// per message, level-triggered epoll. The callers and the provider run on one thread on core 1.
// It prints the relay thread's CPU time per call and per message.
//
// usage: bench_relay_floor [calls=300] [seconds=10]
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "bench_threads.hpp"

namespace {

constexpr std::size_t kCallerFrameBytes = 646;  // 640 B of 16 kHz L16 + a masked frame header
constexpr std::size_t kAppendBytes = 1340;      // 20 ms of 24 kHz pcm16 in base64 JSON, masked
constexpr std::size_t kDeltaBytes = 1330;       // the provider's audio delta for 20 ms
constexpr std::size_t kChunkBytes = 960;        // a streamAudio JSON with 20 ms of 16 kHz base64
constexpr auto kFrame = std::chrono::milliseconds(20);

void check(bool ok, const char* what) {
  if (!ok) {
    std::perror(what);
    std::exit(1);
  }
}

void set_nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// A connected loopback TCP pair: {relay's end, peer's end}.
std::pair<int, int> tcp_pair(int listener, const sockaddr_in& address) {
  int peer = socket(AF_INET, SOCK_STREAM, 0);
  check(peer >= 0, "socket");
  check(connect(peer, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0, "connect");
  int relay = accept(listener, nullptr, nullptr);
  check(relay >= 0, "accept");
  set_nodelay(peer);
  set_nodelay(relay);
  return {relay, peer};
}

// Sends all of `bytes` bytes; loopback buffers are large, so this does not block in practice.
void send_all(int fd, const char* data, std::size_t bytes) {
  while (bytes > 0) {
    ssize_t sent = send(fd, data, bytes, MSG_NOSIGNAL);
    check(sent > 0, "send");
    data += sent;
    bytes -= static_cast<std::size_t>(sent);
  }
}

struct Call {
  int relay_caller = -1, relay_provider = -1;  // the relay's two sockets
  int caller = -1, provider = -1;              // the peers' ends
  std::size_t caller_pending = 0;              // bytes of caller frames not yet relayed as appends
  std::size_t provider_pending = 0;            // bytes of deltas not yet relayed as chunks
};

}  // namespace

int main(int argc, char** argv) {
  const int calls = argc > 1 ? std::atoi(argv[1]) : 300;
  const int seconds = argc > 2 ? std::atoi(argv[2]) : 10;
  if (calls < 1 || seconds < 1) {
    std::fprintf(stderr, "usage: bench_relay_floor [calls >= 1] [seconds >= 1]\n");
    return 2;
  }

  int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  check(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0, "bind");
  socklen_t length = sizeof address;
  getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  check(listen(listener, 1024) == 0, "listen");

  std::vector<Call> all(static_cast<std::size_t>(calls));
  for (auto& call : all) {
    std::tie(call.relay_caller, call.caller) = tcp_pair(listener, address);
    std::tie(call.relay_provider, call.provider) = tcp_pair(listener, address);
  }

  std::atomic<bool> stop{false};
  std::atomic<long> relayed{0};
  double relay_cpu = 0;
  long relayed_in_window = 0;

  std::thread relay([&] {
    bench::pin_to_cpu(0);
    int epoll = epoll_create1(0);
    for (std::size_t i = 0; i < all.size(); ++i) {
      epoll_event in{EPOLLIN, {.u64 = i * 2}};
      epoll_ctl(epoll, EPOLL_CTL_ADD, all[i].relay_caller, &in);
      epoll_event back{EPOLLIN, {.u64 = i * 2 + 1}};
      epoll_ctl(epoll, EPOLL_CTL_ADD, all[i].relay_provider, &back);
    }
    static char buffer[65536];
    static const std::string append(kAppendBytes, 'a');
    static const std::string chunk(kChunkBytes, 'c');
    std::vector<epoll_event> events(256);
    const auto window_start = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    const auto window_end = window_start + std::chrono::seconds(seconds);
    bool in_window = false;
    long at_start = 0;
    double cpu_start = 0;
    while (!stop) {
      auto now = std::chrono::steady_clock::now();
      if (!in_window && now >= window_start) {
        in_window = true;
        cpu_start = bench::thread_cpu_seconds();
        at_start = relayed;
      } else if (in_window && now >= window_end) {
        relay_cpu = bench::thread_cpu_seconds() - cpu_start;
        relayed_in_window = relayed - at_start;
        stop = true;
        break;
      }
      int ready = epoll_wait(epoll, events.data(), static_cast<int>(events.size()), 100);
      for (int e = 0; e < ready; ++e) {
        auto& call = all[events[e].data.u64 / 2];
        const bool from_caller = events[e].data.u64 % 2 == 0;
        int from = from_caller ? call.relay_caller : call.relay_provider;
        ssize_t got = recv(from, buffer, sizeof buffer, 0);
        if (got <= 0) continue;
        // One message out per whole message in, as the bridge does.
        auto& pending = from_caller ? call.caller_pending : call.provider_pending;
        const std::size_t in_size = from_caller ? kCallerFrameBytes : kDeltaBytes;
        pending += static_cast<std::size_t>(got);
        while (pending >= in_size) {
          pending -= in_size;
          if (from_caller)
            send_all(call.relay_provider, append.data(), append.size());
          else
            send_all(call.relay_caller, chunk.data(), chunk.size());
          relayed += 2;  // the message in and the message out
        }
      }
    }
    close(epoll);
  });

  // The peers: every call's caller sends a frame every 20 ms (calls spread over the 20 ms), the
  // provider answers each append with a delta, and the caller drains its chunks.
  bench::pin_to_cpu(1);
  int epoll = epoll_create1(0);
  for (std::size_t i = 0; i < all.size(); ++i) {
    epoll_event provider{EPOLLIN, {.u64 = i * 2}};
    epoll_ctl(epoll, EPOLL_CTL_ADD, all[i].provider, &provider);
    epoll_event caller{EPOLLIN, {.u64 = i * 2 + 1}};
    epoll_ctl(epoll, EPOLL_CTL_ADD, all[i].caller, &caller);
  }
  static char buffer[65536];
  const std::string frame(kCallerFrameBytes, 'f');
  const std::string delta(kDeltaBytes, 'd');
  std::vector<std::size_t> append_bytes(all.size(), 0);
  std::vector<epoll_event> events(256);
  const auto start = std::chrono::steady_clock::now();
  std::size_t next_caller = 0;
  long ticks = 0;
  while (!stop) {
    // Whose frame is due: call i sends at start + k*20ms + i*20ms/calls.
    auto now = std::chrono::steady_clock::now();
    auto due = [&](long tick) { return start + kFrame * (tick / calls) + kFrame * (tick % calls) / calls; };
    while (due(ticks) <= now) {
      send_all(all[next_caller].caller, frame.data(), frame.size());
      next_caller = (next_caller + 1) % all.size();
      ++ticks;
    }
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(due(ticks) - now).count();
    int ready = epoll_wait(epoll, events.data(), static_cast<int>(events.size()), static_cast<int>(wait));
    for (int e = 0; e < ready; ++e) {
      const std::size_t i = events[e].data.u64 / 2;
      if (events[e].data.u64 % 2 == 1) {
        (void)!recv(all[i].caller, buffer, sizeof buffer, 0);  // the chunks back: drained
        continue;
      }
      ssize_t got = recv(all[i].provider, buffer, sizeof buffer, 0);
      if (got <= 0) continue;
      append_bytes[i] += static_cast<std::size_t>(got);
      while (append_bytes[i] >= kAppendBytes) {
        append_bytes[i] -= kAppendBytes;
        send_all(all[i].provider, delta.data(), delta.size());
      }
    }
  }
  relay.join();

  const double per_call = 100.0 * relay_cpu / seconds / calls;
  std::printf("%d calls x %d s, 20 ms frames, 4 messages per call per frame over loopback TCP\n", calls,
              seconds);
  std::printf(
      "relay thread CPU: %.2f s over %d s = %.2f%% of a core, %.3f%% per call; "
      "%ld messages, %.2f us per message\n",
      relay_cpu, seconds, 100.0 * relay_cpu / seconds, per_call, relayed_in_window,
      1e6 * relay_cpu / static_cast<double>(relayed_in_window));
  return 0;
}
