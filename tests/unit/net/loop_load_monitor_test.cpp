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

TEST(LoopLoadEstimator, SmoothsLatenessAndBusyShareOverAFewSamples) {
  LoopLoadEstimator e;
  EXPECT_EQ(e.value().lag, 0us);
  EXPECT_EQ(e.value().busy, 0);
  // One stall: a quarter of it shows, then it fades by a quarter per sample.
  e.add(100'000us, 100ms, 150ms);
  EXPECT_EQ(e.value().lag, 25'000us);
  EXPECT_NEAR(e.value().busy, 0.25 * (100.0 / 150.0), 1e-9);
  e.add(0us, 0ms, 50ms);
  EXPECT_EQ(e.value().lag, 18'750us);
  // A loop that stays saturated converges on its figures.
  for (int i = 0; i < 40; ++i) e.add(60'000us, 50ms, 50ms);
  EXPECT_NEAR(static_cast<double>(e.value().lag.count()), 60'000, 10);
  EXPECT_NEAR(e.value().busy, 1.0, 1e-4);
  // Early timers and clock oddities do not read as negative load or more than a whole core.
  LoopLoadEstimator odd;
  odd.add(-5'000us, 80ms, 50ms);
  EXPECT_EQ(odd.value().lag, 0us);
  EXPECT_DOUBLE_EQ(odd.value().busy, 0.25);
  odd.add(0us, 10ms, 0ms);  // no wall time: the busy share is left as it was
  EXPECT_DOUBLE_EQ(odd.value().busy, 0.25);
}

// The monitor on a real loop: loose bounds, since it reads the clocks of a shared test machine.
TEST(LoopLoadMonitor, AnIdleLoopIsOnTimeAndIdleABusyOneReadsLateAndBusy) {
  boost::asio::io_context io;
  LoopLoadMonitor monitor(io.get_executor(), 10ms);
  monitor.start();
  io.run_for(200ms);
  // An idle loop fires its timers within a few ms even on a loaded test machine, and hardly runs.
  EXPECT_LT(monitor.lag(), 30ms) << monitor.lag().count() << " us";
  EXPECT_LT(monitor.busy(), 0.4);

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
  EXPECT_GT(peak.lag, 20ms) << peak.lag.count() << " us";
  EXPECT_GT(peak.busy, 0.5) << peak.busy;

  // Once the work is gone the figures fade back.
  io.restart();
  io.run_for(400ms);
  EXPECT_LT(monitor.lag(), 30ms) << monitor.lag().count() << " us";
  EXPECT_LT(monitor.busy(), 0.4) << monitor.busy();
  monitor.stop();
  io.restart();
  io.run_for(20ms);
}

}  // namespace
}  // namespace ivr::net
