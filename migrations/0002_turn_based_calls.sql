-- Turn-based calls: secretary settings beyond the skeleton, calls and their transcript.
-- The runner wraps this file in a transaction: no BEGIN/COMMIT here.

-- The secretary's voice; everything else that varies by vendor lives in settings (jsonb): provider chains
-- (API keys sealed with the master key, never in clear), transfer targets, fallback extension, max
-- turns, goodbye phrases, FAQ, webhook URL and sealed secret.
ALTER TABLE secretaries ADD COLUMN voice text NOT NULL DEFAULT '';

-- One row per call, keyed by FreeSWITCH's channel uuid. Every query also filters on domain_uuid, so a call
-- uuid claimed by one tenant is invisible to every other.
CREATE TABLE calls (
    call_uuid        uuid PRIMARY KEY,
    domain_uuid      uuid NOT NULL,
    secretary_id     uuid NULL,
    caller_id        text NOT NULL DEFAULT '',
    mode             text NOT NULL DEFAULT 'turn' CHECK (mode IN ('turn', 'realtime')),
    status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'completed')),
    resolution       text NULL,
    transferred_to   text NULL,
    turns            integer NOT NULL DEFAULT 0,
    duration_seconds double precision NULL,
    started_at       timestamptz NOT NULL DEFAULT now(),
    ended_at         timestamptz NULL
);
CREATE INDEX calls_domain_started_idx ON calls (domain_uuid, started_at DESC);

CREATE TABLE call_messages (
    id          bigserial PRIMARY KEY,
    call_uuid   uuid NOT NULL REFERENCES calls (call_uuid) ON DELETE CASCADE,
    domain_uuid uuid NOT NULL,
    role        text NOT NULL CHECK (role IN ('caller', 'assistant')),
    content     text NOT NULL,
    action      text NULL CHECK (action IS NULL OR action IN ('continue', 'transfer', 'hangup')),
    transfer_to text NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX call_messages_call_idx ON call_messages (call_uuid, id);
