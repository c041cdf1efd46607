#include "ivr/net/multipart_writer.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace ivr::net {
namespace {

using namespace std::string_literals;

struct ParsedPart {
  std::string head;
  std::string data;
};

// A strict reader of what MultipartWriter emits (RFC 2046 delimiters, no preamble or epilogue): nullopt
// when the framing is wrong anywhere.
std::optional<std::vector<ParsedPart>> parse(const std::string& body, const std::string& boundary) {
  const std::string first = "--" + boundary + "\r\n";
  const std::string delimiter = "\r\n--" + boundary;
  const std::string closing = "--" + boundary + "--\r\n";
  std::vector<ParsedPart> parts;
  if (body == closing) return parts;
  if (body.rfind(first, 0) != 0) return std::nullopt;
  std::size_t pos = first.size();
  for (;;) {
    const std::size_t end = body.find(delimiter, pos);
    if (end == std::string::npos) return std::nullopt;
    const std::string part = body.substr(pos, end - pos);
    const std::size_t blank = part.find("\r\n\r\n");
    if (blank == std::string::npos) return std::nullopt;
    parts.push_back({part.substr(0, blank + 2), part.substr(blank + 4)});
    pos = end + delimiter.size();
    if (body.compare(pos, 4, "--\r\n") == 0)
      return pos + 4 == body.size() ? std::optional(parts) : std::nullopt;
    if (body.compare(pos, 2, "\r\n") != 0) return std::nullopt;
    pos += 2;
  }
}

TEST(MultipartWriter, ExactBytesForFieldAndFile) {
  MultipartWriter w("XyZ");
  w.add_field("model", "whisper-1");
  w.add_file("file", "audio.wav", "audio/wav", "RIFF\0\r\n--"s);
  EXPECT_EQ(w.content_type(), "multipart/form-data; boundary=XyZ");
  EXPECT_EQ(w.part_count(), 2u);
  const std::string expected =
      "--XyZ\r\n"
      "Content-Disposition: form-data; name=\"model\"\r\n"
      "\r\n"
      "whisper-1\r\n"
      "--XyZ\r\n"
      "Content-Disposition: form-data; name=\"file\"; filename=\"audio.wav\"\r\n"
      "Content-Type: audio/wav\r\n"
      "\r\n"
      "RIFF\0\r\n--\r\n"
      "--XyZ--\r\n"s;
  EXPECT_EQ(w.body(), expected);
}

TEST(MultipartWriter, EmptyBodyIsJustTheClosingDelimiter) {
  MultipartWriter w("b");
  EXPECT_EQ(w.body(), "--b--\r\n");
  EXPECT_EQ(w.part_count(), 0u);
}

TEST(MultipartWriter, EmptyFieldValueAndDefaultContentType) {
  MultipartWriter w("B1");
  w.add_field("language", "");
  w.add_file("f", "x.bin", "", "");
  auto parts = parse(w.body(), w.boundary());
  ASSERT_TRUE(parts);
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].data, "");
  EXPECT_EQ((*parts)[1].head,
            "Content-Disposition: form-data; name=\"f\"; filename=\"x.bin\"\r\n"
            "Content-Type: application/octet-stream\r\n");
  EXPECT_EQ((*parts)[1].data, "");
}

TEST(MultipartWriter, RandomBoundariesAreFreshAndWellFormed) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    MultipartWriter w;
    const std::string& b = w.boundary();
    EXPECT_EQ(b.rfind("ivr-", 0), 0u) << b;
    EXPECT_LE(b.size(), 70u);
    EXPECT_GE(b.size(), 30u);
    for (char c : b) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-') << b;
    EXPECT_EQ(w.content_type(), "multipart/form-data; boundary=" + b);
    seen.insert(b);
  }
  EXPECT_EQ(seen.size(), 50u);
}

TEST(MultipartWriter, BoundaryWithSpecialCharactersIsQuotedInContentType) {
  MultipartWriter w("a:b/c d");
  EXPECT_EQ(w.content_type(), "multipart/form-data; boundary=\"a:b/c d\"");
}

TEST(MultipartWriter, BoundaryIsRedrawnWhenDataContainsIt) {
  MultipartWriter w("collide");
  w.add_field("a", "first");
  EXPECT_EQ(w.boundary(), "collide");
  const std::string data = "xx\r\n--collide\r\nyy--collide--";
  w.add_file("file", "f.bin", "application/octet-stream", data);
  EXPECT_NE(w.boundary(), "collide");
  const std::string body = w.body();
  auto parts = parse(body, w.boundary());
  ASSERT_TRUE(parts);
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].data, "first");
  EXPECT_EQ((*parts)[1].data, data);
  EXPECT_NE(w.content_type().find(w.boundary()), std::string::npos);
}

TEST(MultipartWriter, BoundaryIsRedrawnWhenANameContainsIt) {
  MultipartWriter w("nm");
  w.add_field("name-with-nm-inside", "v");
  EXPECT_NE(w.boundary(), "nm");
  EXPECT_TRUE(parse(w.body(), w.boundary()));
}

TEST(MultipartWriter, NamesCannotBreakTheHeaders) {
  MultipartWriter w("B");
  w.add_field("a\"b\r\nX-Injected: 1", "v");
  w.add_file("f", "evil\".wav\r\n", "audio/wav\r\nX-Injected: 2", "d");
  auto parts = parse(w.body(), w.boundary());
  ASSERT_TRUE(parts);
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].head, "Content-Disposition: form-data; name=\"a%22b%0D%0AX-Injected: 1\"\r\n");
  EXPECT_EQ((*parts)[1].head,
            "Content-Disposition: form-data; name=\"f\"; filename=\"evil%22.wav%0D%0A\"\r\n"
            "Content-Type: audio/wavX-Injected: 2\r\n");
}

// Random binary payloads (CRLFs, dashes, NULs, the boundary's own letters): every part comes back intact and
// the body's framing holds.
TEST(MultipartWriter, RandomBinaryPartsRoundTrip) {
  std::mt19937 rng(42);
  const std::string alphabet = "\r\n-ivr0123456789abcdef\0x"s;
  for (int round = 0; round < 200; ++round) {
    MultipartWriter w = round % 2 ? MultipartWriter() : MultipartWriter("ivr-ab");
    std::vector<std::string> datas;
    const int n = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < n; ++i) {
      std::string data(rng() % 200, '\0');
      for (auto& c : data) c = alphabet[rng() % alphabet.size()];
      datas.push_back(data);
      if (i % 2) {
        w.add_file("f" + std::to_string(i), "a.bin", "application/octet-stream", data);
      } else {
        w.add_field("t" + std::to_string(i), data);
      }
    }
    const std::string body = w.body();
    auto parts = parse(body, w.boundary());
    ASSERT_TRUE(parts) << "round " << round;
    ASSERT_EQ(parts->size(), datas.size());
    for (std::size_t i = 0; i < datas.size(); ++i) {
      EXPECT_EQ((*parts)[i].data, datas[i]);
      EXPECT_EQ((*parts)[i].data.find(w.boundary()), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace ivr::net
