#include "ivr/core/config.hpp"

#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace ivr {
namespace {

std::string write_temp(const std::string& text) {
  char name[] = "/tmp/ivr-config-XXXXXX";
  const int fd = mkstemp(name);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(name) << text;
  return name;
}

bool has_error(const ConfigLoad& load, const std::string& key) {
  for (const auto& e : load.errors) {
    if (e.key == key) return true;
  }
  return false;
}

TEST(Config, EmbeddedDefaultsAreValidAndListenOn8100) {
  const ConfigLoad load = load_config({});
  ASSERT_TRUE(load.ok());
  EXPECT_EQ(load.config.server.address, "127.0.0.1");
  EXPECT_EQ(load.config.server.port, 8100);
  EXPECT_EQ(load.config.tenancy.domain_source, "standalone");
}

TEST(Config, ShippedExampleFileIsValid) {
  const ConfigLoad load = load_config({std::string(IVR_TEST_SOURCE_DIR) + "/config/voice-ai-ivr.toml", {}});
  for (const auto& e : load.errors) ADD_FAILURE() << e.key << ": " << e.message;
}

TEST(Config, FileValuesOverrideDefaults) {
  const auto path = write_temp("[server]\nport = 9000\n[rate_limit]\nburst = 5\n[log]\nlevel = \"debug\"\n");
  const ConfigLoad load = load_config({path, {}});
  ASSERT_TRUE(load.ok());
  EXPECT_EQ(load.config.server.port, 9000);
  EXPECT_DOUBLE_EQ(load.config.rate_limit.burst, 5);
  EXPECT_EQ(load.config.log.level, "debug");
  std::remove(path.c_str());
}

TEST(Config, UnknownKeysAreRejectedWithTheirName) {
  const auto path = write_temp("[server]\nprot = 9000\n[nonsense]\nx = 1\n");
  const ConfigLoad load = load_config({path, {}});
  EXPECT_TRUE(has_error(load, "server.prot"));
  EXPECT_TRUE(has_error(load, "nonsense.x"));
  std::remove(path.c_str());
}

TEST(Config, WrongTypeNamesTheKey) {
  const auto path = write_temp("[server]\nport = \"eighty\"\n");
  const ConfigLoad load = load_config({path, {}});
  ASSERT_TRUE(has_error(load, "server.port"));
  std::remove(path.c_str());
}

TEST(Config, SyntaxErrorNamesFileLineAndColumn) {
  const auto path = write_temp("[server\nport = 1\n");
  const ConfigLoad load = load_config({path, {}});
  ASSERT_FALSE(load.ok());
  EXPECT_NE(load.errors.front().key.find(path + ":1:"), std::string::npos) << load.errors.front().key;
  std::remove(path.c_str());
}

TEST(Config, EnvironmentOverridesFile) {
  const auto path = write_temp("[server]\nport = 9000\n");
  const ConfigLoad load = load_config({path,
                                       {{"VOICE_AI_SERVER_PORT", "9100"},
                                        {"VOICE_AI_RATE_LIMIT_ENABLED", "false"},
                                        {"VOICE_AI_TENANCY_DOMAIN_SOURCE", "fusionpbx"}}});
  ASSERT_TRUE(load.ok());
  EXPECT_EQ(load.config.server.port, 9100);
  EXPECT_FALSE(load.config.rate_limit.enabled);
  EXPECT_EQ(load.config.tenancy.domain_source, "fusionpbx");
  std::remove(path.c_str());
}

TEST(Config, BadEnvironmentValuesAndNamesAreErrors) {
  const ConfigLoad load =
      load_config({std::nullopt, {{"VOICE_AI_SERVER_PORT", "80x"}, {"VOICE_AI_SERVER_PROT", "1"}}});
  EXPECT_TRUE(has_error(load, "VOICE_AI_SERVER_PORT"));
  EXPECT_TRUE(has_error(load, "VOICE_AI_SERVER_PROT"));
}

TEST(Config, SecretsAreRefusedInTheFile) {
  const auto path = write_temp("[database]\npassword = \"hunter2\"\n");
  const ConfigLoad load = load_config({path, {}});
  EXPECT_TRUE(has_error(load, "database.password"));
  std::remove(path.c_str());
}

TEST(Config, SecretsComeFromEnvironmentOrFileAndAreNeverPrinted) {
  const auto secret = write_temp("s3cret-from-file\n");
  const ConfigLoad from_file = load_config({std::nullopt, {{"VOICE_AI_REDIS_PASSWORD_FILE", secret}}});
  ASSERT_TRUE(from_file.ok());
  EXPECT_EQ(from_file.config.redis.password, "s3cret-from-file");
  const ConfigLoad from_env = load_config({std::nullopt, {{"VOICE_AI_DATABASE_PASSWORD", "env-secret"}}});
  ASSERT_TRUE(from_env.ok());
  EXPECT_EQ(from_env.config.database.password, "env-secret");
  const std::string dump = dump_config(from_env.config);
  EXPECT_EQ(dump.find("env-secret"), std::string::npos);
  EXPECT_NE(dump.find("<redacted>"), std::string::npos);
  std::remove(secret.c_str());
}

TEST(Config, MissingSecretFileIsAnError) {
  const ConfigLoad load =
      load_config({std::nullopt, {{"VOICE_AI_DATABASE_PASSWORD_FILE", "/nonexistent/pw"}}});
  EXPECT_TRUE(has_error(load, "database.password_file"));
}

TEST(Config, ValidationNamesEveryBadKey) {
  const ConfigLoad load = load_config({std::nullopt,
                                       {{"VOICE_AI_SERVER_PORT", "70000"},
                                        {"VOICE_AI_TENANCY_DOMAIN_SOURCE", "ldap"},
                                        {"VOICE_AI_RATE_LIMIT_REQUESTS_PER_SECOND", "0"},
                                        {"VOICE_AI_LOG_LEVEL", "loud"},
                                        {"VOICE_AI_REALTIME_RESAMPLER_QUALITY", "11"}}});
  EXPECT_TRUE(has_error(load, "server.port"));
  EXPECT_TRUE(has_error(load, "realtime.resampler_quality"));
  EXPECT_TRUE(has_error(load, "tenancy.domain_source"));
  EXPECT_TRUE(has_error(load, "rate_limit.requests_per_second"));
  EXPECT_TRUE(has_error(load, "log.level"));
}

TEST(Config, DumpRoundTripsThroughTheLoader) {
  Config config;
  config.server.port = 8123;
  const auto path = write_temp(dump_config(config));
  const ConfigLoad load = load_config({path, {}});
  for (const auto& e : load.errors) ADD_FAILURE() << e.key << ": " << e.message;
  EXPECT_EQ(load.config.server.port, 8123);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace ivr
