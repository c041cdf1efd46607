-- Webhook outbox: events for a tenant's helpdesk (call_completed, ticket_requested…), written in the same
-- transaction as the change they report and delivered by WebhookSender (src/webhooks) with retries.
-- The runner wraps this file in a transaction and records it in schema_migrations: no BEGIN/COMMIT here.

CREATE TABLE webhook_outbox (
    id               bigserial PRIMARY KEY,
    domain_uuid      uuid NOT NULL,
    event            text NOT NULL CHECK (event <> ''),
    target_url       text NOT NULL CHECK (target_url ~ '^https?://'),
    -- The signing secret sealed with the master key (ivr::SecretBox, associated data = domain_uuid as
    -- lower-case text); NULL = deliveries are not signed.
    secret_sealed    text NULL,
    payload          jsonb NOT NULL,
    -- pending → delivering → delivered, or back to pending with a later next_attempt_at, or failed once the
    -- attempts or the age run out.
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'delivering', 'delivered', 'failed')),
    -- Attempts started so far (counted when a sender claims the row).
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- When pending: not before this time. When delivering: the claim's lease expiry; past it, another
    -- sender takes the row over (its owner died mid-delivery).
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_status_code integer NULL,
    last_error       text NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz NULL,
    -- Set by producers whose event may be reported twice (e.g. the call uuid for call_completed). NULLs
    -- never conflict, so events without a key are always queued.
    dedupe_key       text NULL,
    CONSTRAINT webhook_outbox_dedupe_key UNIQUE (domain_uuid, event, dedupe_key)
);
-- The sender's claim query: due rows by status and time.
CREATE INDEX webhook_outbox_due_idx ON webhook_outbox (status, next_attempt_at);
-- A domain's recent deliveries (status page).
CREATE INDEX webhook_outbox_domain_id_idx ON webhook_outbox (domain_uuid, id DESC);
