#pragma once
// The transactional half of the webhook outbox, for store-level code that already runs its own libpqxx
// transaction (e.g. finishing a call): the event is queued if and only if that transaction commits.
// Include only from .cpp files that already use libpqxx (it pulls in <pqxx/pqxx>); everyone else uses
// ivr/webhooks/outbox.hpp.

#include <cstdint>
#include <optional>

#include <pqxx/pqxx>

#include "ivr/webhooks/outbox.hpp"

namespace ivr::webhooks {

// Inserts `entry` into webhook_outbox inside `tx` (normally a pqxx::work). Returns the new row's id, or
// nullopt when (domain_uuid, event, dedupe_key) is already queued (ON CONFLICT DO NOTHING, so `tx` stays
// usable). Throws std::invalid_argument when validation_error(entry) is non-empty, and whatever libpqxx
// throws; Database::Impl::run maps both (to Errc::internal). Blocking: on the db pool. After the commit,
// call WebhookSender::notify() for immediate delivery (otherwise the next poll sends it).
std::optional<std::int64_t> blocking_enqueue_webhook(pqxx::transaction_base& tx, const OutboxEntry& entry);

}  // namespace ivr::webhooks
