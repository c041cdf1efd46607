#pragma once
// How late the io_context runs: a timer due every `period` notes how much later than due it fired. A
// loop with work to spare fires on time (tens of microseconds late); a saturated one, whose ready
// handlers outnumber what one thread runs in time, fires later and later. The figure is smoothed
// (exponentially, over about four periods) so one slow handler does not read as saturation.
// The realtime bridge refuses new calls while it is high (conversation::CallAdmission), and
// `ivr_io_loop_lag_seconds` exports it.

#include <chrono>
#include <memory>

#include <boost/asio/any_io_executor.hpp>

namespace ivr::net {

class LoopLagMonitor {
 public:
  explicit LoopLagMonitor(boost::asio::any_io_executor executor,
                          std::chrono::milliseconds period = std::chrono::milliseconds(50));
  ~LoopLagMonitor();
  LoopLagMonitor(const LoopLagMonitor&) = delete;
  LoopLagMonitor& operator=(const LoopLagMonitor&) = delete;

  void start();
  void stop();  // cancels the timer; lag() keeps its last value

  // The smoothed lateness; any thread may read it.
  std::chrono::microseconds lag() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace ivr::net
