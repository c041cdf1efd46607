#include "ivr/core/base64.hpp"

#include <string>

#include <gtest/gtest.h>

namespace ivr {
namespace {

// RFC 4648 §10 test vectors.
TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(plain), encoded);
    EXPECT_EQ(base64_decode(encoded).value_or("<error>"), plain);
    std::string out = "stale";
    ASSERT_TRUE(base64_decode_into(encoded, out));
    EXPECT_EQ(out, plain);
  }
}

TEST(Base64, AppendKeepsWhatIsThereAndRoundTripsBinary) {
  std::string binary;
  for (int i = 0; i < 256; ++i) binary.push_back(static_cast<char>(i));
  std::string out = "prefix:";
  append_base64(out, binary);
  ASSERT_EQ(out.rfind("prefix:", 0), 0u);
  EXPECT_EQ(base64_decode(std::string_view(out).substr(7)).value_or(""), binary);
}

TEST(Base64, MalformedInputIsRefused) {
  std::string out;
  EXPECT_FALSE(base64_decode("Zm9"));     // length not a multiple of 4
  EXPECT_FALSE(base64_decode("Zm9v\n"));  // whitespace OpenSSL would skip
  EXPECT_FALSE(base64_decode("Zm!v"));    // outside the alphabet
  EXPECT_FALSE(base64_decode_into("Zm9", out));
  EXPECT_FALSE(base64_decode_into("Zm!v", out));  // OpenSSL rejects it too
}

}  // namespace
}  // namespace ivr
