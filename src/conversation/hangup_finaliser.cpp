#include "ivr/conversation/hangup_finaliser.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "ivr/conversation/call_service.hpp"
#include "ivr/conversation/call_session.hpp"
#include "ivr/core/ids.hpp"
#include "ivr/core/logging.hpp"

namespace ivr::conversation {

namespace asio = boost::asio;

namespace {

asio::awaitable<void> finalise_if_still_active(CallService& calls, std::chrono::milliseconds grace,
                                               std::string node, std::string call_uuid,
                                               std::string domain_uuid) {
  asio::steady_timer wait(co_await asio::this_coro::executor);
  wait.expires_after(grace);
  boost::system::error_code ignored;
  co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ignored));

  auto log = module_logger("calls");
  Result<std::optional<store::CallRecord>> call = co_await calls.get(domain_uuid, call_uuid);
  if (!call) {
    log->warn("call {} hung up on {}: cannot read its record: {}", call_uuid, node, call.error().message());
    co_return;
  }
  if (!*call || (*call)->status != "active") co_return;  // not ours, or already reported
  CallEndInput end;
  end.domain_uuid = domain_uuid;
  end.call_uuid = call_uuid;
  end.resolution = "abandoned";
  end.caller_id = (*call)->caller_id;
  const std::string mode = (*call)->mode;
  Result<store::CallRecord> ended = co_await calls.end(std::move(end));
  log->info("{} call {} hung up on {} without an end report: {}", mode, call_uuid, node,
            ended ? "finalised as abandoned" : ended.error().message());
}

}  // namespace

HangupFinaliser::HangupFinaliser(asio::any_io_executor executor, LiveCalls& live_calls, CallService& calls,
                                 HangupFinaliserOptions options)
    : executor_(std::move(executor)), live_calls_(live_calls), calls_(calls), options_(options) {}

void HangupFinaliser::channel_hung_up(std::string node, std::string call_uuid, std::string domain_uuid) {
  const std::optional<std::string> uuid = normalize_uuid(call_uuid);
  if (!uuid) return;  // not a call of ours: FreeSWITCH channels outside the AI flow hang up too
  if (live_calls_.hung_up(*uuid)) return;  // the session ends itself and finalises the call
  const std::optional<std::string> domain = normalize_uuid(domain_uuid);
  if (!domain) return;
  asio::co_spawn(executor_, finalise_if_still_active(calls_, options_.grace, std::move(node), *uuid, *domain),
                 asio::detached);
}

}  // namespace ivr::conversation
