#include "ivr/net/multipart_reader.hpp"

#include <gtest/gtest.h>

namespace ivr::net {
namespace {

constexpr char kRawBody[] =
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"secretary_id\"\r\n\r\n"
    "abc\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"file\"; filename=\"rec.wav\"\r\n"
    "Content-Type: audio/wav\r\n\r\n"
    "RIFF\0\r\nbinary\r\n"
    "--XyZ--\r\n";
const std::string kBody(kRawBody, sizeof(kRawBody) - 1);  // keeps the NUL inside the file part

TEST(MultipartReader, ParsesFieldsAndFiles) {
  auto parts = parse_multipart(kBody, "XyZ");
  ASSERT_TRUE(parts);
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].name, "secretary_id");
  EXPECT_EQ((*parts)[0].data, "abc");
  EXPECT_EQ((*parts)[1].name, "file");
  EXPECT_EQ((*parts)[1].filename, "rec.wav");
  EXPECT_EQ((*parts)[1].content_type, "audio/wav");
  EXPECT_EQ((*parts)[1].data, std::string_view("RIFF\0\r\nbinary", 13));
}

TEST(MultipartReader, Boundary) {
  EXPECT_EQ(*multipart_boundary("multipart/form-data; boundary=XyZ"), "XyZ");
  EXPECT_EQ(*multipart_boundary("Multipart/Form-Data; charset=utf-8; boundary=\"a b\""), "a b");
  EXPECT_FALSE(multipart_boundary("application/json"));
  EXPECT_FALSE(multipart_boundary("multipart/form-data"));
}

TEST(MultipartReader, TruncatedOrMalformedIsBadRequest) {
  for (std::size_t n = 0; n + 10 < kBody.size(); ++n) {
    auto r = parse_multipart(std::string_view(kBody).substr(0, n), "XyZ");
    if (r) {
      EXPECT_LE(r->size(), 2u);
    }
  }
  EXPECT_EQ(parse_multipart("no delimiter here", "XyZ").error(), Errc::bad_request);
  EXPECT_EQ(parse_multipart("--XyZ\r\nbroken header\r\n\r\nx\r\n--XyZ--", "XyZ").error(), Errc::bad_request);
}

}  // namespace
}  // namespace ivr::net
