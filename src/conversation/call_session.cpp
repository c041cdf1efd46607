#include "ivr/conversation/call_session.hpp"

#include <algorithm>
#include <cstring>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "ivr/audio/g711.hpp"
#include "ivr/audio/playback_pacer.hpp"
#include "ivr/audio/resampler.hpp"
#include "ivr/conversation/call_service.hpp"
#include "ivr/conversation/chat_service.hpp"
#include "ivr/conversation/knowledge.hpp"
#include "ivr/core/logging.hpp"
#include "ivr/core/metrics.hpp"
#include "ivr/net/websocket.hpp"
#include "ivr/store/calls.hpp"
#include "ivr/telephony/call_control.hpp"

namespace ivr::conversation {
namespace {

namespace asio = boost::asio;
namespace rt = providers::realtime;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

std::chrono::milliseconds ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(b - a);
}

// A wait that any stop()/wake() may cut short; errors (cancellation) are the point, not a failure.
asio::awaitable<void> wait_on(asio::steady_timer& timer) {
  boost::system::error_code ignored;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

// A transfer or hangup waiting for the agent's last words (the handover or goodbye it speaks after the
// tool call): carried out once they are played, or at `not_after` whatever happens. When the agent has not
// started speaking by `reply_by`, it is taken to have nothing more to say.
struct PendingAction {
  enum class Kind { transfer, hangup } kind = Kind::hangup;
  std::string extension;
  std::string resolution;
  Clock::time_point not_after;
  Clock::time_point reply_by = not_after;
  bool replied = false;  // agent audio arrived after the action was decided
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(asio::any_io_executor ex, net::WebSocket& socket, RealtimeCall call, CallSessionDeps& deps)
      : socket_(socket),
        call_(std::move(call)),
        deps_(deps),
        log_(module_logger("bridge")),
        decoder_(call_.format),
        pacer_(pacer_config(call_, deps.options)),
        writer_(call_.format.sample_rate),
        pacer_wake_(ex),
        done_(ex),
        started_(Clock::now()),
        last_frame_(started_) {
    done_.expires_at(asio::steady_timer::time_point::max());
  }

  asio::awaitable<CallSessionReport> run(std::vector<std::string> early_frames) {
    metric_gauge("ivr_realtime_calls_active", "Realtime calls in progress").add(1);
    // The session watches FreeSWITCH's silence itself (caller_idle_timeout, checked by the pacer loop).
    socket_.set_idle_timeout(std::chrono::milliseconds(0));
    log_->info("{} realtime call from '{}' ({} Hz, {} channel(s), {} playback)", context(), call_.caller_id,
               call_.format.sample_rate, call_.format.channels, audio::to_string(call_.playback));
    for (const auto& frame : early_frames) pending_caller_audio(frame);
    Result<store::CallRecord> record = co_await deps_.call_repo.ensure(
        call_.domain_uuid, call_.call_uuid, call_.secretary.id, call_.caller_id, "realtime");
    if (!record) {
      // conflict: the uuid is another domain's call; anything else: the store is down. Either way no call.
      log_->error("{} call record refused: {}", context(), record.error().message());
      co_await socket_.close(1011, "call record unavailable");
      metric_gauge("ivr_realtime_calls_active", "Realtime calls in progress").add(-1);
      report_.resolution = "error";
      co_return report_;
    }
    if (deps_.live_calls != nullptr) {
      std::weak_ptr<Session> weak = weak_from_this();
      LiveCalls::Handlers handlers;
      if (call_.playback == audio::PlaybackMode::file) {
        handlers.play_file = [weak](const std::string& file) {
          if (auto self = weak.lock()) self->play_file(file);
        };
      }
      handlers.hung_up = [weak] {
        if (auto self = weak.lock()) self->channel_hung_up();
      };
      deps_.live_calls->attach(call_.call_uuid, std::move(handlers));
    }
    if (co_await start_agent()) {
      spawn(caller_loop());
      spawn(agent_loop());
      spawn(pacer_loop());
    } else {
      co_await give_up("no realtime agent could be started");
    }
    // Wait for every loop to end (stop() closes the socket and the agent to wake them).
    while (loops_ > 0) co_await wait_on(done_);
    if (deps_.live_calls != nullptr) deps_.live_calls->detach(call_.call_uuid);
    co_await finalise();
    metric_gauge("ivr_realtime_calls_active", "Realtime calls in progress").add(-1);
    co_return report_;
  }

 private:
  static audio::PacerConfig pacer_config(const RealtimeCall& call, const CallSessionOptions& o) {
    audio::PacerConfig c;
    c.mode = call.playback;
    c.sample_rate = call.format.sample_rate;
    c.lead = o.playback_lead;
    return c;
  }

  LogContext context() const { return {{}, call_.domain_uuid, call_.call_uuid}; }

  Gauge& metric_gauge(const char* name, const char* help) {
    static Gauge unused;
    return deps_.metrics != nullptr ? deps_.metrics->gauge(name, help) : unused;
  }
  void count(const char* name, const char* help, std::uint64_t n = 1) {
    if (deps_.metrics != nullptr) deps_.metrics->counter(name, help).inc(n);
  }

  // Frame counters reach the metrics about once a second during the call (and at its end), so dashboards
  // see traffic as it flows without a registry update per frame.
  void publish_frame_counts() {
    count("ivr_realtime_frames_in_total", "Caller frames received on /stream",
          report_.frames_in - published_frames_in_);
    count("ivr_realtime_messages_out_total", "streamAudio messages sent on /stream",
          report_.messages_out - published_messages_out_);
    published_frames_in_ = report_.frames_in;
    published_messages_out_ = report_.messages_out;
    last_published_ = Clock::now();
  }

  void spawn(asio::awaitable<void> loop) {
    ++loops_;
    auto self = shared_from_this();
    asio::co_spawn(
        pacer_wake_.get_executor(),
        [self, loop = std::move(loop)]() mutable -> asio::awaitable<void> {
          try {
            co_await std::move(loop);
          } catch (const std::exception& e) {
            self->log_->error("{} session loop failed: {}", self->context(), e.what());
            self->stop("error");
          }
          if (--self->loops_ == 0) self->done_.cancel();
        },
        asio::detached);
  }

  // ---- agent ----

  asio::awaitable<bool> start_agent() {
    for (;;) {
      std::unique_ptr<rt::RealtimeAgent> agent =
          deps_.agents ? deps_.agents(call_.secretary, attempt_++) : std::unique_ptr<rt::RealtimeAgent>();
      if (!agent) co_return false;
      rt::SessionConfig config = realtime_session_config(call_.secretary);
      if (!report_.agents.empty()) {
        // A replacement mid-call: no second greeting, and the conversation so far as context.
        config.greeting.clear();
        config.instructions +=
            "\n\nThe call is already in progress (the previous connection dropped). So far:\n" +
            transcript_so_far_ + "Continue naturally from here.";
      }
      const std::string name(agent->name());
      Result<void> started = co_await agent->start(std::move(config));
      if (!started) {
        log_->warn("{} realtime agent {} did not start: {}", context(), name, started.error().message());
        count("ivr_realtime_agent_failures_total", "Realtime agents that failed to start or dropped");
        co_await agent->close();
        continue;
      }
      if (agent_) co_await agent_->close();
      agent_ = std::move(agent);
      report_.agents.push_back(name);
      const rt::AudioFormat in = agent_->input_format();
      const rt::AudioFormat out = agent_->output_format();
      to_agent_.emplace(call_.format.sample_rate, in.sample_rate, deps_.options.resampler_quality);
      from_agent_.emplace(out.sample_rate, call_.format.sample_rate, deps_.options.resampler_quality);
      log_->info("{} agent {} started ({} Hz in, {} Hz out)", context(), name, in.sample_rate,
                 out.sample_rate);
      co_return true;
    }
  }

  asio::awaitable<void> agent_loop() {
    while (!stopping_) {
      Result<rt::AgentEvent> event = co_await agent_->next_event();
      if (stopping_) break;
      if (!event) {
        log_->warn("{} agent {} dropped: {}", context(), agent_->name(), event.error().message());
        count("ivr_realtime_agent_failures_total", "Realtime agents that failed to start or dropped");
        pacer_.clear(Clock::now());
        agent_speaking_ = false;
        if (!co_await start_agent()) {
          co_await give_up("the realtime agent dropped and no other could be started");
          break;
        }
        continue;
      }
      co_await handle(*event);
    }
  }

  asio::awaitable<void> handle(rt::AgentEvent& event) {
    using Kind = rt::AgentEvent::Kind;
    switch (event.kind) {
      case Kind::audio: {
        agent_speaking_ = true;
        if (action_) action_->replied = true;
        const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(event.audio.data()),
                                                  event.audio.size());
        const rt::AudioEncoding encoding = agent_->output_format().encoding;
        if (encoding == rt::AudioEncoding::g711_ulaw) {
          samples_in_.clear();
          audio::decode_mulaw(bytes, samples_in_);
        } else if (encoding == rt::AudioEncoding::g711_alaw) {
          samples_in_.clear();
          audio::decode_alaw(bytes, samples_in_);
        } else {
          const std::size_t n = event.audio.size() / 2;
          samples_in_.resize(n);
          if (n > 0) std::memcpy(samples_in_.data(), event.audio.data(), n * 2);  // pcm16 LE (x86 is LE)
        }
        samples_out_.clear();
        from_agent_->process(samples_in_, samples_out_);
        pacer_.push(event.item_id, samples_out_);
        pacer_wake_.cancel();
        break;
      }
      case Kind::audio_done:
        pacer_.end_item(event.item_id);
        agent_speaking_ = false;
        pacer_wake_.cancel();
        break;
      case Kind::speech_started:
        co_await barge_in();
        break;
      case Kind::speech_stopped:
        break;
      case Kind::user_transcript:
        if (!event.text.empty()) {
          caller_text_ += (caller_text_.empty() ? "" : " ") + event.text;
          transcript_so_far_ += "Caller: " + event.text + "\n";
        }
        break;
      case Kind::agent_transcript:
        if (!event.text.empty()) {
          transcript_so_far_ += "You: " + event.text + "\n";
          co_await record_turn(event.text);
        }
        break;
      case Kind::tool_call:
        co_await tool_call(event);
        break;
      case Kind::error:
        log_->warn("{} agent {} reported: {}", context(), agent_->name(), event.text);
        break;
    }
  }

  asio::awaitable<void> record_turn(const std::string& assistant_text) {
    store::CallMessage caller{"caller", caller_text_, "", "", ""};
    store::CallMessage assistant{"assistant", assistant_text, "continue", "", ""};
    caller_text_.clear();
    Result<void> saved = co_await deps_.call_repo.append_turn(call_.domain_uuid, call_.call_uuid,
                                                              std::move(caller), std::move(assistant));
    if (!saved) log_->warn("{} transcript not saved: {}", context(), saved.error().message());
  }

  // File mode: FreeSWITCH wrote our message number n to "<dir>/<uuid>_<n>.tmp.<ext>" and asks us to play it.
  // Files of messages sent before the last barge-in are stale: the caller already interrupted them.
  void play_file(const std::string& file) {
    const auto underscore = file.rfind('_');
    const auto dot = file.find('.', underscore == std::string::npos ? 0 : underscore);
    std::uint64_t n = 0;
    bool numbered = underscore != std::string::npos && dot != std::string::npos && dot > underscore + 1;
    for (std::size_t i = underscore + 1; numbered && i < dot; ++i) {
      if (file[i] < '0' || file[i] > '9') numbered = false;
      n = n * 10 + static_cast<std::uint64_t>(file[i] - '0');
    }
    if (stopping_ || (numbered && n < stale_before_)) {
      log_->debug("{} stale playback file skipped: {}", context(), file);
      return;
    }
    if (deps_.control == nullptr) return;
    auto self = shared_from_this();
    asio::co_spawn(
        pacer_wake_.get_executor(),
        [self, file]() -> asio::awaitable<void> {
          Result<void> played = co_await self->deps_.control->play(self->call_.call_uuid, file);
          if (!played)
            self->log_->warn("{} uuid_broadcast failed: {}", self->context(), played.error().message());
        },
        asio::detached);
  }

  // The caller spoke over the agent: silence now, and tell the agent what was really heard.
  asio::awaitable<void> barge_in() {
    const auto now = Clock::now();
    if (pacer_.idle(now) && !agent_speaking_) co_return;
    audio::PlaybackPacer::ClearResult cut = pacer_.clear(now);
    agent_speaking_ = false;
    stale_before_ = report_.messages_out;  // file mode: play events of these messages are now stale
    ++report_.barge_ins;
    report_.dropped_ms += cut.dropped_ms;
    const auto cutoff = std::max(std::chrono::milliseconds(0), ms_between(now, cut.sound_stops));
    report_.cutoffs.push_back(cutoff);
    count("ivr_realtime_barge_ins_total", "Caller speech that interrupted the agent");
    if (deps_.metrics != nullptr) {
      deps_.metrics
          ->histogram("ivr_realtime_barge_in_cutoff_seconds",
                      "From the caller's speech to the agent's silence", {},
                      MetricsRegistry::latency_buckets_seconds())
          .observe(static_cast<double>(cutoff.count()) / 1000.0);
    }
    if (call_.playback == audio::PlaybackMode::file && deps_.control != nullptr) {
      Result<void> stopped = co_await deps_.control->stop_playback(call_.call_uuid);
      if (!stopped) log_->warn("{} uuid_break failed: {}", context(), stopped.error().message());
    }
    for (const auto& item : cut.items) {
      if (item.item_id.empty() || item.heard_ms >= item.sent_ms + item.dropped_ms) continue;
      Result<void> truncated = co_await agent_->truncate(item.item_id, item.heard_ms);
      if (!truncated) log_->debug("{} truncate failed: {}", context(), truncated.error().message());
    }
    log_->info("{} barge-in: silence in {} ms, {} ms of agent audio dropped", context(), cutoff.count(),
               cut.dropped_ms);
  }

  asio::awaitable<void> tool_call(const rt::AgentEvent& event) {
    const json args = json::parse(event.arguments_json.empty() ? "{}" : event.arguments_json, nullptr, false);
    json result;
    if (!args.is_object()) {
      result = {{"ok", false}, {"error", "the arguments are not a JSON object"}};
    } else if (event.name == "transfer_call") {
      const std::string asked = args.value("target", "");
      auto target = find_transfer_target(call_.secretary, asked);
      if (!target) {
        json allowed = json::array();
        for (const auto& [name, ext] : call_.secretary.transfer_targets) allowed.push_back(name);
        result = {{"ok", false}, {"error", "not an allowed transfer target"}, {"allowed_targets", allowed}};
      } else {
        result = {{"ok", true}, {"transferring_to", target->first}};
        action_ = PendingAction{PendingAction::Kind::transfer, target->second, "transferred",
                                Clock::now() + deps_.options.action_wait, Clock::now() + reply_wait()};
      }
    } else if (event.name == "end_call") {
      result = {{"ok", true}};
      action_ = PendingAction{PendingAction::Kind::hangup, "", "resolved",
                              Clock::now() + deps_.options.action_wait, Clock::now() + reply_wait()};
    } else if (event.name == "create_ticket") {
      const std::string summary = args.value("summary", "");
      Result<void> queued =
          co_await deps_.calls.ticket_requested(call_.secretary, call_.call_uuid, call_.caller_id, summary);
      result =
          queued ? json{{"ok", true}} : json{{"ok", false}, {"error", "the ticket could not be registered"}};
    } else if (event.name == "search_knowledge_base") {
      Result<std::vector<providers::KnowledgeSnippet>> found =
          co_await deps_.knowledge.search(call_.domain_uuid, call_.secretary.id, args.value("query", ""),
                                          static_cast<int>(deps_.options.knowledge_top_k));
      json passages = json::array();
      if (found) {
        for (const auto& s : *found) passages.push_back({{"document", s.document_title}, {"text", s.text}});
      }
      result = {{"passages", passages}};
    } else {
      result = {{"ok", false}, {"error", "unknown tool " + event.name}};
    }
    log_->info("{} tool {} → {}", context(), event.name, result.dump());
    Result<void> sent = co_await agent_->send_tool_result(event.call_id, result.dump());
    if (!sent) log_->warn("{} tool result not sent: {}", context(), sent.error().message());
    pacer_wake_.cancel();
  }

  // No agent to talk to: hand the caller to a person (or hang up when there is nobody to hand over to).
  asio::awaitable<void> give_up(const std::string& why) {
    log_->error("{} {}", context(), why);
    if (!call_.secretary.fallback_extension.empty()) {
      action_ = PendingAction{PendingAction::Kind::transfer, call_.secretary.fallback_extension, "fallback",
                              Clock::now()};
    } else {
      action_ = PendingAction{PendingAction::Kind::hangup, "", "error", Clock::now()};
    }
    co_await execute_action();
  }

  asio::awaitable<void> execute_action() {
    if (!action_ || acted_) co_return;
    acted_ = true;
    const PendingAction a = *action_;
    resolution_ = a.resolution;
    if (deps_.control == nullptr) {
      log_->error("{} cannot {} the call: no Event Socket is configured ([freeswitch] esl_host)", context(),
                  a.kind == PendingAction::Kind::transfer ? "transfer" : "hang up");
    } else if (a.kind == PendingAction::Kind::transfer) {
      const std::string context_name = call_.domain_name.empty() ? "default" : call_.domain_name;
      Result<void> done = co_await deps_.control->transfer(call_.call_uuid, a.extension, context_name);
      if (done) {
        transferred_to_ = a.extension;
      } else {
        log_->error("{} transfer to {} failed: {}", context(), a.extension, done.error().message());
      }
    } else {
      Result<void> done = co_await deps_.control->hangup(call_.call_uuid, "NORMAL_CLEARING");
      if (!done) log_->error("{} hangup failed: {}", context(), done.error().message());
    }
    stop(resolution_);
  }

  // ---- caller ----

  void pending_caller_audio(const std::string& frame) {
    caller_samples_.clear();
    if (decoder_.decode(frame, caller_samples_) != audio::CallerFrameDecoder::Reject::none) {
      ++report_.frames_rejected;
      return;
    }
    ++report_.frames_in;
    early_audio_.insert(early_audio_.end(), caller_samples_.begin(), caller_samples_.end());
  }

  asio::awaitable<void> caller_loop() {
    if (!early_audio_.empty()) co_await forward_caller(early_audio_);
    early_audio_.clear();
    while (!stopping_) {
      Result<void> read = co_await socket_.read(caller_message_);
      if (stopping_) break;
      if (!read) {
        // FreeSWITCH closes the stream when the caller hangs up (or the stream is stopped).
        log_->info("{} stream closed by FreeSWITCH", context());
        stop(resolution_.empty() ? "abandoned" : resolution_);
        break;
      }
      last_frame_ = Clock::now();
      if (!caller_message_.binary) {
        log_->debug("{} text frame ignored ({} bytes)", context(), caller_message_.data.size());
        continue;
      }
      caller_samples_.clear();
      const auto rejected = decoder_.decode(caller_message_.data, caller_samples_);
      if (rejected != audio::CallerFrameDecoder::Reject::none) {
        ++report_.frames_rejected;
        count("ivr_realtime_frames_rejected_total", "Caller frames dropped as malformed");
        if (report_.frames_rejected <= 3 || report_.frames_rejected % 500 == 0) {
          log_->warn("{} caller frame dropped: {} ({} bytes)", context(),
                     audio::CallerFrameDecoder::describe(rejected), caller_message_.data.size());
        }
        continue;
      }
      ++report_.frames_in;
      co_await forward_caller(caller_samples_);
    }
  }

  asio::awaitable<void> forward_caller(const std::vector<std::int16_t>& samples) {
    to_agent_samples_.resize(to_agent_->max_output(samples.size()));
    const std::size_t n = to_agent_->process(std::span<const std::int16_t>(samples),
                                             std::span<std::int16_t>(to_agent_samples_));
    if (n == 0) co_return;
    const std::span<const std::int16_t> converted(to_agent_samples_.data(), n);
    std::string_view bytes(reinterpret_cast<const char*>(to_agent_samples_.data()), n * 2);
    const rt::AudioEncoding encoding = agent_->input_format().encoding;
    if (encoding != rt::AudioEncoding::pcm16) {
      // G.711 straight to the provider (8 kHz calls: the resampler above passes the samples through).
      g711_out_.clear();
      if (encoding == rt::AudioEncoding::g711_ulaw) {
        audio::encode_mulaw(converted, g711_out_);
      } else {
        audio::encode_alaw(converted, g711_out_);
      }
      bytes = std::string_view(reinterpret_cast<const char*>(g711_out_.data()), g711_out_.size());
    }
    Result<void> sent = co_await agent_->send_audio(bytes);
    if (!sent && !stopping_)
      log_->debug("{} audio not sent to the agent: {}", context(), sent.error().message());
  }

  // ---- playback, timeouts, actions ----

  asio::awaitable<void> pacer_loop() {
    audio::PlaybackPacer::Chunk chunk;
    while (!stopping_) {
      const auto now = Clock::now();
      while (pacer_.next(now, chunk)) {
        writer_.write_raw(chunk.samples, out_message_);
        Result<void> written = co_await socket_.write_text(out_message_);
        if (!written) {
          if (!stopping_) stop(resolution_.empty() ? "abandoned" : resolution_);
          co_return;
        }
        ++report_.messages_out;
        if (!report_.first_audio) {
          report_.first_audio = ms_between(started_, Clock::now());
          if (deps_.metrics != nullptr) {
            deps_.metrics
                ->histogram("ivr_realtime_first_audio_seconds", "Call start to the agent's first audio sent",
                            {{"provider", report_.agents.empty() ? "" : report_.agents.back()}},
                            MetricsRegistry::latency_buckets_seconds())
                .observe(static_cast<double>(report_.first_audio->count()) / 1000.0);
          }
        }
      }
      if (action_ && !acted_ && action_due(Clock::now())) {
        co_await execute_action();
        co_return;
      }
      if (Clock::now() - started_ > deps_.options.max_call_duration) {
        log_->warn("{} call longer than {} s: ending it", context(),
                   std::chrono::duration_cast<std::chrono::seconds>(deps_.options.max_call_duration).count());
        action_ = PendingAction{PendingAction::Kind::hangup, "", "max_duration", Clock::now()};
        co_await execute_action();
        co_return;
      }
      if (Clock::now() - last_frame_ > deps_.options.caller_idle_timeout) {
        log_->warn(
            "{} no audio from FreeSWITCH for {} s: ending the session", context(),
            std::chrono::duration_cast<std::chrono::seconds>(deps_.options.caller_idle_timeout).count());
        stop("abandoned");
        co_return;
      }
      if (Clock::now() - last_published_ >= std::chrono::seconds(1)) publish_frame_counts();
      const auto tick = Clock::now() + std::chrono::milliseconds(100);
      const auto due = pacer_.next_due(Clock::now());
      pacer_wake_.expires_at(due ? std::min(*due, tick) : tick);
      co_await wait_on(pacer_wake_);
    }
  }

  // FreeSWITCH reported the channel gone (its WebSocket may linger, or never close on a crashed node).
  void channel_hung_up() {
    if (stopping_) return;
    log_->info("{} channel hung up (Event Socket)", context());
    stop(resolution_.empty() ? "abandoned" : resolution_);
  }

  // The agent's reply to the tool result may take a moment to start (the provider generates it after the
  // result arrives): without this wait the caller would be transferred before hearing the handover.
  std::chrono::milliseconds reply_wait() const {
    return std::min(deps_.options.reply_wait, deps_.options.action_wait);
  }

  bool action_due(Clock::time_point now) const {
    if (now >= action_->not_after) return true;
    const bool quiet = pacer_.idle(now) && !agent_speaking_;
    return quiet && (action_->replied || now >= action_->reply_by);
  }

  void stop(const std::string& resolution) {
    if (stopping_) return;
    stopping_ = true;
    if (resolution_.empty()) resolution_ = resolution;
    pacer_wake_.cancel();
    // Counted as a loop: socket_ belongs to the route handler awaiting run(), so run() must not return
    // while this still uses it (an agent's close can take seconds while the provider drains).
    spawn(close_connections());
  }

  asio::awaitable<void> close_connections() {
    if (agent_) co_await agent_->close();
    co_await socket_.close(1000, "call ended");
  }

  asio::awaitable<void> finalise() {
    report_.resolution = resolution_.empty() ? "abandoned" : resolution_;
    report_.transferred_to = transferred_to_;
    if (!caller_text_.empty()) co_await record_turn("");
    json stats = {{"agents", report_.agents},
                  {"playback", std::string(audio::to_string(call_.playback))},
                  {"sample_rate", call_.format.sample_rate},
                  {"frames_in", report_.frames_in},
                  {"frames_rejected", report_.frames_rejected},
                  {"messages_out", report_.messages_out},
                  {"barge_ins", report_.barge_ins},
                  {"dropped_ms", report_.dropped_ms}};
    if (report_.first_audio) stats["first_audio_ms"] = report_.first_audio->count();
    json cutoffs = json::array();
    for (const auto& c : report_.cutoffs) cutoffs.push_back(c.count());
    stats["barge_in_cutoff_ms"] = cutoffs;
    Result<void> saved = co_await deps_.call_repo.set_stats(call_.domain_uuid, call_.call_uuid, stats.dump());
    if (!saved) log_->warn("{} call figures not saved: {}", context(), saved.error().message());
    CallEndInput end;
    end.domain_uuid = call_.domain_uuid;
    end.domain_name = call_.domain_name;
    end.call_uuid = call_.call_uuid;
    end.resolution = report_.resolution;
    end.transferred_to = transferred_to_;
    end.duration_seconds = static_cast<double>(ms_between(started_, Clock::now()).count()) / 1000.0;
    end.caller_id = call_.caller_id;
    Result<store::CallRecord> ended = co_await deps_.calls.end(std::move(end));
    if (!ended) log_->error("{} call not finalised: {}", context(), ended.error().message());
    publish_frame_counts();
    log_->info(
        "{} realtime call ended: {}{} ({} frames in, {} rejected, {} messages out, {} barge-in(s), agents: "
        "{})",
        context(), report_.resolution, transferred_to_.empty() ? "" : " to " + transferred_to_,
        report_.frames_in, report_.frames_rejected, report_.messages_out, report_.barge_ins,
        report_.agents.empty() ? "none" : report_.agents.front());
  }

  net::WebSocket& socket_;
  RealtimeCall call_;
  CallSessionDeps& deps_;
  std::shared_ptr<spdlog::logger> log_;
  std::unique_ptr<rt::RealtimeAgent> agent_;
  std::size_t attempt_ = 0;
  audio::CallerFrameDecoder decoder_;
  audio::PlaybackPacer pacer_;
  audio::StreamAudioWriter writer_;
  net::WebSocketMessage caller_message_;  // reused for every frame from FreeSWITCH
  std::optional<audio::Resampler> to_agent_;
  std::optional<audio::Resampler> from_agent_;
  asio::steady_timer pacer_wake_;
  asio::steady_timer done_;
  Clock::time_point started_;
  Clock::time_point last_frame_;
  int loops_ = 0;
  bool stopping_ = false;
  bool agent_speaking_ = false;
  std::uint64_t published_frames_in_ = 0, published_messages_out_ = 0;
  Clock::time_point last_published_ = Clock::now();
  bool acted_ = false;
  std::uint64_t stale_before_ = 0;
  std::optional<PendingAction> action_;
  std::string resolution_;
  std::string transferred_to_;
  std::string caller_text_;
  std::string transcript_so_far_;
  std::vector<std::int16_t> early_audio_;
  std::vector<std::int16_t> caller_samples_;
  std::vector<std::int16_t> to_agent_samples_;
  std::vector<std::int16_t> samples_in_;
  std::vector<std::int16_t> samples_out_;
  std::vector<std::uint8_t> g711_out_;
  std::string out_message_;
  CallSessionReport report_;
};

}  // namespace

rt::SessionConfig realtime_session_config(const Secretary& secretary) {
  rt::SessionConfig config;
  config.instructions = build_system_prompt(secretary, {});
  config.instructions +=
      "\nYou are speaking on a live phone call. Before transfer_call or end_call, say one short sentence "
      "(the handover or the goodbye). Use search_knowledge_base to look up the company's documents.";
  config.language = secretary.language;
  config.voice = secretary.voice;
  config.greeting = secretary.greeting;
  for (auto& tool : conversation_tools(secretary)) {
    config.tools.push_back({tool.name, tool.description, tool.parameters_schema_json});
  }
  json search = {{"type", "object"},
                 {"properties", {{"query", {{"type", "string"}, {"description", "what to look up"}}}}},
                 {"required", {"query"}}};
  config.tools.push_back(
      {"search_knowledge_base", "Search the company's documents (prices, hours, policies).", search.dump()});
  return config;
}

asio::awaitable<CallSessionReport> run_call_session(net::WebSocket& socket, RealtimeCall call,
                                                    std::vector<std::string> early_frames,
                                                    CallSessionDeps& deps) {
  auto executor = co_await asio::this_coro::executor;
  auto session = std::make_shared<Session>(executor, socket, std::move(call), deps);
  CallSessionReport report = co_await session->run(std::move(early_frames));
  co_return report;
}

}  // namespace ivr::conversation
