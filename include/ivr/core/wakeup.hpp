#pragma once
// A one-waiter wake-up for a coroutine on the io thread: wait() suspends until notify(). It replaces a
// steady_timer used as a condition variable on the per-frame path: waking through a timer costs a
// timer-heap removal and a completion on cancel, then a heap insertion to park again; notify() is one
// post. Include only from .cpp files: it pulls in Asio.
//
// io thread only (not thread-safe). A notify() with nobody waiting is remembered: the next wait() returns
// at once, so a coroutine that checks its condition and then waits cannot miss a notify in between.
// No cancellation: whoever stops the waiter sets its own flag and notifies. Destroying a Wakeup with a
// waiter destroys the waiting coroutine unresumed, as an io_context does at shutdown with any handler.

#include <optional>
#include <utility>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace ivr {

class Wakeup {
 public:
  explicit Wakeup(boost::asio::any_io_executor ex) : ex_(std::move(ex)) {}
  Wakeup(const Wakeup&) = delete;
  Wakeup& operator=(const Wakeup&) = delete;

  // One waiter at a time.
  boost::asio::awaitable<void> wait() {
    if (pending_) {
      pending_ = false;
      co_return;
    }
    auto park = [this](boost::asio::any_completion_handler<void()> handler) {
      waiter_.emplace(std::move(handler));
    };
    co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>, void()>(
        park, boost::asio::use_awaitable);
  }

  // Resumes the waiter (through the executor, never inline), or lets the next wait() through.
  void notify() {
    if (!waiter_) {
      pending_ = true;
      return;
    }
    auto handler = std::move(*waiter_);
    waiter_.reset();
    boost::asio::post(ex_, std::move(handler));
  }

  bool waiting() const { return waiter_.has_value(); }

 private:
  boost::asio::any_io_executor ex_;
  std::optional<boost::asio::any_completion_handler<void()>> waiter_;
  bool pending_ = false;
};

}  // namespace ivr
