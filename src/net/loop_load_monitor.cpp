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

constexpr double kWeight = 0.25;  // of each new sample (see LoopLoadEstimator)

}  // namespace

void LoopLoadEstimator::add(std::chrono::microseconds late, std::chrono::nanoseconds ran,
                            std::chrono::nanoseconds wall) {
  const double late_us = std::max(static_cast<double>(late.count()), 0.0);
  lag_us_ = lag_us_ * (1 - kWeight) + late_us * kWeight;
  if (wall.count() > 0) {
    const double share = static_cast<double>(ran.count()) / static_cast<double>(wall.count());
    busy_ = busy_ * (1 - kWeight) + std::clamp(share, 0.0, 1.0) * kWeight;
  }
}

LoopLoad LoopLoadEstimator::value() const {
  return {std::chrono::microseconds(static_cast<std::int64_t>(lag_us_)), busy_};
}

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
    estimator.add(std::chrono::duration_cast<std::chrono::microseconds>(now - due), cpu - last_cpu,
                  now - last_wall);
    last_wall = now;
    last_cpu = cpu;
    const LoopLoad load = estimator.value();
    published_lag_us.store(load.lag.count(), std::memory_order_relaxed);
    published_busy.store(load.busy, std::memory_order_relaxed);
  }

  boost::asio::steady_timer timer;
  std::chrono::milliseconds period;
  std::chrono::steady_clock::time_point due;
  std::chrono::steady_clock::time_point last_wall;
  std::chrono::nanoseconds last_cpu{0};
  LoopLoadEstimator estimator;  // io thread only
  std::atomic<std::int64_t> published_lag_us{0};
  std::atomic<double> published_busy{0};
  std::atomic<bool> running{false};
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
