#include "ivr/net/loop_lag_monitor.hpp"

#include <atomic>

#include <boost/asio/steady_timer.hpp>

namespace ivr::net {

struct LoopLagMonitor::State : std::enable_shared_from_this<State> {
  State(boost::asio::any_io_executor executor, std::chrono::milliseconds period)
      : timer(std::move(executor)), period(period) {}

  void arm() {
    due = std::chrono::steady_clock::now() + period;
    timer.expires_at(due);
    timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || !self->running) return;
      self->note(std::chrono::steady_clock::now() - self->due);
      self->arm();
    });
  }

  void note(std::chrono::steady_clock::duration late) {
    const double sample =
        static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(late).count());
    // Weight 1/4 per sample: a single 100 ms stall reads 25 ms, then fades; a loop that stays late converges
    // on its lateness within a few periods.
    smoothed = smoothed * 0.75 + (sample > 0 ? sample : 0) * 0.25;
    lag_us.store(static_cast<std::int64_t>(smoothed), std::memory_order_relaxed);
  }

  boost::asio::steady_timer timer;
  std::chrono::milliseconds period;
  std::chrono::steady_clock::time_point due;
  double smoothed = 0;  // io thread only
  std::atomic<std::int64_t> lag_us{0};
  bool running = false;
};

LoopLagMonitor::LoopLagMonitor(boost::asio::any_io_executor executor, std::chrono::milliseconds period)
    : state_(std::make_shared<State>(std::move(executor), period)) {}

LoopLagMonitor::~LoopLagMonitor() {
  stop();
}

void LoopLagMonitor::start() {
  if (state_->running) return;
  state_->running = true;
  state_->arm();
}

void LoopLagMonitor::stop() {
  state_->running = false;
  state_->timer.cancel();
}

std::chrono::microseconds LoopLagMonitor::lag() const {
  return std::chrono::microseconds(state_->lag_us.load(std::memory_order_relaxed));
}

}  // namespace ivr::net
