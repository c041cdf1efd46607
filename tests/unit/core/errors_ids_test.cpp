#include "ivr/core/errors.hpp"
#include "ivr/core/ids.hpp"

#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace ivr {
namespace {

TEST(Errors, MapToPreciseStatuses) {
  EXPECT_EQ(http_error_mapping(Errc::invalid_domain_uuid).status, 400);
  EXPECT_EQ(http_error_mapping(Errc::invalid_domain_uuid).code, "invalid_domain_uuid");
  EXPECT_EQ(http_error_mapping(Errc::unauthorized).status, 401);
  EXPECT_EQ(http_error_mapping(Errc::forbidden).status, 403);
  EXPECT_EQ(http_error_mapping(Errc::unknown_domain).status, 404);
  EXPECT_EQ(http_error_mapping(Errc::unknown_domain).code, "unknown_domain");
  EXPECT_EQ(http_error_mapping(Errc::method_not_allowed).status, 405);
  EXPECT_EQ(http_error_mapping(Errc::payload_too_large).status, 413);
  EXPECT_EQ(http_error_mapping(Errc::unsupported_media_type).status, 415);
  EXPECT_EQ(http_error_mapping(Errc::unprocessable).status, 422);
  EXPECT_EQ(http_error_mapping(Errc::rate_limited).status, 429);
  EXPECT_EQ(http_error_mapping(Errc::unavailable).status, 503);
}

TEST(Errors, ForeignCodesBecomeInternalWithoutDetails) {
  const auto m = http_error_mapping(boost::system::error_code(ENOENT, boost::system::generic_category()));
  EXPECT_EQ(m.status, 500);
  EXPECT_EQ(m.code, "internal");
}

TEST(Errors, EnvelopeIsValidJsonEvenForInvalidUtf8) {
  const auto body = nlohmann::json::parse(error_envelope("bad_request", "byte \xff here \"quoted\""));
  EXPECT_EQ(body["error"]["code"], "bad_request");
  EXPECT_NE(body["error"]["message"].get<std::string>().find("quoted"), std::string::npos);
}

TEST(Errors, ResultCarriesOurCodes) {
  Result<int> r = make_error_code(Errc::timeout);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::timeout);
  EXPECT_EQ(r.error().message(), "timeout");
}

TEST(Ids, UuidValidationAndNormalisation) {
  EXPECT_TRUE(is_valid_uuid("0f8fad5b-d9cb-469f-a165-70867728950e"));
  EXPECT_TRUE(is_valid_uuid("0F8FAD5B-D9CB-469F-A165-70867728950E"));
  EXPECT_FALSE(is_valid_uuid("0f8fad5bd9cb469fa16570867728950e"));
  EXPECT_FALSE(is_valid_uuid("0f8fad5b-d9cb-469f-a165-70867728950"));
  EXPECT_FALSE(is_valid_uuid("0f8fad5b-d9cb-469f-a165-70867728950g"));
  EXPECT_FALSE(is_valid_uuid("'; DROP TABLE domains; --------------"));
  EXPECT_EQ(*normalize_uuid("0F8FAD5B-D9CB-469F-A165-70867728950E"), "0f8fad5b-d9cb-469f-a165-70867728950e");
  const std::string u = random_uuid();
  EXPECT_TRUE(is_valid_uuid(u));
  EXPECT_EQ(u[14], '4');
}

TEST(Ids, RequestIds) {
  EXPECT_TRUE(is_acceptable_request_id("abc-123_x.y:z"));
  EXPECT_FALSE(is_acceptable_request_id(""));
  EXPECT_FALSE(is_acceptable_request_id("has space"));
  EXPECT_FALSE(is_acceptable_request_id("new\nline"));
  EXPECT_FALSE(is_acceptable_request_id(std::string(129, 'a')));
  EXPECT_TRUE(is_acceptable_request_id(new_request_id()));
}

TEST(Ids, TokensAreRandomUrlSafeAndHashedDeterministically) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string t = generate_api_token();
    EXPECT_EQ(t.rfind("ivr_", 0), 0u);
    EXPECT_EQ(t.size(), 4u + 43u);
    EXPECT_EQ(t.find_first_not_of("ivr_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
              std::string::npos);
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 100u);
  // Known answer: SHA-256("abc").
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("ivr_x"), sha256_hex("ivr_x"));
  EXPECT_NE(sha256_hex("ivr_x"), sha256_hex("ivr_y"));
}

TEST(Ids, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("secret", "secret"));
  EXPECT_FALSE(constant_time_equal("secret", "secreT"));
  EXPECT_FALSE(constant_time_equal("secret", "secret2"));
}

}  // namespace
}  // namespace ivr
