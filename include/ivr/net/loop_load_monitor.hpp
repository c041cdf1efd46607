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

class LoopLoadMonitor {
 public:
  explicit LoopLoadMonitor(boost::asio::any_io_executor executor,
                           std::chrono::milliseconds period = std::chrono::milliseconds(50));
  ~LoopLoadMonitor();
  LoopLoadMonitor(const LoopLoadMonitor&) = delete;
  LoopLoadMonitor& operator=(const LoopLoadMonitor&) = delete;

  // start() begins measuring on the io thread (from any thread). stop() cancels the timer; the figures
  // keep their last values.
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
