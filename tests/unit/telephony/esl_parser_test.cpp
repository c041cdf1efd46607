#include "ivr/telephony/esl_parser.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "fakes/fake_esl_server.hpp"

namespace ivr::telephony {
namespace {

using test::FakeEslServer;

// A session as mod_event_socket writes it: greeting, auth reply, an api answer, a bgapi acceptance, a plain
// event with URL-encoded values, a plain event with its own body, a JSON CUSTOM event, a log line, a
// disconnect notice.
const std::string kPlainHangup =
    "Event-Name: CHANNEL_HANGUP_COMPLETE\n"
    "Core-UUID: 2130a7d1-c1f7-44cd-8fae-8ed5946f3cec\n"
    "Unique-ID: 0a1b2c3d-0000-4000-8000-000000000001\n"
    "Hangup-Cause: NORMAL_CLEARING\n"
    "Caller-Caller-ID-Name: Jo%C3%A3o%20da%20Silva\n"
    "variable_sip_from_display: %22Maria%22%20%3Csip%3A100%40pbx%3E\n"
    "variable_plus: a+b%2Bc\n"
    "\n";
const std::string kPlainJobBody = "+OK 0a1b2c3d\n";
const std::string kPlainJob =
    "Event-Name: BACKGROUND_JOB\n"
    "Job-UUID: 7f4de4bc-17d7-11dd-b7a0-db4edd065621\n"
    "Job-Command: originate\n"
    "Content-Length: " +
    std::to_string(kPlainJobBody.size()) + "\n\n" + kPlainJobBody;
const std::string kJsonPlay =
    R"({"Event-Name":"CUSTOM","Event-Subclass":"mod_audio_stream::play","Unique-ID":"0a1b2c3d-0000-4000-8000-000000000001",)"
    R"("Content-Length":"73","_body":"{\"audioDataType\":\"raw\",\"sampleRate\":8000,\"file\":\"/tmp/0a1b_1.tmp.r8\"}"})";
const std::string kLog = "2024-01-01 [INFO] switch.c:1 hello\n";
const std::string kDisconnect = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n";

std::string session_bytes() {
  return "Content-Type: auth/request\n\n"
         "Content-Type: command/reply\nReply-Text: +OK accepted\n\n"
         "Content-Type: api/response\nContent-Length: 4\n\n+OK\n"
         "Content-Type: command/reply\nReply-Text: +OK Job-UUID: 7f4de4bc\nJob-UUID: 7f4de4bc\n\n"
         "Content-Length: " +
         std::to_string(kPlainHangup.size()) + "\nContent-Type: text/event-plain\n\n" + kPlainHangup +
         "Content-Length: " + std::to_string(kPlainJob.size()) + "\nContent-Type: text/event-plain\n\n" +
         kPlainJob + "Content-Length: " + std::to_string(kJsonPlay.size()) +
         "\nContent-Type: text/event-json\n\n" + kJsonPlay +
         "Content-Type: log/data\nContent-Length: " + std::to_string(kLog.size()) + "\nLog-Level: 6\n\n" +
         kLog +
         "Content-Type: text/disconnect-notice\nContent-Length: " + std::to_string(kDisconnect.size()) +
         "\n\n" + kDisconnect;
}

void check_session(const std::vector<EslMessage>& messages) {
  ASSERT_EQ(messages.size(), 9u);
  EXPECT_EQ(messages[0].content_type(), "auth/request");
  EXPECT_EQ(messages[0].body, "");
  EXPECT_EQ(messages[1].headers.get("Reply-Text"), "+OK accepted");
  EXPECT_EQ(messages[2].content_type(), "api/response");
  EXPECT_EQ(messages[2].body, "+OK\n");
  EXPECT_EQ(messages[3].headers.get("Job-UUID"), "7f4de4bc");
  EXPECT_EQ(messages[3].headers.get("reply-text"), "+OK Job-UUID: 7f4de4bc");  // case-insensitive lookup
  EXPECT_EQ(messages[4].content_type(), "text/event-plain");
  EXPECT_EQ(messages[4].body, kPlainHangup);
  EXPECT_EQ(messages[5].body, kPlainJob);
  EXPECT_EQ(messages[6].content_type(), "text/event-json");
  EXPECT_EQ(messages[6].body, kJsonPlay);
  EXPECT_EQ(messages[7].content_type(), "log/data");
  EXPECT_EQ(messages[7].headers.get("Log-Level"), "6");
  EXPECT_EQ(messages[7].body, kLog);
  EXPECT_EQ(messages[8].content_type(), "text/disconnect-notice");
  EXPECT_EQ(messages[8].body, kDisconnect);
}

TEST(EslParser, WholeSession) {
  EslParser parser;
  std::vector<EslMessage> out;
  ASSERT_FALSE(parser.feed(session_bytes(), out));
  check_session(out);
  EXPECT_FALSE(parser.in_message());
}

TEST(EslParser, SplitAtEveryByteOffsetGivesIdenticalMessages) {
  const std::string all = session_bytes();
  for (std::size_t cut = 0; cut <= all.size(); ++cut) {
    EslParser parser;
    std::vector<EslMessage> out;
    ASSERT_FALSE(parser.feed(std::string_view(all).substr(0, cut), out));
    ASSERT_FALSE(parser.feed(std::string_view(all).substr(cut), out));
    check_session(out);
    if (HasFatalFailure()) FAIL() << "split at " << cut;
  }
}

TEST(EslParser, OneByteAtATime) {
  const std::string all = session_bytes();
  EslParser parser;
  std::vector<EslMessage> out;
  for (std::size_t i = 0; i < all.size(); ++i) {
    ASSERT_FALSE(parser.feed(std::string_view(all).substr(i, 1), out));
    if (i + 2 == all.size()) {
      EXPECT_TRUE(parser.in_message());  // one byte of the last body missing
    }
  }
  check_session(out);
  EXPECT_FALSE(parser.in_message());
}

TEST(EslParser, CarriageReturnsAndStrayBlankLinesAreTolerated) {
  EslParser parser;
  std::vector<EslMessage> out;
  ASSERT_FALSE(parser.feed("\n\r\nContent-Type: api/response\r\nContent-Length: 3\r\n\r\nabc\n", out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].content_type(), "api/response");
  EXPECT_EQ(out[0].body, "abc");
}

TEST(EslParser, PlainEventValuesAreUrlDecoded) {
  EslMessage message;
  message.headers.add("Content-Type", "text/event-plain");
  message.body = kPlainHangup;
  Result<EslEvent> event = parse_event(message);
  ASSERT_TRUE(event) << event.error().message();
  EXPECT_EQ(event->name, "CHANNEL_HANGUP_COMPLETE");
  EXPECT_EQ(event->subclass, "");
  EXPECT_EQ(event->unique_id(), "0a1b2c3d-0000-4000-8000-000000000001");
  EXPECT_EQ(event->header("Hangup-Cause"), "NORMAL_CLEARING");
  EXPECT_EQ(event->header("Caller-Caller-ID-Name"), "Jo\xC3\xA3o da Silva");
  EXPECT_EQ(event->header("variable_sip_from_display"), "\"Maria\" <sip:100@pbx>");
  EXPECT_EQ(event->header("variable_plus"), "a+b+c");  // '+' is not a space in switch_url_decode
  EXPECT_EQ(event->body, "");
  EXPECT_EQ(event->headers.size(), 7u);
}

TEST(EslParser, PlainEventWithItsOwnBody) {
  EslMessage message;
  message.headers.add("Content-Type", "text/event-plain");
  message.body = kPlainJob;
  Result<EslEvent> event = parse_event(message);
  ASSERT_TRUE(event);
  EXPECT_EQ(event->name, "BACKGROUND_JOB");
  EXPECT_EQ(event->job_uuid(), "7f4de4bc-17d7-11dd-b7a0-db4edd065621");
  EXPECT_EQ(event->body, kPlainJobBody);
}

TEST(EslParser, JsonCustomEvent) {
  EslMessage message;
  message.headers.add("Content-Type", "text/event-json");
  message.body = kJsonPlay;
  Result<EslEvent> event = parse_event(message);
  ASSERT_TRUE(event);
  EXPECT_EQ(event->name, "CUSTOM");
  EXPECT_EQ(event->subclass, "mod_audio_stream::play");
  EXPECT_EQ(event->unique_id(), "0a1b2c3d-0000-4000-8000-000000000001");
  EXPECT_EQ(event->body, R"({"audioDataType":"raw","sampleRate":8000,"file":"/tmp/0a1b_1.tmp.r8"})");
  EXPECT_EQ(event->header("_body"), "");  // the body is not a header
}

TEST(EslParser, JsonNonStringValuesKeepTheirJsonText) {
  EslMessage message;
  message.headers.add("Content-Type", "text/event-json");
  message.body = R"({"Event-Name":"DTMF","DTMF-Digit":"5","X-Array":["a","b"],"X-Num":3})";
  Result<EslEvent> event = parse_event(message);
  ASSERT_TRUE(event);
  EXPECT_EQ(event->header("DTMF-Digit"), "5");
  EXPECT_EQ(event->header("X-Array"), R"(["a","b"])");
  EXPECT_EQ(event->header("X-Num"), "3");
}

TEST(EslParser, FakeServerFramingRoundTrips) {
  const test::EslHeaderList headers = {{"Event-Name", "CUSTOM"},
                                       {"Event-Subclass", "mod_audio_stream::play"},
                                       {"Unique-ID", "abc"},
                                       {"X-Weird", "a b:c%d\xC3\xA9\n"}};
  for (const bool json : {false, true}) {
    const std::string bytes = json ? FakeEslServer::json_event_bytes(headers, "{\"file\":\"/tmp/x.r8\"}")
                                   : FakeEslServer::plain_event_bytes(headers, "{\"file\":\"/tmp/x.r8\"}");
    EslParser parser;
    std::vector<EslMessage> out;
    ASSERT_FALSE(parser.feed(bytes, out));
    ASSERT_EQ(out.size(), 1u);
    Result<EslEvent> event = parse_event(out[0]);
    ASSERT_TRUE(event) << json;
    EXPECT_EQ(event->subclass, "mod_audio_stream::play");
    EXPECT_EQ(event->header("X-Weird"), "a b:c%d\xC3\xA9\n");
    EXPECT_EQ(event->body, "{\"file\":\"/tmp/x.r8\"}");
  }
}

TEST(EslParser, EventErrors) {
  EslMessage reply;
  reply.headers.add("Content-Type", "command/reply");
  EXPECT_EQ(parse_event(reply).error(), Errc::unsupported_media_type);
  EslMessage bad_json;
  bad_json.headers.add("Content-Type", "text/event-json");
  bad_json.body = "{\"Event-Name\":";
  EXPECT_EQ(parse_event(bad_json).error(), Errc::invalid_json);
  bad_json.body = "[1,2]";
  EXPECT_EQ(parse_event(bad_json).error(), Errc::invalid_json);
  EslMessage nameless;
  nameless.headers.add("Content-Type", "text/event-plain");
  nameless.body = "Unique-ID: x\n\n";
  EXPECT_EQ(parse_event(nameless).error(), Errc::bad_request);
  nameless.body = "no colon here\n\n";
  EXPECT_EQ(parse_event(nameless).error(), Errc::bad_request);
}

TEST(EslParser, OversizedContentLengthIsRejectedWithoutAllocating) {
  EslParser parser(EslLimits{1024, 1000});
  std::vector<EslMessage> out;
  EXPECT_EQ(parser.feed("Content-Type: api/response\nContent-Length: 1001\n\n", out),
            Errc::payload_too_large);
  EXPECT_TRUE(parser.failed());
  EXPECT_EQ(parser.feed("Content-Type: auth/request\n\n", out), Errc::payload_too_large);  // stays failed
  EXPECT_TRUE(out.empty());

  EslParser huge;
  EXPECT_EQ(huge.feed("Content-Length: 99999999999999999999999\n\n", out), Errc::bad_request);
  EslParser at_limit(EslLimits{1024, 1000});
  ASSERT_FALSE(at_limit.feed("Content-Length: 1000\n\n" + std::string(1000, 'x'), out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].body.size(), 1000u);
}

TEST(EslParser, OversizedHeaderBlockIsRejected) {
  EslParser parser(EslLimits{256, 1000});
  std::vector<EslMessage> out;
  // One endless line, fed in pieces: rejected once it passes the limit, not when it ends.
  boost::system::error_code ec;
  for (int i = 0; i < 100 && !ec; ++i) ec = parser.feed(std::string(10, 'a'), out);
  EXPECT_EQ(ec, Errc::payload_too_large);
  EslParser many(EslLimits{256, 1000});
  std::string block;
  for (int i = 0; i < 60; ++i) block += "H" + std::to_string(i) + ": v\n";
  EXPECT_EQ(many.feed(block, out), Errc::payload_too_large);
}

TEST(EslParser, MalformedInputIsAnErrorNotACrash) {
  for (const std::string bad : {"no colon\n\n", ": empty name\n\n", "Content-Length: -1\n\n",
                                "Content-Length: 12abc\n\n", "Content-Length: \n\n"}) {
    EslParser parser;
    std::vector<EslMessage> out;
    EXPECT_EQ(parser.feed(bad, out), Errc::bad_request) << bad;
  }
}

TEST(EslParser, RandomGarbageNeverCrashes) {
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> pick(0, 9);
  const std::string session = session_bytes();
  for (int round = 0; round < 300; ++round) {
    std::string input = session;
    // Mutate: flip bytes, insert newlines and colons, so some inputs stay parseable.
    for (int i = 0; i < 20; ++i) {
      const std::size_t at = static_cast<std::size_t>(byte(rng)) * input.size() / 256;
      const int what = pick(rng);
      input[at] = what < 3 ? '\n' : what < 5 ? ':' : what < 6 ? '9' : static_cast<char>(byte(rng));
    }
    EslParser parser(EslLimits{4096, 4096});
    std::vector<EslMessage> out;
    std::size_t pos = 0;
    while (pos < input.size()) {
      const std::size_t n = 1 + static_cast<std::size_t>(byte(rng)) % 64;
      if (parser.feed(std::string_view(input).substr(pos, n), out)) break;
      pos += n;
    }
    for (const auto& m : out) {
      (void)parse_event(m);
      EXPECT_LE(m.body.size(), 4096u);
    }
  }
}

TEST(EslParser, UrlDecodeFollowsFreeSwitch) {
  EXPECT_EQ(esl_url_decode("a%20b"), "a b");
  EXPECT_EQ(esl_url_decode("100%"), "100%");
  EXPECT_EQ(esl_url_decode("%zz%4"), "%zz%4");
  EXPECT_EQ(esl_url_decode("%00x"), "%00x");
  EXPECT_EQ(esl_url_decode("a+b"), "a+b");
  EXPECT_EQ(esl_url_decode(esl_url_encode("sip:João <100@x>\n%")), "sip:João <100@x>\n%");
}

TEST(EslParser, ReplyStatus) {
  EXPECT_TRUE(parse_reply_status("+OK\n").ok);
  EXPECT_EQ(parse_reply_status("+OK\n").text, "");
  EXPECT_EQ(parse_reply_status("+OK Job-UUID: abc").text, "Job-UUID: abc");
  const auto err = parse_reply_status("-ERR No such channel!\n");
  EXPECT_FALSE(err.ok);
  EXPECT_EQ(err.text, "No such channel!");
  EXPECT_FALSE(parse_reply_status("true").ok);
  EXPECT_EQ(parse_reply_status("true").text, "true");
}

}  // namespace
}  // namespace ivr::telephony
