-- Foundation: tenants (standalone mode), API tokens, the secretaries skeleton and usage events.
-- The runner wraps this file in a transaction and records it in schema_migrations: no BEGIN/COMMIT here.
-- gen_random_uuid() is built into PostgreSQL 13 and later.

-- Tenants when domain_source = standalone. With domain_source = fusionpbx the tenants are FusionPBX's
-- v_domains, and a row here (same domain_uuid) only carries the IVR's overrides for that domain.
CREATE TABLE domains (
    domain_uuid           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    domain_name           text NOT NULL UNIQUE CHECK (domain_name <> ''),
    enabled               boolean NOT NULL DEFAULT true,
    -- Per-domain rate limit; NULL = the configured default.
    rate_limit_per_second double precision NULL CHECK (rate_limit_per_second IS NULL OR rate_limit_per_second > 0),
    rate_limit_burst      double precision NULL CHECK (rate_limit_burst IS NULL OR rate_limit_burst > 0),
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);

-- API tokens: only the SHA-256 hex of the token text is stored; the token is shown once at creation.
CREATE TABLE api_tokens (
    token_id     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    token_hash   text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    scope        text NOT NULL CHECK (scope IN ('call', 'admin')),
    -- Bound to one domain, or NULL for any domain. No foreign key: in FusionPBX mode the domains live in
    -- v_domains, not in our domains table.
    domain_uuid  uuid NULL,
    label        text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz NULL,
    revoked_at   timestamptz NULL
);
CREATE INDEX api_tokens_domain_uuid_idx ON api_tokens (domain_uuid);

-- Per-domain virtual secretaries (filled in by later migrations and the API).
CREATE TABLE secretaries (
    secretary_id  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    domain_uuid   uuid NOT NULL,
    name          text NOT NULL CHECK (name <> ''),
    language      text NOT NULL DEFAULT 'pt-BR',
    greeting      text NOT NULL DEFAULT '',
    system_prompt text NOT NULL DEFAULT '',
    mode          text NOT NULL DEFAULT 'turn' CHECK (mode IN ('turn', 'realtime')),
    settings      jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(settings) = 'object'),
    is_default    boolean NOT NULL DEFAULT false,
    enabled       boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT secretaries_domain_name_key UNIQUE (domain_uuid, name)
);
CREATE INDEX secretaries_domain_uuid_idx ON secretaries (domain_uuid);
-- At most one default secretary per domain.
CREATE UNIQUE INDEX secretaries_one_default_idx ON secretaries (domain_uuid) WHERE is_default;

-- Metered usage (STT seconds, TTS characters, LLM tokens…) per domain and call, for billing and quotas.
CREATE TABLE usage_events (
    id          bigserial PRIMARY KEY,
    domain_uuid uuid NOT NULL,
    call_uuid   uuid NULL,
    kind        text NOT NULL,
    provider    text NOT NULL DEFAULT '',
    quantity    double precision NOT NULL DEFAULT 0,
    unit        text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX usage_events_domain_created_idx ON usage_events (domain_uuid, created_at);
