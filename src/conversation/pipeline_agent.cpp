#include "ivr/conversation/pipeline_agent.hpp"

#include <algorithm>
#include <cstring>
#include <deque>
#include <exception>
#include <optional>
#include <set>
#include <utility>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "ivr/audio/resampler.hpp"
#include "ivr/core/logging.hpp"
#include "ivr/providers/llm.hpp"
#include "ivr/providers/sentences.hpp"

namespace ivr::conversation {
namespace {

namespace asio = boost::asio;
namespace rt = providers::realtime;
using Event = rt::AgentEvent;
using providers::ChatMessage;

constexpr std::size_t kMaxQueuedUtterances = 8;
constexpr std::size_t kItemsRemembered = 8;

// A wait that a cancel() cuts short on purpose.
asio::awaitable<void> wait_on(asio::steady_timer& timer) {
  boost::system::error_code ignored;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

Event make_event(Event::Kind kind, std::string item_id = {}) {
  Event e;
  e.kind = kind;
  e.item_id = std::move(item_id);
  return e;
}

std::string trimmed(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return std::string(s);
}

struct Sentence {
  std::string text;
  std::int64_t start_ms = 0;  // where its audio starts in the item
};

std::string join(const std::vector<Sentence>& sentences) {
  std::string out;
  for (const auto& s : sentences) {
    if (!out.empty()) out += ' ';
    out += s.text;
  }
  return out;
}

// One item the agent speaks: an answer of the model, or the greeting.
struct Response {
  explicit Response(const asio::any_io_executor& ex) : wake(ex) {}
  std::string item_id;
  int round = 0;
  asio::steady_timer wake;          // the speaker waits on it for sentences
  std::deque<std::string> pending;  // sentences waiting for TTS
  std::string buffer;               // streamed text not yet cut into sentences
  bool streamed = false;            // the model called on_token
  bool model_done = false;
  bool cancelled = false;
  bool finished = false;
  std::vector<providers::ToolCall> calls;  // from the model's result and from action markers
  std::vector<Sentence> spoken;            // emitted as audio events
  std::int64_t samples = 0;                // audio emitted
};

// What truncate() needs to rewrite an item's assistant message.
struct ItemRecord {
  std::string item_id;
  std::size_t history_index = 0;
  std::vector<Sentence> sentences;
  bool has_calls = false;
};

class PipelineCore : public std::enable_shared_from_this<PipelineCore> {
 public:
  PipelineCore(asio::any_io_executor ex, std::unique_ptr<providers::SpeechToText> stt,
               std::unique_ptr<providers::LanguageModel> llm, std::unique_ptr<providers::TextToSpeech> tts,
               PipelineOptions options, std::shared_ptr<PipelineStats> stats)
      : ex_(ex),
        stt_(std::move(stt)),
        llm_(std::move(llm)),
        tts_(std::move(tts)),
        options_(std::move(options)),
        stats_(stats ? std::move(stats) : std::make_shared<PipelineStats>()),
        vad_(vad_config(options_)),
        wake_(ex),
        turn_wake_(ex),
        log_(module_logger("realtime")) {}

  Result<void> start(rt::SessionConfig config) {
    if (closed_) return make_error_code(Errc::cancelled);
    if (started_) return make_error_code(Errc::conflict);
    if (!stt_ || !llm_ || !tts_) {
      log_->warn("pipeline agent: the secretary lacks a{} provider", !stt_   ? " speech-to-text"
                                                                     : !llm_ ? " language model"
                                                                             : " text-to-speech");
      return make_error_code(Errc::unavailable);
    }
    started_ = true;
    config_ = std::move(config);
    for (const auto& t : config_.tools) tools_.push_back({t.name, t.description, t.parameters_json});
    hints_ = options_.hints;
    if (hints_.language.empty()) hints_.language = config_.language;
    if (hints_.greeting.empty()) hints_.greeting = config_.greeting;
    spawn(turn_loop());
    const std::string greeting = trimmed(config_.greeting);
    if (!greeting.empty()) {
      auto r = new_response("greeting", 0);
      for (auto& piece : providers::split_sentences(greeting, options_.max_sentence_chars)) {
        r->pending.push_back(std::move(piece));
      }
      r->model_done = true;
      spawn(speak(r));
    }
    return {};
  }

  rt::AudioFormat format() const { return {rt::AudioEncoding::pcm16, options_.sample_rate}; }

  Result<void> send_audio(std::string_view bytes) {
    if (closed_) return make_error_code(Errc::cancelled);
    // pcm16 LE (the hosts we run on are little-endian); an odd trailing byte is dropped.
    const std::size_t n = bytes.size() / 2;
    samples_.resize(n);
    if (n > 0) std::memcpy(samples_.data(), bytes.data(), n * 2);
    vad_events_.clear();
    vad_.feed(samples_, vad_events_);
    for (const auto e : vad_events_) {
      if (e == audio::VoiceActivityDetector::Event::speech_started) {
        speech_started();
      } else {
        speech_stopped();
      }
    }
    return {};
  }

  asio::awaitable<Result<Event>> next_event() {
    while (queue_.empty() && !closed_) {
      wake_.expires_at(asio::steady_timer::time_point::max());
      co_await wait_on(wake_);
    }
    if (closed_) co_return make_error_code(Errc::cancelled);
    Event e = std::move(queue_.front());
    queue_.pop_front();
    co_return e;
  }

  Result<void> send_tool_result(const std::string& call_id, std::string output) {
    if (closed_) return make_error_code(Errc::cancelled);
    auto it = std::find_if(pending_calls_.begin(), pending_calls_.end(),
                           [&](const providers::ToolCall& c) { return c.id == call_id; });
    if (it == pending_calls_.end()) return make_error_code(Errc::not_found);
    const providers::ToolCall call = *it;
    pending_calls_.erase(it);
    round_results_.emplace_back(call.name, output);
    history_.push_back({ChatMessage::Role::tool, std::move(output), {}, call.id, call.name});
    if (!pending_calls_.empty()) return {};

    // Every call of the round is answered: the model goes on, like response.create after
    // function_call_output — unless the call is about to end anyway or the caller has the word.
    bool ending = !round_results_.empty();
    for (const auto& [name, result] : round_results_) {
      const auto parsed = nlohmann::json::parse(result, nullptr, false);
      const bool ok = parsed.is_object() && parsed.value("ok", false);
      if (!ok || (name != providers::kTransferCallTool && name != providers::kEndCallTool)) ending = false;
    }
    round_results_.clear();
    if (ending || vad_.in_speech() || !utterances_.empty()) return {};
    if (turn_rounds_ >= options_.max_tool_rounds) {
      log_->info("pipeline agent: {} tool rounds in one turn; waiting for the caller", turn_rounds_);
      return {};
    }
    ++turn_rounds_;
    start_response(turn_rounds_);
    return {};
  }

  Result<void> truncate(const std::string& item_id, std::int64_t audio_end_ms) {
    if (closed_) return make_error_code(Errc::cancelled);
    auto it =
        std::find_if(items_.begin(), items_.end(), [&](const ItemRecord& r) { return r.item_id == item_id; });
    if (it == items_.end() || it->history_index >= history_.size()) return {};
    std::vector<Sentence> heard;
    for (const auto& s : it->sentences) {
      if (s.start_ms < audio_end_ms) heard.push_back(s);
    }
    if (heard.empty() && !it->has_calls) {
      erase_history(it->history_index);
      return {};
    }
    history_[it->history_index].content = join(heard);
    it->sentences = std::move(heard);
    return {};
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    if (current_) {
      current_->cancelled = true;
      current_->wake.cancel();
      current_.reset();
    }
    queue_.clear();
    utterances_.clear();
    wake_.cancel();
    turn_wake_.cancel();
  }

 private:
  static audio::VoiceActivityConfig vad_config(const PipelineOptions& o) {
    audio::VoiceActivityConfig c = o.vad;
    c.sample_rate = o.sample_rate;
    return c;
  }

  void spawn(asio::awaitable<void> work) {
    auto self = shared_from_this();
    auto done = [self](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        self->log_->error("pipeline agent: task failed: {}", x.what());
      } catch (...) {
        self->log_->error("pipeline agent: task failed");
      }
    };
    asio::co_spawn(ex_, std::move(work), std::move(done));
  }

  void push(Event e) {
    if (closed_) return;
    if (e.kind == Event::Kind::audio && queue_.size() >= options_.max_queued_events) {
      ++stats_->dropped_audio_events;
      return;
    }
    queue_.push_back(std::move(e));
    wake_.cancel();
  }

  void push_error(std::string text) {
    Event e = make_event(Event::Kind::error);
    e.text = std::move(text);
    push(std::move(e));
  }

  // ---- caller ----

  void speech_started() {
    // Barge-in: the response being produced stops here (its queued audio is withdrawn too).
    if (current_) cancel(current_);
    push(make_event(Event::Kind::speech_started));
  }

  void speech_stopped() {
    push(make_event(Event::Kind::speech_stopped));
    if (utterances_.size() >= kMaxQueuedUtterances) utterances_.pop_front();
    utterances_.push_back(vad_.take_utterance());
    ++stats_->utterances;
    turn_wake_.cancel();
  }

  // Transcribes utterances one at a time, in order, and answers when the caller has finished.
  asio::awaitable<void> turn_loop() {
    while (!closed_) {
      if (utterances_.empty()) {
        turn_wake_.expires_at(asio::steady_timer::time_point::max());
        co_await wait_on(turn_wake_);
        continue;
      }
      audio::PcmAudio pcm;
      pcm.sample_rate = options_.sample_rate;
      pcm.channels = 1;
      pcm.samples = std::move(utterances_.front());
      utterances_.pop_front();
      providers::TranscribeRequest request{std::move(pcm), config_.language};
      Result<providers::Transcript> heard = co_await stt_->transcribe(std::move(request));
      if (closed_) break;
      if (!heard) {
        log_->warn("pipeline agent: speech-to-text failed: {}", heard.error().message());
        push_error("speech-to-text failed: " + heard.error().message());
        continue;
      }
      const std::string text = trimmed(heard->text);
      if (!text.empty()) {
        Event e = make_event(Event::Kind::user_transcript);
        e.text = text;
        push(std::move(e));
        if (!pending_user_.empty()) pending_user_ += ' ';
        pending_user_ += text;
      }
      // The caller is talking again: answer everything once they stop.
      if (!utterances_.empty() || vad_.in_speech() || pending_user_.empty()) continue;
      answer_caller();
    }
  }

  void answer_caller() {
    // Calls nobody answered (the caller spoke first) still need a result for the vendors' history rules.
    for (const auto& call : pending_calls_) {
      history_.push_back({ChatMessage::Role::tool,
                          R"({"ok":false,"error":"no result: the caller spoke"})",
                          {},
                          call.id,
                          call.name});
    }
    pending_calls_.clear();
    round_results_.clear();
    history_.push_back({ChatMessage::Role::user, std::move(pending_user_), {}, {}, {}});
    pending_user_.clear();
    turn_rounds_ = 0;
    turn_calls_.clear();
    trim_history();
    start_response(0);
  }

  // ---- responses ----

  std::shared_ptr<Response> new_response(std::string item_id, int round) {
    if (current_) cancel(current_);
    auto r = std::make_shared<Response>(ex_);
    r->item_id = std::move(item_id);
    r->round = round;
    current_ = r;
    ++stats_->responses;
    return r;
  }

  void start_response(int round) {
    auto r = new_response("resp_" + std::to_string(++response_count_), round);
    spawn(run_model(r, build_request()));
    spawn(speak(r));
  }

  providers::ChatRequest build_request() const {
    providers::ChatRequest request;
    if (!config_.instructions.empty()) {
      request.messages.push_back({ChatMessage::Role::system, config_.instructions, {}, {}, {}});
    }
    std::size_t from =
        history_.size() > options_.max_history_messages ? history_.size() - options_.max_history_messages : 0;
    // Never start with tool results whose call was cut off.
    while (from < history_.size() && history_[from].role == ChatMessage::Role::tool) ++from;
    request.messages.insert(request.messages.end(), history_.begin() + static_cast<std::ptrdiff_t>(from),
                            history_.end());
    request.tools = tools_;
    request.knowledge = options_.knowledge;
    request.hints = hints_;
    return request;
  }

  asio::awaitable<void> run_model(std::shared_ptr<Response> r, providers::ChatRequest request) {
    providers::TokenCallback on_token = [this, r](std::string_view fragment) {
      if (r->cancelled || closed_) return;
      r->streamed = true;
      r->buffer.append(fragment);
      cut_sentences(*r, false);
    };
    Result<providers::ChatResult> answer = co_await llm_->complete(std::move(request), std::move(on_token));
    if (closed_ || r->cancelled) co_return;
    if (!answer) {
      log_->warn("pipeline agent: the language model failed: {}", answer.error().message());
      push_error("language model failed: " + answer.error().message());
    } else {
      if (!r->streamed) r->buffer = answer->text;  // a model that does not stream: speak it all now
      r->calls = std::move(answer->tool_calls);
    }
    cut_sentences(*r, true);
    r->model_done = true;
    r->wake.cancel();
  }

  // Moves the complete sentences of the streamed text to the speaker (all of it when `last`). The last
  // piece of a growing text may still change (an abbreviation, a decimal), so it waits for more text.
  void cut_sentences(Response& r, bool last) {
    if (trimmed(r.buffer).empty()) {
      if (last) r.buffer.clear();
      return;
    }
    std::vector<std::string> pieces = providers::split_sentences(r.buffer, options_.max_sentence_chars);
    bool added = false;
    if (last) {
      for (auto& p : pieces) r.pending.push_back(std::move(p));
      r.buffer.clear();
      added = !pieces.empty();
    } else if (pieces.size() >= 2) {
      // Pieces are trimmed substrings of the text: consume the buffer up to the end of each.
      std::size_t cursor = 0;
      for (std::size_t i = 0; i + 1 < pieces.size(); ++i) {
        const std::size_t at = r.buffer.find(pieces[i], cursor);
        if (at == std::string::npos) break;
        cursor = at + pieces[i].size();
        r.pending.push_back(std::move(pieces[i]));
        added = true;
      }
      r.buffer.erase(0, cursor);
    }
    if (added) r.wake.cancel();
  }

  // Synthesises the response's sentences in order as they come, then closes the item.
  asio::awaitable<void> speak(std::shared_ptr<Response> r) {
    for (;;) {
      if (closed_ || r->cancelled) co_return;
      if (r->pending.empty()) {
        if (r->model_done) break;
        r->wake.expires_at(asio::steady_timer::time_point::max());
        co_await wait_on(r->wake);
        continue;
      }
      std::string sentence = std::move(r->pending.front());
      r->pending.pop_front();
      // Models without tool support signal actions with markers ([TRANSFER:x], [HANGUP]): never spoken.
      for (auto& call : providers::parse_action_markers(sentence)) r->calls.push_back(std::move(call));
      if (sentence.empty()) continue;
      providers::SynthesisRequest request{sentence, config_.voice, config_.language, options_.sample_rate};
      Result<providers::Synthesis> voice = co_await tts_->synthesize(std::move(request));
      if (closed_ || r->cancelled) co_return;
      if (!voice) {
        log_->warn("pipeline agent: text-to-speech failed: {}", voice.error().message());
        push_error("text-to-speech failed: " + voice.error().message());
        continue;
      }
      audio::PcmAudio pcm =
          voice->audio.channels > 1 ? audio::first_channel(voice->audio) : std::move(voice->audio);
      if (pcm.sample_rate != options_.sample_rate && pcm.sample_rate > 0) {
        pcm.samples = audio::resample(pcm.samples, pcm.sample_rate, options_.sample_rate);
      }
      emit_audio(*r, std::move(sentence), pcm.samples);
    }
    finish(r);
  }

  void emit_audio(Response& r, std::string sentence, const std::vector<std::int16_t>& samples) {
    if (samples.empty()) return;
    r.spoken.push_back({std::move(sentence), r.samples * 1000 / options_.sample_rate});
    const std::size_t chunk =
        std::max<std::size_t>(1, static_cast<std::size_t>(options_.sample_rate) *
                                     static_cast<std::size_t>(options_.audio_chunk_ms) / 1000);
    for (std::size_t at = 0; at < samples.size(); at += chunk) {
      const std::size_t n = std::min(chunk, samples.size() - at);
      Event e = make_event(Event::Kind::audio, r.item_id);
      e.audio.assign(reinterpret_cast<const char*>(samples.data() + at), n * 2);
      push(std::move(e));
    }
    r.samples += static_cast<std::int64_t>(samples.size());
  }

  void finish(std::shared_ptr<Response> r) {
    r->finished = true;
    if (current_ == r) current_.reset();
    std::vector<providers::ToolCall> calls;
    for (auto& call : r->calls) {
      const std::string key = call.name + '\n' + call.arguments_json;
      if (r->round > 0 && turn_calls_.count(key) > 0) continue;  // asked again after its result: a loop
      turn_calls_.insert(key);
      if (call.id.empty()) call.id = "call_" + std::to_string(++call_count_);
      calls.push_back(std::move(call));
    }
    const std::string text = join(r->spoken);
    if (!text.empty()) {
      Event said = make_event(Event::Kind::agent_transcript, r->item_id);
      said.text = text;
      push(std::move(said));
    }
    if (r->samples > 0) push(make_event(Event::Kind::audio_done, r->item_id));
    if (!text.empty() || !calls.empty()) {
      ChatMessage m{ChatMessage::Role::assistant, text, calls, {}, {}};
      remember_item(*r, std::move(m), !calls.empty());
    }
    for (const auto& call : calls) {
      Event e = make_event(Event::Kind::tool_call, r->item_id);
      e.call_id = call.id;
      e.name = call.name;
      e.arguments_json = call.arguments_json.empty() ? "{}" : call.arguments_json;
      push(std::move(e));
      pending_calls_.push_back(call);
    }
  }

  // Barge-in: nothing more of `r` is said; what the caller may have heard stays in the history.
  void cancel(std::shared_ptr<Response> r) {  // by value: callers pass current_, which this resets
    if (r->finished || r->cancelled) return;
    r->cancelled = true;
    r->wake.cancel();
    if (current_ == r) current_.reset();
    ++stats_->cancelled_responses;
    // Audio still queued for the reader was never played: withdraw it.
    std::int64_t withdrawn = 0;
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (it->kind == Event::Kind::audio && it->item_id == r->item_id) {
        withdrawn += static_cast<std::int64_t>(it->audio.size() / 2);
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    const std::int64_t delivered_ms = (r->samples - withdrawn) * 1000 / options_.sample_rate;
    std::erase_if(r->spoken, [&](const Sentence& s) { return s.start_ms >= delivered_ms; });
    if (r->spoken.empty()) return;
    ChatMessage m{ChatMessage::Role::assistant, join(r->spoken), {}, {}, {}};
    remember_item(*r, std::move(m), false);
  }

  void remember_item(const Response& r, ChatMessage message, bool has_calls) {
    history_.push_back(std::move(message));
    items_.push_back({r.item_id, history_.size() - 1, r.spoken, has_calls});
    if (items_.size() > kItemsRemembered) items_.pop_front();
  }

  void erase_history(std::size_t index) {
    history_.erase(history_.begin() + static_cast<std::ptrdiff_t>(index));
    std::erase_if(items_, [&](const ItemRecord& r) { return r.history_index == index; });
    for (auto& r : items_) {
      if (r.history_index > index) --r.history_index;
    }
  }

  // The history is bounded: twice what a request carries, dropped from the front in one go.
  void trim_history() {
    const std::size_t limit = 2 * std::max<std::size_t>(options_.max_history_messages, 1);
    if (history_.size() <= limit) return;
    const std::size_t drop = history_.size() - options_.max_history_messages;
    history_.erase(history_.begin(), history_.begin() + static_cast<std::ptrdiff_t>(drop));
    std::erase_if(items_, [&](const ItemRecord& r) { return r.history_index < drop; });
    for (auto& r : items_) r.history_index -= drop;
  }

  asio::any_io_executor ex_;
  std::unique_ptr<providers::SpeechToText> stt_;
  std::unique_ptr<providers::LanguageModel> llm_;
  std::unique_ptr<providers::TextToSpeech> tts_;
  PipelineOptions options_;
  std::shared_ptr<PipelineStats> stats_;
  audio::VoiceActivityDetector vad_;
  asio::steady_timer wake_;       // wakes next_event()
  asio::steady_timer turn_wake_;  // wakes turn_loop()
  std::shared_ptr<spdlog::logger> log_;

  rt::SessionConfig config_;
  std::vector<providers::ToolSpec> tools_;
  providers::ConversationHints hints_;
  bool started_ = false;
  bool closed_ = false;

  std::deque<Event> queue_;
  std::vector<std::int16_t> samples_;
  std::vector<audio::VoiceActivityDetector::Event> vad_events_;
  std::deque<std::vector<std::int16_t>> utterances_;
  std::string pending_user_;  // transcribed, not answered yet

  std::vector<ChatMessage> history_;  // without the system prompt
  std::deque<ItemRecord> items_;
  std::shared_ptr<Response> current_;
  int response_count_ = 0;
  int call_count_ = 0;
  int turn_rounds_ = 0;
  std::set<std::string> turn_calls_;  // "name\nargs" of the calls made in this caller turn
  std::vector<providers::ToolCall> pending_calls_;
  std::vector<std::pair<std::string, std::string>> round_results_;
};

class PipelineAgent final : public rt::RealtimeAgent {
 public:
  explicit PipelineAgent(std::shared_ptr<PipelineCore> core) : core_(std::move(core)) {}
  ~PipelineAgent() override { core_->close(); }
  PipelineAgent(const PipelineAgent&) = delete;
  PipelineAgent& operator=(const PipelineAgent&) = delete;

  asio::awaitable<Result<void>> start(rt::SessionConfig config) override {
    co_return core_->start(std::move(config));
  }
  rt::AudioFormat input_format() const override { return core_->format(); }
  rt::AudioFormat output_format() const override { return core_->format(); }
  asio::awaitable<Result<void>> send_audio(std::string_view bytes) override {
    co_return core_->send_audio(bytes);
  }
  asio::awaitable<Result<Event>> next_event() override {
    auto core = core_;  // the reader may outlive a close()
    Result<Event> e = co_await core->next_event();
    co_return e;
  }
  asio::awaitable<Result<void>> send_tool_result(std::string call_id, std::string output_json) override {
    co_return core_->send_tool_result(call_id, std::move(output_json));
  }
  asio::awaitable<Result<void>> truncate(std::string item_id, std::int64_t audio_end_ms) override {
    co_return core_->truncate(item_id, audio_end_ms);
  }
  asio::awaitable<void> close() override {
    core_->close();
    co_return;
  }
  std::string_view name() const override { return "pipeline"; }

 private:
  std::shared_ptr<PipelineCore> core_;
};

}  // namespace

std::unique_ptr<rt::RealtimeAgent> make_pipeline_agent(asio::any_io_executor executor,
                                                       std::unique_ptr<providers::SpeechToText> stt,
                                                       std::unique_ptr<providers::LanguageModel> llm,
                                                       std::unique_ptr<providers::TextToSpeech> tts,
                                                       PipelineOptions options,
                                                       std::shared_ptr<PipelineStats> stats) {
  auto core = std::make_shared<PipelineCore>(std::move(executor), std::move(stt), std::move(llm),
                                             std::move(tts), std::move(options), std::move(stats));
  return std::make_unique<PipelineAgent>(std::move(core));
}

}  // namespace ivr::conversation
