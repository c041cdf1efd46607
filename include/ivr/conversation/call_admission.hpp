#pragma once
// Admission of realtime calls: how many calls the process and each domain may bridge at once, and whether
// the io thread has room for one more.
//
// A call refused at the handshake costs nothing: mod_audio_stream fires `mod_audio_stream::error`, and
// our realtime Lua script sends the caller to a person (the fallback extension). A call admitted past
// saturation costs every call on the process: one io thread carries every call's audio, so when it is
// full the latency of all of them grows without bound (bench/README.md: about 400 calls bridged to a
// 24 kHz provider fill one core here). So the bridge refuses new calls, never degrades running ones:
// - `max_calls` per process (0: no cap), for sizing by measurement;
// - `max_calls_per_domain`, overridable per domain (`domains.max_realtime_calls`), so no tenant takes
//   every line of a shared server;
// - the io loop's load (net::LoopLoadMonitor): while its thread is busier than `max_loop_busy`, or its
//   timers fire later than `max_loop_lag`, there is no room for another call whatever the count says
//   (slower providers, a busier machine), and new calls are refused until it recovers. The busy share
//   refuses before saturation, leaving headroom for the calls already admitted; the lag catches a loop
//   starved of CPU by other processes, which its own busy share does not show.
// io thread only (no locking): the counts are taken and released by sessions on the io thread.

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace ivr::conversation {

struct CallAdmissionLimits {
  std::size_t max_calls = 0;                  // per process; 0 = no cap
  std::size_t max_calls_per_domain = 0;       // per domain unless the domain has its own; 0 = no cap
  std::chrono::milliseconds max_loop_lag{0};  // refuse while the io loop lags more; 0 = do not watch
  double max_loop_busy = 0;                   // refuse while the io thread is busier (0..1); 0 = do not watch
};

// The io loop's load as net::LoopLoadMonitor measures it.
struct LoopLoadSample {
  std::chrono::microseconds lag{0};
  double busy = 0;
};

enum class AdmissionRefusal {
  none,
  process_full,  // max_calls calls in progress
  domain_full,   // the domain's cap reached
  overloaded,    // the io loop is busier than max_loop_busy or lags more than max_loop_lag
};
std::string_view to_string(AdmissionRefusal refusal);

class CallAdmission {
 public:
  // A call's place: held for the whole session, given back when destroyed. Empty when refused.
  class Place {
   public:
    Place() = default;
    Place(Place&& other) noexcept;
    Place& operator=(Place&& other) noexcept;
    Place(const Place&) = delete;
    Place& operator=(const Place&) = delete;
    ~Place();
    explicit operator bool() const { return owner_ != nullptr; }

   private:
    friend class CallAdmission;
    Place(CallAdmission* owner, std::string domain) : owner_(owner), domain_(std::move(domain)) {}
    void release();
    CallAdmission* owner_ = nullptr;
    std::string domain_;
  };

  // `loop_load`: the io loop's load now (net::LoopLoadMonitor::load); unset = never overloaded.
  explicit CallAdmission(CallAdmissionLimits limits, std::function<LoopLoadSample()> loop_load = {});
  CallAdmission(const CallAdmission&) = delete;
  CallAdmission& operator=(const CallAdmission&) = delete;

  // Would a call of `domain` be admitted now? Takes nothing. `domain_cap`: the domain's own cap
  // (0 = none), overriding max_calls_per_domain; nullopt = the default.
  AdmissionRefusal check(const std::string& domain, std::optional<std::size_t> domain_cap) const;
  // Takes a place, or returns an empty one and says why in `refusal`.
  Place admit(const std::string& domain, std::optional<std::size_t> domain_cap, AdmissionRefusal& refusal);

  // For the log: which limit, at what count or load.
  std::string explain(AdmissionRefusal refusal, std::optional<std::size_t> domain_cap) const;
  // For the refused client (error body, close reason): what it can act on, without the server's figures.
  std::string client_message(AdmissionRefusal refusal, std::optional<std::size_t> domain_cap) const;

  std::size_t active() const { return active_; }
  std::size_t active(const std::string& domain) const;
  const CallAdmissionLimits& limits() const { return limits_; }

 private:
  std::size_t cap_for(std::optional<std::size_t> domain_cap) const {
    return domain_cap.value_or(limits_.max_calls_per_domain);
  }
  void release(const std::string& domain);

  CallAdmissionLimits limits_;
  bool overloaded(const LoopLoadSample& load) const;

  std::function<LoopLoadSample()> loop_load_;
  std::size_t active_ = 0;
  std::unordered_map<std::string, std::size_t> per_domain_;
};

}  // namespace ivr::conversation
