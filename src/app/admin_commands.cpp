#include "ivr/app/admin_commands.hpp"

#include <hiredis/hiredis.h>
#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json.hpp>

#include "ivr/api/tenant_cache.hpp"
#include "ivr/core/ids.hpp"
#include "ivr/core/logging.hpp"
#include "settings.hpp"

namespace ivr::app {
namespace {

// The admin commands need one connection, used from this thread only.
struct AdminSession {
  explicit AdminSession(const Config& config) : pool(1), db(pool, app::database_config(config)), admin(db) {}
  boost::asio::thread_pool pool;
  store::Database db;
  store::BlockingAdmin admin;
};

int report(const boost::system::error_code& ec, const std::string& what, std::ostream& err) {
  err << "error: " << what << ": " << ec.message() << "\n";
  if (ec == Errc::unavailable) err << "hint: is the database running? (scripts/services.sh start)\n";
  return 1;
}

void invalidate_domain(const Config& config, const std::string& uuid, std::ostream& err) {
  if (!blocking_publish(config.redis, config.redis.key_prefix + api::kDomainInvalidateChannel, uuid)) {
    err << "warning: Redis unreachable; running daemons will see the change within "
        << config.tenancy.domain_cache_ttl_ms / 1000 << " s\n";
  }
}

}  // namespace

bool blocking_publish(const RedisSettings& settings, const std::string& channel, const std::string& message) {
  store::RedisConfig rc;
  rc.url = settings.url;
  // Parse host/port/db from redis://[:password@]host:port[/db] (validated by the config loader).
  std::string rest = settings.url.substr(std::string("redis://").size());
  std::string password = settings.password;
  if (const auto at = rest.rfind('@'); at != std::string::npos) {
    const std::string userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    if (password.empty())
      password = userinfo.substr(userinfo.find(':') == std::string::npos ? 0 : userinfo.find(':') + 1);
  }
  std::string host = rest;
  int port = 6379;
  if (const auto slash = host.find('/'); slash != std::string::npos) host = host.substr(0, slash);
  if (const auto colon = host.rfind(':'); colon != std::string::npos) {
    port = std::atoi(host.substr(colon + 1).c_str());
    host = host.substr(0, colon);
  }
  const timeval timeout{1, 0};
  redisContext* ctx = redisConnectWithTimeout(host.c_str(), port, timeout);
  if (ctx == nullptr || ctx->err != 0) {
    if (ctx != nullptr) redisFree(ctx);
    return false;
  }
  redisSetTimeout(ctx, timeout);
  bool ok = true;
  if (!password.empty()) {
    auto* reply = static_cast<redisReply*>(redisCommand(ctx, "AUTH %b", password.data(), password.size()));
    ok = reply != nullptr && reply->type != REDIS_REPLY_ERROR;
    if (reply != nullptr) freeReplyObject(reply);
  }
  if (ok) {
    auto* reply = static_cast<redisReply*>(
        redisCommand(ctx, "PUBLISH %b %b", channel.data(), channel.size(), message.data(), message.size()));
    ok = reply != nullptr && reply->type == REDIS_REPLY_INTEGER;
    if (reply != nullptr) freeReplyObject(reply);
  }
  redisFree(ctx);
  return ok;
}

int cmd_domain_add(const Config& config, const std::string& name, const std::optional<std::string>& uuid,
                   std::ostream& out, std::ostream& err) {
  if (name.empty()) {
    err << "error: --name must not be empty\n";
    return 2;
  }
  if (config.tenancy.domain_source == "fusionpbx") {
    err << "error: tenancy.domain_source is fusionpbx: add domains in FusionPBX (Advanced > Domains)\n";
    return 2;
  }
  AdminSession s(config);
  auto added = s.admin.blocking_add_domain(name, uuid);
  if (!added) return report(added.error(), "cannot add domain '" + name + "'", err);
  out << added->uuid << "\t" << added->name << "\n";
  return 0;
}

int cmd_domain_list(const Config& config, bool json, std::ostream& out, std::ostream& err) {
  AdminSession s(config);
  auto domains = s.admin.blocking_list_domains(app::domain_source(config));
  if (!domains) return report(domains.error(), "cannot list domains", err);
  if (json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& d : *domains) {
      nlohmann::json row = {{"domain_uuid", d.uuid}, {"domain_name", d.name}, {"enabled", d.enabled}};
      if (d.rate_limit_per_second) row["rate_limit_per_second"] = *d.rate_limit_per_second;
      if (d.rate_limit_burst) row["rate_limit_burst"] = *d.rate_limit_burst;
      if (d.max_realtime_calls) row["max_realtime_calls"] = *d.max_realtime_calls;
      list.push_back(row);
    }
    out << list.dump(2) << "\n";
    return 0;
  }
  for (const auto& d : *domains) {
    out << d.uuid << "\t" << d.name << "\t" << (d.enabled ? "enabled" : "disabled") << "\n";
  }
  return 0;
}

int cmd_domain_set_enabled(const Config& config, const std::string& uuid, bool enabled, std::ostream& out,
                           std::ostream& err) {
  const auto normalized = normalize_uuid(uuid);
  if (!normalized) {
    err << "error: '" << uuid << "' is not a valid UUID\n";
    return 2;
  }
  AdminSession s(config);
  auto done = s.admin.blocking_set_domain_enabled(*normalized, enabled);
  if (!done) return report(done.error(), "cannot update domain " + *normalized, err);
  invalidate_domain(config, *normalized, err);
  out << *normalized << "\t" << (enabled ? "enabled" : "disabled") << "\n";
  return 0;
}

int cmd_domain_rate_limit(const Config& config, const std::string& uuid, std::optional<double> per_second,
                          std::optional<double> burst, std::ostream& out, std::ostream& err) {
  const auto normalized = normalize_uuid(uuid);
  if (!normalized) {
    err << "error: '" << uuid << "' is not a valid UUID\n";
    return 2;
  }
  if ((per_second && *per_second <= 0) || (burst && *burst < 1)) {
    err << "error: --per-second must be > 0 and --burst at least 1\n";
    return 2;
  }
  AdminSession s(config);
  auto done = s.admin.blocking_set_domain_rate_limit(*normalized, per_second, burst);
  if (!done) return report(done.error(), "cannot update domain " + *normalized, err);
  invalidate_domain(config, *normalized, err);
  out << *normalized << "\trate limit " << (per_second ? std::to_string(*per_second) : "default")
      << "/s burst " << (burst ? std::to_string(*burst) : "default") << "\n";
  return 0;
}

int cmd_domain_realtime_limit(const Config& config, const std::string& uuid,
                              std::optional<std::int64_t> max_calls, std::ostream& out, std::ostream& err) {
  const auto normalized = normalize_uuid(uuid);
  if (!normalized) {
    err << "error: '" << uuid << "' is not a valid UUID\n";
    return 2;
  }
  if (max_calls && *max_calls < 0) {
    err << "error: --max must be 0 (no cap) or more\n";
    return 2;
  }
  AdminSession s(config);
  auto done = s.admin.blocking_set_domain_realtime_limit(*normalized, max_calls);
  if (!done) return report(done.error(), "cannot update domain " + *normalized, err);
  invalidate_domain(config, *normalized, err);
  out << *normalized << "\trealtime calls "
      << (!max_calls        ? std::string("default")
          : *max_calls == 0 ? std::string("no cap")
                            : std::to_string(*max_calls))
      << "\n";
  return 0;
}

int cmd_token_create(const Config& config, const std::string& scope_text,
                     const std::optional<std::string>& domain, const std::string& label, std::ostream& out,
                     std::ostream& err) {
  const auto scope = store::parse_token_scope(scope_text);
  if (!scope) {
    err << "error: --scope must be 'call' or 'admin'\n";
    return 2;
  }
  std::optional<std::string> bound;
  if (domain) {
    bound = normalize_uuid(*domain);
    if (!bound) {
      err << "error: --domain '" << *domain << "' is not a valid UUID\n";
      return 2;
    }
  }
  AdminSession s(config);
  auto created = s.admin.blocking_create_token(*scope, bound, label);
  if (!created) return report(created.error(), "cannot create token", err);
  // The token is shown once; only its SHA-256 is stored.
  out << created->token << "\n";
  err << "token " << created->id << " (scope " << scope_text << (bound ? ", domain " + *bound : std::string())
      << ") created; store it now, it cannot be shown again\n";
  return 0;
}

int cmd_token_revoke(const Config& config, const std::string& id, std::ostream& out, std::ostream& err) {
  if (!is_valid_uuid(id)) {
    err << "error: '" << id << "' is not a token id\n";
    return 2;
  }
  AdminSession s(config);
  auto done = s.admin.blocking_revoke_token(*normalize_uuid(id));
  if (!done) return report(done.error(), "cannot revoke token " + id, err);
  if (!blocking_publish(config.redis, config.redis.key_prefix + api::kTokenInvalidateChannel, "*")) {
    err << "warning: Redis unreachable; running daemons will see the change within "
        << config.tenancy.token_cache_ttl_ms / 1000 << " s\n";
  }
  out << id << "\trevoked\n";
  return 0;
}

}  // namespace ivr::app
