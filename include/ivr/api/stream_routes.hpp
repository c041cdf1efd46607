#pragma once
// WS /stream/{call_uuid} and /stream/{domain_uuid}/{call_uuid}: FreeSWITCH mod_audio_stream's connection
// for a realtime call (PROTOCOLS §1, DESIGN §6).
//
// The handshake is checked like any REST call (call-scope token from X-Api-Key or Authorization, sent by
// STREAM_EXTRA_HEADERS): a bad token, a malformed call uuid or an unknown domain refuse the upgrade with
// the usual JSON error. The tenant may come from the handshake headers (x-domain-uuid), the URL or, when
// neither has it, the first text frame (the metadata): the session then starts only once that frame has
// been checked (audio arriving first is kept, up to a bound), and a refusal closes the socket with 1008
// and the reason. New calls over the admission limits are refused the same way (see `admission`).

#include <chrono>
#include <memory>
#include <string>

#include "ivr/api/tenant_guard.hpp"
#include "ivr/conversation/call_session.hpp"
#include "ivr/net/router.hpp"

namespace ivr::conversation {
class CallAdmission;
class SecretaryDirectory;
}  // namespace ivr::conversation
namespace ivr::telephony {
class EslNodeRegistry;
}

namespace ivr::api {

struct StreamDependencies {
  TenantGuard& guard;
  conversation::SecretaryDirectory& secretaries;
  conversation::CallSessionDeps session;        // control is chosen per call from `nodes`
  telephony::EslNodeRegistry* nodes = nullptr;  // null: no Event Socket configured
  int default_sample_rate = 16'000;             // when neither URL nor metadata say (`mono 16k` in our Lua)
  std::size_t max_early_frames = 50;            // audio kept while waiting for the metadata frame (1 s)
  // Over a limit, the handshake is refused (503 full or overloaded, 429 the domain's cap; Retry-After).
  // The place itself is taken once the tenant is certain (after the metadata frame, if it is needed):
  // a call that loses it there (another call took the last place, the load crossed the limit in
  // between, or the domain named only by the frame is at its cap) is closed with 1013 (try again later).
  // Null: no limits.
  conversation::CallAdmission* admission = nullptr;
};

void register_stream_routes(net::Router& router, std::shared_ptr<StreamDependencies> deps);

}  // namespace ivr::api
