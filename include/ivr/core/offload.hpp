#pragma once
// Runs blocking work on a worker pool and resumes the awaiting coroutine on its own executor.
// Include only from .cpp files: it pulls in Asio.

#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace ivr {

// co_await offload(pool, fn): fn runs on `pool`; its value is returned (or its exception rethrown) on the
// caller's executor. fn must not touch io_context-owned objects.
template <class Fn>
boost::asio::awaitable<std::invoke_result_t<Fn>> offload(boost::asio::thread_pool& pool, Fn fn) {
  using R = std::invoke_result_t<Fn>;
  auto caller = co_await boost::asio::this_coro::executor;
  auto initiate = [&pool, caller, fn = std::move(fn)](auto handler) mutable {
    boost::asio::post(pool, [caller, fn = std::move(fn), handler = std::move(handler)]() mutable {
      std::exception_ptr error;
      if constexpr (std::is_void_v<R>) {
        try {
          fn();
        } catch (...) {
          error = std::current_exception();
        }
        boost::asio::post(caller, [handler = std::move(handler), error]() mutable { handler(error); });
      } else {
        std::optional<R> value;
        try {
          value.emplace(fn());
        } catch (...) {
          error = std::current_exception();
        }
        boost::asio::post(caller, [handler = std::move(handler), error, value = std::move(value)]() mutable {
          handler(error, std::move(value));
        });
      }
    });
  };
  if constexpr (std::is_void_v<R>) {
    co_await boost::asio::async_initiate<decltype(boost::asio::use_awaitable), void(std::exception_ptr)>(
        std::move(initiate), boost::asio::use_awaitable);
  } else {
    std::optional<R> result =
        co_await boost::asio::async_initiate<decltype(boost::asio::use_awaitable),
                                             void(std::exception_ptr, std::optional<R>)>(
            std::move(initiate), boost::asio::use_awaitable);
    co_return std::move(*result);
  }
}

}  // namespace ivr
