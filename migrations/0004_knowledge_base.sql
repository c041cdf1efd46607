-- Knowledge base: uploaded documents, their chunks and embeddings (DESIGN §7).
-- The runner wraps this file in a transaction: no BEGIN/COMMIT here.

-- One row per uploaded document. The original bytes are kept, so that any instance can (re)run its
-- ingestion: after a crash, when the embedding model changes, or after an upgrade of the extractors.
CREATE TABLE documents (
    document_id     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    domain_uuid     uuid NOT NULL,
    -- NULL: the domain's documents are for every secretary of the domain.
    secretary_id    uuid NULL,
    title           text NOT NULL,
    filename        text NOT NULL DEFAULT '',
    doc_type        text NOT NULL CHECK (doc_type IN ('pdf', 'docx', 'txt')),
    size_bytes      bigint NOT NULL CHECK (size_bytes > 0),
    sha256          text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    content         bytea NOT NULL,
    -- processing → ready | failed. A ready document whose embedding_model is not the configured one is
    -- re-embedded in the background (it stays ready meanwhile).
    status          text NOT NULL DEFAULT 'processing' CHECK (status IN ('processing', 'ready', 'failed')),
    reason          text NULL,
    pages           integer NULL,
    chunk_count     integer NOT NULL DEFAULT 0,
    token_count     bigint NOT NULL DEFAULT 0,
    embedding_model text NULL,
    -- A worker's claim: until this time no other worker takes the row (renewed while it works). Past it,
    -- the row is free again: its worker died.
    lease_until     timestamptz NULL,
    attempts        integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT documents_domain_sha256_key UNIQUE (domain_uuid, sha256)
);
CREATE INDEX documents_domain_created_idx ON documents (domain_uuid, created_at DESC);
-- The ingestion claim query.
CREATE INDEX documents_pending_idx ON documents (created_at) WHERE status = 'processing';

-- Chunks of ready documents. The embedding is little-endian float32 × dimension, L2-normalised; vectors
-- of different models are never compared (the index is built from one model's rows).
CREATE TABLE document_chunks (
    chunk_id        bigserial PRIMARY KEY,
    document_id     uuid NOT NULL REFERENCES documents (document_id) ON DELETE CASCADE,
    domain_uuid     uuid NOT NULL,
    ordinal         integer NOT NULL,
    page            integer NOT NULL DEFAULT 0,
    heading         text NOT NULL DEFAULT '',
    text            text NOT NULL,
    token_count     integer NOT NULL,
    embedding_model text NOT NULL,
    dimension       integer NOT NULL CHECK (dimension > 0),
    embedding       bytea NOT NULL CHECK (octet_length(embedding) = 4 * dimension),
    CONSTRAINT document_chunks_document_ordinal_key UNIQUE (document_id, ordinal)
);
CREATE INDEX document_chunks_domain_model_idx ON document_chunks (domain_uuid, embedding_model, chunk_id);
