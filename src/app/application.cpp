#include "ivr/app/application.hpp"

#include <csignal>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "ivr/api/conversation_routes.hpp"
#include "ivr/api/document_routes.hpp"
#include "ivr/api/request_observer.hpp"
#include "ivr/api/routes.hpp"
#include "ivr/api/stream_routes.hpp"
#include "ivr/api/tenant_cache.hpp"
#include "ivr/api/tenant_guard.hpp"
#include "ivr/app/systemd.hpp"
#include "ivr/conversation/call_admission.hpp"
#include "ivr/conversation/call_service.hpp"
#include "ivr/conversation/call_session.hpp"
#include "ivr/conversation/chat_service.hpp"
#include "ivr/conversation/hangup_finaliser.hpp"
#include "ivr/conversation/pipeline_agent.hpp"
#include "ivr/conversation/provider_registry.hpp"
#include "ivr/core/ids.hpp"
#include "ivr/core/logging.hpp"
#include "ivr/core/secret_box.hpp"
#include "ivr/knowledge/hash_embedder.hpp"
#include "ivr/net/http_client.hpp"
#include "ivr/net/http_server.hpp"
#include "ivr/net/loop_load_monitor.hpp"
#include "ivr/net/websocket_client.hpp"
#include "ivr/providers/fallback.hpp"
#include "ivr/providers/openai_embedder.hpp"
#include "ivr/providers/realtime/elevenlabs_realtime.hpp"
#include "ivr/providers/realtime/openai_realtime.hpp"
#include "ivr/providers/tts.hpp"
#include "ivr/rag/domain_indexes.hpp"
#include "ivr/rag/ingestion.hpp"
#include "ivr/rag/knowledge_service.hpp"
#include "ivr/rag/sandbox.hpp"
#include "ivr/store/calls.hpp"
#include "ivr/store/database.hpp"
#include "ivr/store/documents.hpp"
#include "ivr/store/migrations.hpp"
#include "ivr/store/redis.hpp"
#include "ivr/store/secretaries.hpp"
#include "ivr/store/usage.hpp"
#include "ivr/telephony/node_registry.hpp"
#include "ivr/webhooks/outbox.hpp"
#include "settings.hpp"

namespace asio = boost::asio;

namespace ivr::app {
namespace {

LogSettings log_settings(const Config& c) {
  return {c.log.level, c.log.format == "json"};
}

std::unique_ptr<SecretBox> master_key(const Config& c) {
  if (c.security.master_key.empty()) return nullptr;
  auto box = SecretBox::from_text(c.security.master_key);  // validated by the config loader
  return box ? std::make_unique<SecretBox>(std::move(*box)) : nullptr;
}

webhooks::WebhookSenderConfig webhook_config(const Config& c, const std::string& version) {
  webhooks::WebhookSenderConfig w;
  w.poll_interval = std::chrono::milliseconds(c.webhooks.poll_interval_ms);
  w.max_attempts = static_cast<int>(c.webhooks.max_attempts);
  w.max_age = std::chrono::milliseconds(c.webhooks.max_age_ms);
  w.initial_backoff = std::chrono::milliseconds(c.webhooks.initial_backoff_ms);
  w.max_backoff = std::chrono::milliseconds(c.webhooks.max_backoff_ms);
  w.request_timeout = std::chrono::milliseconds(c.webhooks.request_timeout_ms);
  w.version = version;
  return w;
}

std::unique_ptr<knowledge::Embedder> make_embedder(const Config& c, net::HttpClient& http) {
  const auto& k = c.knowledge;
  if (k.embedder == "openai") {
    providers::OpenAiEmbedderSettings s;
    s.base_url = k.embedding_base_url;
    s.api_key = k.embedding_api_key;
    s.model = k.embedding_model;
    s.dimension = static_cast<int>(k.embedding_dimension);
    s.timeout = std::chrono::milliseconds(k.embedding_timeout_ms);
    return providers::make_openai_embedder(http, std::move(s));
  }
  return std::make_unique<knowledge::HashEmbedder>(
      knowledge::HashEmbedderOptions{static_cast<int>(k.embedding_dimension)});
}

rag::DomainIndexesOptions index_options(const Config& c, const knowledge::Embedder& embedder) {
  rag::DomainIndexesOptions o;
  o.index.dimension = embedder.dimension();
  o.index.hnsw_threshold = static_cast<std::size_t>(c.knowledge.hnsw_threshold);
  o.index.hnsw_m = static_cast<int>(c.knowledge.hnsw_m);
  o.index.hnsw_ef_search = static_cast<int>(c.knowledge.hnsw_ef_search);
  o.model = embedder.model();
  o.memory_budget_bytes = static_cast<std::size_t>(c.knowledge.index_memory_budget_mb) << 20;
  o.idle = std::chrono::milliseconds(c.knowledge.index_idle_ms);
  return o;
}

rag::IngestionOptions ingestion_options(const Config& c) {
  const auto& k = c.knowledge;
  rag::IngestionOptions o;
  o.concurrency = static_cast<int>(k.ingest_concurrency);
  o.poll_interval = std::chrono::milliseconds(k.poll_interval_ms);
  o.lease = std::chrono::milliseconds(k.lease_ms);
  o.max_attempts = static_cast<int>(k.max_attempts);
  o.embedding_batch = static_cast<std::size_t>(k.embedding_batch);
  o.limits.max_pages = static_cast<int>(k.max_pages);
  o.limits.max_uncompressed_bytes = static_cast<std::size_t>(k.max_uncompressed_bytes);
  o.chunker.target_tokens = static_cast<std::size_t>(k.chunk_tokens);
  o.chunker.overlap_tokens = static_cast<std::size_t>(k.chunk_overlap_tokens);
  if (k.extract_in_subprocess) {
    rag::SandboxLimits sandbox;
    sandbox.wall = std::chrono::milliseconds(k.extract_timeout_ms);
    sandbox.memory_bytes = static_cast<std::size_t>(k.extract_memory_mb) << 20;
    o.prepare = [sandbox](std::string_view bytes, const knowledge::ExtractLimits& limits,
                          const knowledge::ChunkerOptions& chunker) {
      // This very binary, even if the file was replaced by an upgrade since the start.
      return rag::prepare_document_sandboxed("/proc/self/exe", bytes, limits, chunker, sandbox);
    };
  }
  return o;
}

// The Event Socket nodes of [freeswitch]; none when esl_host is empty.
std::unique_ptr<telephony::EslNodeRegistry> make_esl_nodes(asio::io_context& io, const Config& c) {
  const auto& f = c.freeswitch;
  if (f.esl_host.empty()) return nullptr;
  const std::string password = f.esl_password.empty() ? "ClueCon" : f.esl_password;
  std::vector<telephony::EslNode> nodes;
  nodes.push_back({f.node_name, f.esl_host, static_cast<std::uint16_t>(f.esl_port), password});
  // extra_nodes: "name=host:port,…"
  std::string_view rest = f.extra_nodes;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const auto eq = item.find('=');
    const auto colon = item.rfind(':');
    if (eq == std::string_view::npos || colon == std::string_view::npos || colon < eq) {
      module_logger("app")->error("freeswitch.extra_nodes: '{}' is not name=host:port; ignored", item);
      continue;
    }
    int port = 0;
    try {
      port = std::stoi(std::string(item.substr(colon + 1)));
    } catch (const std::exception&) {
    }
    if (port <= 0 || port > 65535) {
      module_logger("app")->error("freeswitch.extra_nodes: bad port in '{}'; ignored", item);
      continue;
    }
    nodes.push_back({std::string(item.substr(0, eq)), std::string(item.substr(eq + 1, colon - eq - 1)),
                     static_cast<std::uint16_t>(port), password});
  }
  telephony::EslClientOptions common;
  common.command_timeout = std::chrono::milliseconds(f.command_timeout_ms);
  common.subclasses = {"mod_audio_stream::play"};
  return std::make_unique<telephony::EslNodeRegistry>(io, std::move(nodes), common);
}

conversation::CallSessionOptions session_options(const Config& c) {
  conversation::CallSessionOptions o;
  o.max_call_duration = std::chrono::seconds(c.realtime.max_call_seconds);
  o.caller_idle_timeout = std::chrono::milliseconds(c.realtime.caller_idle_timeout_ms);
  o.playback_lead = std::chrono::milliseconds(c.realtime.playback_lead_ms);
  o.action_wait = std::chrono::milliseconds(c.realtime.action_wait_ms);
  o.reply_wait = std::chrono::milliseconds(c.realtime.reply_wait_ms);
  o.resampler_quality = static_cast<int>(c.realtime.resampler_quality);
  o.knowledge_top_k = static_cast<std::size_t>(c.knowledge.top_k);
  return o;
}

conversation::CallAdmissionLimits admission_limits(const Config& c) {
  conversation::CallAdmissionLimits l;
  l.max_calls = static_cast<std::size_t>(c.realtime.max_calls);
  l.max_calls_per_domain = static_cast<std::size_t>(c.realtime.max_calls_per_domain);
  l.max_loop_lag = std::chrono::milliseconds(c.realtime.overload_loop_lag_ms);
  l.max_loop_busy = static_cast<double>(c.realtime.overload_busy_percent) / 100.0;
  return l;
}

// Pub/sub: "<instance id> <domain uuid>" when a domain's documents changed, so other instances drop
// their copy of its index.
constexpr const char* kKnowledgeInvalidateChannel = "kb-invalidate";

// Everything the daemon runs, built once in dependency order (members are destroyed in reverse).
class Daemon {
 public:
  Daemon(const Config& config, const RunOptions& options)
      : config_(config),
        options_(options),
        log_(module_logger("app")),
        db_pool_(static_cast<std::size_t>(config.workers.db_threads)),
        blocking_pool_(static_cast<std::size_t>(config.workers.blocking_threads)),
        ingest_pool_(static_cast<std::size_t>(config.knowledge.ingest_concurrency)),
        db_(db_pool_, database_config(config)),
        redis_(io_, redis_config(config)),
        subscriber_(io_, redis_config(config)),
        pg_domains_(store::make_pg_domain_directory(db_, domain_source(config))),
        pg_tokens_(store::make_pg_token_store(db_)),
        domains_(*pg_domains_, {std::chrono::milliseconds(config.tenancy.domain_cache_ttl_ms),
                                std::chrono::milliseconds(config.tenancy.negative_cache_ttl_ms)}),
        tokens_(*pg_tokens_, {std::chrono::milliseconds(config.tenancy.token_cache_ttl_ms),
                              std::chrono::milliseconds(config.tenancy.negative_cache_ttl_ms)}),
        limiter_(store::make_redis_rate_limiter(redis_)),
        guard_(tokens_, domains_, limiter_.get(), config.rate_limit, metrics_, config.redis.key_prefix),
        observer_(metrics_, config.server.access_log),
        http_(io_),
        box_(master_key(config)),
        secretary_repo_(db_),
        call_repo_(db_),
        usage_repo_(db_),
        secretaries_(secretary_repo_),
        registry_(http_, espeak_, breakers_, box_.get(), &metrics_),
        webhook_sender_(io_, db_, http_, webhook_config(config, options.version), box_.get(), &metrics_),
        document_repo_(db_),
        embedder_(make_embedder(config, http_)),
        indexes_(blocking_pool_, document_repo_, index_options(config, *embedder_)),
        knowledge_(blocking_pool_, document_repo_, indexes_, *embedder_,
                   rag::KnowledgeServiceOptions{config.knowledge.min_score, 50}),
        ingestion_(io_, ingest_pool_, document_repo_, indexes_, *embedder_, ingestion_options(config),
                   [this](const std::string& domain) { announce_knowledge_change(domain); }),
        instance_id_(random_uuid()),
        esl_(make_esl_nodes(io_, config)),
        calls_(call_repo_, secretaries_, webhook_sender_),
        chat_(secretaries_, call_repo_, redis_, registry_, knowledge_, usage_repo_, &calls_,
              conversation::ChatSettings{config.redis.key_prefix}),
        started_(std::chrono::steady_clock::now()) {}

  int run() {
    build_routes();
    register_pool_metrics();
    subscribe_invalidations();
    redis_.start();
    subscriber_.start();
    if (!box_) {
      log_->warn(
          "no master key (security.master_key_file / VOICE_AI_SECURITY_MASTER_KEY): provider API keys and "
          "webhook secrets cannot be stored; offline providers still work");
    }

    server_ = std::make_unique<net::HttpServer>(io_, router_, server_config(config_), &observer_);
    if (auto started = server_->start(); !started) {
      log_->critical("cannot listen on {}:{}: {}", config_.server.address, config_.server.port,
                     started.error().message());
      return 1;
    }
    loop_load_.start();
    webhook_sender_.start();  // after a successful listen: a started sender must be stopped before exit
    ingestion_.start();       // resumes documents left `processing` (their leases run out)
    if (esl_) {
      esl_->on_hangup([this](std::string_view node, std::string_view uuid, const telephony::EslEvent& event) {
        hangups_.channel_hung_up(std::string(node), std::string(uuid),
                                 std::string(event.header("variable_domain_uuid")));
      });
      esl_->on_custom("mod_audio_stream::play", [this](std::string_view, const telephony::EslEvent& event) {
        // Body: {"audioDataType":"raw","sampleRate":8000,"file":"/tmp/<uuid>_<n>.tmp.r8"}.
        const auto body = nlohmann::json::parse(event.body, nullptr, false);
        if (!body.is_object() || !body.contains("file") || !body["file"].is_string()) {
          log_->debug("mod_audio_stream::play without a file: {}", event.body.substr(0, 200));
          return;
        }
        live_calls_.deliver_file(std::string(event.unique_id()), body["file"].get<std::string>());
      });
      esl_->start();
    }
    log_->info("voice-ai-ivr {} listening on {}:{} (domains: {}, rate limit {}/s burst {})", options_.version,
               config_.server.address, server_->port(), config_.tenancy.domain_source,
               config_.rate_limit.requests_per_second, config_.rate_limit.burst);

    asio::signal_set signals(io_, SIGTERM, SIGINT, SIGHUP);
    asio::co_spawn(io_, handle_signals(signals), asio::detached);
    if (auto interval = watchdog_interval()) {
      asio::co_spawn(io_, watchdog(*interval / 2), asio::detached);
    }
    notify_ready();
    io_.run();
    ingest_pool_.join();
    blocking_pool_.join();
    db_pool_.join();
    log_->info("stopped");
    return 0;
  }

 private:
  void build_routes() {
    api::register_ops_routes(router_, api::OpsDependencies{
                                          metrics_,
                                          [this]() { return probe_postgres(); },
                                          [this]() { return probe_redis(); },
                                          options_.version,
                                          started_,
                                          [this] { return draining_; },
                                      });
    api::register_tenant_routes(router_, guard_, config_.rate_limit);
    api::register_conversation_routes(
        router_, std::make_shared<api::ConversationDependencies>(api::ConversationDependencies{
                     guard_, secretaries_, secretary_repo_, registry_, chat_, calls_, redis_, usage_repo_,
                     webhook_sender_, box_.get(), config_.redis.key_prefix}));
    auto documents = std::make_shared<api::DocumentDependencies>(api::DocumentDependencies{
        guard_, secretaries_, document_repo_, knowledge_, indexes_, [this] { ingestion_.wake(); },
        [this](const std::string& domain) { announce_knowledge_change(domain); }});
    documents->max_upload_bytes = static_cast<std::size_t>(config_.knowledge.max_upload_bytes);
    documents->default_top_k = static_cast<int>(config_.knowledge.top_k);
    api::register_document_routes(router_, documents);
    auto streams = std::make_shared<api::StreamDependencies>(api::StreamDependencies{
        guard_, secretaries_,
        conversation::CallSessionDeps{[this](const conversation::Secretary& s, std::size_t attempt) {
                                        return realtime_agent(s, attempt);
                                      },
                                      nullptr, &live_calls_, calls_, call_repo_, knowledge_, &metrics_,
                                      session_options(config_)},
        esl_.get(), static_cast<int>(config_.realtime.default_sample_rate)});
    streams->admission = &admission_;
    api::register_stream_routes(router_, streams);
    // Count every HTTP handler in the in-flight gauge (WebSocket sessions are counted as connections).
    for (const auto& route : router_.routes()) {
      if (route->handler) route->handler = api::count_in_flight(metrics_, route->handler);
    }
  }

  void register_pool_metrics() {
    metrics_.gauge_callback("ivr_io_loop_lag_seconds", "How late the io loop runs timers (smoothed)", {},
                            [this] { return static_cast<double>(loop_load_.lag().count()) / 1e6; });
    metrics_.gauge_callback("ivr_io_loop_busy_ratio", "Share of time the io thread runs (smoothed, 0-1)", {},
                            [this] { return loop_load_.busy(); });
    metrics_.gauge_callback("ivr_db_pool_connections", "Postgres pool size", {},
                            [this] { return static_cast<double>(db_.pool_size()); });
    metrics_.gauge_callback("ivr_db_pool_in_use", "Postgres connections in use", {},
                            [this] { return static_cast<double>(db_.connections_in_use()); });
    metrics_.gauge_callback("ivr_redis_connected", "1 when the Redis command connection is up", {},
                            [this] { return redis_.connected() ? 1.0 : 0.0; });
    metrics_.gauge_callback("ivr_kb_indexes_loaded", "Per-domain knowledge indexes in memory", {},
                            [this] { return static_cast<double>(indexes_.loaded()); });
    metrics_.gauge_callback("ivr_kb_index_bytes", "Memory held by the loaded knowledge indexes", {},
                            [this] { return static_cast<double>(indexes_.memory_bytes()); });
    metrics_.gauge_callback("ivr_kb_ingestions_in_flight", "Documents being ingested now", {},
                            [this] { return static_cast<double>(ingestion_.in_flight()); });
    metrics_.gauge_callback("ivr_kb_documents_ingested", "Documents made ready by this instance since start",
                            {}, [this] { return static_cast<double>(ingestion_.completed()); });
    metrics_.gauge_callback("ivr_kb_documents_failed", "Documents failed by this instance since start", {},
                            [this] { return static_cast<double>(ingestion_.failed()); });
  }

  // The secretary's realtime agents in chain order (an empty chain means `pipeline`). Vendors this build
  // has no adapter for are skipped with a warning, so the session moves on to the next one, or to the
  // fallback extension when none is left.
  std::unique_ptr<providers::realtime::RealtimeAgent> realtime_agent(const conversation::Secretary& s,
                                                                     std::size_t attempt) {
    std::vector<std::string> chain;
    for (const auto& p : s.realtime) chain.push_back(p.vendor);
    if (chain.empty()) chain.push_back("pipeline");
    // Attempt n is the n-th agent this build can make, so skipped vendors do not use up attempts.
    std::size_t buildable = 0;
    for (const auto& vendor : chain) {
      if (vendor != "pipeline") {
        if (attempt == 0)
          log_->warn("secretary {}: realtime vendor '{}' is not available in this build", s.id, vendor);
        continue;
      }
      if (buildable++ < attempt) continue;
      return pipeline_agent(s);
    }
    return nullptr;
  }

  // VAD + the secretary's own STT, LLM and TTS chains: realtime calls with whatever providers it has
  // (fully offline when the STT is a local Whisper server).
  std::unique_ptr<providers::realtime::RealtimeAgent> pipeline_agent(const conversation::Secretary& s) {
    auto stt = registry_.speech_to_text(s);
    auto llm = registry_.language_model(s);
    auto tts = registry_.text_to_speech(s);
    if (!stt)
      log_->warn("secretary {}: the pipeline agent has no speech-to-text: {}", s.id, stt.error().message());
    conversation::PipelineOptions options;
    options.hints.language = s.language;
    options.hints.greeting = s.greeting;
    options.hints.faq = s.faq;
    options.hints.transfer_targets = s.transfer_targets;
    options.hints.goodbye_phrases = s.goodbye_phrases;
    return conversation::make_pipeline_agent(io_.get_executor(), stt ? std::move(*stt) : nullptr,
                                             llm ? std::move(*llm) : nullptr, tts ? std::move(*tts) : nullptr,
                                             std::move(options));
  }

  // This instance changed a domain's documents: other instances drop their copy of its index.
  void announce_knowledge_change(const std::string& domain) {
    std::vector<std::string> publish{"PUBLISH", config_.redis.key_prefix + kKnowledgeInvalidateChannel,
                                     instance_id_ + " " + domain};
    asio::co_spawn(
        io_,
        [this, publish = std::move(publish)]() mutable -> asio::awaitable<void> {
          Result<store::RedisReply> sent = co_await redis_.command(std::move(publish));
          if (!sent) log_->warn("cannot announce a knowledge-base change: {}", sent.error().message());
        },
        asio::detached);
  }

  void subscribe_invalidations() {
    const std::string prefix = config_.redis.key_prefix;
    subscriber_.subscribe(prefix + api::kDomainInvalidateChannel,
                          [this](std::string_view, std::string_view message) {
                            if (message == "*") {
                              domains_.invalidate_all();
                            } else {
                              domains_.invalidate(std::string(message));
                            }
                          });
    subscriber_.subscribe(prefix + kKnowledgeInvalidateChannel,
                          [this](std::string_view, std::string_view message) {
                            const auto space = message.find(' ');
                            if (space == std::string_view::npos) return;
                            if (message.substr(0, space) == instance_id_) return;  // our own change
                            indexes_.drop(std::string(message.substr(space + 1)));
                          });
    subscriber_.subscribe(prefix + api::kTokenInvalidateChannel,
                          [this](std::string_view, std::string_view) { tokens_.invalidate_all(); });
  }

  asio::awaitable<std::string> probe_postgres() {
    Result<void> ok = co_await db_.ping();
    co_return ok ? std::string() : std::string("unreachable");
  }

  asio::awaitable<std::string> probe_redis() {
    std::vector<std::string> ping{"PING"};  // GCC 12: no braced lists inside co_await expressions
    Result<store::RedisReply> reply = co_await redis_.command(std::move(ping));
    co_return reply ? std::string() : std::string("unreachable");
  }

  asio::awaitable<void> handle_signals(asio::signal_set& signals) {
    for (;;) {
      const int signal = co_await signals.async_wait(asio::use_awaitable);
      if (signal == SIGHUP) {
        reload();
        continue;
      }
      log_->info("signal {}: draining for up to {} ms", signal, config_.server.drain_timeout_ms);
      notify_stopping();
      draining_ = true;
      co_await server_->shutdown(std::chrono::milliseconds(config_.server.drain_timeout_ms));
      co_await usage_repo_.flush();  // what the last requests metered
      co_await webhook_sender_.stop();
      co_await ingestion_.stop(std::chrono::seconds(5));
      if (esl_) esl_->stop();
      loop_load_.stop();
      subscriber_.stop();
      redis_.stop();
      signals.cancel();
      io_.stop();
      co_return;
    }
  }

  // Reloads what can change at run time: log level and format, access log, default rate limits.
  // Listening address, stores and pools need a restart.
  void reload() {
    notify_reloading();
    ConfigLoad loaded = load_config(options_.source);
    if (!loaded.ok()) {
      for (const auto& e : loaded.errors) log_->error("reload refused: {}: {}", e.key, e.message);
      notify_ready();
      return;
    }
    init_logging(log_settings(loaded.config));
    observer_.set_access_log(loaded.config.server.access_log);
    guard_.set_limits(loaded.config.rate_limit);
    domains_.invalidate_all();
    tokens_.invalidate_all();
    log_->info("configuration reloaded (log, access log, rate limits, caches); other changes need a restart");
    notify_ready();
  }

  asio::awaitable<void> watchdog(std::chrono::microseconds period) {
    asio::steady_timer timer(io_);
    for (;;) {
      notify_watchdog();  // sent from the io thread: a stuck loop stops the pings
      timer.expires_after(period);
      co_await timer.async_wait(asio::use_awaitable);
    }
  }

  Config config_;
  RunOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  // Before io_: a session coroutine still suspended at exit gives its place back when io_ destroys it.
  // Only check(), admit() and explain() read the load monitor, on the io thread while it lives.
  conversation::CallAdmission admission_{admission_limits(config_), [this] {
                                           const net::LoopLoad load = loop_load_.load();
                                           return conversation::LoopLoadSample{load.lag, load.busy};
                                         }};
  asio::io_context io_{1};
  asio::thread_pool db_pool_;
  asio::thread_pool blocking_pool_;  // FAISS searches and index builds
  asio::thread_pool ingest_pool_;    // document extraction and local embedding, never the call path
  store::Database db_;
  store::RedisClient redis_;
  store::RedisSubscriber subscriber_;
  std::unique_ptr<store::DomainDirectory> pg_domains_;
  std::unique_ptr<store::TokenStore> pg_tokens_;
  api::CachedDomainDirectory domains_;
  api::CachedTokenStore tokens_;
  std::unique_ptr<store::RateLimiter> limiter_;
  MetricsRegistry metrics_;
  api::TenantGuard guard_;
  api::AccessObserver observer_;
  net::HttpClient http_;
  net::WebSocketConnector ws_connector_{io_};
  std::unique_ptr<SecretBox> box_;
  providers::EspeakEngine espeak_;
  providers::CircuitBreakers breakers_;
  store::SecretaryRepository secretary_repo_;
  store::CallRepository call_repo_;
  store::UsageRepository usage_repo_;
  conversation::SecretaryDirectory secretaries_;
  conversation::ProviderRegistry registry_;
  webhooks::WebhookSender webhook_sender_;
  store::DocumentRepository document_repo_;
  std::unique_ptr<knowledge::Embedder> embedder_;
  rag::DomainIndexes indexes_;
  rag::KnowledgeService knowledge_;
  rag::IngestionWorker ingestion_;
  std::string instance_id_;
  std::unique_ptr<telephony::EslNodeRegistry> esl_;
  conversation::LiveCalls live_calls_;
  conversation::CallService calls_;
  conversation::HangupFinaliser hangups_{
      io_.get_executor(), live_calls_, calls_,
      conversation::HangupFinaliserOptions{std::chrono::milliseconds(config_.freeswitch.hangup_grace_ms)}};
  conversation::ChatService chat_;
  net::LoopLoadMonitor loop_load_{io_.get_executor()};
  net::Router router_;
  std::unique_ptr<net::HttpServer> server_;
  std::chrono::steady_clock::time_point started_;
  bool draining_ = false;
};

}  // namespace

int migrate(const Config& config, std::chrono::seconds wait) {
  auto log = module_logger("migrate");
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    Result<store::MigrationReport> report =
        store::blocking_migrate(database_config(config), config.database.migrations_dir);
    if (report) {
      log->info("migrations: {} applied now, {} already applied", report->applied.size(),
                report->already_applied);
      return 0;
    }
    if (report.error() != Errc::unavailable || std::chrono::steady_clock::now() >= deadline) {
      log->critical("migrations failed: {}", report.error().message());
      return 1;
    }
    log->warn("database unreachable; retrying migrations");
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

int run_daemon(const Config& config, const RunOptions& options) {
  init_logging(log_settings(config));
  if (config.database.migrate_on_start) {
    if (int rc = migrate(config, std::chrono::seconds(30)); rc != 0) return rc;
  }
  Daemon daemon(config, options);
  return daemon.run();
}

}  // namespace ivr::app
