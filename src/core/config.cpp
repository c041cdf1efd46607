#include "ivr/core/config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <functional>
#include <sstream>

#include <toml++/toml.h>

#include "ivr/core/secret_box.hpp"

extern char** environ;

namespace ivr {
namespace {

// One configurable key: where it lives in Config and how to read it. The same table drives the TOML
// file, the environment and --print-config, so the three can never disagree on names.
struct Key {
  std::string section;
  std::string name;
  std::function<void*(Config&)> field;
  enum class Type { string, integer, number, boolean } type;
  bool secret = false;  // accepted only from the environment

  std::string dotted() const { return section + "." + name; }
  std::string env_name() const {
    std::string out = "VOICE_AI_" + section + "_" + name;
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::toupper(c); });
    return out;
  }
};

template <class Section, class T>
Key make_key(std::string section, std::string name, Section Config::*sec, T Section::*member,
             bool secret = false) {
  Key k;
  k.section = std::move(section);
  k.name = std::move(name);
  k.field = [sec, member](Config& c) -> void* { return &((c.*sec).*member); };
  if constexpr (std::is_same_v<T, std::string>) k.type = Key::Type::string;
  if constexpr (std::is_same_v<T, std::int64_t>) k.type = Key::Type::integer;
  if constexpr (std::is_same_v<T, double>) k.type = Key::Type::number;
  if constexpr (std::is_same_v<T, bool>) k.type = Key::Type::boolean;
  k.secret = secret;
  return k;
}

const std::vector<Key>& keys() {
  static const std::vector<Key> table = [] {
    std::vector<Key> t;
    using C = Config;
    t.push_back(make_key("server", "address", &C::server, &ServerSettings::address));
    t.push_back(make_key("server", "port", &C::server, &ServerSettings::port));
    t.push_back(make_key("server", "max_connections", &C::server, &ServerSettings::max_connections));
    t.push_back(make_key("server", "max_header_bytes", &C::server, &ServerSettings::max_header_bytes));
    t.push_back(make_key("server", "max_body_bytes", &C::server, &ServerSettings::max_body_bytes));
    t.push_back(make_key("server", "read_timeout_ms", &C::server, &ServerSettings::read_timeout_ms));
    t.push_back(make_key("server", "idle_timeout_ms", &C::server, &ServerSettings::idle_timeout_ms));
    t.push_back(make_key("server", "write_timeout_ms", &C::server, &ServerSettings::write_timeout_ms));
    t.push_back(make_key("server", "drain_timeout_ms", &C::server, &ServerSettings::drain_timeout_ms));
    t.push_back(make_key("server", "reuse_port", &C::server, &ServerSettings::reuse_port));
    t.push_back(make_key("server", "access_log", &C::server, &ServerSettings::access_log));
    t.push_back(make_key("database", "url", &C::database, &DatabaseSettings::url));
    t.push_back(make_key("database", "password_file", &C::database, &DatabaseSettings::password_file));
    t.push_back(make_key("database", "password", &C::database, &DatabaseSettings::password, true));
    t.push_back(make_key("database", "pool_size", &C::database, &DatabaseSettings::pool_size));
    t.push_back(
        make_key("database", "connect_timeout_ms", &C::database, &DatabaseSettings::connect_timeout_ms));
    t.push_back(
        make_key("database", "statement_timeout_ms", &C::database, &DatabaseSettings::statement_timeout_ms));
    t.push_back(make_key("database", "migrations_dir", &C::database, &DatabaseSettings::migrations_dir));
    t.push_back(make_key("database", "migrate_on_start", &C::database, &DatabaseSettings::migrate_on_start));
    t.push_back(make_key("redis", "url", &C::redis, &RedisSettings::url));
    t.push_back(make_key("redis", "password_file", &C::redis, &RedisSettings::password_file));
    t.push_back(make_key("redis", "password", &C::redis, &RedisSettings::password, true));
    t.push_back(make_key("redis", "command_timeout_ms", &C::redis, &RedisSettings::command_timeout_ms));
    t.push_back(make_key("redis", "connect_timeout_ms", &C::redis, &RedisSettings::connect_timeout_ms));
    t.push_back(make_key("redis", "key_prefix", &C::redis, &RedisSettings::key_prefix));
    t.push_back(make_key("tenancy", "domain_source", &C::tenancy, &TenancySettings::domain_source));
    t.push_back(
        make_key("tenancy", "domain_cache_ttl_ms", &C::tenancy, &TenancySettings::domain_cache_ttl_ms));
    t.push_back(
        make_key("tenancy", "negative_cache_ttl_ms", &C::tenancy, &TenancySettings::negative_cache_ttl_ms));
    t.push_back(make_key("tenancy", "token_cache_ttl_ms", &C::tenancy, &TenancySettings::token_cache_ttl_ms));
    t.push_back(make_key("rate_limit", "enabled", &C::rate_limit, &RateLimitSettings::enabled));
    t.push_back(make_key("rate_limit", "requests_per_second", &C::rate_limit,
                         &RateLimitSettings::requests_per_second));
    t.push_back(make_key("rate_limit", "burst", &C::rate_limit, &RateLimitSettings::burst));
    t.push_back(make_key("rate_limit", "on_redis_error", &C::rate_limit, &RateLimitSettings::on_redis_error));
    t.push_back(make_key("log", "level", &C::log, &LogSettingsConfig::level));
    t.push_back(make_key("log", "format", &C::log, &LogSettingsConfig::format));
    t.push_back(make_key("security", "master_key_file", &C::security, &SecuritySettings::master_key_file));
    t.push_back(make_key("security", "master_key", &C::security, &SecuritySettings::master_key, true));
    t.push_back(make_key("webhooks", "poll_interval_ms", &C::webhooks, &WebhookSettings::poll_interval_ms));
    t.push_back(make_key("webhooks", "max_attempts", &C::webhooks, &WebhookSettings::max_attempts));
    t.push_back(make_key("webhooks", "max_age_ms", &C::webhooks, &WebhookSettings::max_age_ms));
    t.push_back(
        make_key("webhooks", "initial_backoff_ms", &C::webhooks, &WebhookSettings::initial_backoff_ms));
    t.push_back(make_key("webhooks", "max_backoff_ms", &C::webhooks, &WebhookSettings::max_backoff_ms));
    t.push_back(
        make_key("webhooks", "request_timeout_ms", &C::webhooks, &WebhookSettings::request_timeout_ms));
    t.push_back(make_key("workers", "db_threads", &C::workers, &WorkerSettings::db_threads));
    t.push_back(make_key("workers", "blocking_threads", &C::workers, &WorkerSettings::blocking_threads));
    t.push_back(make_key("freeswitch", "esl_host", &C::freeswitch, &FreeswitchSettings::esl_host));
    t.push_back(make_key("freeswitch", "esl_port", &C::freeswitch, &FreeswitchSettings::esl_port));
    t.push_back(
        make_key("freeswitch", "esl_password", &C::freeswitch, &FreeswitchSettings::esl_password, true));
    t.push_back(
        make_key("freeswitch", "esl_password_file", &C::freeswitch, &FreeswitchSettings::esl_password_file));
    t.push_back(make_key("freeswitch", "node_name", &C::freeswitch, &FreeswitchSettings::node_name));
    t.push_back(make_key("freeswitch", "extra_nodes", &C::freeswitch, &FreeswitchSettings::extra_nodes));
    t.push_back(make_key("freeswitch", "command_timeout_ms", &C::freeswitch,
                         &FreeswitchSettings::command_timeout_ms));
    t.push_back(
        make_key("freeswitch", "hangup_grace_ms", &C::freeswitch, &FreeswitchSettings::hangup_grace_ms));
    t.push_back(
        make_key("realtime", "default_sample_rate", &C::realtime, &RealtimeSettings::default_sample_rate));
    t.push_back(make_key("realtime", "max_call_seconds", &C::realtime, &RealtimeSettings::max_call_seconds));
    t.push_back(make_key("realtime", "caller_idle_timeout_ms", &C::realtime,
                         &RealtimeSettings::caller_idle_timeout_ms));
    t.push_back(make_key("realtime", "playback_lead_ms", &C::realtime, &RealtimeSettings::playback_lead_ms));
    t.push_back(make_key("realtime", "action_wait_ms", &C::realtime, &RealtimeSettings::action_wait_ms));
    t.push_back(make_key("realtime", "reply_wait_ms", &C::realtime, &RealtimeSettings::reply_wait_ms));
    t.push_back(
        make_key("realtime", "resampler_quality", &C::realtime, &RealtimeSettings::resampler_quality));
    t.push_back(make_key("realtime", "max_calls", &C::realtime, &RealtimeSettings::max_calls));
    t.push_back(
        make_key("realtime", "max_calls_per_domain", &C::realtime, &RealtimeSettings::max_calls_per_domain));
    t.push_back(make_key("realtime", "overload_busy_percent", &C::realtime,
                         &RealtimeSettings::overload_busy_percent));
    t.push_back(
        make_key("realtime", "overload_loop_lag_ms", &C::realtime, &RealtimeSettings::overload_loop_lag_ms));
    t.push_back(
        make_key("knowledge", "max_upload_bytes", &C::knowledge, &KnowledgeSettings::max_upload_bytes));
    t.push_back(
        make_key("knowledge", "ingest_concurrency", &C::knowledge, &KnowledgeSettings::ingest_concurrency));
    t.push_back(
        make_key("knowledge", "poll_interval_ms", &C::knowledge, &KnowledgeSettings::poll_interval_ms));
    t.push_back(make_key("knowledge", "lease_ms", &C::knowledge, &KnowledgeSettings::lease_ms));
    t.push_back(make_key("knowledge", "max_attempts", &C::knowledge, &KnowledgeSettings::max_attempts));
    t.push_back(make_key("knowledge", "max_pages", &C::knowledge, &KnowledgeSettings::max_pages));
    t.push_back(make_key("knowledge", "extract_in_subprocess", &C::knowledge,
                         &KnowledgeSettings::extract_in_subprocess));
    t.push_back(
        make_key("knowledge", "extract_timeout_ms", &C::knowledge, &KnowledgeSettings::extract_timeout_ms));
    t.push_back(
        make_key("knowledge", "extract_memory_mb", &C::knowledge, &KnowledgeSettings::extract_memory_mb));
    t.push_back(make_key("knowledge", "max_uncompressed_bytes", &C::knowledge,
                         &KnowledgeSettings::max_uncompressed_bytes));
    t.push_back(make_key("knowledge", "chunk_tokens", &C::knowledge, &KnowledgeSettings::chunk_tokens));
    t.push_back(make_key("knowledge", "chunk_overlap_tokens", &C::knowledge,
                         &KnowledgeSettings::chunk_overlap_tokens));
    t.push_back(make_key("knowledge", "embedder", &C::knowledge, &KnowledgeSettings::embedder));
    t.push_back(
        make_key("knowledge", "embedding_dimension", &C::knowledge, &KnowledgeSettings::embedding_dimension));
    t.push_back(
        make_key("knowledge", "embedding_base_url", &C::knowledge, &KnowledgeSettings::embedding_base_url));
    t.push_back(make_key("knowledge", "embedding_model", &C::knowledge, &KnowledgeSettings::embedding_model));
    t.push_back(make_key("knowledge", "embedding_api_key", &C::knowledge,
                         &KnowledgeSettings::embedding_api_key, true));
    t.push_back(make_key("knowledge", "embedding_batch", &C::knowledge, &KnowledgeSettings::embedding_batch));
    t.push_back(make_key("knowledge", "embedding_timeout_ms", &C::knowledge,
                         &KnowledgeSettings::embedding_timeout_ms));
    t.push_back(make_key("knowledge", "hnsw_threshold", &C::knowledge, &KnowledgeSettings::hnsw_threshold));
    t.push_back(make_key("knowledge", "hnsw_m", &C::knowledge, &KnowledgeSettings::hnsw_m));
    t.push_back(make_key("knowledge", "hnsw_ef_search", &C::knowledge, &KnowledgeSettings::hnsw_ef_search));
    t.push_back(make_key("knowledge", "index_memory_budget_mb", &C::knowledge,
                         &KnowledgeSettings::index_memory_budget_mb));
    t.push_back(make_key("knowledge", "index_idle_ms", &C::knowledge, &KnowledgeSettings::index_idle_ms));
    t.push_back(make_key("knowledge", "top_k", &C::knowledge, &KnowledgeSettings::top_k));
    t.push_back(make_key("knowledge", "min_score", &C::knowledge, &KnowledgeSettings::min_score));
    return t;
  }();
  return table;
}

const Key* find_key(std::string_view section, std::string_view name) {
  for (const Key& k : keys()) {
    if (k.section == section && k.name == name) return &k;
  }
  return nullptr;
}

std::string type_name(Key::Type type) {
  switch (type) {
    case Key::Type::string:
      return "a string";
    case Key::Type::integer:
      return "an integer";
    case Key::Type::number:
      return "a number";
    case Key::Type::boolean:
      return "true or false";
  }
  return "a value";
}

// Applies a TOML node to the key's field; false when the node has the wrong type.
bool assign_from_toml(const Key& key, Config& config, const toml::node& node) {
  void* field = key.field(config);
  switch (key.type) {
    case Key::Type::string:
      if (auto v = node.value_exact<std::string>()) return *static_cast<std::string*>(field) = *v, true;
      return false;
    case Key::Type::integer:
      if (auto v = node.value_exact<std::int64_t>()) return *static_cast<std::int64_t*>(field) = *v, true;
      return false;
    case Key::Type::number:
      if (auto v = node.value<double>()) return *static_cast<double*>(field) = *v, true;
      return false;
    case Key::Type::boolean:
      if (auto v = node.value_exact<bool>()) return *static_cast<bool*>(field) = *v, true;
      return false;
  }
  return false;
}

bool assign_from_text(const Key& key, Config& config, const std::string& text) {
  void* field = key.field(config);
  switch (key.type) {
    case Key::Type::string:
      *static_cast<std::string*>(field) = text;
      return true;
    case Key::Type::integer: {
      std::int64_t v = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc() || end != text.data() + text.size()) return false;
      *static_cast<std::int64_t*>(field) = v;
      return true;
    }
    case Key::Type::number: {
      try {
        std::size_t used = 0;
        const double v = std::stod(text, &used);
        if (used != text.size()) return false;
        *static_cast<double*>(field) = v;
        return true;
      } catch (const std::exception&) {
        return false;
      }
    }
    case Key::Type::boolean: {
      std::string lower = text;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      if (lower == "true" || lower == "1" || lower == "yes" || lower == "on") {
        *static_cast<bool*>(field) = true;
      } else if (lower == "false" || lower == "0" || lower == "no" || lower == "off") {
        *static_cast<bool*>(field) = false;
      } else {
        return false;
      }
      return true;
    }
  }
  return false;
}

std::optional<std::string> read_secret_file(const std::string& path, std::vector<ConfigError>& errors,
                                            const std::string& key) {
  std::ifstream in(path);
  if (!in) {
    errors.push_back({key, "cannot read file '" + path + "'"});
    return std::nullopt;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

void validate(const Config& c, std::vector<ConfigError>& errors) {
  auto positive = [&errors](const std::string& key, std::int64_t v) {
    if (v <= 0) errors.push_back({key, "must be greater than 0"});
  };
  if (c.server.port < 0 || c.server.port > 65535) errors.push_back({"server.port", "must be 0..65535"});
  if (c.server.address.empty()) errors.push_back({"server.address", "must not be empty"});
  positive("server.max_connections", c.server.max_connections);
  if (c.server.max_header_bytes < 1024)
    errors.push_back({"server.max_header_bytes", "must be at least 1024"});
  positive("server.max_body_bytes", c.server.max_body_bytes);
  positive("server.read_timeout_ms", c.server.read_timeout_ms);
  positive("server.idle_timeout_ms", c.server.idle_timeout_ms);
  positive("server.write_timeout_ms", c.server.write_timeout_ms);
  if (c.server.drain_timeout_ms < 0) errors.push_back({"server.drain_timeout_ms", "must not be negative"});
  if (c.database.url.empty()) errors.push_back({"database.url", "must not be empty"});
  positive("database.pool_size", c.database.pool_size);
  positive("database.connect_timeout_ms", c.database.connect_timeout_ms);
  positive("database.statement_timeout_ms", c.database.statement_timeout_ms);
  if (c.redis.url.rfind("redis://", 0) != 0) errors.push_back({"redis.url", "must start with redis://"});
  positive("redis.command_timeout_ms", c.redis.command_timeout_ms);
  positive("redis.connect_timeout_ms", c.redis.connect_timeout_ms);
  if (c.tenancy.domain_source != "standalone" && c.tenancy.domain_source != "fusionpbx") {
    errors.push_back({"tenancy.domain_source", "must be \"standalone\" or \"fusionpbx\""});
  }
  if (c.tenancy.domain_cache_ttl_ms < 0)
    errors.push_back({"tenancy.domain_cache_ttl_ms", "must not be negative"});
  if (c.tenancy.negative_cache_ttl_ms < 0) {
    errors.push_back({"tenancy.negative_cache_ttl_ms", "must not be negative"});
  }
  if (c.tenancy.token_cache_ttl_ms < 0)
    errors.push_back({"tenancy.token_cache_ttl_ms", "must not be negative"});
  if (!(c.rate_limit.requests_per_second > 0)) {
    errors.push_back({"rate_limit.requests_per_second", "must be greater than 0"});
  }
  if (!(c.rate_limit.burst >= 1)) errors.push_back({"rate_limit.burst", "must be at least 1"});
  if (c.rate_limit.on_redis_error != "reject" && c.rate_limit.on_redis_error != "allow") {
    errors.push_back({"rate_limit.on_redis_error", "must be \"reject\" or \"allow\""});
  }
  static const std::vector<std::string> levels = {"trace", "debug",    "info", "warn",
                                                  "error", "critical", "off"};
  if (std::find(levels.begin(), levels.end(), c.log.level) == levels.end()) {
    errors.push_back({"log.level", "must be one of trace, debug, info, warn, error, critical, off"});
  }
  if (c.log.format != "text" && c.log.format != "json")
    errors.push_back({"log.format", "must be text or json"});
  if (!c.security.master_key.empty() && !SecretBox::from_text(c.security.master_key)) {
    errors.push_back(
        {"security.master_key", "must be 32 bytes as 64 hex characters or base64 (openssl rand -hex 32)"});
  }
  positive("webhooks.poll_interval_ms", c.webhooks.poll_interval_ms);
  positive("webhooks.max_attempts", c.webhooks.max_attempts);
  positive("webhooks.max_age_ms", c.webhooks.max_age_ms);
  positive("webhooks.initial_backoff_ms", c.webhooks.initial_backoff_ms);
  positive("webhooks.max_backoff_ms", c.webhooks.max_backoff_ms);
  positive("webhooks.request_timeout_ms", c.webhooks.request_timeout_ms);
  positive("workers.db_threads", c.workers.db_threads);
  positive("workers.blocking_threads", c.workers.blocking_threads);
  if (c.freeswitch.esl_port < 1 || c.freeswitch.esl_port > 65535) {
    errors.push_back({"freeswitch.esl_port", "must be a TCP port (1-65535)"});
  }
  positive("freeswitch.command_timeout_ms", c.freeswitch.command_timeout_ms);
  positive("freeswitch.hangup_grace_ms", c.freeswitch.hangup_grace_ms);
  if (c.realtime.default_sample_rate != 8000 && c.realtime.default_sample_rate != 16000) {
    errors.push_back({"realtime.default_sample_rate", "must be 8000 or 16000"});
  }
  positive("realtime.max_call_seconds", c.realtime.max_call_seconds);
  positive("realtime.caller_idle_timeout_ms", c.realtime.caller_idle_timeout_ms);
  positive("realtime.playback_lead_ms", c.realtime.playback_lead_ms);
  positive("realtime.action_wait_ms", c.realtime.action_wait_ms);
  positive("realtime.reply_wait_ms", c.realtime.reply_wait_ms);
  if (c.realtime.resampler_quality < 0 || c.realtime.resampler_quality > 10) {
    errors.push_back({"realtime.resampler_quality", "must be 0-10 (speexdsp quality; 3 is its VoIP preset)"});
  }
  for (const auto& [key, value] :
       {std::pair{"realtime.max_calls", c.realtime.max_calls},
        std::pair{"realtime.max_calls_per_domain", c.realtime.max_calls_per_domain},
        std::pair{"realtime.overload_loop_lag_ms", c.realtime.overload_loop_lag_ms}}) {
    if (value < 0) errors.push_back({key, "must be 0 (off) or more"});
  }
  if (c.realtime.overload_busy_percent < 0 || c.realtime.overload_busy_percent > 100) {
    errors.push_back({"realtime.overload_busy_percent", "must be 0 (off) to 100"});
  }
  for (const auto& [key, value] :
       {std::pair{"knowledge.max_upload_bytes", c.knowledge.max_upload_bytes},
        std::pair{"knowledge.ingest_concurrency", c.knowledge.ingest_concurrency},
        std::pair{"knowledge.poll_interval_ms", c.knowledge.poll_interval_ms},
        std::pair{"knowledge.lease_ms", c.knowledge.lease_ms},
        std::pair{"knowledge.max_attempts", c.knowledge.max_attempts},
        std::pair{"knowledge.max_pages", c.knowledge.max_pages},
        std::pair{"knowledge.extract_timeout_ms", c.knowledge.extract_timeout_ms},
        std::pair{"knowledge.extract_memory_mb", c.knowledge.extract_memory_mb},
        std::pair{"knowledge.max_uncompressed_bytes", c.knowledge.max_uncompressed_bytes},
        std::pair{"knowledge.chunk_tokens", c.knowledge.chunk_tokens},
        std::pair{"knowledge.embedding_batch", c.knowledge.embedding_batch},
        std::pair{"knowledge.embedding_timeout_ms", c.knowledge.embedding_timeout_ms},
        std::pair{"knowledge.hnsw_threshold", c.knowledge.hnsw_threshold},
        std::pair{"knowledge.hnsw_m", c.knowledge.hnsw_m},
        std::pair{"knowledge.hnsw_ef_search", c.knowledge.hnsw_ef_search},
        std::pair{"knowledge.index_memory_budget_mb", c.knowledge.index_memory_budget_mb},
        std::pair{"knowledge.index_idle_ms", c.knowledge.index_idle_ms},
        std::pair{"knowledge.top_k", c.knowledge.top_k}}) {
    positive(key, value);
  }
  if (c.knowledge.chunk_overlap_tokens < 0 || c.knowledge.chunk_overlap_tokens >= c.knowledge.chunk_tokens) {
    errors.push_back(
        {"knowledge.chunk_overlap_tokens", "must be at least 0 and less than knowledge.chunk_tokens"});
  }
  if (c.knowledge.embedder != "hash" && c.knowledge.embedder != "openai") {
    errors.push_back({"knowledge.embedder", "must be \"hash\" or \"openai\""});
  }
  if (c.knowledge.embedding_dimension < 1 || c.knowledge.embedding_dimension > 8192) {
    errors.push_back({"knowledge.embedding_dimension", "must be from 1 to 8192"});
  }
  if (c.knowledge.min_score < -1 || c.knowledge.min_score > 1) {
    errors.push_back({"knowledge.min_score", "must be between -1 and 1"});
  }
}

}  // namespace

Environment process_environment() {
  Environment env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (entry.rfind("VOICE_AI_", 0) != 0) continue;
    const auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

ConfigLoad load_config(const ConfigSource& source) {
  ConfigLoad result;
  Config& config = result.config;
  auto& errors = result.errors;

  if (source.file) {
    try {
      const toml::table root = toml::parse_file(*source.file);
      for (const auto& [section_name, section_node] : root) {
        const std::string section(section_name.str());
        const toml::table* table = section_node.as_table();
        if (table == nullptr) {
          errors.push_back({section, "unknown top-level key (settings live in [sections])"});
          continue;
        }
        for (const auto& [key_name, node] : *table) {
          const std::string name(key_name.str());
          const Key* key = find_key(section, name);
          if (key == nullptr) {
            errors.push_back({section + "." + name, "unknown key"});
          } else if (key->secret) {
            errors.push_back({key->dotted(), "secrets are not accepted in the config file: use " +
                                                 key->env_name() + " or " + key->section + ".password_file"});
          } else if (!assign_from_toml(*key, config, node)) {
            errors.push_back({key->dotted(), "must be " + type_name(key->type)});
          }
        }
      }
    } catch (const toml::parse_error& e) {
      std::ostringstream where;
      where << *source.file << ":" << e.source().begin.line << ":" << e.source().begin.column;
      errors.push_back({where.str(), std::string(e.description())});
      return result;
    }
  }

  for (const auto& [name, value] : source.environment) {
    if (name == "VOICE_AI_CONFIG") continue;  // the config file path, read by the CLI
    const Key* match = nullptr;
    for (const Key& k : keys()) {
      if (k.env_name() == name) match = &k;
    }
    if (match == nullptr) {
      errors.push_back({name, "unknown environment variable (expected VOICE_AI_<SECTION>_<KEY>)"});
    } else if (!assign_from_text(*match, config, value)) {
      errors.push_back({name, "must be " + type_name(match->type)});
    }
  }

  if (config.database.password.empty() && !config.database.password_file.empty()) {
    if (auto pw = read_secret_file(config.database.password_file, errors, "database.password_file")) {
      config.database.password = *pw;
    }
  }
  if (config.redis.password.empty() && !config.redis.password_file.empty()) {
    if (auto pw = read_secret_file(config.redis.password_file, errors, "redis.password_file")) {
      config.redis.password = *pw;
    }
  }
  if (config.security.master_key.empty() && !config.security.master_key_file.empty()) {
    if (auto key = read_secret_file(config.security.master_key_file, errors, "security.master_key_file")) {
      config.security.master_key = *key;
    }
  }
  if (config.freeswitch.esl_password.empty() && !config.freeswitch.esl_password_file.empty()) {
    if (auto pw =
            read_secret_file(config.freeswitch.esl_password_file, errors, "freeswitch.esl_password_file")) {
      config.freeswitch.esl_password = *pw;
    }
  }
  validate(config, errors);
  return result;
}

std::string dump_config(const Config& config) {
  Config copy = config;
  std::ostringstream out;
  std::string section;
  for (const Key& k : keys()) {
    if (k.secret) continue;
    if (k.section != section) {
      if (!section.empty()) out << "\n";
      section = k.section;
      out << "[" << section << "]\n";
    }
    void* field = k.field(copy);
    out << k.name << " = ";
    switch (k.type) {
      case Key::Type::string:
        out << toml::value<std::string>(*static_cast<std::string*>(field));
        break;
      case Key::Type::integer:
        out << *static_cast<std::int64_t*>(field);
        break;
      case Key::Type::number:
        out << toml::value<double>(*static_cast<double*>(field));
        break;
      case Key::Type::boolean:
        out << (*static_cast<bool*>(field) ? "true" : "false");
        break;
    }
    out << "\n";
  }
  out << "\n# secrets: database.password " << (config.database.password.empty() ? "(unset)" : "<redacted>")
      << ", redis.password " << (config.redis.password.empty() ? "(unset)" : "<redacted>")
      << ", security.master_key " << (config.security.master_key.empty() ? "(unset)" : "<redacted>") << "\n";
  return out.str();
}

}  // namespace ivr
