#include "support/test_env.hpp"

#include <array>
#include <cstdio>
#include <cstdlib>

#include <openssl/evp.h>
#include <openssl/hmac.h>

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

std::string with_params(const std::string& url, const std::map<std::string, std::string>& params) {
  std::string out = url;
  const bool uri = url.starts_with("postgresql://") || url.starts_with("postgres://");
  char sep = url.find('?') == std::string::npos ? '?' : '&';
  for (const auto& [key, value] : params) {
    if (uri) {
      out += sep + key + "=" + value;
      sep = '&';
    } else {
      out += " " + key + "=" + value;
    }
  }
  return out;
}

std::string expected_signature(const std::string& secret, const std::string& timestamp,
                               const std::string& body) {
  const std::string message = timestamp + "." + body;
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac.data(), &len);
  std::string hex = "sha256=";
  char byte[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(byte, sizeof byte, "%02x", mac[i]);
    hex += byte;
  }
  return hex;
}

}  // namespace ivr::test
