#pragma once
// A RealtimeAgent test double for the bridge: scripted in the test, observed afterwards. Events it emits
// are queued and delivered by next_event() on the test's io_context (a timer wakes the reader), like an
// adapter's reader loop would. Audio it "speaks" is a 440 Hz pcm16 tone at its output rate.
//
// Script: on start, the greeting (greeting_ms of audio, item "greeting"); once the caller has sent
// speak_after_ms of audio, speech_started (a barge-in if the greeting still plays), the caller's
// transcript and the tool call; after the tool result, reply_ms of audio (item "reply") and audio_done.
// drop_after_events > 0: next_event() fails with Errc::unavailable after that many events (a dropped
// provider connection). fail_start: start() fails.

#include <cmath>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "ivr/providers/realtime/realtime_agent.hpp"

namespace ivr::test {

struct AgentScript {
  bool fail_start = false;
  int greeting_ms = 3000;
  int speak_after_ms = 1000;
  std::string user_text = "Quero falar com vendas.";
  std::string tool_name = "transfer_call";
  std::string tool_arguments = R"({"target":"vendas"})";
  int reply_ms = 300;
  int drop_after_events = 0;
  int output_rate = 24'000;
  int input_rate = 24'000;
  int close_ms = 0;  // close() takes this long (a provider draining its socket)
};

// What the agent saw, kept after the agent is gone.
struct AgentRecord {
  bool started = false;
  bool closed = false;
  bool close_finished = false;
  providers::realtime::SessionConfig config;
  std::int64_t audio_in_samples = 0;
  std::vector<std::pair<std::string, std::int64_t>> truncates;    // item, audio_end_ms
  std::vector<std::pair<std::string, std::string>> tool_results;  // call_id, output
};

class ScriptedRealtimeAgent final : public providers::realtime::RealtimeAgent {
 public:
  using Event = providers::realtime::AgentEvent;

  ScriptedRealtimeAgent(boost::asio::any_io_executor ex, AgentScript script,
                        std::shared_ptr<AgentRecord> record)
      : script_(std::move(script)), record_(std::move(record)), wake_(ex) {}

  boost::asio::awaitable<Result<void>> start(providers::realtime::SessionConfig config) override {
    record_->config = config;
    if (script_.fail_start) co_return make_error_code(Errc::unavailable);
    record_->started = true;
    if (script_.greeting_ms > 0) speak("greeting", script_.greeting_ms);
    co_return Result<void>();
  }
  providers::realtime::AudioFormat input_format() const override {
    return {providers::realtime::AudioEncoding::pcm16, script_.input_rate};
  }
  providers::realtime::AudioFormat output_format() const override {
    return {providers::realtime::AudioEncoding::pcm16, script_.output_rate};
  }

  boost::asio::awaitable<Result<void>> send_audio(std::string_view bytes) override {
    record_->audio_in_samples += static_cast<std::int64_t>(bytes.size() / 2);
    if (!spoke_ && record_->audio_in_samples >=
                       static_cast<std::int64_t>(script_.speak_after_ms) * script_.input_rate / 1000) {
      spoke_ = true;
      push(event(Event::Kind::speech_started));
      Event transcript = event(Event::Kind::user_transcript);
      transcript.text = script_.user_text;
      push(std::move(transcript));
      if (!script_.tool_name.empty()) {
        Event call = event(Event::Kind::tool_call);
        call.call_id = "call_1";
        call.name = script_.tool_name;
        call.arguments_json = script_.tool_arguments;
        push(std::move(call));
      }
    }
    co_return Result<void>();
  }

  boost::asio::awaitable<Result<Event>> next_event() override {
    while (queue_.empty() && !record_->closed) {
      wake_.expires_after(std::chrono::seconds(60));
      boost::system::error_code ignored;
      co_await wake_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ignored));
    }
    if (record_->closed) co_return make_error_code(Errc::cancelled);
    if (script_.drop_after_events > 0 && delivered_ >= script_.drop_after_events) {
      co_return make_error_code(Errc::unavailable);
    }
    Event e = std::move(queue_.front());
    queue_.pop_front();
    ++delivered_;
    co_return e;
  }

  boost::asio::awaitable<Result<void>> send_tool_result(std::string call_id, std::string output) override {
    record_->tool_results.emplace_back(std::move(call_id), std::move(output));
    if (script_.reply_ms > 0) speak("reply", script_.reply_ms);
    Event said = event(Event::Kind::agent_transcript);
    said.text = "Um momento, vou transferir.";
    push(std::move(said));
    co_return Result<void>();
  }

  boost::asio::awaitable<Result<void>> truncate(std::string item_id, std::int64_t audio_end_ms) override {
    record_->truncates.emplace_back(std::move(item_id), audio_end_ms);
    co_return Result<void>();
  }

  boost::asio::awaitable<void> close() override {
    record_->closed = true;
    wake_.cancel();
    if (script_.close_ms > 0) {
      boost::asio::steady_timer slow(co_await boost::asio::this_coro::executor);
      slow.expires_after(std::chrono::milliseconds(script_.close_ms));
      boost::system::error_code ignored;
      co_await slow.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ignored));
    }
    record_->close_finished = true;
  }

  std::string_view name() const override { return "scripted"; }

 private:
  static Event event(Event::Kind kind) {
    Event e;
    e.kind = kind;
    return e;
  }
  void push(Event e) {
    queue_.push_back(std::move(e));
    wake_.cancel();
  }
  // `ms` of tone as 100 ms audio events, then audio_done.
  void speak(const std::string& item, int ms) {
    const int per_chunk = script_.output_rate / 10;
    for (int done = 0; done < ms; done += 100) {
      Event audio = event(Event::Kind::audio);
      audio.item_id = item;
      audio.audio.resize(static_cast<std::size_t>(per_chunk) * 2);
      for (int i = 0; i < per_chunk; ++i) {
        const auto s =
            static_cast<std::int16_t>(6000 * std::sin(2 * M_PI * 440.0 * (phase_++) / script_.output_rate));
        audio.audio[static_cast<std::size_t>(2 * i)] = static_cast<char>(s & 0xFF);
        audio.audio[static_cast<std::size_t>(2 * i + 1)] = static_cast<char>((s >> 8) & 0xFF);
      }
      push(std::move(audio));
    }
    Event done = event(Event::Kind::audio_done);
    done.item_id = item;
    push(std::move(done));
  }

  AgentScript script_;
  std::shared_ptr<AgentRecord> record_;
  boost::asio::steady_timer wake_;
  std::deque<Event> queue_;
  bool spoke_ = false;
  int delivered_ = 0;
  long phase_ = 0;
};

}  // namespace ivr::test
