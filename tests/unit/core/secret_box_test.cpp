#include "ivr/core/secret_box.hpp"

#include <gtest/gtest.h>

namespace ivr {
namespace {

const std::string kHexKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

TEST(SecretBox, SealOpenRoundTripWithOwnerBinding) {
  auto box = SecretBox::from_text(kHexKey);
  ASSERT_TRUE(box);
  const std::string sealed = box->seal("sk-live-secret", "domain-a");
  EXPECT_EQ(sealed.rfind("v1:", 0), 0u);
  EXPECT_EQ(sealed.find("sk-live-secret"), std::string::npos);
  EXPECT_EQ(box->open(sealed, "domain-a").value(), "sk-live-secret");
  EXPECT_EQ(box->open(sealed, "domain-b").error(), Errc::unprocessable);  // copied to another tenant
  EXPECT_NE(box->seal("sk-live-secret", "domain-a"), sealed);             // fresh nonce each time
}

TEST(SecretBox, WrongKeyOrTamperingFails) {
  auto box = SecretBox::from_text(kHexKey).value();
  auto other = SecretBox::from_text(std::string(64, 'f')).value();
  std::string sealed = box.seal("x", "d");
  EXPECT_FALSE(other.open(sealed, "d"));
  sealed[10] = sealed[10] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(box.open(sealed, "d"));
  EXPECT_FALSE(box.open("v1:%%%", "d"));
  EXPECT_FALSE(box.open("plain", "d"));
}

TEST(SecretBox, KeyFormats) {
  EXPECT_TRUE(SecretBox::from_text(kHexKey + "\n"));
  EXPECT_TRUE(SecretBox::from_text(base64_encode(std::string(32, '\x07'))));
  EXPECT_FALSE(SecretBox::from_text("short"));
  EXPECT_FALSE(SecretBox::from_text(std::string(64, 'g')));
}

TEST(Base64, RoundTripAllLengths) {
  std::string data;
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(base64_decode(base64_encode(data)).value(), data) << i;
    data.push_back(static_cast<char>(i * 37));
  }
  EXPECT_EQ(base64_encode("abc"), "YWJj");
  EXPECT_FALSE(base64_decode("YWJ"));
  EXPECT_FALSE(base64_decode("YW J"));
}

}  // namespace
}  // namespace ivr
