#include "ivr/conversation/pipeline_agent.hpp"

#include <cmath>
#include <deque>
#include <functional>
#include <numbers>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "ivr/providers/llm.hpp"
#include "support/test_env.hpp"
#include "unit/conversation/espeak_engine.hpp"

namespace ivr::conversation {
namespace {

namespace asio = boost::asio;
namespace rt = providers::realtime;
using Kind = rt::AgentEvent::Kind;
using namespace std::chrono_literals;

constexpr int kRate = 16'000;

asio::awaitable<void> sleep_for(std::chrono::milliseconds ms) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(ms);
  boost::system::error_code ignored;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

std::vector<std::int16_t> tone(int ms, double amplitude = 8000, double hz = 440) {
  std::vector<std::int16_t> s(static_cast<std::size_t>(kRate) * static_cast<std::size_t>(ms) / 1000);
  for (std::size_t i = 0; i < s.size(); ++i) {
    s[i] = static_cast<std::int16_t>(amplitude *
                                     std::sin(2 * std::numbers::pi * hz * static_cast<double>(i) / kRate));
  }
  return s;
}

std::vector<std::int16_t> silence(int ms) {
  return std::vector<std::int16_t>(static_cast<std::size_t>(kRate) * static_cast<std::size_t>(ms) / 1000);
}

std::vector<std::int16_t> operator+(std::vector<std::int16_t> a, const std::vector<std::int16_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// ---- fakes of the provider interfaces ----

struct SttLog {
  std::vector<std::int64_t> durations_ms;
  std::vector<std::string> languages;
};

class FakeStt final : public providers::SpeechToText {
 public:
  FakeStt(std::deque<std::string> texts, std::shared_ptr<SttLog> log)
      : texts_(std::move(texts)), log_(std::move(log)) {}
  std::string_view name() const override { return "fake_stt"; }
  asio::awaitable<Result<providers::Transcript>> transcribe(providers::TranscribeRequest request) override {
    log_->durations_ms.push_back(request.audio.duration_ms());
    log_->languages.push_back(request.language);
    providers::Transcript t;
    if (!texts_.empty()) {
      t.text = texts_.front();
      texts_.pop_front();
    }
    t.provider = "fake_stt";
    co_return t;
  }

 private:
  std::deque<std::string> texts_;
  std::shared_ptr<SttLog> log_;
};

// One scripted answer: text fragments streamed with `gap` between them, then the tool calls.
struct Reply {
  std::vector<std::string> fragments;
  std::vector<providers::ToolCall> calls;
  std::chrono::milliseconds gap{0};
};

Reply say(std::vector<std::string> fragments) {
  Reply r;
  r.fragments = std::move(fragments);
  return r;
}

struct LlmLog {
  std::vector<providers::ChatRequest> requests;
  int finished = 0;
};

class FakeLlm final : public providers::LanguageModel {
 public:
  FakeLlm(std::deque<Reply> replies, std::shared_ptr<LlmLog> log)
      : replies_(std::move(replies)), log_(std::move(log)) {}
  std::string_view name() const override { return "fake_llm"; }
  asio::awaitable<Result<providers::ChatResult>> complete(providers::ChatRequest request,
                                                          providers::TokenCallback on_token) override {
    log_->requests.push_back(request);
    Reply reply;
    if (!replies_.empty()) {
      reply = replies_.front();
      replies_.pop_front();
    }
    providers::ChatResult result;
    for (std::size_t i = 0; i < reply.fragments.size(); ++i) {
      if (i > 0 && reply.gap.count() > 0) co_await sleep_for(reply.gap);
      if (on_token) on_token(reply.fragments[i]);
      result.text += reply.fragments[i];
    }
    result.tool_calls = reply.calls;
    result.provider = "fake_llm";
    ++log_->finished;
    co_return result;
  }

 private:
  std::deque<Reply> replies_;
  std::shared_ptr<LlmLog> log_;
};

struct TtsLog {
  std::vector<std::string> texts;
};

// 20 ms of tone per character (so item offsets are predictable).
class FakeTts final : public providers::TextToSpeech {
 public:
  explicit FakeTts(std::shared_ptr<TtsLog> log) : log_(std::move(log)) {}
  std::string_view name() const override { return "fake_tts"; }
  asio::awaitable<Result<providers::Synthesis>> synthesize(providers::SynthesisRequest request) override {
    log_->texts.push_back(request.text);
    providers::Synthesis s;
    s.audio.sample_rate = request.sample_rate;
    s.audio.channels = 1;
    s.audio.samples.assign(static_cast<std::size_t>(request.sample_rate) / 50 * request.text.size(), 1000);
    s.provider = "fake_tts";
    co_return s;
  }

 private:
  std::shared_ptr<TtsLog> log_;
};

// ---- the fixture ----

class PipelineAgentTest : public ::testing::Test {
 protected:
  std::unique_ptr<rt::RealtimeAgent> make(std::deque<std::string> heard, std::deque<Reply> replies,
                                          PipelineOptions options = {}) {
    return make_pipeline_agent(io.get_executor(), std::make_unique<FakeStt>(std::move(heard), stt_log),
                               std::make_unique<FakeLlm>(std::move(replies), llm_log),
                               std::make_unique<FakeTts>(tts_log), std::move(options), stats);
  }

  static rt::SessionConfig config(std::string greeting = "") {
    rt::SessionConfig c;
    c.instructions = "You are the secretary.";
    c.language = "pt-BR";
    c.greeting = std::move(greeting);
    c.tools.push_back({"create_ticket", "Open a ticket.", R"({"type":"object","properties":{}})"});
    c.tools.push_back({"transfer_call", "Transfer.", R"({"type":"object","properties":{}})"});
    return c;
  }

  void start(rt::RealtimeAgent& agent, rt::SessionConfig c) {
    Result<void> started = test::run(io, agent.start(std::move(c)));
    ASSERT_TRUE(started) << started.error().message();
  }

  // Sends `samples` in 20 ms frames (as fast as the loop turns).
  void send(rt::RealtimeAgent& agent, const std::vector<std::int16_t>& samples) {
    test::run(io, send_frames(agent, samples));
  }
  static asio::awaitable<void> send_frames(rt::RealtimeAgent& agent, std::vector<std::int16_t> samples) {
    constexpr std::size_t kFrame = kRate / 50;
    for (std::size_t at = 0; at < samples.size(); at += kFrame) {
      const std::size_t n = std::min(kFrame, samples.size() - at);
      const std::string_view bytes(reinterpret_cast<const char*>(samples.data() + at), n * 2);
      Result<void> sent = co_await agent.send_audio(bytes);
      if (!sent) throw std::runtime_error("send_audio failed: " + sent.error().message());
    }
  }

  // Reads events until one satisfies `last` (included), or fails the test after `limit`.
  std::vector<rt::AgentEvent> read_until(rt::RealtimeAgent& agent,
                                         std::function<bool(const rt::AgentEvent&)> last,
                                         std::chrono::milliseconds limit = 5s) {
    return test::run(io, read_events(agent, std::move(last)), limit);
  }
  static asio::awaitable<std::vector<rt::AgentEvent>> read_events(
      rt::RealtimeAgent& agent, std::function<bool(const rt::AgentEvent&)> last) {
    std::vector<rt::AgentEvent> events;
    for (;;) {
      Result<rt::AgentEvent> e = co_await agent.next_event();
      if (!e) throw std::runtime_error("next_event failed: " + e.error().message());
      events.push_back(std::move(*e));
      if (last(events.back())) co_return events;
    }
  }
  static std::function<bool(const rt::AgentEvent&)> is(Kind kind, std::string item = "") {
    return [kind, item](const rt::AgentEvent& e) {
      return e.kind == kind && (item.empty() || e.item_id == item);
    };
  }
  static std::vector<Kind> kinds_collapsed(const std::vector<rt::AgentEvent>& events) {
    std::vector<Kind> out;
    for (const auto& e : events) {
      if (e.kind == Kind::audio && !out.empty() && out.back() == Kind::audio) continue;
      out.push_back(e.kind);
    }
    return out;
  }

  asio::io_context io;
  std::shared_ptr<SttLog> stt_log = std::make_shared<SttLog>();
  std::shared_ptr<LlmLog> llm_log = std::make_shared<LlmLog>();
  std::shared_ptr<TtsLog> tts_log = std::make_shared<TtsLog>();
  std::shared_ptr<PipelineStats> stats = std::make_shared<PipelineStats>();
};

TEST_F(PipelineAgentTest, FormatsArePcm16AtTheConfiguredRate) {
  auto agent = make({}, {});
  EXPECT_EQ(agent->input_format().encoding, rt::AudioEncoding::pcm16);
  EXPECT_EQ(agent->input_format().sample_rate, 16'000);
  EXPECT_EQ(agent->output_format().sample_rate, 16'000);
  EXPECT_EQ(agent->name(), "pipeline");
}

TEST_F(PipelineAgentTest, SilenceAndQuietNoiseNeverStartATurn) {
  auto agent = make({"should not be asked"}, {});
  start(*agent, config());
  std::vector<std::int16_t> hiss(static_cast<std::size_t>(kRate) * 3);
  for (std::size_t i = 0; i < hiss.size(); ++i) hiss[i] = static_cast<std::int16_t>((i * 7919) % 61 - 30);
  send(*agent, silence(3000) + hiss + tone(60) + silence(1000));  // a 60 ms click is no speech either
  EXPECT_EQ(stats->utterances, 0u);
  EXPECT_TRUE(stt_log->durations_ms.empty());
  EXPECT_TRUE(llm_log->requests.empty());
}

TEST_F(PipelineAgentTest, OneTurnInOrder) {
  Reply reply{{"Claro. ", "O horário é das 8 às 18h."}, {}, 0ms};
  auto agent = make({"Qual o horário?"}, {reply});
  start(*agent, config());
  send(*agent, silence(200) + tone(800) + silence(800));
  auto events = read_until(*agent, is(Kind::audio_done));
  const std::vector<Kind> expected{Kind::speech_started, Kind::speech_stopped,   Kind::user_transcript,
                                   Kind::audio,          Kind::agent_transcript, Kind::audio_done};
  EXPECT_EQ(kinds_collapsed(events), expected);
  EXPECT_EQ(events[2].text, "Qual o horário?");
  EXPECT_EQ(events.back().item_id, "resp_1");
  EXPECT_EQ(events[events.size() - 2].text, "Claro. O horário é das 8 às 18h.");
  for (const auto& e : events) {
    if (e.kind == Kind::audio) {
      EXPECT_EQ(e.item_id, "resp_1");
    }
  }
  // The utterance: 800 ms of speech, with some padding before and after, not the whole silence.
  ASSERT_EQ(stt_log->durations_ms.size(), 1u);
  EXPECT_GE(stt_log->durations_ms[0], 800);
  EXPECT_LE(stt_log->durations_ms[0], 1400);
  EXPECT_EQ(stt_log->languages[0], "pt-BR");
  // The model got the prompt, the caller's words and the tools.
  ASSERT_EQ(llm_log->requests.size(), 1u);
  const auto& request = llm_log->requests[0];
  ASSERT_EQ(request.messages.size(), 2u);
  EXPECT_EQ(request.messages[0].role, providers::ChatMessage::Role::system);
  EXPECT_EQ(request.messages[0].content, "You are the secretary.");
  EXPECT_EQ(request.messages[1].content, "Qual o horário?");
  ASSERT_EQ(request.tools.size(), 2u);
  EXPECT_EQ(request.tools[0].name, "create_ticket");
  EXPECT_EQ(request.tools[0].parameters_schema_json, R"({"type":"object","properties":{}})");
  EXPECT_EQ(request.hints.language, "pt-BR");
  // Two sentences, two syntheses, 20 ms per character of audio in all.
  EXPECT_EQ(tts_log->texts, (std::vector<std::string>{"Claro.", "O horário é das 8 às 18h."}));
  std::size_t bytes = 0;
  for (const auto& e : events) bytes += e.audio.size();
  EXPECT_EQ(bytes,
            (std::string("Claro.").size() + std::string("O horário é das 8 às 18h.").size()) * 320 * 2);
}

TEST_F(PipelineAgentTest, TwoBurstsMakeTwoTurns) {
  auto agent = make({"Um.", "Dois."}, {say({"A."}), say({"B."})});
  start(*agent, config());
  send(*agent, tone(400) + silence(800));
  read_until(*agent, is(Kind::audio_done, "resp_1"));
  send(*agent, tone(400) + silence(800));
  auto events = read_until(*agent, is(Kind::audio_done, "resp_2"));
  EXPECT_EQ(stats->utterances, 2u);
  ASSERT_EQ(llm_log->requests.size(), 2u);
  // The second request carries the first exchange.
  const auto& messages = llm_log->requests[1].messages;
  ASSERT_EQ(messages.size(), 4u);
  EXPECT_EQ(messages[1].content, "Um.");
  EXPECT_EQ(messages[2].role, providers::ChatMessage::Role::assistant);
  EXPECT_EQ(messages[2].content, "A.");
  EXPECT_EQ(messages[3].content, "Dois.");
}

TEST_F(PipelineAgentTest, FirstSentenceIsSpokenBeforeTheModelFinishes) {
  Reply slow{{"Primeira frase. ", "Segunda ", "frase."}, {}, 300ms};
  auto agent = make({"Oi"}, {slow});
  start(*agent, config());
  send(*agent, tone(400) + silence(800));
  auto first = read_until(*agent, is(Kind::audio));
  EXPECT_EQ(llm_log->finished, 0) << "audio came only after the whole reply";
  EXPECT_EQ(tts_log->texts, std::vector<std::string>{"Primeira frase."});
  auto rest = read_until(*agent, is(Kind::audio_done));
  EXPECT_EQ(llm_log->finished, 1);
  EXPECT_EQ(tts_log->texts, (std::vector<std::string>{"Primeira frase.", "Segunda frase."}));
  EXPECT_EQ(rest[rest.size() - 2].text, "Primeira frase. Segunda frase.");
}

TEST_F(PipelineAgentTest, ToolCallRoundTrip) {
  Reply asks{{"Vou registrar."}, {{"call_9", "create_ticket", R"({"summary":"boleto"})"}}, 0ms};
  Reply after{{"Pronto, registrado."}, {}, 0ms};
  auto agent = make({"Quero abrir um chamado."}, {asks, after});
  start(*agent, config());
  send(*agent, tone(400) + silence(800));
  auto events = read_until(*agent, is(Kind::tool_call));
  const std::vector<Kind> tail{Kind::audio, Kind::agent_transcript, Kind::audio_done, Kind::tool_call};
  auto kinds = kinds_collapsed(events);
  ASSERT_GE(kinds.size(), tail.size());
  EXPECT_EQ(std::vector<Kind>(kinds.end() - 4, kinds.end()), tail);
  EXPECT_EQ(events.back().call_id, "call_9");
  EXPECT_EQ(events.back().name, "create_ticket");
  EXPECT_EQ(events.back().arguments_json, R"({"summary":"boleto"})");
  EXPECT_EQ(llm_log->requests.size(), 1u);

  Result<void> sent = test::run(io, agent->send_tool_result("call_9", R"({"ok":true})"));
  ASSERT_TRUE(sent);
  auto follow = read_until(*agent, is(Kind::audio_done));
  EXPECT_EQ(follow.back().item_id, "resp_2");
  ASSERT_EQ(llm_log->requests.size(), 2u);
  const auto& m = llm_log->requests[1].messages;
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[2].role, providers::ChatMessage::Role::assistant);
  ASSERT_EQ(m[2].tool_calls.size(), 1u);
  EXPECT_EQ(m[2].tool_calls[0].id, "call_9");
  EXPECT_EQ(m[3].role, providers::ChatMessage::Role::tool);
  EXPECT_EQ(m[3].tool_call_id, "call_9");
  EXPECT_EQ(m[3].tool_name, "create_ticket");
  EXPECT_EQ(m[3].content, R"({"ok":true})");
  // An unknown call id is refused.
  Result<void> unknown = test::run(io, agent->send_tool_result("nope", "{}"));
  EXPECT_FALSE(unknown);
}

TEST_F(PipelineAgentTest, SuccessfulTransferDoesNotRunTheModelAgain) {
  Reply asks{{"Transferindo."}, {{"call_1", "transfer_call", R"({"target":"vendas"})"}}, 0ms};
  auto agent = make({"Vendas, por favor."}, {asks, say({"Não devia falar."})});
  start(*agent, config());
  send(*agent, tone(400) + silence(800));
  read_until(*agent, is(Kind::tool_call));
  ASSERT_TRUE(test::run(io, agent->send_tool_result("call_1", R"({"ok":true,"transferring_to":"vendas"})")));
  test::run(io, sleep_for(100ms));
  EXPECT_EQ(llm_log->requests.size(), 1u);
}

TEST_F(PipelineAgentTest, RefusedTransferLetsTheModelSpeakAgain) {
  Reply asks{{"Transferindo."}, {{"call_1", "transfer_call", R"({"target":"marte"})"}}, 0ms};
  auto agent = make({"Marte, por favor."}, {asks, say({"Não posso transferir para lá."})});
  start(*agent, config());
  send(*agent, tone(400) + silence(800));
  read_until(*agent, is(Kind::tool_call));
  ASSERT_TRUE(test::run(io, agent->send_tool_result("call_1", R"({"ok":false})")));
  auto events = read_until(*agent, is(Kind::agent_transcript));
  EXPECT_EQ(events.back().text, "Não posso transferir para lá.");
}

TEST_F(PipelineAgentTest, BargeInCancelsTheRestOfTheResponse) {
  Reply long_reply{{"Frase um. ", "Frase dois. ", "Frase três."}, {}, 400ms};
  auto agent = make({"Oi", "Espera"}, {long_reply, say({"Pois não?"})});
  start(*agent, config());
  send(*agent, tone(400) + silence(800));
  auto first = read_until(*agent, is(Kind::audio));
  EXPECT_EQ(first.back().item_id, "resp_1");
  // The caller talks over the agent.
  send(*agent, tone(300));
  auto barge = read_until(*agent, is(Kind::speech_started));
  for (const auto& e : barge) EXPECT_NE(e.kind, Kind::agent_transcript);
  EXPECT_EQ(stats->cancelled_responses, 1u);
  // The bridge reports what was heard: nothing of the first sentence.
  ASSERT_TRUE(test::run(io, agent->truncate("resp_1", 0)));
  send(*agent, silence(800));
  auto next = read_until(*agent, is(Kind::audio_done));
  for (const auto& e : next) {
    EXPECT_NE(e.item_id, "resp_1") << "an event of the cancelled response";
  }
  EXPECT_EQ(next.back().item_id, "resp_2");
  // No more sentences of the cancelled reply were synthesised.
  EXPECT_EQ(tts_log->texts, (std::vector<std::string>{"Frase um.", "Pois não?"}));
  // Nothing of resp_1 was heard: the model does not see it in the history.
  ASSERT_EQ(llm_log->requests.size(), 2u);
  const auto& m = llm_log->requests[1].messages;
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[1].content, "Oi");
  EXPECT_EQ(m[2].content, "Espera");
}

TEST_F(PipelineAgentTest, TruncateKeepsTheSentencesThatWereHeard) {
  // "Frase um." = 9 characters = 180 ms of audio, "Frase dois." starts at 180 ms.
  auto agent = make({"Oi", "Outra"}, {say({"Frase um. Frase dois. Frase três."}), say({"Sim."})});
  start(*agent, config());
  send(*agent, tone(400) + silence(800));
  read_until(*agent, is(Kind::audio_done));
  // The bridge was still playing when the caller spoke: it cut at 200 ms.
  send(*agent, tone(300));
  read_until(*agent, is(Kind::speech_started));
  ASSERT_TRUE(test::run(io, agent->truncate("resp_1", 200)));
  send(*agent, silence(800));
  read_until(*agent, is(Kind::audio_done));
  ASSERT_EQ(llm_log->requests.size(), 2u);
  const auto& m = llm_log->requests[1].messages;
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[2].content, "Frase um. Frase dois.");
}

TEST_F(PipelineAgentTest, GreetingIsSpokenFirst) {
  auto agent = make({}, {});
  start(*agent, config("Olá! Bem-vindo à clínica."));
  auto events = read_until(*agent, is(Kind::audio_done));
  const std::vector<Kind> expected{Kind::audio, Kind::agent_transcript, Kind::audio_done};
  EXPECT_EQ(kinds_collapsed(events), expected);
  for (const auto& e : events) EXPECT_EQ(e.item_id, "greeting");
  EXPECT_EQ(events[events.size() - 2].text, "Olá! Bem-vindo à clínica.");
  EXPECT_EQ(tts_log->texts, (std::vector<std::string>{"Olá!", "Bem-vindo à clínica."}));
  EXPECT_TRUE(llm_log->requests.empty());
}

TEST_F(PipelineAgentTest, CloseEndsEverything) {
  auto agent = make({"Oi"}, {say({"Resposta."})});
  start(*agent, config());
  // A reader waiting when close() comes gets an error.
  std::optional<Result<rt::AgentEvent>> waited;
  auto reader = [&]() -> asio::awaitable<void> {
    Result<rt::AgentEvent> e = co_await agent->next_event();
    waited.emplace(std::move(e));
  };
  auto closer = [&]() -> asio::awaitable<void> {
    co_await sleep_for(50ms);
    co_await agent->close();
  };
  auto both = [&]() -> asio::awaitable<void> {
    auto read = reader();
    auto close = closer();
    asio::co_spawn(io, std::move(read), asio::detached);
    co_await std::move(close);
    co_await sleep_for(20ms);
  };
  test::run(io, both());
  ASSERT_TRUE(waited.has_value());
  EXPECT_FALSE(*waited);
  test::run(io, agent->close());  // idempotent
  EXPECT_FALSE(test::run(io, agent->next_event()));
  EXPECT_FALSE(test::run(io, agent->send_audio("\x01\x02")));
  EXPECT_FALSE(test::run(io, agent->send_tool_result("x", "{}")));
}

TEST_F(PipelineAgentTest, StartFailsWithoutAProvider) {
  auto agent =
      make_pipeline_agent(io.get_executor(), nullptr, std::make_unique<FakeLlm>(std::deque<Reply>{}, llm_log),
                          std::make_unique<FakeTts>(tts_log));
  Result<void> started = test::run(io, agent->start(config()));
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error(), Errc::unavailable);
}

TEST_F(PipelineAgentTest, DestroyedWithWorkInFlight) {
  auto agent = make({"Oi"}, {Reply{{"Um. ", "Dois."}, {}, 500ms}});
  start(*agent, config("Olá."));
  send(*agent, tone(400) + silence(800));
  agent.reset();
  test::run(io, sleep_for(700ms));  // the model's remaining work finishes against a closed core
  SUCCEED();
}

// ---- the offline providers: espeak and the extractive model ----

TEST_F(PipelineAgentTest, OfflineProvidersTransferTheCaller) {
  PipelineOptions options;
  options.hints.transfer_targets = {{"financeiro", "2001"}};
  auto agent = make_pipeline_agent(
      io.get_executor(),
      std::make_unique<FakeStt>(std::deque<std::string>{"Quero falar com o financeiro"}, stt_log),
      providers::make_extractive_llm(), providers::make_espeak_tts(test::espeak_engine()), options, stats);
  start(*agent, config("Olá, bem-vindo."));
  auto greeting = read_until(*agent, is(Kind::audio_done, "greeting"), 20s);
  std::size_t bytes = 0;
  for (const auto& e : greeting) bytes += e.audio.size();
  EXPECT_GT(bytes, 16'000u);  // more than half a second of speech at 16 kHz
  send(*agent, tone(600) + silence(800));
  auto events = read_until(*agent, is(Kind::tool_call), 20s);
  EXPECT_EQ(events.back().name, "transfer_call");
  EXPECT_EQ(events.back().arguments_json, R"({"target":"financeiro"})");
  bool said = false;
  for (const auto& e : events) {
    if (e.kind == Kind::agent_transcript) {
      said = true;
      EXPECT_NE(e.text.find("financeiro"), std::string::npos) << e.text;
    }
  }
  EXPECT_TRUE(said);
  ASSERT_TRUE(test::run(io, agent->send_tool_result(events.back().call_id, R"({"ok":true})")));
  EXPECT_EQ(stats->responses, 2u);  // the greeting and the answer; no run after the transfer
}

}  // namespace
}  // namespace ivr::conversation
