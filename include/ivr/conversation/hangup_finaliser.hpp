#pragma once
// CHANNEL_HANGUP_COMPLETE from FreeSWITCH (any node's Event Socket): the last word on a call.
// - A realtime session of this instance that still has the call ends at once (LiveCalls).
// - Otherwise, after a grace period, a call still `active` in the store is finalised as `abandoned`, so its
//   call_completed webhook goes out even when nobody reported the end: a Lua script killed mid-call, a
//   daemon restarted during a realtime call, a WebSocket that never closed. The grace period lets the
//   reports that normally follow a hangup arrive first (the Lua script's POST /calls/{uuid}/end, the
//   session of another instance finishing), so they, not this fallback, decide the resolution; ending a
//   completed call is a no-op, so late reports change nothing either.
// io thread only.

#include <chrono>
#include <string>

#include <boost/asio/any_io_executor.hpp>

namespace ivr::store {
class CallRepository;
}

namespace ivr::conversation {

class CallService;
class LiveCalls;

struct HangupFinaliserOptions {
  std::chrono::milliseconds grace{std::chrono::seconds(5)};
};

class HangupFinaliser {
 public:
  HangupFinaliser(boost::asio::any_io_executor executor, LiveCalls& live_calls, CallService& calls,
                  HangupFinaliserOptions options = {});

  // `domain_uuid` is the channel's variable_domain_uuid (FusionPBX sets it); without it only a live
  // session can be ended, since calls are looked up within their domain.
  void channel_hung_up(std::string node, std::string call_uuid, std::string domain_uuid);

 private:
  boost::asio::any_io_executor executor_;
  LiveCalls& live_calls_;
  CallService& calls_;
  HangupFinaliserOptions options_;
};

}  // namespace ivr::conversation
