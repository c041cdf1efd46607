#include "ivr/net/sse_parser.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "ivr/core/errors.hpp"

namespace ivr::net {
namespace {

// A stream using every feature at once: BOM, all three line endings (including "\r\n" and a lone '\r'),
// comments, multi-line data, ids that persist, named events, retry, an unknown field, a field without a
// colon, a space-less value, an event with no data (not dispatched) and a trailing incomplete event.
const std::string kStream =
    "\xEF\xBB\xBF"
    ": keep-alive comment\r\n"
    "retry: 1500\r\n"
    "\r\n"
    "event: message_start\r\n"
    "id: 1\r\n"
    "data: {\"type\":\"message_start\"}\r\n"
    "\r\n"
    "data: first line\n"
    "data:second line without space\n"
    "data:  two spaces keep one\n"
    "\n"
    "event: content_block_delta\r"
    "data: {\"delta\":{\"text\":\"Olá, \xC3\xA7\xC3\xA3o\"}}\r"
    "\r"
    "id: 7\n"
    "event: only-fields\n"
    "\n"
    "unknown: ignored\r\n"
    "data\r\n"
    "data\r\n"
    "\r\n"
    "data: [DONE]\n"
    "\n"
    "data: cut before the blank line\n";

std::vector<SseEvent> expected_events() {
  return {
      {"message_start", "{\"type\":\"message_start\"}", "1"},
      {"message", "first line\nsecond line without space\n two spaces keep one", "1"},
      {"content_block_delta", "{\"delta\":{\"text\":\"Olá, \xC3\xA7\xC3\xA3o\"}}", "1"},
      {"message", "\n", "7"},
      {"message", "[DONE]", "7"},
  };
}

std::vector<SseEvent> feed_chunks(const std::vector<std::string_view>& chunks, SseParser& parser) {
  std::vector<SseEvent> out;
  for (auto chunk : chunks) {
    EXPECT_FALSE(parser.feed(chunk, out));
  }
  return out;
}

TEST(SseParser, WholeStream) {
  SseParser parser;
  const auto events = feed_chunks({kStream}, parser);
  EXPECT_EQ(events, expected_events());
  EXPECT_EQ(parser.retry_ms(), 1500u);
  EXPECT_TRUE(parser.in_event());  // the last event was cut before its blank line
}

TEST(SseParser, SplitAtEveryByteOffsetGivesIdenticalEvents) {
  const std::string_view all = kStream;
  for (std::size_t cut = 0; cut <= all.size(); ++cut) {
    SseParser parser;
    const auto events = feed_chunks({all.substr(0, cut), all.substr(cut)}, parser);
    ASSERT_EQ(events, expected_events()) << "split at " << cut;
    EXPECT_TRUE(parser.in_event());
  }
}

TEST(SseParser, SplitAtEveryPairOfOffsets) {
  const std::string_view all = kStream;
  for (std::size_t a = 0; a <= all.size(); ++a) {
    for (std::size_t b = a; b <= all.size(); ++b) {
      SseParser parser;
      const auto events = feed_chunks({all.substr(0, a), all.substr(a, b - a), all.substr(b)}, parser);
      ASSERT_EQ(events, expected_events()) << "split at " << a << " and " << b;
    }
  }
}

TEST(SseParser, OneByteAtATime) {
  SseParser parser;
  std::vector<std::string_view> chunks;
  for (std::size_t i = 0; i < kStream.size(); ++i) chunks.push_back(std::string_view(kStream).substr(i, 1));
  EXPECT_EQ(feed_chunks(chunks, parser), expected_events());
}

TEST(SseParser, RandomChunkingIsStable) {
  std::mt19937 rng(42);
  for (int round = 0; round < 500; ++round) {
    SseParser parser;
    std::vector<std::string_view> chunks;
    std::string_view rest = kStream;
    while (!rest.empty()) {
      const std::size_t n = std::min<std::size_t>(rest.size(), rng() % 9);
      chunks.push_back(rest.substr(0, n));
      rest.remove_prefix(n);
    }
    ASSERT_EQ(feed_chunks(chunks, parser), expected_events()) << "round " << round;
  }
}

TEST(SseParser, CrLfSplitAcrossChunksIsOneLineEnding) {
  SseParser parser;
  std::vector<SseEvent> out;
  EXPECT_FALSE(parser.feed("data: a\r", out));
  EXPECT_FALSE(parser.feed("\ndata: b\r", out));
  EXPECT_FALSE(parser.feed("\n\r", out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, "a\nb");
  EXPECT_FALSE(parser.in_event());
  EXPECT_FALSE(parser.feed("\n", out));  // the '\n' of the final "\r\n", not a second blank line
  EXPECT_EQ(out.size(), 1u);
}

TEST(SseParser, BomOnlyAtStreamStart) {
  SseParser parser;
  std::vector<SseEvent> out;
  EXPECT_FALSE(parser.feed("\xEF", out));
  EXPECT_FALSE(
      parser.feed("\xBB\xBF"
                  "data: x\n\n",
                  out));
  EXPECT_FALSE(
      parser.feed("\xEF\xBB\xBF"
                  "data: y\n\n",
                  out));  // a later BOM is part of a field name
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, "x");
}

TEST(SseParser, PartialBomIsContent) {
  SseParser parser;
  std::vector<SseEvent> out;
  EXPECT_FALSE(parser.feed("\xEF\xBB", out));
  EXPECT_FALSE(parser.feed("data: z\n\ndata: w\n\n", out));  // field "\xEF\xBBdata" is unknown: ignored
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, "w");
}

TEST(SseParser, IdWithNulIsIgnoredAndIdPersists) {
  SseParser parser;
  std::vector<SseEvent> out;
  static constexpr char kRaw[] = "id: a\ndata: 1\n\nid: b\0c\ndata: 2\n\nid\ndata: 3\n\n";
  const std::string stream(kRaw, sizeof(kRaw) - 1);
  EXPECT_FALSE(parser.feed(stream, out));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].id, "a");
  EXPECT_EQ(out[1].id, "a");
  EXPECT_EQ(out[2].id, "");  // "id" with no value resets the last event id
}

TEST(SseParser, InvalidRetryIgnored) {
  SseParser parser;
  std::vector<SseEvent> out;
  EXPECT_FALSE(parser.feed("retry: 10s\nretry: 250\nretry: x\n\n", out));
  EXPECT_EQ(parser.retry_ms(), 250u);
  EXPECT_TRUE(out.empty());
}

TEST(SseParser, LineLimitIsAnErrorAndSticky) {
  SseParser parser(SseLimits{16, 1024});
  std::vector<SseEvent> out;
  EXPECT_FALSE(parser.feed("data: 0123456789\n\n", out));  // exactly 16 bytes: fine
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(parser.feed("data: 01234", out));
  EXPECT_EQ(parser.feed("567890", out), Errc::payload_too_large);  // crosses the cap across chunks
  EXPECT_TRUE(parser.failed());
  EXPECT_EQ(parser.feed("\n\ndata: ok\n\n", out), Errc::payload_too_large);
  EXPECT_EQ(out.size(), 1u);
}

TEST(SseParser, EventLimitIsAnError) {
  SseParser parser(SseLimits{64, 20});
  std::vector<SseEvent> out;
  EXPECT_FALSE(parser.feed("data: 0123456789\n", out));                        // 11 bytes of data so far
  EXPECT_EQ(parser.feed("data: 0123456789\n", out), Errc::payload_too_large);  // 22 > 20
  EXPECT_TRUE(out.empty());
}

TEST(SseParser, EventsBeforeAnErrorInTheSameChunkAreDelivered) {
  SseParser parser(SseLimits{8, 64});
  std::vector<SseEvent> out;
  EXPECT_EQ(parser.feed("data: a\n\ndata: far too long\n\n", out), Errc::payload_too_large);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, "a");
}

TEST(SseParser, OpenAiStyleStream) {
  SseParser parser;
  std::vector<SseEvent> out;
  EXPECT_FALSE(parser.feed("data: {\"a\":1}\n\ndata: {\"a\":2}\n\n: ping\n\ndata: [DONE]\n\n", out));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[2].data, "[DONE]");
  EXPECT_EQ(out[2].event, "message");
  EXPECT_FALSE(parser.in_event());
}

}  // namespace
}  // namespace ivr::net
