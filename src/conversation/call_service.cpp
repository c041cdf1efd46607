#include "ivr/conversation/call_service.hpp"

#include <nlohmann/json.hpp>

#include "ivr/core/logging.hpp"
#include "ivr/webhooks/outbox.hpp"
#include "ivr/webhooks/outbox_sql.hpp"

namespace ivr::conversation {

std::string call_completed_payload(const store::CallRecord& call, const std::string& secretary_name) {
  nlohmann::json transcript = nlohmann::json::array();
  for (const auto& m : call.messages) {
    nlohmann::json line = {{"role", m.role}, {"text", m.content}, {"at", m.created_at}};
    if (!m.action.empty()) line["action"] = m.action;
    if (!m.transfer_to.empty()) line["transfer_to"] = m.transfer_to;
    transcript.push_back(line);
  }
  nlohmann::json body = {
      {"event", "call_completed"},
      {"call_uuid", call.call_uuid},
      {"domain_uuid", call.domain_uuid},
      {"caller_id", call.caller_id},
      {"secretary_name", secretary_name},
      {"duration_seconds", call.duration_seconds.value_or(0)},
      {"turns", call.turns},
      {"transcript", transcript},
      {"resolution", call.resolution},
      {"transferred_to",
       call.transferred_to.empty() ? nlohmann::json() : nlohmann::json(call.transferred_to)},
      {"started_at", call.started_at},
      {"ended_at", call.ended_at}};
  body["mode"] = call.mode;
  if (!call.stats_json.empty()) {
    const auto stats = nlohmann::json::parse(call.stats_json, nullptr, false);
    if (stats.is_object()) body["realtime"] = stats;
  }
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

CallService::CallService(store::CallRepository& calls, SecretaryDirectory& secretaries,
                         webhooks::WebhookSender& sender)
    : calls_(calls), secretaries_(secretaries), sender_(sender) {}

boost::asio::awaitable<Result<store::CallRecord>> CallService::end(CallEndInput input) {
  // The secretary that handled the call (or the domain's default) owns the webhook settings.
  Result<std::optional<store::CallRecord>> known = co_await calls_.get(input.domain_uuid, input.call_uuid);
  if (!known) co_return known.error();
  std::optional<std::string> secretary_id;
  if (known->has_value() && !(*known)->secretary_id.empty()) secretary_id = (*known)->secretary_id;
  Result<Secretary> secretary =
      co_await secretaries_.resolve(input.domain_uuid, input.domain_name, secretary_id);
  if (!secretary) {
    // A deleted secretary must not keep the call from being completed: fall back to the default.
    secretary = co_await secretaries_.resolve(input.domain_uuid, input.domain_name, std::nullopt);
    if (!secretary) co_return secretary.error();
  }

  store::InCallEndTransaction queue_webhook;
  if (!secretary->webhook_url.empty()) {
    webhooks::OutboxEntry entry;
    entry.domain_uuid = input.domain_uuid;
    entry.event = "call_completed";
    entry.target_url = secretary->webhook_url;
    if (!secretary->webhook_secret_sealed.empty()) entry.secret_sealed = secretary->webhook_secret_sealed;
    entry.dedupe_key = input.call_uuid;
    const std::string caller_id = input.caller_id;
    queue_webhook = [entry, name = secretary->name, caller_id](pqxx::transaction_base& tx,
                                                               const store::CallRecord& call) mutable {
      store::CallRecord with_caller = call;
      if (with_caller.caller_id.empty()) with_caller.caller_id = caller_id;
      entry.payload_json = call_completed_payload(with_caller, name);
      webhooks::blocking_enqueue_webhook(tx, entry);
    };
  }
  store::CallEnd end{input.resolution, input.transferred_to, input.duration_seconds};
  Result<store::CallRecord> done =
      co_await calls_.end(input.domain_uuid, input.call_uuid, std::move(end), std::move(queue_webhook));
  if (done && !secretary->webhook_url.empty()) sender_.notify();
  co_return done;
}

boost::asio::awaitable<Result<std::optional<store::CallRecord>>> CallService::get(std::string domain_uuid,
                                                                                  std::string call_uuid) {
  co_return co_await calls_.get(std::move(domain_uuid), std::move(call_uuid));
}

boost::asio::awaitable<Result<void>> CallService::ticket_requested(const Secretary& secretary,
                                                                   std::string call_uuid,
                                                                   std::string caller_id,
                                                                   std::string summary) {
  if (secretary.webhook_url.empty()) {
    module_logger("calls")->info("[domain={} call={}] ticket requested but the secretary has no webhook_url",
                                 secretary.domain_uuid, call_uuid);
    co_return Result<void>();
  }
  webhooks::OutboxEntry entry;
  entry.domain_uuid = secretary.domain_uuid;
  entry.event = "ticket_requested";
  entry.target_url = secretary.webhook_url;
  if (!secretary.webhook_secret_sealed.empty()) entry.secret_sealed = secretary.webhook_secret_sealed;
  entry.payload_json = nlohmann::json{{"event", "ticket_requested"},          {"call_uuid", call_uuid},
                                      {"domain_uuid", secretary.domain_uuid}, {"caller_id", caller_id},
                                      {"secretary_name", secretary.name},     {"summary", summary}}
                           .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  Result<std::optional<std::int64_t>> queued = co_await sender_.enqueue(std::move(entry));
  if (!queued) co_return queued.error();
  co_return Result<void>();
}

}  // namespace ivr::conversation
