#include "ivr/net/loop_load_monitor.hpp"

#include <time.h>

#include <algorithm>
#include <atomic>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

namespace ivr::net {
namespace {

// The calling thread's CPU time: the monitor's handler runs on the io thread, so this is that thread's.
std::chrono::nanoseconds thread_cpu_time() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

// Weight of each new sample: 1/4. A single 100 ms stall reads 25 ms, then fades; a loop that stays late
// or busy converges on its figure within a few periods.
constexpr double kWeight = 0.25;

}  // namespace

struct LoopLoadMonitor::State : std::enable_shared_from_this<State> {
  State(boost::asio::any_io_executor executor, std::chrono::milliseconds period)
      : timer(std::move(executor)), period(period) {}

  void arm() {
    due = std::chrono::steady_clock::now() + period;
    timer.expires_at(due);
    timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || !self->running) return;
      self->sample();
      self->arm();
    });
  }

  void sample() {
    const auto now = std::chrono::steady_clock::now();
    const auto cpu = thread_cpu_time();
    const double late = std::chrono::duration<double, std::micro>(now - due).count();
    const double wall = std::chrono::duration<double>(now - last_wall).count();
    const double ran = std::chrono::duration<double>(cpu - last_cpu).count();
    last_wall = now;
    last_cpu = cpu;
    lag_us = lag_us * (1 - kWeight) + std::max(late, 0.0) * kWeight;
    if (wall > 0) busy = busy * (1 - kWeight) + std::clamp(ran / wall, 0.0, 1.0) * kWeight;
    published_lag_us.store(static_cast<std::int64_t>(lag_us), std::memory_order_relaxed);
    published_busy.store(busy, std::memory_order_relaxed);
  }

  boost::asio::steady_timer timer;
  std::chrono::milliseconds period;
  std::chrono::steady_clock::time_point due;
  std::chrono::steady_clock::time_point last_wall;
  std::chrono::nanoseconds last_cpu{0};
  double lag_us = 0, busy = 0;  // io thread only
  std::atomic<std::int64_t> published_lag_us{0};
  std::atomic<double> published_busy{0};
  bool running = false;
};

LoopLoadMonitor::LoopLoadMonitor(boost::asio::any_io_executor executor, std::chrono::milliseconds period)
    : state_(std::make_shared<State>(std::move(executor), period)) {}

LoopLoadMonitor::~LoopLoadMonitor() {
  stop();
}

void LoopLoadMonitor::start() {
  if (state_->running) return;
  state_->running = true;
  // The baseline CPU time must be the io thread's: take it there.
  boost::asio::post(state_->timer.get_executor(), [self = state_] {
    if (!self->running) return;
    self->last_wall = std::chrono::steady_clock::now();
    self->last_cpu = thread_cpu_time();
    self->arm();
  });
}

void LoopLoadMonitor::stop() {
  state_->running = false;
  state_->timer.cancel();
}

LoopLoad LoopLoadMonitor::load() const {
  return {std::chrono::microseconds(state_->published_lag_us.load(std::memory_order_relaxed)),
          state_->published_busy.load(std::memory_order_relaxed)};
}

}  // namespace ivr::net
