#pragma once
// The daemon's configuration: embedded defaults, then config/voice-ai-ivr.toml (or --config), then
// VOICE_AI_<SECTION>_<KEY> environment variables. Unknown keys are rejected with their name.
// Secrets (database/redis passwords) come only from the environment or from files.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ivr/core/errors.hpp"

namespace ivr {

struct ServerSettings {
  std::string address = "127.0.0.1";
  std::int64_t port = 8100;
  std::int64_t max_connections = 1024;
  std::int64_t max_header_bytes = 16 * 1024;
  std::int64_t max_body_bytes = 64 * 1024;  // JSON routes; upload routes set their own
  std::int64_t read_timeout_ms = 10'000;
  std::int64_t idle_timeout_ms = 60'000;
  std::int64_t write_timeout_ms = 30'000;
  std::int64_t drain_timeout_ms = 20'000;
  bool reuse_port = true;
  bool access_log = true;
};

struct DatabaseSettings {
  std::string url = "postgresql://voice_ai_ivr@127.0.0.1:55432/voice_ai_ivr";
  std::string password_file;  // read at start-up; VOICE_AI_DATABASE_PASSWORD wins
  std::string password;       // secret: never from the TOML file, never printed
  std::int64_t pool_size = 8;
  std::int64_t connect_timeout_ms = 3'000;
  std::int64_t statement_timeout_ms = 5'000;
  std::string migrations_dir = "migrations";
  bool migrate_on_start = true;
};

struct RedisSettings {
  std::string url = "redis://127.0.0.1:56379/0";
  std::string password_file;
  std::string password;  // secret
  std::int64_t command_timeout_ms = 1'000;
  std::int64_t connect_timeout_ms = 1'000;
  std::string key_prefix = "ivr:";
};

struct TenancySettings {
  std::string domain_source = "standalone";  // standalone | fusionpbx
  std::int64_t domain_cache_ttl_ms = 30'000;
  std::int64_t negative_cache_ttl_ms = 5'000;  // unknown domains, to blunt floods of made-up UUIDs
  std::int64_t token_cache_ttl_ms = 30'000;
};

struct RateLimitSettings {
  bool enabled = true;
  double requests_per_second = 20;
  double burst = 40;
  std::string on_redis_error = "reject";  // reject (503) | allow
};

struct LogSettingsConfig {
  std::string level = "info";
  std::string format = "text";  // text | json
};

struct SecuritySettings {
  // 32-byte master key (64 hex chars or base64) sealing tenants' provider API keys and webhook secrets.
  std::string master_key_file;  // VOICE_AI_SECURITY_MASTER_KEY wins
  std::string master_key;       // secret
};

struct WebhookSettings {
  std::int64_t poll_interval_ms = 2'000;
  std::int64_t max_attempts = 20;
  std::int64_t max_age_ms = 24LL * 3600 * 1000;
  std::int64_t initial_backoff_ms = 10'000;
  std::int64_t max_backoff_ms = 3'600'000;
  std::int64_t request_timeout_ms = 15'000;
};

struct WorkerSettings {
  std::int64_t db_threads = 4;
  std::int64_t blocking_threads = 2;
};

// The knowledge base (DESIGN §7): uploads, ingestion, embeddings, the per-domain indexes and search.
struct KnowledgeSettings {
  std::int64_t max_upload_bytes = 20 * 1024 * 1024;
  std::int64_t ingest_concurrency = 1;  // documents ingested at once (each on its own worker thread)
  std::int64_t poll_interval_ms = 2'000;
  std::int64_t lease_ms = 60'000;  // a claimed job is free again this long after its worker went silent
  std::int64_t max_attempts = 5;   // transient failures (embedding provider down) before `failed`
  std::int64_t max_pages = 2'000;
  bool extract_in_subprocess = true;  // poppler/libzip in a child process with the limits below
  std::int64_t extract_timeout_ms = 60'000;
  std::int64_t extract_memory_mb = 1'024;                  // the child's address-space limit
  std::int64_t max_uncompressed_bytes = 50 * 1024 * 1024;  // DOCX parts (zip bombs)
  std::int64_t chunk_tokens = 1'000;
  std::int64_t chunk_overlap_tokens = 200;
  std::string embedder = "hash";  // hash | openai (any OpenAI-compatible /v1/embeddings)
  std::int64_t embedding_dimension =
      384;  // hash: the vector size; openai: the model's (text-embedding-3: requested)
  std::string embedding_base_url = "https://api.openai.com";
  std::string embedding_model = "text-embedding-3-small";
  std::string embedding_api_key;  // secret: VOICE_AI_KNOWLEDGE_EMBEDDING_API_KEY
  std::int64_t embedding_batch = 64;
  std::int64_t embedding_timeout_ms = 30'000;
  std::int64_t hnsw_threshold = 20'000;
  std::int64_t hnsw_m = 32;
  std::int64_t hnsw_ef_search = 96;
  std::int64_t index_memory_budget_mb =
      512;  // loaded indexes beyond this are evicted, least recently used first
  std::int64_t index_idle_ms = 30 * 60 * 1000;  // an index unused this long is dropped
  std::int64_t top_k = 4;
  double min_score = 0.04;  // passages scoring below this are not given to the model (see bench/README.md)
};

// FreeSWITCH's Event Socket (inbound): how the daemon transfers, hangs up and stops playback of realtime
// calls. One node here; more nodes are a list of "name=host:port" in `extra_nodes` (same password).
struct FreeswitchSettings {
  std::string esl_host;  // empty: no Event Socket (realtime calls cannot be transferred or hung up)
  std::int64_t esl_port = 8021;
  std::string esl_password;  // secret: VOICE_AI_FREESWITCH_ESL_PASSWORD or the file; empty = "ClueCon"
  std::string esl_password_file;
  std::string node_name = "default";  // matched against the stream metadata's freeswitch_node
  std::string extra_nodes;            // "fs2=10.0.0.12:8021,fs3=10.0.0.13:8021"
  std::int64_t command_timeout_ms = 5'000;
  // After CHANNEL_HANGUP_COMPLETE, how long the end report (Lua script, realtime session) gets before a call
  // still active is finalised as abandoned.
  std::int64_t hangup_grace_ms = 5'000;
};

// The /stream bridge for mod_audio_stream (realtime calls).
struct RealtimeSettings {
  std::int64_t default_sample_rate = 16'000;  // when neither URL nor metadata say (our Lua starts `mono 16k`)
  std::int64_t max_call_seconds = 3'600;
  std::int64_t caller_idle_timeout_ms = 30'000;  // no frame from FreeSWITCH for this long ends the session
  std::int64_t playback_lead_ms = 100;           // `stream` playback: audio sent ahead of real time
  std::int64_t action_wait_ms = 10'000;          // at most this for the goodbye/handover speech before acting
  std::int64_t reply_wait_ms = 2'000;            // how long the agent gets to start that speech
  // speexdsp quality (0-10) of the call ↔ provider resampling (16 ↔ 24 kHz for OpenAI): 3 is speex's VoIP
  // preset; each step up costs about 0.4 µs per 20 ms frame and direction.
  std::int64_t resampler_quality = 3;
  // Admission (conversation::CallAdmission): new calls are refused at the handshake, running calls never
  // degraded. 0 = no cap. A domain's `max_realtime_calls` column overrides max_calls_per_domain.
  std::int64_t max_calls = 0;
  std::int64_t max_calls_per_domain = 0;
  std::int64_t overload_busy_percent = 75;  // refuse while the io thread is this busy (smoothed); 0 = off
  std::int64_t overload_loop_lag_ms = 50;   // refuse while the io loop runs this late (smoothed); 0 = off
};

struct Config {
  ServerSettings server;
  DatabaseSettings database;
  RedisSettings redis;
  TenancySettings tenancy;
  RateLimitSettings rate_limit;
  LogSettingsConfig log;
  SecuritySettings security;
  WebhookSettings webhooks;
  WorkerSettings workers;
  KnowledgeSettings knowledge;
  FreeswitchSettings freeswitch;
  RealtimeSettings realtime;
};

struct ConfigError {
  std::string key;  // e.g. "server.port" or "VOICE_AI_SERVER_PROT"
  std::string message;
};

using Environment = std::map<std::string, std::string>;
Environment process_environment();  // the VOICE_AI_* variables of this process

struct ConfigSource {
  std::optional<std::string> file;  // TOML file; nullopt = embedded defaults only
  Environment environment;
};

// Loads and validates. On failure returns every problem found, each naming its key.
struct ConfigLoad {
  Config config;
  std::vector<ConfigError> errors;
  bool ok() const { return errors.empty(); }
};
ConfigLoad load_config(const ConfigSource& source);

// TOML text of the effective configuration, secrets replaced by "<redacted>" (for --print-config).
std::string dump_config(const Config& config);

}  // namespace ivr
