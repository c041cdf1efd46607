#pragma once
// How loaded the io_context's thread is, measured from inside it by a timer due every `period`:
// - busy(): the share of wall time the thread spent running (its CPU time over the period). One io
//   thread carries every call's audio, so this is the process's headroom for more calls: near 1 the
//   queue of ready handlers starts to grow and every call's latency with it.
// - lag(): how much later than due the timer fired. A loop with work to spare fires within tens of
//   microseconds; a saturated one, or one starved of CPU by other processes (which busy() does not see),
//   fires later and later.
// Both are smoothed exponentially (about four periods), so one slow handler does not read as overload.
// The realtime bridge refuses new calls while either is high (conversation::CallAdmission); both are
// exported (`ivr_io_loop_busy_ratio`, `ivr_io_loop_lag_seconds`).

#include <chrono>
#include <memory>

#include <boost/asio/any_io_executor.hpp>

namespace ivr::net {

struct LoopLoad {
  std::chrono::microseconds lag{0};
  double busy = 0;  // 0..1
};

// The arithmetic, without clocks (sans-I/O): each sample is how late the timer fired and how long the
// thread ran over how much wall time since the last one. Each new sample weighs 1/4: a single 100 ms
// stall reads 25 ms, then fades; a loop that stays late or busy converges on its figure within a few
// samples.
class LoopLoadEstimator {
 public:
  void add(std::chrono::microseconds late, std::chrono::nanoseconds ran, std::chrono::nanoseconds wall);
  LoopLoad value() const;

 private:
  double lag_us_ = 0;
  double busy_ = 0;
};

class LoopLoadMonitor {
 public:
  explicit LoopLoadMonitor(boost::asio::any_io_executor executor,
                           std::chrono::milliseconds period = std::chrono::milliseconds(50));
  ~LoopLoadMonitor();
  LoopLoadMonitor(const LoopLoadMonitor&) = delete;
  LoopLoadMonitor& operator=(const LoopLoadMonitor&) = delete;

  // Call both on the io thread, or while it is not running (before run(), after it returned). start()
  // takes its first CPU reading on the io thread. stop() cancels the timer; the figures keep their last
  // values.
  void start();
  void stop();

  // The smoothed figures; any thread may read them.
  LoopLoad load() const;
  std::chrono::microseconds lag() const { return load().lag; }
  double busy() const { return load().busy; }

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace ivr::net
