#include "ivr/net/loop_load_monitor.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

namespace ivr::net {
namespace {

using namespace std::chrono_literals;

// Keeps the thread busy (on the CPU, unlike a sleep) for `d`.
void spin_for(std::chrono::milliseconds d) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) {
  }
}

TEST(LoopLoadMonitor, AnIdleLoopIsOnTimeAndIdleABusyOneReadsLateAndBusy) {
  boost::asio::io_context io;
  LoopLoadMonitor monitor(io.get_executor(), 10ms);
  monitor.start();
  io.run_for(200ms);
  // An idle loop fires its timers within a few ms even on a loaded test machine, and hardly runs.
  EXPECT_LT(monitor.lag(), 20ms) << monitor.lag().count() << " us";
  EXPECT_LT(monitor.busy(), 0.3);

  // A chain of 16 handlers each holding the thread for 60 ms on the CPU: the loop is saturated, every
  // timer fires about 50 ms late, and the thread runs all the time. The figures climb while the chain runs.
  int steps = 0;
  LoopLoad peak;
  std::function<void()> busy = [&] {
    spin_for(60ms);
    const LoopLoad now = monitor.load();
    peak.lag = std::max(peak.lag, now.lag);
    peak.busy = std::max(peak.busy, now.busy);
    if (++steps < 16) boost::asio::post(io, busy);
  };
  boost::asio::post(io, busy);
  io.restart();
  io.run_for(1200ms);
  EXPECT_EQ(steps, 16);
  EXPECT_GT(peak.lag, 30ms) << peak.lag.count() << " us";
  EXPECT_GT(peak.busy, 0.7) << peak.busy;

  // Once the work is gone the figures fade back.
  io.restart();
  io.run_for(400ms);
  EXPECT_LT(monitor.lag(), 20ms) << monitor.lag().count() << " us";
  EXPECT_LT(monitor.busy(), 0.3) << monitor.busy();
  monitor.stop();
  io.restart();
  io.run_for(20ms);
}

}  // namespace
}  // namespace ivr::net
