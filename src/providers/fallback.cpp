#include "ivr/providers/fallback.hpp"

#include "ivr/core/logging.hpp"

namespace ivr::providers {
namespace {

// Tries each link in order. `attempt` is the capability's call on one provider. The request is copied
// per attempt because adapters take it by value.
template <class Interface, class Value, class Attempt>
boost::asio::awaitable<Result<Value>> run_chain(const std::vector<ChainLink<Interface>>& links,
                                                CircuitBreakers& breakers, const AttemptObserver& observer,
                                                Attempt attempt) {
  boost::system::error_code last = make_error_code(Errc::unavailable);
  bool tried = false;
  for (const auto& link : links) {
    if (!breakers.allows(link.breaker_key)) continue;
    tried = true;
    Result<Value> result = co_await attempt(*link.provider);
    if (observer) observer(link.provider->name(), result ? boost::system::error_code() : result.error());
    if (result) {
      breakers.record_success(link.breaker_key);
      co_return result;
    }
    last = result.error();
    if (!retryable_on_next_provider(last)) {
      // The request itself was refused: another vendor would refuse it too, and the vendor is healthy.
      breakers.record_success(link.breaker_key);
      co_return last;
    }
    breakers.record_failure(link.breaker_key);
    module_logger("providers")
        ->warn("provider {} failed ({}); trying the next one", link.provider->name(), last.message());
  }
  if (!tried)
    module_logger("providers")->warn("every provider of the chain is paused by its circuit breaker");
  co_return last;
}

std::string chain_name(const auto& links) {
  std::string name;
  for (const auto& l : links) {
    if (!name.empty()) name += ">";
    name += l.provider->name();
  }
  return name;
}

class SpeechToTextChain final : public SpeechToText {
 public:
  SpeechToTextChain(std::vector<ChainLink<SpeechToText>> links, CircuitBreakers& breakers,
                    AttemptObserver obs)
      : links_(std::move(links)), breakers_(breakers), observer_(std::move(obs)), name_(chain_name(links_)) {}
  std::string_view name() const override { return name_; }
  boost::asio::awaitable<Result<Transcript>> transcribe(TranscribeRequest request) override {
    auto attempt = [&request](SpeechToText& p) { return p.transcribe(request); };
    co_return co_await run_chain<SpeechToText, Transcript>(links_, breakers_, observer_, attempt);
  }

 private:
  std::vector<ChainLink<SpeechToText>> links_;
  CircuitBreakers& breakers_;
  AttemptObserver observer_;
  std::string name_;
};

class LanguageModelChain final : public LanguageModel {
 public:
  LanguageModelChain(std::vector<ChainLink<LanguageModel>> links, CircuitBreakers& breakers,
                     AttemptObserver obs)
      : links_(std::move(links)), breakers_(breakers), observer_(std::move(obs)), name_(chain_name(links_)) {}
  std::string_view name() const override { return name_; }
  boost::asio::awaitable<Result<ChatResult>> complete(ChatRequest request, TokenCallback on_token) override {
    // A provider that already streamed fragments and then failed would make the caller hear two answers;
    // in that case the chain stops at that provider.
    bool streamed = false;
    TokenCallback guarded;
    if (on_token) {
      guarded = [&streamed, &on_token](std::string_view fragment) {
        streamed = true;
        on_token(fragment);
      };
    }
    boost::system::error_code last = make_error_code(Errc::unavailable);
    for (const auto& link : links_) {
      if (!breakers_.allows(link.breaker_key)) continue;
      Result<ChatResult> result = co_await link.provider->complete(request, guarded);
      if (observer_) observer_(link.provider->name(), result ? boost::system::error_code() : result.error());
      if (result) {
        breakers_.record_success(link.breaker_key);
        co_return result;
      }
      last = result.error();
      if (!retryable_on_next_provider(last)) {
        breakers_.record_success(link.breaker_key);
        co_return last;
      }
      breakers_.record_failure(link.breaker_key);
      if (streamed) co_return last;
      module_logger("providers")
          ->warn("provider {} failed ({}); trying the next one", link.provider->name(), last.message());
    }
    co_return last;
  }

 private:
  std::vector<ChainLink<LanguageModel>> links_;
  CircuitBreakers& breakers_;
  AttemptObserver observer_;
  std::string name_;
};

class TextToSpeechChain final : public TextToSpeech {
 public:
  TextToSpeechChain(std::vector<ChainLink<TextToSpeech>> links, CircuitBreakers& breakers,
                    AttemptObserver obs)
      : links_(std::move(links)), breakers_(breakers), observer_(std::move(obs)), name_(chain_name(links_)) {}
  std::string_view name() const override { return name_; }
  boost::asio::awaitable<Result<Synthesis>> synthesize(SynthesisRequest request) override {
    auto attempt = [&request](TextToSpeech& p) { return p.synthesize(request); };
    co_return co_await run_chain<TextToSpeech, Synthesis>(links_, breakers_, observer_, attempt);
  }

 private:
  std::vector<ChainLink<TextToSpeech>> links_;
  CircuitBreakers& breakers_;
  AttemptObserver observer_;
  std::string name_;
};

}  // namespace

CircuitBreakers::CircuitBreakers(BreakerSettings settings, Clock clock)
    : settings_(settings),
      clock_(clock ? std::move(clock) : [] { return std::chrono::steady_clock::now(); }) {}

bool CircuitBreakers::allows(const std::string& key) {
  auto it = states_.find(key);
  if (it == states_.end()) return true;
  State& s = it->second;
  if (s.consecutive_failures < settings_.failure_threshold) return true;
  if (clock_() < s.open_until) return false;
  if (s.trial_in_flight) return false;  // half-open: one trial at a time
  s.trial_in_flight = true;
  return true;
}

void CircuitBreakers::record_success(const std::string& key) {
  states_.erase(key);
}

void CircuitBreakers::record_failure(const std::string& key) {
  State& s = states_[key];
  s.trial_in_flight = false;
  ++s.consecutive_failures;
  if (s.consecutive_failures >= settings_.failure_threshold) s.open_until = clock_() + settings_.open_for;
}

bool CircuitBreakers::is_open(const std::string& key) const {
  auto it = states_.find(key);
  return it != states_.end() && it->second.consecutive_failures >= settings_.failure_threshold &&
         clock_() < it->second.open_until;
}

std::unique_ptr<SpeechToText> make_stt_chain(std::vector<ChainLink<SpeechToText>> links,
                                             CircuitBreakers& breakers, AttemptObserver observer) {
  return std::make_unique<SpeechToTextChain>(std::move(links), breakers, std::move(observer));
}
std::unique_ptr<LanguageModel> make_llm_chain(std::vector<ChainLink<LanguageModel>> links,
                                              CircuitBreakers& breakers, AttemptObserver observer) {
  return std::make_unique<LanguageModelChain>(std::move(links), breakers, std::move(observer));
}
std::unique_ptr<TextToSpeech> make_tts_chain(std::vector<ChainLink<TextToSpeech>> links,
                                             CircuitBreakers& breakers, AttemptObserver observer) {
  return std::make_unique<TextToSpeechChain>(std::move(links), breakers, std::move(observer));
}

}  // namespace ivr::providers
