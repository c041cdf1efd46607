#pragma once
// One realtime call (DESIGN §6): FreeSWITCH's mod_audio_stream socket on one side, a realtime agent on the
// other. Caller frames are decoded, resampled to the agent's rate and forwarded; the agent's audio is
// resampled to the call's rate and paced back as `streamAudio` messages (PlaybackPacer: real time plus a
// small lead in `stream` mode, segments in `file` mode). The agent's `speech_started` is a barge-in:
// unsent audio is dropped, FreeSWITCH's playback stopped (`uuid_break`, file mode) and the agent's item
// truncated at what the caller actually heard. Tool calls: transfer_call (allowed targets only) and
// end_call wait for the agent to finish speaking, then act over the Event Socket; create_ticket queues a
// webhook; search_knowledge_base answers from the domain's documents. The call is recorded (transcript,
// mode realtime) and finalised once, which queues call_completed.
//
// Resilience: an agent that cannot start, or drops mid-call, is replaced by the next one the factory
// builds; when none is left the caller is transferred to the fallback extension (or hung up). The session
// never outlives max_call_duration, nor a caller that sends nothing for caller_idle_timeout.
//
// io thread only; no thread per call (timers and coroutines).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "ivr/audio/mod_audio_stream.hpp"
#include "ivr/conversation/secretary.hpp"
#include "ivr/core/errors.hpp"
#include "ivr/providers/realtime/realtime_agent.hpp"

namespace ivr {
class MetricsRegistry;
}
namespace ivr::net {
class WebSocket;
}
namespace ivr::telephony {
class CallControl;
}
namespace ivr::store {
class CallRepository;
}

namespace ivr::conversation {

class CallService;
class KnowledgeBase;

// What the endpoint learned about the call before handing it over.
struct RealtimeCall {
  std::string call_uuid;
  std::string domain_uuid;
  std::string domain_name;  // FusionPBX: the dialplan context transfers go to
  std::string caller_id;
  audio::CallAudioFormat format;
  audio::PlaybackMode playback = audio::PlaybackMode::stream;
  Secretary secretary;
};

// The realtime sessions of this instance by call uuid, for what FreeSWITCH says about a call over the Event
// Socket rather than over its WebSocket:
// - file playback (PROTOCOLS §1, the upstream mod_audio_stream): FreeSWITCH writes each streamAudio to a
//   file and fires CUSTOM mod_audio_stream::play; the session plays it over ESL unless a barge-in made it
//   stale;
// - CHANNEL_HANGUP_COMPLETE: the session ends at once instead of waiting for its socket or its idle timeout.
// io thread only.
class LiveCalls {
 public:
  struct Handlers {
    std::function<void(const std::string& file)> play_file;
    std::function<void()> hung_up;
  };
  void attach(const std::string& call_uuid, Handlers handlers) { calls_[call_uuid] = std::move(handlers); }
  void detach(const std::string& call_uuid) { calls_.erase(call_uuid); }
  // Each returns false when no session of this instance has the call.
  bool deliver_file(const std::string& call_uuid, const std::string& file) {
    auto it = calls_.find(call_uuid);
    if (it == calls_.end()) return false;
    if (it->second.play_file) it->second.play_file(file);
    return true;
  }
  bool hung_up(const std::string& call_uuid) {
    auto it = calls_.find(call_uuid);
    if (it == calls_.end()) return false;
    auto handler = it->second.hung_up;  // a copy: the handler may detach the call
    if (handler) handler();
    return true;
  }
  std::size_t size() const { return calls_.size(); }

 private:
  std::map<std::string, Handlers> calls_;
};

// Builds the secretary's realtime agents in chain order: attempt 0, 1, …; nullptr past the last one.
using AgentFactory = std::function<std::unique_ptr<providers::realtime::RealtimeAgent>(
    const Secretary& secretary, std::size_t attempt)>;

struct CallSessionOptions {
  std::chrono::milliseconds max_call_duration{std::chrono::hours(1)};
  std::chrono::milliseconds caller_idle_timeout{std::chrono::seconds(30)};  // no frame from FreeSWITCH
  std::chrono::milliseconds playback_lead{100};
  std::chrono::milliseconds action_wait{
      std::chrono::seconds(10)};  // at most this for the goodbye/handover speech
  // After transfer_call/end_call, how long the agent gets to start that speech before the action goes ahead.
  std::chrono::milliseconds reply_wait{std::chrono::seconds(2)};
  // speexdsp quality of the call ↔ agent resamplers (3: speex's VoIP preset, SPEEX_RESAMPLER_QUALITY_VOIP;
  // the resampling is the largest single cost of a 16 kHz call bridged to a 24 kHz provider).
  int resampler_quality = 3;
  std::size_t knowledge_top_k = 4;
};

struct CallSessionDeps {
  AgentFactory agents;
  telephony::CallControl* control = nullptr;  // null: no Event Socket configured (actions are logged only)
  LiveCalls* live_calls = nullptr;            // where play and hangup events from the Event Socket arrive
  CallService& calls;                         // finalises the call (call_completed webhook), tickets
  store::CallRepository& call_repo;           // the transcript
  KnowledgeBase& knowledge;
  MetricsRegistry* metrics = nullptr;
  CallSessionOptions options;
};

// Figures of a finished session (also logged and exported as metrics).
struct CallSessionReport {
  std::string resolution;  // resolved | transferred | hangup | abandoned | fallback | error
  std::string transferred_to;
  std::vector<std::string> agents;  // names of the agents used, in order
  std::uint64_t frames_in = 0, frames_rejected = 0, messages_out = 0;
  std::uint64_t barge_ins = 0;
  std::optional<std::chrono::milliseconds> first_audio;  // call start → first agent audio sent
  std::vector<std::chrono::milliseconds> cutoffs;        // per barge-in: speech_started → sound stops
  std::int64_t dropped_ms = 0;                           // agent audio dropped by barge-ins or overflow
};

// Runs the call to its end on `socket` (whose handshake and tenant checks are done). `early_frames` are
// binary frames that arrived before the tenant was known (the metadata frame may follow audio).
boost::asio::awaitable<CallSessionReport> run_call_session(net::WebSocket& socket, RealtimeCall call,
                                                           std::vector<std::string> early_frames,
                                                           CallSessionDeps& deps);

// The session configuration the agent gets for a secretary: instructions (prompt, language, targets,
// the goodbye rule), the greeting and the tools.
providers::realtime::SessionConfig realtime_session_config(const Secretary& secretary);

}  // namespace ivr::conversation
