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
