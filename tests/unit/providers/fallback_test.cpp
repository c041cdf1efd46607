#include "ivr/providers/fallback.hpp"

#include <deque>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include "support/test_env.hpp"

namespace ivr::providers {
namespace {

// Answers from a script: each call pops the next outcome (an error code, or success).
class ScriptedTts final : public TextToSpeech {
 public:
  explicit ScriptedTts(std::string name) : name_(std::move(name)) {}
  std::string_view name() const override { return name_; }
  boost::asio::awaitable<Result<Synthesis>> synthesize(SynthesisRequest request) override {
    ++calls;
    last_text = request.text;
    Errc outcome = script.empty() ? Errc::ok : script.front();
    if (!script.empty()) script.pop_front();
    if (outcome != Errc::ok) co_return make_error_code(outcome);
    Synthesis s;
    s.provider = name_;
    s.audio.sample_rate = request.sample_rate;
    s.audio.channels = 1;
    co_return s;
  }
  std::deque<Errc> script;
  int calls = 0;
  std::string last_text;

 private:
  std::string name_;
};

class ScriptedLlm final : public LanguageModel {
 public:
  explicit ScriptedLlm(std::string name, bool stream_before_failing = false)
      : name_(std::move(name)), stream_before_failing_(stream_before_failing) {}
  std::string_view name() const override { return name_; }
  boost::asio::awaitable<Result<ChatResult>> complete(ChatRequest, TokenCallback on_token) override {
    ++calls;
    if (fail_with != Errc::ok) {
      if (stream_before_failing_ && on_token) on_token("partial ");
      co_return make_error_code(fail_with);
    }
    if (on_token) on_token("hello");
    ChatResult r;
    r.text = "hello";
    r.provider = name_;
    co_return r;
  }
  Errc fail_with = Errc::ok;
  int calls = 0;

 private:
  std::string name_;
  bool stream_before_failing_;
};

struct FallbackTest : ::testing::Test {
  boost::asio::io_context io;
  std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now();
  CircuitBreakers breakers{{2, std::chrono::seconds(10)}, [this] { return now; }};
  std::shared_ptr<ScriptedTts> a = std::make_shared<ScriptedTts>("a");
  std::shared_ptr<ScriptedTts> b = std::make_shared<ScriptedTts>("b");
  std::unique_ptr<TextToSpeech> chain = make_tts_chain({{a, "a"}, {b, "b"}}, breakers);

  Result<Synthesis> say(std::string text = "hi") {
    SynthesisRequest r;
    r.text = std::move(text);
    return test::run(io, chain->synthesize(r));
  }
};

TEST_F(FallbackTest, FirstHealthyProviderAnswers) {
  EXPECT_EQ(say().value().provider, "a");
  EXPECT_EQ(b->calls, 0);
  EXPECT_EQ(chain->name(), "a>b");
}

TEST_F(FallbackTest, RetryableErrorsMoveToTheNextProvider) {
  for (Errc e : {Errc::timeout, Errc::unavailable, Errc::rate_limited, Errc::upstream_error}) {
    a->script = {e};
    auto r = say("text");
    ASSERT_TRUE(r) << static_cast<int>(e);
    EXPECT_EQ(r->provider, "b");
    EXPECT_EQ(b->last_text, "text");
    now += std::chrono::seconds(11);  // let a's breaker close again between rounds
  }
}

TEST_F(FallbackTest, NonRetryableErrorEndsTheChain) {
  a->script = {Errc::unprocessable};
  auto r = say();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Errc::unprocessable);
  EXPECT_EQ(b->calls, 0);
}

TEST_F(FallbackTest, AllFailingReturnsTheLastError) {
  a->script = {Errc::timeout};
  b->script = {Errc::rate_limited};
  EXPECT_EQ(say().error(), Errc::rate_limited);
}

TEST_F(FallbackTest, BreakerSkipsAFailingProviderThenTriesItAgain) {
  a->script = {Errc::timeout, Errc::timeout};
  EXPECT_EQ(say().value().provider, "b");
  EXPECT_EQ(say().value().provider, "b");
  EXPECT_TRUE(breakers.is_open("a"));
  EXPECT_EQ(say().value().provider, "b");
  EXPECT_EQ(a->calls, 2);  // skipped while open
  now += std::chrono::seconds(11);
  EXPECT_EQ(say().value().provider, "a");  // half-open trial succeeds and closes it
  EXPECT_FALSE(breakers.is_open("a"));
  EXPECT_EQ(a->calls, 3);
}

TEST_F(FallbackTest, FailedTrialReopens) {
  a->script = {Errc::timeout, Errc::timeout, Errc::timeout};
  say();
  say();
  now += std::chrono::seconds(11);
  EXPECT_EQ(say().value().provider, "b");  // trial failed
  EXPECT_TRUE(breakers.is_open("a"));
}

TEST(LlmFallback, NoSecondProviderAfterTokensWereStreamed) {
  boost::asio::io_context io;
  CircuitBreakers breakers;
  auto first = std::make_shared<ScriptedLlm>("first", true);
  auto second = std::make_shared<ScriptedLlm>("second");
  first->fail_with = Errc::timeout;
  auto chain = make_llm_chain({{first, "first"}, {second, "second"}}, breakers);
  std::string heard;
  TokenCallback on_token = [&heard](std::string_view f) { heard += f; };
  auto r = test::run(io, chain->complete({}, on_token));
  EXPECT_FALSE(r);
  EXPECT_EQ(second->calls, 0);
  EXPECT_EQ(heard, "partial ");
  // Without streaming the chain moves on.
  auto r2 = test::run(io, chain->complete({}, {}));
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->provider, "second");
}

}  // namespace
}  // namespace ivr::providers
