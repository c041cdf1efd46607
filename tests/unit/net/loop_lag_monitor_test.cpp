#include "ivr/net/loop_lag_monitor.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

namespace ivr::net {
namespace {

using namespace std::chrono_literals;

TEST(LoopLagMonitor, AnIdleLoopRunsOnTimeAndABlockedOneReadsLate) {
  boost::asio::io_context io;
  LoopLagMonitor monitor(io.get_executor(), 10ms);
  monitor.start();
  io.run_for(200ms);
  // An idle loop fires its timers within a few ms even on a loaded test machine.
  EXPECT_LT(monitor.lag(), 20ms) << monitor.lag().count() << " us";

  // A chain of handlers each holding the thread for 60 ms: the loop is saturated, and every timer fires
  // about 50 ms late. The figure climbs towards that while the chain runs.
  int steps = 0;
  std::chrono::microseconds peak{0};
  std::function<void()> busy = [&] {
    std::this_thread::sleep_for(60ms);
    peak = std::max(peak, monitor.lag());
    if (++steps < 8) boost::asio::post(io, busy);
  };
  boost::asio::post(io, busy);
  io.restart();
  io.run_for(700ms);
  EXPECT_EQ(steps, 8);
  EXPECT_GT(peak, 30ms) << peak.count() << " us";

  // Once the work is gone the figure fades back.
  io.restart();
  io.run_for(400ms);
  EXPECT_LT(monitor.lag(), 20ms) << monitor.lag().count() << " us";
  monitor.stop();
  io.restart();
  io.run_for(20ms);
}

}  // namespace
}  // namespace ivr::net
