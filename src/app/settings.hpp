#pragma once
// Turns the validated Config into each module's own config struct.

#include "ivr/core/config.hpp"
#include "ivr/net/http_server.hpp"
#include "ivr/store/database.hpp"
#include "ivr/store/redis.hpp"
#include "ivr/store/repositories.hpp"

namespace ivr::app {

inline store::DatabaseConfig database_config(const Config& c) {
  store::DatabaseConfig d;
  d.url = c.database.url;
  d.password = c.database.password;
  d.pool_size = static_cast<std::size_t>(c.database.pool_size);
  d.connect_timeout = std::chrono::milliseconds(c.database.connect_timeout_ms);
  d.statement_timeout = std::chrono::milliseconds(c.database.statement_timeout_ms);
  return d;
}

inline store::RedisConfig redis_config(const Config& c) {
  store::RedisConfig r;
  r.url = c.redis.url;
  r.password = c.redis.password;
  r.command_timeout = std::chrono::milliseconds(c.redis.command_timeout_ms);
  r.connect_timeout = std::chrono::milliseconds(c.redis.connect_timeout_ms);
  return r;
}

inline net::ServerConfig server_config(const Config& c) {
  net::ServerConfig s;
  s.address = c.server.address;
  s.port = static_cast<std::uint16_t>(c.server.port);
  s.max_connections = static_cast<std::size_t>(c.server.max_connections);
  s.max_header_bytes = static_cast<std::size_t>(c.server.max_header_bytes);
  s.read_timeout = std::chrono::milliseconds(c.server.read_timeout_ms);
  s.idle_timeout = std::chrono::milliseconds(c.server.idle_timeout_ms);
  s.write_timeout = std::chrono::milliseconds(c.server.write_timeout_ms);
  s.reuse_port = c.server.reuse_port;
  return s;
}

inline store::DomainSource domain_source(const Config& c) {
  return c.tenancy.domain_source == "fusionpbx" ? store::DomainSource::fusionpbx
                                                : store::DomainSource::standalone;
}

}  // namespace ivr::app
