#include "support/test_env.hpp"

#include <cstdlib>

namespace ivr::test {
namespace {

std::string required_env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    throw std::runtime_error(std::string(name) + " is not set: run the tests through scripts/test.sh");
  }
  return value;
}

}  // namespace

std::string database_url() {
  return required_env("IVR_TEST_DATABASE_URL");
}
std::string redis_url() {
  return required_env("IVR_TEST_REDIS_URL");
}

store::DatabaseConfig database_config() {
  store::DatabaseConfig config;
  config.url = database_url();
  config.pool_size = 4;
  return config;
}

store::RedisConfig redis_config() {
  store::RedisConfig config;
  config.url = redis_url();
  return config;
}

std::string source_dir() {
  if (const char* dir = std::getenv("IVR_SOURCE_DIR"); dir != nullptr && *dir != '\0') return dir;
  return IVR_SOURCE_DIR_DEFAULT;
}

}  // namespace ivr::test
