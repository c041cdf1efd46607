#include "ivr/api/stream_routes.hpp"

#include "ivr/audio/mod_audio_stream.hpp"
#include "ivr/conversation/call_admission.hpp"
#include "ivr/conversation/chat_service.hpp"
#include "ivr/core/logging.hpp"
#include "ivr/net/websocket.hpp"
#include "ivr/telephony/call_control.hpp"
#include "ivr/telephony/node_registry.hpp"

namespace ivr::api {
namespace {

using boost::asio::awaitable;
using Deps = std::shared_ptr<StreamDependencies>;

// Close codes (RFC 6455): 1008 policy violation (refused tenant, token, secretary), 1003 unsupported
// data (a metadata frame we cannot read), 1011 internal error.
constexpr std::uint16_t kPolicyViolation = 1008;
constexpr std::uint16_t kUnsupportedData = 1003;
constexpr std::uint16_t kInternalError = 1011;
constexpr std::uint16_t kTryAgainLater = 1013;  // admission refused after the handshake

// What the upgrade check learned, handed to the handler through the request's path parameters (the same
// request object reaches both; keys no route pattern can produce).
constexpr const char* kAdmittedDomain = "ivr:admitted_domain_uuid";
constexpr const char* kAdmittedDomainName = "ivr:admitted_domain_name";
constexpr const char* kTokenDomain = "ivr:token_domain_uuid";
constexpr const char* kAdmittedDomainCap = "ivr:admitted_domain_max_realtime_calls";  // absent: the default

net::HttpResponse refusal(Errc code, const std::string& reason) {
  return net::error_response(static_cast<int>(code), reason);
}

std::optional<std::size_t> domain_cap(const store::Domain& domain) {
  if (!domain.max_realtime_calls) return std::nullopt;
  return static_cast<std::size_t>(*domain.max_realtime_calls);
}

// Counts and logs a refused call (the figures go to the log; the client gets client_message()).
void note_refusal(const Deps& d, const LogContext& ctx, conversation::AdmissionRefusal why,
                  std::optional<std::size_t> cap) {
  if (d->session.metrics != nullptr) {
    d->session.metrics
        ->counter("ivr_realtime_calls_refused_total", "Realtime calls refused by admission, by limit",
                  {{"reason", std::string(conversation::to_string(why))}})
        .inc();
  }
  module_logger("bridge")->warn("{} realtime call refused: {}", ctx, d->admission->explain(why, cap));
}

// The handshake's check (nothing is taken: the handler takes the place). A domain at its own cap is the
// client's limit (429); a full or saturated server is ours (503). Either way FreeSWITCH gets a plain HTTP
// refusal (mod_audio_stream::error) and the caller goes to a person. `domain` empty: the tenant is not
// known yet, so only the limits that do not depend on it can refuse.
std::optional<net::HttpResponse> refuse_if_no_room(const Deps& d, const LogContext& ctx,
                                                   const std::string& domain,
                                                   std::optional<std::size_t> cap) {
  if (d->admission == nullptr) return std::nullopt;
  const conversation::AdmissionRefusal why = d->admission->check(domain, cap);
  if (why == conversation::AdmissionRefusal::none) return std::nullopt;
  note_refusal(d, ctx, why, cap);
  const bool tenant = why == conversation::AdmissionRefusal::domain_full;
  net::HttpResponse response =
      refusal(tenant ? Errc::rate_limited : Errc::unavailable, d->admission->client_message(why, cap));
  response.headers.set("Retry-After", "1");
  return response;
}

// URL + handshake headers, merged (the metadata frame, if any, comes later).
Result<audio::StreamMetadata> handshake_metadata(const net::HttpRequest& request, std::string& reason) {
  Result<audio::StreamMetadata> url = audio::parse_stream_target(request.target, &reason);
  if (!url) return url;
  audio::HeaderList headers;
  for (const auto& f : request.headers.fields()) headers.emplace_back(f.name, f.value);
  Result<audio::StreamMetadata> from_headers = audio::parse_stream_headers(headers, &reason);
  if (!from_headers) return from_headers;
  return audio::merge_stream_metadata(&*from_headers, &*url, nullptr, &reason);
}

awaitable<std::optional<net::HttpResponse>> check_upgrade(Deps d, net::HttpRequest& request) {
  std::string reason;
  Result<audio::StreamMetadata> meta = handshake_metadata(request, reason);
  if (!meta) co_return refusal(static_cast<Errc>(meta.error().value()), reason);
  if (meta->domain_uuid.empty()) {
    // The tenant will come with the metadata frame: only the token now, and the limits that do not
    // depend on the tenant (the domain's own is checked once the frame names it).
    TenantGuard::TokenCheck checked = co_await d->guard.authenticate(request, store::TokenScope::call);
    if (checked.rejection) co_return std::move(checked.rejection);
    const LogContext ctx{request.request_id, "", meta->call_uuid};
    if (auto no_room = refuse_if_no_room(d, ctx, "", std::nullopt)) co_return std::move(no_room);
    if (checked.token->domain_uuid) request.path_params[kTokenDomain] = *checked.token->domain_uuid;
    co_return std::nullopt;
  }
  request.headers.set("X-Domain-UUID", meta->domain_uuid);
  AuthOutcome outcome = co_await d->guard.admit(request, store::TokenScope::call);
  if (outcome.rejection) co_return std::move(outcome.rejection);
  const store::Domain& domain = outcome.request->domain;
  const LogContext ctx{request.request_id, domain.uuid, meta->call_uuid};
  if (auto no_room = refuse_if_no_room(d, ctx, domain.uuid, domain_cap(domain))) co_return std::move(no_room);
  request.path_params[kAdmittedDomain] = domain.uuid;
  request.path_params[kAdmittedDomainName] = domain.name;
  if (domain.max_realtime_calls)
    request.path_params[kAdmittedDomainCap] = std::to_string(*domain.max_realtime_calls);
  co_return std::nullopt;
}

std::string param(const net::HttpRequest& request, const char* key) {
  auto it = request.path_params.find(key);
  return it == request.path_params.end() ? std::string() : it->second;
}

awaitable<void> stream(Deps d, net::HttpRequest& request, net::WebSocket& socket) {
  auto log = module_logger("bridge");
  std::string reason;
  Result<audio::StreamMetadata> handshake = handshake_metadata(request, reason);
  if (!handshake) {  // checked at the upgrade; only a bug gets here
    co_await socket.close(kInternalError, "bad stream target");
    co_return;
  }
  std::string domain_uuid = param(request, kAdmittedDomain);
  std::string domain_name = param(request, kAdmittedDomainName);
  std::optional<std::size_t> cap;
  if (const std::string text = param(request, kAdmittedDomainCap); !text.empty()) cap = std::stoull(text);
  const LogContext ctx{request.request_id, domain_uuid, handshake->call_uuid};

  // The metadata frame: normally first; mod_audio_stream does not promise it, so audio that comes before
  // it is kept (bounded). A stream admitted at the handshake does not wait long for it.
  std::vector<std::string> early;
  std::optional<audio::StreamMetadata> frame_meta;
  const std::size_t patience = domain_uuid.empty() ? d->max_early_frames : 15;
  while (!frame_meta && early.size() < patience) {
    Result<net::WebSocketMessage> message = co_await socket.read();
    if (!message) {
      log->info("{} stream closed before the call started", ctx);
      co_return;
    }
    if (message->binary) {
      early.push_back(std::move(message->data));
      continue;
    }
    Result<audio::StreamMetadata> parsed = audio::parse_stream_metadata(message->data, &reason);
    if (!parsed) {
      if (domain_uuid.empty()) {  // the frame was the only place left for the tenant
        log->warn("{} metadata frame refused: {}", ctx, reason);
        co_await socket.close(kUnsupportedData, "metadata: " + reason);
        co_return;
      }
      // The tenant came with the handshake: a dialplan's odd metadata text does not end the call.
      log->warn("{} metadata frame ignored: {}", ctx, reason);
      frame_meta.emplace();
      continue;
    }
    frame_meta = std::move(*parsed);
  }
  Result<audio::StreamMetadata> merged =
      audio::merge_stream_metadata(nullptr, &*handshake, frame_meta ? &*frame_meta : nullptr, &reason);
  if (!merged) {
    co_await socket.close(kPolicyViolation, reason);
    co_return;
  }
  if (domain_uuid.empty()) {
    if (merged->domain_uuid.empty()) {
      co_await socket.close(kPolicyViolation, "no domain_uuid in the URL, the headers or the metadata");
      co_return;
    }
    request.headers.set("X-Domain-UUID", merged->domain_uuid);
    AuthOutcome outcome = co_await d->guard.admit(request, store::TokenScope::call);
    if (outcome.rejection) {
      const std::string body = outcome.rejection->body;
      log->warn("{} stream refused: {}", ctx, body);
      co_await socket.close(kPolicyViolation, body.substr(0, 120));
      co_return;
    }
    domain_uuid = outcome.request->domain.uuid;
    domain_name = outcome.request->domain.name;
    cap = domain_cap(outcome.request->domain);
  } else if (!merged->domain_uuid.empty() && merged->domain_uuid != domain_uuid) {
    co_await socket.close(kPolicyViolation, "the metadata names another domain");
    co_return;
  }

  // The place is taken here, for the whole session: the handshake only checked (another call may have
  // taken the last place since), and a tenant known only from the metadata frame was not checked at all.
  conversation::CallAdmission::Place place;
  if (d->admission != nullptr) {
    conversation::AdmissionRefusal why = conversation::AdmissionRefusal::none;
    place = d->admission->admit(domain_uuid, cap, why);
    if (!place) {
      note_refusal(d, LogContext{request.request_id, domain_uuid, handshake->call_uuid}, why, cap);
      co_await socket.close(kTryAgainLater, d->admission->client_message(why, cap).substr(0, 120));
      co_return;
    }
  }

  std::optional<std::string> secretary_id;
  if (!merged->secretary_id.empty()) secretary_id = merged->secretary_id;
  Result<conversation::Secretary> secretary =
      co_await d->secretaries.resolve(domain_uuid, domain_name, secretary_id);
  if (!secretary) {
    co_await socket.close(secretary.error() == Errc::not_found ? kPolicyViolation : kInternalError,
                          secretary.error() == Errc::not_found ? "no such secretary in this domain"
                                                               : "cannot read the secretary");
    co_return;
  }

  conversation::RealtimeCall call;
  call.call_uuid = merged->call_uuid;
  call.domain_uuid = domain_uuid;
  call.domain_name = domain_name;
  call.caller_id = merged->caller_id;
  call.format.sample_rate = merged->sample_rate.value_or(d->default_sample_rate);
  call.format.channels = merged->channels.value_or(1);
  call.playback = merged->playback.value_or(secretary->playback == "file" ? audio::PlaybackMode::file
                                                                          : audio::PlaybackMode::stream);
  call.secretary = std::move(*secretary);

  conversation::CallSessionDeps session = d->session;
  telephony::CallControl* control = nullptr;
  if (d->nodes != nullptr) {
    telephony::EslNodeRegistry::Node* node = nullptr;
    if (!merged->freeswitch_node.empty()) node = d->nodes->by_name(merged->freeswitch_node);
    if (node == nullptr) node = d->nodes->by_peer(request.remote_address);
    if (node == nullptr) node = d->nodes->default_node();
    if (node != nullptr) control = node->control.get();
  }
  session.control = control;
  conversation::CallSessionReport report =
      co_await conversation::run_call_session(socket, std::move(call), std::move(early), session);
  (void)report;
}

}  // namespace

void register_stream_routes(net::Router& router, Deps d) {
  for (const char* pattern : {"/stream/{call_uuid}", "/stream/{domain_uuid}/{call_uuid}"}) {
    router.add_websocket(
        pattern, [d](net::HttpRequest& r, net::WebSocket& s) -> awaitable<void> { return stream(d, r, s); },
        [d](net::HttpRequest& r) -> awaitable<std::optional<net::HttpResponse>> {
          return check_upgrade(d, r);
        });
  }
}

}  // namespace ivr::api
