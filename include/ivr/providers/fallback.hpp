#pragma once
// Ordered fallback chains per capability with a circuit breaker per provider (DESIGN §5): a provider that
// fails with a retryable error (timeout, connection error, 429, 5xx) hands the request to the next; after
// `failure_threshold` consecutive retryable failures it is skipped for `open_for`, then one trial request
// decides whether it is healthy again. Non-retryable errors (the request itself is bad) end the chain.
// io-thread only.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "ivr/providers/provider.hpp"

namespace ivr::providers {

struct BreakerSettings {
  int failure_threshold = 3;
  std::chrono::milliseconds open_for{30'000};
};

// Shared by every chain of the process, keyed by a provider's identity (vendor + base URL + model), so a
// vendor outage seen by one tenant's call is not rediscovered by the next call.
class CircuitBreakers {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  explicit CircuitBreakers(BreakerSettings settings = {}, Clock clock = {});

  bool allows(const std::string& key);  // false while open; half-open lets one trial through
  void record_success(const std::string& key);
  void record_failure(const std::string& key);
  bool is_open(const std::string& key) const;

 private:
  struct State {
    int consecutive_failures = 0;
    std::chrono::steady_clock::time_point open_until{};
    bool trial_in_flight = false;
  };
  BreakerSettings settings_;
  Clock clock_;
  std::unordered_map<std::string, State> states_;
};

// One link of a chain: the adapter and its breaker key.
template <class Interface>
struct ChainLink {
  std::shared_ptr<Interface> provider;
  std::string breaker_key;
};

// Called after each attempt (metrics/logs): provider name, error (empty on success).
using AttemptObserver = std::function<void(std::string_view provider, const boost::system::error_code& ec)>;

std::unique_ptr<SpeechToText> make_stt_chain(std::vector<ChainLink<SpeechToText>> links,
                                             CircuitBreakers& breakers, AttemptObserver observer = {});
std::unique_ptr<LanguageModel> make_llm_chain(std::vector<ChainLink<LanguageModel>> links,
                                              CircuitBreakers& breakers, AttemptObserver observer = {});
std::unique_ptr<TextToSpeech> make_tts_chain(std::vector<ChainLink<TextToSpeech>> links,
                                             CircuitBreakers& breakers, AttemptObserver observer = {});

}  // namespace ivr::providers
